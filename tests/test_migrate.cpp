// connection::async_migrate: schema migrations numbered by PRAGMA user_version.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using test::tuple_token;

/// Three migrations: a table, a column and an index, and a callable that fills the column.
std::vector<asiolite::migration> history() {
  std::vector<asiolite::migration> list(3);
  list[0].version = 1;
  list[0].sql = "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO item (name) VALUES ('pen')";
  list[1].version = 2;
  list[1].sql = "ALTER TABLE item ADD COLUMN slug TEXT; CREATE INDEX item_slug ON item(slug)";
  list[2].version = 3;
  list[2].apply = [](asiolite::sync_handle& h) {
    for (const auto& [id, name] : h.query<std::tuple<std::int64_t, std::string>>("SELECT id, name FROM item"))
      h.execute("UPDATE item SET slug = ? WHERE id = ?", name + "-" + std::to_string(id), id);
  };
  return list;
}

asio::awaitable<std::int64_t> version(asiolite::connection& db) {
  co_return co_await db.async_query_scalar<std::int64_t>("PRAGMA user_version");
}

}  // namespace

TEST_CASE("migrate: applies the migrations above user_version, each once, and again does nothing") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    auto list = history();
    std::vector<asiolite::migration> first_two(list.begin(), list.begin() + 2);
    const auto some = co_await conn.async_migrate(first_two);
    CHECK(some.from_version == 0);
    CHECK(some.to_version == 2);
    const auto all = co_await conn.async_migrate(list);
    CHECK(all.from_version == 2);
    CHECK(all.to_version == 3);
    const auto slug = co_await conn.async_query_scalar<std::string>("SELECT slug FROM item");
    CHECK(slug == "pen-1");
    const auto again = co_await conn.async_migrate(list);
    CHECK(again.from_version == 3);
    CHECK(again.to_version == 3);
    const auto rows = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM item");
    CHECK(rows == 1);  // the first migration's INSERT ran once
    const auto v = co_await version(conn);
    CHECK(v == 3);
    co_await conn.async_close();
  }(db));
}

TEST_CASE("migrate: a failing migration leaves the database at the version before it") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    auto list = history();
    list[1].sql = "ALTER TABLE item ADD COLUMN slug TEXT; CREATE INDEX broken ON nowhere(x)";
    asiolite::diagnostics diag;
    auto [ec, r] = co_await conn.async_migrate(list, diag, tuple_token);
    CHECK(ec == asiolite::errc::error);
    CHECK(test::contains(diag.message(), "migration 2 failed, the database stays at version 1"));
    CHECK(test::contains(diag.message(), "no such table"));
    const auto v = co_await version(conn);
    CHECK(v == 1);
    // Its first statement was rolled back with it: no slug column.
    auto [col_ec, slug] = co_await conn.async_query("SELECT slug FROM item", tuple_token);
    CHECK(col_ec);
    // A throwing callable: the same.
    auto fixed = history();
    fixed[2].apply = [](asiolite::sync_handle& h) {
      h.execute("UPDATE item SET slug = 'half'");
      throw std::runtime_error("stop here");
    };
    auto [ec3, r3] = co_await conn.async_migrate(fixed, tuple_token);
    CHECK(ec3);
    const auto v2 = co_await version(conn);
    CHECK(v2 == 2);
    const auto half = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM item WHERE slug = 'half'");
    CHECK(half == 0);
    co_await conn.async_close();
  }(db));
}

TEST_CASE("migrate: a list with a gap, a duplicate or disorder, and a newer database, fail without touching it") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    const std::vector<std::pair<std::vector<long long>, std::string>> bad = {
        {{1, 3}, "version 3 (at index 1) comes where 2 is missing"},
        {{1, 1}, "version 1 (at index 1) is there twice"},
        {{2, 1}, "version 2 (at index 0) comes where 1 is missing"},
        {{1, 2, 2}, "version 2 (at index 2) is there twice"},
        {{0}, "version 0 (at index 0) is out of order"},
    };
    for (const auto& [numbers, why] : bad) {
      std::vector<asiolite::migration> list;
      for (long long n : numbers) {
        asiolite::migration m;
        m.version = n;
        m.sql = "CREATE TABLE t" + std::to_string(n) + std::to_string(list.size()) + " (x)";
        list.push_back(m);
      }
      asiolite::diagnostics diag;
      auto [ec, r] = co_await conn.async_migrate(list, diag, tuple_token);
      CHECK(ec == asiolite::errc::invalid_option);
      CHECK(test::contains(diag.message(), why));
    }
    const auto tables = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM sqlite_schema");
    CHECK(tables == 0);

    co_await conn.async_execute("PRAGMA user_version = 7");
    auto list = history();
    asiolite::diagnostics diag;
    auto [ec, r] = co_await conn.async_migrate(list, diag, tuple_token);
    CHECK(ec == asiolite::errc::newer_schema);
    CHECK(ec.message() == "the database's schema is newer than the migrations given");
    CHECK(test::contains(diag.message(), "user_version is 7, above the newest migration given (3)"));
    const auto v = co_await version(conn);
    CHECK(v == 7);
    const auto after = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM sqlite_schema");
    CHECK(after == 0);
    co_await conn.async_close();
  }(db));
}

TEST_CASE("migrate: two connections migrating the same file at once apply each migration once") {
  test::temp_dir dir;
  asio::io_context ctx;
  // Each migration after the first counts its runs in a table: exactly once each.
  std::vector<asiolite::migration> list(4);
  list[0].version = 1;
  list[0].sql = "CREATE TABLE runs (version INTEGER PRIMARY KEY)";
  for (int v = 2; v <= 4; ++v) {
    list[static_cast<std::size_t>(v - 1)].version = v;
    list[static_cast<std::size_t>(v - 1)].sql = "INSERT INTO runs VALUES (" + std::to_string(v) + ")";
  }
  auto a = test::open(ctx, dir.db());
  auto b = test::open(ctx, dir.db());
  int done = 0;
  std::vector<asiolite::migrate_result> results;
  for (auto* db : {&a, &b}) {
    asio::co_spawn(
        ctx,
        [](asiolite::connection& conn, std::vector<asiolite::migration> l, std::vector<asiolite::migrate_result>& out)
            -> asio::awaitable<void> { out.push_back(co_await conn.async_migrate(l)); }(*db, list, results),
        [&done](std::exception_ptr e) {
          if (!e) ++done;
        });
  }
  test::run_on_threads(ctx, 1);  // the two workers run at once; the handlers on this thread
  CHECK(done == 2);
  REQUIRE(results.size() == 2);
  CHECK(results[0].to_version == 4);
  CHECK(results[1].to_version == 4);
  test::run(ctx, [](asiolite::connection& conn, asiolite::connection& other) -> asio::awaitable<void> {
    const auto runs = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM runs");
    CHECK(runs == 3);
    const auto v = co_await version(conn);
    CHECK(v == 4);
    co_await conn.async_close();
    co_await other.async_close();
  }(a, b));
}
