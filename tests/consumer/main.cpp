// A user's program: open a database, write, read back; exits 0 only if it reads what it wrote.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <tuple>
#include <vector>

namespace {

asio::awaitable<bool> check() {
  auto ex = co_await asio::this_coro::executor;
  auto db = co_await asiolite::connection::async_open(ex, ":memory:");

  co_await db.async_execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
  auto r = co_await db.async_execute("INSERT INTO t(name) VALUES (?), (?)", "ada", "grace");
  if (r.changes != 2) {
    std::fprintf(stderr, "insert: %lld changes, expected 2\n", static_cast<long long>(r.changes));
    co_return false;
  }

  auto got = co_await db.async_query<std::tuple<std::int64_t, std::string>>("SELECT id, name FROM t ORDER BY id");
  const std::vector<std::tuple<std::int64_t, std::string>> want{{1, "ada"}, {2, "grace"}};
  co_await db.async_close();
  if (got != want) {
    std::fprintf(stderr, "query: got %zu rows, not the 2 expected\n", got.size());
    co_return false;
  }
  co_return true;
}

}  // namespace

int main() {
  asio::io_context ctx;
  bool ok = false;
  std::exception_ptr error;
  asio::co_spawn(ctx, check(), [&](std::exception_ptr e, bool result) {
    error = e;
    ok = result;
  });
  ctx.run();
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
