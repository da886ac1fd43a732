// A small network service on a pool: a line protocol over TCP on 127.0.0.1, whose reads
// (GET, STATS) go to the pool's readers and whose writes (PUT, TRANSFER) go to the writer.
// A STATS read never waits behind a TRANSFER transaction. The program starts the server,
// runs a few concurrent clients against it, checks what they saw, and exits.
//
//   PUT <key> <value>        -> OK
//   GET <key>                -> <value> | NONE
//   TRANSFER <from> <to> <n> -> OK | NO   (one write transaction)
//   STATS                    -> <keys> <sum>  (one read transaction: a consistent pair)
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <istream>
#include <optional>
#include <sstream>
#include <string>

using asio::ip::tcp;

namespace {

// The service's storage: reads on the pool, writes on its writer.
class store {
 public:
  explicit store(asio::any_io_executor ex) : pool_(std::move(ex)) {}

  asio::awaitable<void> start(const std::string& path) {
    asiolite::pool_options po;  // named, not braced inside co_await (g++ 12)
    po.readers = 2;
    po.connection.synchronous = asiolite::synchronous_mode::normal;
    co_await pool_.async_open(path, po);
    co_await pool_.writer().async_execute("CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  }

  asio::awaitable<void> stop() { co_await pool_.async_close(); }

  asio::awaitable<std::string> handle(const std::string& line) {
    std::istringstream in(line);
    std::string cmd, key, to;
    std::int64_t n = 0;
    in >> cmd;
    if (cmd == "PUT" && in >> key >> n) co_return co_await put(key, n);
    if (cmd == "GET" && in >> key) co_return co_await get(key);
    if (cmd == "TRANSFER" && in >> key >> to >> n) co_return co_await transfer(key, to, n);
    if (cmd == "STATS") co_return co_await stats();
    co_return "ERROR bad command";
  }

 private:
  // A write: on the writer.
  asio::awaitable<std::string> put(const std::string& key, std::int64_t value) {
    co_await pool_.writer().async_execute(
        "INSERT INTO kv VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value);
    co_return "OK";
  }

  // A read: on a reader.
  asio::awaitable<std::string> get(const std::string& key) {
    auto value =
        co_await pool_.async_query_scalar<std::optional<std::int64_t>>("SELECT value FROM kv WHERE key = ?", key);
    co_return value ? std::to_string(*value) : "NONE";
  }

  // A write transaction: holds the writer, never the readers.
  asio::awaitable<std::string> transfer(const std::string& from, const std::string& to, std::int64_t n) {
    auto tx = co_await pool_.writer().async_begin();
    auto balance =
        co_await tx.async_query_scalar<std::optional<std::int64_t>>("SELECT value FROM kv WHERE key = ?", from);
    if (!balance || *balance < n) co_return "NO";  // tx rolls back when dropped
    co_await tx.async_execute("UPDATE kv SET value = value - ? WHERE key = ?", n, from);
    co_await tx.async_execute("UPDATE kv SET value = value + ? WHERE key = ?", n, to);
    co_await tx.async_commit();
    co_return "OK";
  }

  // Two reads on one snapshot: a read transaction on a reader.
  asio::awaitable<std::string> stats() {
    auto snap = co_await pool_.async_begin_read();
    auto keys = co_await snap.async_query_scalar<std::int64_t>("SELECT count(*) FROM kv");
    auto sum = co_await snap.async_query_scalar<std::int64_t>("SELECT coalesce(sum(value), 0) FROM kv");
    co_await snap.async_commit();
    co_return std::to_string(keys) + " " + std::to_string(sum);
  }

  asiolite::pool pool_;
};

asio::awaitable<void> serve_client(store& db, tcp::socket socket) {
  asio::streambuf buffer;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(socket, buffer, '\n',
                                                   asiolite::compat::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // the client hung up
    std::istream in(&buffer);
    std::string line;
    std::getline(in, line);
    std::string reply = co_await db.handle(line) + "\n";
    co_await asio::async_write(socket, asio::buffer(reply), asio::use_awaitable);
  }
}

asio::awaitable<void> accept(store& db, tcp::acceptor& acceptor, int clients) {
  for (int i = 0; i < clients; ++i) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    asio::co_spawn(acceptor.get_executor(), serve_client(db, std::move(socket)), asio::detached);
  }
}

// A client: sends each command and reads its one-line reply.
class client {
 public:
  explicit client(asio::any_io_executor ex) : socket_(std::move(ex)) {}
  asio::awaitable<void> connect(tcp::endpoint to) { co_await socket_.async_connect(to, asio::use_awaitable); }
  asio::awaitable<std::string> ask(std::string command) {
    command += "\n";
    co_await asio::async_write(socket_, asio::buffer(command), asio::use_awaitable);
    co_await asio::async_read_until(socket_, buffer_, '\n', asio::use_awaitable);
    std::istream in(&buffer_);
    std::string line;
    std::getline(in, line);
    co_return line;
  }

 private:
  tcp::socket socket_;
  asio::streambuf buffer_;
};

constexpr int accounts = 8;
constexpr std::int64_t start_balance = 100;

// Moves money around, and checks that every STATS it sees adds up.
asio::awaitable<void> teller(tcp::endpoint server, int id, std::atomic<int>& inconsistent) {
  client c(co_await asio::this_coro::executor);
  co_await c.connect(server);
  for (int i = 0; i < 50; ++i) {
    const int from = (id + i) % accounts, to = (id + 3 * i + 1) % accounts;
    co_await c.ask("TRANSFER acct" + std::to_string(from) + " acct" + std::to_string(to) + " 7");
    const std::string stats = co_await c.ask("STATS");
    if (stats != std::to_string(accounts) + " " + std::to_string(accounts * start_balance)) ++inconsistent;
    co_await c.ask("GET acct" + std::to_string(to));
  }
}

}  // namespace

int main() {
  const auto path = (std::filesystem::temp_directory_path() / "asiolite_pool_example.db").string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  asio::io_context ctx;
  store db(ctx.get_executor());
  tcp::acceptor acceptor(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const tcp::endpoint server = acceptor.local_endpoint();
  constexpr int tellers = 6;
  std::atomic<int> inconsistent{0};
  std::string final_stats;
  bool ok = false;

  asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
    co_await db.start(path);
    asio::co_spawn(ctx, accept(db, acceptor, tellers + 1), asio::detached);
    {
      client setup(ctx.get_executor());
      co_await setup.connect(server);
      for (int i = 0; i < accounts; ++i)
        co_await setup.ask("PUT acct" + std::to_string(i) + " " + std::to_string(start_balance));
    }
    // The tellers run concurrently; wait for all of them.
    std::atomic<int> running{tellers};
    asio::steady_timer all_done(ctx, asio::steady_timer::time_point::max());
    for (int t = 0; t < tellers; ++t)
      asio::co_spawn(ctx, teller(server, t, inconsistent), [&](std::exception_ptr e) {
        if (e) ++inconsistent;
        if (--running == 0) all_done.cancel();
      });
    co_await all_done.async_wait(asiolite::compat::as_tuple(asio::use_awaitable));
    final_stats = co_await db.handle("STATS");
    acceptor.close();
    co_await db.stop();
    ok = true;
  }, [&](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::printf("failed: %s\n", ex.what());
      }
    }
    if (e) ctx.stop();
  });
  ctx.run();

  std::printf("%d tellers, %d transfers each; STATS after: %s; inconsistent STATS seen: %d\n", tellers, 50,
              final_stats.c_str(), inconsistent.load());
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  const bool consistent = final_stats == std::to_string(accounts) + " " + std::to_string(accounts * start_balance);
  return ok && consistent && inconsistent == 0 ? 0 : 1;
}
