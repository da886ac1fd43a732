// Money transfers from many concurrent coroutines on one shared connection, correct by
// construction: each transfer's transaction holds the connection until it ends, so no
// coroutine's statements can land inside another's transaction.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

struct insufficient_funds : std::runtime_error {
  insufficient_funds() : std::runtime_error("insufficient funds") {}
};

// One transfer: a transaction that commits when the body returns and rolls back when it
// throws (and is retried if another connection holds the write lock).
asio::awaitable<void> transfer(asiolite::connection& db, int from, int to, std::int64_t amount) {
  co_await db.async_transaction([=](asiolite::transaction& tx) -> asio::awaitable<void> {
    auto balance = co_await tx.async_query_scalar<std::int64_t>("SELECT balance FROM account WHERE id = ?", from);
    if (balance < amount) throw insufficient_funds();  // rolls back
    co_await tx.async_execute("UPDATE account SET balance = balance - ? WHERE id = ?", amount, from);
    co_await tx.async_execute("UPDATE account SET balance = balance + ? WHERE id = ?", amount, to);
    co_await tx.async_execute("INSERT INTO ledger(src, dst, amount) VALUES (?, ?, ?)", from, to, amount);
  });
}

asio::awaitable<void> run_bank(std::string path) {
  auto ex = co_await asio::this_coro::executor;
  auto db = co_await asiolite::connection::async_open(ex, path);
  co_await db.async_execute_script(
      "CREATE TABLE account(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0));"
      "CREATE TABLE ledger(id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER);"
      "INSERT INTO account VALUES (1, 500), (2, 500), (3, 500), (4, 500);");

  // 200 transfers at once, all on the one connection.
  asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
  int running = 200, refused = 0;
  for (int i = 0; i < 200; ++i)
    asio::co_spawn(ex, transfer(db, 1 + i % 4, 1 + (i + 1 + i / 4) % 4, 50 + (i * 37) % 400),
                   [&](std::exception_ptr e) {
                     try {
                       if (e) std::rethrow_exception(e);
                     } catch (const insufficient_funds&) {
                       ++refused;
                     }
                     if (--running == 0) all_done.cancel();
                   });
  co_await all_done.async_wait(asiolite::compat::as_tuple(asio::use_awaitable));

  auto total = co_await db.async_query_scalar<std::int64_t>("SELECT sum(balance) FROM account");
  auto done = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM ledger");
  std::printf("%lld transfers made, %d refused, total still %lld\n", static_cast<long long>(done), refused,
              static_cast<long long>(total));
  if (total != 2000 || done + refused != 200) throw std::logic_error("the books do not balance");

  // Many statements atomically in one hop: the whole transaction runs on the worker.
  co_await db.async_call_in_transaction([](asiolite::sync_handle& h) {
    for (int id = 1; id <= 4; ++id) h.execute("UPDATE account SET balance = balance + 1 WHERE id = ?", id);
  });
}

int main() {
  const auto path = (std::filesystem::temp_directory_path() / "asiolite-transactions.db").string();
  std::filesystem::remove(path);
  asio::io_context ctx;
  asio::co_spawn(ctx, run_bank(path), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ctx.run();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}
