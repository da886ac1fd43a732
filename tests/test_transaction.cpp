// transaction.hpp: transactions that hold their connection, so coroutines sharing one
// connection never merge their transactions.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

using test::tuple_token;

asio::awaitable<void> sleep_for(std::chrono::microseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// True when SQLite has no transaction open on the connection.
asio::awaitable<bool> autocommit(asiolite::connection& db) {
  co_return co_await db.async_call(
      [](asiolite::sync_handle& h) { return sqlite3_get_autocommit(h.native_handle()) != 0; });
}

using test::count;

}  // namespace

TEST_CASE("two coroutines sharing a connection keep their transactions apart, whatever the interleaving") {
  // Coroutine A: begin, insert 'a', roll back. Coroutine B: begin, insert 'b', commit.
  // With merged transactions A's rollback would discard B's row or B's commit keep A's.
  struct schedule {
    bool a_first;
    std::chrono::microseconds a_pause, b_pause;
  };
  const std::vector<schedule> schedules = {
      {true, 0us, 0us},    {false, 0us, 0us},    {true, 2000us, 0us},  {false, 0us, 2000us},
      {true, 0us, 3000us}, {false, 3000us, 0us}, {true, 500us, 500us}, {false, 1000us, 1500us},
  };
  for (const auto& s : schedules) {
    test::database t("CREATE TABLE t(who TEXT)");
    std::vector<std::string> failures;
    auto a = [&]() -> asio::awaitable<void> {
      try {
        auto tx = co_await t.db.async_begin();
        co_await sleep_for(s.a_pause);
        co_await tx.async_execute("INSERT INTO t VALUES ('a')");
        co_await sleep_for(s.a_pause);
        co_await tx.async_rollback();
      } catch (const std::exception& e) {
        failures.push_back(std::string("a: ") + e.what());
      }
    };
    auto b = [&]() -> asio::awaitable<void> {
      try {
        auto tx = co_await t.db.async_begin();
        co_await sleep_for(s.b_pause);
        co_await tx.async_execute("INSERT INTO t VALUES ('b')");
        co_await sleep_for(s.b_pause);
        co_await tx.async_commit();
      } catch (const std::exception& e) {
        failures.push_back(std::string("b: ") + e.what());
      }
    };
    if (s.a_first) {
      asio::co_spawn(t.ctx, a(), asio::detached);
      asio::co_spawn(t.ctx, b(), asio::detached);
    } else {
      asio::co_spawn(t.ctx, b(), asio::detached);
      asio::co_spawn(t.ctx, a(), asio::detached);
    }
    t.ctx.run();
    t.ctx.restart();
    CHECK(failures.empty());
    t.run([](asiolite::connection& db) -> asio::awaitable<void> {
      auto who = co_await db.async_query<std::string>("SELECT who FROM t");
      REQUIRE(who.size() == 1);
      CHECK(who[0] == "b");
      const bool awaited_autocommit = co_await autocommit(db);
      CHECK(awaited_autocommit);
    });
  }
}

TEST_CASE("concurrent transfers on one shared connection from a 4-thread io_context keep the total") {
  test::database t(
      "CREATE TABLE account(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);"
      "CREATE TABLE transfer(id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) "
      "INSERT INTO account SELECT i, 1000 FROM n;");
  asio::io_context pool_ctx(4);
  asiolite::connection& db = t.db;
  constexpr int transfers = 300;
  std::atomic<int> committed{0}, rolled_back{0}, failed{0};
  for (int i = 0; i < transfers; ++i)
    asio::co_spawn(
        pool_ctx,
        [&db, &committed, &rolled_back, &failed, i]() -> asio::awaitable<void> {
          try {
            const int src = 1 + i % 20, dst = 1 + (i * 7 + 3) % 20, amount = 1 + i % 50;
            auto tx = co_await db.async_begin();
            co_await tx.async_execute("UPDATE account SET balance = balance - ? WHERE id = ?", amount, src);
            if (i % 3 == 0) co_await sleep_for(std::chrono::microseconds(i % 200));  // let others try to cut in
            co_await tx.async_execute("UPDATE account SET balance = balance + ? WHERE id = ?", amount, dst);
            co_await tx.async_execute("INSERT INTO transfer VALUES (?, ?, ?, ?)", i, src, dst, amount);
            if (i % 5 == 0) {
              co_await tx.async_rollback();
              ++rolled_back;
            } else {
              co_await tx.async_commit();
              ++committed;
            }
          } catch (...) {
            ++failed;
          }
        },
        asio::detached);
  std::vector<std::thread> threads;
  for (int n = 0; n < 4; ++n) threads.emplace_back([&] { pool_ctx.run(); });
  for (auto& th : threads) th.join();

  CHECK(failed == 0);
  CHECK(committed == transfers - transfers / 5);
  CHECK(rolled_back == transfers / 5);
  t.run([&](asiolite::connection& conn) -> asio::awaitable<void> {
    const auto awaited_count = co_await count(conn, "SELECT sum(balance) FROM account");
    CHECK(awaited_count == 20 * 1000);
    const auto awaited_count2 = co_await count(conn, "SELECT count(*) FROM transfer");
    CHECK(awaited_count2 == committed.load());
    const auto awaited_count3 = co_await count(conn, "SELECT count(*) FROM transfer WHERE id % 5 = 0");
    CHECK(awaited_count3 == 0);
    // Every account's balance is exactly what the committed transfers made it.
    const auto awaited_count4 = co_await count(conn,
                                               "SELECT count(*) FROM account a WHERE balance <> 1000"
                                               " - (SELECT coalesce(sum(amount), 0) FROM transfer WHERE src = a.id)"
                                               " + (SELECT coalesce(sum(amount), 0) FROM transfer WHERE dst = a.id)");
    CHECK(awaited_count4 == 0);
  });
}

TEST_CASE("requests from outside a transaction wait until it ends, then run in order") {
  test::database t("CREATE TABLE t(x)");
  std::vector<std::string> events;
  auto holder = [&]() -> asio::awaitable<void> {
    auto tx = co_await t.db.async_begin();
    events.push_back("begin");
    co_await tx.async_execute("INSERT INTO t VALUES (1)");
    co_await sleep_for(5ms);  // the outsider's query is queued by now
    events.push_back("commit");
    co_await tx.async_commit();
  };
  auto outsider = [&]() -> asio::awaitable<void> {
    co_await sleep_for(1ms);
    auto n = co_await count(t.db);
    events.push_back("outside saw " + std::to_string(n));
  };
  asio::co_spawn(t.ctx, holder(), asio::detached);
  asio::co_spawn(t.ctx, outsider(), asio::detached);
  t.ctx.run();
  t.ctx.restart();
  CHECK(events == std::vector<std::string>{"begin", "commit", "outside saw 1"});
}

TEST_CASE("a transaction destroyed while open is rolled back and releases the connection") {
  test::database t("CREATE TABLE t(x)");
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    {
      auto tx = co_await db.async_begin();
      co_await tx.async_execute("INSERT INTO t VALUES (1)");
      CHECK(tx.is_active());
    }  // no commit: the destructor queues a ROLLBACK and returns at once
    const auto awaited_count5 = co_await count(db);
    CHECK(awaited_count5 == 0);
    const bool awaited_autocommit2 = co_await autocommit(db);
    CHECK(awaited_autocommit2);
  });
}

TEST_CASE("commit and rollback end the transaction, ending twice or using it after is defined") {
  test::database t("CREATE TABLE t(x)");
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto tx = co_await db.async_begin();
    co_await tx.async_execute("INSERT INTO t VALUES (1)");
    co_await tx.async_commit();
    CHECK_FALSE(tx.is_active());

    auto [ec1] = co_await tx.async_commit(tuple_token);
    CHECK(ec1 == asiolite::errc::transaction_ended);
    auto [ec2] = co_await tx.async_rollback(tuple_token);  // nothing to undo: succeeds
    CHECK_FALSE(ec2);
    auto [ec3, r] = co_await tx.async_execute("INSERT INTO t VALUES (2)", tuple_token);
    CHECK(ec3 == asiolite::errc::transaction_ended);

    auto tx2 = co_await db.async_begin();
    co_await tx2.async_execute("INSERT INTO t VALUES (3)");
    co_await tx2.async_rollback();
    auto [ec4] = co_await tx2.async_commit(tuple_token);
    CHECK(ec4 == asiolite::errc::transaction_ended);
    auto [ec5] = co_await tx2.async_rollback(tuple_token);
    CHECK_FALSE(ec5);

    const auto awaited_count6 = co_await count(db);
    CHECK(awaited_count6 == 1);

    asiolite::transaction empty;
    auto [ec6] = co_await empty.async_commit(tuple_token);
    CHECK(ec6 == asiolite::errc::closed);
  });
}

TEST_CASE("a transaction may be committed by another coroutine than the one that began it") {
  test::database t("CREATE TABLE t(x)");
  asiolite::transaction handed_over;
  bool committed = false;
  asio::steady_timer ready(t.ctx, asio::steady_timer::time_point::max());
  asio::co_spawn(
      t.ctx,
      [&]() -> asio::awaitable<void> {
        handed_over = co_await t.db.async_begin();
        co_await handed_over.async_execute("INSERT INTO t VALUES (7)");
        ready.cancel();
      },
      asio::detached);
  asio::co_spawn(
      t.ctx,
      [&]() -> asio::awaitable<void> {
        co_await ready.async_wait(tuple_token);
        co_await handed_over.async_commit();
        committed = true;
      },
      asio::detached);
  t.ctx.run();
  t.ctx.restart();
  CHECK(committed);
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto awaited_count7 = co_await count(db);
    CHECK(awaited_count7 == 1);
  });
}

TEST_CASE("when SQLite rolls a transaction back by itself, the transaction says so and refuses statements") {
  test::database t("CREATE TABLE t(x INTEGER PRIMARY KEY)");
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto tx = co_await db.async_begin();
    co_await tx.async_execute("INSERT INTO t VALUES (1)");
    asiolite::diagnostics diag;
    // OR ROLLBACK: a constraint violation rolls back the whole transaction.
    auto [ec, r] = co_await tx.async_execute("INSERT OR ROLLBACK INTO t VALUES (1)", diag, tuple_token);
    CHECK(ec == asiolite::errc::constraint);
    CHECK(diag.message().find("rolled the transaction back") != std::string::npos);
    CHECK_FALSE(tx.is_active());

    // Nothing runs outside the transaction in its name.
    auto [ec2, r2] = co_await tx.async_execute("INSERT INTO t VALUES (2)", tuple_token);
    CHECK(ec2 == asiolite::errc::transaction_ended);
    auto [ec3] = co_await tx.async_commit(tuple_token);
    CHECK(ec3 == asiolite::errc::transaction_ended);

    const auto awaited_count8 = co_await count(db);
    CHECK(awaited_count8 == 0);
    const bool awaited_autocommit3 = co_await autocommit(db);
    CHECK(awaited_autocommit3);
  });
}

TEST_CASE("begin from another coroutine waits for the open transaction, from the same one it would wait forever") {
  test::database t("CREATE TABLE t(x)");
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto tx = co_await db.async_begin();
    // Awaiting a second begin here would never end: show it with a timeout. The queued
    // BEGIN is removed when the timer wins, so nothing is left behind.
    asio::steady_timer timer(co_await asio::this_coro::executor, 20ms);
    auto winner = co_await (db.async_begin() || timer.async_wait(asio::use_awaitable));
    CHECK(winner.index() == 1);
    co_await tx.async_execute("INSERT INTO t VALUES (1)");
    co_await tx.async_commit();

    auto tx2 = co_await db.async_begin();  // free again
    co_await tx2.async_commit();
    const auto awaited_count9 = co_await count(db);
    CHECK(awaited_count9 == 1);
  });

  // Another coroutine's begin simply waits its turn.
  test::database u("CREATE TABLE t(x)");
  std::vector<int> order;
  asio::co_spawn(
      u.ctx,
      [&]() -> asio::awaitable<void> {
        auto tx = co_await u.db.async_begin();
        order.push_back(1);
        co_await sleep_for(3ms);
        order.push_back(2);
        co_await tx.async_commit();
      },
      asio::detached);
  asio::co_spawn(
      u.ctx,
      [&]() -> asio::awaitable<void> {
        co_await sleep_for(1ms);
        auto tx = co_await u.db.async_begin();
        order.push_back(3);
        co_await tx.async_commit();
      },
      asio::detached);
  u.ctx.run();
  u.ctx.restart();
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("a begin cancelled while queued never runs, one cancelled after it ran leaves nothing open") {
  test::database t("CREATE TABLE t(x)");
  // Queued: the worker is held, so the BEGIN cannot have run when it is cancelled.
  {
    test::worker_gate gate;
    gate.hold(t.db);
    asio::cancellation_signal cancel;
    asiolite::error_code got;
    bool had_tx = true;
    t.db.async_begin(asio::bind_cancellation_slot(cancel.slot(), [&](asiolite::error_code ec, asiolite::transaction tx) {
      got = ec;
      had_tx = tx.is_active();
    }));
    cancel.emit(asio::cancellation_type::terminal);
    gate.release();
    t.ctx.run();
    t.ctx.restart();
    CHECK(got == asio::error::operation_aborted);
    CHECK_FALSE(had_tx);
  }
  // Racing: a BEGIN against timers of assorted lengths. Whichever wins, afterwards no
  // transaction is open and the connection serves other requests.
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    std::mt19937 rng(42);
    int begun = 0, cancelled = 0;
    for (int i = 0; i < 200; ++i) {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::microseconds(rng() % 300));
      {
        auto r = co_await (db.async_begin() || timer.async_wait(asio::use_awaitable));
        (r.index() == 0 ? begun : cancelled)++;
      }  // a transaction that won is dropped here: it rolls back
      co_await db.async_execute("INSERT INTO t VALUES (?)", i);
      const bool awaited_autocommit4 = co_await autocommit(db);
      CHECK(awaited_autocommit4);
    }
    CHECK(begun + cancelled == 200);
    const auto awaited_count10 = co_await count(db);
    CHECK(awaited_count10 == 200);
  });
}

TEST_CASE("a commit cancelled while queued leaves the transaction open, a started commit completes") {
  test::database t("CREATE TABLE t(x)");
  auto tx = test::begin_with_row(t.ctx, t.db);

  test::worker_gate gate;
  gate.hold(tx);
  asio::cancellation_signal cancel;
  asiolite::error_code got;
  tx.async_commit(asio::bind_cancellation_slot(cancel.slot(), [&](asiolite::error_code ec) { got = ec; }));
  cancel.emit(asio::cancellation_type::terminal);
  gate.release();
  t.ctx.run();
  t.ctx.restart();
  CHECK(got == asio::error::operation_aborted);
  CHECK(tx.is_active());

  // A commit that has started ignores the cancellation and commits.
  got = asiolite::make_error_code(asiolite::errc::error);
  tx.async_commit(asio::bind_cancellation_slot(cancel.slot(), [&](asiolite::error_code ec) { got = ec; }));
  cancel.emit(asio::cancellation_type::terminal);  // it may be queued or running: both end well
  t.ctx.run();
  t.ctx.restart();
  if (got) {
    CHECK(got == asio::error::operation_aborted);
    CHECK(tx.is_active());
    test::run(t.ctx,
              [](asiolite::transaction& open_tx) -> asio::awaitable<void> { co_await open_tx.async_commit(); }(tx));
  }
  CHECK_FALSE(tx.is_active());
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto awaited_count11 = co_await count(db);
    CHECK(awaited_count11 == 1);
  });
}

TEST_CASE("close waits for an open transaction, what it committed is kept") {
  test::database t("CREATE TABLE t(x)");
  std::vector<std::string> events;
  asio::co_spawn(
      t.ctx,
      [&]() -> asio::awaitable<void> {
        auto tx = co_await t.db.async_begin();
        co_await tx.async_execute("INSERT INTO t VALUES (1)");
        co_await sleep_for(3ms);
        events.push_back("commit");
        co_await tx.async_commit();
      },
      asio::detached);
  asio::co_spawn(
      t.ctx,
      [&]() -> asio::awaitable<void> {
        co_await sleep_for(1ms);
        co_await t.db.async_close();
        events.push_back("closed");
      },
      asio::detached);
  t.ctx.run();
  t.ctx.restart();
  CHECK(events == std::vector<std::string>{"commit", "closed"});

  auto db = test::open(t.ctx, t.dir.db());
  CHECK(test::run(t.ctx, count(db)) == 1);
}

TEST_CASE("a connection destroyed with a transaction open closes once the transaction is rolled back") {
  test::temp_dir dir;
  asio::io_context ctx;
  {
    auto db = test::open(ctx, dir.db());
    test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
      co_await conn.async_execute("CREATE TABLE t(x)");
      co_await conn.async_execute("INSERT INTO t VALUES (0)");
    }(db));
    auto tx = test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<asiolite::transaction> {
      auto begun = co_await conn.async_begin();
      co_await begun.async_execute("INSERT INTO t VALUES (1)");
      co_return begun;
    }(db));
    db = asiolite::connection();  // the close queues behind the transaction
    test::run(ctx, [](asiolite::transaction& open_tx) -> asio::awaitable<void> {
      co_await open_tx.async_execute("INSERT INTO t VALUES (2)");  // still usable: it holds the connection
    }(tx));
  }  // tx rolls back here; then the connection closes
  auto db = test::open(ctx, dir.db());
  CHECK(test::run(ctx, count(db)) == 1);
}

TEST_CASE("begin modes: immediate takes the write lock at once, deferred on the first write") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options no_wait;
  no_wait.busy_timeout = 0ms;
  auto first = test::open(ctx, dir.db(), no_wait);
  auto second = test::open(ctx, dir.db(), no_wait);
  test::run(ctx, [](asiolite::connection& a, asiolite::connection& b) -> asio::awaitable<void> {
    co_await a.async_execute("CREATE TABLE t(x)");
    {
      auto tx = co_await a.async_begin(asiolite::begin_mode::deferred);
      auto [ec, other] = co_await b.async_begin(asiolite::begin_mode::immediate, tuple_token);
      CHECK_FALSE(ec);  // deferred took no lock yet
      co_await other.async_rollback();
    }
    {
      auto tx = co_await a.async_begin();  // immediate
      auto [ec, other] = co_await b.async_begin(asiolite::begin_mode::immediate, tuple_token);
      CHECK(ec == asiolite::errc::busy);
      CHECK_FALSE(other.is_active());
      co_await tx.async_commit();
    }
    {
      auto tx = co_await a.async_begin(asiolite::begin_mode::exclusive);
      auto [ec, n] = co_await b.async_query_scalar<int>("SELECT count(*) FROM t", tuple_token);
      CHECK_FALSE(ec);  // in WAL mode, readers go on even beside an exclusive writer
      co_await tx.async_commit();
    }
  }(first, second));
}

TEST_CASE("savepoints: release keeps, rollback undoes, an open one is undone when destroyed") {
  test::database t("CREATE TABLE t(x)");
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto tx = co_await db.async_begin();
    co_await tx.async_execute("INSERT INTO t VALUES (1)");
    {
      auto sp = co_await tx.async_savepoint();
      co_await tx.async_execute("INSERT INTO t VALUES (2)");
      co_await sp.async_release();
      CHECK_FALSE(sp.is_active());
    }
    {
      auto sp = co_await tx.async_savepoint();
      co_await tx.async_execute("INSERT INTO t VALUES (3)");
      {
        auto inner = co_await tx.async_savepoint();
        co_await tx.async_execute("INSERT INTO t VALUES (4)");
      }  // destroyed open: 4 is undone
      co_await tx.async_execute("INSERT INTO t VALUES (5)");
      co_await sp.async_rollback();  // undoes 3 and 5
      CHECK_FALSE(sp.is_active());
    }
    {
      auto sp = co_await tx.async_savepoint();
      co_await tx.async_execute("INSERT INTO t VALUES (6)");
      CHECK(sp.is_active());
    }  // destroyed open: 6 is undone
    CHECK(tx.is_active());
    co_await tx.async_commit();
    auto xs = co_await db.async_query<int>("SELECT x FROM t ORDER BY x");
    CHECK(xs == std::vector<int>{1, 2});
  });
}

TEST_CASE("a savepoint ends with its transaction") {
  test::database t("CREATE TABLE t(x)");
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto tx = co_await db.async_begin();
    auto sp = co_await tx.async_savepoint();
    co_await tx.async_execute("INSERT INTO t VALUES (1)");
    co_await tx.async_commit();
    CHECK_FALSE(sp.is_active());
    auto [ec] = co_await sp.async_rollback(tuple_token);
    CHECK(ec == asiolite::errc::transaction_ended);
    const auto awaited_count12 = co_await count(db);
    CHECK(awaited_count12 == 1);
  });
}

TEST_CASE("async_transaction commits when the body returns and rolls back when it throws") {
  test::database t("CREATE TABLE t(x)");
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto n = co_await db.async_transaction([](asiolite::transaction& tx) -> asio::awaitable<std::int64_t> {
      auto r = co_await tx.async_execute("INSERT INTO t VALUES (1)");
      co_return r.last_insert_rowid;
    });
    CHECK(n == 1);

    bool caught = false;
    try {
      co_await db.async_transaction([](asiolite::transaction& tx) -> asio::awaitable<void> {
        co_await tx.async_execute("INSERT INTO t VALUES (2)");
        throw std::runtime_error("changed my mind");
      });
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "changed my mind";
    }
    CHECK(caught);
    const auto awaited_count13 = co_await count(db);
    CHECK(awaited_count13 == 1);
    const bool awaited_autocommit5 = co_await autocommit(db);
    CHECK(awaited_autocommit5);
  });
}

TEST_CASE("async_transaction runs the body again when SQLite reports busy, up to max_attempts") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options no_wait;
  no_wait.busy_timeout = 0ms;
  auto first = test::open(ctx, dir.db(), no_wait);
  auto second = test::open(ctx, dir.db(), no_wait);
  test::run(ctx, [](asiolite::connection& a, asiolite::connection& b) -> asio::awaitable<void> {
    co_await a.async_execute("CREATE TABLE t(x)");

    // b holds the write lock for a while; a's body, deferred, reads then writes: busy
    // until b commits, then succeeds.
    auto blocker = co_await b.async_begin();
    co_await blocker.async_execute("INSERT INTO t VALUES (0)");
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&blocker]() -> asio::awaitable<void> {
          co_await sleep_for(30ms);
          co_await blocker.async_commit();
        },
        asio::detached);

    int attempts = 0;
    asiolite::transaction_options opts;
    opts.mode = asiolite::begin_mode::deferred;
    opts.max_attempts = 50;
    opts.first_backoff = 2ms;
    opts.max_backoff = 10ms;
    co_await a.async_transaction(
        [&attempts](asiolite::transaction& tx) -> asio::awaitable<void> {
          ++attempts;
          co_await tx.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
          co_await tx.async_execute("INSERT INTO t VALUES (1)");
        },
        opts);
    CHECK(attempts > 1);
    const auto awaited_count14 = co_await count(a);
    CHECK(awaited_count14 == 2);

    // When the lock never comes free, the last busy error propagates.
    auto holder = co_await b.async_begin();
    opts.max_attempts = 3;
    attempts = 0;
    bool busy = false;
    try {
      co_await a.async_transaction(
          [&attempts](asiolite::transaction& tx) -> asio::awaitable<void> {
            ++attempts;
            co_await tx.async_execute("INSERT INTO t VALUES (9)");
          },
          opts);
    } catch (const asiolite::sqlite_error& e) {
      busy = e.code() == asiolite::errc::busy;
    }
    CHECK(busy);
    CHECK(attempts == 3);
    co_await holder.async_rollback();
  }(first, second));
}

TEST_CASE("async_call_in_transaction runs a whole transaction in one request") {
  test::database t("CREATE TABLE t(x)");
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto sum = co_await db.async_call_in_transaction([](asiolite::sync_handle& h) {
      for (int i = 1; i <= 100; ++i) h.execute("INSERT INTO t VALUES (?)", i);
      return h.query_scalar<std::int64_t>("SELECT sum(x) FROM t");
    });
    CHECK(sum == 5050);

    bool caught = false;
    try {
      co_await db.async_call_in_transaction([](asiolite::sync_handle& h) {
        h.execute("INSERT INTO t VALUES (1000)");
        throw std::logic_error("undo it");
      });
    } catch (const std::logic_error&) {
      caught = true;
    }
    CHECK(caught);
    const auto awaited_count15 = co_await count(db);
    CHECK(awaited_count15 == 100);
    const bool awaited_autocommit6 = co_await autocommit(db);
    CHECK(awaited_autocommit6);
  });
}

TEST_CASE("transaction::async_call runs its function on the worker inside the transaction, rolled back with it") {
  std::thread::id worker;
  asiolite::options opts;
  opts.on_open = [&worker](asiolite::sync_handle&) { worker = std::this_thread::get_id(); };
  test::database t("CREATE TABLE t(x)", opts);
  REQUIRE(worker != std::thread::id());
  t.run([worker](asiolite::connection& db) -> asio::awaitable<void> {
    struct seen {
      bool in_transaction = false, on_worker = false;
      std::int64_t rows = 0;
    };
    auto tx = co_await db.async_begin();
    co_await tx.async_execute("INSERT INTO t VALUES (1)");
    const seen s = co_await tx.async_call([worker](asiolite::sync_handle& h) {
      h.execute("INSERT INTO t VALUES (2)");
      seen r;
      r.in_transaction = sqlite3_get_autocommit(h.native_handle()) == 0;
      r.on_worker = std::this_thread::get_id() == worker;
      r.rows = h.query_scalar<std::int64_t>("SELECT count(*) FROM t");  // sees the transaction's own row
      return r;
    });
    CHECK(s.in_transaction);
    CHECK(s.on_worker);
    CHECK(s.rows == 2);
    CHECK(tx.is_active());
    co_await tx.async_rollback();  // undoes what the function wrote too
    const auto after_rollback = co_await count(db);
    CHECK(after_rollback == 0);

    auto tx2 = co_await db.async_begin();
    co_await tx2.async_call([](asiolite::sync_handle& h) { h.execute("INSERT INTO t VALUES (3)"); });
    co_await tx2.async_commit();
    const auto kept = co_await db.async_query<int>("SELECT x FROM t");
    CHECK(kept == std::vector<int>{3});
  });
}

TEST_CASE("transaction::async_execute_script runs inside the transaction and is rolled back with it") {
  test::database t("CREATE TABLE t(x INTEGER PRIMARY KEY)");
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto tx = co_await db.async_begin();
    co_await tx.async_execute_script(
        "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); CREATE TABLE u(y); INSERT INTO u VALUES (3)");
    const auto inside = co_await tx.async_query<int>("SELECT x FROM t ORDER BY x");
    CHECK(inside == std::vector<int>{1, 2});

    // A script stops at its first failure; the statements before it stay in the transaction.
    asiolite::diagnostics diag;
    auto [ec] = co_await tx.async_execute_script(
        "INSERT INTO t VALUES (4); INSERT INTO t VALUES (1); INSERT INTO t VALUES (5)", diag, tuple_token);
    CHECK(ec == asiolite::errc::constraint);
    CHECK(tx.is_active());
    const auto after_failure = co_await tx.async_query<int>("SELECT x FROM t ORDER BY x");
    CHECK(after_failure == std::vector<int>{1, 2, 4});

    co_await tx.async_rollback();
    const auto rows = co_await count(db);
    CHECK(rows == 0);
    const auto tables = co_await count(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'u'");
    CHECK(tables == 0);

    auto tx2 = co_await db.async_begin();
    co_await tx2.async_execute_script("INSERT INTO t VALUES (6); INSERT INTO t VALUES (7)");
    co_await tx2.async_commit();
    const auto kept = co_await db.async_query<int>("SELECT x FROM t ORDER BY x");
    CHECK(kept == std::vector<int>{6, 7});
  });
}

namespace {

// Ends savepoint `sp` of `tx` with `end` (release or rollback), queued behind a request
// that holds the worker inside the transaction, and cancels it there with `type`.
template <class End>
asio::awaitable<asiolite::error_code> cancel_queued(asiolite::transaction& tx, asio::cancellation_type type, End end) {
  test::worker_gate gate;
  gate.hold(tx);
  asio::cancellation_signal cancel;
  asio::post(co_await asio::this_coro::executor, [&cancel, &gate, type] {  // once the end is queued
    cancel.emit(type);
    gate.release();
  });
  auto [ec] = co_await end(asio::bind_cancellation_slot(cancel.slot(), tuple_token));
  co_return ec;
}

// A release cancelled while queued: the savepoint stays open, and rolling back to it
// undoes 2 and 3 (a release that ran would have kept 2, and left nothing to roll back to).
asio::awaitable<void> cancelled_release(asiolite::transaction& tx, asio::cancellation_type type) {
  auto sp = co_await tx.async_savepoint();
  co_await tx.async_execute("INSERT INTO t VALUES (2)");
  const auto ec = co_await cancel_queued(tx, type, [&sp](auto token) { return sp.async_release(token); });
  CHECK(ec == asio::error::operation_aborted);
  CHECK(sp.is_active());
  CHECK(tx.is_active());
  co_await tx.async_execute("INSERT INTO t VALUES (3)");
  co_await sp.async_rollback();
  const auto rows = co_await tx.async_query<int>("SELECT x FROM t ORDER BY x");
  CHECK(rows == std::vector<int>{1});
}

// A rollback cancelled while queued: the savepoint stays open with its rows, and a
// release keeps them.
asio::awaitable<void> cancelled_rollback(asiolite::transaction& tx, asio::cancellation_type type) {
  auto sp = co_await tx.async_savepoint();
  co_await tx.async_execute("INSERT INTO t VALUES (4)");
  const auto ec = co_await cancel_queued(tx, type, [&sp](auto token) { return sp.async_rollback(token); });
  CHECK(ec == asio::error::operation_aborted);
  CHECK(sp.is_active());
  CHECK(tx.is_active());
  const auto rows = co_await tx.async_query<int>("SELECT x FROM t ORDER BY x");
  CHECK(rows == std::vector<int>{1, 4});
  co_await tx.async_execute("INSERT INTO t VALUES (5)");
  co_await sp.async_release();
}

asio::awaitable<void> cancel_queued_savepoint_ends(asiolite::connection& db, asio::cancellation_type type) {
  auto tx = co_await db.async_begin();
  co_await tx.async_execute("INSERT INTO t VALUES (1)");
  co_await cancelled_release(tx, type);
  co_await cancelled_rollback(tx, type);
  co_await tx.async_commit();
  const auto committed = co_await db.async_query<int>("SELECT x FROM t ORDER BY x");
  CHECK(committed == std::vector<int>{1, 4, 5});
  const bool no_transaction_left = co_await autocommit(db);
  CHECK(no_transaction_left);
}

}  // namespace

TEST_CASE("a savepoint's release or rollback cancelled while queued never runs, the savepoint and transaction go on") {
  const std::pair<asio::cancellation_type, const char*> types[] = {{asio::cancellation_type::terminal, "terminal"},
                                                                   {asio::cancellation_type::partial, "partial"},
                                                                   {asio::cancellation_type::total, "total"}};
  for (const auto& kind : types) {
    INFO("cancellation type: " << kind.second);
    const asio::cancellation_type type = kind.first;
    test::database t("CREATE TABLE t(x)");
    t.run([type](asiolite::connection& db) { return cancel_queued_savepoint_ends(db, type); });
  }
}

TEST_CASE(
    "a transaction from a failed begin completes a callback's requests with closed on the connection's executor") {
  // transaction.hpp: "An empty handle (moved from, or from a failed begin): every request
  // fails with errc::closed"; a handler without an executor of its own runs on the
  // connection's.
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options no_wait;
  no_wait.busy_timeout = 0ms;
  auto a = test::open(ctx, dir.db(), no_wait);
  auto b = test::open(ctx, dir.db(), no_wait);
  auto held = test::run(ctx, [](asiolite::connection& db) -> asio::awaitable<asiolite::transaction> {
    co_await db.async_execute("CREATE TABLE t(x)");
    co_return co_await db.async_begin();
  }(a));
  auto failed = test::run(ctx, [](asiolite::connection& db) -> asio::awaitable<asiolite::transaction> {
    auto [ec, tx] = co_await db.async_begin(tuple_token);
    CHECK(ec == asiolite::errc::busy);
    co_return std::move(tx);
  }(b));
  CHECK_FALSE(failed.is_active());

  std::optional<asiolite::error_code> got;
  std::string thrown;
  try {
    failed.async_commit([&got](asiolite::error_code ec) { got = ec; });
  } catch (const std::exception& e) {
    thrown = e.what();  // e.g. asio's "bad executor": there was no executor to complete on
  }
  ctx.run();
  ctx.restart();
  CHECK(thrown.empty());
  CHECK(got == asiolite::errc::closed);
  test::run(ctx, [](asiolite::transaction& tx) -> asio::awaitable<void> { co_await tx.async_rollback(); }(held));
}

TEST_CASE("a moved-from transaction or savepoint keeps its executor and fails its requests with closed") {
  test::database fx("CREATE TABLE t(x INTEGER)");
  const auto ex = fx.ctx.get_executor();
  fx.run([&](asiolite::connection& db) -> asio::awaitable<void> {
    auto tx = co_await db.async_begin();
    auto sp = co_await tx.async_savepoint();
    asiolite::savepoint sp2 = std::move(sp);
    CHECK(sp.get_executor() == ex);
    auto [e1] = co_await sp.async_release(tuple_token);
    CHECK(e1 == asiolite::errc::closed);
    co_await sp2.async_release();

    asiolite::transaction tx2 = std::move(tx);
    CHECK(tx.get_executor() == ex);
    auto [e2, r2] = co_await tx.async_execute("INSERT INTO t VALUES (1)", tuple_token);
    CHECK(e2 == asiolite::errc::closed);
    co_await tx2.async_commit();
    const auto awaited = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited == 0);
  });
}
