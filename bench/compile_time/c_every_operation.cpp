// (c) Every public asynchronous operation once, as an application that uses all of
// asiolite would: connection, transactions, savepoints, cursors, prepared statements,
// bulk, async_call and the pool.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

struct item {
  std::int64_t id;
  std::string name;
};

asio::awaitable<void> connection_ops(asiolite::connection& db) {
  co_await db.async_execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
  co_await db.async_execute("INSERT INTO t(name) VALUES (?)", "one");
  co_await db.async_execute_script("INSERT INTO t(name) VALUES ('two')");
  asiolite::rows all = co_await db.async_query("SELECT id, name FROM t");
  std::vector<item> items = co_await db.async_query<item>("SELECT id, name FROM t");
  std::optional<item> first = co_await db.async_query_one<item>("SELECT id, name FROM t WHERE id = ?", 1);
  auto count = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
  std::vector<std::tuple<std::string>> more{{"three"}, {"four"}};
  co_await db.async_execute_many("INSERT INTO t(name) VALUES (?)", more);
  auto n = co_await db.async_call([](asiolite::sync_handle& h) { return h.query_scalar<std::int64_t>("SELECT 1"); });
  co_await db.async_call_in_transaction([](asiolite::sync_handle& h) { h.execute("DELETE FROM t WHERE id > 10"); });

  auto cur = co_await db.async_cursor<item>("SELECT id, name FROM t");
  while (co_await cur.async_next()) {}
  auto batched = co_await db.async_cursor("SELECT id, name FROM t");
  auto batch = co_await batched.async_next_batch();

  auto stmt = co_await db.async_prepare("SELECT id, name FROM t WHERE id > ?");
  co_await stmt.async_execute(0);
  auto via_stmt = co_await stmt.async_query<item>(0);
  auto one_via_stmt = co_await stmt.async_query_one<item>(100);
  auto insert = co_await db.async_prepare("INSERT INTO t(name) VALUES (?)");
  co_await insert.async_execute_many(more);
  auto scalar = co_await db.async_prepare("SELECT count(*) FROM t");
  auto counted = co_await scalar.async_query_scalar<std::int64_t>();

  auto tx = co_await db.async_begin();
  co_await tx.async_execute("INSERT INTO t(name) VALUES (?)", "five");
  auto sp = co_await tx.async_savepoint();
  co_await sp.async_rollback();
  auto sp2 = co_await tx.async_savepoint();
  co_await sp2.async_release();
  co_await tx.async_commit();
  auto tx2 = co_await db.async_begin();
  co_await tx2.async_rollback();
  co_await db.async_transaction([](asiolite::transaction& t) -> asio::awaitable<void> {
    co_await t.async_execute("DELETE FROM t WHERE id = ?", 1);
  });
  (void)all, (void)items, (void)first, (void)count, (void)n, (void)batch, (void)via_stmt;
  (void)one_via_stmt, (void)counted;
}

asio::awaitable<void> pool_ops(std::string path) {
  auto ex = co_await asio::this_coro::executor;
  auto p = co_await asiolite::pool::async_open(ex, path);
  co_await p.writer().async_execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, name TEXT)");
  auto rows = co_await p.async_query<item>("SELECT id, name FROM t");
  auto rt = co_await p.async_begin_read();
  auto n = co_await rt.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
  co_await rt.async_commit();
  co_await p.async_close();
  (void)rows, (void)n;
}

asio::awaitable<void> run() {
  auto ex = co_await asio::this_coro::executor;
  asiolite::connection db(ex);
  co_await db.async_open(":memory:");
  co_await connection_ops(db);
  co_await db.async_close();
  co_await pool_ops("compile-time.db");
}

int main() {
  asio::io_context ctx;
  asio::co_spawn(ctx, run(), asio::detached);
  ctx.run();
}
