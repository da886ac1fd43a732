// The Asio the tests, the documentation's blocks and the examples are built against:
// standalone Asio (`::asio`) by default, Boost.Asio when ASIOLITE_USE_BOOST_ASIO is
// defined (the Boost flavour's builds). Code here writes `asio::` either way.
// This is the only file built in both flavours that includes either Asio; a CTest
// check (check_flavour_includes.cmake) keeps it so.
#pragma once

#if defined(ASIOLITE_USE_BOOST_ASIO)
#  include <boost/asio.hpp>
#  include <boost/asio/experimental/awaitable_operators.hpp>
namespace asio = boost::asio;
#else
#  include <asio.hpp>
#  include <asio/experimental/awaitable_operators.hpp>
#  include <asio/experimental/coro.hpp>
#  include <asio/experimental/use_coro.hpp>
#endif

#include <asiolite/config.hpp>
