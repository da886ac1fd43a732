// sync_handle.hpp: the statement forms run synchronously on the worker, inside async_call.
#include "catch.hpp"
#include "test_support.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using test::item;

}  // namespace

// Catch2's macros are not thread-safe: the callables run on the worker and only collect
// what the test then checks on its own thread.

TEST_CASE("sync_handle runs every statement form on the worker thread") {
  struct seen {
    asiolite::execute_result insert;
    std::size_t rows = 0, typed = 0;
    std::optional<std::string> one, none;
    std::int64_t count = 0;
    bool handle = false;
    std::thread::id thread;
  };
  test::database fx("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto s = co_await db.async_call([](asiolite::sync_handle& h) {
      seen out;
      out.insert = h.execute("INSERT INTO t(name) VALUES (?)", "ada");
      h.execute_script("INSERT INTO t(name) VALUES ('bob'); INSERT INTO t(name) VALUES ('cy');");
      out.rows = h.query("SELECT name FROM t ORDER BY id").size();
      out.typed = h.query<item>("SELECT id, name FROM t WHERE id > ?", 1).size();
      out.one = h.query_one<std::string>("SELECT name FROM t WHERE id = ?", 2);
      out.none = h.query_one<std::string>("SELECT name FROM t WHERE id = ?", 9);
      out.count = h.query_scalar<std::int64_t>("SELECT count(*) FROM t");
      out.handle = h.native_handle() != nullptr;
      out.thread = std::this_thread::get_id();
      return out;
    });
    CHECK(s.insert.changes == 1);
    CHECK(s.insert.last_insert_rowid == 1);
    CHECK(s.rows == 3);
    CHECK(s.typed == 2);
    CHECK(s.one == "bob");
    CHECK(s.none == std::nullopt);
    CHECK(s.count == 3);
    CHECK(s.handle);
    CHECK(s.thread != std::this_thread::get_id());
  });
}

TEST_CASE("a sync_statement is prepared once and runs many times with new arguments") {
  struct seen {
    std::string sql;
    bool handle = false;
    int rowids_ok = 0;
    std::string n7, n8;
    std::size_t untyped = 0;
    bool missing = false;
    std::int64_t above_90 = 0, above_50 = 0, many = 0, total = 0;
  };
  test::database fx("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto s = co_await db.async_call([](asiolite::sync_handle& h) {
      seen out;
      auto insert = h.prepare("INSERT INTO t(id, name) VALUES (?, ?)");
      out.sql = insert.sql();
      out.handle = insert.native_handle() != nullptr;
      for (int i = 1; i <= 100; ++i)
        if (insert.execute(i, "n" + std::to_string(i)).last_insert_rowid == i) ++out.rowids_ok;

      auto by_id = h.prepare("SELECT id, name FROM t WHERE id = ?");
      out.n7 = by_id.query_one<item>(7)->name;
      out.n8 = by_id.query<item>(8).at(0).name;
      out.untyped = by_id.query(9).size();
      out.missing = !by_id.query_one<item>(1000);

      auto count = h.prepare("SELECT count(*) FROM t WHERE id > ?");
      out.above_90 = count.query_scalar<std::int64_t>(90);
      out.above_50 = count.query_scalar<std::int64_t>(50);

      std::vector<std::tuple<int, std::string>> more{{101, "x"}, {102, "y"}};
      out.many = insert.execute_many(more).changes;
      out.total = h.query_scalar<std::int64_t>("SELECT count(*) FROM t");
      return out;
    });
    CHECK(s.sql == "INSERT INTO t(id, name) VALUES (?, ?)");
    CHECK(s.handle);
    CHECK(s.rowids_ok == 100);
    CHECK(s.n7 == "n7");
    CHECK(s.n8 == "n8");
    CHECK(s.untyped == 1);
    CHECK(s.missing);
    CHECK(s.above_90 == 10);
    CHECK(s.above_50 == 50);
    CHECK(s.many == 2);
    CHECK(s.total == 102);
  });
}

TEST_CASE("a failing sync_statement run throws, and the statement stays usable") {
  struct seen {
    asiolite::error_code duplicate, arity, moved_from;
    std::int64_t count = 0, after_move = 0;
  };
  test::database fx("CREATE TABLE t(id INTEGER PRIMARY KEY)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto s = co_await db.async_call([](asiolite::sync_handle& h) {
      seen out;
      auto code_of = [](auto&& fn) -> asiolite::error_code {
        try {
          fn();
        } catch (const asiolite::sqlite_error& e) {
          return e.code();
        }
        return asiolite::error_code();
      };
      auto insert = h.prepare("INSERT INTO t(id) VALUES (?)");
      insert.execute(1);
      out.duplicate = code_of([&] { insert.execute(1); });
      out.arity = code_of([&] { insert.execute(1, 2); });
      insert.execute(2);
      out.count = h.query_scalar<std::int64_t>("SELECT count(*) FROM t");

      auto moved = std::move(insert);
      out.after_move = moved.execute(3).changes;
      out.moved_from = code_of([&] { insert.execute(4); });  // use after move is the point
      return out;
    });
    CHECK(s.duplicate == asiolite::errc::constraint);
    CHECK(s.arity == asiolite::errc::parameter_count);
    CHECK(s.count == 2);
    CHECK(s.after_move == 1);
    CHECK(s.moved_from == asiolite::errc::misuse);
  });
}

TEST_CASE("sync_handle::prepare rejects bad SQL with sqlite_error") {
  test::database fx("CREATE TABLE t(x)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [ec] = co_await db.async_call([](asiolite::sync_handle& h) { h.prepare("SELEC x FROM t"); }, diag,
                                       asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::error);
    CHECK(diag.message().find("syntax error") != std::string::npos);

    auto [ec2] = co_await db.async_call([](asiolite::sync_handle& h) { h.prepare("SELECT 1; SELECT 2"); },
                                        asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec2 == asiolite::errc::multiple_statements);
  });
}

TEST_CASE("sync_handle::execute_many binds the caller's range in place, all or nothing") {
  struct seen {
    asiolite::execute_many_result first;
    asiolite::error_code clash;
    std::string message;
    std::int64_t after_clash = 0, singles = 0;
  };
  test::database fx("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto s = co_await db.async_call([](asiolite::sync_handle& h) {
      seen out;
      const std::vector<item> items{{1, "a"}, {2, "b"}, {3, "c"}};
      out.first = h.execute_many("INSERT INTO t(id, name) VALUES (?, ?)", items);

      const std::vector<std::pair<int, std::string>> clash{{4, "d"}, {5, "a"}, {6, "e"}};
      try {
        h.execute_many("INSERT INTO t(id, name) VALUES (?, ?)", clash);
      } catch (const asiolite::sqlite_error& e) {
        out.clash = e.code();
        out.message = e.what();
      }
      out.after_clash = h.query_scalar<std::int64_t>("SELECT count(*) FROM t");

      // Single values bind to a one-parameter statement.
      const std::vector<std::string> names{"x", "y"};
      out.singles = h.execute_many("INSERT INTO t(name) VALUES (?)", names).changes;
      return out;
    });
    CHECK(s.first.changes == 3);
    CHECK(s.first.elements == 3);
    CHECK(s.first.last_insert_rowid == 3);
    CHECK(s.clash == asiolite::errc::constraint);
    CHECK(s.message.find("element 1: UNIQUE constraint failed: t.name") != std::string::npos);
    CHECK(s.after_clash == 3);  // element 0 of the failed call was rolled back too
    CHECK(s.singles == 2);
  });
}
