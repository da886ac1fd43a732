// trace.hpp: each statement a connection (or every connection of a pool) runs, reported
// to an executor with its SQL, rows, changes and times (connection::async_trace,
// pool::async_trace); the threshold of a slow-query log.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using test::tuple_token;

/// One report, copied out of the handler's view.
struct seen_trace {
  std::string sql, expanded;
  asiolite::error_code error;
  std::uint64_t rows = 0;
  std::int64_t changes = 0;
  std::chrono::nanoseconds queued{0}, running{0};
  std::uint64_t lost = 0;
};

/// A handler that keeps every report (called on one thread at a time).
struct trace_recorder {
  std::shared_ptr<std::vector<seen_trace>> seen = std::make_shared<std::vector<seen_trace>>();

  void operator()(const asiolite::statement_trace& t) const {
    seen->push_back({std::string(t.sql), std::string(t.expanded_sql), t.error, t.rows, t.changes, t.queued, t.running,
                     t.events_lost});
  }

  /// The reports of statements whose SQL is `sql`.
  std::vector<seen_trace> of(std::string_view sql) const {
    std::vector<seen_trace> out;
    for (const auto& s : *seen)
      if (s.sql == sql) out.push_back(s);
    return out;
  }
};

/// nap(ms): sleeps, then returns ms. A statement that runs at least that long.
asio::awaitable<void> add_nap(asiolite::connection& db) {
  co_await db.async_create_function("nap", [](std::int64_t ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
  });
}

}  // namespace

TEST_CASE("trace: each statement is reported once with its SQL, rows, changes and error") {
  test::temp_dir dir;
  asio::io_context ctx;
  trace_recorder rec;
  test::run(ctx, [](std::string path, trace_recorder r) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    co_await db.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)");
    // Before the trace: not reported.
    co_await db.async_execute("INSERT INTO t VALUES (1, 'a')");
    auto sub = co_await db.async_trace(r);
    CHECK(sub.active());
    co_await db.async_execute("INSERT INTO t VALUES (2, 'b')");
    co_await db.async_execute("INSERT INTO t VALUES (3, 'c')");
    const auto all = co_await db.async_query("SELECT id FROM t ORDER BY id");
    CHECK(all.size() == 3);
    const auto first = co_await db.async_query_scalar<std::int64_t>("SELECT id FROM t ORDER BY id LIMIT 1");
    CHECK(first == 1);
    const auto updated = co_await db.async_execute("UPDATE t SET name = name || '!' WHERE id >= 2");
    CHECK(updated.changes == 2);
    auto [ec, res] = co_await db.async_execute("INSERT INTO t VALUES (4, 'a')", tuple_token);
    CHECK(ec);  // the name is taken
    co_await db.async_execute_script("DELETE FROM t WHERE id = 3; SELECT count(*) FROM t");
    co_await db.async_close();
    CHECK_FALSE(sub.active());
  }(dir.db(), rec));

  const auto& seen = *rec.seen;
  REQUIRE(seen.size() == 8);
  CHECK(seen[0].sql == "INSERT INTO t VALUES (2, 'b')");
  CHECK(seen[1].sql == "INSERT INTO t VALUES (3, 'c')");
  CHECK(seen[2].sql == "SELECT id FROM t ORDER BY id");
  CHECK(seen[3].sql == "SELECT id FROM t ORDER BY id LIMIT 1");
  CHECK(seen[4].sql == "UPDATE t SET name = name || '!' WHERE id >= 2");
  CHECK(seen[5].sql == "INSERT INTO t VALUES (4, 'a')");
  CHECK(seen[6].sql == "DELETE FROM t WHERE id = 3");
  CHECK(seen[7].sql == "SELECT count(*) FROM t");
  CHECK(seen[0].changes == 1);
  CHECK(seen[0].rows == 0);
  CHECK(seen[2].rows == 3);
  CHECK(seen[2].changes == 0);
  CHECK(seen[3].rows == 1);
  CHECK(seen[4].changes == 2);
  CHECK(seen[5].error == asiolite::errc::constraint);
  CHECK(seen[5].changes == 0);
  CHECK(seen[6].changes == 1);
  CHECK(seen[7].rows == 1);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    INFO(seen[i].sql);
    if (i != 5) CHECK_FALSE(seen[i].error);
    CHECK(seen[i].running > 0ns);
    CHECK(seen[i].queued >= 0ns);
    CHECK(seen[i].expanded.empty());
    CHECK(seen[i].lost == 0);
  }
}

TEST_CASE("trace: the threshold reports only the statements that ran that long, with their wait") {
  test::temp_dir dir;
  asio::io_context ctx;
  trace_recorder rec;
  test::run(ctx, [](std::string path, trace_recorder r) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    co_await add_nap(db);
    asiolite::trace_options slow;
    slow.threshold = 60ms;
    auto sub = co_await db.async_trace(r, slow);
    // Queued together: the second waits for the first, which runs at least 80 ms.
    db.async_query_scalar<std::int64_t>("SELECT nap(80)", [](asiolite::error_code, std::int64_t) {});
    const auto second = co_await db.async_query_scalar<std::int64_t>("SELECT nap(61)");
    CHECK(second == 61);
    for (int i = 0; i < 20; ++i) co_await db.async_query_scalar<std::int64_t>("SELECT ?", i);
    co_await db.async_close();
  }(dir.db(), rec));

  const auto& seen = *rec.seen;
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].sql == "SELECT nap(80)");
  CHECK(seen[0].running >= 80ms);
  CHECK(seen[0].rows == 1);
  CHECK(seen[1].sql == "SELECT nap(61)");
  CHECK(seen[1].running >= 61ms);
  // Submitted as the first began: it waited while the first ran (most of its 80 ms).
  CHECK(seen[1].queued >= 40ms);
}

TEST_CASE("trace: expanded SQL shows the bound values only to a subscriber that asks") {
  test::temp_dir dir;
  asio::io_context ctx;
  trace_recorder plain, full;
  test::run(ctx, [](std::string path, trace_recorder p, trace_recorder f) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    co_await db.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
    auto sub_plain = co_await db.async_trace(p);
    asiolite::trace_options expanded;
    expanded.expanded_sql = true;
    auto sub_full = co_await db.async_trace(f, expanded);
    co_await db.async_execute("INSERT INTO t VALUES (?, ?)", 7, std::string("it's"));
    co_await db.async_close();
  }(dir.db(), plain, full));

  REQUIRE(plain.seen->size() == 1);
  REQUIRE(full.seen->size() == 1);
  CHECK(plain.seen->at(0).sql == "INSERT INTO t VALUES (?, ?)");
  CHECK(plain.seen->at(0).expanded.empty());
  CHECK(full.seen->at(0).sql == "INSERT INTO t VALUES (?, ?)");
  CHECK(full.seen->at(0).expanded == "INSERT INTO t VALUES (7, 'it''s')");
}

TEST_CASE("trace: a cursor is one report with every row it returned, also when closed early") {
  test::temp_dir dir;
  asio::io_context ctx;
  trace_recorder rec;
  test::run(ctx, [](std::string path, trace_recorder r) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    co_await db.async_execute(
        "CREATE TABLE t AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
        "SELECT i FROM n");
    auto sub = co_await db.async_trace(r);
    asiolite::cursor_options small;
    small.batch_size = 64;
    {
      auto c = co_await db.async_cursor(small, "SELECT i FROM t");
      std::int64_t read = 0;
      for (;;) {
        auto batch = co_await c.async_next_batch();
        if (batch.empty()) break;
        read += static_cast<std::int64_t>(batch.size());
      }
      CHECK(read == 1000);
    }
    {
      auto c = co_await db.async_cursor(small, "SELECT i FROM t WHERE i > 0");
      auto batch = co_await c.async_next_batch();
      CHECK_FALSE(batch.empty());
    }  // destroyed: the statement is reset before its end
    co_await db.async_close();
  }(dir.db(), rec));

  const auto whole = rec.of("SELECT i FROM t");
  REQUIRE(whole.size() == 1);
  CHECK(whole[0].rows == 1000);
  CHECK_FALSE(whole[0].error);
  const auto early = rec.of("SELECT i FROM t WHERE i > 0");
  REQUIRE(early.size() == 1);
  // Closed after its first batch (and what the cursor fetched ahead): fewer than all.
  CHECK(early[0].rows >= 64);
  CHECK(early[0].rows < 1000);
  CHECK_FALSE(early[0].error);
}

TEST_CASE("trace: a cancelled or timed-out statement is reported with SQLite's interrupt") {
  test::temp_dir dir;
  asio::io_context ctx;
  trace_recorder rec;
  asiolite::options o;
  o.statement_timeout = 50ms;
  auto db = test::open(ctx, dir.db(), o);
  test::run(ctx, [](asiolite::connection& conn, trace_recorder r) -> asio::awaitable<void> {
    auto sub = co_await conn.async_trace(r);
    auto [ec, n] = co_await conn.async_query_scalar<std::int64_t>(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n", tuple_token);
    CHECK(ec == asio::error::timed_out);
    co_await conn.async_close();
  }(db, rec));
  REQUIRE(rec.seen->size() == 1);
  CHECK(rec.seen->at(0).error == asiolite::errc::interrupt);
  CHECK(rec.seen->at(0).running >= 40ms);  // the timeout counts from the request's start
}

TEST_CASE("trace: unsubscribe stops the reports, and bad options fail with invalid_option") {
  test::temp_dir dir;
  asio::io_context ctx;
  trace_recorder rec;
  test::run(ctx, [](std::string path, trace_recorder r) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    auto sub = co_await db.async_trace(r);
    co_await db.async_query_scalar<std::int64_t>("SELECT 1");
    // The report comes on its own way: no handler call starts after unsubscribe, so a
    // report still on its way would be dropped. Wait for it.
    for (int i = 0; i < 1000 && r.seen->empty(); ++i) co_await asio::post(asio::use_awaitable);
    sub.unsubscribe();
    CHECK_FALSE(sub.active());
    co_await db.async_query_scalar<std::int64_t>("SELECT 2");

    asiolite::trace_options none_pending;
    none_pending.max_pending = 0;
    asiolite::diagnostics diag;
    auto [ec, s] = co_await db.async_trace(r, none_pending, diag, tuple_token);
    CHECK(ec == asiolite::errc::invalid_option);
    CHECK(test::contains(diag.message(), "max_pending"));
    CHECK_FALSE(s.active());
    asiolite::trace_options backwards;
    backwards.threshold = -1ms;
    auto [ec2, s2] = co_await db.async_trace(r, backwards, tuple_token);
    CHECK(ec2 == asiolite::errc::invalid_option);
    // The connection goes on, untraced.
    co_await db.async_query_scalar<std::int64_t>("SELECT 3");
    co_await db.async_close();
  }(dir.db(), rec));
  REQUIRE(rec.seen->size() == 1);
  CHECK(rec.seen->at(0).sql == "SELECT 1");
}

TEST_CASE("trace: a handler that does not keep up loses reports, counted, and the worker never waits") {
  test::temp_dir dir;
  asio::io_context ctx;
  asio::io_context later;  // not run until the end: the handler is behind
  trace_recorder rec;
  asiolite::trace_options o;
  o.max_pending = 5;
  auto db = test::open(ctx, dir.db());
  auto sub = test::run(ctx,
                       [](asiolite::connection& conn, trace_recorder r, asiolite::trace_options opts,
                          asio::io_context& l) -> asio::awaitable<asiolite::subscription> {
                         auto s = co_await conn.async_trace(asio::bind_executor(l, r), opts);
                         for (int i = 0; i < 100; ++i) co_await conn.async_query_scalar<std::int64_t>("SELECT ?", i);
                         co_return s;
                       }(db, rec, o, later));
  CHECK(sub.events_lost() == 95);
  later.run();
  later.restart();
  REQUIRE(rec.seen->size() == 5);
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_query_scalar<std::string>("SELECT 'after'");
  }(db));
  later.run();
  REQUIRE(rec.seen->size() == 6);
  CHECK(rec.seen->at(5).sql == "SELECT 'after'");
  CHECK(rec.seen->at(5).lost == 95);
}

TEST_CASE("trace: statements of many coroutines on a four-thread io_context, reported on a strand") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, c INTEGER)");
  }(db));
  auto strand = asio::make_strand(ctx);
  trace_recorder rec;
  auto sub = test::run(ctx,
                       [](asiolite::connection& conn, trace_recorder r,
                          asio::strand<asio::io_context::executor_type> s) -> asio::awaitable<asiolite::subscription> {
                         co_return co_await conn.async_trace(asio::bind_executor(s, r));
                       }(db, rec, strand));
  constexpr int coroutines = 40, each = 50;
  for (int c = 0; c < coroutines; ++c) {
    asio::co_spawn(
        ctx,
        [](asiolite::connection& conn, int who) -> asio::awaitable<void> {
          for (int i = 0; i < each; ++i) {
            if (i % 2 == 0)
              co_await conn.async_execute("INSERT INTO t (c) VALUES (?)", who);
            else
              co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t WHERE c = ?", who);
          }
        }(db, c),
        asio::detached);
  }
  test::run_on_threads(ctx, 4);
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> { co_await conn.async_close(); }(db));
  const auto inserts = rec.of("INSERT INTO t (c) VALUES (?)");
  const auto counts = rec.of("SELECT count(*) FROM t WHERE c = ?");
  CHECK(inserts.size() == coroutines * each / 2);
  CHECK(counts.size() == coroutines * each / 2);
  CHECK(rec.seen->size() == coroutines * each);
  CHECK(std::all_of(inserts.begin(), inserts.end(), [](const seen_trace& t) { return t.changes == 1; }));
  CHECK(std::all_of(counts.begin(), counts.end(), [](const seen_trace& t) { return t.rows == 1; }));
  CHECK(sub.events_lost() == 0);
}

TEST_CASE("trace: a pool's trace reports the writer's and every reader's statements") {
  test::temp_dir dir;
  asio::io_context ctx;
  trace_recorder rec;
  test::run(ctx, [](std::string path, trace_recorder r) -> asio::awaitable<void> {
    auto p = co_await test::open_pool(path, 2);
    co_await p.writer().async_execute("CREATE TABLE t (x)");
    auto sub = co_await p.async_trace(r);
    CHECK(sub.active());
    co_await p.writer().async_execute("INSERT INTO t VALUES (1)");
    // Two read transactions hold both readers: one statement on each.
    auto r1 = co_await p.async_begin_read();
    auto r2 = co_await p.async_begin_read();
    co_await r1.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    co_await r2.async_query_scalar<std::int64_t>("SELECT count(*) + 0 FROM t");
    co_await r1.async_rollback();
    co_await r2.async_rollback();
    co_await p.async_close();
    CHECK_FALSE(sub.active());
    // A closed pool has nothing to trace.
    auto [ec, none] = co_await p.async_trace(r, tuple_token);
    CHECK(ec == asiolite::errc::closed);
  }(dir.db(), rec));
  CHECK(rec.of("INSERT INTO t VALUES (1)").size() == 1);
  CHECK(rec.of("SELECT count(*) FROM t").size() == 1);
  CHECK(rec.of("SELECT count(*) + 0 FROM t").size() == 1);
}

TEST_CASE("trace: subscribed from on_open, the statements of every later request are reported") {
  test::temp_dir dir;
  asio::io_context ctx;
  trace_recorder rec;
  auto kept = std::make_shared<asiolite::subscription>();
  asiolite::options o;
  o.on_open = [&ctx, rec, kept](asiolite::sync_handle& h) { *kept = h.trace(ctx.get_executor(), rec); };
  auto db = test::open(ctx, dir.db(), o);
  CHECK(kept->active());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_query_scalar<std::int64_t>("SELECT 42");
    co_await conn.async_close();
  }(db));
  CHECK(rec.of("SELECT 42").size() == 1);
  asiolite::trace_options bad;
  bad.max_pending = 0;
  asiolite::options o2;
  o2.on_open = [&ctx, rec, bad](asiolite::sync_handle& h) { (void)h.trace(ctx.get_executor(), rec, bad); };
  CHECK_THROWS_AS(test::open(ctx, dir.db(), o2), asiolite::sqlite_error);
}
