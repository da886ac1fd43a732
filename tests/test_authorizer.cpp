// authorizer.hpp: the program's answers to SQLite's authorizer, asked on the worker for
// each action of every statement prepared (connection::async_set_authorizer_on_worker).
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using asiolite::auth_action;
using asiolite::authorization;
using test::tuple_token;

/// What the authorizer was asked, copied out of the request.
struct asked {
  auth_action action;
  std::string arg1, arg2, database, source;
};

/// Hides t.secret (reads give NULL), refuses DROP TABLE, allows the rest; remembers
/// every question. Runs on the worker only, one call at a time.
struct guard {
  std::shared_ptr<std::vector<asked>> seen = std::make_shared<std::vector<asked>>();

  authorization operator()(const asiolite::authorization_request& q) const {
    seen->push_back(
        {q.action, std::string(q.arg1), std::string(q.arg2), std::string(q.database), std::string(q.source)});
    if (q.action == auth_action::read && q.arg1 == "t" && q.arg2 == "secret") return authorization::ignore;
    if (q.action == auth_action::drop_table) return authorization::deny;
    return authorization::allow;
  }
};

asio::awaitable<std::optional<std::string>> secret_of(asiolite::connection& db) {
  co_return co_await db.async_query_scalar<std::optional<std::string>>("SELECT secret FROM t WHERE id = 1");
}

}  // namespace

TEST_CASE("authorizer: deny refuses the statement, ignore reads NULL, and statements prepared before are asked too") {
  test::temp_dir dir;
  asio::io_context ctx;
  guard g;
  test::run(ctx, [](std::string path, guard a) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    co_await db.async_execute_script(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, secret TEXT);"
        "INSERT INTO t VALUES (1, 'a', 'hunter2');"
        "CREATE VIEW v AS SELECT name, secret FROM t");
    // Prepared (the cache's, and a prepared statement's) before the authorizer is set.
    const auto before = co_await secret_of(db);
    CHECK(before == "hunter2");
    auto held = co_await db.async_prepare("SELECT secret FROM t WHERE id = ?");

    co_await db.async_set_authorizer_on_worker(a);
    const auto hidden = co_await secret_of(db);
    CHECK_FALSE(hidden.has_value());
    const auto hidden_held = co_await held.async_query_scalar<std::optional<std::string>>(1);
    CHECK_FALSE(hidden_held.has_value());
    const auto name = co_await db.async_query_scalar<std::string>("SELECT name FROM t WHERE id = 1");
    CHECK(name == "a");
    const auto through_view = co_await db.async_query_scalar<std::optional<std::string>>("SELECT secret FROM v");
    CHECK_FALSE(through_view.has_value());

    asiolite::diagnostics diag;
    auto [ec, r] = co_await db.async_execute("DROP TABLE t", diag, tuple_token);
    CHECK(ec == asiolite::errc::auth);
    CHECK(test::contains(diag.message(), "not authorized"));
    const auto still = co_await test::count(db);
    CHECK(still == 1);

    // Cleared: the statements prepared with its answers are prepared again without them.
    co_await db.async_clear_authorizer_on_worker();
    const auto shown = co_await secret_of(db);
    CHECK(shown == "hunter2");
    const auto shown_held = co_await held.async_query_scalar<std::optional<std::string>>(1);
    CHECK(shown_held == "hunter2");
    co_await db.async_execute("DROP VIEW v");
    co_await db.async_execute("DROP TABLE t");
  }(dir.db(), g));

  // What it was asked: the column read, with its table, column and database; through the
  // view, the view is the source.
  bool direct = false, via_view = false, drop = false;
  for (const auto& q : *g.seen) {
    if (q.action == auth_action::read && q.arg1 == "t" && q.arg2 == "secret" && q.database == "main") {
      if (q.source.empty()) direct = true;
      if (q.source == "v") via_view = true;
    }
    if (q.action == auth_action::drop_table && q.arg1 == "t") drop = true;
  }
  CHECK(direct);
  CHECK(via_view);
  CHECK(drop);
}

TEST_CASE("authorizer: one that throws denies, and a watched DELETE it allows still reports each row") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto events = std::make_shared<std::vector<std::size_t>>();
  test::run(ctx, [](std::string path, std::shared_ptr<std::vector<std::size_t>> ev) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    co_await db.async_execute_script(
        "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3); CREATE TABLE u (x)");
    auto no_inserts = [](const asiolite::authorization_request& q) {
      // (A CREATE TABLE inserts into sqlite_schema: asked as well.)
      if (q.action == auth_action::insert && q.arg1 != "sqlite_master") throw std::runtime_error("no");
      return authorization::allow;
    };
    co_await db.async_set_authorizer_on_worker(no_inserts);
    auto [ec, r] = co_await db.async_execute("INSERT INTO t VALUES (4)", tuple_token);
    CHECK(ec == asiolite::errc::auth);

    auto record = [ev](const asiolite::transaction_event& e) { ev->push_back(e.changes.size()); };
    auto sub = co_await db.async_watch_transactions(record);
    co_await db.async_execute("DELETE FROM t");
    // The watch ends; the program's authorizer stays.
    sub.unsubscribe();
    co_await db.async_execute("CREATE TABLE w (x)");
    auto [ec2, r2] = co_await db.async_execute("INSERT INTO u VALUES (1)", tuple_token);
    CHECK(ec2 == asiolite::errc::auth);
  }(dir.db(), events));
  REQUIRE(events->size() == 1);
  CHECK((*events)[0] == 3);
}

TEST_CASE("authorizer: set from on_open, every connection of a pool is asked") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::pool_options po;
  po.readers = 2;
  po.connection.on_open = [](asiolite::sync_handle& h) {
    h.set_authorizer([](const asiolite::authorization_request& q) {
      return q.action == auth_action::attach ? authorization::deny : authorization::allow;
    });
  };
  test::run(ctx, [](std::string path, std::string other, asiolite::pool_options o) -> asio::awaitable<void> {
    auto p = co_await asiolite::pool::async_open(co_await asio::this_coro::executor, path, o);
    auto [ec, r] = co_await p.writer().async_execute("ATTACH DATABASE ? AS other", other, tuple_token);
    CHECK(ec == asiolite::errc::auth);
    auto [ec2, r2] = co_await p.async_query("ATTACH DATABASE ? AS other", other, tuple_token);  // on a reader
    CHECK(ec2 == asiolite::errc::auth);
    const auto one = co_await p.async_query_scalar<std::int64_t>("SELECT 1");
    CHECK(one == 1);
    co_await p.async_close();
  }(dir.db(), dir.db("other.db"), po));
}

TEST_CASE("authorizer: an answer outside allow, deny and ignore denies") {
  test::temp_dir dir;
  asio::io_context ctx;
  test::run(ctx, [](std::string path) -> asio::awaitable<void> {
    auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
    co_await db.async_execute("CREATE TABLE t (x)");
    // A value read from a configuration file, say, cast to the enum.
    auto confused = [](const asiolite::authorization_request& q) {
      return q.action == auth_action::insert && q.arg1 == "t" ? static_cast<authorization>(7) : authorization::allow;
    };
    co_await db.async_set_authorizer_on_worker(confused);
    auto [ec, r] = co_await db.async_execute("INSERT INTO t VALUES (1)", tuple_token);
    CHECK(ec == asiolite::errc::auth);
    const auto rows = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(rows == 0);
    co_await db.async_close();
  }(dir.db()));
}
