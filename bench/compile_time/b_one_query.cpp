// (b) The smallest asiolite program: open a database and run one typed query.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <string>
#include <tuple>

asio::awaitable<void> run() {
  auto ex = co_await asio::this_coro::executor;
  auto db = co_await asiolite::connection::async_open(ex, ":memory:");
  auto rows = co_await db.async_query<std::tuple<int, std::string>>("SELECT 1, 'one'");
  (void)rows;
}

int main() {
  asio::io_context ctx;
  asio::co_spawn(ctx, run(), asio::detached);
  ctx.run();
}
