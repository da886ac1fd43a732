// Timeouts and cancellation that really stop the query: a slow query raced against a
// timer, a statement timeout for every request, and cancelling all work at shutdown.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

// A query that would run for minutes.
constexpr const char* slow_query =
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000000000) SELECT sum(i) FROM c";

asio::awaitable<void> demo() {
  auto ex = co_await asio::this_coro::executor;

  // 1. One request with a deadline: whichever finishes first wins; the loser is cancelled.
  //    When the timer wins, the query is interrupted on the worker, not merely abandoned.
  auto db = co_await asiolite::connection::async_open(ex, ":memory:");
  asio::steady_timer deadline(ex, 100ms);
  auto result = co_await (db.async_query_scalar<std::int64_t>(slow_query) || deadline.async_wait(asio::use_awaitable));
  std::printf("slow query: %s\n", result.index() == 0 ? "finished" : "timed out after 100 ms");
  std::printf("next query runs at once: %d\n", co_await db.async_query_scalar<int>("SELECT 1 + 1"));

  // 2. A guard for every request: the statement timeout.
  asiolite::options opts;  // named first (g++ 12)
  opts.statement_timeout = 200ms;
  auto guarded = co_await asiolite::connection::async_open(ex, ":memory:", opts);
  auto [timeout_ec, sum] =
      co_await guarded.async_query_scalar<std::int64_t>(slow_query, asiolite::compat::as_tuple(asio::use_awaitable));
  std::printf("statement timeout: %s\n", timeout_ec.message().c_str());

  // 3. Shutdown: cancel everything queued and running, then close.
  for (int i = 0; i < 3; ++i)
    db.async_query_scalar<std::int64_t>(slow_query, [i](asiolite::error_code ec, std::int64_t) {
      std::printf("request %d: %s\n", i, ec.message().c_str());
    });
  asio::steady_timer pause(ex, 50ms);
  co_await pause.async_wait(asio::use_awaitable);
  db.cancel();
  co_await db.async_close();
  std::printf("closed\n");
}

int main() {
  asio::io_context ctx;
  asio::co_spawn(ctx, demo(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ctx.run();
}
