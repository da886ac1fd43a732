// A Boost.Asio user's program (Boost.Beast, Boost.MySQL, Boost.Redis users write these):
// boost::asio's executors and tokens, boost::system::error_code. Exits 0 only if it reads
// back what it wrote. Built with -Werror and the strictest warnings we promise.
#include <asiolite.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace net = boost::asio;

namespace {

bool expect(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "consumer: %s\n", what);
  return ok;
}

net::awaitable<bool> check(net::thread_pool& pool) {
  auto ex = co_await net::this_coro::executor;
  auto db = co_await asiolite::connection::async_open(ex, ":memory:");
  bool ok = true;

  co_await db.async_execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
  auto r = co_await db.async_execute("INSERT INTO t(name) VALUES (?), (?)", "ada", "grace");
  ok &= expect(r.changes == 2, "insert: expected 2 changes");

  auto names = co_await db.async_query<std::tuple<std::int64_t, std::string>>("SELECT id, name FROM t ORDER BY id");
  ok &= expect(names.size() == 2 && std::get<1>(names[1]) == "grace", "query: wrong rows");

  // Boost.Asio awaits deferred operations.
  auto count = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t", net::deferred);
  ok &= expect(count == 2, "deferred: wrong count");

  // Failures as boost::system::error_code, compared to asiolite's conditions.
  auto [ec, dup] = co_await db.async_execute("INSERT INTO t(name) VALUES ('ada')", net::as_tuple(net::use_awaitable));
  static_assert(std::is_same_v<decltype(ec), boost::system::error_code>);
  ok &= expect(ec == asiolite::errc::constraint && dup.changes == 0, "as_tuple: expected a constraint error");
  boost::system::error_code redirected;
  co_await db.async_execute("INSERT INTO t(name) VALUES (NULL)", net::redirect_error(net::use_awaitable, redirected));
  ok &= expect(redirected == asiolite::errc::constraint, "redirect_error: expected a constraint error");

  // The default token throws sqlite_error with SQLite's message and the SQL.
  std::string what;
  try {
    co_await db.async_execute("INSERT INTO t(name) VALUES ('grace')");
  } catch (const asiolite::sqlite_error& e) {
    what = e.what();
  }
  ok &= expect(what.find("UNIQUE constraint failed: t.name") != std::string::npos, "sqlite_error: wrong message");

  // A completion handler bound to a strand of a thread pool.
  auto strand = net::make_strand(pool);
  std::int64_t on_strand = -1;
  net::steady_timer done(ex, net::steady_timer::time_point::max());
  auto handler = [&](boost::system::error_code e, std::int64_t n) {
    on_strand = (!e && strand.running_in_this_thread()) ? n : -2;
    net::post(ex, [&] { done.cancel(); });
  };
  db.async_query_scalar<std::int64_t>("SELECT max(id) FROM t", net::bind_executor(strand, handler));
  co_await done.async_wait(net::as_tuple(net::use_awaitable));
  ok &= expect(on_strand == 2, "bind_executor: the handler did not run on the strand");

  co_await db.async_close();
  co_return ok;
}

}  // namespace

int main() {
  net::io_context ctx;
  net::thread_pool pool(2);
  bool ok = false;
  std::exception_ptr error;
  net::co_spawn(ctx, check(pool), [&](std::exception_ptr e, bool result) {
    error = e;
    ok = result;
  });
  ctx.run();
  pool.join();
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "failed: %s\n", e.what());
    }
    return 1;
  }
  std::puts(ok ? "asiolite consumer: ok" : "asiolite consumer: wrong result");
  return ok ? 0 : 1;
}
