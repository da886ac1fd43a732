// asiolite's code that depends on no template argument, compiled once.
//
// For programs built with ASIOLITE_SEPARATE_COMPILATION defined in every translation unit:
// include this header in exactly one .cpp file of the program (and nothing else there is
// needed). Without the macro, asiolite is header-only and this file is not used.
#pragma once

#ifndef ASIOLITE_SEPARATE_COMPILATION
#  error "<asiolite/src.hpp> is for programs built with ASIOLITE_SEPARATE_COMPILATION defined in every translation unit"
#endif

#include <asiolite.hpp>

#include <asiolite/detail/impl/connection_impl.ipp>
#include <asiolite/detail/impl/database.ipp>
#include <asiolite/detail/impl/dump_writer.ipp>
#include <asiolite/detail/impl/hooks.ipp>
#include <asiolite/detail/impl/pool_core.ipp>
#include <asiolite/detail/impl/statement_cache.ipp>
#include <asiolite/detail/impl/trace.ipp>
#include <asiolite/impl/error.ipp>
#include <asiolite/impl/pool.ipp>
