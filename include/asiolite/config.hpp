// asiolite: the one place that knows which Asio it is built against.
//
// Two flavours, one per program:
// - standalone Asio (the default): `::asio`, std::error_code;
// - Boost.Asio, when ASIOLITE_USE_BOOST_ASIO is defined in every translation unit (the
//   CMake target asiolite::asiolite_boost defines it): `::boost::asio`,
//   boost::system::error_code. Boost 1.81 (Asio 1.26) or newer.
// Inside namespace asiolite both are spelled `asio::` (the alias below), and the error
// types `asiolite::error_code` / `asiolite::error_condition`. Nothing else in the library
// names either flavour: every Asio header it uses is included here.
#pragma once

// Separate compilation (opt-in): define ASIOLITE_SEPARATE_COMPILATION in every translation
// unit of a program and compile <asiolite/src.hpp> in exactly one of them; the library's
// code that depends on no template argument is then compiled once, there, instead of in
// every translation unit that includes asiolite. ASIOLITE_DECL marks those functions.
#if defined(ASIOLITE_SEPARATE_COMPILATION)
#  define ASIOLITE_DECL
#else
#  define ASIOLITE_DECL inline
#endif

#include <system_error>
#include <type_traits>

#if defined(ASIOLITE_USE_BOOST_ASIO)

#  include <boost/asio/version.hpp>
#  if BOOST_ASIO_VERSION < 102600
#    error "asiolite's Boost.Asio flavour needs Boost 1.81 (Asio 1.26) or newer"
#  endif
#  define ASIOLITE_ASIO_VERSION BOOST_ASIO_VERSION

#  include <boost/asio/any_io_executor.hpp>
#  include <boost/asio/as_tuple.hpp>
#  include <boost/asio/associated_allocator.hpp>
#  include <boost/asio/associated_cancellation_slot.hpp>
#  include <boost/asio/associated_executor.hpp>
#  include <boost/asio/async_result.hpp>
#  include <boost/asio/awaitable.hpp>
#  include <boost/asio/bind_allocator.hpp>
#  include <boost/asio/bind_cancellation_slot.hpp>
#  include <boost/asio/buffer.hpp>
#  include <boost/asio/cancellation_type.hpp>
#  include <boost/asio/co_spawn.hpp>
#  include <boost/asio/deferred.hpp>
#  include <boost/asio/error.hpp>
#  include <boost/asio/execution.hpp>
#  include <boost/asio/post.hpp>
#  include <boost/asio/prefer.hpp>
#  include <boost/asio/recycling_allocator.hpp>
#  include <boost/asio/steady_timer.hpp>
#  include <boost/asio/this_coro.hpp>
#  include <boost/asio/use_awaitable.hpp>
#  include <boost/system/error_code.hpp>
#  include <boost/system/system_error.hpp>

#  define ASIOLITE_ASIO_NAMESPACE boost::asio

namespace asiolite {
using error_code = ::boost::system::error_code;
using error_condition = ::boost::system::error_condition;
namespace detail {
// asiolite's category is a Boost category in this flavour, so that its codes keep their
// value and name in a boost::system::error_code, and Asio's own codes compare equal.
class error_category_base : public ::boost::system::error_category {
 protected:
  constexpr error_category_base() noexcept : ::boost::system::error_category(0x61736c6974650001ULL) {}
};
}  // namespace detail
namespace compat {
/// What Asio throws for a failure that carries only an error_code.
using system_error = ::boost::system::system_error;
}  // namespace compat
enum class errc : int;
}  // namespace asiolite

template <>
struct boost::system::is_error_condition_enum<asiolite::errc> : std::true_type {};

#else  // standalone Asio

// clang 14 with libstdc++ has C++20 coroutines, but Asio 1.22 only detects them on
// newer compilers; tell it before any Asio header is seen.
#  if defined(__cpp_impl_coroutine) && __has_include(<coroutine>)
#    ifndef ASIO_HAS_CO_AWAIT
#      define ASIO_HAS_CO_AWAIT 1
#    endif
#    ifndef ASIO_HAS_STD_COROUTINE
#      define ASIO_HAS_STD_COROUTINE 1
#    endif
#  endif

#  include <asio/version.hpp>
#  define ASIOLITE_ASIO_VERSION ASIO_VERSION

#  include <asio/any_io_executor.hpp>
#  include <asio/associated_allocator.hpp>
#  include <asio/associated_cancellation_slot.hpp>
#  include <asio/associated_executor.hpp>
#  include <asio/async_result.hpp>
#  include <asio/awaitable.hpp>
#  include <asio/bind_allocator.hpp>
#  include <asio/bind_cancellation_slot.hpp>
#  include <asio/buffer.hpp>
#  include <asio/cancellation_type.hpp>
#  include <asio/co_spawn.hpp>
#  include <asio/error.hpp>
#  include <asio/execution.hpp>
#  include <asio/post.hpp>
#  include <asio/prefer.hpp>
#  include <asio/recycling_allocator.hpp>
#  include <asio/steady_timer.hpp>
#  include <asio/this_coro.hpp>
#  include <asio/use_awaitable.hpp>
#  if ASIO_VERSION >= 102300
#    include <asio/as_tuple.hpp>
#    include <asio/deferred.hpp>
#  else
#    include <asio/experimental/as_tuple.hpp>
#    include <asio/experimental/deferred.hpp>
#  endif

#  define ASIOLITE_ASIO_NAMESPACE asio

namespace asiolite {
using error_code = std::error_code;
using error_condition = std::error_condition;
namespace detail {
using error_category_base = std::error_category;
}  // namespace detail
namespace compat {
/// What Asio throws for a failure that carries only an error_code.
using system_error = std::system_error;
}  // namespace compat
enum class errc : int;
}  // namespace asiolite

#endif

// Named by the library (operation.hpp: use_future reports exceptions; use_coro, below)
// without the cost of parsing their headers in every program that does not use them.
namespace ASIOLITE_ASIO_NAMESPACE {
template <typename Allocator>
class use_future_t;
namespace experimental {
template <typename ExecutorOrAllocator>
struct use_coro_t;
}  // namespace experimental
}  // namespace ASIOLITE_ASIO_NAMESPACE

// The library's spelling of the flavour's namespace (a global alias would clash with a
// program that also sees standalone Asio).
namespace asiolite {
namespace asio = ::ASIOLITE_ASIO_NAMESPACE;
}  // namespace asiolite
#undef ASIOLITE_ASIO_NAMESPACE  // asiolite::asio from here on: nothing left in programs' macros

template <>
struct std::is_error_condition_enum<asiolite::errc> : std::true_type {};

namespace asiolite::compat {

// Asio 1.23 moved these out of experimental; 1.33 removed the experimental spellings.
#if ASIOLITE_ASIO_VERSION >= 102300
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

// experimental::use_coro: in Asio 1.22 a throwing coro rethrows a completion's
// exception_ptr, so asiolite's operations give it one (sqlite_error, with SQLite's message
// and the SQL), as for use_awaitable. In Boost 1.81 (Asio 1.26) use_coro does not compile
// for an operation that completes with a value, and loses the error of one that does not:
// asiolite refuses it there with a static_assert (operation.hpp). Other versions leave
// use_coro to Asio (an error_code, thrown as compat::system_error).
template <class Token>
struct is_use_coro : std::false_type {};
#if defined(ASIOLITE_USE_BOOST_ASIO) && ASIOLITE_ASIO_VERSION < 102800
template <class Allocator>
struct is_use_coro<asio::experimental::use_coro_t<Allocator>> : std::true_type {};
inline constexpr bool use_coro_works = false;
#elif !defined(ASIOLITE_USE_BOOST_ASIO) && ASIOLITE_ASIO_VERSION < 102300
template <class Executor>
struct is_use_coro<asio::experimental::use_coro_t<Executor>> : std::true_type {};
inline constexpr bool use_coro_works = true;
#else
inline constexpr bool use_coro_works = true;
#endif

}  // namespace asiolite::compat
