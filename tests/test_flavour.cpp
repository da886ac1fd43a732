// config.hpp's two flavours: what a program sees of its Asio, standalone or Boost.Asio.
// This file is built in both (the Boost flavour's preset builds the whole suite against
// asiolite::asiolite_boost); its cases check what differs between them.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <cstdint>
#include <string>
#include <system_error>
#include <type_traits>

// config.hpp's spelling of the flavour's namespace is its own: programs see asiolite::asio.
#ifdef ASIOLITE_ASIO_NAMESPACE
#  error "config.hpp leaves ASIOLITE_ASIO_NAMESPACE defined in programs"
#endif

namespace {

struct flavour_db : test::database {
  flavour_db() : database("CREATE TABLE t(name TEXT NOT NULL UNIQUE)") {}
};

#if defined(ASIOLITE_USE_BOOST_ASIO)
constexpr bool boost_flavour = true;
using flavour_error_code = boost::system::error_code;
#else
constexpr bool boost_flavour = false;
using flavour_error_code = std::error_code;
#endif

}  // namespace

TEST_CASE("flavour: completions carry the flavour's error_code, with asiolite's value, name and conditions") {
  static_assert(std::is_same_v<asiolite::error_code, flavour_error_code>);
  static_assert(std::is_same_v<asiolite::asio::io_context, asio::io_context>);
  INFO("Boost.Asio flavour: " << boost_flavour);
  flavour_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("INSERT INTO t VALUES ('ada')");
    auto [ec, result] = co_await db.async_execute("INSERT INTO t VALUES ('ada')", test::tuple_token);
    static_assert(std::is_same_v<std::decay_t<decltype(ec)>, flavour_error_code>);
    CHECK(result.changes == 0);
    CHECK(ec.value() == SQLITE_CONSTRAINT_UNIQUE);
    CHECK(std::string(ec.category().name()) == "asiolite");
    CHECK(ec == asiolite::errc::constraint);
    CHECK(ec != asiolite::errc::error);
    CHECK(ec == asiolite::make_sqlite_error_code(SQLITE_CONSTRAINT_UNIQUE));
    CHECK(ec.message() == sqlite3_errstr(SQLITE_CONSTRAINT_UNIQUE));

    // The default token: sqlite_error, a std::system_error in both flavours, with
    // SQLite's message and the SQL; its code compares as the completion's does.
    bool caught = false;
    try {
      co_await db.async_execute("INSERT INTO t VALUES ('ada')");
    } catch (const asiolite::sqlite_error& e) {
      caught = true;
      CHECK(test::contains(e.what(), "UNIQUE constraint failed: t.name"));
      CHECK(e.sql() == "INSERT INTO t VALUES ('ada')");
      CHECK(e.code().value() == SQLITE_CONSTRAINT_UNIQUE);
      CHECK(e.code() == asiolite::errc::constraint);
      CHECK(asiolite::error_code(e.code()) == ec);
    }
    CHECK(caught);
  });
}

TEST_CASE("flavour: a cancelled request completes with the flavour's operation_aborted") {
  flavour_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asio::cancellation_signal cancel;
    asiolite::error_code got;
    bool done = false;
    // A query that runs until interrupted, cancelled once it has started.
    db.async_query_scalar<std::int64_t>(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
        asio::bind_cancellation_slot(cancel.slot(), [&](asiolite::error_code e, std::int64_t) {
          got = e;
          done = true;
        }));
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
    cancel.emit(asio::cancellation_type::terminal);
    while (!done) {
      timer.expires_after(std::chrono::milliseconds(1));
      co_await timer.async_wait(asio::use_awaitable);
    }
    CHECK(got == asio::error::operation_aborted);
    const asiolite::error_code aborted = asio::error::operation_aborted;
    CHECK(got == aborted);
    const auto rows = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(rows == 0);
  });
}

TEST_CASE("flavour: co_await of a deferred operation, where the flavour's Asio can") {
  // Asio 1.22 (standalone on Debian 12) cannot await a deferred operation; Boost 1.81
  // (Asio 1.26) can, and is built by CI.
  CHECK(asiolite::compat::can_await_deferred == (boost_flavour || ASIOLITE_ASIO_VERSION >= 102300));
  if constexpr (asiolite::compat::can_await_deferred) {
    flavour_db t;
    t.run([](auto& db) -> asio::awaitable<void> {
      auto insert = db.async_execute("INSERT INTO t VALUES ('ada')", asiolite::compat::deferred);
      const auto r = co_await std::move(insert);
      CHECK(r.changes == 1);
      const auto name =
          co_await db.template async_query_scalar<std::string>("SELECT name FROM t", asiolite::compat::deferred);
      CHECK(name == "ada");
      // A failure throws what Asio throws for an error_code: the code, not SQLite's words.
      bool caught = false;
      try {
        co_await db.async_execute("INSERT INTO t VALUES ('ada')", asiolite::compat::deferred);
      } catch (const asiolite::compat::system_error& e) {
        caught = true;
        CHECK(e.code() == asiolite::errc::constraint);
      }
      CHECK(caught);
    });
  }
}

#if !defined(ASIOLITE_USE_BOOST_ASIO) && ASIOLITE_ASIO_VERSION < 102300
namespace {

asio::experimental::coro<void, std::int64_t> insert_in_coro(asio::any_io_executor, asiolite::connection& db,
                                                            std::string name) {
  const auto r = co_await db.async_execute("INSERT INTO t VALUES (?)", name, asio::experimental::use_coro);
  co_return r.last_insert_rowid;
}

}  // namespace

TEST_CASE("flavour: experimental::use_coro gets sqlite_error, with SQLite's message and the SQL") {
  flavour_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto first = insert_in_coro(ex, db, "ada");
    const auto rowid = co_await first.async_resume(asio::use_awaitable);
    CHECK(rowid == 1);
    auto again = insert_in_coro(ex, db, "ada");
    bool caught = false;
    try {
      co_await again.async_resume(asio::use_awaitable);
    } catch (const asiolite::sqlite_error& e) {
      caught = true;
      CHECK(e.code() == asiolite::errc::constraint);
      CHECK(test::contains(e.what(), "UNIQUE constraint failed: t.name"));
      CHECK(e.sql() == "INSERT INTO t VALUES (?)");
    }
    CHECK(caught);
  });
}
#endif
