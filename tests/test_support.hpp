// Helpers shared by the tests: temporary databases and running coroutines to completion.
#pragma once

#include <asiolite.hpp>

#include "asio_flavour.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <future>
#include <initializer_list>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

// Which sanitizer the tests are built with (g++ says __SANITIZE_*__, clang __has_feature).
#if defined(__SANITIZE_ADDRESS__)
#  define ASIOLITE_TEST_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#  define ASIOLITE_TEST_TSAN 1
#endif
#if defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define ASIOLITE_TEST_ASAN 1
#  endif
#  if __has_feature(thread_sanitizer)
#    define ASIOLITE_TEST_TSAN 1
#  endif
#endif

namespace test {

#ifdef ASIOLITE_TEST_ASAN
inline constexpr bool under_asan = true;
#else
inline constexpr bool under_asan = false;
#endif
#ifdef ASIOLITE_TEST_TSAN
inline constexpr bool under_tsan = true;
#else
inline constexpr bool under_tsan = false;
#endif
/// Sanitizers slow everything down: the reliability suites shrink their sizes.
inline constexpr bool under_sanitizer = under_asan || under_tsan;

/// Completes an operation with its error code in a tuple instead of throwing.
inline constexpr auto tuple_token = asiolite::compat::as_tuple(asio::use_awaitable);

inline bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

/// A blob of the given byte values.
inline asiolite::blob bytes_of(std::initializer_list<int> values) {
  asiolite::blob b;
  for (int v : values) b.push_back(static_cast<std::byte>(v));
  return b;
}

/// A row of the tests' usual table: id INTEGER, name TEXT.
struct item {
  std::int64_t id;
  std::string name;
};

/// The number of rows `sql` counts (by default, of the table t).
inline asio::awaitable<std::int64_t> count(asiolite::connection& db, std::string sql = "SELECT count(*) FROM t") {
  co_return co_await db.async_query_scalar<std::int64_t>(sql);
}

/// ASIOLITE_STRESS set (to anything but 0): the reliability suites run their long forms.
inline bool stress() {
  const char* v = std::getenv("ASIOLITE_STRESS");
  return v && *v && std::string_view(v) != "0";
}

/// A fresh directory under the system's temp directory, removed with its contents.
class temp_dir {
 public:
  temp_dir() {
    std::random_device rd;
    const auto base = std::filesystem::temp_directory_path();
    for (;;) {
      path_ = base / ("asiolite-test-" + std::to_string(rd()) + std::to_string(rd()));
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    // A connection a test dropped closes in the background and may delete its -wal and
    // -shm files meanwhile; remove_all stops at a file that vanished: go round again.
    asiolite::error_code ec;
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::filesystem::remove_all(path_, ec);
      if (!ec) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  const std::filesystem::path& path() const noexcept { return path_; }
  /// A database file path in this directory.
  std::string db(const std::string& name = "test.db") const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// Runs `aw` on `ctx` until everything on ctx is done, and leaves ctx ready to run
/// again; returns the coroutine's result or rethrows its exception.
template <class T>
T run(asio::io_context& ctx, asio::awaitable<T> aw) {
  std::optional<T> result;
  std::exception_ptr error;
  asio::co_spawn(ctx, std::move(aw), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) result.emplace(std::move(v));
  });
  ctx.restart();
  ctx.run();
  ctx.restart();  // leave ctx ready to run again
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

inline void run(asio::io_context& ctx, asio::awaitable<void> aw) {
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(ctx, std::move(aw), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  ctx.restart();
  ctx.run();
  ctx.restart();  // leave ctx ready to run again
  if (error) std::rethrow_exception(error);
  if (!done) throw std::logic_error("the coroutine never finished");
}

/// Runs ctx on `n` threads until it runs out of work.
inline void run_on_threads(asio::io_context& ctx, int n) {
  ctx.restart();
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back([&] { ctx.run(); });
  for (auto& t : threads) t.join();
}

/// Opens a connection to `path` on `ctx` (blocking the test thread).
inline asiolite::connection open(asio::io_context& ctx, const std::string& path, const asiolite::options& opts = {}) {
  return run(ctx,
             [](asio::any_io_executor ex, std::string p, asiolite::options o) -> asio::awaitable<asiolite::connection> {
               co_return co_await asiolite::connection::async_open(ex, p, o);
             }(ctx.get_executor(), path, opts));
}

/// A pool on `path` with `readers` readers, opened from a coroutine on its executor.
inline asio::awaitable<asiolite::pool> open_pool(std::string path, std::size_t readers) {
  asiolite::pool_options po;
  po.readers = readers;
  co_return co_await asiolite::pool::async_open(co_await asio::this_coro::executor, path, po);
}

/// Holds a connection's worker inside a request until release(), so that a test can
/// queue requests behind it at a known point, without sleeps or timing.
class worker_block {
 public:
  worker_block() = default;
  worker_block(const worker_block&) = delete;
  worker_block& operator=(const worker_block&) = delete;
  ~worker_block() { release(); }

  /// Queues the blocking request (its completion runs on db's executor).
  void hold(asiolite::connection& db) {
    db.async_call(
        [this](asiolite::sync_handle&) {
          entered_.store(true);
          entered_.notify_all();
          open_.wait(false);
        },
        [](asiolite::error_code) {});
  }
  /// Waits until the worker is inside the blocking request.
  void wait_entered() { entered_.wait(false); }
  void release() {
    open_.store(true);
    open_.notify_all();
  }

 private:
  std::atomic<bool> entered_{false}, open_{false};
};

/// Blocks the worker until released, like worker_block, but the blocking request keeps
/// its own share of the gate: the gate may go (say, with the coroutine frame that held
/// it) while the worker is still on its way out of the request.
struct worker_gate {
  std::promise<void> open;
  std::shared_future<void> opened = open.get_future().share();

  /// Queues the blocking request on `q`, a connection or a transaction (held through a
  /// transaction, it runs inside it, ahead of what the transaction queues next).
  template <class Queue>
  void hold(Queue& q) {
    q.async_call([f = opened](asiolite::sync_handle&) { f.wait(); }, [](asiolite::error_code) {});
  }
  void release() { open.set_value(); }
};

/// A transaction on `db` that has inserted the row 1 into t (blocking the test thread).
inline asiolite::transaction begin_with_row(asio::io_context& ctx, asiolite::connection& db) {
  return run(ctx, [](asiolite::connection& conn) -> asio::awaitable<asiolite::transaction> {
    auto begun = co_await conn.async_begin();
    co_await begun.async_execute("INSERT INTO t VALUES (1)");
    co_return begun;
  }(db));
}

/// A fresh database in a temporary directory, opened with `opts` and made by `schema`;
/// run(body) runs body(connection&) as a coroutine, then closes the connection.
struct database {
  temp_dir dir;
  asio::io_context ctx;
  asiolite::connection db;

  explicit database(std::string schema, const asiolite::options& opts = {}) : db(open(ctx, dir.db(), opts)) {
    test::run(ctx, [](asiolite::connection& c, std::string sql) -> asio::awaitable<void> {
      co_await c.async_execute_script(sql);
    }(db, std::move(schema)));
  }

  template <class Body>
  void run(Body body) {
    test::run(ctx, body(db));
    test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<void> { co_await c.async_close(); }(db));
  }
};

}  // namespace test
