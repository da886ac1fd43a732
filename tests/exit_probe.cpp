// A program that never closes its connection: it queues writes, drops the connection and
// returns from main. Run by test_connection.cpp, which then checks the writes are on disk.
#include <asiolite.hpp>

#include "asio_flavour.hpp"

#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const std::string path = argv[1];
  const int rows = std::atoi(argv[2]);
  asio::io_context ctx;
  asio::co_spawn(
      ctx,
      [](std::string db_path, int count) -> asio::awaitable<void> {
        auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, db_path);
        co_await db.async_execute("CREATE TABLE t(x)");
        for (int i = 0; i < count; ++i) db.async_execute("INSERT INTO t VALUES (?)", i, asio::detached);
      }(path, rows),
      asio::detached);
  ctx.run();
  return 0;
}
