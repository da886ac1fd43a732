// connection.hpp: opening and closing both ways, where handlers run, threads, lifetime.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// An executor that runs work on an io_context and remembers that it did: handlers that
// run through it see `inside` set, and `runs` counts them.
struct recording_executor {
  asio::io_context::executor_type inner;
  std::atomic<int>* runs;

  static bool& inside() {
    static thread_local bool flag = false;
    return flag;
  }

  template <class F>
  void execute(F f) const {
    asio::execution::execute(inner, [f = std::move(f), runs = runs]() mutable {
      runs->fetch_add(1);
      inside() = true;
      f();
      inside() = false;
    });
  }
  asio::execution_context& query(asio::execution::context_t) const noexcept { return inner.context(); }
  static constexpr asio::execution::blocking_t query(asio::execution::blocking_t) noexcept {
    return asio::execution::blocking.never;
  }
  [[maybe_unused]] friend bool operator==(const recording_executor& a, const recording_executor& b) noexcept {
    return a.inner == b.inner && a.runs == b.runs;
  }
};

// Options whose on_open hook reports the worker thread's id, kernel thread id and name.
struct worker_probe {
  std::thread::id id;
  pid_t tid = 0;
  std::string name;

  asiolite::options options() {
    asiolite::options opts;
    opts.on_open = [this](asiolite::sync_handle&) {
      id = std::this_thread::get_id();
      tid = gettid();
      char buf[32] = {};
      pthread_getname_np(pthread_self(), buf, sizeof buf);
      name = buf;
    };
    return opts;
  }

  bool thread_exists() const { return std::filesystem::exists("/proc/self/task/" + std::to_string(tid)); }
};

std::int64_t count_rows(const std::string& path, const std::string& table = "t") {
  asio::io_context ctx;
  auto db = test::open(ctx, path);
  return test::run(ctx, [](asiolite::connection& conn, std::string sql) -> asio::awaitable<std::int64_t> {
    co_return co_await conn.async_query_scalar<std::int64_t>(sql);
  }(db, "SELECT count(*) FROM " + table));
}

}  // namespace

TEST_CASE("a connection opened with RAII runs statements and closes when destroyed") {
  test::temp_dir dir;
  asio::io_context ctx;
  test::run(ctx, [](std::string path) -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto db = co_await asiolite::connection::async_open(ex, path);
    CHECK(db.is_open());
    co_await db.async_execute("CREATE TABLE t(x INTEGER)");
    auto r = co_await db.async_execute("INSERT INTO t VALUES (?)", 42);
    CHECK(r.changes == 1);
    CHECK(r.last_insert_rowid == 1);
    auto n = co_await db.async_query_scalar<std::int64_t>("SELECT x FROM t");
    CHECK(n == 42);
  }(dir.db()));
  CHECK(count_rows(dir.db()) == 1);
}

TEST_CASE("a connection stored as a member is opened once, shared by many coroutines, and closed explicitly") {
  test::temp_dir dir;
  asio::io_context ctx;

  struct app {
    asiolite::connection db;
    explicit app(asio::io_context& ctx) : db(ctx) {}
  } a(ctx);
  CHECK_FALSE(a.db.is_open());

  test::run(ctx, [](app& application, std::string path) -> asio::awaitable<void> {
    co_await application.db.async_open(path);
    co_await application.db.async_execute("CREATE TABLE t(x INTEGER)");
  }(a, dir.db()));
  CHECK(a.db.is_open());

  constexpr int workers = 50, each = 20;
  for (int w = 0; w < workers; ++w)
    asio::co_spawn(
        ctx,
        [](app& application, int worker) -> asio::awaitable<void> {
          for (int i = 0; i < each; ++i)
            co_await application.db.async_execute("INSERT INTO t VALUES (?)", worker * each + i);
        }(a, w),
        asio::detached);
  ctx.restart();
  ctx.run();

  auto [count, sum] = test::run(ctx, [](app& application) -> asio::awaitable<std::tuple<std::int64_t, std::int64_t>> {
    auto r = co_await application.db.async_query_one<std::tuple<std::int64_t, std::int64_t>>(
        "SELECT count(*), sum(x) FROM t");
    co_await application.db.async_close();
    co_return *r;
  }(a));
  CHECK(count == workers * each);
  CHECK(sum == (workers * each - 1) * workers * each / 2);
  CHECK_FALSE(a.db.is_open());
}

TEST_CASE("async_open on an open connection fails with already_open and leaves it open") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn, std::string path) -> asio::awaitable<void> {
    auto [ec] = co_await conn.async_open(path, asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::already_open);
    CHECK(conn.is_open());
    const auto awaited = co_await conn.async_query_scalar<int>("SELECT 1");
    CHECK(awaited == 1);
  }(db, dir.db()));
}

TEST_CASE("a connection can be reopened after it was closed") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::connection db(ctx);
  test::run(ctx, [](asiolite::connection& conn, std::string a, std::string b) -> asio::awaitable<void> {
    for (int round = 0; round < 3; ++round) {
      co_await conn.async_open(round % 2 ? b : a);
      co_await conn.async_execute("CREATE TABLE IF NOT EXISTS t(x)");
      co_await conn.async_execute("INSERT INTO t VALUES (?)", round);
      co_await conn.async_close();
    }
  }(db, dir.db("a.db"), dir.db("b.db")));
  CHECK(count_rows(dir.db("a.db")) == 2);
  CHECK(count_rows(dir.db("b.db")) == 1);
}

TEST_CASE("completions run through the handler's associated executor, never inline, never on the worker") {
  test::temp_dir dir;
  asio::io_context ctx;
  worker_probe probe;
  auto db = test::open(ctx, dir.db(), probe.options());
  REQUIRE(probe.id != std::thread::id());
  REQUIRE(probe.id != std::this_thread::get_id());

  std::atomic<int> runs{0};
  recording_executor rec{ctx.get_executor(), &runs};
  struct seen {
    bool called = false, inside = false, before_return = false;
    std::thread::id thread;
    asiolite::error_code ec;
  } s;
  bool returned = false;
  db.async_execute("SELECT 1", asio::bind_executor(rec, [&](asiolite::error_code ec, asiolite::execute_result) {
                     s.called = true;
                     s.inside = recording_executor::inside();
                     s.before_return = !returned;
                     s.thread = std::this_thread::get_id();
                     s.ec = ec;
                   }));
  returned = true;
  ctx.restart();
  ctx.run();
  CHECK(s.called);
  CHECK_FALSE(s.ec);
  CHECK(s.inside);
  CHECK_FALSE(s.before_return);
  CHECK(s.thread == std::this_thread::get_id());
  CHECK(s.thread != probe.id);
  CHECK(runs.load() >= 1);
}

TEST_CASE("a failed request also completes through the handler's executor, never inline") {
  asio::io_context ctx;
  asiolite::connection db(ctx);  // never opened: fails at once with errc::closed
  std::atomic<int> runs{0};
  recording_executor rec{ctx.get_executor(), &runs};
  bool returned = false, inside = false, before_return = true;
  asiolite::error_code got;
  db.async_execute("SELECT 1", asio::bind_executor(rec, [&](asiolite::error_code ec, asiolite::execute_result) {
                     got = ec;
                     inside = recording_executor::inside();
                     before_return = !returned;
                   }));
  returned = true;
  ctx.run();
  CHECK(got == asiolite::errc::closed);
  CHECK(inside);
  CHECK_FALSE(before_return);
}

TEST_CASE("handlers bound to a strand run in that strand on a multi-threaded io_context") {
  test::temp_dir dir;
  asio::io_context ctx(4);
  worker_probe probe;
  auto db = test::open(ctx, dir.db(), probe.options());

  auto strand = asio::make_strand(ctx);
  constexpr int requests = 400;
  std::atomic<int> done{0}, outside_strand{0}, on_worker{0}, failed{0};
  int unguarded = 0;  // only touched in the strand: TSan reports a race if that breaks
  for (int i = 0; i < requests; ++i)
    db.async_query_scalar<int>("SELECT ?", i, asio::bind_executor(strand, [&, i](asiolite::error_code ec, int v) {
                                 if (!strand.running_in_this_thread()) ++outside_strand;
                                 if (std::this_thread::get_id() == probe.id) ++on_worker;
                                 if (ec || v != i) ++failed;
                                 ++unguarded;
                                 ++done;
                               }));
  test::run_on_threads(ctx, 4);
  CHECK(done == requests);
  CHECK(unguarded == requests);
  CHECK(outside_strand == 0);
  CHECK(on_worker == 0);
  CHECK(failed == 0);
}

TEST_CASE("one connection serves coroutines on a 4-thread io_context, no handler runs on the worker") {
  test::temp_dir dir;
  asio::io_context ctx(4);
  worker_probe probe;
  auto db = test::open(ctx, dir.db(), probe.options());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t(x INTEGER, thread TEXT)");
  }(db));

  constexpr int coroutines = 200, each = 10;
  std::atomic<int> on_worker{0}, finished{0};
  std::mutex threads_mutex;
  std::set<std::thread::id> resumed_on;
  for (int c = 0; c < coroutines; ++c)
    asio::co_spawn(
        ctx,
        [&, c]() -> asio::awaitable<void> {
          for (int i = 0; i < each; ++i) {
            co_await db.async_execute("INSERT INTO t(x) VALUES (?)", c * each + i);
            if (std::this_thread::get_id() == probe.id) ++on_worker;
            std::lock_guard lock(threads_mutex);
            resumed_on.insert(std::this_thread::get_id());
          }
          ++finished;
        },
        asio::detached);
  test::run_on_threads(ctx, 4);
  CHECK(finished == coroutines);
  CHECK(on_worker == 0);
  CHECK(resumed_on.count(probe.id) == 0);
  db = asiolite::connection();
  CHECK(count_rows(dir.db()) == coroutines * each);
}

TEST_CASE("the worker thread is named asiolite-db and runs the on_open hook before any request") {
  test::temp_dir dir;
  asio::io_context ctx;
  worker_probe probe;
  auto opts = probe.options();
  auto inner = opts.on_open;
  opts.on_open = [inner](asiolite::sync_handle& h) {
    inner(h);
    h.execute("CREATE TABLE made_by_hook(x)");
  };
  asiolite::connection db(ctx);
  asiolite::error_code open_ec, query_ec;
  std::int64_t tables = -1;
  // The query is submitted right behind the open, before the open has completed.
  db.async_open(dir.db(), opts, [&](asiolite::error_code ec) { open_ec = ec; });
  db.async_query_scalar<std::int64_t>("SELECT count(*) FROM sqlite_schema WHERE name = 'made_by_hook'",
                                      [&](asiolite::error_code ec, std::int64_t n) {
                                        query_ec = ec;
                                        tables = n;
                                      });
  ctx.run();
  CHECK_FALSE(open_ec);
  CHECK_FALSE(query_ec);
  CHECK(tables == 1);
  CHECK(probe.name == "asiolite-db");
}

TEST_CASE("requests run in the order they were submitted") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t(seq INTEGER)");
  }(db));

  constexpr int n = 500;
  std::vector<int> completion_order;
  for (int i = 0; i < n; ++i)
    db.async_execute("INSERT INTO t VALUES (?)", i, [&, i](asiolite::error_code ec, asiolite::execute_result) {
      if (!ec) completion_order.push_back(i);
    });
  ctx.restart();
  ctx.run();
  REQUIRE(completion_order.size() == n);
  for (int i = 0; i < n; ++i) CHECK(completion_order[static_cast<std::size_t>(i)] == i);

  auto seqs = test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<std::vector<int>> {
    co_return co_await conn.async_query<int>("SELECT seq FROM t ORDER BY rowid");
  }(db));
  REQUIRE(seqs.size() == n);
  for (int i = 0; i < n; ++i) CHECK(seqs[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("io_context::run does not return while a request is in flight") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  bool called = false;
  // A query that keeps the worker busy for a while; nothing else keeps ctx alive.
  db.async_query_scalar<std::int64_t>(
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300000) SELECT count(*) FROM c",
      [&](asiolite::error_code ec, std::int64_t n) { called = !ec && n == 300000; });
  ctx.restart();
  ctx.run();
  CHECK(called);
}

TEST_CASE("async_close runs after queued requests, ends the thread, and later requests fail with closed") {
  test::temp_dir dir;
  asio::io_context ctx;
  worker_probe probe;
  auto db = test::open(ctx, dir.db(), probe.options());
  CHECK(probe.thread_exists());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t(x)");
  }(db));

  int inserted = 0;
  std::vector<asiolite::error_code> closes;
  for (int i = 0; i < 20; ++i)
    db.async_execute("INSERT INTO t VALUES (?)", i, [&](asiolite::error_code ec, asiolite::execute_result) {
      if (!ec) ++inserted;
    });
  db.async_close([&](asiolite::error_code ec) { closes.push_back(ec); });
  db.async_close([&](asiolite::error_code ec) { closes.push_back(ec); });  // joins the first
  asiolite::error_code after;
  db.async_execute("INSERT INTO t VALUES (1)", [&](asiolite::error_code ec, asiolite::execute_result) { after = ec; });
  ctx.restart();
  ctx.run();

  CHECK(inserted == 20);
  REQUIRE(closes.size() == 2);
  CHECK_FALSE(closes[0]);
  CHECK_FALSE(closes[1]);
  CHECK(after == asiolite::errc::closed);
  CHECK_FALSE(db.is_open());
  CHECK_FALSE(probe.thread_exists());  // joined before the close's handler ran

  // Closing a closed connection succeeds; statements still fail cleanly.
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_close();
    auto [ec, r] = co_await conn.async_execute("SELECT 1", asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::closed);
  }(db));
  CHECK(count_rows(dir.db()) == 20);
}

TEST_CASE("a connection destroyed while open still runs its queued writes and calls their handlers") {
  test::temp_dir dir;
  {
    asio::io_context ctx;
    auto db = test::open(ctx, dir.db());
    test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
      co_await conn.async_execute("CREATE TABLE t(x)");
    }(db));
    int handled = 0, succeeded = 0;
    for (int i = 0; i < 100; ++i)
      db.async_execute("INSERT INTO t VALUES (?)", i, [&](asiolite::error_code ec, asiolite::execute_result) {
        ++handled;
        if (!ec) ++succeeded;
      });
    db = asiolite::connection();  // destroys the open connection with 100 writes queued
    CHECK(handled == 0);          // nothing ran inline in the destructor
    ctx.restart();
    ctx.run();
    CHECK(handled == 100);
    CHECK(succeeded == 100);
  }
  CHECK(count_rows(dir.db()) == 100);
}

TEST_CASE("destroying an open connection does not wait for a long query to finish") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  std::atomic<bool> finished{false};
  db.async_query_scalar<std::int64_t>(
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000000) SELECT count(*) FROM c",
      [&](asiolite::error_code, std::int64_t) { finished = true; });
  db = asiolite::connection();
  // The handler can only run inside ctx.run(): the destructor returned without it.
  CHECK_FALSE(finished);
  ctx.restart();
  ctx.run();
  CHECK(finished);
}

TEST_CASE("a program that never closes its connection exits cleanly with its writes on disk") {
  test::temp_dir dir;
  const auto path = dir.db();
  // exit_probe queues writes, drops its connection without closing it, and returns from main.
  const std::string command = std::string(ASIOLITE_EXIT_PROBE) + " '" + path + "' 50";
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(count_rows(path) == 50);
}

TEST_CASE("an exception from the on_open hook reaches the caller as thrown, and the connection can open again") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::connection db(ctx);
  asiolite::options bad;
  bad.on_open = [](asiolite::sync_handle&) { throw std::runtime_error("hook says no"); };

  test::run(
      ctx, [](asiolite::connection& conn, std::string path, asiolite::options failing_hook) -> asio::awaitable<void> {
        // Default token: the hook's own exception, unchanged.
        bool caught = false;
        try {
          co_await conn.async_open(path, failing_hook);
        } catch (const std::runtime_error& e) {
          caught = std::string(e.what()) == "hook says no";
        }
        CHECK(caught);
        CHECK_FALSE(conn.is_open());

        // Error-code path: user_exception, with what() as the message.
        asiolite::diagnostics diag;
        auto [ec] = co_await conn.async_open(path, failing_hook, diag, asiolite::compat::as_tuple(asio::use_awaitable));
        CHECK(ec == asiolite::errc::user_exception);
        CHECK(diag.message() == "hook says no");

        co_await conn.async_open(path);
        const auto awaited2 = co_await conn.async_query_scalar<int>("SELECT 7");
        CHECK(awaited2 == 7);
      }(db, dir.db(), bad));
}

TEST_CASE("requests made while an open is failing complete with closed") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::connection db(ctx);
  const auto missing = (dir.path() / "no" / "such" / "dir.db").string();
  asiolite::error_code open_ec, query_ec, close_ec;
  db.async_open(missing, [&](asiolite::error_code ec) { open_ec = ec; });
  db.async_execute("SELECT 1", [&](asiolite::error_code ec, asiolite::execute_result) { query_ec = ec; });
  db.async_close([&](asiolite::error_code ec) { close_ec = ec; });
  ctx.run();
  CHECK(open_ec == asiolite::errc::cantopen);
  CHECK(query_ec == asiolite::errc::closed);
  CHECK_FALSE(close_ec);
}

TEST_CASE("a moved-from or default-constructed connection fails every request with closed") {
  asio::io_context ctx;
  asiolite::connection a(ctx);
  asiolite::connection b = std::move(a);
  std::vector<asiolite::error_code> got;
  a.async_execute("SELECT 1", [&](asiolite::error_code ec, asiolite::execute_result) { got.push_back(ec); });
  a.async_open(":memory:", [&](asiolite::error_code ec) { got.push_back(ec); });
  ctx.run();
  REQUIRE(got.size() == 2);
  CHECK(got[0] == asiolite::errc::closed);
  CHECK(got[1] == asiolite::errc::closed);
  CHECK(a.get_executor() == b.get_executor());
}

TEST_CASE("tokens: use_future from another thread, redirect_error, deferred, callbacks") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  auto guard = asio::make_work_guard(ctx);
  std::thread runner([&] { ctx.run(); });

  // use_future: success, then a failure that arrives as sqlite_error with SQLite's message.
  std::future<std::int64_t> f = db.async_query_scalar<std::int64_t>("SELECT 6 * 7", asio::use_future);
  CHECK(f.get() == 42);
  auto bad = db.async_execute("SELEC nonsense", asio::use_future);
  bool threw = false;
  try {
    bad.get();
  } catch (const asiolite::sqlite_error& e) {
    threw = std::string(e.what()).find("syntax error") != std::string::npos && e.sql() == "SELEC nonsense";
  }
  CHECK(threw);

  // deferred: nothing runs until the deferred operation is given a token.
  auto op = db.async_query_scalar<int>("SELECT 5", asiolite::compat::deferred);
  std::promise<int> p;
  std::move(op)([&](asiolite::error_code ec, int v) { p.set_value(ec ? -1 : v); });
  CHECK(p.get_future().get() == 5);

  guard.reset();
  runner.join();

  asiolite::error_code ec;
  ctx.restart();
  test::run(ctx, [](asiolite::connection& conn, asiolite::error_code& result) -> asio::awaitable<void> {
    co_await conn.async_execute("SELECT * FROM missing_table", asio::redirect_error(asio::use_awaitable, result));
  }(db, ec));
  CHECK(ec == asiolite::errc::error);
}

TEST_CASE("a completion handler passed as a named lvalue is copied and called") {
  asio::io_context ctx;
  auto db = test::open(ctx, ":memory:");
  int calls = 0, value = 0;
  auto handler = [&](asiolite::error_code ec, int v) {
    ++calls;
    if (!ec) value = v;
  };
  db.async_query_scalar<int>("SELECT 11", handler);
  db.async_query_scalar<int>("SELECT 12", handler);
  ctx.run();
  CHECK(calls == 2);
  CHECK(value == 12);
}

TEST_CASE("a connection whose executor is a thread_pool serves coroutines on it, no handler runs on the worker") {
  test::temp_dir dir;
  worker_probe probe;
  asio::thread_pool pool(4);
  asiolite::connection db(pool.get_executor());
  std::promise<asiolite::error_code> opened;
  db.async_open(dir.db(), probe.options(), [&opened](asiolite::error_code ec) { opened.set_value(ec); });
  REQUIRE_FALSE(opened.get_future().get());
  REQUIRE(probe.id != std::thread::id());

  constexpr int coroutines = 100, each = 10, callbacks = 200;
  std::atomic<int> off_pool{0}, on_worker{0}, wrong{0}, finished{0}, called{0};
  // Where a handler runs: on one of the pool's threads, never on the worker.
  auto where = [&pool, &probe, &off_pool, &on_worker] {
    if (!pool.get_executor().running_in_this_thread()) ++off_pool;
    if (std::this_thread::get_id() == probe.id) ++on_worker;
  };
  asio::co_spawn(
      pool,
      [&db, &where]() -> asio::awaitable<void> {
        co_await db.async_execute("CREATE TABLE t(c INTEGER, i INTEGER)");
        where();
      },
      asio::use_future)
      .get();
  for (int c = 0; c < coroutines; ++c)
    asio::co_spawn(
        pool,
        [&db, &where, &wrong, &finished, c]() -> asio::awaitable<void> {
          for (int i = 0; i < each; ++i) {
            co_await db.async_execute("INSERT INTO t VALUES (?, ?)", c, i);
            where();
            const auto mine = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t WHERE c = ?", c);
            where();
            if (mine != i + 1) ++wrong;
          }
          ++finished;
        },
        asio::detached);
  // Callbacks without an executor of their own run on the connection's: the pool.
  for (int k = 0; k < callbacks; ++k)
    db.async_query_scalar<int>("SELECT ?", k, [&where, &wrong, &called, k](asiolite::error_code ec, int v) {
      where();
      if (ec || v != k) ++wrong;
      ++called;
    });
  pool.join();  // returns once the pool has no work left: every operation has completed

  CHECK(finished == coroutines);
  CHECK(called == callbacks);
  CHECK(wrong == 0);
  CHECK(off_pool == 0);
  CHECK(on_worker == 0);
  db = asiolite::connection();
  CHECK(count_rows(dir.db()) == coroutines * each);
}

TEST_CASE(
    "coroutines on a thread_pool share a connection of an io_context, resuming on the pool, never on the worker") {
  test::temp_dir dir;
  asio::io_context ctx;  // the connection's executor: never run while the pool works
  worker_probe probe;
  auto db = test::open(ctx, dir.db(), probe.options());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t(c INTEGER, i INTEGER)");
  }(db));

  asio::thread_pool pool(4);
  constexpr int coroutines = 100, each = 10;
  std::atomic<int> off_pool{0}, on_worker{0}, wrong{0}, finished{0};
  for (int c = 0; c < coroutines; ++c)
    asio::co_spawn(
        pool,
        [&, c]() -> asio::awaitable<void> {
          for (int i = 0; i < each; ++i) {
            const auto r = co_await db.async_execute("INSERT INTO t VALUES (?, ?)", c, i);
            if (!pool.get_executor().running_in_this_thread()) ++off_pool;
            if (std::this_thread::get_id() == probe.id) ++on_worker;
            const auto back = co_await db.async_query_one<std::tuple<std::int64_t, std::int64_t>>(
                "SELECT c, i FROM t WHERE rowid = ?", r.last_insert_rowid);
            if (!pool.get_executor().running_in_this_thread()) ++off_pool;
            if (std::this_thread::get_id() == probe.id) ++on_worker;
            if (!back || *back != std::make_tuple(std::int64_t{c}, std::int64_t{i})) ++wrong;
          }
          ++finished;
        },
        asio::detached);
  pool.join();

  CHECK(finished == coroutines);
  CHECK(wrong == 0);
  CHECK(off_pool == 0);
  CHECK(on_worker == 0);
  db = asiolite::connection();
  CHECK(count_rows(dir.db()) == coroutines * each);
}

namespace {

/// How two snapshots of connection_stats differ in their counts.
struct stats_delta {
  std::int64_t completed, failed, cancelled, hits, misses;
};
stats_delta operator-(const asiolite::connection_stats& a, const asiolite::connection_stats& b) {
  auto d = [](std::uint64_t x, std::uint64_t y) { return static_cast<std::int64_t>(x) - static_cast<std::int64_t>(y); };
  return {d(a.completed, b.completed), d(a.failed, b.failed), d(a.cancelled, b.cancelled),
          d(a.statement_cache_hits, b.statement_cache_hits), d(a.statement_cache_misses, b.statement_cache_misses)};
}

}  // namespace

TEST_CASE("stats: requests are counted by outcome, and the statement cache's hits and misses") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  const auto opened = db.stats();
  CHECK(opened.completed == 1);  // the open
  CHECK(opened.failed == 0);
  CHECK(opened.cancelled == 0);

  test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<void> {
    co_await c.async_execute("CREATE TABLE t (x)");
    for (int i = 0; i < 3; ++i) co_await c.async_execute("INSERT INTO t VALUES (?)", i);
    auto [ec, r] = co_await c.async_execute("INSERT INTO nowhere VALUES (1)", test::tuple_token);
    CHECK(ec);
  }(db));
  const auto ran = db.stats();
  const auto d = ran - opened;
  CHECK(d.completed == 4);
  CHECK(d.failed == 1);
  CHECK(d.cancelled == 0);
  CHECK(d.misses == 3);                 // CREATE, the first INSERT, the failing one
  CHECK(d.hits == 2);                   // the INSERT again, twice
  CHECK(ran.time_queued.count() == 0);  // not measured without options::measure_time
  CHECK(ran.time_running.count() == 0);

  // Cancelled: one taken out of the queue, one stopped while it runs.
  test::worker_block block;
  block.hold(db);
  block.wait_entered();
  asio::cancellation_signal signal;
  asiolite::error_code queued_ec, running_ec;
  db.async_execute(
      "INSERT INTO t VALUES (9)",
      asio::bind_cancellation_slot(signal.slot(), [&](asiolite::error_code e, asiolite::execute_result) { queued_ec = e; }));
  signal.emit(asio::cancellation_type::terminal);
  block.release();
  ctx.restart();
  ctx.run();
  CHECK(queued_ec == asio::error::operation_aborted);
  db.async_query_scalar<std::int64_t>(
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c",
      [&](asiolite::error_code e, std::int64_t) { running_ec = e; });
  while (!db.stats().running) std::this_thread::yield();
  db.cancel();
  ctx.restart();
  ctx.run();
  CHECK(running_ec == asio::error::operation_aborted);
  const auto d2 = db.stats() - ran;
  CHECK(d2.cancelled == 2);
  CHECK(d2.completed == 1);  // the blocking call
  CHECK(d2.failed == 0);
}

TEST_CASE(
    "stats: with measure_time, the time requests waited and ran is summed, on a connection and a pool's readers") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options timed;
  timed.measure_time = true;
  auto db = test::open(ctx, dir.db(), timed);
  // A request queued behind one that holds the worker has waited, and both have run.
  test::worker_block block;
  block.hold(db);
  block.wait_entered();
  bool done = false;
  db.async_execute("CREATE TABLE t (x)", [&](asiolite::error_code, asiolite::execute_result) { done = true; });
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  block.release();
  ctx.restart();
  ctx.run();
  CHECK(done);
  const auto s = db.stats();
  CHECK(s.time_queued.count() > 0);
  CHECK(s.time_running.count() > 0);

  asiolite::pool_options po;
  po.readers = 2;
  po.connection.measure_time = true;
  test::run(ctx, [](std::string path, asiolite::pool_options o) -> asio::awaitable<void> {
    auto p = co_await asiolite::pool::async_open(co_await asio::this_coro::executor, path, o);
    const auto before = p.stats();
    const auto n = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(n == 0);
    const auto after = p.stats();
    REQUIRE(before.readers.size() == 2);
    REQUIRE(after.readers.size() == 2);
    std::int64_t more = 0;
    for (std::size_t i = 0; i < 2; ++i) {
      more += static_cast<std::int64_t>(after.readers[i].completed - before.readers[i].completed);
      CHECK(after.readers[i].time_running.count() > 0);  // each ran its open at least
    }
    CHECK(more == 1);
    CHECK(after.writer.completed >= 1);
    co_await p.async_close();
  }(dir.db(), po));
}
