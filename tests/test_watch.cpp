// watch.hpp, subscription.hpp: each transaction's end and the rows it wrote, delivered to
// an executor (connection::async_watch_transactions); the commit filter on the worker.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using asiolite::change_kind;
using asiolite::transaction_outcome;
using test::tuple_token;

/// One delivered event, copied out of the handler's view.
struct seen_event {
  transaction_outcome outcome;
  std::vector<asiolite::change> changes;
  std::uint64_t not_kept = 0;
  std::uint64_t lost = 0;
};

/// A handler that keeps every event it is called with (on one thread at a time).
struct recorder {
  std::shared_ptr<std::vector<seen_event>> events = std::make_shared<std::vector<seen_event>>();

  void operator()(const asiolite::transaction_event& e) const {
    events->push_back({e.outcome, {e.changes.begin(), e.changes.end()}, e.changes_not_kept, e.events_lost});
  }
};

asio::awaitable<void> make_table(asiolite::connection& db) {
  co_await db.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)");
}

/// Subscribes `h` to db's transactions (blocking the test thread).
template <class Handler>
asiolite::subscription subscribe(asio::io_context& ctx, asiolite::connection& db, Handler h,
                                 asiolite::watch_options o = {}) {
  return test::run(ctx,
                   [](asiolite::connection& conn, Handler handler,
                      asiolite::watch_options opts) -> asio::awaitable<asiolite::subscription> {
                     co_return co_await conn.async_watch_transactions(std::move(handler), opts);
                   }(db, std::move(h), o));
}

bool is_change(const asiolite::change& c, change_kind kind, const char* table, std::int64_t rowid) {
  return c.kind == kind && c.database == "main" && c.table == table && c.rowid == rowid;
}

}  // namespace

TEST_CASE("watch: each committed transaction is one event with its rows in the order written") {
  test::temp_dir dir;
  asio::io_context ctx;
  recorder rec;
  test::run(ctx, [](std::string path, recorder r) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    co_await make_table(db);
    // Prepared (and cached) before the watch, truncating: prepared again once watched.
    co_await db.async_execute("DELETE FROM t");
    auto sub = co_await db.async_watch_transactions(r);
    CHECK(sub.active());
    co_await db.async_execute("INSERT INTO t VALUES (1, 'a')");
    {
      auto tx = co_await db.async_begin();
      co_await tx.async_execute("INSERT INTO t VALUES (2, 'b')");
      co_await tx.async_execute("UPDATE t SET name = 'c' WHERE id = 1");
      co_await tx.async_execute("DELETE FROM t WHERE id = 2");
      co_await tx.async_commit();
    }
    // Two autocommit statements in one request: two transactions, two events.
    co_await db.async_execute_script("INSERT INTO t VALUES (3, 'd'); INSERT INTO t VALUES (4, 'e')");
    // DDL alone changes no row, but it is a committed write transaction.
    co_await db.async_execute("CREATE TABLE u (x)");
    // A DELETE without WHERE, which SQLite would truncate unreported, reports each row.
    co_await db.async_execute("DELETE FROM t");
    // A read transaction does not commit a write: nothing.
    {
      auto tx = co_await db.async_begin(asiolite::begin_mode::deferred);
      const auto n = co_await tx.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
      CHECK(n == 0);
      co_await tx.async_commit();
    }
    co_await db.async_close();
    CHECK_FALSE(sub.active());
  }(dir.db(), rec));

  const auto& ev = *rec.events;
  REQUIRE(ev.size() == 6);
  for (const auto& e : ev) {
    CHECK(e.outcome == transaction_outcome::committed);
    CHECK(e.not_kept == 0);
    CHECK(e.lost == 0);
  }
  REQUIRE(ev[0].changes.size() == 1);
  CHECK(is_change(ev[0].changes[0], change_kind::inserted, "t", 1));
  REQUIRE(ev[1].changes.size() == 3);
  CHECK(is_change(ev[1].changes[0], change_kind::inserted, "t", 2));
  CHECK(is_change(ev[1].changes[1], change_kind::updated, "t", 1));
  CHECK(is_change(ev[1].changes[2], change_kind::deleted, "t", 2));
  REQUIRE(ev[2].changes.size() == 1);
  CHECK(is_change(ev[2].changes[0], change_kind::inserted, "t", 3));
  REQUIRE(ev[3].changes.size() == 1);
  CHECK(is_change(ev[3].changes[0], change_kind::inserted, "t", 4));
  CHECK(ev[4].changes.empty());
  REQUIRE(ev[5].changes.size() == 3);
  CHECK(is_change(ev[5].changes[0], change_kind::deleted, "t", 1));
  CHECK(is_change(ev[5].changes[1], change_kind::deleted, "t", 3));
  CHECK(is_change(ev[5].changes[2], change_kind::deleted, "t", 4));
}

TEST_CASE("watch: a rolled-back transaction is reported as rolled back with the rows it had written") {
  test::temp_dir dir;
  asio::io_context ctx;
  recorder rec;
  test::run(ctx, [](std::string path, recorder r) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    co_await make_table(db);
    co_await db.async_execute("INSERT INTO t VALUES (10, 'taken')");
    auto sub = co_await db.async_watch_transactions(r);
    {
      auto tx = co_await db.async_begin();
      co_await tx.async_execute("INSERT INTO t VALUES (1, 'a')");
      co_await tx.async_rollback();
    }
    {
      // Dropped without commit: rolled back.
      auto tx = co_await db.async_begin();
      co_await tx.async_execute("INSERT INTO t VALUES (2, 'b')");
    }
    // An autocommit statement that fails part way: SQLite reported the rows it wrote
    // before the failure, then rolled them back.
    auto [ec, res] = co_await db.async_execute(
        "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 3) "
        "INSERT INTO t SELECT v + 100, CASE v WHEN 3 THEN 'taken' ELSE 'n' || v END FROM s",
        tuple_token);
    CHECK(ec == asiolite::errc::constraint);
    // A ROLLBACK TO undoes a row SQLite has reported: it stays in the committed event.
    co_await db.async_execute_script(
        "BEGIN; INSERT INTO t VALUES (5, 'e'); SAVEPOINT s; INSERT INTO t VALUES (6, 'f'); ROLLBACK TO s; COMMIT");
    const auto rows = co_await test::count(db);
    CHECK(rows == 2);
  }(dir.db(), rec));

  const auto& ev = *rec.events;
  REQUIRE(ev.size() == 4);
  CHECK(ev[0].outcome == transaction_outcome::rolled_back);
  REQUIRE(ev[0].changes.size() == 1);
  CHECK(is_change(ev[0].changes[0], change_kind::inserted, "t", 1));
  CHECK(ev[1].outcome == transaction_outcome::rolled_back);
  REQUIRE(ev[1].changes.size() == 1);
  CHECK(is_change(ev[1].changes[0], change_kind::inserted, "t", 2));
  CHECK(ev[2].outcome == transaction_outcome::rolled_back);
  REQUIRE(ev[2].changes.size() == 2);
  CHECK(is_change(ev[2].changes[0], change_kind::inserted, "t", 101));
  CHECK(is_change(ev[2].changes[1], change_kind::inserted, "t", 102));
  CHECK(ev[3].outcome == transaction_outcome::committed);
  REQUIRE(ev[3].changes.size() == 2);
  CHECK(is_change(ev[3].changes[0], change_kind::inserted, "t", 5));
  CHECK(is_change(ev[3].changes[1], change_kind::inserted, "t", 6));
}

TEST_CASE("watch: 10000 writes from many coroutines on threads give exactly their events in commit order") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, make_table(db));
  // The handler runs on a strand of a 4-thread io_context: one call at a time, so the
  // recorder needs no lock (ThreadSanitizer checks that).
  auto events_strand = asio::make_strand(ctx);
  recorder rec;
  auto handler = asio::bind_executor(events_strand, rec);
  auto sub = subscribe(ctx, db, handler);

  constexpr int writers = 50, per_writer = 200;  // 10000 rows
  for (int w = 0; w < writers; ++w) {
    asio::co_spawn(
        asio::make_strand(ctx),
        [](asiolite::connection& conn, int writer) -> asio::awaitable<void> {
          for (int i = 0; i < per_writer; ++i) {
            if (i % 20 == 0) {
              // Some rows in transactions of five.
              auto tx = co_await conn.async_begin();
              for (int k = 0; k < 5; ++k, ++i)
                co_await tx.async_execute("INSERT INTO t (name) VALUES (?)", std::to_string(writer * 1000 + i));
              --i;
              co_await tx.async_commit();
            } else {
              co_await conn.async_execute("INSERT INTO t (name) VALUES (?)", std::to_string(writer * 1000 + i));
            }
          }
        }(db, w),
        asio::detached);
  }
  test::run_on_threads(ctx, 4);

  // Rowids are given in commit order on one connection: the events, in delivery order,
  // list 1, 2, ..., 10000, each once.
  const auto& ev = *rec.events;
  std::int64_t expected = 0;
  std::size_t in_fives = 0;
  bool all_committed = true, in_order = true;
  for (const auto& e : ev) {
    all_committed = all_committed && e.outcome == transaction_outcome::committed && e.lost == 0 && e.not_kept == 0;
    if (e.changes.size() == 5) ++in_fives;
    for (const auto& c : e.changes) in_order = in_order && is_change(c, change_kind::inserted, "t", ++expected);
  }
  CHECK(all_committed);
  CHECK(in_order);
  CHECK(expected == writers * per_writer);
  CHECK(in_fives == writers * (per_writer / 20));
  CHECK(ev.size() == writers * per_writer - in_fives * 4);
  CHECK(sub.events_lost() == 0);
}

TEST_CASE("watch: a subscriber that falls behind loses events, counted, and never holds up the writes") {
  test::temp_dir dir;
  asio::io_context ctx;
  // The events go to an io_context that does not run until every write has completed:
  // the worker cannot be waiting for it.
  asio::io_context slow;
  recorder rec;
  asiolite::watch_options small;
  small.max_pending = 10;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, make_table(db));
  auto handler = asio::bind_executor(slow, rec);
  auto sub = subscribe(ctx, db, handler, small);
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    for (int i = 0; i < 100; ++i) co_await conn.async_execute("INSERT INTO t (name) VALUES (?)", std::to_string(i));
    // One transaction of 50 rows: more than max_pending changes, so most are counted only.
    co_await conn.async_execute(
        "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 50) "
        "INSERT INTO t (name) SELECT 'x' || v FROM s");
  }(db));
  CHECK(rec.events->empty());
  slow.run();

  // A one-row event weighs 2 (its change, and itself): five fit in 10; the other 95 and
  // the big transaction's event were lost while nothing drained the queue.
  const auto& ev = *rec.events;
  REQUIRE(ev.size() == 5);
  for (std::size_t i = 0; i < ev.size(); ++i) {
    CHECK(ev[i].lost == 0);
    REQUIRE(ev[i].changes.size() == 1);
    CHECK(ev[i].changes[0].rowid == static_cast<std::int64_t>(i + 1));
  }
  CHECK(sub.events_lost() == 96);

  // Now drained: the next event fits, says how many were lost before it, and a
  // transaction larger than max_pending keeps that many changes and counts the rest.
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute(
        "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 50) "
        "INSERT INTO t (name) SELECT 'y' || v FROM s");
  }(db));
  slow.restart();
  slow.run();
  REQUIRE(ev.size() == 6);
  CHECK(ev[5].lost == 96);
  CHECK(ev[5].changes.size() == 10);
  CHECK(ev[5].not_kept == 40);
  CHECK(ev[5].changes[0].rowid == 151);

  // A max_pending of 0 is refused, and subscribes nothing.
  asiolite::watch_options none;
  none.max_pending = 0;
  auto [ec, refused] =
      test::run(ctx,
                [](asiolite::connection& conn, decltype(handler) h,
                   asiolite::watch_options o) -> asio::awaitable<std::tuple<asiolite::error_code, asiolite::subscription>> {
                  asiolite::diagnostics diag;
                  auto [e, s] = co_await conn.async_watch_transactions(std::move(h), o, diag, tuple_token);
                  CHECK(diag.message() == "watch_options::max_pending is 0: a subscriber keeps at least one change");
                  co_return std::tuple{e, std::move(s)};
                }(db, handler, none));
  CHECK(ec == asiolite::errc::invalid_option);
  CHECK_FALSE(refused.active());
}

TEST_CASE("watch: unsubscribing stops delivery at once and frees the handler on the unsubscribing thread") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, make_table(db));
  recorder first, second;
  auto token = std::make_shared<int>(0);  // then held by the first handler only
  auto [sub1, sub2] = [&] {
    auto counting = [first, token](const asiolite::transaction_event& e) { first(e); };
    return test::run(ctx,
                     [](asiolite::connection& conn, decltype(counting) h1,
                        recorder h2) -> asio::awaitable<std::pair<asiolite::subscription, asiolite::subscription>> {
                       auto s1 = co_await conn.async_watch_transactions(std::move(h1));
                       auto s2 = co_await conn.async_watch_transactions(std::move(h2));
                       co_return std::pair{std::move(s1), std::move(s2)};
                     }(db, std::move(counting), second));
  }();
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("INSERT INTO t VALUES (1, 'a')");
  }(db));
  CHECK(first.events->size() == 1);
  CHECK(second.events->size() == 1);
  CHECK(token.use_count() == 2);

  sub1.unsubscribe();
  CHECK_FALSE(sub1.active());
  CHECK(sub2.active());
  // Nothing was posted for it: the handler went with the unsubscription, on this thread.
  CHECK(token.use_count() == 1);
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("INSERT INTO t VALUES (2, 'b')");
  }(db));
  CHECK(first.events->size() == 1);
  CHECK(second.events->size() == 2);

  // A subscription destroyed is unsubscribed.
  { asiolite::subscription gone = std::move(sub2); }
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("INSERT INTO t VALUES (3, 'c')");
  }(db));
  CHECK(second.events->size() == 2);
}

TEST_CASE("watch: closing reports the open transaction as rolled back and ends the subscription") {
  test::temp_dir dir;
  asio::io_context ctx;
  recorder rec;
  test::run(ctx, [](std::string path, recorder r) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    co_await make_table(db);
    auto sub = co_await db.async_watch_transactions(r);
    // Left open by the program's own SQL; the close rolls it back.
    co_await db.async_execute("BEGIN");
    co_await db.async_execute("INSERT INTO t VALUES (1, 'a')");
    co_await db.async_close();
    CHECK_FALSE(sub.active());
    // Opened again, the connection has no subscription.
    co_await db.async_open(path);
    co_await db.async_execute("INSERT INTO t VALUES (2, 'b')");
    const auto rows = co_await test::count(db);
    CHECK(rows == 1);
  }(dir.db(), rec));
  REQUIRE(rec.events->size() == 1);
  CHECK((*rec.events)[0].outcome == transaction_outcome::rolled_back);
  REQUIRE((*rec.events)[0].changes.size() == 1);
  CHECK((*rec.events)[0].changes[0].rowid == 1);
}

TEST_CASE("watch: a commit filter on the worker can turn a commit into a rollback") {
  test::temp_dir dir;
  asio::io_context ctx;
  recorder rec;
  test::run(ctx, [](std::string path, recorder r) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    co_await make_table(db);
    auto sub = co_await db.async_watch_transactions(r);
    auto allowed = std::make_shared<std::atomic<int>>(1);  // 1: allow, 0: refuse, -1: throw
    auto filter = [allowed] {
      const int a = allowed->load();
      if (a < 0) throw std::runtime_error("no commits now");
      return a == 1;
    };
    co_await db.async_set_commit_filter_on_worker(filter);
    co_await db.async_execute("INSERT INTO t VALUES (1, 'a')");

    allowed->store(0);
    asiolite::diagnostics diag;
    auto [ec, res] = co_await db.async_execute("INSERT INTO t VALUES (2, 'b')", diag, tuple_token);
    CHECK(ec == asiolite::errc::constraint);
    CHECK(test::contains(diag.message(), "constraint failed"));
    {
      auto tx = co_await db.async_begin();
      co_await tx.async_execute("INSERT INTO t VALUES (3, 'c')");
      auto [commit_ec] = co_await tx.async_commit(tuple_token);
      CHECK(commit_ec == asiolite::errc::constraint);
    }
    allowed->store(-1);
    auto [ec2, res2] = co_await db.async_execute("INSERT INTO t VALUES (4, 'd')", tuple_token);
    CHECK(ec2 == asiolite::errc::constraint);

    co_await db.async_clear_commit_filter_on_worker();
    co_await db.async_execute("INSERT INTO t VALUES (5, 'e')");
    const auto ids = co_await db.async_query_scalar<std::string>("SELECT group_concat(id) FROM t");
    CHECK(ids == "1,5");
    // The connection goes on, in autocommit mode.
    const bool autocommit =
        co_await db.async_call([](asiolite::sync_handle& h) { return sqlite3_get_autocommit(h.native_handle()) != 0; });
    CHECK(autocommit);
  }(dir.db(), rec));

  const auto& ev = *rec.events;
  REQUIRE(ev.size() == 5);
  const transaction_outcome outcomes[] = {transaction_outcome::committed, transaction_outcome::rolled_back,
                                          transaction_outcome::rolled_back, transaction_outcome::rolled_back,
                                          transaction_outcome::committed};
  const std::int64_t rowids[] = {1, 2, 3, 4, 5};
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(ev[i].outcome == outcomes[i]);
    REQUIRE(ev[i].changes.size() == 1);
    CHECK(ev[i].changes[0].rowid == rowids[i]);
  }
}

TEST_CASE("watch: a COMMIT that fails with busy keeps the transaction, and its later commit is one event") {
  // Rollback-journal mode: COMMIT needs every reader gone, and fails with SQLITE_BUSY
  // (the transaction still open) while another connection reads.
  test::temp_dir dir;
  asio::io_context ctx;
  recorder rec;
  asiolite::options quick;
  quick.busy_timeout = std::chrono::milliseconds(20);
  quick.journal = asiolite::journal_mode::delete_;
  auto writer = test::open(ctx, dir.db(), quick);
  auto reader = test::open(ctx, dir.db(), quick);
  test::run(ctx, [](asiolite::connection& w, asiolite::connection& r, recorder h) -> asio::awaitable<void> {
    co_await make_table(w);
    co_await w.async_execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    auto sub = co_await w.async_watch_transactions(h);
    std::optional<asiolite::cursor<std::int64_t>> cur;
    // Far more rows than a batch: the cursor stays part way, holding its read lock.
    cur.emplace(co_await r.async_cursor<std::int64_t>(
        "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 100000) SELECT v FROM s, t"));
    const auto first = co_await cur->async_next();
    CHECK(first.has_value());
    co_await w.async_execute("BEGIN");
    co_await w.async_execute("INSERT INTO t VALUES (3, 'c')");
    auto [ec, res] = co_await w.async_execute("COMMIT", tuple_token);
    CHECK(ec == asiolite::errc::busy);
    const bool open =
        co_await w.async_call([](asiolite::sync_handle& s) { return sqlite3_get_autocommit(s.native_handle()) == 0; });
    CHECK(open);
    cur.reset();  // its statement is reset on the reader's worker, before this query
    co_await r.async_query_scalar<std::int64_t>("SELECT 1");
    co_await w.async_execute("INSERT INTO t VALUES (4, 'd')");
    co_await w.async_execute("COMMIT");
    co_await w.async_execute("INSERT INTO t VALUES (5, 'e')");
  }(writer, reader, rec));

  const auto& ev = *rec.events;
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].outcome == transaction_outcome::committed);
  REQUIRE(ev[0].changes.size() == 2);
  CHECK(ev[0].changes[0].rowid == 3);
  CHECK(ev[0].changes[1].rowid == 4);
  REQUIRE(ev[1].changes.size() == 1);
  CHECK(ev[1].changes[0].rowid == 5);
}

TEST_CASE("watch: a handler that throws lets the exception out of run and the next events still come") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, make_table(db));
  auto calls = std::make_shared<std::vector<std::int64_t>>();
  auto handler = [calls](const asiolite::transaction_event& e) {
    calls->push_back(e.changes.empty() ? 0 : e.changes[0].rowid);
    if (calls->size() == 1) throw std::runtime_error("handler failed");
  };
  auto sub = subscribe(ctx, db, handler);
  // Three events queued before the handler runs.
  test::worker_block block;
  block.hold(db);
  block.wait_entered();
  for (int i = 1; i <= 3; ++i)
    db.async_execute("INSERT INTO t VALUES (?, ?)", i, std::to_string(i),
                     [](asiolite::error_code, asiolite::execute_result) {});
  block.release();
  ctx.restart();
  CHECK_THROWS_WITH(ctx.run(), "handler failed");
  ctx.restart();
  ctx.run();
  CHECK(*calls == std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("watch: a pool's writer reports its transactions, also subscribed from on_open") {
  test::temp_dir dir;
  asio::io_context ctx;
  recorder from_writer, from_open;
  // on_open runs on every connection, readers too: their subscriptions see no writes.
  auto subs = std::make_shared<std::vector<asiolite::subscription>>();
  auto subs_mutex = std::make_shared<std::mutex>();
  asiolite::pool_options po;
  po.readers = 2;
  po.connection.on_open = [subs, subs_mutex, from_open, ex = ctx.get_executor()](asiolite::sync_handle& h) {
    auto s = h.watch_transactions(ex, from_open);
    std::lock_guard lock(*subs_mutex);
    subs->push_back(std::move(s));
  };
  test::run(ctx, [](std::string path, asiolite::pool_options o, recorder r) -> asio::awaitable<void> {
    auto p = co_await asiolite::pool::async_open(co_await asio::this_coro::executor, path, o);
    co_await p.writer().async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
    auto sub = co_await p.writer().async_watch_transactions(r);
    co_await p.writer().async_execute("INSERT INTO t VALUES (1, 'a')");
    const auto n = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(n == 1);
    co_await p.async_close();
  }(dir.db(), po, from_writer));
  CHECK(subs->size() == 3);
  REQUIRE(from_writer.events->size() == 1);
  CHECK((*from_writer.events)[0].changes.size() == 1);
  // on_open's subscriber also saw the CREATE TABLE's commit.
  REQUIRE(from_open.events->size() == 2);
  CHECK((*from_open.events)[0].changes.empty());
  REQUIRE((*from_open.events)[1].changes.size() == 1);
  CHECK((*from_open.events)[1].changes[0].rowid == 1);
}

TEST_CASE("watch: a commit filter set on every connection of a pool refuses the writer's commits") {
  test::temp_dir dir;
  asio::io_context ctx;
  test::run(ctx, [](std::string path) -> asio::awaitable<void> {
    asiolite::pool_options po;
    po.readers = 2;
    auto p = co_await asiolite::pool::async_open(co_await asio::this_coro::executor, path, po);
    co_await p.writer().async_execute("CREATE TABLE t (x)");
    auto frozen = std::make_shared<std::atomic<bool>>(true);
    auto set_filter = [frozen](asiolite::sync_handle& h) { h.set_commit_filter([frozen] { return !frozen->load(); }); };
    co_await p.async_call_on_each(set_filter);
    auto [ec, r] = co_await p.writer().async_execute("INSERT INTO t VALUES (1)", tuple_token);
    CHECK(ec == asiolite::errc::constraint);
    // Readers commit nothing: their reads go on.
    const auto none = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(none == 0);
    frozen->store(false);
    co_await p.writer().async_execute("INSERT INTO t VALUES (2)");
    const auto one = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(one == 1);
    co_await p.async_close();
  }(dir.db()));
}
