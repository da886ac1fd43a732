// The tour: open a database, write, read rows, read typed records, close.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

struct user {
  std::int64_t id;
  std::string name;
  std::optional<std::string> email;
};

asio::awaitable<void> demo(std::string path) {
  auto ex = co_await asio::this_coro::executor;

  // RAII: the connection closes when `db` goes out of scope (queued work finishes first).
  auto db = co_await asiolite::connection::async_open(ex, path);

  co_await db.async_execute(
      "CREATE TABLE IF NOT EXISTS users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, email TEXT)");
  auto r = co_await db.async_execute("INSERT INTO users(name, email) VALUES (?, ?)", "ada", "ada@example.com");
  std::printf("inserted row %lld\n", static_cast<long long>(r.last_insert_rowid));
  co_await db.async_execute("INSERT INTO users(name, email) VALUES (:name, NULL)", asiolite::named("name", "grace"));

  // Rows with column names.
  asiolite::rows rows = co_await db.async_query("SELECT id, name FROM users WHERE id > ? ORDER BY id", 0);
  for (asiolite::row row : rows)
    std::printf("%lld %s\n", static_cast<long long>(row.get<std::int64_t>(0)), row.get<std::string>("name").c_str());

  // Typed: plain aggregates, one optional row, one value.
  std::vector<user> users = co_await db.async_query<user>("SELECT id, name, email FROM users ORDER BY id");
  for (const user& u : users) std::printf("%s <%s>\n", u.name.c_str(), u.email.value_or("no email").c_str());
  std::optional<user> one = co_await db.async_query_one<user>("SELECT id, name, email FROM users WHERE id = ?", 1);
  auto count = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM users");
  std::printf("first: %s, %lld users\n", one ? one->name.c_str() : "none", static_cast<long long>(count));

  // Errors carry SQLite's message and the SQL.
  try {
    co_await db.async_execute("INSERT INTO users(name) VALUES (?)", "ada");
  } catch (const asiolite::sqlite_error& e) {
    std::printf("expected failure: %s (constraint: %s)\n", e.what(),
                e.code() == asiolite::errc::constraint ? "yes" : "no");
  }

  co_await db.async_close();  // optional here; explicit close reports errors
}

int main() {
  const auto path = (std::filesystem::temp_directory_path() / "asiolite-quickstart.db").string();
  std::filesystem::remove(path);
  asio::io_context ctx;
  asio::co_spawn(ctx, demo(path), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ctx.run();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}
