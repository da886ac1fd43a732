// options::group_commit: autocommit writes queued together share one COMMIT, each in its
// own savepoint; on a connection, and on a pool's writer.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

/// Counts the commits on a connection; fails them while `veto` is set (SQLite then
/// rolls the transaction back, and COMMIT fails with SQLITE_CONSTRAINT_COMMITHOOK).
struct commit_probe {
  std::atomic<int> commits{0};
  std::atomic<bool> veto{false};

  asiolite::options options(std::size_t group) {
    asiolite::options opts;
    opts.group_commit = group;
    opts.on_open = [this](asiolite::sync_handle& h) {
      sqlite3_commit_hook(
          h.native_handle(),
          [](void* self) -> int {
            auto* p = static_cast<commit_probe*>(self);
            if (p->veto) return 1;
            ++p->commits;
            return 0;
          },
          this);
    };
    return opts;
  }
};

struct commit_outcome {
  std::optional<asiolite::error_code> ec;
  std::string message;
};

/// Queues an INSERT of `key` into kv (its handler records the commit_outcome).
void insert(asiolite::connection& db, std::int64_t key, commit_outcome& out, asiolite::diagnostics& diag) {
  db.async_execute("INSERT INTO kv(k) VALUES (?)", key, diag,
                   [&out, &diag](asiolite::error_code ec, asiolite::execute_result) {
                     out.ec = ec;
                     out.message = diag.message();
                   });
}

/// A connection with group commit on a fresh database with the table kv, whose commits
/// the probe counts from zero.
struct grouped_db {
  commit_probe probe;
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::connection db;

  explicit grouped_db(std::size_t group) : db(test::open(ctx, dir.db(), probe.options(group))) {
    test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<void> {
      co_await c.async_execute("CREATE TABLE kv(k INTEGER PRIMARY KEY)");
    }(db));
    probe.commits = 0;
  }
};

std::vector<std::int64_t> keys(asio::io_context& ctx, asiolite::connection& db) {
  return test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<std::vector<std::int64_t>> {
    co_return co_await c.async_query<std::int64_t>("SELECT k FROM kv ORDER BY k");
  }(db));
}

}  // namespace

TEST_CASE("group commit: writes queued together share one COMMIT, and a failing one undoes only itself",
          "[group_commit]") {
  grouped_db g(64);
  auto& probe = g.probe;
  auto& ctx = g.ctx;
  auto& db = g.db;
  // Hold the worker so that the writes queue up behind it, then let them go together.
  test::worker_gate gate;
  gate.hold(db);
  std::vector<commit_outcome> out(20);
  std::vector<asiolite::diagnostics> diag(20);
  for (std::int64_t i = 0; i < 20; ++i)
    insert(db, i % 3 == 2 ? 0 : i, out[static_cast<std::size_t>(i)], diag[static_cast<std::size_t>(i)]);
  gate.release();
  ctx.restart();
  ctx.run();
  std::vector<std::int64_t> expected;
  for (std::int64_t i = 0; i < 20; ++i) {
    const auto& o = out[static_cast<std::size_t>(i)];
    REQUIRE(o.ec);
    if (i % 3 == 2) {
      CHECK(*o.ec == asiolite::errc::constraint);
      CHECK(o.message.find("UNIQUE") != std::string::npos);
    } else {
      CHECK(!*o.ec);
      expected.push_back(i);
    }
  }
  CHECK(keys(ctx, db) == expected);
  CHECK(probe.commits == 1);  // one COMMIT covered all twenty
}

TEST_CASE("group commit: a failed COMMIT fails every write in its group and loses none acknowledged before",
          "[group_commit]") {
  grouped_db g(8);
  auto& probe = g.probe;
  auto& ctx = g.ctx;
  auto& db = g.db;
  auto batch = [&](std::int64_t from, bool veto) {
    test::worker_gate gate;
    gate.hold(db);
    std::vector<commit_outcome> out(8);
    std::vector<asiolite::diagnostics> diag(8);
    for (std::int64_t i = 0; i < 8; ++i)
      insert(db, from + i, out[static_cast<std::size_t>(i)], diag[static_cast<std::size_t>(i)]);
    // The veto is set on the worker, in order: after the gate, before the group.
    db.async_call([&probe, veto](asiolite::sync_handle&) { probe.veto = veto; }, [](asiolite::error_code) {});
    gate.release();
    ctx.restart();
    ctx.run();
    return out;
  };
  // The probe is set by a request queued after the writes: the first batch's group (eight
  // writes) commits before it runs.
  for (const auto& o : batch(0, true)) {
    REQUIRE(o.ec);
    CHECK(!*o.ec);
  }
  // Now every COMMIT is vetoed: the second group fails whole.
  for (const auto& o : batch(100, false)) {
    REQUIRE(o.ec);
    CHECK(*o.ec == asiolite::errc::constraint);
    CHECK(o.message.find("COMMIT failed") != std::string::npos);
  }
  probe.veto = false;
  CHECK(keys(ctx, db) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("group commit: a write alone runs as without it, and writes in transactions are never grouped",
          "[group_commit]") {
  grouped_db g(64);
  auto& probe = g.probe;
  auto& ctx = g.ctx;
  auto& db = g.db;
  test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<void> {
    co_await c.async_execute("INSERT INTO kv VALUES (1)");
    // A transaction's writes are its own: BEGIN ... COMMIT as written.
    auto tx = co_await c.async_begin();
    co_await tx.async_execute("INSERT INTO kv VALUES (2)");
    co_await tx.async_rollback();
    const auto awaited = co_await c.async_query_scalar<std::int64_t>("SELECT count(*) FROM kv");
    CHECK(awaited == 1);
  }(db));
  CHECK(probe.commits == 1);  // the lone INSERT, at once; the rolled back transaction none
}

TEST_CASE("group commit: a write cancelled while queued is removed and never runs", "[group_commit]") {
  grouped_db g(64);
  auto& ctx = g.ctx;
  auto& db = g.db;
  test::worker_gate gate;
  gate.hold(db);
  std::vector<commit_outcome> out(5);
  std::vector<asiolite::diagnostics> diag(5);
  asio::cancellation_signal signal;
  std::optional<asiolite::error_code> cancelled;
  insert(db, 1, out[0], diag[0]);
  db.async_execute("INSERT INTO kv(k) VALUES (2)",
                   asio::bind_cancellation_slot(signal.slot(),
                                                [&](asiolite::error_code ec, asiolite::execute_result) { cancelled = ec; }));
  insert(db, 3, out[1], diag[1]);
  signal.emit(asio::cancellation_type::terminal);
  gate.release();
  ctx.restart();
  ctx.run();
  REQUIRE(cancelled);
  CHECK(*cancelled == asio::error::operation_aborted);
  CHECK(keys(ctx, db) == std::vector<std::int64_t>{1, 3});
}

TEST_CASE("group commit: connection::cancel stops the writes of a group that has not run them yet", "[group_commit]") {
  grouped_db g(64);
  auto& ctx = g.ctx;
  auto& db = g.db;
  // The first write of the group blocks inside SQLite (a function that waits for the
  // gate), so the group is running when cancel() comes.
  test::worker_gate gate;
  std::atomic<bool> entered{false};
  test::run(ctx,
            [](asiolite::connection& c, std::shared_future<void> f, std::atomic<bool>& in) -> asio::awaitable<void> {
              // Named: g++ 12 destroys a lambda that captures by value twice inside co_await.
              auto install = [f, &in](asiolite::sync_handle& h) {
                struct waiter {
                  std::shared_future<void> f;
                  std::atomic<bool>* in;
                };
                sqlite3_create_function_v2(
                    h.native_handle(), "wait_gate", 0, SQLITE_UTF8, new waiter{f, &in},
                    [](sqlite3_context* ctx_, int, sqlite3_value**) {
                      auto* w = static_cast<waiter*>(sqlite3_user_data(ctx_));
                      w->in->store(true);
                      w->f.wait();
                      sqlite3_result_int(ctx_, 1);
                    },
                    nullptr, nullptr, [](void* p) { delete static_cast<waiter*>(p); });
              };
              co_await c.async_call(install);
            }(db, gate.opened, entered));
  test::worker_gate hold;
  hold.hold(db);
  std::optional<asiolite::error_code> first, second, third;
  db.async_execute("INSERT INTO kv(k) VALUES (wait_gate())",
                   [&](asiolite::error_code ec, asiolite::execute_result) { first = ec; });
  db.async_execute("INSERT INTO kv(k) VALUES (2)", [&](asiolite::error_code ec, asiolite::execute_result) { second = ec; });
  db.async_execute("INSERT INTO kv(k) VALUES (3)", [&](asiolite::error_code ec, asiolite::execute_result) { third = ec; });
  hold.release();
  while (!entered) std::this_thread::yield();
  db.cancel();
  gate.release();
  ctx.restart();
  ctx.run();
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(third);
  CHECK(!*first);  // running in its group: not interrupted
  CHECK(*second == asio::error::operation_aborted);
  CHECK(*third == asio::error::operation_aborted);
  CHECK(keys(ctx, db) == std::vector<std::int64_t>{1});
}

TEST_CASE("group commit: on a pool's writer, 200 concurrent inserts commit in far fewer transactions",
          "[group_commit][pool]") {
  commit_probe probe;
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::pool_options po;
  po.readers = 1;
  po.connection = probe.options(64);
  auto db = test::run(
      ctx, [](asio::any_io_executor ex, std::string path, asiolite::pool_options o) -> asio::awaitable<asiolite::pool> {
        auto p = co_await asiolite::pool::async_open(ex, path, o);
        co_await p.writer().async_execute("CREATE TABLE kv(k INTEGER PRIMARY KEY)");
        co_return p;
      }(ctx.get_executor(), dir.db(), po));
  probe.commits = 0;
  int done = 0;
  for (std::int64_t i = 0; i < 200; ++i)
    asio::co_spawn(
        ctx,
        [](asiolite::pool& p, std::int64_t k) -> asio::awaitable<void> {
          co_await p.writer().async_execute("INSERT INTO kv VALUES (?)", k);
        }(db, i),
        [&](std::exception_ptr e) {
          CHECK(!e);
          ++done;
        });
  ctx.restart();
  ctx.run();
  CHECK(done == 200);
  CHECK(probe.commits >= 1);
  CHECK(probe.commits < 200);
  test::run(ctx, [](asiolite::pool& p) -> asio::awaitable<void> {
    const auto awaited2 = co_await p.async_query_scalar<std::int64_t>("SELECT count(*) FROM kv");
    CHECK(awaited2 == 200);
    co_await p.async_close();
  }(db));
}
