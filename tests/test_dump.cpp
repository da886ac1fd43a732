// connection::async_dump and pool::async_dump: the database as SQL text, streamed in
// chunks, that loads back into the same content.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace {

using test::tuple_token;

constexpr const char* rich_schema = R"sql(
CREATE TABLE people (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, note TEXT, photo BLOB, score REAL);
CREATE TABLE "odd ""name"" table" (k TEXT PRIMARY KEY, v ANY) WITHOUT ROWID;
CREATE TABLE log (at INTEGER, what TEXT);
CREATE INDEX people_name ON people (name);
CREATE UNIQUE INDEX people_note ON people (note) WHERE note IS NOT NULL;
CREATE VIEW named AS SELECT id, name FROM people WHERE name <> '';
CREATE TRIGGER people_log AFTER INSERT ON people BEGIN INSERT INTO log VALUES (new.id, 'added ' || new.name); END;
INSERT INTO people (name, note, photo, score) VALUES
  ('plain', NULL, NULL, NULL),
  ('it''s "quoted"', 'line one
line two', x'00FF10', 0.1),
  ('tab	and unicode é €', 'ünïcödé ✓', x'', -1e308),
  ('nul', CAST(x'61006200' AS TEXT), randomblob(3000), 3.0);
DELETE FROM people WHERE name = 'plain';
INSERT INTO "odd ""name"" table" VALUES ('a', 1), ('b', 2.5), ('c', 'text'), ('d', x'01'), ('e', NULL);
)sql";

/// Every table's rows and the schema, as text that compares exactly.
asio::awaitable<std::vector<std::string>> dump_content(asiolite::connection& db) {
  std::vector<std::string> out;
  for (const auto& [sql] : co_await db.async_query<std::tuple<std::string>>(
           "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name"))
    out.push_back(sql);
  const char* const reads[] = {
      ("SELECT id || '|' || quote(name) || '|' || quote(note) || '|' || quote(photo) || '|' || quote(score) "
       "FROM people ORDER BY id"),
      "SELECT quote(k) || '|' || quote(v) || '|' || typeof(v) FROM \"odd \"\"name\"\" table\" ORDER BY k",
      "SELECT at || '|' || what FROM log ORDER BY at",
      "SELECT name || '|' || seq FROM sqlite_sequence",
  };
  for (const char* sql : reads)
    for (auto& line : co_await db.async_query<std::string>(sql)) out.push_back(std::move(line));
  co_return out;
}

asio::awaitable<void> dump_round_trip(asiolite::connection& db) {
  co_await db.async_execute_script(rich_schema);
  std::string text;
  int chunks = 0;
  bool whole_statements = true;
  asiolite::dump_options small;
  small.chunk_bytes = 200;
  co_await db.async_dump(
      [&](std::string_view chunk) {
        ++chunks;
        text += chunk;
        whole_statements = whole_statements && chunk.size() >= 2 && chunk.substr(chunk.size() - 2) == ";\n";
      },
      small);
  CHECK(chunks > 3);
  CHECK(whole_statements);
  CHECK(text.starts_with("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"));
  CHECK(text.ends_with("COMMIT;\n"));

  auto copy = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, ":memory:");
  co_await copy.async_execute_script(text);
  const auto original = co_await dump_content(db);
  const auto loaded = co_await dump_content(copy);
  CHECK(loaded == original);
  CHECK(original.size() > 15);
  // What the schema does came along: the trigger fires, the unique index refuses.
  co_await copy.async_execute("INSERT INTO people (name) VALUES ('new')");
  const auto logged =
      co_await copy.async_query_scalar<std::int64_t>("SELECT count(*) FROM log WHERE what = 'added new'");
  CHECK(logged == 1);
  auto [dup, r] = co_await copy.async_execute("INSERT INTO people (name, note) VALUES ('x', 'ünïcödé ✓')", tuple_token);
  CHECK(dup == asiolite::errc::constraint);
  // One chunk or many: the same text.
  std::string whole;
  co_await db.async_dump([&](std::string_view chunk) { whole += chunk; });
  CHECK(whole == text);
  co_await copy.async_close();
}

asio::awaitable<void> awaitable_sink_to_a_file(asiolite::connection& db, std::string path) {
  co_await db.async_execute_script(rich_schema);
  {
    std::ofstream file(path, std::ios::binary);
    auto ex = co_await asio::this_coro::executor;
    asiolite::dump_options o;
    o.chunk_bytes = 64;
    // The sink may be a coroutine: the next chunk waits for it.
    co_await db.async_dump(
        [&file, ex](std::string_view chunk) -> asio::awaitable<void> {
          std::string kept(chunk);  // the view lasts only until the first suspension
          asio::steady_timer pause(ex, std::chrono::milliseconds(1));
          co_await pause.async_wait(asio::use_awaitable);
          file << kept;
        },
        o);
  }
}

// The sqlite3 shell, another process, loads the dump.
bool shell_loads(const std::string& dump, const std::string& db, const std::string& out) {
  const std::string command = "sqlite3 '" + db + "' < '" + dump + "' && sqlite3 '" + db +
                              "' \"SELECT count(*) || ',' || sum(length(photo)) FROM people\" > '" + out + "'";
  return std::system(command.c_str()) == 0;
}

}  // namespace

TEST_CASE("dump: blobs, NULLs, quotes, newlines, indexes, triggers and views load back into the same content") {
  test::database d("");
  d.run(dump_round_trip);
}

TEST_CASE("dump: an awaitable sink writes a file that the sqlite3 shell loads") {
  test::database d("");
  const std::string file = d.dir.db("dump.sql");
  test::run(d.ctx, awaitable_sink_to_a_file(d.db, file));
  const std::string loaded = d.dir.db("loaded.db");
  const std::string out = d.dir.db("out.txt");
  REQUIRE(shell_loads(file, loaded, out));
  std::ifstream result(out);
  std::string line;
  std::getline(result, line);
  CHECK(line == "3,3003");
}

TEST_CASE("dump: one snapshot, with the connection's other requests after it, a pool's writer writing beside it") {
  test::database d("CREATE TABLE t (v); INSERT INTO t VALUES (1), (2), (3);");
  std::string text;
  bool wrote = false;
  // The dump holds its connection: a write made while it runs waits for it.
  d.run([&](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::dump_options one;
    one.chunk_bytes = 1;
    co_await db.async_dump(
        [&](std::string_view chunk) {
          if (!wrote) {
            wrote = true;
            db.async_execute("INSERT INTO t VALUES (4)", [](asiolite::error_code, asiolite::execute_result) {});
          }
          text += chunk;
        },
        one);
    const auto rows = co_await test::count(db);
    CHECK(rows == 4);
  });
  CHECK(text.find("VALUES(3)") != std::string::npos);
  CHECK(text.find("VALUES(4)") == std::string::npos);

  test::temp_dir dir;
  asio::io_context ctx;
  test::run(ctx, [](std::string path) -> asio::awaitable<void> {
    auto p = co_await test::open_pool(path, 1);
    co_await p.writer().async_execute_script(
        "CREATE TABLE t (v);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO t SELECT i FROM n");
    std::string dumped;
    int writes = 0;
    asiolite::dump_options o;
    o.chunk_bytes = 512;
    co_await p.async_dump(
        [&](std::string_view chunk) {
          dumped += chunk;
          // The writer is free: each write completes while the dump goes on.
          p.writer().async_execute("INSERT INTO t VALUES (-1)", [&](asiolite::error_code ec, asiolite::execute_result) {
            if (!ec) ++writes;
          });
        },
        o);
    auto copy = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, ":memory:");
    co_await copy.async_execute_script(dumped);
    const auto copied = co_await test::count(copy);
    CHECK(copied == 1000);  // the snapshot, none of the writes made during the dump
    co_await p.writer().async_execute("SELECT 1");
    CHECK(writes > 3);
    co_await copy.async_close();
    co_await p.async_close();
  }(dir.db()));
}

TEST_CASE("dump: cancelled half way, it stops with operation_aborted and the connection goes on") {
  test::database d(
      "CREATE TABLE t (v);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) INSERT INTO t SELECT i FROM n");
  d.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asio::cancellation_signal cancel;
    int chunks = 0;
    asiolite::dump_options o;
    o.chunk_bytes = 1000;
    auto [ec] = co_await db.async_dump(
        [&](std::string_view) {
          if (++chunks == 3) cancel.emit(asio::cancellation_type::terminal);
        },
        o, asio::bind_cancellation_slot(cancel.slot(), tuple_token));
    CHECK(ec == asio::error::operation_aborted);
    CHECK(chunks == 3);
    // The read transaction is gone: a write runs, and a whole dump still works.
    co_await db.async_execute("INSERT INTO t VALUES (0)");
    std::size_t bytes = 0;
    co_await db.async_dump([&](std::string_view chunk) { bytes += chunk.size(); });
    CHECK(bytes > 5000 * 20);
  });
}

TEST_CASE("dump: a zero chunk size, a missing database and a throwing sink fail clearly, and the connection goes on") {
  test::database d("CREATE TABLE t (v); INSERT INTO t VALUES (1);");
  d.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    int calls = 0;
    asiolite::dump_options zero;
    zero.chunk_bytes = 0;
    auto [bad_size] = co_await db.async_dump([&](std::string_view) { ++calls; }, zero, diag, tuple_token);
    CHECK(bad_size == asiolite::errc::invalid_option);
    asiolite::dump_options missing;
    missing.database = "nope";
    auto [no_db] = co_await db.async_dump([&](std::string_view) { ++calls; }, missing, diag, tuple_token);
    CHECK(no_db == asiolite::errc::error);
    CHECK(calls == 0);
    auto [threw] =
        co_await db.async_dump([](std::string_view) { throw std::runtime_error("disk full"); }, diag, tuple_token);
    CHECK(threw == asiolite::errc::user_exception);
    CHECK(diag.message() == "disk full");
    co_await db.async_execute("INSERT INTO t VALUES (2)");
    const auto rows = co_await test::count(db);
    CHECK(rows == 2);
  });
}
