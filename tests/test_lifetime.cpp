// Lifetime and concurrency stress through the public API: connections dropped with work
// queued, close racing with requests, reopening, cancellation racing with completion,
// handler allocators. Meant to be run under ThreadSanitizer and AddressSanitizer.
//
// Catch2's macros are not thread-safe: handlers only count (in atomics, or in plain
// variables confined to one strand); every check runs on the test's own thread, after
// the threads that ran the handlers were joined.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

std::int64_t rows_in(const std::string& path) {
  asio::io_context ctx;
  auto db = test::open(ctx, path);
  return test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<std::int64_t> {
    const auto n = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    co_await conn.async_close();  // before the test removes the file
    co_return n;
  }(db));
}

void create_table(asio::io_context& ctx, asiolite::connection& db) {
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE IF NOT EXISTS t(x INTEGER)");
  }(db));
}

/// ctx running on `n` threads until destroyed (or stop()); for tests that drive the
/// connection from the test thread and wait for handlers.
class background_runner {
 public:
  background_runner(asio::io_context& ctx, int n) : ctx_(ctx), guard_(ctx.get_executor()) {
    ctx_.restart();
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { ctx_.run(); });
  }
  background_runner(const background_runner&) = delete;
  background_runner& operator=(const background_runner&) = delete;
  ~background_runner() { finish(); }
  /// Lets the threads return once the work is done, and joins them.
  void finish() {
    guard_.reset();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  asio::io_context& ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

/// Closes `db` from this thread while other threads run its io_context; the close's outcome.
asiolite::error_code close_and_wait(asiolite::connection& db) {
  std::promise<asiolite::error_code> closed;
  db.async_close([&](asiolite::error_code ec) { closed.set_value(ec); });
  return closed.get_future().get();
}

/// SQL functions that let a test hold the worker at a known point (no sleeps, no timing):
/// gate() blocks until release(); started(x) records that the statement is running.
class gate {
 public:
  asiolite::options options() {
    asiolite::options o;
    o.on_open = [this](asiolite::sync_handle& h) {
      sqlite3_create_function_v2(h.native_handle(), "gate", 0, SQLITE_UTF8, this, &gate_fn, nullptr, nullptr, nullptr);
      sqlite3_create_function_v2(h.native_handle(), "started", 1, SQLITE_UTF8, this, &started_fn, nullptr, nullptr,
                                 nullptr);
    };
    return o;
  }
  void wait_entered() { entered_.wait(false); }
  void wait_started() { started_.wait(false); }
  void release() {
    open_.store(true);
    open_.notify_all();
  }

 private:
  static void gate_fn(sqlite3_context* ctx, int, sqlite3_value**) {
    auto* g = static_cast<gate*>(sqlite3_user_data(ctx));
    g->entered_.store(true);
    g->entered_.notify_all();
    g->open_.wait(false);
    sqlite3_result_int(ctx, 1);
  }
  static void started_fn(sqlite3_context* ctx, int, sqlite3_value**) {
    auto* g = static_cast<gate*>(sqlite3_user_data(ctx));
    if (!g->started_.exchange(true)) g->started_.notify_all();
    sqlite3_result_int(ctx, 1);
  }

  std::atomic<bool> entered_{false}, open_{false}, started_{false};
};

/// Counts allocations through a handler's associated allocator, and where they happen.
struct alloc_stats {
  std::atomic<int> allocations{0}, deallocations{0}, on_worker{0};
  std::atomic<std::thread::id> worker{};
};

/// Deallocations through an allocator whose stats pointer is null: the allocator was
/// taken from a moved-from handler (see handler_with_state below).
std::atomic<int> orphan_deallocations{0};

template <class T>
struct counting_allocator {
  using value_type = T;
  alloc_stats* stats;

  explicit counting_allocator(alloc_stats* s) noexcept : stats(s) {}
  template <class U>
  counting_allocator(const counting_allocator<U>& o) noexcept : stats(o.stats) {}

  T* allocate(std::size_t n) {
    if (stats) {
      stats->allocations.fetch_add(1);
      if (std::this_thread::get_id() == stats->worker.load()) stats->on_worker.fetch_add(1);
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t) noexcept {
    if (stats)
      stats->deallocations.fetch_add(1);
    else
      orphan_deallocations.fetch_add(1);
    ::operator delete(p);
  }
  template <class U>
  friend bool operator==(const counting_allocator& a, const counting_allocator<U>& b) noexcept {
    return a.stats == b.stats;
  }
  template <class U>
  friend bool operator!=(const counting_allocator& a, const counting_allocator<U>& b) noexcept {
    return a.stats != b.stats;
  }
};

/// A handler whose allocator comes from state it owns, which a move takes away (as a
/// handler holding a shared_ptr to its session and that database's allocator would).
struct handler_with_state {
  std::shared_ptr<alloc_stats> stats;
  std::atomic<int>* calls;

  using allocator_type = counting_allocator<void>;
  allocator_type get_allocator() const noexcept { return allocator_type(stats.get()); }

  void operator()(asiolite::error_code ec, asiolite::execute_result) const {
    if (!ec) calls->fetch_add(1);
  }
};

}  // namespace

TEST_CASE("lifetime: connections dropped without close while requests are queued") {
  test::temp_dir dir;
  constexpr int conns = 16, per = 50;
  asio::io_context ctx(4);
  std::vector<std::atomic<int>> calls(conns * per);
  std::atomic<int> opened{0}, open_failed{0}, created{0}, ok{0}, failed{0};
  std::mutex droppers_mutex;
  std::vector<std::thread> droppers;

  for (int c = 0; c < conns; ++c)
    asiolite::connection::async_open(
        ctx, dir.db("c" + std::to_string(c) + ".db"), [&, c](asiolite::error_code open_ec, asiolite::connection db) {
          if (open_ec) {
            ++open_failed;
            return;
          }
          ++opened;
          db.async_execute("CREATE TABLE t(x INTEGER)", [&](asiolite::error_code ec, asiolite::execute_result) {
            if (!ec) ++created;
          });
          for (int i = 0; i < per; ++i) {
            const int id = c * per + i;
            db.async_execute("INSERT INTO t VALUES (?)", i, [&, id](asiolite::error_code ec, asiolite::execute_result) {
              calls[static_cast<std::size_t>(id)].fetch_add(1);
              (ec ? failed : ok).fetch_add(1);
            });
          }
          // Half are dropped here, on an io thread; half on a thread of their own.
          if (c % 2) {
            std::lock_guard lock(droppers_mutex);
            droppers.emplace_back([db = std::move(db)]() mutable { db = asiolite::connection(); });
          }
        });
  test::run_on_threads(ctx, 4);
  for (auto& t : droppers) t.join();

  CHECK(opened == conns);
  CHECK(open_failed == 0);
  CHECK(created == conns);
  CHECK(ok == conns * per);
  CHECK(failed == 0);
  int not_once = 0;
  for (auto& n : calls)
    if (n.load() != 1) ++not_once;
  CHECK(not_once == 0);
  for (int c = 0; c < conns; ++c) CHECK(rows_in(dir.db("c" + std::to_string(c) + ".db")) == per);
}

TEST_CASE("lifetime: connections dropped while their open is still running") {
  test::temp_dir dir;
  constexpr int conns = 8, per = 25;
  asio::io_context ctx;
  std::vector<std::atomic<int>> calls(conns * per);
  std::atomic<int> opened{0}, ok{0}, failed{0};
  for (int c = 0; c < conns; ++c) {
    asiolite::connection db(ctx);
    db.async_open(dir.db("c" + std::to_string(c) + ".db"), [&](asiolite::error_code ec) {
      if (!ec) ++opened;
    });
    db.async_execute("CREATE TABLE t(x INTEGER)", [&](asiolite::error_code ec, asiolite::execute_result) {
      if (ec) ++failed;
    });
    for (int i = 0; i < per; ++i) {
      const int id = c * per + i;
      db.async_execute("INSERT INTO t VALUES (?)", i, [&, id](asiolite::error_code ec, asiolite::execute_result) {
        calls[static_cast<std::size_t>(id)].fetch_add(1);
        (ec ? failed : ok).fetch_add(1);
      });
    }
    // Dropped with the open, the CREATE and the inserts queued: nothing may be lost.
  }
  test::run_on_threads(ctx, 4);
  CHECK(opened == conns);
  CHECK(ok == conns * per);
  CHECK(failed == 0);
  int not_once = 0;
  for (auto& n : calls)
    if (n.load() != 1) ++not_once;
  CHECK(not_once == 0);
  for (int c = 0; c < conns; ++c) CHECK(rows_in(dir.db("c" + std::to_string(c) + ".db")) == per);
}

TEST_CASE("lifetime: connections opened and dropped concurrently from several threads") {
  // Many workers handed to the reaper at once, from several threads, while others finish.
  test::temp_dir dir;
  asio::io_context ctx;
  background_runner runner(ctx, 2);
  constexpr int threads = 4, each = 8, per = 5;
  std::atomic<int> opened{0}, open_failed{0}, ok{0}, failed{0};
  std::vector<std::thread> openers;
  for (int t = 0; t < threads; ++t)
    openers.emplace_back([&, t] {
      for (int k = 0; k < each; ++k) {
        std::promise<asiolite::connection> p;
        asiolite::connection::async_open(ctx, dir.db("t" + std::to_string(t) + "-" + std::to_string(k) + ".db"),
                                         [&](asiolite::error_code ec, asiolite::connection db) {
                                           (ec ? open_failed : opened).fetch_add(1);
                                           p.set_value(std::move(db));
                                         });
        auto db = p.get_future().get();
        db.async_execute("CREATE TABLE t(x INTEGER)", [&](asiolite::error_code ec, asiolite::execute_result) {
          if (ec) ++failed;
        });
        for (int i = 0; i < per; ++i)
          db.async_execute("INSERT INTO t VALUES (?)", i,
                           [&](asiolite::error_code ec, asiolite::execute_result) { (ec ? failed : ok).fetch_add(1); });
        // db is dropped here with its writes queued
      }
    });
  for (auto& t : openers) t.join();
  runner.finish();
  CHECK(opened == threads * each);
  CHECK(open_failed == 0);
  CHECK(ok == threads * each * per);
  CHECK(failed == 0);
  for (int t = 0; t < threads; ++t)
    for (int k = 0; k < each; ++k)
      CHECK(rows_in(dir.db("t" + std::to_string(t) + "-" + std::to_string(k) + ".db")) == per);
}

TEST_CASE("lifetime: the last handle dropped inside a handler of its own request") {
  test::temp_dir dir;
  asio::io_context ctx(4);
  std::optional<asiolite::connection> db(test::open(ctx, dir.db()));
  create_table(ctx, *db);
  constexpr int per = 50;
  std::atomic<int> ok{0}, failed{0}, calls{0};
  // The first handler to run destroys the connection; the rest are still queued.
  std::atomic<bool> dropped{false};
  std::mutex db_mutex;
  for (int i = 0; i < per; ++i)
    db->async_execute("INSERT INTO t VALUES (?)", i, [&](asiolite::error_code ec, asiolite::execute_result) {
      ++calls;
      (ec ? failed : ok).fetch_add(1);
      if (!dropped.exchange(true)) {
        std::lock_guard lock(db_mutex);
        db.reset();
      }
    });
  test::run_on_threads(ctx, 4);
  CHECK(calls == per);
  CHECK(ok == per);
  CHECK(failed == 0);
  CHECK_FALSE(db.has_value());
  CHECK(rows_in(dir.db()) == per);
}

TEST_CASE("lifetime: close races with requests from coroutines on a 4-thread io_context") {
  test::temp_dir dir;
  asio::io_context ctx(4);
  auto db = test::open(ctx, dir.db());
  create_table(ctx, db);

  constexpr int writers = 12;
  std::atomic<int> ok{0}, closed{0}, other{0}, finished{0}, close_ok{0}, close_failed{0};
  for (int w = 0; w < writers; ++w)
    asio::co_spawn(
        ctx,
        [&, w]() -> asio::awaitable<void> {
          for (int i = 0;; ++i) {
            const int value = w * 1000000 + i;
            auto [ec, r] = co_await db.async_execute("INSERT INTO t VALUES (?)", value,
                                                     asiolite::compat::as_tuple(asio::use_awaitable));
            if (!ec) {
              ++ok;
              continue;
            }
            (ec == asiolite::errc::closed ? closed : other).fetch_add(1);
            break;
          }
          ++finished;
        },
        asio::detached);
  // Two closers race each other and the writers, once some writes went through.
  for (int k = 0; k < 2; ++k)
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
          auto ex = co_await asio::this_coro::executor;
          while (ok.load() < 100) co_await asio::post(ex, asio::use_awaitable);
          auto [ec] = co_await db.async_close(asiolite::compat::as_tuple(asio::use_awaitable));
          (ec ? close_failed : close_ok).fetch_add(1);
        },
        asio::detached);
  test::run_on_threads(ctx, 4);

  CHECK(finished == writers);
  CHECK(closed == writers);  // every writer stopped on errc::closed, none on anything else
  CHECK(other == 0);
  CHECK(close_ok == 2);
  CHECK(close_failed == 0);
  CHECK_FALSE(db.is_open());
  CHECK(rows_in(dir.db()) == ok.load());  // exactly the writes that reported success
}

TEST_CASE("lifetime: a connection closed and reopened many times while coroutines keep using it") {
  test::temp_dir dir;
  asio::io_context ctx(4);
  asiolite::connection db(ctx);
  constexpr int users = 4, rounds = 40;
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, closed{0}, other{0}, users_done{0}, open_ok{0}, close_ok{0}, cycle_errors{0};

  for (int u = 0; u < users; ++u)
    asio::co_spawn(
        ctx,
        [&, u]() -> asio::awaitable<void> {
          auto ex = co_await asio::this_coro::executor;
          for (int i = 0; !stop.load(); ++i) {
            const int value = u * 1000000 + i;
            auto [ec, v] =
                co_await db.async_query_scalar<int>("SELECT ?", value, asiolite::compat::as_tuple(asio::use_awaitable));
            if (!ec && v == value)
              ++ok;
            else if (ec == asiolite::errc::closed)
              ++closed;
            else
              ++other;
            if (ec) co_await asio::post(ex, asio::use_awaitable);  // let the cycler run
          }
          ++users_done;
        },
        asio::detached);
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        const auto path = dir.db();
        for (int r = 0; r < rounds; ++r) {
          auto [open_ec] = co_await db.async_open(path, asiolite::compat::as_tuple(asio::use_awaitable));
          (open_ec ? cycle_errors : open_ok).fetch_add(1);
          for (int y = 0; y < 20; ++y) co_await asio::post(ex, asio::use_awaitable);
          auto [close_ec] = co_await db.async_close(asiolite::compat::as_tuple(asio::use_awaitable));
          (close_ec ? cycle_errors : close_ok).fetch_add(1);
        }
        stop = true;
      },
      asio::detached);
  test::run_on_threads(ctx, 4);

  CHECK(open_ok == rounds);
  CHECK(close_ok == rounds);
  CHECK(cycle_errors == 0);
  CHECK(users_done == users);
  CHECK(other == 0);
  CHECK_FALSE(db.is_open());
}

TEST_CASE("lifetime: reopen as soon as the queue allows it, without waiting for the close to complete") {
  // The close's completion (which joins the old worker) and the new worker's start race.
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::connection db(ctx);
  background_runner runner(ctx, 2);
  const auto path = dir.db();
  constexpr int rounds = 20;
  std::atomic<int> close_ok{0}, close_calls{0}, rejected{0}, open_ok{0}, open_other{0}, query_ok{0}, query_calls{0};

  {
    std::promise<asiolite::error_code> p;
    db.async_open(path, [&](asiolite::error_code ec) { p.set_value(ec); });
    REQUIRE_FALSE(p.get_future().get());
  }
  for (int r = 0; r < rounds; ++r) {
    db.async_execute("SELECT 1", [&](asiolite::error_code ec, asiolite::execute_result) {
      ++query_calls;
      if (!ec) ++query_ok;
    });
    db.async_close([&](asiolite::error_code ec) {
      ++close_calls;
      if (!ec) ++close_ok;
    });
    // Fire opens until one is accepted; the rest fail with already_open.
    std::promise<void> accepted;
    std::atomic<bool> done{false};
    while (!done.load()) {
      db.async_open(path, [&](asiolite::error_code ec) {
        if (ec == asiolite::errc::already_open) {
          ++rejected;
          return;
        }
        (ec ? open_other : open_ok).fetch_add(1);
        done = true;
        accepted.set_value();
      });
      std::this_thread::yield();
    }
    accepted.get_future().get();
  }
  {
    std::promise<asiolite::error_code> p;
    db.async_close([&](asiolite::error_code ec) { p.set_value(ec); });
    CHECK_FALSE(p.get_future().get());
  }
  runner.finish();  // every handler has run once this returns
  CHECK(open_ok == rounds);
  CHECK(open_other == 0);
  CHECK(close_calls == rounds);
  CHECK(close_ok == rounds);
  CHECK(query_calls == rounds);
  CHECK(query_ok == rounds);
  CHECK_FALSE(db.is_open());
}

TEST_CASE("lifetime: one connection used from many plain threads at once, then closed") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  create_table(ctx, db);
  background_runner runner(ctx, 2);

  constexpr int threads = 4, per = 200;
  std::vector<std::atomic<int>> calls(threads * per);
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < threads; ++t)
    submitters.emplace_back([&, t] {
      for (int i = 0; i < per; ++i) {
        const int id = t * per + i;
        db.async_execute("INSERT INTO t VALUES (?)", id, [&, id](asiolite::error_code ec, asiolite::execute_result) {
          calls[static_cast<std::size_t>(id)].fetch_add(1);
          (ec ? failed : ok).fetch_add(1);
        });
      }
    });
  for (auto& t : submitters) t.join();
  CHECK_FALSE(close_and_wait(db));
  runner.finish();

  CHECK(ok == threads * per);
  CHECK(failed == 0);
  int not_once = 0;
  for (auto& n : calls)
    if (n.load() != 1) ++not_once;
  CHECK(not_once == 0);
  CHECK(rows_in(dir.db()) == threads * per);
}

TEST_CASE("lifetime: a worker gone to sleep wakes for each request, whether one thread or several submit it") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  create_table(ctx, db);
  background_runner runner(ctx, 1);

  // Each round starts once the worker has had time to stop spinning and sleep (it spins
  // for about 50 us); then `threads` threads submit at the same moment. A lost wake-up
  // leaves a request queued forever: its future never becomes ready.
  constexpr int rounds = 60, threads = 3;
  int late = 0, done = 0;
  for (int round = 0; round < rounds && late == 0; ++round) {
    std::this_thread::sleep_for(std::chrono::microseconds(round % 2 ? 300 : 2000));
    std::atomic<bool> go{false};
    std::vector<std::future<asiolite::execute_result>> results(threads);
    std::vector<std::thread> submitters;
    for (int t = 0; t < threads; ++t)
      submitters.emplace_back([&, t] {
        while (!go.load()) {
        }
        results[static_cast<std::size_t>(t)] =
            db.async_execute("INSERT INTO t VALUES (?)", round * threads + t, asio::use_future);
      });
    go = true;
    for (auto& s : submitters) s.join();
    for (auto& r : results) {
      if (r.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
        ++late;
        continue;
      }
      r.get();
      ++done;
    }
  }
  CHECK_FALSE(close_and_wait(db));
  runner.finish();

  CHECK(late == 0);
  CHECK(done == rounds * threads);
  CHECK(rows_in(dir.db()) == rounds * threads);
}

TEST_CASE("lifetime: cancelling queued requests removes them, cancelling the rest races with completion") {
  test::temp_dir dir;
  gate g;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db(), g.options());
  create_table(ctx, db);
  background_runner runner(ctx, 4);
  auto strand = asio::make_strand(ctx);

  constexpr int n = 400;
  std::unique_ptr<asio::cancellation_signal[]> signals(new asio::cancellation_signal[n]);
  // Confined to the strand until the runner is joined.
  std::vector<int> calls(n, 0);
  std::vector<asiolite::error_code> results(n);
  std::atomic<int> gate_calls{0};

  // The worker waits in gate() while everything else is queued behind it.
  db.async_query_scalar<int>("SELECT gate()", [&](asiolite::error_code, int) { ++gate_calls; });
  {
    std::promise<void> submitted;
    asio::post(strand, [&] {
      for (int i = 0; i < n; ++i)
        db.async_execute("INSERT INTO t VALUES (?)", i,
                         asio::bind_cancellation_slot(
                             signals[static_cast<std::size_t>(i)].slot(),
                             asio::bind_executor(strand, [&, i](asiolite::error_code ec, asiolite::execute_result) {
                               ++calls[static_cast<std::size_t>(i)];
                               results[static_cast<std::size_t>(i)] = ec;
                             })));
      submitted.set_value();
    });
    submitted.get_future().get();
  }
  g.wait_entered();
  {
    // Every even one is certainly still queued: removed, completed with operation_aborted.
    std::promise<void> cancelled;
    asio::post(strand, [&] {
      for (int i = 0; i < n; i += 2) signals[static_cast<std::size_t>(i)].emit(asio::cancellation_type::terminal);
      cancelled.set_value();
    });
    cancelled.get_future().get();
  }
  g.release();
  // Cancel every odd one, one strand turn each, while the worker drains the queue: each
  // is then queued, running or done.
  for (int i = 1; i < n; i += 2)
    asio::post(strand, [&, i] { signals[static_cast<std::size_t>(i)].emit(asio::cancellation_type::terminal); });
  runner.finish();

  // Once completed, a request's slot is cleared: emitting again reaches nothing.
  for (int i = 0; i < n; ++i) signals[static_cast<std::size_t>(i)].emit(asio::cancellation_type::terminal);
  test::run_on_threads(ctx, 1);

  CHECK(gate_calls == 1);
  int not_once = 0, even_not_aborted = 0, odd_ok = 0, odd_aborted = 0, odd_other = 0;
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (calls[k] != 1) ++not_once;
    if (i % 2 == 0) {
      if (results[k] != asio::error::operation_aborted) ++even_not_aborted;
    } else if (!results[k]) {
      ++odd_ok;
    } else if (results[k] == asio::error::operation_aborted) {
      ++odd_aborted;
    } else {
      ++odd_other;
    }
  }
  CHECK(not_once == 0);
  CHECK(even_not_aborted == 0);
  CHECK(odd_other == 0);
  CHECK(odd_ok + odd_aborted == n / 2);
  // A request reported aborted never wrote; one reported done did.
  CHECK(rows_in(dir.db()) == odd_ok);
}

TEST_CASE("lifetime: cancelling a running statement interrupts that statement only") {
  test::temp_dir dir;
  gate g;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db(), g.options());
  background_runner runner(ctx, 2);
  auto strand = asio::make_strand(ctx);
  asio::cancellation_signal signal;

  // Never ends unless interrupted.
  std::promise<asiolite::error_code> endless;
  db.async_query_scalar<std::int64_t>(
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c WHERE started(i)",
      asio::bind_cancellation_slot(signal.slot(), asio::bind_executor(strand, [&](asiolite::error_code ec, std::int64_t) {
                                     endless.set_value(ec);
                                   })));
  constexpr int after = 20;
  std::atomic<int> after_ok{0}, after_calls{0};
  for (int i = 0; i < after; ++i)
    db.async_query_scalar<int>("SELECT ?", i, [&, i](asiolite::error_code ec, int v) {
      if (!ec && v == i) ++after_ok;
      ++after_calls;
    });
  g.wait_started();
  asio::post(strand, [&] { signal.emit(asio::cancellation_type::terminal); });
  CHECK(endless.get_future().get() == asio::error::operation_aborted);

  CHECK_FALSE(close_and_wait(db));
  runner.finish();
  CHECK(after_calls == after);
  CHECK(after_ok == after);  // the interruption did not leak into the requests behind it
}

TEST_CASE("lifetime: every allocation through a handler's allocator is freed") {
  test::temp_dir dir;
  asio::io_context ctx(4);
  auto db = test::open(ctx, dir.db());
  create_table(ctx, db);
  alloc_stats stats;
  constexpr int per = 100;
  std::atomic<int> ok{0};
  for (int i = 0; i < per; ++i)
    db.async_execute(
        "INSERT INTO t VALUES (?)", i,
        asio::bind_allocator(counting_allocator<void>(&stats), [&](asiolite::error_code ec, asiolite::execute_result) {
          if (!ec) ++ok;
        }));
  // Also requests that never run: refused, and cancelled.
  asiolite::connection never_opened(ctx);
  never_opened.async_execute("SELECT 1", asio::bind_allocator(counting_allocator<void>(&stats),
                                                              [](asiolite::error_code, asiolite::execute_result) {}));
  test::run_on_threads(ctx, 4);
  db = asiolite::connection();
  CHECK(ok == per);
  CHECK(stats.allocations.load() > 0);
  CHECK(stats.allocations.load() == stats.deallocations.load());
}

// ---- Regressions found in review

TEST_CASE("a default-constructed connection used from a coroutine completes with closed", "[regression]") {
  // Found in review: operation's io_work_ prefers outstanding_work on the connection's empty
  // executor, which throws bad_executor inside the awaitable's initiation: std::terminate.
  asio::io_context ctx;
  asiolite::error_code got;
  test::run(ctx, [](asiolite::error_code& result) -> asio::awaitable<void> {
    asiolite::connection db;
    auto [ec, r] = co_await db.async_execute("SELECT 1", asiolite::compat::as_tuple(asio::use_awaitable));
    result = ec;
  }(got));
  CHECK(got == asiolite::errc::closed);
}

TEST_CASE("a handler's allocator is never used on the worker thread", "[regression]") {
  // Found in review: completion::get_allocator() returns the handler's allocator, and the worker
  // allocates the posted completion with it.
  test::temp_dir dir;
  asio::io_context ctx;
  alloc_stats stats;
  asiolite::options opts;
  opts.on_open = [&](asiolite::sync_handle&) { stats.worker = std::this_thread::get_id(); };
  auto db = test::open(ctx, dir.db(), opts);
  // A concrete executor type: any_io_executor drops the allocator property, so only a
  // handler bound to one (an io_context's, a strand's) shows it.
  auto strand = asio::make_strand(ctx.get_executor());
  std::atomic<int> ok{0};
  for (int i = 0; i < 20; ++i) {
    db.async_query_scalar<int>(
        "SELECT ?", i,
        asio::bind_executor(ctx.get_executor(),
                            asio::bind_allocator(counting_allocator<void>(&stats), [&](asiolite::error_code ec, int) {
                              if (!ec) ++ok;
                            })));
    db.async_query_scalar<int>("SELECT ?", i,
                               asio::bind_executor(strand, asio::bind_allocator(counting_allocator<void>(&stats),
                                                                                [&](asiolite::error_code ec, int) {
                                                                                  if (!ec) ++ok;
                                                                                })));
  }
  test::run_on_threads(ctx, 1);
  CHECK(ok == 40);
  CHECK(stats.on_worker.load() == 0);
  CHECK(stats.allocations.load() == stats.deallocations.load());
}

TEST_CASE("an operation is freed with the allocator of its handler as given, not as moved from", "[regression]") {
  // Found in review: finish() moves the handler out, then destroy() asks the moved-from handler_
  // for the allocator to free the operation with.
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  auto stats = std::make_shared<alloc_stats>();
  std::atomic<int> calls{0};
  orphan_deallocations = 0;
  for (int i = 0; i < 20; ++i) db.async_execute("SELECT 1", handler_with_state{stats, &calls});
  test::run_on_threads(ctx, 1);
  CHECK(calls == 20);
  CHECK(orphan_deallocations.load() == 0);
  CHECK(stats->allocations.load() == stats->deallocations.load());
}

// ---- Completions delivered in batches (connection_impl::deliver_later)

TEST_CASE("lifetime: a completion handler that throws leaves the others to the next run") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  constexpr int per = 20;
  std::vector<int> calls(per, 0);
  // Handlers on the connection's own executor share one drain; every third one throws.
  for (int i = 0; i < per; ++i)
    db.async_query_scalar<int>("SELECT ?", i, [&calls, i](asiolite::error_code ec, int v) {
      if (!ec && v == i) ++calls[static_cast<std::size_t>(i)];
      if (i % 3 == 0) throw std::runtime_error("handler " + std::to_string(i));
    });
  int thrown = 0;
  for (int attempts = 0; attempts < 100; ++attempts) {
    try {
      ctx.restart();
      ctx.run();
      break;
    } catch (const std::runtime_error&) {
      ++thrown;
    }
  }
  CHECK(thrown == (per + 2) / 3);
  for (int i = 0; i < per; ++i) CHECK(calls[static_cast<std::size_t>(i)] == 1);
  // The connection still works, and still delivers through its drain.
  const int still =
      test::run(ctx, [&]() -> asio::awaitable<int> { co_return co_await db.async_query_scalar<int>("SELECT 7"); }());
  CHECK(still == 7);
}

TEST_CASE("lifetime: completions waiting for a stopped io_context are freed with it, unrun") {
  test::temp_dir dir;
  auto stats = std::make_shared<alloc_stats>();
  std::atomic<int> ran{0};
  {
    auto ctx = std::make_unique<asio::io_context>();
    std::optional<asiolite::connection> db(std::in_place, *ctx);
    {
      asiolite::options opts;
      asiolite::error_code ec;
      db->async_open(dir.db(), opts, [&](asiolite::error_code e) { ec = e; });
      ctx->run();
      REQUIRE_FALSE(ec);
    }
    ctx->restart();
    for (int i = 0; i < 10; ++i)
      db->async_execute("SELECT 1", asio::bind_allocator(counting_allocator<void>(stats.get()),
                                                         [&](asiolite::error_code, asiolite::execute_result) { ++ran; }));
    // A last request whose handler runs elsewhere: when it completes, the ten before it have
    // been handed to the (not running) io_context.
    asio::io_context other;
    std::promise<void> last_done;
    db->async_execute("SELECT 1", asio::bind_executor(other, [&](asiolite::error_code, asiolite::execute_result) {
                        last_done.set_value();
                      }));
    std::thread t([&] { other.run(); });
    last_done.get_future().wait();
    t.join();
    db.reset();
    ctx.reset();  // never ran again: the ten completions are destroyed unrun
  }
  CHECK(ran == 0);
  CHECK(stats->allocations.load() > 0);
  CHECK(stats->allocations.load() == stats->deallocations.load());
}
