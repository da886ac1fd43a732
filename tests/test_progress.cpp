// The program's progress handler (connection::async_set_progress_handler_on_worker): it
// runs on the worker while statements run, may stop them, and leaves asiolite's own
// cancellation and statement_timeout working beside it.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

using namespace std::chrono_literals;
using test::tuple_token;

// Counts forever: only a stop ends it.
constexpr const char* endless =
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c";
// About a million steps of the virtual machine.
constexpr const char* counted =
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000) SELECT count(*) FROM c";

}  // namespace

TEST_CASE("progress: the handler is called while a statement runs, and true stops the statement") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto calls = std::make_shared<std::atomic<int>>(0);
  test::run(ctx, [](std::string path, std::shared_ptr<std::atomic<int>> n) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    auto count_only = [n] {
      ++*n;
      return false;
    };
    co_await db.async_set_progress_handler_on_worker(100, count_only);
    const auto rows = co_await db.async_query_scalar<std::int64_t>(counted);
    CHECK(rows == 100000);
    // Every 100 steps of about a million: thousands of calls.
    const int after_counting = n->load();
    CHECK(after_counting > 1000);

    // Stopping on the 10th call of this statement.
    n->store(0);
    auto tenth = [n] { return ++*n == 10; };
    co_await db.async_set_progress_handler_on_worker(1000, tenth);
    asiolite::diagnostics diag;
    auto [ec, v] = co_await db.async_query_scalar<std::int64_t>(endless, diag, tuple_token);
    CHECK(ec == asiolite::errc::interrupt);
    CHECK(test::contains(diag.message(), "interrupted"));
    CHECK(n->load() == 10);

    // One that throws stops it too; the connection goes on.
    auto throwing = []() -> bool { throw std::runtime_error("no"); };
    co_await db.async_set_progress_handler_on_worker(1000, throwing);
    auto [ec2, v2] = co_await db.async_query_scalar<std::int64_t>(endless, tuple_token);
    CHECK(ec2 == asiolite::errc::interrupt);

    // Cleared: nothing is called, and quick statements never were stopped.
    co_await db.async_clear_progress_handler_on_worker();
    n->store(0);
    const auto again = co_await db.async_query_scalar<std::int64_t>(counted);
    CHECK(again == 100000);
    CHECK(n->load() == 0);
  }(dir.db(), calls));
}

namespace {

asio::awaitable<void> stopped_beside_a_handler(std::string path) {
  auto ex = co_await asio::this_coro::executor;
  asiolite::options o;
  o.statement_timeout = 50ms;
  auto db = co_await asiolite::connection::async_open(ex, path, o);
  // Called rarely and never stops: the checks that do stop statements keep their own
  // interval.
  auto never = [] { return false; };
  co_await db.async_set_progress_handler_on_worker(1'000'000, never);
  auto [ec, v] = co_await db.async_query_scalar<std::int64_t>(endless, tuple_token);
  CHECK(ec == asio::error::timed_out);

  co_await db.async_close();
  o.statement_timeout = 0ms;
  co_await db.async_open(path, o);
  // Cleared by the close. Set again, every step: its first call has the cancellation
  // emitted (on this thread, where the signal lives), which must still stop the query.
  asio::cancellation_signal cancel;
  auto called = std::make_shared<std::atomic<bool>>(false);
  auto cancel_once = [called, ex, &cancel] {
    if (!called->exchange(true)) asio::post(ex, [&cancel] { cancel.emit(asio::cancellation_type::terminal); });
    return false;
  };
  co_await db.async_set_progress_handler_on_worker(1, cancel_once);
  auto [ec2, v2] =
      co_await db.async_query_scalar<std::int64_t>(endless, asio::bind_cancellation_slot(cancel.slot(), tuple_token));
  CHECK(ec2 == asio::error::operation_aborted);
  CHECK(called->load());
  const auto quick = co_await db.async_query_scalar<std::int64_t>("SELECT 7");
  CHECK(quick == 7);
}

}  // namespace

TEST_CASE("progress: cancellation and statement_timeout still stop a statement while a handler is installed") {
  test::temp_dir dir;
  asio::io_context ctx;
  test::run(ctx, stopped_beside_a_handler(dir.db()));
}

TEST_CASE("progress: an interval below 1 is refused and changes nothing") {
  test::temp_dir dir;
  asio::io_context ctx;
  test::run(ctx, [](std::string path) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    auto stop_at_once = [] { return true; };
    asiolite::diagnostics diag;
    auto [ec] = co_await db.async_set_progress_handler_on_worker(0, stop_at_once, diag, tuple_token);
    CHECK(ec == asiolite::errc::invalid_option);
    CHECK(diag.message() == "the progress handler's interval must be at least 1 step, not 0");
    // No handler was installed: a long statement runs to its end.
    const auto rows = co_await db.async_query_scalar<std::int64_t>(counted);
    CHECK(rows == 100000);
    const bool thrown = co_await db.async_call([](asiolite::sync_handle& h) {
      try {
        h.set_progress_handler(-5, [] { return true; });
      } catch (const asiolite::sqlite_error& e) {
        return e.code() == asiolite::errc::invalid_option;
      }
      return false;
    });
    CHECK(thrown);
  }(dir.db()));
}

TEST_CASE("progress: set from on_open, every connection of a pool has it") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto calls = std::make_shared<std::atomic<int>>(0);
  asiolite::pool_options po;
  po.readers = 2;
  po.connection.on_open = [calls](asiolite::sync_handle& h) {
    h.set_progress_handler(1000, [calls] { return ++*calls >= 5; });
  };
  test::run(ctx, [](std::string path, asiolite::pool_options o) -> asio::awaitable<void> {
    auto p = co_await asiolite::pool::async_open(co_await asio::this_coro::executor, path, o);
    auto [ec, v] = co_await p.async_query_scalar<std::int64_t>(endless, tuple_token);  // on a reader
    CHECK(ec == asiolite::errc::interrupt);
    auto [ec2, r2] = co_await p.writer().async_execute(
        "CREATE TABLE t AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT i FROM c",
        tuple_token);
    CHECK(ec2 == asiolite::errc::interrupt);
    const auto tables = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM sqlite_schema");
    CHECK(tables == 0);
    co_await p.async_close();
  }(dir.db(), po));
}
