// connection::async_watch_wal: SQLite's WAL hook, delivered to an executor, standing in
// for SQLite's automatic checkpoint while it is installed.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

using test::tuple_token;

struct wal_recorder {
  struct seen {
    std::string database;
    int pages = 0;
    std::uint64_t lost = 0;
  };
  std::shared_ptr<std::vector<seen>> events = std::make_shared<std::vector<seen>>();

  void operator()(const asiolite::wal_event& e) const {
    events->push_back({std::string(e.database), e.pages, e.events_lost});
  }

  int most_pages() const {
    int most = 0;
    for (const auto& e : *events) most = std::max(most, e.pages);
    return most;
  }
  /// The log shrank from one commit to the next: a checkpoint let it start over.
  bool restarted() const {
    for (std::size_t i = 1; i < events->size(); ++i)
      if ((*events)[i].pages < (*events)[i - 1].pages) return true;
    return false;
  }
};

asio::awaitable<void> insert_rows(asiolite::connection& db, int n) {
  for (int i = 0; i < n; ++i) co_await db.async_execute("INSERT INTO t (b) VALUES (zeroblob(1000))");
}

asio::awaitable<std::int64_t> autocheckpoint(asiolite::connection& db) {
  co_return co_await db.async_query_scalar<std::int64_t>("PRAGMA wal_autocheckpoint");
}

}  // namespace

TEST_CASE("watch_wal: each commit reports the log's pages, and automatic checkpoints go on") {
  test::temp_dir dir;
  asio::io_context ctx;
  wal_recorder rec;
  asiolite::options o;
  o.pragmas = {"wal_autocheckpoint = 20"};
  auto db = test::open(ctx, dir.db(), o);
  test::run(ctx, [](asiolite::connection& conn, wal_recorder r) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    auto sub = co_await conn.async_watch_wal(r);
    CHECK(sub.active());
    const auto n1 = co_await autocheckpoint(conn);
    CHECK(n1 == 0);  // while asiolite's hook stands in
    co_await insert_rows(conn, 60);
    {
      auto tx = co_await conn.async_begin();
      co_await tx.async_execute("INSERT INTO t (b) VALUES (zeroblob(1000))");
      co_await tx.async_execute("INSERT INTO t (b) VALUES (zeroblob(1000))");
      co_await tx.async_commit();  // one commit: one event
    }
    // Events come on their own way, and none is handled after unsubscribe: wait for the last.
    for (int i = 0; i < 1000 && r.events->size() < 61; ++i) co_await asio::post(asio::use_awaitable);
    sub.unsubscribe();
    // SQLite's own hook is back, with the interval it had.
    const auto n2 = co_await autocheckpoint(conn);
    CHECK(n2 == 20);
    co_await insert_rows(conn, 1);
    co_await conn.async_close();
  }(db, rec));
  REQUIRE(rec.events->size() == 61);
  for (const auto& e : *rec.events) {
    CHECK(e.database == "main");
    CHECK(e.pages > 0);
    CHECK(e.lost == 0);
  }
  // 60 commits of a 1000-byte row each would grow the log past 60 pages: the checkpoint at
  // 20 pages let it start over.
  CHECK(rec.restarted());
  CHECK(rec.most_pages() < 30);
}

TEST_CASE("watch_wal: PRAGMA wal_autocheckpoint set while watched takes effect, and events go on") {
  test::temp_dir dir;
  asio::io_context ctx;
  wal_recorder rec;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn, wal_recorder r) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    auto sub = co_await conn.async_watch_wal(r);
    co_await conn.async_execute("PRAGMA wal_autocheckpoint = 6");
    co_await insert_rows(conn, 40);
    CHECK(sub.active());
    sub.unsubscribe();
    const auto n3 = co_await autocheckpoint(conn);
    CHECK(n3 == 6);
    // Checkpoints off, while watched: the log only grows.
    auto again = co_await conn.async_watch_wal(r);
    co_await conn.async_execute("PRAGMA wal_autocheckpoint = 0");
    co_await conn.async_execute("PRAGMA wal_checkpoint(TRUNCATE)");
    co_await insert_rows(conn, 20);
    again.unsubscribe();
    const auto n4 = co_await autocheckpoint(conn);
    CHECK(n4 == 0);
    co_await conn.async_close();
  }(db, rec));
  REQUIRE(rec.events->size() == 60);
  const std::vector<wal_recorder::seen> first(rec.events->begin(), rec.events->begin() + 40);
  const std::vector<wal_recorder::seen> second(rec.events->begin() + 40, rec.events->end());
  wal_recorder a, b;
  *a.events = first;
  *b.events = second;
  CHECK(a.restarted());
  CHECK(a.most_pages() < 15);
  CHECK_FALSE(b.restarted());
  CHECK(b.most_pages() >= 20);
}

TEST_CASE("watch_wal: a max_pending of 0 fails with invalid_option") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    asiolite::watch_options none;
    none.max_pending = 0;
    auto [ec, sub] = co_await conn.async_watch_wal([](const asiolite::wal_event&) {}, none, tuple_token);
    CHECK(ec == asiolite::errc::invalid_option);
    CHECK_FALSE(sub.active());
    co_await conn.async_close();
  }(db));
}

TEST_CASE("watch_wal: an authorizer that refuses pragmas does not hide the checkpoint interval") {
  test::temp_dir dir;
  asio::io_context ctx;
  wal_recorder rec;
  asiolite::options o;
  o.pragmas = {"wal_autocheckpoint = 20"};
  auto db = test::open(ctx, dir.db(), o);
  test::run(ctx, [](asiolite::connection& conn, wal_recorder r) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    auto no_pragmas = [](const asiolite::authorization_request& q) {
      return q.action == asiolite::auth_action::pragma ? asiolite::authorization::deny : asiolite::authorization::allow;
    };
    co_await conn.async_set_authorizer_on_worker(no_pragmas);
    auto sub = co_await conn.async_watch_wal(r);
    co_await insert_rows(conn, 60);
    auto [ec, n] = co_await conn.async_query_scalar<std::int64_t>("PRAGMA wal_autocheckpoint", tuple_token);
    CHECK(ec == asiolite::errc::auth);
    co_await conn.async_close();
  }(db, rec));
  REQUIRE(rec.events->size() == 60);
  CHECK(rec.restarted());
  CHECK(rec.most_pages() < 30);
}

TEST_CASE("watch_wal: the same PRAGMA wal_autocheckpoint run again, from the statement cache, keeps the events") {
  test::temp_dir dir;
  asio::io_context ctx;
  wal_recorder rec;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn, wal_recorder r) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    auto sub = co_await conn.async_watch_wal(r);
    for (int round = 0; round < 3; ++round) {
      co_await conn.async_execute("PRAGMA wal_autocheckpoint = 6");
      co_await insert_rows(conn, 5);
    }
    co_await conn.async_close();
  }(db, rec));
  CHECK(rec.events->size() == 15);
  CHECK(rec.most_pages() < 15);
}
