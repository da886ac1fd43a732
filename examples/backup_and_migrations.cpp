// Moving data: a schema brought up to date at start-up by numbered migrations, an online
// backup with progress while the connection keeps serving, a checkpoint that empties the
// write-ahead log, and a restore that brings back what a mistake deleted.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

namespace {

// The schema's history: each migration runs once, in its own transaction, above the
// database's PRAGMA user_version.
std::vector<asiolite::migration> schema() {
  std::vector<asiolite::migration> list(3);
  list[0].version = 1;
  list[0].sql = "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)";
  list[1].version = 2;
  list[1].sql = "ALTER TABLE note ADD COLUMN words INTEGER";
  list[2].version = 3;
  list[2].apply = [](asiolite::sync_handle& h) {  // what SQL alone would not do as simply
    for (const auto& [id, body] : h.query<std::tuple<std::int64_t, std::string>>("SELECT id, body FROM note")) {
      std::int64_t words = 0;
      bool in_word = false;
      for (const char c : body) {
        const bool letter = c != ' ';
        if (letter && !in_word) ++words;
        in_word = letter;
      }
      h.execute("UPDATE note SET words = ? WHERE id = ?", words, id);
    }
  };
  return list;
}

asio::awaitable<void> run(std::string path, std::string backup_path) {
  auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);

  // Version 1 first, as an older release of the program would have left it.
  std::vector<asiolite::migration> first(1, schema()[0]);
  co_await db.async_migrate(first);
  for (int i = 0; i < 2000; ++i)
    co_await db.async_execute("INSERT INTO note (body) VALUES (?)", "note number " + std::to_string(i) + " of many");

  // This release: the two newer migrations run, the first is not run again.
  const auto migrations = schema();
  const asiolite::migrate_result m = co_await db.async_migrate(migrations);
  std::printf("schema: version %lld -> %lld\n", m.from_version, m.to_version);
  const auto words = co_await db.async_query_scalar<std::int64_t>("SELECT sum(words) FROM note");
  std::printf("words counted by migration 3: %lld\n", static_cast<long long>(words));

  // An online backup: the connection serves requests between the steps.
  asiolite::backup_options o;
  o.pages_per_step = 16;
  int steps = 0;
  o.progress = [&steps](const asiolite::backup_progress& p) {
    if (steps++ % 4 == 0 || p.remaining == 0) std::printf("backup: %d of %d pages left\n", p.remaining, p.total);
  };
  co_await db.async_backup(backup_path, o);

  // Commits wait in the write-ahead log until a checkpoint copies them.
  const asiolite::checkpoint_result c = co_await db.async_checkpoint(asiolite::checkpoint_mode::truncate);
  std::printf("checkpoint: %d frames left in the log\n", c.log_frames);

  // A mistake, undone from the backup.
  co_await db.async_execute("DELETE FROM note WHERE id % 2 = 0");
  const auto left = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM note");
  co_await db.async_restore(backup_path);
  const auto back = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM note");
  std::printf("notes: %lld after the mistake, %lld after the restore\n", static_cast<long long>(left),
              static_cast<long long>(back));
  co_await db.async_close();
}

}  // namespace

int main() {
  const auto dir = std::filesystem::temp_directory_path();
  const auto path = (dir / "asiolite_backup_example.db").string();
  const auto backup_path = (dir / "asiolite_backup_example.backup.db").string();
  const auto remove_all = [&] {
    for (const auto& p : {path, backup_path})
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(p + suffix);
  };
  remove_all();
  asio::io_context ctx;
  std::exception_ptr failed;
  asio::co_spawn(ctx, run(path, backup_path), [&](std::exception_ptr e) { failed = e; });
  ctx.run();
  remove_all();
  if (failed) {
    try {
      std::rethrow_exception(failed);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "backup_and_migrations: %s\n", e.what());
    }
    return 1;
  }
  return 0;
}
