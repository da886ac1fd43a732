// connection::async_checkpoint and options::wal_autocheckpoint: WAL checkpoints under the
// program's control.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

namespace {

using namespace std::chrono_literals;
using asiolite::checkpoint_mode;
using test::tuple_token;

asio::awaitable<void> write_rows(asiolite::connection& db, int n) {
  for (int i = 0; i < n; ++i) co_await db.async_execute("INSERT INTO t (b) VALUES (zeroblob(1000))");
}

std::uintmax_t wal_bytes(const std::string& path) { return std::filesystem::file_size(path + "-wal"); }

/// What the sqlite3 shell, another process, prints for `sql` on the database at `path`
/// (its first line), or "failed".
std::string shell(const std::string& path, const std::string& sql) {
  const std::string command = "sqlite3 -bail '" + path + "' \"" + sql + "\" 2>&1";
  FILE* p = popen(command.c_str(), "r");
  if (!p) return "failed";
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = pclose(p);
  if (status != 0) return "failed: " + out;
  return out.substr(0, out.find('\n'));
}

}  // namespace

TEST_CASE("checkpoint: each mode reports the log's frames, and truncate empties the log file") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options o;
  o.wal_autocheckpoint = 0;  // only the checkpoints asked for
  auto db = test::open(ctx, dir.db(), o);
  test::run(ctx, [](asiolite::connection& conn, std::string path) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    co_await write_rows(conn, 50);
    const auto passive = co_await conn.async_checkpoint(checkpoint_mode::passive);
    CHECK(passive.log_frames >= 50);
    CHECK(passive.checkpointed_frames == passive.log_frames);  // no reader held any back
    CHECK(wal_bytes(path) > 0);
    const auto full = co_await conn.async_checkpoint(checkpoint_mode::full);
    CHECK(full.checkpointed_frames == full.log_frames);
    co_await write_rows(conn, 5);
    const auto truncated = co_await conn.async_checkpoint(checkpoint_mode::truncate);
    CHECK(truncated.log_frames == 0);
    CHECK(truncated.checkpointed_frames == 0);
    CHECK(wal_bytes(path) == 0);
    const auto rows = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(rows == 55);
    co_await conn.async_close();
  }(db, dir.db()));
}

TEST_CASE("checkpoint: wal_autocheckpoint 0 lets the log grow, a value checkpoints, a negative fails the open") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options off;
  off.wal_autocheckpoint = 0;
  auto grows = test::open(ctx, dir.db("grows.db"), off);
  asiolite::options small;
  small.wal_autocheckpoint = 10;
  auto checkpointed = test::open(ctx, dir.db("small.db"), small);
  test::run(ctx, [](asiolite::connection& a, asiolite::connection& b) -> asio::awaitable<void> {
    for (auto* db : {&a, &b}) {
      co_await db->async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
      co_await write_rows(*db, 60);
    }
    const auto setting = co_await b.async_query_scalar<std::int64_t>("PRAGMA wal_autocheckpoint");
    CHECK(setting == 10);
    const auto left_a = co_await a.async_checkpoint(checkpoint_mode::passive);
    const auto left_b = co_await b.async_checkpoint(checkpoint_mode::passive);
    // Without checkpoints the log holds every commit's pages; with them, the last few.
    CHECK(left_a.log_frames >= 60);
    CHECK(left_b.log_frames < 20);
  }(grows, checkpointed));

  asiolite::options bad;
  bad.wal_autocheckpoint = -1;
  try {
    test::open(ctx, dir.db("bad.db"), bad);
    FAIL("opened");
  } catch (const asiolite::sqlite_error& e) {
    CHECK(e.code() == asiolite::errc::invalid_option);
    CHECK(test::contains(e.what(), "wal_autocheckpoint"));
  }
}

TEST_CASE(
    "checkpoint: a full checkpoint waits for an old reader, fails busy after busy_timeout, and can be cancelled") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options o;
  o.wal_autocheckpoint = 0;
  o.busy_timeout = 50ms;
  auto db = test::open(ctx, dir.db(), o);
  auto reader = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& w, asiolite::connection& r, std::string path) -> asio::awaitable<void> {
    co_await w.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    co_await write_rows(w, 5);
    // The reader's snapshot stays at 5 rows while the writer adds more.
    auto snapshot = co_await r.async_begin(asiolite::begin_mode::deferred);
    const auto seen = co_await snapshot.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(seen == 5);
    co_await write_rows(w, 5);
    asiolite::diagnostics diag;
    auto [busy, none] = co_await w.async_checkpoint(checkpoint_mode::full, diag, tuple_token);
    CHECK(busy == asiolite::errc::busy);
    CHECK(test::contains(diag.message(), "could not finish"));
    // A passive one copies what the reader does not need, without waiting.
    const auto passive = co_await w.async_checkpoint(checkpoint_mode::passive);
    CHECK(passive.checkpointed_frames < passive.log_frames);

    // On a connection that would wait 10 s: cancelled while it waits.
    asiolite::options patient;
    patient.busy_timeout = 10s;
    auto p = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path, patient);
    asio::steady_timer later(co_await asio::this_coro::executor, 30ms);
    later.async_wait([&p](asiolite::error_code) { p.cancel(); });
    auto [cancelled, r2] = co_await p.async_checkpoint(checkpoint_mode::restart, tuple_token);
    CHECK(cancelled == asio::error::operation_aborted);
    const auto still = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(still == 10);
    co_await p.async_close();

    co_await snapshot.async_commit();
    const auto full = co_await w.async_checkpoint(checkpoint_mode::full);
    CHECK(full.checkpointed_frames == full.log_frames);
    co_await r.async_close();
    co_await w.async_close();
  }(db, reader, dir.db()));
}

TEST_CASE("checkpoint: a mode outside the enum fails, and a database not in WAL mode reports -1") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options o;
  o.journal = asiolite::journal_mode::delete_;
  auto db = test::open(ctx, dir.db(), o);
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    auto [ec, r] = co_await conn.async_checkpoint(static_cast<checkpoint_mode>(9), tuple_token);
    CHECK(ec == asiolite::errc::invalid_option);
    const auto not_wal = co_await conn.async_checkpoint(checkpoint_mode::passive);
    CHECK(not_wal.log_frames == -1);
    CHECK(not_wal.checkpointed_frames == -1);
    co_await conn.async_close();
  }(db));
}

TEST_CASE("checkpoint: the sqlite3 shell, another process, reads each commit while asiolite writes, and writes too") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options o;
  o.wal_autocheckpoint = 0;  // the settings for a tool that ships the log (docs/guide.md)
  auto db = test::open(ctx, dir.db(), o);
  test::run(ctx, [](asiolite::connection& conn, std::string path) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    co_await write_rows(conn, 10);
    CHECK(shell(path, "SELECT count(*) FROM t") == "10");
    // asiolite holds the write lock with a transaction open: the shell still reads, the
    // last committed state, without waiting.
    auto tx = co_await conn.async_begin();
    co_await tx.async_execute("INSERT INTO t (b) VALUES (x'01')");
    CHECK(shell(path, "SELECT count(*) FROM t") == "10");
    co_await tx.async_commit();
    CHECK(shell(path, "SELECT count(*) FROM t") == "11");
    CHECK(shell(path, "PRAGMA journal_mode") == "wal");
    // The shell writes while asiolite keeps the database open: asiolite sees it.
    CHECK(shell(path, "INSERT INTO t (b) VALUES (x'02')").empty());
    const auto rows = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(rows == 12);
    // Nothing was checkpointed behind the program's back: every frame is still in the log.
    const auto c = co_await conn.async_checkpoint(checkpoint_mode::passive);
    CHECK(c.log_frames >= 12);
    co_await conn.async_close();
  }(db, dir.db()));
}
