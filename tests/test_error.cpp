// error.hpp and every failure a request can meet: each error is reported clearly (code,
// message, SQL), through every completion token, and leaves the connection usable.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <future>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// t(id, name UNIQUE NOT NULL, n CHECK n >= 0, parent -> t.id): one table that can violate
// every kind of constraint.
struct error_db : test::database {
  error_db()
      : database(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER CHECK (n >= 0), "
            "parent INTEGER REFERENCES t(id))") {}
};

using test::tuple_token;

using test::contains;

// Proves the connection still works after a failure: a write, then reading it back.
asio::awaitable<void> check_usable(asiolite::connection& db) {
  const auto before = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
  const std::string name = "usable-" + std::to_string(before);
  const auto r = co_await db.async_execute("INSERT INTO t(name, n) VALUES (?, ?)", name, before);
  const auto back = co_await db.async_query_scalar<std::string>("SELECT name FROM t WHERE id = ?", r.last_insert_rowid);
  const auto after = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
  CHECK(r.changes == 1);
  CHECK(back == name);
  CHECK(after == before + 1);
}

asio::awaitable<std::int64_t> count_rows(asiolite::connection& db) {
  co_return co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
}

}  // namespace

// ---- SQL text

TEST_CASE("invalid SQL fails with SQLite's own message and the SQL text, and the connection stays usable") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [ec, r] = co_await db.async_execute("SELEC 1", diag, tuple_token);
    CHECK(ec == asiolite::errc::error);
    CHECK(ec.value() == SQLITE_ERROR);
    CHECK(ec.category() == asiolite::error_category());
    CHECK(contains(diag.message(), "near \"SELEC\": syntax error"));
    CHECK(diag.sql() == "SELEC 1");
    CHECK(r.changes == 0);
    co_await check_usable(db);

    auto [ec2, rows] = co_await db.async_query("SELECT * FROM no_such_table", diag, tuple_token);
    CHECK(ec2 == asiolite::errc::error);
    CHECK(contains(diag.message(), "no such table: no_such_table"));
    CHECK(rows.empty());
    co_await check_usable(db);

    auto [ec3, v] = co_await db.async_query_scalar<int>("SELECT nope FROM t", diag, tuple_token);
    CHECK(ec3 == asiolite::errc::error);
    CHECK(contains(diag.message(), "no such column: nope"));
    co_await check_usable(db);

    auto [ec4] = co_await db.async_execute_script("CREATE TABLE u(x); CREAT TABLE w(y)", diag, tuple_token);
    CHECK(ec4 == asiolite::errc::error);
    CHECK(contains(diag.message(), "syntax error"));
    co_await check_usable(db);
  });
}

TEST_CASE("two statements in async_execute fail with multiple_statements, and neither runs") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [ec, r] = co_await db.async_execute("INSERT INTO t(name) VALUES ('a'); INSERT INTO t(name) VALUES ('b')", diag,
                                             tuple_token);
    CHECK(ec == asiolite::errc::multiple_statements);
    CHECK(ec.value() == static_cast<int>(asiolite::errc::multiple_statements));
    CHECK_FALSE(diag.message().empty());
    const auto awaited_count = co_await count_rows(db);
    CHECK(awaited_count == 0);
    co_await check_usable(db);

    auto [ec2, rows] = co_await db.async_query("SELECT 1; SELECT 2", tuple_token);
    CHECK(ec2 == asiolite::errc::multiple_statements);
    auto [ec3, v] = co_await db.async_query_scalar<int>("SELECT 1; garbage", tuple_token);
    CHECK(ec3 == asiolite::errc::multiple_statements);
    co_await check_usable(db);
  });
}

TEST_CASE("a statement followed only by semicolons, whitespace or comments is one statement") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    for (const char* sql : {"SELECT 1; -- comment", "SELECT 1;", "SELECT 1;  \n\t ", "SELECT 1; /* block */",
                            "SELECT 1 -- trailing", "SELECT 1;;", "  SELECT 1  "}) {
      auto [ec, r] = co_await db.async_execute(sql, tuple_token);
      auto [ec2, v] = co_await db.async_query_scalar<int>(sql, tuple_token);
      INFO("SQL: " << sql);
      CHECK_FALSE(ec);
      CHECK_FALSE(ec2);
      CHECK(v == 1);
    }
    const auto r = co_await db.async_execute("INSERT INTO t(name) VALUES ('x'); -- the only statement");
    CHECK(r.changes == 1);
  });
}

TEST_CASE("SQL text with no statement fails with empty_statement") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    for (const char* sql : {"", "   ", "-- only a comment", "/* nothing */", ";", " ; ; "}) {
      asiolite::diagnostics diag;
      auto [ec, r] = co_await db.async_execute(sql, diag, tuple_token);
      auto [ec2, rows] = co_await db.async_query(sql, tuple_token);
      auto [ec3, v] = co_await db.async_query_scalar<std::optional<int>>(sql, tuple_token);
      INFO("SQL: '" << sql << "'");
      CHECK(ec == asiolite::errc::empty_statement);
      CHECK(ec2 == asiolite::errc::empty_statement);
      CHECK(ec3 == asiolite::errc::empty_statement);
      CHECK_FALSE(diag.message().empty());
    }
    co_await check_usable(db);
  });
}

// ---- parameters

TEST_CASE("too few or too many arguments fail with parameter_count, and the same SQL then works") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const char* sql = "INSERT INTO t(name, n) VALUES (?, ?)";
    asiolite::diagnostics diag;
    auto [few, r1] = co_await db.async_execute(sql, "only one", diag, tuple_token);
    CHECK(few == asiolite::errc::parameter_count);
    CHECK(contains(diag.message(), "2 parameters"));
    CHECK(contains(diag.message(), "1 argument"));
    auto [none, r2] = co_await db.async_execute(sql, tuple_token);
    CHECK(none == asiolite::errc::parameter_count);
    auto [many, r3] = co_await db.async_execute(sql, "a", 1, 2, diag, tuple_token);
    CHECK(many == asiolite::errc::parameter_count);
    CHECK(contains(diag.message(), "3 arguments"));
    auto [extra, v] = co_await db.async_query_scalar<int>("SELECT 1", 5, tuple_token);
    CHECK(extra == asiolite::errc::parameter_count);
    const auto awaited_count2 = co_await count_rows(db);
    CHECK(awaited_count2 == 0);

    const auto ok = co_await db.async_execute(sql, "right", 2);
    CHECK(ok.changes == 1);
    const auto row = co_await db.async_query_one<std::tuple<std::string, int>>("SELECT name, n FROM t");
    CHECK(row == std::tuple<std::string, int>{"right", 2});
    co_await check_usable(db);
  });
}

TEST_CASE("a named argument that matches no parameter fails with unknown_parameter, naming it") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [e1, v1] = co_await db.async_query_scalar<int>("SELECT :a", asiolite::named("b", 1), diag, tuple_token);
    CHECK(e1 == asiolite::errc::unknown_parameter);
    CHECK(contains(diag.message(), "b"));
    // A prefix must match exactly.
    auto [e2, v2] = co_await db.async_query_scalar<int>("SELECT :a", asiolite::named("@a", 1), tuple_token);
    CHECK(e2 == asiolite::errc::unknown_parameter);
    // Positional parameters have no names.
    auto [e3, v3] = co_await db.async_query_scalar<int>("SELECT ?", asiolite::named("a", 1), tuple_token);
    CHECK(e3 == asiolite::errc::unknown_parameter);
    co_await check_usable(db);
  });
}

TEST_CASE("a parameter bound twice, by one name or by name and position, fails with parameter_count") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    using pair = std::tuple<int, int>;
    asiolite::diagnostics diag;
    auto [e1, v1] = co_await db.async_query_one<pair>("SELECT :a, :b", asiolite::named("a", 1), asiolite::named("a", 2),
                                                      diag, tuple_token);
    CHECK(e1 == asiolite::errc::parameter_count);
    CHECK(contains(diag.message(), "a"));
    auto [e2, v2] = co_await db.async_query_one<pair>("SELECT :a, :b", asiolite::named("a", 1),
                                                      asiolite::named(":a", 2), tuple_token);
    CHECK(e2 == asiolite::errc::parameter_count);
    // The first positional argument goes to parameter 1, which is :a.
    auto [e3, v3] = co_await db.async_query_one<pair>("SELECT :a, :b", 1, asiolite::named("a", 2), tuple_token);
    CHECK(e3 == asiolite::errc::parameter_count);
    auto [e4, v4] = co_await db.async_query_one<pair>("SELECT :a, :b", asiolite::named("a", 2), 1, tuple_token);
    CHECK(e4 == asiolite::errc::parameter_count);
    const auto ok =
        co_await db.async_query_one<pair>("SELECT :a, :b", asiolite::named("b", 2), asiolite::named("a", 1));
    CHECK(ok == pair{1, 2});
    co_await check_usable(db);
  });
}

// ---- values that cannot bind

TEST_CASE("an unsigned 64-bit argument above INT64_MAX fails to bind with out_of_range") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    const std::uint64_t too_big = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1;
    auto [e1, r1] = co_await db.async_execute("INSERT INTO t(name, n) VALUES ('big', ?)", too_big, diag, tuple_token);
    CHECK(e1 == asiolite::errc::out_of_range);
    CHECK(contains(diag.message(), "9223372036854775808"));
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    auto [e2, r2] =
        co_await db.async_execute("INSERT INTO t(name, n) VALUES ('big', :n)", asiolite::named("n", max), tuple_token);
    CHECK(e2 == asiolite::errc::out_of_range);
    const std::optional<unsigned long long> opt = max;
    auto [e3, r3] = co_await db.async_execute("INSERT INTO t(name, n) VALUES ('big', ?)", opt, tuple_token);
    CHECK(e3 == asiolite::errc::out_of_range);
    const auto awaited_count3 = co_await count_rows(db);
    CHECK(awaited_count3 == 0);
    co_await check_usable(db);
  });
}

TEST_CASE("NaN fails to bind with out_of_range instead of becoming NULL") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    auto [e1, r1] = co_await db.async_execute("INSERT INTO t(name, n) VALUES ('nan', ?)", nan, diag, tuple_token);
    CHECK(e1 == asiolite::errc::out_of_range);
    CHECK(contains(diag.message(), "NaN"));
    auto [e2, r2] = co_await db.async_execute("INSERT INTO t(name, n) VALUES ('nan', ?)",
                                              std::numeric_limits<float>::quiet_NaN(), tuple_token);
    CHECK(e2 == asiolite::errc::out_of_range);
    const std::optional<double> opt = -nan;
    auto [e3, v3] = co_await db.async_query_scalar<std::optional<double>>("SELECT ?", opt, tuple_token);
    CHECK(e3 == asiolite::errc::out_of_range);
    const auto awaited_count4 = co_await count_rows(db);
    CHECK(awaited_count4 == 0);
    co_await check_usable(db);
  });
}

TEST_CASE("text that is not valid UTF-8 fails to bind with invalid_utf8, the same bytes bind as a blob") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const std::string bad[] = {
        "\xff",                   // never valid
        "ok\xc0\xaf",             // overlong '/'
        "\xed\xa0\x80",           // UTF-16 surrogate
        "\xe2\x82",               // truncated euro sign
        "\xf4\x90\x80\x80",       // above U+10FFFF
        std::string("a\x80", 2),  // stray continuation byte
    };
    for (const std::string& text : bad) {
      asiolite::diagnostics diag;
      auto [e1, r1] = co_await db.async_execute("INSERT INTO t(name) VALUES (?)", text, diag, tuple_token);
      auto [e2, r2] = co_await db.async_execute("INSERT INTO t(name) VALUES (?)", std::string_view(text), tuple_token);
      auto [e3, r3] = co_await db.async_execute("INSERT INTO t(name) VALUES (?)", text.c_str(), tuple_token);
      auto [e4, r4] =
          co_await db.async_execute("INSERT INTO t(name) VALUES (:s)", asiolite::named("s", text), tuple_token);
      const std::optional<std::string> opt = text;
      auto [e5, r5] = co_await db.async_execute("INSERT INTO t(name) VALUES (?)", opt, tuple_token);
      INFO("bytes of length " << text.size());
      CHECK(e1 == asiolite::errc::invalid_utf8);
      CHECK(contains(diag.message(), "UTF-8"));
      CHECK(e2 == asiolite::errc::invalid_utf8);
      CHECK(e3 == asiolite::errc::invalid_utf8);
      CHECK(e4 == asiolite::errc::invalid_utf8);
      CHECK(e5 == asiolite::errc::invalid_utf8);
    }
    const auto awaited_count5 = co_await count_rows(db);
    CHECK(awaited_count5 == 0);

    // As a blob, the same bytes are fine.
    const asiolite::blob bytes{std::byte{0xff}, std::byte{0xfe}};
    const auto r = co_await db.async_execute("INSERT INTO t(name) VALUES (?)", bytes);
    CHECK(r.changes == 1);

    // A failure on the second argument leaves nothing of the first behind.
    const char* sql = "INSERT INTO t(name, n) VALUES (?, ?)";
    const std::string invalid = "\xff";
    auto [e6, r6] = co_await db.async_execute(sql, "first", invalid, tuple_token);
    CHECK(e6 == asiolite::errc::invalid_utf8);
    const auto ok = co_await db.async_execute(sql, "second", 5);
    const auto row = co_await db.async_query_one<std::tuple<std::string, int>>("SELECT name, n FROM t WHERE id = ?",
                                                                               ok.last_insert_rowid);
    CHECK(row == std::tuple<std::string, int>{"second", 5});
    const auto firsts = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t WHERE name = 'first'");
    CHECK(firsts == 0);
    co_await check_usable(db);
  });
}

// ---- values that cannot decode

TEST_CASE("TEXT read into an integer fails with type_mismatch, naming the column and both types") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("INSERT INTO t(name, n) VALUES ('ada', 1)");
    asiolite::diagnostics diag;
    auto [e1, v1] = co_await db.async_query_scalar<int>("SELECT name FROM t", diag, tuple_token);
    CHECK(e1 == asiolite::errc::type_mismatch);
    CHECK(contains(diag.message(), "name"));
    CHECK(contains(diag.message(), "TEXT"));
    CHECK(contains(diag.message(), "int32"));
    CHECK(diag.sql() == "SELECT name FROM t");

    auto [e2, v2] =
        co_await db.async_query<std::tuple<std::int64_t, std::int64_t>>("SELECT id, name FROM t", diag, tuple_token);
    CHECK(e2 == asiolite::errc::type_mismatch);
    CHECK(contains(diag.message(), "column 1"));
    CHECK(v2.empty());

    struct wrong {
      std::string name;
      std::string n;
    };
    auto [e3, v3] = co_await db.async_query_one<wrong>("SELECT name, n FROM t", tuple_token);
    CHECK(e3 == asiolite::errc::type_mismatch);
    CHECK_FALSE(v3.has_value());
    co_await check_usable(db);
  });
}

TEST_CASE("NULL read into a type that is not std::optional fails with unexpected_null") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("INSERT INTO t(name, n) VALUES ('ada', NULL)");
    asiolite::diagnostics diag;
    auto [e1, v1] = co_await db.async_query_scalar<std::int64_t>("SELECT n FROM t", diag, tuple_token);
    CHECK(e1 == asiolite::errc::unexpected_null);
    CHECK(contains(diag.message(), "NULL"));
    auto [e2, v2] = co_await db.async_query<std::string>("SELECT parent FROM t", tuple_token);
    CHECK(e2 == asiolite::errc::unexpected_null);
    struct item {
      std::string name;
      std::int64_t n;
    };
    auto [e3, v3] = co_await db.async_query<item>("SELECT name, n FROM t", tuple_token);
    CHECK(e3 == asiolite::errc::unexpected_null);
    auto [e4, v4] = co_await db.async_query_one<std::tuple<std::string, double>>("SELECT name, n FROM t", tuple_token);
    CHECK(e4 == asiolite::errc::unexpected_null);
    auto [e5, v5] = co_await db.async_query_scalar<asiolite::blob>("SELECT NULL", tuple_token);
    CHECK(e5 == asiolite::errc::unexpected_null);
    auto [e6, v6] = co_await db.async_query_scalar<bool>("SELECT NULL", tuple_token);
    CHECK(e6 == asiolite::errc::unexpected_null);
    co_await check_usable(db);
  });
}

TEST_CASE("an integer outside the target type's range fails with out_of_range, never truncating") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [e1, v1] = co_await db.async_query_scalar<std::int8_t>("SELECT 300", diag, tuple_token);
    CHECK(e1 == asiolite::errc::out_of_range);
    CHECK(contains(diag.message(), "int8"));
    auto [e2, v2] = co_await db.async_query_scalar<std::uint32_t>("SELECT -1", tuple_token);
    CHECK(e2 == asiolite::errc::out_of_range);
    auto [e3, v3] = co_await db.async_query_scalar<std::uint64_t>("SELECT -9223372036854775807 - 1", tuple_token);
    CHECK(e3 == asiolite::errc::out_of_range);
    auto [e4, v4] = co_await db.async_query_scalar<std::int32_t>("SELECT 2147483648", tuple_token);
    CHECK(e4 == asiolite::errc::out_of_range);
    auto [e5, v5] = co_await db.async_query_scalar<std::optional<std::uint8_t>>("SELECT 256", tuple_token);
    CHECK(e5 == asiolite::errc::out_of_range);
    auto [e6, v6] = co_await db.async_query_scalar<std::int64_t>("SELECT 1e19", tuple_token);
    CHECK(e6 == asiolite::errc::out_of_range);
    auto [e7, v7] = co_await db.async_query_scalar<std::uint8_t>("SELECT -0.0 - 1.0", tuple_token);
    CHECK(e7 == asiolite::errc::out_of_range);
    co_await check_usable(db);
  });
}

TEST_CASE("REAL 1.5 into an integer is a type_mismatch, REAL 2.0 reads as 2") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [e1, v1] = co_await db.async_query_scalar<int>("SELECT 1.5", diag, tuple_token);
    CHECK(e1 == asiolite::errc::type_mismatch);
    CHECK(contains(diag.message(), "REAL"));
    auto [e2, v2] = co_await db.async_query_scalar<std::int64_t>("SELECT -0.25", tuple_token);
    CHECK(e2 == asiolite::errc::type_mismatch);
    auto [e3, v3] = co_await db.async_query_scalar<int>("SELECT 2.0", tuple_token);
    CHECK_FALSE(e3);
    CHECK(v3 == 2);
    auto [e4, v4] = co_await db.async_query_scalar<std::int64_t>("SELECT -4096.0", tuple_token);
    CHECK_FALSE(e4);
    CHECK(v4 == -4096);
    co_await check_usable(db);
  });
}

TEST_CASE("invalid UTF-8 stored as TEXT fails to decode as a string with invalid_utf8, but reads as a blob") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("INSERT INTO t(name) VALUES (CAST(x'61ff' AS TEXT))");
    const auto type = co_await db.async_query_scalar<std::string>("SELECT typeof(name) FROM t");
    CHECK(type == "text");

    asiolite::diagnostics diag;
    auto [e1, v1] = co_await db.async_query_scalar<std::string>("SELECT name FROM t", diag, tuple_token);
    CHECK(e1 == asiolite::errc::invalid_utf8);
    CHECK(contains(diag.message(), "name"));
    auto [e2, v2] = co_await db.async_query_scalar<std::optional<std::string>>("SELECT name FROM t", tuple_token);
    CHECK(e2 == asiolite::errc::invalid_utf8);
    auto [e3, v3] =
        co_await db.async_query<std::tuple<std::int64_t, std::string>>("SELECT id, name FROM t", tuple_token);
    CHECK(e3 == asiolite::errc::invalid_utf8);

    const auto bytes = co_await db.async_query_scalar<asiolite::blob>("SELECT name FROM t");
    CHECK(bytes == asiolite::blob{std::byte{0x61}, std::byte{0xff}});
    const asiolite::rows rows = co_await db.async_query("SELECT name FROM t");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].at(0).text() == "a\xff");
    co_await check_usable(db);
  });
}

TEST_CASE("a result whose column count differs from the requested type fails with column_count") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("INSERT INTO t(name, n) VALUES ('ada', 1)");
    asiolite::diagnostics diag;
    auto [e1, v1] =
        co_await db.async_query<std::tuple<std::int64_t, std::string>>("SELECT id, name, n FROM t", diag, tuple_token);
    CHECK(e1 == asiolite::errc::column_count);
    CHECK(contains(diag.message(), "3"));
    CHECK(contains(diag.message(), "2"));
    struct three {
      std::int64_t a;
      std::int64_t b;
      std::int64_t c;
    };
    auto [e2, v2] = co_await db.async_query_one<three>("SELECT id, n FROM t", tuple_token);
    CHECK(e2 == asiolite::errc::column_count);
    auto [e3, v3] = co_await db.async_query_scalar<std::int64_t>("SELECT id, n FROM t", tuple_token);
    CHECK(e3 == asiolite::errc::column_count);
    auto [e4, v4] = co_await db.async_query<std::int64_t>("SELECT id, n FROM t", tuple_token);
    CHECK(e4 == asiolite::errc::column_count);
    co_await check_usable(db);
  });
}

// ---- opening

TEST_CASE("a path that cannot be opened fails with cantopen and names the path") {
  test::temp_dir dir;
  asio::io_context ctx;
  const std::string in_missing_dir = (dir.path() / "no-such-dir" / "x.db").string();
  const std::string missing_file = dir.db("missing.db");
  test::run(ctx, [](std::string no_dir_path, std::string missing_path) -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;

    asiolite::diagnostics diag;
    asiolite::options defaults;
    auto [e1, c1] = co_await asiolite::connection::async_open(ex, no_dir_path, defaults, diag, tuple_token);
    CHECK(e1 == asiolite::errc::cantopen);
    CHECK((e1.value() & 0xff) == SQLITE_CANTOPEN);
    CHECK(contains(diag.message(), no_dir_path));
    CHECK_FALSE(c1.is_open());

    // The default token throws sqlite_error with the path in what().
    std::string what;
    asiolite::error_code thrown;
    try {
      auto c = co_await asiolite::connection::async_open(ex, no_dir_path);
    } catch (const asiolite::sqlite_error& e) {
      what = e.what();
      thrown = e.code();
    }
    CHECK(thrown == asiolite::errc::cantopen);
    CHECK(contains(what, no_dir_path));

    asiolite::options read_only;
    read_only.mode = asiolite::open_mode::read_only;
    auto [e2, c2] = co_await asiolite::connection::async_open(ex, missing_path, read_only, diag, tuple_token);
    CHECK(e2 == asiolite::errc::cantopen);
    CHECK(contains(diag.message(), missing_path));
    CHECK_FALSE(c2.is_open());

    asiolite::options read_write;
    read_write.mode = asiolite::open_mode::read_write;
    auto [e3, c3] = co_await asiolite::connection::async_open(ex, missing_path, read_write, diag, tuple_token);
    CHECK(e3 == asiolite::errc::cantopen);
    CHECK(contains(diag.message(), missing_path));
    CHECK_FALSE(std::filesystem::exists(missing_path));

    // A connection object whose open failed is closed: requests fail with closed, and it can open again.
    asiolite::connection db(ex);
    auto [e4] = co_await db.async_open(no_dir_path, diag, tuple_token);
    CHECK(e4 == asiolite::errc::cantopen);
    CHECK(contains(diag.message(), no_dir_path));
    CHECK_FALSE(db.is_open());
    auto [e5, v5] = co_await db.async_query_scalar<int>("SELECT 1", tuple_token);
    CHECK(e5 == asiolite::errc::closed);
    co_await db.async_open(missing_path);
    CHECK(db.is_open());
    const auto one = co_await db.async_query_scalar<int>("SELECT 1");
    CHECK(one == 1);
    co_await db.async_close();
  }(in_missing_dir, missing_file));
}

namespace {

// Runs the open probe on `path` as a user without privileges (nobody, when the test runs
// as root, for whom no permission is ever missing) and returns what it printed. The probe
// drops its privileges itself: this process has threads, which a fork would not copy.
// It is copied next to the database first: the build tree may be closed to other users.
std::string open_unprivileged(const test::temp_dir& dir, const std::string& path) {
  std::string probe = (dir.path() / "open_probe").string();
  std::filesystem::copy_file(ASIOLITE_OPEN_PROBE, probe);
  std::filesystem::permissions(probe, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec);
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::string as_uid = "--as-uid", nobody = "65534";
  std::vector<char*> args{probe.data(), as_uid.data(), nobody.data(), const_cast<char*>(path.c_str()), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, probe.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  REQUIRE(spawned == 0);
  int status = 0;
  waitpid(pid, &status, 0);
  INFO("the probe printed: " << out);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);  // 0: the open failed; 3: could not drop privileges
  return out;
}

}  // namespace

TEST_CASE("a failed open says why: after the path, the operating system's reason") {
  test::temp_dir dir;
  asio::io_context ctx;
  const std::string in_missing_dir = (dir.path() / "no-such-dir" / "x.db").string();
  const std::string a_directory = (dir.path() / "a-directory").string();
  std::filesystem::create_directory(a_directory);

  const auto open_message = [&](const std::string& path, asiolite::open_mode mode) {
    return test::run(ctx, [](std::string p, asiolite::open_mode m) -> asio::awaitable<std::string> {
      asiolite::options opts;
      opts.mode = m;
      asiolite::diagnostics diag;
      asiolite::connection db(co_await asio::this_coro::executor);
      auto [ec] = co_await db.async_open(p, opts, diag, tuple_token);
      co_return ec ? diag.message() : std::string("opened");
    }(path, mode));
  };
  const auto reason = [](int err) { return " (" + std::system_category().message(err) + ")"; };

  CHECK(open_message(in_missing_dir, asiolite::open_mode::read_write_create) ==
        "unable to open database file: '" + in_missing_dir + "'" + reason(ENOENT));
  CHECK(open_message(a_directory, asiolite::open_mode::read_write_create) ==
        "unable to open database file: '" + a_directory + "'" + reason(EISDIR));

  // No permission to create a file in the directory.
  const auto locked = dir.path() / "locked";
  std::filesystem::create_directory(locked);
  std::filesystem::permissions(locked, std::filesystem::perms::none);
  const std::string in_locked = (locked / "x.db").string();
  CHECK(open_unprivileged(dir, in_locked) ==
        "unable to open database file: '" + in_locked + "'" + reason(EACCES) + "\n");
  std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
}

// ---- error codes and conditions

TEST_CASE("SQLite's extended result codes compare equal to their primary condition") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("INSERT INTO t(id, name, n) VALUES (1, 'ada', 1)");
    const char* insert = "INSERT INTO t(id, name, n, parent) VALUES (?, ?, ?, ?)";

    auto [unique, r1] = co_await db.async_execute(insert, 2, "ada", 1, nullptr, tuple_token);
    CHECK(unique.value() == SQLITE_CONSTRAINT_UNIQUE);
    CHECK(unique == asiolite::errc::constraint);
    CHECK(unique != asiolite::errc::error);
    CHECK(unique.category() == asiolite::error_category());
    CHECK(unique.default_error_condition() == asiolite::make_error_condition(asiolite::errc::constraint));

    auto [primary, r2] = co_await db.async_execute(insert, 1, "other", 1, nullptr, tuple_token);
    CHECK(primary.value() == SQLITE_CONSTRAINT_PRIMARYKEY);
    CHECK(primary == asiolite::errc::constraint);

    auto [not_null, r3] = co_await db.async_execute(insert, 3, nullptr, 1, nullptr, tuple_token);
    CHECK(not_null.value() == SQLITE_CONSTRAINT_NOTNULL);
    CHECK(not_null == asiolite::errc::constraint);

    auto [check, r4] = co_await db.async_execute(insert, 4, "neg", -1, nullptr, tuple_token);
    CHECK(check.value() == SQLITE_CONSTRAINT_CHECK);
    CHECK(check == asiolite::errc::constraint);

    auto [foreign, r5] = co_await db.async_execute(insert, 5, "orphan", 1, 99, tuple_token);
    CHECK(foreign.value() == SQLITE_CONSTRAINT_FOREIGNKEY);
    CHECK(foreign == asiolite::errc::constraint);

    const auto awaited_count6 = co_await count_rows(db);
    CHECK(awaited_count6 == 1);
    co_await check_usable(db);
  });
}

TEST_CASE("writing through a read-only connection fails with readonly") {
  test::temp_dir dir;
  asio::io_context ctx;
  test::run(ctx, [](std::string path) -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    {
      auto writer = co_await asiolite::connection::async_open(ex, path);
      co_await writer.async_execute("CREATE TABLE t(x)");
      co_await writer.async_close();
    }
    asiolite::options opts;
    opts.mode = asiolite::open_mode::read_only;
    auto db = co_await asiolite::connection::async_open(ex, path, opts);
    asiolite::diagnostics diag;
    auto [ec, r] = co_await db.async_execute("INSERT INTO t VALUES (1)", diag, tuple_token);
    CHECK(ec == asiolite::errc::readonly);
    CHECK((ec.value() & 0xff) == SQLITE_READONLY);
    CHECK(contains(diag.message(), "readonly"));
    const auto n = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(n == 0);
    co_await db.async_close();
  }(dir.db()));
}

TEST_CASE("the default co_await path throws sqlite_error with SQLite's message, the code and the SQL") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("INSERT INTO t(name) VALUES ('ada')");
    const std::string sql = "INSERT INTO t(name) VALUES ('ada')";
    bool caught = false;
    try {
      co_await db.async_execute(sql);
    } catch (const asiolite::sqlite_error& e) {
      caught = true;
      CHECK(contains(e.what(), "UNIQUE constraint failed: t.name"));
      CHECK(contains(e.what(), sql));
      CHECK(e.sql() == sql);
      CHECK(e.code().value() == SQLITE_CONSTRAINT_UNIQUE);
      CHECK(e.code() == asiolite::errc::constraint);
      CHECK(contains(e.get_diagnostics().message(), "UNIQUE constraint failed"));
      CHECK(e.get_diagnostics().sql() == sql);
    }
    CHECK(caught);

    // It is a std::system_error too.
    asiolite::error_code system_code;
    try {
      co_await db.async_query_scalar<int>("SELECT 'x'");
    } catch (const std::system_error& e) {
      system_code = e.code();
    }
    CHECK(system_code == asiolite::errc::type_mismatch);
    co_await check_usable(db);
  });
}

TEST_CASE("sqlite_error::what() shortens a long SQL text, sql() keeps all of it") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    std::string sql = "SELECT nope";
    for (int i = 0; i < 100; ++i) sql += " + " + std::to_string(i);
    std::string what;
    std::string full;
    try {
      co_await db.async_execute(sql);
    } catch (const asiolite::sqlite_error& e) {
      what = e.what();
      full = e.sql();
    }
    CHECK(full == sql);
    CHECK(contains(what, "no such column: nope"));
    CHECK(contains(what, "..."));
    CHECK_FALSE(contains(what, sql));
    CHECK(what.size() < sql.size() + 100);
  });
}

TEST_CASE("as_tuple(use_awaitable) delivers the error_code and an empty result instead of throwing") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("INSERT INTO t(name, n) VALUES ('ada', 1)");
    auto [e1, r1] = co_await db.async_execute("INSERT INTO t(name) VALUES ('ada')", tuple_token);
    CHECK(e1 == asiolite::errc::constraint);
    CHECK(r1.changes == 0);
    auto [e2, rows] = co_await db.async_query("SELECT nope", tuple_token);
    CHECK(e2 == asiolite::errc::error);
    CHECK(rows.empty());
    CHECK(rows.column_count() == 0);
    auto [e3, values] = co_await db.async_query<std::int64_t>("SELECT name FROM t", tuple_token);
    CHECK(e3 == asiolite::errc::type_mismatch);
    CHECK(values.empty());
    auto [e4, one] = co_await db.async_query_one<std::int64_t>("SELECT name FROM t", tuple_token);
    CHECK(e4 == asiolite::errc::type_mismatch);
    CHECK_FALSE(one.has_value());
    auto [e5] = co_await db.async_execute_script("SELECT 1; SELECT nope", tuple_token);
    CHECK(e5 == asiolite::errc::error);
    // And success gives an empty error_code with the result.
    auto [e6, n] = co_await db.async_query_scalar<std::int64_t>("SELECT n FROM t", tuple_token);
    CHECK_FALSE(e6);
    CHECK(n == 1);
    co_await check_usable(db);
  });
}

TEST_CASE("diagnostics before the token receive the message and SQL on failure, and are cleared on success") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [e1, r1] = co_await db.async_execute("INSERT INTO t(name) VALUES (NULL)", diag, tuple_token);
    CHECK(e1 == asiolite::errc::constraint);
    CHECK(contains(diag.message(), "NOT NULL constraint failed: t.name"));
    CHECK(diag.sql() == "INSERT INTO t(name) VALUES (NULL)");

    auto [e2, r2] = co_await db.async_execute("INSERT INTO t(name) VALUES ('fine')", diag, tuple_token);
    CHECK_FALSE(e2);
    CHECK(diag.message().empty());
    CHECK(diag.sql().empty());

    // A library error fills them the same way.
    auto [e3, v3] = co_await db.async_query_scalar<int>("SELECT name FROM t", diag, tuple_token);
    CHECK(e3 == asiolite::errc::type_mismatch);
    CHECK_FALSE(diag.message().empty());
    CHECK(diag.sql() == "SELECT name FROM t");

    // Scripts and closes take diagnostics too.
    auto [e4] = co_await db.async_execute_script("SELECT 1; SELEC 2", diag, tuple_token);
    CHECK(e4 == asiolite::errc::error);
    CHECK(contains(diag.message(), "syntax error"));
    CHECK(diag.sql() == "SELECT 1; SELEC 2");
    auto [e5] = co_await db.async_execute_script("SELECT 1; SELECT 2", diag, tuple_token);
    CHECK_FALSE(e5);
    CHECK(diag.message().empty());
    co_await check_usable(db);
  });
}

TEST_CASE("diagnostics given with the default token are filled as well before the exception is thrown") {
  // connection.hpp: "optionally diagnostics& (receives the error message on failure, cleared
  // on success)" -- for every async_* function, whatever the token.
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    std::string what;
    try {
      co_await db.async_execute("SELEC 1", diag);
    } catch (const asiolite::sqlite_error& e) {
      what = e.what();
    }
    CHECK(contains(what, "syntax error"));
    CHECK(contains(diag.message(), "syntax error"));
    CHECK(diag.sql() == "SELEC 1");

    const auto one = co_await db.async_query_scalar<int>("SELECT 1", diag);
    CHECK(one == 1);
    CHECK(diag.message().empty());
    CHECK(diag.sql().empty());
  });
}

TEST_CASE("redirect_error stores the error_code, resets it on success, and the operation returns normally") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    const auto r = co_await db.async_execute("INSERT INTO t(name) VALUES (NULL)", token);
    CHECK(ec == asiolite::errc::constraint);
    CHECK(ec.value() == SQLITE_CONSTRAINT_NOTNULL);
    CHECK(r.changes == 0);

    asiolite::diagnostics diag;
    const auto v = co_await db.async_query_scalar<int>("SELECT 'x'", diag, token);
    CHECK(ec == asiolite::errc::type_mismatch);
    CHECK_FALSE(diag.message().empty());
    CHECK(v == 0);

    const auto ok = co_await db.async_query_scalar<int>("SELECT 3", token);
    CHECK_FALSE(ec);
    CHECK(ok == 3);
    co_await check_usable(db);
  });
}

TEST_CASE("a plain callback receives the error_code and an empty result, after the initiating call returned") {
  error_db t;
  bool called = false;
  bool called_inline = false;
  asiolite::error_code ec;
  asiolite::execute_result result{};
  result.changes = -1;
  asiolite::diagnostics diag;

  t.db.async_execute("INSERT INTO t(name) VALUES (NULL)", diag, [&](asiolite::error_code e, asiolite::execute_result r) {
    called = true;
    ec = e;
    result = r;
  });
  called_inline = called;
  t.ctx.restart();
  t.ctx.run();
  CHECK_FALSE(called_inline);
  CHECK(called);
  CHECK(ec == asiolite::errc::constraint);
  CHECK(ec.value() == SQLITE_CONSTRAINT_NOTNULL);
  CHECK(result.changes == 0);
  CHECK(contains(diag.message(), "NOT NULL"));

  // The same connection then serves a successful callback.
  std::optional<std::int64_t> count;
  t.db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t", [&](asiolite::error_code e, std::int64_t n) {
    if (!e) count = n;
  });
  t.ctx.restart();
  t.ctx.run();
  CHECK(count == 0);
  t.run(check_usable);
}

TEST_CASE("use_future: get() throws sqlite_error for a failure and returns the result on success") {
  error_db t;
  auto guard = asio::make_work_guard(t.ctx);
  std::thread runner([&] { t.ctx.run(); });

  auto failing = t.db.async_execute("INSERT INTO t(name) VALUES (NULL)", asio::use_future);
  std::string what;
  std::string sql;
  asiolite::error_code code;
  try {
    failing.get();
  } catch (const asiolite::sqlite_error& e) {
    what = e.what();
    sql = e.sql();
    code = e.code();
  }
  auto working = t.db.async_query_scalar<std::int64_t>("SELECT 40 + 2", asio::use_future);
  const auto value = working.get();
  auto typed = t.db.async_query_scalar<int>("SELECT 'x'", asio::use_future);
  asiolite::error_code typed_code;
  try {
    typed.get();
  } catch (const asiolite::sqlite_error& e) {
    typed_code = e.code();
  }

  guard.reset();
  runner.join();
  CHECK(contains(what, "NOT NULL constraint failed"));
  CHECK(sql == "INSERT INTO t(name) VALUES (NULL)");
  CHECK(code == asiolite::errc::constraint);
  CHECK(value == 42);
  CHECK(typed_code == asiolite::errc::type_mismatch);
  t.run(check_usable);
}

TEST_CASE("async_execute_script stops at the first failing statement, the ones before it keep their effect") {
  error_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [ec] = co_await db.async_execute_script(
        "INSERT INTO t(name) VALUES ('a'); INSERT INTO t(name) VALUES ('a'); INSERT INTO t(name) VALUES ('c');", diag,
        tuple_token);
    CHECK(ec.value() == SQLITE_CONSTRAINT_UNIQUE);
    CHECK(contains(diag.message(), "UNIQUE constraint failed"));
    const auto names = co_await db.async_query<std::string>("SELECT name FROM t ORDER BY id");
    CHECK(names == std::vector<std::string>{"a"});
    co_await check_usable(db);
  });
}

TEST_CASE("error_category is named asiolite and gives every code a message of its own") {
  CHECK(std::string(asiolite::error_category().name()) == "asiolite");

  const asiolite::errc own[] = {
      asiolite::errc::closed,          asiolite::errc::already_open,    asiolite::errc::multiple_statements,
      asiolite::errc::empty_statement, asiolite::errc::parameter_count, asiolite::errc::unknown_parameter,
      asiolite::errc::type_mismatch,   asiolite::errc::unexpected_null, asiolite::errc::out_of_range,
      asiolite::errc::invalid_utf8,    asiolite::errc::column_count,    asiolite::errc::no_rows,
      asiolite::errc::too_many_rows,   asiolite::errc::user_exception,
  };
  std::set<std::string> messages;
  for (auto e : own) {
    const asiolite::error_code ec = asiolite::make_error_code(e);
    INFO("code " << ec.value());
    CHECK(ec.value() >= 0x10000);
    CHECK(ec.category() == asiolite::error_category());
    CHECK(ec == e);
    CHECK_FALSE(ec.message().empty());
    CHECK(ec.message() != "unknown asiolite error");
    CHECK(ec.message() != asiolite::make_error_code(asiolite::errc::error).message());
    messages.insert(ec.message());
  }
  CHECK(messages.size() == std::size(own));
  CHECK(asiolite::make_error_code(asiolite::errc::no_rows) != asiolite::errc::too_many_rows);

  // SQLite's codes read as sqlite3_errstr, and stay apart from the generic category.
  const auto unique = asiolite::make_sqlite_error_code(SQLITE_CONSTRAINT_UNIQUE);
  CHECK(unique.message() == sqlite3_errstr(SQLITE_CONSTRAINT_UNIQUE));
  CHECK(unique == asiolite::errc::constraint);
  const auto cantopen = asiolite::make_sqlite_error_code(SQLITE_CANTOPEN);
  CHECK(cantopen == asiolite::errc::cantopen);
  CHECK(cantopen != std::errc::bad_address);  // also 14, but another category
  CHECK(asiolite::make_error_condition(asiolite::errc::busy).category() == asiolite::error_category());
}
