// Moving data: a schema brought up to date at start-up by numbered migrations, an online
// backup with progress while the connection keeps serving, a checkpoint that empties the
// write-ahead log, a restore that brings back what a mistake deleted, an attachment
// streamed in and out as a blob, a dump as SQL text and a copy in memory.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/read_at.hpp>
#include <asio/write_at.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
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

asio::awaitable<void> run(std::string path, std::string backup_path, std::string dump_path) {
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

  // An attachment of 4 MB, written and read 64 KB at a time: never whole in memory.
  co_await db.async_execute("CREATE TABLE attachment (id INTEGER PRIMARY KEY, data BLOB)");
  constexpr std::uint64_t size = 4 << 20;
  const auto added =
      co_await db.async_execute("INSERT INTO attachment (data) VALUES (zeroblob(?))", static_cast<std::int64_t>(size));
  asiolite::blob_options writable;
  writable.writable = true;
  asiolite::blob_handle out = co_await db.async_open_blob("attachment", "data", added.last_insert_rowid, writable);
  std::vector<unsigned char> piece(64 * 1024);
  std::uint64_t sum_in = 0;
  for (std::uint64_t at = 0; at < size; at += piece.size()) {
    for (std::size_t i = 0; i < piece.size(); ++i) piece[i] = static_cast<unsigned char>((at + i) % 251);
    for (unsigned char b : piece) sum_in += b;
    co_await asio::async_write_at(out, at, asio::buffer(piece), asio::use_awaitable);
  }
  co_await out.async_close();  // the writes commit here
  asiolite::blob_handle in = co_await db.async_open_blob("attachment", "data", added.last_insert_rowid);
  std::uint64_t sum_out = 0;
  for (std::uint64_t at = 0; at < in.size(); at += piece.size()) {
    const std::size_t n = co_await asio::async_read_at(in, at, asio::buffer(piece), asio::use_awaitable);
    for (std::size_t i = 0; i < n; ++i) sum_out += piece[i];
  }
  co_await in.async_close();
  std::printf("attachment: %llu bytes, checksum %s\n", static_cast<unsigned long long>(size),
              sum_in == sum_out ? "matches" : "DIFFERS");

  // The notes as SQL text, streamed to a file a chunk at a time.
  co_await db.async_execute("DROP TABLE attachment");
  co_await db.async_execute("VACUUM");  // give its pages back
  {
    std::ofstream file(dump_path, std::ios::binary);
    std::size_t chunks = 0;
    co_await db.async_dump([&](std::string_view chunk) {
      file << chunk;
      ++chunks;
    });
    std::printf("dump: %zu chunks, %llu bytes of SQL\n", chunks,
                static_cast<unsigned long long>(std::filesystem::file_size(dump_path)));
  }

  // A copy in memory: the database's bytes, loaded into another connection.
  const std::vector<std::byte> image = co_await db.async_serialize();
  auto copy = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, ":memory:");
  co_await copy.async_deserialize(image);
  const auto copied = co_await copy.async_query_scalar<std::int64_t>("SELECT count(*) FROM note");
  std::printf("in memory: %zu bytes, %lld notes\n", image.size(), static_cast<long long>(copied));
  co_await copy.async_close();
  co_await db.async_close();
}

}  // namespace

int main() {
  const auto dir = std::filesystem::temp_directory_path();
  const auto path = (dir / "asiolite_backup_example.db").string();
  const auto backup_path = (dir / "asiolite_backup_example.backup.db").string();
  const auto dump_path = (dir / "asiolite_backup_example.sql").string();
  const auto remove_all = [&] {
    std::filesystem::remove(dump_path);
    for (const auto& p : {path, backup_path})
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(p + suffix);
  };
  remove_all();
  asio::io_context ctx;
  std::exception_ptr failed;
  asio::co_spawn(ctx, run(path, backup_path, dump_path), [&](std::exception_ptr e) { failed = e; });
  ctx.run();
  remove_all();
  if (failed) {
    try {
      std::rethrow_exception(failed);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "backup_and_blobs: %s\n", e.what());
    }
    return 1;
  }
  return 0;
}
