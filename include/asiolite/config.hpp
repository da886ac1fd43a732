// asiolite: the one place that knows which Asio it is built against.
#pragma once

// clang 14 with libstdc++ has C++20 coroutines, but Asio 1.22 only detects them on
// newer compilers; tell it before any Asio header is seen.
#if defined(__cpp_impl_coroutine) && __has_include(<coroutine>)
#  ifndef ASIO_HAS_CO_AWAIT
#    define ASIO_HAS_CO_AWAIT 1
#  endif
#  ifndef ASIO_HAS_STD_COROUTINE
#    define ASIO_HAS_STD_COROUTINE 1
#  endif
#endif

// Separate compilation (opt-in): define ASIOLITE_SEPARATE_COMPILATION in every translation
// unit of a program and compile <asiolite/src.hpp> in exactly one of them; the library's
// code that depends on no template argument is then compiled once, there, instead of in
// every translation unit that includes asiolite. ASIOLITE_DECL marks those functions.
#if defined(ASIOLITE_SEPARATE_COMPILATION)
#  define ASIOLITE_DECL
#else
#  define ASIOLITE_DECL inline
#endif

#include <asio/any_io_executor.hpp>
#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/execution.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/recycling_allocator.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/version.hpp>

#if ASIO_VERSION >= 102300
#  include <asio/as_tuple.hpp>
#  include <asio/deferred.hpp>
#else
#  include <asio/experimental/as_tuple.hpp>
#  include <asio/experimental/deferred.hpp>
#endif

// Named by the library (operation.hpp: use_future reports exceptions) without the cost of
// parsing <asio/use_future.hpp> in every program that does not use it.
namespace asio {
template <typename Allocator>
class use_future_t;
}  // namespace asio

namespace asiolite::compat {

// Asio 1.23 moved these out of experimental; 1.33 removed the experimental spellings.
#if ASIO_VERSION >= 102300
using asio::as_tuple;
using asio::as_tuple_t;
using asio::deferred;
using asio::deferred_t;
inline constexpr bool can_await_deferred = true;
#else
using asio::experimental::as_tuple;
using asio::experimental::as_tuple_t;
using asio::experimental::deferred;
using asio::experimental::deferred_t;
// Asio 1.22 cannot co_await a deferred operation.
inline constexpr bool can_await_deferred = false;
#endif

}  // namespace asiolite::compat
