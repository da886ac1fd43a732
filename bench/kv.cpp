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

}  // namespace bench
