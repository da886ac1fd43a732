// pool.hpp: one writer and many readers, reads routed to the readers, read transactions
// that hold a reader, one FIFO queue at the pool when every reader is held.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

asiolite::pool_options readers(std::size_t n, const asiolite::options& opts = {}) {
  asiolite::pool_options po;
  po.readers = n;
  po.connection = opts;
  return po;
}

/// A pool on a fresh file database with `schema` run on the writer (blocking the test thread).
asiolite::pool open_pool(asio::io_context& ctx, const std::string& path, const asiolite::pool_options& po,
                         const std::string& schema = "CREATE TABLE t(x INTEGER)") {
  return test::run(ctx,
                   [](asio::any_io_executor ex, std::string p, asiolite::pool_options o,
                      std::string sql) -> asio::awaitable<asiolite::pool> {
                     auto db = co_await asiolite::pool::async_open(ex, p, o);
                     co_await db.writer().async_execute_script(sql);
                     co_return db;
                   }(ctx.get_executor(), path, po, schema));
}

/// A read transaction on `db` (blocking the test thread).
asiolite::read_transaction begin_read(asio::io_context& ctx, asiolite::pool& db) {
  return test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<asiolite::read_transaction> {
    co_return co_await p.async_begin_read();
  }(db));
}

/// The rows of t in the database at `path`, read on a connection of its own.
std::int64_t rows_in(asio::io_context& ctx, const std::string& path) {
  auto check = test::open(ctx, path);
  return test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<std::int64_t> {
    const auto n = co_await c.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    co_await c.async_close();
    co_return n;
  }(check));
}

void close_pool(asio::io_context& ctx, asiolite::pool& db) {
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> { co_await p.async_close(); }(db));
}

/// Which sqlite3 handle a request ran on.
std::uintptr_t handle_of(asiolite::sync_handle& h) { return reinterpret_cast<std::uintptr_t>(h.native_handle()); }

/// Polls ctx until `done` or the pool's waiting count says the reads are parked.
template <class Pred>
void poll_until(asio::io_context& ctx, Pred done) {
  for (int i = 0; i < 100000 && !done(); ++i) {
    ctx.restart();
    ctx.poll();
    std::this_thread::yield();
  }
}

}  // namespace

TEST_CASE("pool: async_open delivers an open pool whose reads run on the readers and writes on the writer", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(2));
  CHECK(db.is_open());
  CHECK(db.reader_count() == 2);
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
    co_await p.writer().async_execute("INSERT INTO t VALUES (?)", 7);
    const auto awaited = co_await p.async_query_scalar<std::int64_t>("SELECT sum(x) FROM t");
    CHECK(awaited == 7);
    auto rows = co_await p.async_query<std::int64_t>("SELECT x FROM t");
    CHECK(rows == std::vector<std::int64_t>{7});
    const auto awaited2 = co_await p.writer().async_query_scalar<std::string>("PRAGMA journal_mode");
    CHECK(awaited2 == "wal");
    // Reads run on other handles than the writer's.
    const auto writer = co_await p.writer().async_call(handle_of);
    const auto reader = co_await p.async_call(handle_of);
    CHECK(writer != reader);
  }(db));
  close_pool(ctx, db);
  CHECK_FALSE(db.is_open());
}

TEST_CASE("pool: constructed closed, it opens, closes and opens again as a long-lived member", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::pool db(ctx);
  CHECK_FALSE(db.is_open());
  const std::string path = dir.db();
  test::run(ctx, [](asiolite::pool& p, std::string file) -> asio::awaitable<void> {
    // Not open yet: reads fail with errc::closed.
    auto [early, unused] = co_await p.async_execute("SELECT 1", asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(early == asiolite::errc::closed);
    const auto po = readers(1);
    co_await p.async_open(file, po);
    CHECK(p.is_open());
    auto [again] = co_await p.async_open(file, po, asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(again == asiolite::errc::already_open);
    co_await p.writer().async_execute("CREATE TABLE t(x)");
    co_await p.writer().async_execute("INSERT INTO t VALUES (1)");
    co_await p.async_close();
    CHECK_FALSE(p.is_open());
    auto [after, count] = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t",
                                                                      asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(after == asiolite::errc::closed);
    co_await p.async_close();  // closing a closed pool succeeds
    co_await p.async_open(file, po);
    const auto awaited3 = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited3 == 1);
    co_await p.async_close();
  }(db, path));
}

TEST_CASE("pool: a write on a reader fails with SQLITE_READONLY, writes nothing, and the reader stays usable",
          "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(1));
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [ec, res] =
        co_await p.async_execute("INSERT INTO t VALUES (1)", diag, asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::readonly);
    CHECK(diag.message().find("readonly") != std::string::npos);
    std::vector<std::int64_t> many{1, 2, 3};
    auto [ec_many, res_many] = co_await p.async_execute_many("INSERT INTO t VALUES (?)", many,
                                                             asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec_many == asiolite::errc::readonly);
    const auto awaited4 = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited4 == 0);
    const auto awaited5 = co_await p.writer().async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited5 == 0);
  }(db));
  close_pool(ctx, db);
}

TEST_CASE("pool: an open write transaction on the writer does not hold up reads, which see only committed rows",
          "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(2));
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
    auto tx = co_await p.writer().async_begin();
    co_await tx.async_execute("INSERT INTO t VALUES (1)");
    // The transaction holds the writer; on one connection this read would wait for it.
    const auto awaited6 = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited6 == 0);
    co_await tx.async_commit();
    const auto awaited7 = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited7 == 1);
  }(db));
  close_pool(ctx, db);
}

TEST_CASE("pool: a read transaction sees one snapshot throughout while the writer commits", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(2));
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
    co_await p.writer().async_execute("INSERT INTO t VALUES (1)");
    auto snap = co_await p.async_begin_read();
    CHECK(snap.is_active());
    // Committed after the read transaction began, before its first read.
    co_await p.writer().async_execute("INSERT INTO t VALUES (2)");
    const auto awaited8 = co_await snap.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited8 == 1);
    co_await p.writer().async_execute("INSERT INTO t VALUES (3)");
    const auto awaited9 = co_await snap.async_query_scalar<std::int64_t>("SELECT sum(x) FROM t");
    CHECK(awaited9 == 1);
    // The pool's other reader sees what was committed.
    const auto awaited10 = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited10 == 3);
    auto [ec, res] = co_await snap.async_execute("DELETE FROM t", asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::readonly);
    co_await snap.async_commit();
    CHECK_FALSE(snap.is_active());
  }(db));
  close_pool(ctx, db);
}

TEST_CASE("pool: a reader held by a read transaction takes no other reads", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(2));
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
    auto snap = co_await p.async_begin_read();
    const auto held = co_await snap.async_call(handle_of);
    const auto stats = p.stats();
    REQUIRE(stats.readers.size() == 2);
    CHECK((stats.readers[0].held != stats.readers[1].held));
    std::set<std::uintptr_t> used;
    for (int i = 0; i < 20; ++i) used.insert(co_await p.async_call(handle_of));
    CHECK(used.size() == 1);
    CHECK(used.count(held) == 0);
    co_await snap.async_rollback();
    CHECK_FALSE(p.stats().readers[0].held);
    CHECK_FALSE(p.stats().readers[1].held);
  }(db));
  close_pool(ctx, db);
}

TEST_CASE("pool: reads spread over the readers by the work queued on each", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(2));
  // The first read blocks its reader; the next ones go to the other reader, which has none.
  test::worker_gate gate;
  std::atomic<std::uintptr_t> blocked{0};
  db.async_call(
      [f = gate.opened, &blocked](asiolite::sync_handle& h) {
        blocked = handle_of(h);
        f.wait();
      },
      [](asiolite::error_code) {});
  std::vector<std::uintptr_t> others;
  bool done = false;
  asio::co_spawn(
      ctx,
      [](asiolite::pool& p, std::vector<std::uintptr_t>& out) -> asio::awaitable<void> {
        for (int i = 0; i < 5; ++i) out.push_back(co_await p.async_call(handle_of));
      }(db, others),
      [&](std::exception_ptr e) {
        CHECK(!e);
        done = true;
      });
  poll_until(ctx, [&] { return done; });
  CHECK(done);
  CHECK(others.size() == 5);
  const auto stats = db.stats();
  CHECK(stats.readers[0].in_flight + stats.readers[1].in_flight == 1);
  gate.release();
  ctx.restart();
  ctx.run();
  for (auto h : others) CHECK(h != blocked.load());
  close_pool(ctx, db);
}

TEST_CASE("pool: when every reader is held, reads wait at the pool and run in order once one is free", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(1));
  auto snap = begin_read(ctx, db);
  std::vector<int> order;
  std::atomic<int> ran{0};
  for (int i = 0; i < 3; ++i)
    db.async_call([&ran](asiolite::sync_handle&) { ++ran; },
                  [&order, i](asiolite::error_code ec) {
                    CHECK(!ec);
                    order.push_back(i);
                  });
  // A second read transaction waits in the same queue, behind them.
  std::optional<asiolite::read_transaction> second;
  db.async_begin_read([&](asiolite::error_code ec, asiolite::read_transaction rt) {
    CHECK(!ec);
    order.push_back(3);
    second.emplace(std::move(rt));
  });
  ctx.restart();
  ctx.poll();
  CHECK(db.stats().waiting == 4);
  CHECK(ran == 0);
  CHECK(order.empty());
  test::run(ctx, [](asiolite::read_transaction& rt) -> asio::awaitable<void> { co_await rt.async_commit(); }(snap));
  poll_until(ctx, [&] { return order.size() == 4; });
  CHECK(order == std::vector<int>{0, 1, 2, 3});
  CHECK(ran == 3);
  REQUIRE(second);
  CHECK(second->is_active());
  CHECK(db.stats().readers[0].held);
  second.reset();  // rolls back and frees the reader
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
    const auto awaited11 = co_await p.async_query_scalar<std::int64_t>("SELECT 5");
    CHECK(awaited11 == 5);
  }(db));
  CHECK_FALSE(db.stats().readers[0].held);
  close_pool(ctx, db);
}

TEST_CASE("pool: cancelling a read that waits for a free reader removes it, and it never runs", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(1));
  auto snap = begin_read(ctx, db);
  for (auto type :
       {asio::cancellation_type::terminal, asio::cancellation_type::partial, asio::cancellation_type::total}) {
    asio::cancellation_signal signal;
    std::atomic<bool> ran{false};
    std::optional<asiolite::error_code> outcome;
    db.async_call([&ran](asiolite::sync_handle&) { ran = true; },
                  asio::bind_cancellation_slot(signal.slot(), [&](asiolite::error_code ec) { outcome = ec; }));
    ctx.restart();
    ctx.poll();
    CHECK(db.stats().waiting == 1);
    signal.emit(type);
    poll_until(ctx, [&] { return outcome.has_value(); });
    REQUIRE(outcome);
    CHECK(*outcome == asio::error::operation_aborted);
    CHECK(db.stats().waiting == 0);
    test::run(ctx, [](asiolite::read_transaction& rt) -> asio::awaitable<void> { co_await rt.async_rollback(); }(snap));
    CHECK_FALSE(ran);
    snap = begin_read(ctx, db);
  }
  snap = asiolite::read_transaction();
  close_pool(ctx, db);
}

TEST_CASE("pool: close fails the reads waiting for a reader, runs queued writes, and waits for read transactions",
          "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(1));
  auto snap = begin_read(ctx, db);
  std::optional<asiolite::error_code> waiting_read;
  db.async_query_scalar<std::int64_t>("SELECT 1", [&](asiolite::error_code ec, std::int64_t) { waiting_read = ec; });
  int writes = 0;
  for (int i = 0; i < 10; ++i)
    db.writer().async_execute("INSERT INTO t VALUES (?)", i, [&](asiolite::error_code ec, asiolite::execute_result) {
      CHECK(!ec);
      ++writes;
    });
  std::optional<asiolite::error_code> closed;
  db.async_close([&](asiolite::error_code ec) { closed = ec; });
  poll_until(ctx, [&] { return waiting_read.has_value(); });
  REQUIRE(waiting_read);
  CHECK(*waiting_read == asiolite::errc::closed);
  // The read transaction is still open: its reader's close waits for it.
  ctx.restart();
  ctx.poll();
  CHECK_FALSE(closed);
  snap = asiolite::read_transaction();  // rolls back
  poll_until(ctx, [&] { return closed.has_value(); });
  REQUIRE(closed);
  CHECK(!*closed);
  CHECK(writes == 10);
  CHECK(rows_in(ctx, dir.db()) == 10);
}

TEST_CASE("pool: cancel() while a close waits for a read transaction, and the close still completes", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(1));
  auto snap = begin_read(ctx, db);
  std::optional<asiolite::error_code> closed, write;
  db.writer().async_execute("INSERT INTO t VALUES (1)",
                            [&](asiolite::error_code ec, asiolite::execute_result) { write = ec; });
  db.async_close([&](asiolite::error_code ec) { closed = ec; });
  ctx.restart();
  ctx.poll();
  db.cancel();  // the close is left to finish, as on a connection
  snap = asiolite::read_transaction();
  poll_until(ctx, [&] { return closed.has_value() && write.has_value(); });
  REQUIRE(closed);
  CHECK(!*closed);
  REQUIRE(write);  // done before the cancel, or cancelled by it: either way, called once
  CHECK((!*write || *write == asio::error::operation_aborted));
  CHECK_FALSE(db.is_open());
}

TEST_CASE("pool: destroying the pool runs what is queued and calls every handler", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  int writes = 0, reads = 0;
  {
    auto db = open_pool(ctx, dir.db(), readers(2));
    for (int i = 0; i < 50; ++i) {
      db.writer().async_execute("INSERT INTO t VALUES (?)", i, [&](asiolite::error_code ec, asiolite::execute_result) {
        CHECK(!ec);
        ++writes;
      });
      db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t", [&](asiolite::error_code ec, std::int64_t) {
        CHECK(!ec);
        ++reads;
      });
    }
  }
  ctx.restart();
  ctx.run();
  CHECK(writes == 50);
  CHECK(reads == 50);
  CHECK(rows_in(ctx, dir.db()) == 50);
}

TEST_CASE("pool: cancel() removes the waiting reads and cancels on every connection", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(1));
  auto snap = begin_read(ctx, db);
  test::worker_gate gate;
  gate.hold(db.writer());
  std::optional<asiolite::error_code> read, write;
  db.async_query_scalar<std::int64_t>("SELECT 1", [&](asiolite::error_code ec, std::int64_t) { read = ec; });
  db.writer().async_execute("INSERT INTO t VALUES (1)",
                            [&](asiolite::error_code ec, asiolite::execute_result) { write = ec; });
  ctx.restart();
  ctx.poll();
  db.cancel();
  gate.release();
  poll_until(ctx, [&] { return read && write; });
  REQUIRE(read);
  REQUIRE(write);
  CHECK(*read == asio::error::operation_aborted);
  CHECK(*write == asio::error::operation_aborted);
  CHECK(db.is_open());
  snap = asiolite::read_transaction();
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
    const auto awaited12 = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(awaited12 == 0);
  }(db));
  close_pool(ctx, db);
}

TEST_CASE("pool: a database in memory has no readers, and its reads go to the writer", "[pool]") {
  asio::io_context ctx;
  for (const std::string path : {":memory:", ""}) {
    auto db = test::run(ctx, [](asio::any_io_executor ex, std::string p) -> asio::awaitable<asiolite::pool> {
      const auto po = readers(4);  // named: g++ 12 destroys such a temporary twice inside co_await
      co_return co_await asiolite::pool::async_open(ex, p, po);
    }(ctx.get_executor(), path));
    CHECK(db.reader_count() == 0);
    CHECK(db.stats().readers.size() == 1);
    test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
      co_await p.writer().async_execute("CREATE TABLE t(x)");
      co_await p.writer().async_execute("INSERT INTO t VALUES (1)");
      const auto awaited13 = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
      CHECK(awaited13 == 1);
      const auto awaited14 = co_await p.async_call(handle_of);
      const auto awaited15 = co_await p.writer().async_call(handle_of);
      CHECK(awaited14 == awaited15);
      auto snap = co_await p.async_begin_read();
      const auto awaited16 = co_await snap.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
      CHECK(awaited16 == 1);
      co_await snap.async_commit();
      co_await p.async_close();
    }(db));
  }
}

TEST_CASE("pool: on_open runs on every connection, so a function it registers works on each", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto opened = std::make_shared<std::atomic<int>>(0);
  asiolite::options opts;
  opts.on_open = [opened](asiolite::sync_handle& h) {
    ++*opened;
    sqlite3_create_function(
        h.native_handle(), "twice", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
        [](sqlite3_context* c, int, sqlite3_value** v) { sqlite3_result_int64(c, 2 * sqlite3_value_int64(v[0])); },
        nullptr, nullptr);
  };
  auto db = open_pool(ctx, dir.db(), readers(3, opts));
  CHECK(*opened == 4);
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
    co_await p.writer().async_execute("INSERT INTO t VALUES (twice(5))");
    // Three read transactions hold the three readers: each runs the function on its own.
    auto a = co_await p.async_begin_read();
    auto b = co_await p.async_begin_read();
    auto c = co_await p.async_begin_read();
    const auto awaited17 = co_await a.async_query_scalar<std::int64_t>("SELECT twice(x) FROM t");
    CHECK(awaited17 == 20);
    const auto awaited18 = co_await b.async_query_scalar<std::int64_t>("SELECT twice(x) FROM t");
    CHECK(awaited18 == 20);
    const auto awaited19 = co_await c.async_query_scalar<std::int64_t>("SELECT twice(x) FROM t");
    CHECK(awaited19 == 20);
  }(db));
  close_pool(ctx, db);
}

TEST_CASE("pool: cursors and prepared statements made on the pool run on a reader", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(2));
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
    for (int i = 0; i < 10; ++i) co_await p.writer().async_execute("INSERT INTO t VALUES (?)", i);
    asiolite::cursor_options copts;
    copts.batch_size = 3;
    auto cur = co_await p.async_cursor<std::int64_t>(copts, "SELECT x FROM t ORDER BY x");
    std::int64_t sum = 0;
    while (auto v = co_await cur.async_next()) sum += *v;
    CHECK(sum == 45);
    auto stmt = co_await p.async_prepare("SELECT count(*) FROM t WHERE x < ?");
    const auto awaited20 = co_await stmt.async_query_scalar<std::int64_t>(5);
    CHECK(awaited20 == 5);
    auto write = co_await p.async_prepare("INSERT INTO t VALUES (?)");
    auto [ec, res] = co_await write.async_execute(1, asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::readonly);
  }(db));
  close_pool(ctx, db);
}

TEST_CASE("pool: opening fails with a clear error when the pool cannot be what it promises", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto failure = [&](const asiolite::pool_options& po, const std::string& path) {
    return test::run(
        ctx, [](asio::any_io_executor ex, std::string p, asiolite::pool_options o) -> asio::awaitable<std::string> {
          asiolite::diagnostics diag;
          auto [ec, db] =
              co_await asiolite::pool::async_open(ex, p, o, diag, asiolite::compat::as_tuple(asio::use_awaitable));
          CHECK(ec);
          CHECK_FALSE(db.is_open());
          co_return diag.message();
        }(ctx.get_executor(), path, po));
  };
  CHECK(failure(readers(0), dir.db()).find("at least one reader") != std::string::npos);
  asiolite::options journal;
  journal.journal = asiolite::journal_mode::delete_;
  CHECK(failure(readers(1, journal), dir.db()).find("needs WAL") != std::string::npos);
  asiolite::options ro;
  ro.mode = asiolite::open_mode::read_only;
  CHECK(failure(readers(1, ro), dir.db()).find("read_only") != std::string::npos);
  // WAL needs shared memory, which this VFS lacks: SQLite keeps another journal mode.
  asiolite::options dotfile;
  dotfile.vfs = "unix-dotfile";
  const auto no_wal = failure(readers(1, dotfile), dir.db("dotfile.db"));
  CHECK(no_wal.find("the pool's writer") != std::string::npos);
  CHECK(no_wal.find("wal") != std::string::npos);
  CHECK(failure(readers(1), (dir.path() / "missing" / "x.db").string()).find("the pool's writer") != std::string::npos);
}

TEST_CASE("pool: an empty pool's operations fail with errc::closed", "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = open_pool(ctx, dir.db(), readers(1));
  auto moved = std::move(db);  // the moved-from pool keeps its executor
  std::optional<asiolite::error_code> read, begin, write;
  db.async_execute("SELECT 1", [&](asiolite::error_code ec, asiolite::execute_result) { read = ec; });
  db.async_begin_read([&](asiolite::error_code ec, asiolite::read_transaction) { begin = ec; });
  db.writer().async_execute(
      "SELECT 1", asio::bind_executor(ctx, [&](asiolite::error_code ec, asiolite::execute_result) { write = ec; }));
  ctx.restart();
  ctx.run();
  REQUIRE(read);
  REQUIRE(begin);
  REQUIRE(write);
  CHECK(*read == asiolite::errc::closed);
  CHECK(*begin == asiolite::errc::closed);
  CHECK(*write == asiolite::errc::closed);
  CHECK_FALSE(db.is_open());
  CHECK(db.stats().readers.empty());
  CHECK(moved.is_open());
  close_pool(ctx, moved);
}

TEST_CASE("pool: 1000 coroutines on 4 threads mixing reads, read transactions, write transactions and grouped writes",
          "[pool]") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options grouped;
  grouped.group_commit = 16;  // the autocommit INSERTs below share COMMITs
  auto db = open_pool(ctx, dir.db(), readers(3, grouped),
                      "CREATE TABLE account(id INTEGER PRIMARY KEY, balance INTEGER);"
                      "INSERT INTO account VALUES (1, 1000), (2, 1000);"
                      "CREATE TABLE log(n INTEGER)");
  std::atomic<int> completed{0}, failed{0}, inconsistent{0}, writes{0};
  for (int i = 0; i < 1000; ++i) {
    asio::co_spawn(
        ctx,
        [](asiolite::pool& p, int n, std::atomic<int>& bad, std::atomic<int>& w) -> asio::awaitable<void> {
          switch (n % 4) {
            case 0: {  // a transfer: the total stays 2000
              auto tx = co_await p.writer().async_begin();
              co_await tx.async_execute("UPDATE account SET balance = balance - 1 WHERE id = 1");
              co_await tx.async_execute("UPDATE account SET balance = balance + 1 WHERE id = 2");
              co_await tx.async_commit();
              ++w;
              break;
            }
            case 1: {  // two reads on one snapshot add up
              auto snap = co_await p.async_begin_read();
              const auto a = co_await snap.async_query_scalar<std::int64_t>("SELECT balance FROM account WHERE id = 1");
              const auto b = co_await snap.async_query_scalar<std::int64_t>("SELECT balance FROM account WHERE id = 2");
              if (a + b != 2000) ++bad;
              co_await snap.async_commit();
              break;
            }
            case 2: {
              const auto total = co_await p.async_query_scalar<std::int64_t>("SELECT sum(balance) FROM account");
              if (total != 2000) ++bad;
              break;
            }
            default:  // an autocommit write: group commit may batch it with others
              co_await p.writer().async_execute("INSERT INTO log VALUES (?)", n);
              ++w;
          }
        }(db, i, inconsistent, writes),
        [&](std::exception_ptr e) {
          ++completed;
          if (e) ++failed;
        });
  }
  test::run_on_threads(ctx, 4);
  CHECK(completed == 1000);
  CHECK(failed == 0);
  CHECK(inconsistent == 0);
  CHECK(writes == 500);
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
    const auto awaited21 = co_await p.async_query_scalar<std::int64_t>("SELECT balance FROM account WHERE id = 2");
    CHECK(awaited21 == 1250);
    const auto awaited22 = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM log");
    CHECK(awaited22 == 250);
    const auto s = p.stats();
    CHECK(s.waiting == 0);
    for (const auto& r : s.readers) {
      CHECK(r.in_flight == 0);
      CHECK_FALSE(r.held);
    }
    co_await p.async_close();
  }(db));
}
