// Must not compile (tests/CMakeLists.txt checks the message): in the Boost.Asio flavour
// with Boost before 1.82, experimental::use_coro cannot carry an asiolite operation's
// result, and asiolite says so instead of a page of template errors.
#include <asiolite.hpp>

#include <boost/asio/experimental/coro.hpp>
#include <boost/asio/experimental/use_coro.hpp>

#include <cstdint>

boost::asio::experimental::coro<void, std::int64_t> count(boost::asio::any_io_executor, asiolite::connection& db) {
  co_return co_await db.async_query_scalar<std::int64_t>("SELECT 1", boost::asio::experimental::use_coro);
}
