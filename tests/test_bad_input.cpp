// Bad input, case by case through the public API: each gets its exact error, the process
// survives, the connection stays usable, and no row written before is lost. (test_error.cpp
// covers how errors are delivered; this file is the catalogue of what a program may get wrong.)
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using namespace std::string_literals;
using test::tuple_token;
constexpr std::int64_t seeded_rows = 100;

struct outcome {
  asiolite::error_code ec;
  std::string message;
};

// A connection to a file holding t(id, name UNIQUE, n) with rows 1..100 (n = id * id).
struct seeded {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::connection db;

  explicit seeded(const asiolite::options& opts = {}) : db(test::open(ctx, dir.db(), opts)) {
    test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<void> {
      co_await c.async_execute_script("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER)");
      std::vector<std::tuple<std::int64_t, std::string, std::int64_t>> rows;
      for (std::int64_t i = 1; i <= seeded_rows; ++i) rows.emplace_back(i, "row" + std::to_string(i), i * i);
      co_await c.async_execute_many("INSERT INTO t VALUES (?, ?, ?)", rows);
    }(db));
  }

  // Runs `attempt`, then checks that its outcome is `want` with a message containing
  // `part`, that the connection still writes and reads, and that the seeded rows are all there.
  // `want`: an errc (compared as a condition), or an exact asiolite::error_code.
  template <class Attempt, class Want>
  void expect(Attempt attempt, Want want, std::string_view part) {
    const outcome got = test::run(ctx, attempt(db));
    CHECK(got.ec == want);
    INFO("message: " << got.message);
    CHECK(got.message.find(part) != std::string::npos);
    check_usable_and_intact();
  }

  void check_usable_and_intact() {
    const auto [seeded_count, seeded_sum, written] =
        test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<std::tuple<std::int64_t, std::int64_t, bool>> {
          const auto r = co_await c.async_execute("INSERT INTO t(name, n) VALUES ('after', -1)");
          const auto back = co_await c.async_query_scalar<std::int64_t>("SELECT n FROM t WHERE id = ?",
                                                                        r.last_insert_rowid);
          co_await c.async_execute("DELETE FROM t WHERE id = ?", r.last_insert_rowid);
          const auto count = co_await c.async_query_scalar<std::int64_t>("SELECT count(*) FROM t WHERE id <= 100");
          const auto sum = co_await c.async_query_scalar<std::int64_t>("SELECT sum(n) FROM t WHERE id <= 100");
          co_return std::tuple{count, sum, back == -1};
        }(db));
    CHECK(written);
    CHECK(seeded_count == seeded_rows);
    CHECK(seeded_sum == 338350);  // 1^2 + ... + 100^2
  }
};

asio::awaitable<outcome> execute(asiolite::connection& db, std::string sql) {
  asiolite::diagnostics diag;
  auto [ec, r] = co_await db.async_execute(sql, diag, tuple_token);
  outcome o{ec, diag.message()};
  co_return o;
}

template <class... Args>
std::function<asio::awaitable<outcome>(asiolite::connection&)> execute_with(std::string sql, Args... args) {
  return [sql, args...](asiolite::connection& db) -> asio::awaitable<outcome> {
    asiolite::diagnostics diag;
    auto [ec, r] = co_await db.async_execute(sql, args..., diag, tuple_token);
    outcome o{ec, diag.message()};
    co_return o;
  };
}

template <class T>
std::function<asio::awaitable<outcome>(asiolite::connection&)> scalar(std::string sql) {
  return [sql](asiolite::connection& db) -> asio::awaitable<outcome> {
    asiolite::diagnostics diag;
    auto [ec, v] = co_await db.async_query_scalar<T>(sql, diag, tuple_token);
    outcome o{ec, diag.message()};
    co_return o;
  };
}

std::function<asio::awaitable<outcome>(asiolite::connection&)> sql_of(std::string sql) {
  return [sql](asiolite::connection& db) { return execute(db, sql); };
}

// Opens another connection, in the fixture's directory, with options that must be refused.
outcome open_with(seeded& fx, const std::string& path, const asiolite::options& opts) {
  return test::run(fx.ctx, [](std::string p, asiolite::options o) -> asio::awaitable<outcome> {
    asiolite::diagnostics diag;
    auto [ec, db] =
        co_await asiolite::connection::async_open(co_await asio::this_coro::executor, p, o, diag, tuple_token);
    CHECK_FALSE(db.is_open());
    outcome result{ec, diag.message()};
    co_return result;
  }(path, opts));
}

// What a refused open's message must be: all of it, or a part (SQLite's words around it).
enum class match { whole, part };

// Whether the refused open got as far as creating the file (a pragma fails after it).
enum class file { not_made, made };

// An open with `opts`, beside a seeded connection, fails with `want` and `message`; the
// seeded connection is unaffected.
void expect_open_refused(const asiolite::options& opts, asiolite::errc want, const std::string& message,
                         match how = match::whole, file made = file::not_made) {
  seeded fx;
  const outcome got = open_with(fx, fx.dir.db("other.db"), opts);
  CHECK(got.ec == want);
  INFO("message: " << got.message);
  if (how == match::whole)
    CHECK(got.message == message);
  else
    CHECK(got.message.find(message) != std::string::npos);
  CHECK(std::filesystem::exists(fx.dir.db("other.db")) == (made == file::made));
  fx.check_usable_and_intact();
}

}  // namespace

// ---- options outside their range fail the open, naming the field

TEST_CASE("bad input: journal_mode 6 (an integer cast from a config file) fails the open with invalid_option") {
  asiolite::options opts;
  opts.journal = static_cast<asiolite::journal_mode>(6);
  expect_open_refused(opts, asiolite::errc::invalid_option, "options::journal is 6, outside journal_mode (0 to 5)");
}

TEST_CASE("bad input: journal_mode -1 fails the open with invalid_option") {
  asiolite::options opts;
  opts.journal = static_cast<asiolite::journal_mode>(-1);
  expect_open_refused(opts, asiolite::errc::invalid_option, "options::journal is -1, outside journal_mode (0 to 5)");
}

TEST_CASE("bad input: synchronous_mode 4 fails the open with invalid_option") {
  asiolite::options opts;
  opts.synchronous = static_cast<asiolite::synchronous_mode>(4);
  expect_open_refused(opts, asiolite::errc::invalid_option,
                      "options::synchronous is 4, outside synchronous_mode (0 to 3)");
}

TEST_CASE("bad input: open_mode 3 fails the open with invalid_option") {
  asiolite::options opts;
  opts.mode = static_cast<asiolite::open_mode>(3);
  expect_open_refused(opts, asiolite::errc::invalid_option, "options::mode is 3, outside open_mode (0 to 2)");
}

TEST_CASE("bad input: a negative busy_timeout fails the open with invalid_option") {
  asiolite::options opts;
  opts.busy_timeout = std::chrono::milliseconds(-1);
  expect_open_refused(opts, asiolite::errc::invalid_option, "options::busy_timeout is negative (-1 ms)");
}

TEST_CASE("bad input: a negative statement_timeout fails the open with invalid_option") {
  asiolite::options opts;
  opts.statement_timeout = std::chrono::milliseconds(-20);
  expect_open_refused(opts, asiolite::errc::invalid_option, "options::statement_timeout is negative (-20 ms)");
}

TEST_CASE("bad input: a negative queue_timeout fails the open with invalid_option") {
  asiolite::options opts;
  opts.queue_timeout = std::chrono::milliseconds(-5);
  expect_open_refused(opts, asiolite::errc::invalid_option, "options::queue_timeout is negative (-5 ms)");
}

TEST_CASE("bad input: a negative spin_wait fails the open with invalid_option") {
  asiolite::options opts;
  opts.spin_wait = std::chrono::microseconds(-1);
  expect_open_refused(opts, asiolite::errc::invalid_option, "options::spin_wait is negative (-1 us)");
}

TEST_CASE("bad input: cursor_batch_size 0 fails the open with invalid_option") {
  asiolite::options opts;
  opts.cursor_batch_size = 0;
  expect_open_refused(opts, asiolite::errc::invalid_option,
                      "options::cursor_batch_size is 0: a cursor fetches at least one row at a time");
}

TEST_CASE("bad input: a NUL in the vfs name fails the open with embedded_nul") {
  asiolite::options opts;
  opts.vfs = "unix\0-dotfile"s;
  expect_open_refused(opts, asiolite::errc::embedded_nul, "options::vfs holds a NUL character");
}

TEST_CASE("bad input: an unknown vfs fails the open with SQLite's message") {
  asiolite::options opts;
  opts.vfs = "no-such-vfs";
  expect_open_refused(opts, asiolite::errc::error, "no such vfs: no-such-vfs", match::part);
}

TEST_CASE("bad input: a pragma that is not SQL fails the open and names the pragma") {
  asiolite::options opts;
  opts.pragmas = {"cache_size = = 2"};
  expect_open_refused(opts, asiolite::errc::error, "(in PRAGMA cache_size = = 2)", match::part, file::made);
}

TEST_CASE("bad input: a pragma holding a NUL fails the open with embedded_nul") {
  asiolite::options opts;
  opts.pragmas = {"cache_size = 100\0; nonsense"s};
  expect_open_refused(opts, asiolite::errc::embedded_nul, "NUL character at offset 23", match::part, file::made);
}

TEST_CASE("bad input: a path with a NUL fails the open with embedded_nul instead of opening the prefix") {
  seeded fx;
  const std::string path = fx.dir.db("x.db") + "\0.bak"s;
  const outcome got = open_with(fx, path, {});
  CHECK(got.ec == asiolite::errc::embedded_nul);
  CHECK(got.message == "the path holds a NUL character at offset " + std::to_string(fx.dir.db("x.db").size()));
  CHECK_FALSE(std::filesystem::exists(fx.dir.db("x.db")));
  fx.check_usable_and_intact();
}

// ---- duration::max() means "no limit", never an overflow

TEST_CASE("bad input: statement_timeout max lets a long statement run to its end") {
  // now() + max overflowed: every statement that reached the progress handler timed out.
  asiolite::options opts;
  opts.statement_timeout = std::chrono::milliseconds::max();
  seeded fx(opts);
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        asiolite::diagnostics diag;
        auto [ec, n] = co_await db.async_query_scalar<std::int64_t>(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000) SELECT count(*) FROM c",
            diag, tuple_token);
        CHECK(n == 200000);
        outcome o{ec, diag.message()};
        co_return o;
      },
      asiolite::error_code{}, "");
}

TEST_CASE("bad input: spin_wait, queue_timeout and busy_timeout max work as no limit") {
  asiolite::options opts;
  opts.spin_wait = std::chrono::microseconds::max();
  opts.queue_timeout = std::chrono::milliseconds::max();
  opts.busy_timeout = std::chrono::milliseconds::max();
  seeded fx(opts);
  // A request queued behind another (so that it has a queue deadline), then a burst: all
  // run, and run() returns (a deadline timer left waiting would keep it running).
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        test::worker_block block;
        block.hold(db);
        block.wait_entered();
        asiolite::diagnostics diag;
        auto queued = db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t", diag, asio::use_future);
        block.release();
        CHECK(queued.get() == seeded_rows);
        for (int i = 0; i < 50; ++i) co_await db.async_query_scalar<std::int64_t>("SELECT ?", i);
        co_return outcome{};
      },
      asiolite::error_code{}, "");
}

// ---- SQL text

TEST_CASE("bad input: SQL with a NUL fails with embedded_nul and the part before it does not run") {
  seeded fx;
  fx.expect(sql_of("INSERT INTO t(name) VALUES ('before-nul')\0 garbage"s), asiolite::errc::embedded_nul,
            "the SQL text holds a NUL character at offset 41");
  const auto n = test::run(fx.ctx, [](asiolite::connection& db) -> asio::awaitable<std::int64_t> {
    co_return co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t WHERE name = 'before-nul'");
  }(fx.db));
  CHECK(n == 0);
}

TEST_CASE("bad input: a script with a NUL fails with embedded_nul and none of it runs") {
  seeded fx;
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        asiolite::diagnostics diag;
        const std::string script = "DELETE FROM t; INSERT INTO t(name) VALUES ('x');\0 DROP TABLE t"s;
        auto [ec] = co_await db.async_execute_script(script, diag, tuple_token);
        outcome o{ec, diag.message()};
        co_return o;
      },
      asiolite::errc::embedded_nul, "NUL character at offset 48");
}

TEST_CASE("bad input: a query, a prepare, execute_many and a cursor with a NUL in their SQL fail with embedded_nul") {
  seeded fx;
  fx.expect(scalar<std::int64_t>("SELECT count(*) FROM t\0 WHERE id = 1"s), asiolite::errc::embedded_nul,
            "offset 22");
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        asiolite::diagnostics diag;
        auto [ec, stmt] = co_await db.async_prepare("DELETE FROM t\0 WHERE id = 1"s, diag, tuple_token);
        outcome o{ec, diag.message()};
        co_return o;
      },
      asiolite::errc::embedded_nul, "offset 13");
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        asiolite::diagnostics diag;
        const std::vector<int> ids{1, 2, 3};
        auto [ec, r] = co_await db.async_execute_many("DELETE FROM t WHERE id = ?\0 OR 1"s, ids, diag, tuple_token);
        outcome o{ec, diag.message()};
        co_return o;
      },
      asiolite::errc::embedded_nul, "offset 26");
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        asiolite::diagnostics diag;
        auto [ec, cur] = co_await db.async_cursor<std::int64_t>("SELECT id FROM t\0"s, diag, tuple_token);
        outcome o{ec, diag.message()};
        co_return o;
      },
      asiolite::errc::embedded_nul, "offset 16");
}

TEST_CASE("bad input: empty SQL and SQL of only a comment fail with empty_statement") {
  seeded fx;
  fx.expect(sql_of(""), asiolite::errc::empty_statement, "holds no statement");
  fx.expect(sql_of("  -- nothing here\n /* nor here */ "), asiolite::errc::empty_statement, "holds no statement");
}

TEST_CASE("bad input: two statements in async_execute fail with multiple_statements and the first does not run") {
  seeded fx;
  fx.expect(sql_of("DELETE FROM t; DELETE FROM t"), asiolite::errc::multiple_statements, "more than one statement");
}

TEST_CASE("bad input: a syntax error and a missing table fail with SQLite's message") {
  seeded fx;
  fx.expect(sql_of("DELET FROM t"), asiolite::errc::error, "near \"DELET\": syntax error");
  fx.expect(sql_of("DELETE FROM missing"), asiolite::errc::error, "no such table: missing");
}

TEST_CASE("bad input: SQL of 10 MB runs whole") {
  seeded fx;
  const std::string literal(10'000'000, 'a');
  const auto n = test::run(fx.ctx, [](asiolite::connection& db, std::string sql) -> asio::awaitable<std::int64_t> {
    co_return co_await db.async_query_scalar<std::int64_t>(sql);
  }(fx.db, "SELECT length('" + literal + "')"));
  CHECK(n == 10'000'000);
  fx.check_usable_and_intact();
}

TEST_CASE("bad input: a parser-depth bomb of nested parentheses fails with SQLite's depth limit") {
  seeded fx;
  const std::size_t depth = 100'000;
  fx.expect(scalar<std::int64_t>("SELECT " + std::string(depth, '(') + "1" + std::string(depth, ')')),
            asiolite::errc::error, "parser stack overflow");
}

TEST_CASE("bad input: a deeply nested expression fails with SQLite's expression depth limit") {
  seeded fx;
  std::string sql = "SELECT 1";
  for (int i = 0; i < 5000; ++i) sql += " + 1";
  fx.expect(scalar<std::int64_t>(sql), asiolite::errc::error, "Expression tree is too large");
}

TEST_CASE("bad input: a blob over SQLite's length limit fails with toobig") {
  seeded fx;
  fx.expect(scalar<std::int64_t>("SELECT length(zeroblob(2000000000))"), asiolite::errc::toobig,
            "string or blob too big");
}

TEST_CASE("bad input: a bound blob over the connection's length limit fails with toobig and writes nothing") {
  asiolite::options opts;
  opts.on_open = [](asiolite::sync_handle& h) { sqlite3_limit(h.native_handle(), SQLITE_LIMIT_LENGTH, 1 << 20); };
  seeded fx(opts);
  const std::vector<std::byte> big(2 << 20, std::byte{7});
  fx.expect(execute_with("INSERT INTO t(name) VALUES (?)", big), asiolite::errc::toobig, "");
}

// ---- arguments and results

TEST_CASE("bad input: too few or too many arguments fail with parameter_count") {
  seeded fx;
  fx.expect(execute_with("INSERT INTO t(name, n) VALUES (?, ?)", "one"s), asiolite::errc::parameter_count,
            "2 parameters");
  fx.expect(execute_with("INSERT INTO t(name) VALUES (?)", "one"s, 2, 3), asiolite::errc::parameter_count,
            "1 parameter");
}

TEST_CASE("bad input: a named argument that matches no parameter fails with unknown_parameter") {
  seeded fx;
  fx.expect(execute_with("INSERT INTO t(name) VALUES (:name)", asiolite::named(":nmae", "x"s)),
            asiolite::errc::unknown_parameter, ":nmae");
}

TEST_CASE("bad input: text that is not UTF-8 fails with invalid_utf8") {
  seeded fx;
  fx.expect(execute_with("INSERT INTO t(name) VALUES (?)", "bad\xff\xfe"s), asiolite::errc::invalid_utf8, "UTF-8");
}

TEST_CASE("bad input: NaN and an unsigned value above INT64_MAX fail to bind with out_of_range") {
  seeded fx;
  fx.expect(execute_with("INSERT INTO t(n) VALUES (?)", std::nan("")), asiolite::errc::out_of_range, "NaN");
  fx.expect(execute_with("INSERT INTO t(n) VALUES (?)", std::numeric_limits<std::uint64_t>::max()),
            asiolite::errc::out_of_range, "");
}

TEST_CASE("bad input: text read as an integer, NULL read as an integer, 300 read as int8 each fail clearly") {
  seeded fx;
  fx.expect(scalar<int>("SELECT name FROM t WHERE id = 1"), asiolite::errc::type_mismatch, "TEXT");
  fx.expect(scalar<int>("SELECT NULL"), asiolite::errc::unexpected_null, "");
  fx.expect(scalar<std::int8_t>("SELECT 300"), asiolite::errc::out_of_range, "300");
}

TEST_CASE("bad input: a row type with the wrong number of fields fails with column_count") {
  seeded fx;
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        asiolite::diagnostics diag;
        auto [ec, rows] = co_await db.async_query<std::tuple<int, std::string>>("SELECT id FROM t", diag, tuple_token);
        outcome o{ec, diag.message()};
        co_return o;
      },
      asiolite::errc::column_count, "");
}

TEST_CASE("bad input: query_one of two rows and query_scalar of none fail with too_many_rows and no_rows") {
  seeded fx;
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        asiolite::diagnostics diag;
        auto [ec, row] = co_await db.async_query_one<int>("SELECT id FROM t WHERE id <= 2", diag, tuple_token);
        outcome o{ec, diag.message()};
        co_return o;
      },
      asiolite::errc::too_many_rows, "");
  fx.expect(scalar<int>("SELECT id FROM t WHERE id < 0"), asiolite::errc::no_rows, "no rows");
}

TEST_CASE("bad input: a UNIQUE violation fails with constraint and changes nothing") {
  seeded fx;
  fx.expect(execute_with("INSERT INTO t(name) VALUES (?)", "row7"s),
            asiolite::make_sqlite_error_code(SQLITE_CONSTRAINT_UNIQUE), "UNIQUE constraint failed: t.name");
}

TEST_CASE("bad input: text with a NUL inside is a value like any other, stored and read back whole") {
  seeded fx;
  const std::string value = "a\0b\0"s;
  const auto back = test::run(fx.ctx, [](asiolite::connection& db, std::string v) -> asio::awaitable<std::string> {
    const auto r = co_await db.async_execute("INSERT INTO t(name) VALUES (?)", v);
    co_return co_await db.async_query_scalar<std::string>("SELECT name FROM t WHERE id = ?", r.last_insert_rowid);
  }(fx.db, value));
  CHECK(back == value);
  fx.check_usable_and_intact();
}

// ---- user code on the worker

TEST_CASE("bad input: a callable that throws fails with user_exception carrying what()") {
  seeded fx;
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        asiolite::diagnostics diag;
        auto [ec] = co_await db.async_call([](asiolite::sync_handle&) { throw std::runtime_error("config is wrong"); },
                                           diag, tuple_token);
        outcome o{ec, diag.message()};
        co_return o;
      },
      asiolite::errc::user_exception, "config is wrong");
}

TEST_CASE("bad input: a callable that calls sqlite3_close on the raw handle gets SQLITE_BUSY and changes nothing") {
  seeded fx;
  const int rc = test::run(fx.ctx, [](asiolite::connection& db) -> asio::awaitable<int> {
    co_return co_await db.async_call([](asiolite::sync_handle& h) { return sqlite3_close(h.native_handle()); });
  }(fx.db));
  CHECK(rc == SQLITE_BUSY);
  fx.check_usable_and_intact();
}

TEST_CASE("bad input: a callable that calls sqlite3_close_v2 leaves a connection whose requests fail with misuse") {
  // Not recoverable (the handle is a zombie), but no crash, and nothing written is lost.
  test::temp_dir dir;
  {
    seeded fx;
    test::run(fx.ctx, [](asiolite::connection& db) -> asio::awaitable<void> {
      const int rc = co_await db.async_call([](asiolite::sync_handle& h) { return sqlite3_close_v2(h.native_handle()); });
      CHECK(rc == SQLITE_OK);
      asiolite::diagnostics diag;
      auto [ec, n] = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t", diag, tuple_token);
      CHECK(ec == asiolite::errc::misuse);
      co_await db.async_close();
    }(fx.db));
    std::filesystem::copy(fx.dir.db(), dir.db());
  }
  asio::io_context ctx;
  auto again = test::open(ctx, dir.db());
  const auto n = test::run(ctx, [](asiolite::connection& db) -> asio::awaitable<std::int64_t> {
    co_return co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
  }(again));
  CHECK(n == seeded_rows);
}

TEST_CASE("bad input: a request made from a callable on its own connection fails with on_own_worker") {
  // Before, it queued behind the callable that waited for it: the connection hung for good.
  seeded fx;
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        outcome inner;
        asiolite::diagnostics diag;
        co_await db.async_call([&db, &inner](asiolite::sync_handle&) {
          auto fut = db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t", asio::use_future);
          try {
            fut.get();
          } catch (const asiolite::sqlite_error& e) {
            inner = {e.code(), e.get_diagnostics().message()};
          }
        });
        co_return inner;
      },
      asiolite::errc::on_own_worker, "use the sync_handle there");
}

TEST_CASE("bad input: a transaction begun from a callable on its own connection fails with on_own_worker") {
  seeded fx;
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        outcome inner;
        co_await db.async_call([&db, &inner](asiolite::sync_handle&) {
          db.async_begin([&inner](asiolite::error_code ec, asiolite::transaction) { inner.ec = ec; });
        });
        // The callback ran on the connection's executor, after the callable returned.
        co_await db.async_query_scalar<std::int64_t>("SELECT 1");
        co_return inner;
      },
      asiolite::errc::on_own_worker, "");
}

// ---- handles used wrongly

TEST_CASE("bad input: a moved-from connection fails with closed, the one moved to works") {
  seeded fx;
  asiolite::connection moved = std::move(fx.db);
  const outcome got = test::run(fx.ctx, execute(fx.db, "DELETE FROM t"));
  CHECK(got.ec == asiolite::errc::closed);
  fx.db = std::move(moved);
  fx.check_usable_and_intact();
}

TEST_CASE("bad input: a request after async_close fails with closed, and the connection opens again") {
  seeded fx;
  test::run(fx.ctx, [](asiolite::connection& db) -> asio::awaitable<void> { co_await db.async_close(); }(fx.db));
  const outcome got = test::run(fx.ctx, execute(fx.db, "DELETE FROM t"));
  CHECK(got.ec == asiolite::errc::closed);
  test::run(fx.ctx, [](asiolite::connection& db, std::string path) -> asio::awaitable<void> {
    co_await db.async_open(path);
  }(fx.db, fx.dir.db()));
  fx.check_usable_and_intact();
}

TEST_CASE("bad input: async_open on an open connection fails with already_open and leaves it open") {
  seeded fx;
  fx.expect(
      [](asiolite::connection& db) -> asio::awaitable<outcome> {
        asiolite::diagnostics diag;
        auto [ec] = co_await db.async_open("elsewhere.db", diag, tuple_token);
        outcome o{ec, diag.message()};
        co_return o;
      },
      asiolite::errc::already_open, "");
}

TEST_CASE("bad input: a write while a cursor part way through its result reads fails at once and names the cursor") {
  // SQLite calls no busy handler for a connection that already reads: busy_timeout does
  // not apply, and the message says why.
  seeded fx;
  auto other = test::open(fx.ctx, fx.dir.db());
  auto writer_tx = test::run(fx.ctx, [](asiolite::connection& o) -> asio::awaitable<asiolite::transaction> {
    co_return co_await o.async_begin();
  }(other));
  std::optional<asiolite::cursor<std::int64_t>> cur =
      test::run(fx.ctx, [](asiolite::connection& db) -> asio::awaitable<asiolite::cursor<std::int64_t>> {
        const asiolite::cursor_options one_per_batch{1};
        auto c = co_await db.async_cursor<std::int64_t>(one_per_batch, "SELECT id FROM t ORDER BY id");
        const auto first = co_await c.async_next();
        CHECK(first == std::optional<std::int64_t>(1));
        co_return c;
      }(fx.db));
  const outcome got = test::run(fx.ctx, execute(fx.db, "UPDATE t SET n = 0 WHERE id = 1"));
  CHECK(got.ec == asiolite::errc::busy);
  INFO(got.message);
  CHECK(got.message.find("a cursor on this connection is part way through its result (SELECT id FROM t ORDER BY id)") !=
        std::string::npos);
  test::run(fx.ctx, [](asiolite::transaction& tx) -> asio::awaitable<void> { co_await tx.async_rollback(); }(writer_tx));
  cur.reset();  // lets go of the statement, and of the read transaction with it
  fx.check_usable_and_intact();
}
