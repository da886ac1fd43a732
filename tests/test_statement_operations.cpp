// statement_operations.hpp: the operations shared by connections and transactions
// (the statement forms themselves are covered in test_values.cpp and test_error.cpp).
#include "catch.hpp"
#include "test_support.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

TEST_CASE("async_call runs its function on the worker thread and delivers the result") {
  asio::io_context ctx;
  auto db = test::open(ctx, ":memory:");
  std::thread::id worker;
  asiolite::options opts;
  auto result = test::run(ctx, [](asiolite::connection& db, std::thread::id& worker) -> asio::awaitable<std::int64_t> {
    co_await db.async_call([&worker](asiolite::sync_handle& h) {
      worker = std::this_thread::get_id();
      h.execute("CREATE TABLE t(x)");
      for (int i = 1; i <= 100; ++i) h.execute("INSERT INTO t VALUES (?)", i);
    });
    co_return co_await db.async_call(
        [](asiolite::sync_handle& h) { return h.query_scalar<std::int64_t>("SELECT sum(x) FROM t"); });
  }(db, worker));
  CHECK(result == 5050);
  CHECK(worker != std::thread::id());
  CHECK(worker != std::this_thread::get_id());
}

TEST_CASE("an exception thrown by async_call's function reaches the caller, and the worker goes on") {
  asio::io_context ctx;
  auto db = test::open(ctx, ":memory:");
  test::run(ctx, [](asiolite::connection& db) -> asio::awaitable<void> {
    bool caught = false;
    try {
      co_await db.async_call([](asiolite::sync_handle&) -> int { throw std::invalid_argument("no thanks"); });
    } catch (const std::invalid_argument& e) {
      caught = std::string(e.what()) == "no thanks";
    }
    CHECK(caught);

    asiolite::diagnostics diag;
    auto [ec, n] = co_await db.async_call([](asiolite::sync_handle&) -> int { throw std::runtime_error("again"); },
                                          diag, asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::user_exception);
    CHECK(diag.message() == "again");

    // An sqlite_error thrown by a sync_handle call keeps its code on the error_code path.
    auto [ec2] = co_await db.async_call([](asiolite::sync_handle& h) { h.execute("SELECT * FROM nowhere"); },
                                        asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec2 == asiolite::errc::error);

    CHECK(co_await db.async_call([](asiolite::sync_handle& h) { return h.query_scalar<int>("SELECT 3"); }) == 3);
  }(db));
}

TEST_CASE("async_call accepts move-only callables and returns copies of what they return") {
  asio::io_context ctx;
  auto db = test::open(ctx, ":memory:");
  auto text = test::run(ctx, [](asiolite::connection& db) -> asio::awaitable<std::string> {
    // Named first: g++ 12 destroys a lambda temporary with non-trivial captures twice
    // inside a co_await expression.
    auto fn = [p = std::make_unique<std::string>("kept")](asiolite::sync_handle&) -> const std::string& { return *p; };
    co_return co_await db.async_call(std::move(fn));
  }(db));
  CHECK(text == "kept");
}
