// keep_open.cpp for a Boost.Asio program: a long-lived connection that an application
// object opens at start-up, keeps as a member, serves many concurrent coroutines from,
// and closes at shutdown. Built with the CMake target asiolite::asiolite_boost (or with
// ASIOLITE_USE_BOOST_ASIO defined in every translation unit): boost::asio executors and
// tokens, and boost::system::error_code in completions.
#include <asiolite.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace asio = boost::asio;

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

  // A failure as a boost::system::error_code instead of an exception: as_tuple.
  asio::awaitable<boost::system::error_code> record_empty_page(std::int64_t visitor) {
    auto [ec, result] = co_await db_.async_execute("INSERT INTO visits(page, visitor) VALUES (NULL, ?)", visitor,
                                                   asio::as_tuple(asio::use_awaitable));
    (void)result;
    co_return ec;
  }

  struct page_count {
    std::string page;
    std::int64_t visits;
  };

  asio::awaitable<std::vector<page_count>> top_pages(int n) {
    co_return co_await db_.async_query<page_count>(
        "SELECT page, count(*) AS visits FROM visits GROUP BY page ORDER BY visits DESC, page LIMIT ?", n);
  }

  // Boost.Asio 1.81 awaits deferred operations too (a failure throws
  // boost::system::system_error, with the code only: use_awaitable gives sqlite_error).
  asio::awaitable<std::int64_t> total_visits() {
    co_return co_await db_.async_query_scalar<std::int64_t>("SELECT count(*) FROM visits", asio::deferred);
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
  co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));

  const boost::system::error_code ec = co_await store.record_empty_page(1);
  std::printf("a visit without a page: %s (constraint: %s)\n", ec.message().c_str(),
              ec == asiolite::errc::constraint ? "yes" : "no");
  if (ec != asiolite::errc::constraint) throw std::runtime_error("expected a NOT NULL constraint failure");

  std::printf("%lld visits\n", static_cast<long long>(co_await store.total_visits()));
  for (const auto& [page, visits] : co_await store.top_pages(3))
    std::printf("  %-6s %lld\n", page.c_str(), static_cast<long long>(visits));

  co_await store.stop();
}

int main() {
  const auto path = (std::filesystem::temp_directory_path() / "asiolite-keep-open-boost.db").string();
  std::filesystem::remove(path);

  asio::io_context ctx;
  visit_store store(ctx.get_executor());
  asio::co_spawn(ctx, run_app(store, path), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ctx.run();

  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}
