// prepared_statement.hpp: a statement prepared once on the worker and run many times.
// Catch2's macros are not thread-safe: checks run on the test's thread only. (And never
// around a co_await: g++ 12 evaluates a co_await inside a Catch assertion more than once.)
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

namespace {

struct person {
  std::int64_t id;
  std::string name;
};

// How many statements the connection has (prepared, not yet finalized).
asio::awaitable<int> statements_of(asiolite::connection& db) {
  co_return co_await db.async_call([](asiolite::sync_handle& h) {
    int n = 0;
    for (sqlite3_stmt* s = sqlite3_next_stmt(h.native_handle(), nullptr); s;
         s = sqlite3_next_stmt(h.native_handle(), s))
      ++n;
    return n;
  });
}

}  // namespace

TEST_CASE("a prepared statement runs many times with new arguments, in every statement form") {
  test::database fx("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto insert = co_await db.async_prepare("INSERT INTO t(id, name) VALUES (?, ?)");
    CHECK(insert.sql() == "INSERT INTO t(id, name) VALUES (?, ?)");
    int rowids_ok = 0;
    for (int i = 1; i <= 50; ++i) {
      auto r = co_await insert.async_execute(i, "n" + std::to_string(i));
      if (r.changes == 1 && r.last_insert_rowid == i && r.total_changes == i) ++rowids_ok;
    }
    CHECK(rowids_ok == 50);

    auto select = co_await db.async_prepare("SELECT id, name FROM t WHERE id <= ? ORDER BY id");
    auto people = co_await select.async_query<person>(3);
    CHECK(people.size() == 3);
    CHECK(people.at(2).name == "n3");
    auto rows = co_await select.async_query(2);
    CHECK(rows.size() == 2);
    CHECK(rows[1].get<std::string>("name") == "n2");

    auto one = co_await db.async_prepare("SELECT id, name FROM t WHERE id = ?");
    auto found = co_await one.async_query_one<person>(7);
    auto missing = co_await one.async_query_one<person>(700);
    CHECK(found->name == "n7");
    CHECK(!missing);

    auto count = co_await db.async_prepare("SELECT count(*) FROM t WHERE id > :min");
    auto above = co_await count.async_query_scalar<std::int64_t>(asiolite::named("min", 40));
    CHECK(above == 10);

    const std::vector<std::tuple<int, std::string>> more{{51, "a"}, {52, "b"}};
    auto many = co_await insert.async_execute_many(more);
    CHECK(many.changes == 2);
    CHECK(many.last_insert_rowid == 52);
  });
}

TEST_CASE("a failed run leaves the prepared statement usable") {
  test::database fx("CREATE TABLE t(id INTEGER PRIMARY KEY)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto insert = co_await db.async_prepare("INSERT INTO t(id) VALUES (?)");
    co_await insert.async_execute(1);
    asiolite::diagnostics diag;
    auto [duplicate, r1] = co_await insert.async_execute(1, diag, asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(duplicate == asiolite::errc::constraint);
    CHECK(diag.message() == "UNIQUE constraint failed: t.id");
    CHECK(diag.sql() == "INSERT INTO t(id) VALUES (?)");
    auto [arity, r2] = co_await insert.async_execute(1, 2, asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(arity == asiolite::errc::parameter_count);
    std::string what;
    try {
      co_await insert.async_execute(1);
    } catch (const asiolite::sqlite_error& e) {
      what = e.what();
    }
    CHECK(what == "UNIQUE constraint failed: t.id (while running: INSERT INTO t(id) VALUES (?))");
    auto ok = co_await insert.async_execute(2);
    CHECK(ok.changes == 1);
  });
}

TEST_CASE("async_prepare rejects SQL that is not exactly one valid statement") {
  test::database fx("CREATE TABLE t(x)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto as_tuple = asiolite::compat::as_tuple(asio::use_awaitable);
    auto [syntax, s1] = co_await db.async_prepare("SELEC x FROM t", as_tuple);
    CHECK(syntax == asiolite::errc::error);
    auto [two, s2] = co_await db.async_prepare("SELECT 1; SELECT 2", as_tuple);
    CHECK(two == asiolite::errc::multiple_statements);
    auto [empty, s3] = co_await db.async_prepare("  -- nothing", as_tuple);
    CHECK(empty == asiolite::errc::empty_statement);
    // What a failed prepare delivers is an empty handle.
    auto [closed, r] = co_await s1.async_execute(as_tuple);
    CHECK(closed == asiolite::errc::closed);
  });
}

TEST_CASE("destroying a prepared statement finalizes it on the worker") {
  test::database fx("CREATE TABLE t(x)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const int before = co_await statements_of(db);
    std::optional<asiolite::prepared_statement> st(co_await db.async_prepare("SELECT x FROM t WHERE x = ?"));
    const int held = co_await statements_of(db);
    CHECK(held == before + 1);
    // Its own statement: the same SQL through the connection prepares (and caches) another.
    co_await db.async_query("SELECT x FROM t WHERE x = ?", 1);
    const int with_cached = co_await statements_of(db);
    CHECK(with_cached == before + 2);
    st.reset();  // queues the finalization; FIFO: it runs before the next request
    const int after = co_await statements_of(db);
    CHECK(after == before + 1);

    // Moving assigns away the old statement too.
    auto a = co_await db.async_prepare("SELECT 1");
    auto b = co_await db.async_prepare("SELECT 2");
    a = std::move(b);
    const int one_left = co_await statements_of(db);
    CHECK(one_left == before + 2);
    auto two = co_await a.async_query_scalar<int>();
    CHECK(two == 2);
  });
}

TEST_CASE("a prepared statement used after its connection closed fails with errc::closed") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn, std::string path) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t(x)");
    auto insert = co_await conn.async_prepare("INSERT INTO t VALUES (?)");
    co_await insert.async_execute(1);
    co_await conn.async_close();

    auto as_tuple = asiolite::compat::as_tuple(asio::use_awaitable);
    auto [after_close, r1] = co_await insert.async_execute(2, as_tuple);
    CHECK(after_close == asiolite::errc::closed);

    // Opened again, the connection has a new database handle: the statement is gone for good.
    co_await conn.async_open(path);
    asiolite::diagnostics diag;
    auto [after_reopen, r2] = co_await insert.async_execute(3, diag, as_tuple);
    CHECK(after_reopen == asiolite::errc::closed);
    CHECK(diag.message().find("cannot outlive its connection") != std::string::npos);
    auto count = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(count == 1);
    co_await conn.async_close();
  }(db, dir.db()));
}

TEST_CASE("empty prepared statements fail with errc::closed") {
  asio::io_context ctx;
  test::run(ctx, []() -> asio::awaitable<void> {
    asiolite::prepared_statement st;
    CHECK(st.sql().empty());
    auto [ec, r] = co_await st.async_execute(1, asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::closed);
  }());
}

TEST_CASE("a queued run of a prepared statement is removed by cancellation, the statement stays usable") {
  test::database fx("CREATE TABLE t(x)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto insert = co_await db.async_prepare("INSERT INTO t VALUES (?)");
    test::worker_block block;
    block.hold(db);
    asio::cancellation_signal cancel;
    // Cancel once the run is queued (behind the block), then let the worker go.
    asio::post(co_await asio::this_coro::executor, [&] {
      cancel.emit(asio::cancellation_type::terminal);
      block.release();
    });
    auto [ec, r] = co_await insert.async_execute(
        1, asio::bind_cancellation_slot(cancel.slot(), asiolite::compat::as_tuple(asio::use_awaitable)));
    CHECK(ec == asio::error::operation_aborted);
    auto again = co_await insert.async_execute(2);
    CHECK(again.changes == 1);
    auto values = co_await db.async_query<int>("SELECT x FROM t");
    CHECK(values == std::vector<int>{2});
  });
}

TEST_CASE("many coroutines on many threads share one prepared statement") {
  test::temp_dir dir;
  asio::io_context ctx(4);
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t(who INTEGER, n INTEGER)");
  }(db));
  auto insert = test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<asiolite::prepared_statement> {
    co_return co_await conn.async_prepare("INSERT INTO t VALUES (?, ?)");
  }(db));

  constexpr int coroutines = 8, runs = 50;
  std::atomic<int> ok{0}, failed{0};
  for (int c = 0; c < coroutines; ++c)
    asio::co_spawn(
        ctx,
        [](asiolite::prepared_statement& st, int who, std::atomic<int>& successes) -> asio::awaitable<void> {
          for (int i = 0; i < runs; ++i) {
            auto r = co_await st.async_execute(who, i);
            if (r.changes == 1) ++successes;
          }
        }(insert, c, ok),
        [&](std::exception_ptr e) {
          if (e) ++failed;
        });
  test::run_on_threads(ctx, 4);
  ctx.restart();
  CHECK(ok == coroutines * runs);
  CHECK(failed == 0);
  auto total = test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<std::int64_t> {
    co_return co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
  }(db));
  CHECK(total == coroutines * runs);
}

TEST_CASE("a statement prepared in a transaction runs inside it, and fails once it has ended") {
  test::database fx("CREATE TABLE t(x)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto as_tuple = asiolite::compat::as_tuple(asio::use_awaitable);
    auto tx = co_await db.async_begin();
    auto insert = co_await tx.async_prepare("INSERT INTO t VALUES (?)");
    bool outside_done = false;
    db.async_execute("INSERT INTO t VALUES (100)",
                     [&](asiolite::error_code, asiolite::execute_result) { outside_done = true; });
    co_await insert.async_execute(1);
    const std::vector<int> more{2, 3};
    auto many = co_await insert.async_execute_many(more);
    CHECK(many.changes == 2);
    auto inside = co_await tx.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(inside == 3);
    CHECK(!outside_done);  // the connection-level insert waits for the transaction
    co_await tx.async_rollback();

    asiolite::diagnostics diag;
    auto [ended, r] = co_await insert.async_execute(4, diag, as_tuple);
    CHECK(ended == asiolite::errc::transaction_ended);
    auto values = co_await db.async_query<int>("SELECT x FROM t");
    CHECK(outside_done);
    CHECK(values == std::vector<int>{100});  // the rollback undid the prepared statement's runs
  });
}

TEST_CASE("a prepared statement destroyed while a run is queued still runs it first") {
  test::database fx("CREATE TABLE t(x)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::error_code run_ec = make_error_code(asiolite::errc::closed);
    {
      auto insert = co_await db.async_prepare("INSERT INTO t VALUES (?)");
      insert.async_execute(7, [&](asiolite::error_code ec, asiolite::execute_result) { run_ec = ec; });
    }  // the finalization queues behind the run
    auto values = co_await db.async_query<int>("SELECT x FROM t");
    CHECK(!run_ec);
    CHECK(values == std::vector<int>{7});
  });
}
