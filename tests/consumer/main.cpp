// A user's program: uses each kind of operation once and exits 0 only if it reads back
// what it wrote. Built with the strictest warnings we promise (-Werror), so a warning
// that asiolite's headers would give a user fails the consumer check.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct person {
  std::int64_t id;
  std::string name;
  std::optional<double> score;
};

bool expect(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "consumer: %s\n", what);
  return ok;
}

asio::awaitable<bool> check() {
  auto ex = co_await asio::this_coro::executor;
  auto db = co_await asiolite::connection::async_open(ex, ":memory:");
  bool ok = true;

  co_await db.async_execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL)");
  auto r = co_await db.async_execute("INSERT INTO t(name) VALUES (?), (?)", "ada", "grace");
  ok &= expect(r.changes == 2, "insert: expected 2 changes");

  const std::vector<std::tuple<std::string, double>> more{{"alan", 1.5}, {"edsger", 2.5}};
  auto many = co_await db.async_execute_many("INSERT INTO t(name, score) VALUES (?, ?)", more);
  ok &= expect(many.changes == 2, "execute_many: expected 2 changes");

  auto tx = co_await db.async_begin();
  co_await tx.async_execute("UPDATE t SET score = :s WHERE name = :n", asiolite::named("s", 3.0),
                            asiolite::named("n", "ada"));
  auto sp = co_await tx.async_savepoint();
  co_await tx.async_execute("DELETE FROM t");
  co_await sp.async_rollback();
  co_await tx.async_commit();

  auto people = co_await db.async_query<person>("SELECT id, name, score FROM t ORDER BY id");
  ok &= expect(people.size() == 4 && people[0].score == 3.0, "query<person>: wrong rows");

  asiolite::rows rows = co_await db.async_query("SELECT id, name FROM t ORDER BY id");
  std::string names;
  for (asiolite::row row : rows) names += row.get<std::string>("name") + ' ';
  ok &= expect(names == "ada grace alan edsger ", "rows: wrong names");
  ok &= expect(rows.end() - rows.begin() == 4 && rows.begin()[3].get<std::int64_t>(0) == 4, "rows: bad iterator");

  auto one = co_await db.async_query_one<std::tuple<std::int64_t, std::string>>("SELECT id, name FROM t WHERE id = ?", 2);
  ok &= expect(one && std::get<1>(*one) == "grace", "query_one: wrong row");
  auto count = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
  ok &= expect(count == 4, "query_scalar: wrong count");

  auto by_name = co_await db.async_prepare("SELECT id FROM t WHERE name = ?");
  auto id = co_await by_name.async_query_scalar<std::int64_t>("alan");
  ok &= expect(id == 3, "prepared: wrong id");

  asiolite::cursor_options copts;
  copts.batch_size = 3;
  auto cur = co_await db.async_cursor<person>(copts, "SELECT id, name, score FROM t");
  std::size_t seen = 0;
  while (auto p = co_await cur.async_next())
    if (!p->name.empty()) ++seen;
  ok &= expect(seen == 4, "cursor: wrong count");

  auto length = co_await db.async_call([](asiolite::sync_handle& h) {
    return h.query_scalar<std::int64_t>("SELECT sum(length(name)) FROM t");
  });
  ok &= expect(length == 18, "async_call: wrong sum");

  asiolite::diagnostics diag;
  auto [ec, dup] = co_await db.async_execute("INSERT INTO t(name) VALUES (?)", "ada", diag,
                                             asiolite::compat::as_tuple(asio::use_awaitable));
  ok &= expect(ec == asiolite::errc::constraint && !diag.message().empty(), "duplicate: expected a constraint error");

  co_await db.async_close();
  co_return ok;
}

}  // namespace

int main() {
  asio::io_context ctx;
  bool ok = false;
  std::exception_ptr error;
  asio::co_spawn(ctx, check(), [&](std::exception_ptr e, bool result) {
    error = e;
    ok = result;
  });
  ctx.run();
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "failed: %s\n", e.what());
    }
    return 1;
  }
  std::puts(ok ? "asiolite consumer: ok" : "asiolite consumer: wrong result");
  return ok ? 0 : 1;
}
