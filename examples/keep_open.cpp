// A long-lived connection: an application object opens it at start-up, keeps it as a
// member, serves many concurrent coroutines from it, and closes it at shutdown.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

using namespace std::chrono_literals;

// The application's storage: one connection, opened once, used by every request handler.
class visit_store {
 public:
  explicit visit_store(asio::any_io_executor ex) : db_(std::move(ex)) {}

  asio::awaitable<void> start(std::string path) {
    asiolite::options opts;  // named, not braced inside co_await (g++ 12)
    opts.synchronous = asiolite::synchronous_mode::normal;
    co_await db_.async_open(path, opts);
    co_await db_.async_execute_script(
        "CREATE TABLE IF NOT EXISTS visits(page TEXT NOT NULL, visitor INTEGER NOT NULL);"
        "CREATE INDEX IF NOT EXISTS visits_page ON visits(page);");
  }

  asio::awaitable<void> record_visit(std::string page, std::int64_t visitor) {
    co_await db_.async_execute("INSERT INTO visits(page, visitor) VALUES (?, ?)", page, visitor);
  }

  struct page_count {
    std::string page;
    std::int64_t visits;
  };

  asio::awaitable<std::vector<page_count>> top_pages(int n) {
    co_return co_await db_.async_query<page_count>(
        "SELECT page, count(*) AS visits FROM visits GROUP BY page ORDER BY visits DESC, page LIMIT ?", n);
  }

  asio::awaitable<std::int64_t> total_visits() {
    co_return co_await db_.async_query_scalar<std::int64_t>("SELECT count(*) FROM visits");
  }

  // Runs after everything already queued: no visit recorded before stop() is lost.
  asio::awaitable<void> stop() { co_await db_.async_close(); }

 private:
  asiolite::connection db_;
};

// One simulated client: a few page views, each awaited, interleaved with other clients'.
asio::awaitable<void> client(visit_store& store, int id) {
  static const char* pages[] = {"/", "/docs", "/blog", "/about"};
  for (int i = 0; i < 10; ++i) co_await store.record_visit(pages[(id * i) % 4], id);
}

asio::awaitable<void> run_app(visit_store& store, std::string path) {
  co_await store.start(path);

  // Serve 100 clients at once from the one connection, and wait for them all.
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
  int running = 100;
  for (int id = 0; id < 100; ++id)
    asio::co_spawn(ex, client(store, id), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      if (--running == 0) all_done.cancel();
    });
  co_await all_done.async_wait(asiolite::compat::as_tuple(asio::use_awaitable));

  std::printf("%lld visits\n", static_cast<long long>(co_await store.total_visits()));
  for (const auto& [page, visits] : co_await store.top_pages(3))
    std::printf("  %-6s %lld\n", page.c_str(), static_cast<long long>(visits));

  co_await store.stop();
}

int main() {
  const auto path = (std::filesystem::temp_directory_path() / "asiolite-keep-open.db").string();
  std::filesystem::remove(path);

  asio::io_context ctx;
  visit_store store(ctx.get_executor());
  asio::co_spawn(ctx, run_app(store, path), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ctx.run();

  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}
