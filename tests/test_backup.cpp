// backup.hpp: online backup step by step (connection::async_backup, pool::async_backup)
// and restore (connection::async_restore).
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using test::tuple_token;

/// `rows` rows of 1,000 bytes each: about a page per 4 rows.
asio::awaitable<void> fill(asiolite::connection& db, int rows) {
  co_await db.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
  auto tx = co_await db.async_begin();
  for (int i = 0; i < rows; ++i) co_await tx.async_execute("INSERT INTO t (b) VALUES (randomblob(1000))");
  co_await tx.async_commit();
}

/// The copy at `path`: its integrity check, row count and a digest of its content.
struct copy_state {
  std::string integrity;
  std::int64_t rows = 0;
  std::string digest;
};

asio::awaitable<copy_state> inspect(asio::any_io_executor ex, std::string path) {
  auto db = co_await asiolite::connection::async_open(ex, path);
  copy_state s;
  s.integrity = co_await db.async_query_scalar<std::string>("PRAGMA integrity_check");
  s.rows = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
  s.digest = co_await db.async_query_scalar<std::string>(
      "SELECT hex(sum(length(b) * id)) || group_concat(substr(hex(b), 1, 4), '') FROM t");
  co_await db.async_close();
  co_return s;
}

asio::awaitable<std::string> digest_of(asiolite::connection& db) {
  co_return co_await db.async_query_scalar<std::string>(
      "SELECT hex(sum(length(b) * id)) || group_concat(substr(hex(b), 1, 4), '') FROM t");
}

}  // namespace

TEST_CASE("backup: copies step by step with progress, the source's requests running between steps") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, fill(db, 400));
  std::vector<asiolite::backup_progress> steps;
  bool backed_up = false;
  int reads_during = 0;
  test::run(ctx,
            [](asiolite::connection& conn, std::string copy, std::vector<asiolite::backup_progress>& seen,
               bool& finished, int& during) -> asio::awaitable<void> {
              // Point reads on the same connection while the backup runs.
              asio::co_spawn(
                  co_await asio::this_coro::executor,
                  [](asiolite::connection& c, bool& fin, int& n) -> asio::awaitable<void> {
                    for (int i = 1; i <= 40 && !fin; ++i) {
                      co_await c.async_query_scalar<std::int64_t>("SELECT length(b) FROM t WHERE id = ?", i);
                      if (!fin) ++n;
                    }
                  }(conn, finished, during),
                  asio::detached);
              asiolite::backup_options o;
              o.pages_per_step = 10;
              o.progress = [&seen](const asiolite::backup_progress& p) { seen.push_back(p); };
              co_await conn.async_backup(copy, o);
              finished = true;
            }(db, dir.db("copy.db"), steps, backed_up, reads_during));

  REQUIRE(steps.size() >= 5);
  const int total = steps.front().total;
  CHECK(total > 100);
  CHECK(steps.back().remaining == 0);
  CHECK(steps.size() == static_cast<std::size_t>((total + 9) / 10));
  for (std::size_t i = 1; i < steps.size(); ++i) CHECK(steps[i].remaining < steps[i - 1].remaining);
  CHECK(reads_during > 0);  // they did not wait for the whole backup

  const auto copy = test::run(ctx, inspect(ctx.get_executor(), dir.db("copy.db")));
  const auto source = test::run(ctx, digest_of(db));
  CHECK(copy.integrity == "ok");
  CHECK(copy.rows == 400);
  CHECK(copy.digest == source);
}

TEST_CASE("backup: writes through the same connection between steps go into the copy") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, fill(db, 200));
  auto writes = std::make_shared<int>(0);
  test::run(ctx, [](asiolite::connection& conn, std::string copy, std::shared_ptr<int> w) -> asio::awaitable<void> {
    asiolite::backup_options o;
    o.pages_per_step = 8;
    // Each progress call queues a write, which runs before the next step.
    o.progress = [&conn, w](const asiolite::backup_progress& p) {
      if (p.remaining == 0) return;
      ++*w;
      conn.async_execute("INSERT INTO t (b) VALUES (randomblob(1000))",
                         [](asiolite::error_code, asiolite::execute_result) {});
    };
    co_await conn.async_backup(copy, o);
  }(db, dir.db("copy.db"), writes));
  CHECK(*writes > 3);
  const auto copy = test::run(ctx, inspect(ctx.get_executor(), dir.db("copy.db")));
  const auto source = test::run(ctx, digest_of(db));
  CHECK(copy.integrity == "ok");
  CHECK(copy.rows == 200 + *writes);
  CHECK(copy.digest == source);
}

TEST_CASE("backup: a pool backs up its snapshot from a reader while the writer goes on writing") {
  test::temp_dir dir;
  asio::io_context ctx;
  {
    auto db = test::open(ctx, dir.db());
    test::run(ctx, fill(db, 300));
    test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<void> { co_await c.async_close(); }(db));
  }
  auto writes = std::make_shared<int>(0);
  test::run(ctx, [](std::string path, std::string copy, std::shared_ptr<int> w) -> asio::awaitable<void> {
    auto p = co_await test::open_pool(path, 1);
    asiolite::backup_options o;
    o.pages_per_step = 10;
    o.progress = [&p, w](const asiolite::backup_progress&) {
      ++*w;
      p.writer().async_execute("INSERT INTO t (b) VALUES (randomblob(1000))",
                               [](asiolite::error_code, asiolite::execute_result) {});
    };
    co_await p.async_backup(copy, o);
    // The writer was not held up: every write of the backup's time is in.
    const auto rows = co_await p.writer().async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(rows == 300 + *w);
    co_await p.async_close();
  }(dir.db(), dir.db("copy.db"), writes));
  CHECK(*writes > 3);
  const auto copy = test::run(ctx, inspect(ctx.get_executor(), dir.db("copy.db")));
  CHECK(copy.integrity == "ok");
  CHECK(copy.rows == 300);  // the snapshot the backup began with
}

TEST_CASE("backup: cancelled between two steps, the connection goes on and a new backup completes") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, fill(db, 400));
  asio::cancellation_signal cancel;
  int calls = 0;
  std::optional<asiolite::error_code> got;
  asiolite::backup_options o;
  o.pages_per_step = 5;
  o.progress = [&calls, &cancel](const asiolite::backup_progress&) {
    if (++calls == 3) cancel.emit(asio::cancellation_type::terminal);
  };
  db.async_backup(dir.db("copy.db"), o,
                  asio::bind_cancellation_slot(cancel.slot(), [&got](asiolite::error_code ec) { got = ec; }));
  ctx.restart();
  ctx.run();
  REQUIRE(got);
  CHECK(*got == asio::error::operation_aborted);
  CHECK(calls == 3);
  test::run(ctx, [](asiolite::connection& conn, std::string copy) -> asio::awaitable<void> {
    const auto n = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(n == 400);
    co_await conn.async_backup(copy);
  }(db, dir.db("copy.db")));
  const auto copy = test::run(ctx, inspect(ctx.get_executor(), dir.db("copy.db")));
  CHECK(copy.integrity == "ok");
  CHECK(copy.rows == 400);
}

TEST_CASE("restore: replaces the database with a copy, and cached statements go on working") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, fill(db, 100));
  test::run(ctx, [](asiolite::connection& conn, std::string copy) -> asio::awaitable<void> {
    co_await conn.async_backup(copy);
    const auto before = co_await digest_of(conn);
    co_await conn.async_execute("DELETE FROM t WHERE id > 10");
    co_await conn.async_execute("CREATE TABLE later (x)");
    const auto fewer = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(fewer == 10);
    asiolite::backup_options o;
    o.pages_per_step = 7;
    co_await conn.async_restore(copy, o);
    const auto rows = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");  // cached
    CHECK(rows == 100);
    const auto after = co_await digest_of(conn);
    CHECK(after == before);
    auto [ec, r] = co_await conn.async_query("SELECT * FROM later", tuple_token);
    CHECK(ec);  // the table made after the copy is gone
    co_await conn.async_close();
  }(db, dir.db("copy.db")));
}

TEST_CASE("backup and restore: bad paths, a file that is not a database and bad options fail clearly, losing nothing") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, fill(db, 20));
  {
    std::ofstream junk(dir.db("junk.db"));
    junk << "this is not a database, but it is long enough to have a header of a hundred bytes........";
  }
  test::run(ctx, [](asiolite::connection& conn, std::string missing_dir, std::string junk) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [ec1] = co_await conn.async_backup(missing_dir, diag, tuple_token);
    CHECK(ec1 == asiolite::errc::cantopen);
    CHECK(test::contains(diag.message(), "cannot open the backup's destination"));
    auto [ec2] = co_await conn.async_restore(missing_dir, diag, tuple_token);
    CHECK(ec2 == asiolite::errc::cantopen);
    CHECK(test::contains(diag.message(), "cannot open the restore's source"));
    auto [ec3] = co_await conn.async_restore(junk, diag, tuple_token);
    CHECK(ec3 == asiolite::errc::notadb);
    asiolite::backup_options none;
    none.pages_per_step = 0;
    auto [ec4] = co_await conn.async_backup(junk, none, diag, tuple_token);
    CHECK(ec4 == asiolite::errc::invalid_option);
    CHECK(test::contains(diag.message(), "pages_per_step"));
    auto [ec5] = co_await conn.async_restore(junk, none, tuple_token);
    CHECK(ec5 == asiolite::errc::invalid_option);
    // Nothing lost.
    const auto rows = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(rows == 20);
    co_await conn.async_close();
    auto [ec6] = co_await conn.async_backup(junk, tuple_token);
    CHECK(ec6 == asiolite::errc::closed);
  }(db, dir.db("no/such/dir/copy.db"), dir.db("junk.db")));
}

TEST_CASE("backup: onto its own file is refused, and a destination another connection holds fails busy in time") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options o;
  o.busy_timeout = std::chrono::milliseconds(100);
  auto db = test::open(ctx, dir.db(), o);
  test::run(ctx, fill(db, 50));
  asiolite::options rollback_journal;
  rollback_journal.journal = asiolite::journal_mode::delete_;
  auto holder = test::open(ctx, dir.db("held.db"), rollback_journal);
  test::run(ctx,
            [](asiolite::connection& conn, asiolite::connection& h, std::string self,
               std::string held) -> asio::awaitable<void> {
              asiolite::diagnostics diag;
              auto [ec] = co_await conn.async_backup(self, diag, tuple_token);
              CHECK(ec == asiolite::errc::misuse);
              CHECK(test::contains(diag.message(), "is the database it copies"));
              const auto rows = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
              CHECK(rows == 50);

              // The destination is being written by another connection, for longer than busy_timeout.
              co_await h.async_execute("CREATE TABLE x (y)");
              auto tx = co_await h.async_begin(asiolite::begin_mode::exclusive);
              co_await tx.async_execute("INSERT INTO x VALUES (1)");
              auto [busy] = co_await conn.async_backup(held, diag, tuple_token);
              CHECK(busy == asiolite::errc::busy);
              CHECK(test::contains(diag.message(), "busy_timeout"));
              co_await tx.async_rollback();
              co_await conn.async_backup(held);  // free again
              co_await h.async_close();
              co_await conn.async_close();
            }(db, holder, dir.db(), dir.db("held.db")));
}

namespace {

asio::awaitable<void> backup_into_connections(asiolite::connection& db, std::string file_path) {
  auto ex = co_await asio::this_coro::executor;
  auto mem = co_await asiolite::connection::async_open(ex, ":memory:");
  co_await mem.async_execute("CREATE TABLE old (v)");  // replaced by the copy
  // A request made on the destination before the backup runs first; one made after the
  // initiating call waits for the backup's end, and then sees the copy. (Completion
  // handlers, not awaitables: each operation starts when its function is called.)
  asiolite::error_code before_ec, backup_ec, after_ec;
  std::int64_t old_rows = -1, rows = -1;
  int done = 0;
  asiolite::backup_options o;
  o.pages_per_step = 8;
  int steps = 0;
  o.progress = [&steps](const asiolite::backup_progress&) { ++steps; };
  mem.async_query_scalar<std::int64_t>("SELECT count(*) FROM old", [&](asiolite::error_code ec, std::int64_t n) {
    before_ec = ec;
    old_rows = n;
    ++done;
  });
  db.async_backup(mem, o, [&](asiolite::error_code ec) {
    backup_ec = ec;
    ++done;
  });
  mem.async_query_scalar<std::int64_t>("SELECT count(*) FROM t", [&](asiolite::error_code ec, std::int64_t n) {
    after_ec = ec;
    rows = n;
    ++done;
  });
  asio::steady_timer wait(ex);
  for (int i = 0; i < 10'000 && done < 3; ++i) {
    wait.expires_after(std::chrono::milliseconds(1));
    co_await wait.async_wait(asio::use_awaitable);
  }
  REQUIRE(done == 3);
  CHECK_FALSE(before_ec);
  CHECK(old_rows == 0);
  CHECK_FALSE(backup_ec);
  CHECK(steps > 5);
  CHECK_FALSE(after_ec);
  CHECK(rows == 200);
  const auto copied = co_await digest_of(mem);
  const auto original = co_await digest_of(db);
  CHECK(copied == original);
  const auto ok = co_await mem.async_query_scalar<std::string>("PRAGMA integrity_check");
  CHECK(ok == "ok");

  // And from memory to a connection on a file.
  co_await mem.async_execute("DELETE FROM t WHERE id > 50");
  auto file = co_await asiolite::connection::async_open(ex, file_path);
  co_await mem.async_backup(file);
  const auto in_file = co_await file.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
  CHECK(in_file == 50);

  // Onto itself: refused. An empty destination: closed. Nothing changed.
  asiolite::diagnostics diag;
  auto [self] = co_await db.async_backup(db, diag, tuple_token);
  CHECK(self == asiolite::errc::misuse);
  asiolite::connection empty(ex);
  auto [none] = co_await db.async_backup(empty, diag, tuple_token);
  CHECK(none == asiolite::errc::closed);
  // A destination that closes first: its loan never begins, and the backup says why.
  co_await file.async_close();
  auto [closed] = co_await db.async_backup(file, diag, tuple_token);
  CHECK(closed == asiolite::errc::closed);
  CHECK(test::contains(diag.message(), "destination connection"));
  const auto still = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
  CHECK(still == 200);
  co_await mem.async_close();
}

}  // namespace

TEST_CASE("backup: into another connection, which waits for it, and from memory to a file, refusing itself") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, fill(db, 200));
  test::run(ctx, backup_into_connections(db, dir.db("copy.db")));
  test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<void> { co_await c.async_close(); }(db));
}

TEST_CASE("backup: into a connection from a multi-threaded io_context, cancelled half way, both connections go on") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  auto mem = test::open(ctx, ":memory:");
  test::run(ctx, fill(db, 400));
  asiolite::error_code result;
  std::int64_t rows_after = -1;
  asio::cancellation_signal cancel;
  asio::co_spawn(
      ctx,
      [](asiolite::connection& src, asiolite::connection& dst, asio::cancellation_signal& sig, asiolite::error_code& ec,
         std::int64_t& rows) -> asio::awaitable<void> {
        asiolite::backup_options o;
        o.pages_per_step = 4;
        int steps = 0;
        o.progress = [&](const asiolite::backup_progress&) {
          if (++steps == 3) sig.emit(asio::cancellation_type::terminal);
        };
        auto [e] = co_await src.async_backup(dst, o, asio::bind_cancellation_slot(sig.slot(), tuple_token));
        ec = e;
        // The destination's loan ended: it serves requests again, and a whole backup works.
        co_await src.async_backup(dst);
        rows = co_await dst.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
      }(db, mem, cancel, result, rows_after),
      asio::detached);
  test::run_on_threads(ctx, 3);
  CHECK(result == asio::error::operation_aborted);
  CHECK(rows_after == 400);
  test::run(ctx, [](asiolite::connection& a, asiolite::connection& b) -> asio::awaitable<void> {
    co_await a.async_close();
    co_await b.async_close();
  }(db, mem));
}
