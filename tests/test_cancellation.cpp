// Per-operation cancellation, connection::cancel and the statement timeout: a cancelled
// request that was queued never runs; a running one stops, and only that one.
// (Endless queries make these tests self-checking: if a cancellation failed to stop one,
// the test would hang until ctest's timeout.)
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

using test::tuple_token;

// Never ends on its own; calls running() on every row, so the test knows it has started.
constexpr const char* endless_query =
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(running(i)) FROM c";

// A connection whose SQL function running() raises `started`, and touch(x) (which
// returns x) counts its calls in `touched`.
struct endless_db {
  std::atomic<bool> started{false};
  std::atomic<int> touched{0};
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
      sqlite3_create_function_v2(
          h.native_handle(), "touch", 1, SQLITE_UTF8, &touched,
          [](sqlite3_context* c, int, sqlite3_value** v) {
            static_cast<std::atomic<int>*>(sqlite3_user_data(c))->fetch_add(1);
            sqlite3_result_value(c, v[0]);
          },
          nullptr, nullptr, nullptr);
    };
    db = test::open(ctx, dir.db(), opts);
    test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
      co_await conn.async_execute("CREATE TABLE t(x INTEGER)");
    }(db));
  }

  void wait_until_running() {
    while (!started.load()) std::this_thread::sleep_for(1ms);
  }
};

using test::count;

struct named_type {
  asio::cancellation_type type;
  const char* name;
};
// The two types no other test here uses, and all three.
constexpr named_type partial_and_total[] = {{asio::cancellation_type::partial, "partial"},
                                            {asio::cancellation_type::total, "total"}};
constexpr named_type every_type[] = {{asio::cancellation_type::terminal, "terminal"},
                                     {asio::cancellation_type::partial, "partial"},
                                     {asio::cancellation_type::total, "total"}};

// An INSERT into t that never ends, calling running() on every row it makes.
constexpr const char* endless_insert =
    "INSERT INTO t WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT running(i) FROM c";

// Starts an operation with `start(token)`, its handler bound to a cancellation slot;
// once its SQL runs on the worker (running() was called since start), emits `type` on
// the io_context and runs ctx until the operation completes. Returns its error code.
template <class Start>
asiolite::error_code cancel_once_running(endless_db& t, asio::cancellation_type type, Start start) {
  t.started = false;
  asio::cancellation_signal cancel;
  std::optional<asiolite::error_code> got;
  start(asio::bind_cancellation_slot(cancel.slot(), [&got](asiolite::error_code ec, auto&&...) { got = ec; }));
  std::thread runner([&t] { t.ctx.run(); });
  t.wait_until_running();
  // Emitting must happen on the handler's executor (the io_context, on its own thread).
  asio::post(t.ctx, [&cancel, type] { cancel.emit(type); });
  runner.join();
  t.ctx.restart();
  return got.value_or(asiolite::make_error_code(asiolite::errc::error));
}

}  // namespace

TEST_CASE("a queued INSERT that is cancelled never runs and completes with operation_aborted on its executor") {
  endless_db t;
  auto strand = asio::make_strand(t.ctx);
  test::worker_gate gate;
  gate.hold(t.db);
  asio::cancellation_signal cancel;
  asiolite::error_code got;
  bool in_strand = false;
  t.db.async_execute("INSERT INTO t VALUES (1)",
                     asio::bind_cancellation_slot(
                         cancel.slot(), asio::bind_executor(strand, [&](asiolite::error_code ec, asiolite::execute_result) {
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
  asiolite::error_code got;
  std::int64_t next = 0;
  t.db.async_query_scalar<std::int64_t>(
      endless_query, asio::bind_cancellation_slot(cancel.slot(), [&](asiolite::error_code ec, std::int64_t) { got = ec; }));
  t.db.async_query_scalar<std::int64_t>("SELECT 41 + 1",
                                        [&](asiolite::error_code ec, std::int64_t v) { next = ec ? -1 : v; });
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
    const auto awaited = co_await db.async_query_scalar<int>("SELECT 7");
    CHECK(awaited == 7);
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
    const auto awaited_count = co_await count(db);
    CHECK(awaited_count == 100);
  }(t.db));
}

TEST_CASE("connection::cancel aborts everything queued and the running request, and the connection goes on") {
  endless_db t;
  std::vector<asiolite::error_code> got(11);
  t.db.async_query_scalar<std::int64_t>(endless_query, [&](asiolite::error_code ec, std::int64_t) { got[0] = ec; });
  for (int i = 1; i <= 10; ++i)
    t.db.async_execute("INSERT INTO t VALUES (?)", i,
                       [&, i](asiolite::error_code ec, asiolite::execute_result) { got[static_cast<std::size_t>(i)] = ec; });
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
    const auto awaited_count2 = co_await count(db);
    CHECK(awaited_count2 == 1);
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
    const auto awaited_count3 = co_await count(db);
    CHECK(awaited_count3 == 0);
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
  test::run(ctx, [](asiolite::connection& holding, asiolite::connection& waiting) -> asio::awaitable<void> {
    co_await holding.async_execute("CREATE TABLE t(x)");
    auto tx = co_await holding.async_begin();
    asio::steady_timer timer(co_await asio::this_coro::executor, 30ms);
    auto r = co_await (waiting.async_execute("INSERT INTO t VALUES (1)") || timer.async_wait(asio::use_awaitable));
    CHECK(r.index() == 1);
    co_await tx.async_rollback();
    const auto awaited2 = co_await waiting.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited2 == 0);
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
                             asio::bind_executor(strand, [&, signal, id](asiolite::error_code ec, asiolite::execute_result) {
                               const auto at = static_cast<std::size_t>(id);
                               calls[at]++;
                               outcome[at] = !ec ? 1 : ec == asio::error::operation_aborted ? 2 : 3;
                             })));
        if ((*rng)() % 3 == 0) {  // a third are cancelled, after a random moment, on the strand
          auto timer = std::make_shared<asio::steady_timer>(strand, std::chrono::microseconds((*rng)() % 2000));
          timer->async_wait([timer, signal](asiolite::error_code) { signal->emit(asio::cancellation_type::terminal); });
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
    const auto at = static_cast<std::size_t>(id);
    once += calls[at] == 1;
    if (outcome[at] == 1) ++succeeded, expected.insert(id);
    if (outcome[at] == 2) ++aborted;
    if (outcome[at] == 3) ++other;
  }
  CHECK(once == total);
  CHECK(other == 0);
  CHECK(succeeded + aborted == total);
  auto present = test::run(t.ctx, [](asiolite::connection& conn) -> asio::awaitable<std::vector<int>> {
    co_return co_await conn.async_query<int>("SELECT x FROM t ORDER BY x");
  }(t.db));
  CHECK(std::set<int>(present.begin(), present.end()) == expected);
  CHECK(present.size() == expected.size());
}

TEST_CASE("cancellations racing async_close: every handler once, the close completes") {
  endless_db t;
  constexpr int n = 300, close_after = n / 2;
  std::vector<std::atomic<int>> calls(n);
  std::vector<asiolite::error_code> got(n);
  std::vector<std::shared_ptr<asio::cancellation_signal>> signals;
  bool closed = false;
  for (int i = 0; i < n; ++i) {
    signals.push_back(std::make_shared<asio::cancellation_signal>());
    t.db.async_execute(
        "INSERT INTO t VALUES (?)", i,
        asio::bind_cancellation_slot(signals.back()->slot(), [&, i](asiolite::error_code ec, asiolite::execute_result) {
          calls[static_cast<std::size_t>(i)]++;
          got[static_cast<std::size_t>(i)] = ec;
        }));
    if (i == close_after) t.db.async_close([&](asiolite::error_code ec) { closed = !ec; });
  }
  // Cancel every other request while the worker drains and closes.
  asio::post(t.ctx, [&] {
    for (std::size_t i = 0; i < n; i += 2) signals[i]->emit(asio::cancellation_type::terminal);
  });
  t.ctx.run();
  t.ctx.restart();
  int once = 0, before_ok = 0, after_ok = 0;
  for (int i = 0; i < n; ++i) {
    const auto at = static_cast<std::size_t>(i);
    once += calls[at] == 1;
    if (i <= close_after)
      before_ok += !got[at] || got[at] == asio::error::operation_aborted;  // ran, or cancelled first
    else
      after_ok += got[at] == asiolite::errc::closed;  // refused: the close had started
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
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t(x INTEGER)");
  }(db));
  constexpr int rounds = 100000;
  int ran = 0, aborted = 0, stuck = 0;
  for (int i = 0; i < rounds && stuck == 0; ++i) {
    bool kept_done = false;
    asio::cancellation_signal cancel;
    db.async_execute("SELECT 1", [&](asiolite::error_code ec, asiolite::execute_result) {
      kept_done = true;
      if (!ec) ++ran;
    });
    db.async_execute("SELECT 2",
                     asio::bind_cancellation_slot(cancel.slot(), [&](asiolite::error_code ec, asiolite::execute_result) {
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

TEST_CASE("partial and total cancellation remove every kind of queued request, which never runs") {
  for (const named_type& kind : partial_and_total) {
    INFO("cancellation type: " << kind.name);
    const asio::cancellation_type type = kind.type;
    endless_db t;
    auto ps = test::run(t.ctx, [](asiolite::connection& db) -> asio::awaitable<asiolite::prepared_statement> {
      co_return co_await db.async_prepare("INSERT INTO t VALUES (?)");
    }(t.db));

    test::worker_block block;
    block.hold(t.db);
    block.wait_entered();  // everything below queues behind it

    std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
    auto slot = [&signals] {
      signals.push_back(std::make_unique<asio::cancellation_signal>());
      return signals.back()->slot();
    };
    std::map<std::string, asiolite::error_code> got;
    auto record = [&got](std::string name) { return [&got, name](asiolite::error_code ec, auto&&...) { got[name] = ec; }; };
    std::atomic<bool> call_ran{false};
    std::string prepared_sql = "not delivered";
    bool cursor_delivered = true, transaction_delivered = true;

    t.db.async_execute("INSERT INTO t VALUES (1)", asio::bind_cancellation_slot(slot(), record("async_execute")));
    t.db.async_query("SELECT touch(2)", asio::bind_cancellation_slot(slot(), record("async_query")));
    t.db.async_query_one<std::int64_t>("SELECT touch(3)",
                                       asio::bind_cancellation_slot(slot(), record("async_query_one")));
    t.db.async_query_scalar<std::int64_t>("SELECT touch(4)",
                                          asio::bind_cancellation_slot(slot(), record("async_query_scalar")));
    t.db.async_execute_script("INSERT INTO t VALUES (5); INSERT INTO t VALUES (6)",
                              asio::bind_cancellation_slot(slot(), record("async_execute_script")));
    t.db.async_call(
        [&call_ran](asiolite::sync_handle& h) {
          call_ran = true;
          h.execute("INSERT INTO t VALUES (7)");
        },
        asio::bind_cancellation_slot(slot(), record("async_call")));
    t.db.async_call_in_transaction([](asiolite::sync_handle& h) { h.execute("INSERT INTO t VALUES (8)"); },
                                   asio::bind_cancellation_slot(slot(), record("async_call_in_transaction")));
    const std::vector<int> many = {9, 10};
    t.db.async_execute_many("INSERT INTO t VALUES (?)", many,
                            asio::bind_cancellation_slot(slot(), record("async_execute_many")));
    t.db.async_prepare("SELECT touch(11)",
                       asio::bind_cancellation_slot(slot(), [&](asiolite::error_code ec, asiolite::prepared_statement p) {
                         got["async_prepare"] = ec;
                         prepared_sql = p.sql();
                       }));
    ps.async_execute(12, asio::bind_cancellation_slot(slot(), record("prepared_statement::async_execute")));
    t.db.async_cursor<std::int64_t>(
        "SELECT touch(13)",
        asio::bind_cancellation_slot(slot(), [&](asiolite::error_code ec, asiolite::cursor<std::int64_t> c) {
          got["async_cursor"] = ec;
          // An empty cursor (from a failed async_cursor) fails with closed; a real one would not.
          c.async_next(
              asio::bind_executor(t.ctx, [&cursor_delivered](asiolite::error_code next_ec, std::optional<std::int64_t>) {
                cursor_delivered = next_ec != asiolite::errc::closed;
              }));
        }));
    t.db.async_begin(asio::bind_cancellation_slot(slot(), [&](asiolite::error_code ec, asiolite::transaction tx) {
      got["async_begin"] = ec;
      transaction_delivered = tx.is_active();
    }));

    for (auto& s : signals) s->emit(type);
    block.release();
    t.ctx.run();
    t.ctx.restart();

    CHECK(got.size() == 12);
    for (const auto& [operation, ec] : got) {
      INFO(operation);
      CHECK(ec == asio::error::operation_aborted);
    }
    CHECK(t.touched == 0);
    CHECK_FALSE(call_ran);
    CHECK(prepared_sql.empty());
    CHECK_FALSE(cursor_delivered);
    CHECK_FALSE(transaction_delivered);
    CHECK(test::run(t.ctx, count(t.db)) == 0);
    // The connection, and the prepared statement whose run was removed, go on.
    test::run(t.ctx, [](asiolite::prepared_statement& statement) -> asio::awaitable<void> {
      co_await statement.async_execute(14);
    }(ps));
    CHECK(test::run(t.ctx, count(t.db)) == 1);
  }
}

TEST_CASE("partial and total cancellation interrupt every kind of running statement request, and only it") {
  for (const named_type& kind : partial_and_total) {
    INFO("cancellation type: " << kind.name);
    const asio::cancellation_type type = kind.type;
    endless_db t;
    // A statement that counts to ?1, or forever when ?1 is 0.
    auto counter = test::run(t.ctx, [](asiolite::connection& db) -> asio::awaitable<asiolite::prepared_statement> {
      co_return co_await db.async_prepare(
          "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE ?1 = 0 OR i < ?1) "
          "SELECT count(running(i)) FROM c");
    }(t.db));

    {
      INFO("async_query_scalar");
      const auto ec = cancel_once_running(
          t, type, [&](auto token) { t.db.async_query_scalar<std::int64_t>(endless_query, token); });
      CHECK(ec == asio::error::operation_aborted);
      CHECK(test::run(t.ctx, count(t.db)) == 0);
    }
    {
      INFO("async_execute_script: the statement before the interrupted one keeps its effect");
      const auto ec = cancel_once_running(t, type, [&](auto token) {
        t.db.async_execute_script(std::string("INSERT INTO t VALUES (1); ") + endless_insert, token);
      });
      CHECK(ec == asio::error::operation_aborted);
      CHECK(test::run(t.ctx, count(t.db)) == 1);
    }
    {
      INFO("async_call: its SQL is interrupted");
      const auto ec = cancel_once_running(t, type, [&](auto token) {
        t.db.async_call([](asiolite::sync_handle& h) { return h.query_scalar<std::int64_t>(endless_query); }, token);
      });
      CHECK(ec == asio::error::operation_aborted);
      CHECK(test::run(t.ctx, count(t.db)) == 1);
    }
    {
      INFO("async_call_in_transaction: nothing it wrote is kept");
      const auto ec = cancel_once_running(t, type, [&](auto token) {
        t.db.async_call_in_transaction(
            [](asiolite::sync_handle& h) {
              h.execute("INSERT INTO t VALUES (2)");
              h.execute(endless_insert);
            },
            token);
      });
      CHECK(ec == asio::error::operation_aborted);
      CHECK(test::run(t.ctx, count(t.db)) == 1);
    }
    {
      INFO("async_execute_many: no element is applied");
      const std::vector<int> elements = {3, 4};  // 3 is inserted at once, 4 never ends
      const auto ec = cancel_once_running(t, type, [&](auto token) {
        t.db.async_execute_many(
            "INSERT INTO t SELECT CASE WHEN ?1 = 3 THEN 3 ELSE "
            "(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(running(i)) FROM c) "
            "END",
            elements, token);
      });
      CHECK(ec == asio::error::operation_aborted);
      CHECK(test::run(t.ctx, count(t.db)) == 1);
    }
    {
      INFO("a prepared statement's run: the statement stays usable");
      const auto ec =
          cancel_once_running(t, type, [&](auto token) { counter.async_query_scalar<std::int64_t>(0, token); });
      CHECK(ec == asio::error::operation_aborted);
      const auto counted = test::run(t.ctx, [](asiolite::prepared_statement& ps) -> asio::awaitable<std::int64_t> {
        co_return co_await ps.async_query_scalar<std::int64_t>(5);
      }(counter));
      CHECK(counted == 5);
    }
    {
      INFO("async_cursor: its first batch is interrupted");
      const auto ec = cancel_once_running(t, type, [&](auto token) {
        t.db.async_cursor<std::int64_t>(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT i FROM c WHERE running(i) < 0",
            token);
      });
      CHECK(ec == asio::error::operation_aborted);
      CHECK(test::run(t.ctx, count(t.db)) == 1);
    }
    {
      INFO("cursor::async_next: the batch it waits for is interrupted, and the cursor is over");
      auto cur = test::run(t.ctx, [](asiolite::connection& db) -> asio::awaitable<asiolite::cursor<std::int64_t>> {
        asiolite::cursor_options one;
        one.batch_size = 1;
        // One row at once; then the read-ahead searches forever.
        auto c = co_await db.async_cursor<std::int64_t>(one,
                                                        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM "
                                                        "c) SELECT i FROM c WHERE i = 1 OR running(i) < 0");
        co_await c.async_next();
        co_return c;
      }(t.db));
      const auto ec = cancel_once_running(t, type, [&](auto token) { cur.async_next(token); });
      CHECK(ec == asio::error::operation_aborted);
      CHECK(test::run(t.ctx, count(t.db)) == 1);
      auto later = test::run(t.ctx, [](asiolite::cursor<std::int64_t>& c) -> asio::awaitable<asiolite::error_code> {
        auto [next_ec, v] = co_await c.async_next(tuple_token);
        co_return next_ec;
      }(cur));
      CHECK(later == asio::error::operation_aborted);
    }
  }
}

TEST_CASE("partial and total cancellation stop a request waiting for another connection's lock") {
  for (const named_type& kind : partial_and_total) {
    INFO("cancellation type: " << kind.name);
    const asio::cancellation_type type = kind.type;
    asiolite::options patient;
    patient.busy_timeout = std::chrono::hours(1);  // longer than any test may take
    endless_db t(patient);
    auto holder = test::open(t.ctx, t.dir.db());
    auto tx = test::run(t.ctx, [](asiolite::connection& db) -> asio::awaitable<asiolite::transaction> {
      co_return co_await db.async_begin();  // immediate: holds the write lock
    }(holder));
    // running() cannot be called from the INSERT before it has the lock: the call says it
    // is about to wait.
    const auto ec = cancel_once_running(t, type, [&](auto token) {
      t.db.async_call(
          [&t](asiolite::sync_handle& h) {
            t.started = true;
            h.execute("INSERT INTO t VALUES (1)");
          },
          token);
    });
    CHECK(ec == asio::error::operation_aborted);
    test::run(t.ctx, [](asiolite::transaction& held) -> asio::awaitable<void> { co_await held.async_rollback(); }(tx));
    CHECK(test::run(t.ctx, count(t.db)) == 0);
  }
}

TEST_CASE("partial and total cancellation remove a queued COMMIT and leave the transaction open") {
  for (const named_type& kind : partial_and_total) {
    INFO("cancellation type: " << kind.name);
    const asio::cancellation_type type = kind.type;
    endless_db t;
    auto tx = test::begin_with_row(t.ctx, t.db);
    test::worker_gate gate;
    gate.hold(tx);
    asio::cancellation_signal cancel;
    std::optional<asiolite::error_code> got;
    tx.async_commit(asio::bind_cancellation_slot(cancel.slot(), [&got](asiolite::error_code ec) { got = ec; }));
    cancel.emit(type);
    gate.release();
    t.ctx.run();
    t.ctx.restart();
    CHECK(got == asio::error::operation_aborted);
    CHECK(tx.is_active());
    // Still open, and still holding the connection: its statements run, then it commits.
    test::run(t.ctx, [](asiolite::transaction& open_tx) -> asio::awaitable<void> {
      co_await open_tx.async_execute("INSERT INTO t VALUES (2)");
      co_await open_tx.async_commit();
    }(tx));
    CHECK_FALSE(tx.is_active());
    CHECK(test::run(t.ctx, count(t.db)) == 2);
  }
}

namespace {

// The default VFS under another name, where every main database file opened through it
// takes its locks through Hook::lock(file, level, base_lock) instead of the default
// xLock, which the hook calls to take a lock as usual. Hook::vfs_name spells the name.
template <class Hook>
struct lock_hook_vfs {
  /// The VFS's name, for options::vfs; registered on first use.
  static const char* name() {
    static const char* registered = [] {
      base_ = sqlite3_vfs_find(nullptr);
      vfs_ = *base_;
      vfs_.pNext = nullptr;
      vfs_.zName = Hook::vfs_name;
      vfs_.xOpen = &open;
      sqlite3_vfs_register(&vfs_, 0);
      return vfs_.zName;
    }();
    return registered;
  }

 private:
  static int open(sqlite3_vfs*, const char* path, sqlite3_file* file, int flags, int* out_flags) {
    const int rc = base_->xOpen(base_, path, file, flags, out_flags);
    if (rc == SQLITE_OK && file->pMethods && (flags & SQLITE_OPEN_MAIN_DB)) {
      // The default VFS gives every main database file the same methods.
      static const bool made = [file] {
        base_methods_ = file->pMethods;
        methods_ = *file->pMethods;
        methods_.xLock = &lock;
        return true;
      }();
      if (made && file->pMethods == base_methods_) file->pMethods = &methods_;
    }
    return rc;
  }

  static int lock(sqlite3_file* file, int level) { return Hook::lock(file, level, base_methods_->xLock); }

  static inline sqlite3_vfs* base_ = nullptr;
  static inline sqlite3_vfs vfs_{};
  static inline const sqlite3_io_methods* base_methods_ = nullptr;
  static inline sqlite3_io_methods methods_{};
};

using base_lock = int (*)(sqlite3_file*, int);

// Rollback-journal mode (a COMMIT needs the EXCLUSIVE lock, a read the SHARED one),
// waiting for a lock longer than any test may take; through the VFS named, if any.
asiolite::options patient_rollback_journal(const char* vfs = nullptr) {
  asiolite::options o;
  o.journal = asiolite::journal_mode::delete_;
  o.busy_timeout = std::chrono::hours(1);
  if (vfs) o.vfs = vfs;
  return o;
}

// The default VFS, counting the attempts to take an EXCLUSIVE lock on a main database
// file: a COMMIT in rollback-journal mode makes one, and one more each time its busy
// handler lets it try again. That is how a test sees, from outside, that a COMMIT is
// running and waiting, and that it went on waiting after something happened.
struct exclusive_lock_counter {
  static inline std::atomic<int> attempts{0};

  static constexpr const char* vfs_name = "asiolite-test-exclusive-lock-counter";
  static int lock(sqlite3_file* file, int level, base_lock take) {
    if (level == SQLITE_LOCK_EXCLUSIVE) attempts.fetch_add(1);
    return take(file, level);
  }
};

}  // namespace

TEST_CASE("a COMMIT waiting for a reader's lock completes whatever the cancellation type") {
  // In rollback-journal mode a COMMIT needs the EXCLUSIVE lock: with a reader holding
  // SHARED it waits in the busy handler, where a cancellation of a statement would stop
  // it. The test cancels it there, lets it try the lock twice more (a COMMIT that the
  // cancellation could stop would give up before its second try), then lets the reader go.
  for (const named_type& kind : every_type) {
    INFO("cancellation type: " << kind.name);
    const asio::cancellation_type type = kind.type;
    test::temp_dir dir;
    asio::io_context ctx;
    const asiolite::options rollback_journal = patient_rollback_journal();
    const asiolite::options counted = patient_rollback_journal(lock_hook_vfs<exclusive_lock_counter>::name());
    auto writer = test::open(ctx, dir.db(), counted);
    auto reader = test::open(ctx, dir.db(), rollback_journal);
    asio::cancellation_signal cancel;
    std::optional<asiolite::error_code> committed;
    bool tx_active_after = true;
    std::int64_t rows = -1;
    test::run(ctx, [&]() -> asio::awaitable<void> {
      const auto ex = co_await asio::this_coro::executor;
      // Waits until pred() holds or the COMMIT has completed, looking every millisecond.
      const auto wait_for = [&committed, ex](auto pred) -> asio::awaitable<void> {
        while (!committed && !pred()) {
          asio::steady_timer pause(ex, 1ms);
          co_await pause.async_wait(asio::use_awaitable);
        }
      };
      co_await writer.async_execute("CREATE TABLE t(x)");
      auto tx = co_await writer.async_begin();
      co_await tx.async_execute("INSERT INTO t VALUES (1)");
      auto read = co_await reader.async_begin(asiolite::begin_mode::deferred);
      co_await read.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");  // holds SHARED

      asio::steady_timer done(ex, asio::steady_timer::time_point::max());
      const int before = exclusive_lock_counter::attempts.load();
      tx.async_commit(asio::bind_cancellation_slot(cancel.slot(), [&](asiolite::error_code ec) {
        committed = ec;
        done.cancel();
      }));
      co_await wait_for([before] { return exclusive_lock_counter::attempts.load() > before; });  // running
      cancel.emit(type);
      const int at_cancel = exclusive_lock_counter::attempts.load();
      co_await wait_for([at_cancel] { return exclusive_lock_counter::attempts.load() >= at_cancel + 2; });
      co_await read.async_rollback();  // the reader lets go: the COMMIT can finish
      if (!committed) co_await done.async_wait(tuple_token);
      tx_active_after = tx.is_active();
      co_await tx.async_rollback();  // nothing to undo after a COMMIT that ran; else frees the lock
      rows = co_await reader.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    }());
    CHECK(committed == asiolite::error_code());
    CHECK_FALSE(tx_active_after);
    CHECK(rows == 1);
  }
}

namespace {

// The default VFS, where a main database file opened through it can be made to answer
// SQLITE_BUSY to requests for a SHARED lock, as when another process holds the file
// locked: after `grants` more SHARED locks are granted, until allow().
struct shared_lock_refuser {
  static inline std::atomic<int> grants_left{-1};  // -1: every lock is granted
  static inline std::atomic<int> refusals{0};

  static void refuse_after(int grants) {
    refusals = 0;
    grants_left = grants;
  }
  static void allow() { grants_left = -1; }

  static constexpr const char* vfs_name = "asiolite-test-shared-lock-refuser";
  static int lock(sqlite3_file* file, int level, base_lock take) {
    if (level == SQLITE_LOCK_SHARED) {
      int left = grants_left.load();
      while (left > 0 && !grants_left.compare_exchange_weak(left, left - 1)) {
      }
      if (left == 0) {
        refusals.fetch_add(1);
        return SQLITE_BUSY;
      }
    }
    return take(file, level);
  }
};

}  // namespace

TEST_CASE("after a lock wait stopped by a cancellation, the next request waits busy_timeout for the lock again") {
  // The cancelled request stops while reloading a schema another connection changed (a
  // wait inside the statement's step, before its program runs); the next request must
  // load it too before its own statement can run, and must wait for the lock as patiently
  // as any request: the cancellation stopped only the request it was meant for.
  test::temp_dir dir;
  asio::io_context ctx;
  const asiolite::options rollback_journal = patient_rollback_journal();
  const asiolite::options refused = patient_rollback_journal(lock_hook_vfs<shared_lock_refuser>::name());
  auto changer = test::open(ctx, dir.db(), rollback_journal);
  test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<void> {
    co_await c.async_execute("CREATE TABLE t(x)");
  }(changer));
  auto db = test::open(ctx, dir.db(), refused);  // its schema has t
  asio::cancellation_signal cancel;
  std::optional<asiolite::error_code> first;
  asiolite::error_code second;
  std::int64_t rows = -1;
  int refused_before_cancel = 0;
  test::run(ctx, [&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    co_await changer.async_execute("CREATE TABLE u(y)");  // db's schema is now out of date
    // db's next statement reads the schema's version under a SHARED lock, sees it changed,
    // and is refused the lock it needs to read the schema again: it waits, and is cancelled.
    shared_lock_refuser::refuse_after(1);
    db.async_execute("SELECT count(*) FROM t",
                     asio::bind_cancellation_slot(
                         cancel.slot(), [&first](asiolite::error_code ec, asiolite::execute_result) { first = ec; }));
    while (shared_lock_refuser::refusals.load() == 0 && !first) {
      asio::steady_timer pause(ex, 1ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
    refused_before_cancel = shared_lock_refuser::refusals.load();
    cancel.emit(asio::cancellation_type::terminal);
    while (!first) {
      asio::steady_timer pause(ex, 1ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
    // The lock stays refused for 50 ms more: the next request waits, then reads.
    asio::co_spawn(
        ex,
        []() -> asio::awaitable<void> {
          asio::steady_timer t(co_await asio::this_coro::executor, 50ms);
          co_await t.async_wait(asio::use_awaitable);
          shared_lock_refuser::allow();
        },
        asio::detached);
    auto [ec, n] = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t WHERE x IS NULL", tuple_token);
    second = ec;
    rows = n;
  }());
  shared_lock_refuser::allow();
  CHECK(refused_before_cancel > 0);
  CHECK(first == asio::error::operation_aborted);
  CHECK(second == asiolite::error_code());
  CHECK(rows == 0);
}

TEST_CASE("ROLLBACK, close and open run to their end whatever the cancellation type") {
  for (const named_type& kind : every_type) {
    INFO("cancellation type: " << kind.name);
    const asio::cancellation_type type = kind.type;
    endless_db t;
    asio::cancellation_signal cancel;

    // A queued ROLLBACK.
    auto tx = test::begin_with_row(t.ctx, t.db);
    test::worker_gate gate;
    gate.hold(tx);
    std::optional<asiolite::error_code> rolled_back;
    tx.async_rollback(
        asio::bind_cancellation_slot(cancel.slot(), [&rolled_back](asiolite::error_code ec) { rolled_back = ec; }));
    cancel.emit(type);
    gate.release();
    t.ctx.run();
    t.ctx.restart();
    CHECK(rolled_back == asiolite::error_code());
    CHECK_FALSE(tx.is_active());
    tx = asiolite::transaction();  // had the ROLLBACK been removed, the count would wait for it forever
    CHECK(test::run(t.ctx, count(t.db)) == 0);

    // A queued close.
    test::worker_block block;
    block.hold(t.db);
    block.wait_entered();
    std::optional<asiolite::error_code> closed;
    t.db.async_close(asio::bind_cancellation_slot(cancel.slot(), [&closed](asiolite::error_code ec) { closed = ec; }));
    cancel.emit(type);
    block.release();
    t.ctx.run();
    t.ctx.restart();
    CHECK(closed == asiolite::error_code());
    CHECK_FALSE(t.db.is_open());

    // An open, cancelled as soon as it has started.
    std::optional<asiolite::error_code> opened;
    t.db.async_open(t.dir.db(),
                    asio::bind_cancellation_slot(cancel.slot(), [&opened](asiolite::error_code ec) { opened = ec; }));
    cancel.emit(type);
    t.ctx.run();
    t.ctx.restart();
    CHECK(opened == asiolite::error_code());
    CHECK(t.db.is_open());
    if (opened == asiolite::error_code()) CHECK(test::run(t.ctx, count(t.db)) == 0);
  }
}

TEST_CASE("partial and total cancellation remove a queued batch request, and the cursor is over") {
  for (const named_type& kind : partial_and_total) {
    INFO("cancellation type: " << kind.name);
    const asio::cancellation_type type = kind.type;
    test::database fx(
        "CREATE TABLE t(id INTEGER PRIMARY KEY);"
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10) INSERT INTO t SELECT i FROM c;");
    fx.run([type](asiolite::connection& db) -> asio::awaitable<void> {
      asiolite::cursor_options opts;
      opts.batch_size = 2;
      auto cur = co_await db.async_cursor<int>(opts, "SELECT id FROM t ORDER BY id");
      co_await db.async_execute("SELECT 1");  // the second batch has been read ahead by now
      test::worker_block block;
      block.hold(db);
      block.wait_entered();
      auto b1 = co_await cur.async_next_batch();  // at hand
      auto b2 = co_await cur.async_next_batch();  // read ahead; the third is read ahead behind the block
      CHECK(b1 == std::vector<int>{1, 2});
      CHECK(b2 == std::vector<int>{3, 4});

      // The next call waits for the third batch: its request queues behind the block.
      asio::cancellation_signal cancel;
      asio::post(co_await asio::this_coro::executor, [&cancel, type] { cancel.emit(type); });
      auto [ec, b3] = co_await cur.async_next_batch(asio::bind_cancellation_slot(cancel.slot(), tuple_token));
      CHECK(ec == asio::error::operation_aborted);
      CHECK(b3.empty());
      block.release();

      auto [later, v] = co_await cur.async_next(tuple_token);
      CHECK(later == asio::error::operation_aborted);
      auto n = co_await db.async_query_scalar<int>("SELECT count(*) FROM t");
      CHECK(n == 10);
    });
  }
}

TEST_CASE("connection::cancel leaves a queued COMMIT to finish") {
  // connection.hpp: cancel() "Open, close, COMMIT and ROLLBACK requests are left to finish."
  endless_db t;
  auto tx = test::begin_with_row(t.ctx, t.db);
  test::worker_gate gate;
  gate.hold(tx);
  std::optional<asiolite::error_code> committed;
  tx.async_commit([&committed](asiolite::error_code ec) { committed = ec; });
  t.db.cancel();
  gate.release();
  t.ctx.run();
  t.ctx.restart();
  CHECK(committed == asiolite::error_code());
  CHECK_FALSE(tx.is_active());
  // After a COMMIT that ran this does nothing; after one that was removed it ends the
  // transaction, which would else hold the connection, and the count below wait forever.
  test::run(t.ctx,
            [](asiolite::transaction& open_tx) -> asio::awaitable<void> { co_await open_tx.async_rollback(); }(tx));
  CHECK(test::run(t.ctx, count(t.db)) == 1);
}

TEST_CASE("connection::cancel leaves the undo of a savepoint destroyed while open to run") {
  // savepoint.hpp: "a savepoint destroyed while open is rolled back to"; cancel() stops
  // requests that someone awaits, not the undo a destructor queued.
  endless_db t;
  auto tx = test::begin_with_row(t.ctx, t.db);
  auto sp = test::run(t.ctx, [](asiolite::transaction& open_tx) -> asio::awaitable<asiolite::savepoint> {
    auto made = co_await open_tx.async_savepoint();
    co_await open_tx.async_execute("INSERT INTO t VALUES (2)");
    co_return made;
  }(tx));
  test::worker_gate gate;
  gate.hold(tx);
  sp = asiolite::savepoint();  // destroyed open: its undo is queued behind the gate
  t.db.cancel();
  gate.release();
  t.ctx.run();
  t.ctx.restart();
  const auto kept = test::run(t.ctx, [](asiolite::transaction& open_tx) -> asio::awaitable<std::vector<int>> {
    auto rows = co_await open_tx.async_query<int>("SELECT x FROM t ORDER BY x");
    co_await open_tx.async_commit();
    co_return rows;
  }(tx));
  CHECK(kept == std::vector<int>{1});
  CHECK(test::run(t.ctx, count(t.db)) == 1);
}
