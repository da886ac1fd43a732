// options::queue_timeout: a request that waits too long in a queue (a connection's, a
// pool's) fails with timed_out and never runs; running time is not counted.
#include "catch.hpp"
#include "test_support.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

using namespace std::chrono_literals;

namespace {

asiolite::options queue_timeout(std::chrono::milliseconds t) {
  asiolite::options opts;
  opts.queue_timeout = t;
  return opts;
}

}  // namespace

TEST_CASE("queue_timeout: a request queued behind a transaction that holds the connection fails with timed_out",
          "[queue_timeout]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db(), queue_timeout(300ms));
  test::run(
      ctx, [](asiolite::connection& c) -> asio::awaitable<void> { co_await c.async_execute("CREATE TABLE t(x)"); }(db));
  auto tx = test::begin_with_row(ctx, db);  // holds the connection, and awaits nothing
  std::atomic<bool> ran{false};
  std::optional<asiolite::error_code> outcome;
  asiolite::diagnostics diag;
  db.async_call([&ran](asiolite::sync_handle&) { ran = true; }, diag, [&](asiolite::error_code ec) { outcome = ec; });
  ctx.restart();
  ctx.run();  // returns once the request has timed out: nothing else is outstanding
  REQUIRE(outcome);
  CHECK(*outcome == asio::error::timed_out);
  CHECK(diag.message().find("queue_timeout") != std::string::npos);
  CHECK_FALSE(ran);
  // The transaction goes on, and so does the connection.
  test::run(ctx, [](asiolite::transaction& t, asiolite::connection& c) -> asio::awaitable<void> {
    co_await t.async_execute("INSERT INTO t VALUES (2)");
    co_await t.async_commit();
    const auto awaited = co_await c.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited == 2);
    co_await c.async_close();
  }(tx, db));
}

TEST_CASE("queue_timeout: a request queued behind a long one fails, while the long one and later ones run",
          "[queue_timeout]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db(), queue_timeout(200ms));
  test::worker_gate gate;
  gate.hold(db);  // runs longer than the timeout: running time is not counted
  std::atomic<bool> ran{false};
  std::optional<asiolite::error_code> late;
  db.async_call([&ran](asiolite::sync_handle&) { ran = true; }, [&](asiolite::error_code ec) { late = ec; });
  while (!late) {
    ctx.restart();
    ctx.run_one_for(std::chrono::milliseconds(5));
  }
  CHECK(*late == asio::error::timed_out);
  gate.release();
  test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<void> {
    const auto awaited2 = co_await c.async_query_scalar<std::int64_t>("SELECT 7");
    CHECK(awaited2 == 7);
    co_await c.async_close();
  }(db));
  CHECK_FALSE(ran);
}

TEST_CASE("queue_timeout: a read waiting at the pool for a free reader fails with timed_out", "[queue_timeout][pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::pool_options po;
  po.readers = 1;
  po.connection = queue_timeout(300ms);
  auto db = test::run(
      ctx, [](asio::any_io_executor ex, std::string path, asiolite::pool_options o) -> asio::awaitable<asiolite::pool> {
        co_return co_await asiolite::pool::async_open(ex, path, o);
      }(ctx.get_executor(), dir.db(), po));
  auto snap = test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<asiolite::read_transaction> {
    co_return co_await p.async_begin_read();
  }(db));
  std::optional<asiolite::error_code> outcome;
  db.async_query_scalar<std::int64_t>("SELECT 1", [&](asiolite::error_code ec, std::int64_t) { outcome = ec; });
  while (!outcome) {
    ctx.restart();
    ctx.run_one_for(std::chrono::milliseconds(5));
  }
  CHECK(*outcome == asio::error::timed_out);
  CHECK(db.stats().waiting == 0);
  test::run(ctx, [](asiolite::read_transaction& rt, asiolite::pool& p) -> asio::awaitable<void> {
    const auto awaited3 = co_await rt.async_query_scalar<std::int64_t>("SELECT 2");
    CHECK(awaited3 == 2);  // the transaction is unharmed
    co_await rt.async_commit();
    const auto awaited4 = co_await p.async_query_scalar<std::int64_t>("SELECT 3");
    CHECK(awaited4 == 3);
    co_await p.async_close();
  }(snap, db));
}

TEST_CASE("queue_timeout: requests that start in time are not affected", "[queue_timeout]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db(), queue_timeout(1000ms));
  test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<void> {
    co_await c.async_execute("CREATE TABLE t(x)");
    for (int i = 0; i < 100; ++i) co_await c.async_execute("INSERT INTO t VALUES (?)", i);
    const auto awaited5 = co_await c.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited5 == 100);
    co_await c.async_close();
  }(db));
}

TEST_CASE("queue_timeout: an io_context destroyed while a sweep waits for a deadline", "[queue_timeout]") {
  test::temp_dir dir;
  std::atomic<bool> ran{false};
  bool completed = false;
  {
    auto ctx = std::make_unique<asio::io_context>();
    std::optional<asiolite::connection> db(std::in_place, test::open(*ctx, dir.db(), queue_timeout(60000ms)));
    test::run(*ctx, [](asiolite::connection& c) -> asio::awaitable<void> {
      co_await c.async_execute("CREATE TABLE t(x)");
    }(*db));
    auto tx = test::begin_with_row(*ctx, *db);
    // Queued behind the transaction, with a deadline a minute away: a sweep's timer waits.
    db->async_call([&ran](asiolite::sync_handle&) { ran = true; }, [&completed](asiolite::error_code) { completed = true; });
    ctx->restart();
    for (int i = 0; i < 10; ++i) ctx->poll();
    tx = asiolite::transaction();  // rolls back: the call runs, and its completion comes to ctx
    // Run until the completion has: the worker is then done posting to ctx (a test that
    // waited for the queue to be empty raced with the post, and destroyed ctx under it).
    while (!completed) {
      ctx->poll();
      std::this_thread::yield();
    }
    db.reset();   // closes on the worker, which posts nothing for it
    ctx.reset();  // the waiting sweep, and the connection core it holds, go with the io_context
  }
  CHECK(ran);
  CHECK(completed);
}
