// connection.hpp: opening and closing both ways, executors, threads, lifetime.
#include "catch.hpp"
#include "test_support.hpp"

#include <cstdint>
#include <string>

TEST_CASE("a connection opened with RAII runs statements and closes when destroyed") {
  test::temp_dir dir;
  asio::io_context ctx;
  test::run(ctx, [](std::string path) -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto db = co_await asiolite::connection::async_open(ex, path);
    co_await db.async_execute("CREATE TABLE t(x INTEGER)");
    auto r = co_await db.async_execute("INSERT INTO t VALUES (?)", 42);
    CHECK(r.changes == 1);
    auto n = co_await db.async_query_scalar<std::int64_t>("SELECT x FROM t");
    CHECK(n == 42);
  }(dir.db()));
}
