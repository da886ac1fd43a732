// Per-operation cancellation, connection::cancel and the statement timeout: a cancelled
// request that was queued never runs; a running one stops, and only that one.
// (Endless queries make these tests self-checking: if a cancellation failed to stop one,
// the test would hang until ctest's timeout.)
#include "catch.hpp"
#include "test_support.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto tuple_token = asiolite::compat::as_tuple(asio::use_awaitable);

// Never ends on its own; calls running() on every row, so the test knows it has started.
constexpr const char* endless_query =
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(running(i)) FROM c";

// A connection whose SQL function running() raises `started`.
struct endless_db {
  std::atomic<bool> started{false};
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::connection db;

  explicit endless_db(asiolite::options opts = {}) {
    opts.on_open = [this](asiolite::sync_handle& h) {
      sqlite3_create_function_v2(
          h.native_handle(), "running", 1, SQLITE_UTF8, &started,
          [](sqlite3_context* c, int, sqlite3_value**) {
            static_cast<std::atomic<bool>*>(sqlite3_user_data(c))->store(true);
            sqlite3_result_int(c, 1);
          },
          nullptr, nullptr, nullptr);
    };
    db = test::open(ctx, dir.db(), opts);
    test::run(ctx, [](asiolite::connection& db) -> asio::awaitable<void> {
      co_await db.async_execute("CREATE TABLE t(x INTEGER)");
    }(db));
  }

  void wait_until_running() {
    while (!started.load()) std::this_thread::sleep_for(1ms);
  }
};

asio::awaitable<std::int64_t> count(asiolite::connection& db) {
  co_return co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
}

// Blocks the worker until released, so that what is queued behind stays queued.
struct worker_gate {
  std::promise<void> open;
  std::shared_future<void> opened = open.get_future().share();
  void hold(asiolite::connection& db) {
    db.async_call([f = opened](asiolite::sync_handle&) { f.wait(); }, asio::detached);
  }
  void release() { open.set_value(); }
};

}  // namespace

TEST_CASE("a queued INSERT that is cancelled never runs and completes with operation_aborted on its executor") {
  endless_db t;
  auto strand = asio::make_strand(t.ctx);
  worker_gate gate;
  gate.hold(t.db);
  asio::cancellation_signal cancel;
  std::error_code got;
  bool in_strand = false;
  t.db.async_execute("INSERT INTO t VALUES (1)",
                     asio::bind_cancellation_slot(
                         cancel.slot(), asio::bind_executor(strand, [&](std::error_code ec, asiolite::execute_result) {
                           got = ec;
                           in_strand = strand.running_in_this_thread();
                         })));
  cancel.emit(asio::cancellation_type::terminal);
  gate.release();
  t.ctx.run();
  t.ctx.restart();
  CHECK(got == asio::error::operation_aborted);
  CHECK(in_strand);
  CHECK(test::run(t.ctx, count(t.db)) == 0);
}

TEST_CASE("a running query that is cancelled stops, and the next request runs normally") {
  endless_db t;
  asio::cancellation_signal cancel;
  std::error_code got;
  std::int64_t next = 0;
  t.db.async_query_scalar<std::int64_t>(
      endless_query, asio::bind_cancellation_slot(cancel.slot(), [&](std::error_code ec, std::int64_t) { got = ec; }));
  t.db.async_query_scalar<std::int64_t>("SELECT 41 + 1",
                                        [&](std::error_code ec, std::int64_t v) { next = ec ? -1 : v; });
  std::thread runner([&] { t.ctx.run(); });
  t.wait_until_running();
  // Emitting must happen on the handler's executor (the io_context, on its own thread).
  asio::post(t.ctx, [&] { cancel.emit(asio::cancellation_type::terminal); });
  runner.join();
  t.ctx.restart();
  CHECK(got == asio::error::operation_aborted);
  CHECK(next == 42);
}

TEST_CASE("query || timer is a timeout: when the timer wins, the query is gone from the worker") {
  endless_db t;
  test::run(t.ctx, [](asiolite::connection& db) -> asio::awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor, 20ms);
    auto r = co_await (db.async_query_scalar<std::int64_t>(endless_query) || timer.async_wait(asio::use_awaitable));
    CHECK(r.index() == 1);
    // Had the endless query kept running, this would wait behind it forever.
    CHECK(co_await db.async_query_scalar<int>("SELECT 7") == 7);
  }(t.db));
}

TEST_CASE("the statement timeout stops a runaway query with timed_out and spares quick ones") {
  asiolite::options opts;
  opts.statement_timeout = 50ms;
  endless_db t(opts);
  test::run(t.ctx, [](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [ec, n] = co_await db.async_query_scalar<std::int64_t>(endless_query, diag, tuple_token);
    CHECK(ec == asio::error::timed_out);
    CHECK(diag.message().find("statement timeout (50 ms)") != std::string::npos);
    for (int i = 0; i < 100; ++i) co_await db.async_execute("INSERT INTO t VALUES (?)", i);
    CHECK(co_await count(db) == 100);
  }(t.db));
}

TEST_CASE("connection::cancel aborts everything queued and the running request, and the connection goes on") {
  endless_db t;
  std::vector<std::error_code> got(11);
  t.db.async_query_scalar<std::int64_t>(endless_query, [&](std::error_code ec, std::int64_t) { got[0] = ec; });
  for (int i = 1; i <= 10; ++i)
    t.db.async_execute("INSERT INTO t VALUES (?)", i,
                       [&, i](std::error_code ec, asiolite::execute_result) { got[i] = ec; });
  std::thread runner([&] { t.ctx.run(); });
  t.wait_until_running();
  t.db.cancel();  // from another thread than the io_context's: thread-safe
  runner.join();
  t.ctx.restart();
  for (auto& ec : got) CHECK(ec == asio::error::operation_aborted);
  CHECK(t.db.is_open());
  CHECK(test::run(t.ctx, count(t.db)) == 0);
}

TEST_CASE("a cancelled read inside a transaction leaves the transaction open") {
  endless_db t;
  test::run(t.ctx, [](asiolite::connection& db) -> asio::awaitable<void> {
    auto tx = co_await db.async_begin();
    co_await tx.async_execute("INSERT INTO t VALUES (1)");
    asio::steady_timer timer(co_await asio::this_coro::executor, 20ms);
    auto r = co_await (tx.async_query_scalar<std::int64_t>(endless_query) || timer.async_wait(asio::use_awaitable));
    CHECK(r.index() == 1);
    CHECK(tx.is_active());  // SQLite only undoes the interrupted SELECT
    co_await tx.async_commit();
    CHECK(co_await count(db) == 1);
  }(t.db));
}

TEST_CASE("a cancelled write inside a transaction rolls it back, and the transaction reports it") {
  endless_db t;
  test::run(t.ctx, [](asiolite::connection& db) -> asio::awaitable<void> {
    auto tx = co_await db.async_begin();
    co_await tx.async_execute("INSERT INTO t VALUES (1)");
    asio::steady_timer timer(co_await asio::this_coro::executor, 20ms);
    // An endless INSERT ... SELECT: SQLite rolls back the whole transaction when it is interrupted.
    auto r = co_await (
        tx.async_execute(
            "INSERT INTO t WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT running(i) FROM c") ||
        timer.async_wait(asio::use_awaitable));
    CHECK(r.index() == 1);
    CHECK_FALSE(tx.is_active());
    auto [ec, n] = co_await tx.async_execute("INSERT INTO t VALUES (2)", tuple_token);
    CHECK(ec == asiolite::errc::transaction_ended);
    CHECK(co_await count(db) == 0);
    auto ac =
        co_await db.async_call([](asiolite::sync_handle& h) { return sqlite3_get_autocommit(h.native_handle()); });
    CHECK(ac == 1);
  }(t.db));
}

TEST_CASE("a request waiting for another connection's lock stops waiting when cancelled") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options patient;
  patient.busy_timeout = 60s;  // far longer than the test may take
  auto holder = test::open(ctx, dir.db());
  auto waiter = test::open(ctx, dir.db(), patient);
  test::run(ctx, [](asiolite::connection& holder, asiolite::connection& waiter) -> asio::awaitable<void> {
    co_await holder.async_execute("CREATE TABLE t(x)");
    auto tx = co_await holder.async_begin();
    asio::steady_timer timer(co_await asio::this_coro::executor, 30ms);
    auto r = co_await (waiter.async_execute("INSERT INTO t VALUES (1)") || timer.async_wait(asio::use_awaitable));
    CHECK(r.index() == 1);
    co_await tx.async_rollback();
    CHECK(co_await waiter.async_query_scalar<std::int64_t>("SELECT count(*) FROM t") == 0);
  }(holder, waiter));
}

TEST_CASE("a storm of cancellations on a 4-thread io_context: every handler once, outcomes match the rows") {
  endless_db t;
  constexpr int clients = 20, per_client = 100, total = clients * per_client;
  std::vector<std::atomic<int>> calls(total);
  std::vector<std::atomic<int>> outcome(total);  // 1 success, 2 aborted, 3 other
  asio::io_context pool(4);
  asiolite::connection& db = t.db;

  for (int c = 0; c < clients; ++c) {
    auto strand = asio::make_strand(pool);
    auto rng = std::make_shared<std::mt19937>(c);
    for (int k = 0; k < per_client; ++k) {
      const int id = c * per_client + k;
      auto signal = std::make_shared<asio::cancellation_signal>();
      asio::post(strand, [&, strand, rng, signal, id] {
        db.async_execute("INSERT INTO t VALUES (?)", id,
                         asio::bind_cancellation_slot(
                             signal->slot(),
                             asio::bind_executor(strand, [&, signal, id](std::error_code ec, asiolite::execute_result) {
                               calls[id]++;
                               outcome[id] = !ec ? 1 : ec == asio::error::operation_aborted ? 2 : 3;
                             })));
        if ((*rng)() % 3 == 0) {  // a third are cancelled, after a random moment, on the strand
          auto timer = std::make_shared<asio::steady_timer>(strand, std::chrono::microseconds((*rng)() % 2000));
          timer->async_wait([timer, signal](std::error_code) { signal->emit(asio::cancellation_type::terminal); });
        }
      });
    }
  }
  std::vector<std::thread> threads;
  for (int n = 0; n < 4; ++n) threads.emplace_back([&] { pool.run(); });
  for (auto& th : threads) th.join();

  int once = 0, succeeded = 0, aborted = 0, other = 0;
  std::set<int> expected;
  for (int id = 0; id < total; ++id) {
    once += calls[id] == 1;
    if (outcome[id] == 1) ++succeeded, expected.insert(id);
    if (outcome[id] == 2) ++aborted;
    if (outcome[id] == 3) ++other;
  }
  CHECK(once == total);
  CHECK(other == 0);
  CHECK(succeeded + aborted == total);
  auto present = test::run(t.ctx, [](asiolite::connection& db) -> asio::awaitable<std::vector<int>> {
    co_return co_await db.async_query<int>("SELECT x FROM t ORDER BY x");
  }(t.db));
  CHECK(std::set<int>(present.begin(), present.end()) == expected);
  CHECK(present.size() == expected.size());
}

TEST_CASE("cancellations racing async_close: every handler once, the close completes") {
  endless_db t;
  constexpr int n = 300, close_after = n / 2;
  std::vector<std::atomic<int>> calls(n);
  std::vector<std::error_code> got(n);
  std::vector<std::shared_ptr<asio::cancellation_signal>> signals;
  bool closed = false;
  for (int i = 0; i < n; ++i) {
    signals.push_back(std::make_shared<asio::cancellation_signal>());
    t.db.async_execute(
        "INSERT INTO t VALUES (?)", i,
        asio::bind_cancellation_slot(signals.back()->slot(), [&, i](std::error_code ec, asiolite::execute_result) {
          calls[i]++;
          got[i] = ec;
        }));
    if (i == close_after) t.db.async_close([&](std::error_code ec) { closed = !ec; });
  }
  // Cancel every other request while the worker drains and closes.
  asio::post(t.ctx, [&] {
    for (int i = 0; i < n; i += 2) signals[i]->emit(asio::cancellation_type::terminal);
  });
  t.ctx.run();
  t.ctx.restart();
  int once = 0, before_ok = 0, after_ok = 0;
  for (int i = 0; i < n; ++i) {
    once += calls[i] == 1;
    if (i <= close_after)
      before_ok += !got[i] || got[i] == asio::error::operation_aborted;  // ran, or cancelled first
    else
      after_ok += got[i] == asiolite::errc::closed;  // refused: the close had started
  }
  CHECK(once == n);
  CHECK(before_ok == close_after + 1);
  CHECK(after_ok == n - close_after - 1);
  CHECK(closed);
  t.db.cancel();  // on a closed connection: nothing to do, no harm
}

TEST_CASE("a cancellation leaves the requests queued with it to run wherever the worker is caught") {
  // A cancellation takes the statements submitted so far into the queue. A worker that
  // was spinning before it parks, watching for new statements, must still learn of them:
  // else it parks with a request in its queue and nothing ever runs it.
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("CREATE TABLE t(x INTEGER)");
  }(db));
  constexpr int rounds = 100000;
  int ran = 0, aborted = 0, stuck = 0;
  for (int i = 0; i < rounds && stuck == 0; ++i) {
    bool kept_done = false;
    asio::cancellation_signal cancel;
    db.async_execute("SELECT 1", [&](std::error_code ec, asiolite::execute_result) {
      kept_done = true;
      if (!ec) ++ran;
    });
    db.async_execute("SELECT 2", asio::bind_cancellation_slot(cancel.slot(), [&](std::error_code ec,
                                                                                  asiolite::execute_result) {
                       if (ec == asio::error::operation_aborted) ++aborted;
                     }));
    cancel.emit(asio::cancellation_type::terminal);
    ctx.restart();
    ctx.run_for(std::chrono::seconds(5));
    if (!kept_done) ++stuck;
  }
  CHECK(stuck == 0);
  CHECK(ran == rounds);
  CHECK(aborted <= rounds);  // the second one may have run before the cancellation came
}
