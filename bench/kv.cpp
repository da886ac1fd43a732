#include "kv.hpp"

#include <charconv>
#include <stdexcept>

namespace bench {

void row_values::make(std::int64_t i) noexcept {
  const auto r = std::to_chars(key_ + 4, key_ + sizeof key_, i);
  key_size_ = static_cast<std::size_t>(r.ptr - key_);
  for (std::size_t j = 0; j < blob_size; ++j)
    value_[j] = static_cast<std::byte>((static_cast<std::uint64_t>(i) * 131u + j * 7u) & 0xffu);
  n_ = static_cast<double>(i) * 0.5;
}

raw_db::raw_db(const std::filesystem::path& path) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) fail("open");
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
}

raw_db::~raw_db() { sqlite3_close_v2(db_); }

void raw_db::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
}

void raw_db::fail(const char* what) const {
  throw std::runtime_error(std::string("raw SQLite: ") + what + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
}

raw_statement::raw_statement(const raw_db& db, const char* sql) {
  if (sqlite3_prepare_v2(db.get(), sql, -1, &stmt_, nullptr) != SQLITE_OK) db.fail(sql);
}

raw_statement::~raw_statement() { sqlite3_finalize(stmt_); }

void create_kv(const std::filesystem::path& path) {
  if (std::filesystem::exists(path)) throw std::runtime_error("not a fresh database: " + path.string());
  raw_db db(path);
  db.exec(create_sql);
}

void populate_kv(const std::filesystem::path& path, std::size_t n) {
  create_kv(path);
  raw_db db(path);
  raw_statement insert(db, insert_sql);
  row_values row;
  db.exec("BEGIN");
  for (std::size_t i = 1; i <= n; ++i) {
    row.make(static_cast<std::int64_t>(i));
    sqlite3_stmt* s = insert.get();
    sqlite3_bind_text(s, 1, row.key().data(), static_cast<int>(row.key().size()), SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, row.value().data(), static_cast<int>(row.value().size()), SQLITE_STATIC);
    sqlite3_bind_double(s, 3, row.n());
    if (sqlite3_step(s) != SQLITE_DONE) db.fail("populate");
    sqlite3_reset(s);
  }
  db.exec("COMMIT");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

std::uint64_t table_checksum(const std::filesystem::path& path) {
  raw_db db(path);
  raw_statement scan(db, "SELECT id, k, v, n FROM kv ORDER BY id");
  std::uint64_t sum = 0;
  int rc;
  while ((rc = sqlite3_step(scan.get())) == SQLITE_ROW) {
    sqlite3_stmt* s = scan.get();
    const auto* k = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    const auto k_size = static_cast<std::size_t>(sqlite3_column_bytes(s, 1));
    const auto* v = static_cast<const std::byte*>(sqlite3_column_blob(s, 2));
    const auto v_size = static_cast<std::size_t>(sqlite3_column_bytes(s, 2));
    sum += row_digest(sqlite3_column_int64(s, 0), {k, k_size}, {v, v_size}, sqlite3_column_double(s, 3));
  }
  if (rc != SQLITE_DONE) db.fail("checksum");
  return sum;
}

std::vector<std::int64_t> point_ids(std::size_t n) {
  std::vector<std::int64_t> ids(n);
  std::uint64_t state = 0x5EED;  // splitmix64: the same sequence on every platform
  for (auto& id : ids) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    id = static_cast<std::int64_t>(z % n) + 1;
  }
  return ids;
}

std::filesystem::path backup_source(const std::filesystem::path& dir, std::size_t n) {
  const auto path = dir / "backup_source.db";
  if (std::filesystem::exists(path)) return path;
  raw_db db(path);
  db.exec("CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB)");
  raw_statement insert(db, "INSERT INTO big(b) VALUES (randomblob(3900))");
  db.exec("BEGIN");
  for (std::size_t i = 0; i < n; ++i) {
    if (sqlite3_step(insert.get()) != SQLITE_DONE) db.fail("backup_source");
    sqlite3_reset(insert.get());
  }
  db.exec("COMMIT");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return path;
}

void create_blob_target(const std::filesystem::path& path, std::size_t n) {
  raw_db db(path);
  db.exec(blob_sql);
  raw_statement insert(db, "INSERT INTO blobs(id, b) VALUES (1, zeroblob(?))");
  sqlite3_bind_int64(insert.get(), 1, static_cast<sqlite3_int64>(blob_chunks(n) * blob_chunk));
  if (sqlite3_step(insert.get()) != SQLITE_DONE) db.fail("create_blob_target");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

std::filesystem::path blob_source(const std::filesystem::path& dir, std::size_t n) {
  const auto path = dir / "blob_source.db";
  if (std::filesystem::exists(path)) return path;
  create_blob_target(path, n);
  // The same bytes in every run (the checksum is compared across runs): each chunk
  // stamped with a digest of its index.
  raw_db db(path);
  sqlite3_blob* b = nullptr;
  if (sqlite3_blob_open(db.get(), "main", "blobs", "b", 1, 1, &b) != SQLITE_OK) db.fail("blob_source");
  std::vector<unsigned char> chunk(blob_chunk, 0xa5);
  for (std::size_t i = 0; i < blob_chunks(n); ++i) {
    const std::uint64_t stamp = mix(0x243F6A8885A308D3ull, i);
    std::memcpy(chunk.data(), &stamp, sizeof stamp);
    if (sqlite3_blob_write(b, chunk.data(), static_cast<int>(blob_chunk), static_cast<int>(i * blob_chunk)) !=
        SQLITE_OK)
      db.fail("blob_source write");
  }
  if (sqlite3_blob_close(b) != SQLITE_OK) db.fail("blob_source close");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return path;
}

std::uint64_t blob_checksum(const std::filesystem::path& path, std::size_t n) {
  raw_db db(path);
  sqlite3_blob* b = nullptr;
  if (sqlite3_blob_open(db.get(), "main", "blobs", "b", 1, 0, &b) != SQLITE_OK) db.fail("blob_checksum");
  std::uint64_t sum = 0;
  unsigned char head[8];
  for (std::size_t i = 0; i < blob_chunks(n); ++i) {
    if (sqlite3_blob_read(b, head, 8, static_cast<int>(i * blob_chunk)) != SQLITE_OK) db.fail("blob_checksum read");
    sum += chunk_digest(head);
  }
  sqlite3_blob_close(b);
  return sum;
}

std::uint64_t page_count(const std::filesystem::path& path) {
  raw_db db(path);
  raw_statement q(db, "PRAGMA page_count");
  if (sqlite3_step(q.get()) != SQLITE_ROW) db.fail("page_count");
  return static_cast<std::uint64_t>(sqlite3_column_int64(q.get(), 0));
}

}  // namespace bench
