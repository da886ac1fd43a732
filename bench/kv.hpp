// The benchmark's data: the kv table, the values of row i, the checksums, and the raw SQLite
// C API pieces both sides use outside their timed sections (creating and checking files).
#pragma once

#include <sqlite3.h>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

inline constexpr const char* create_sql = "CREATE TABLE kv(id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB, n REAL)";
inline constexpr const char* insert_sql = "INSERT INTO kv(k, v, n) VALUES (?, ?, ?)";
// W6c's inserts name their id, so that rows inserted concurrently, in any order, make
// the same table as rows inserted one after another.
inline constexpr const char* insert_with_id_sql = "INSERT INTO kv(id, k, v, n) VALUES (?, ?, ?, ?)";
inline constexpr const char* select_sql = "SELECT k, v, n FROM kv WHERE id = ?";
inline constexpr const char* scan_sql = "SELECT id, k, v, n FROM kv";
// W9: a user-defined scalar function called once per row (registered as "mix" on each side).
inline constexpr const char* function_sql = "SELECT sum(mix(id)) FROM kv";
inline std::int64_t mix(std::int64_t x) noexcept { return x * 3 + 1; }

inline constexpr std::size_t blob_size = 100;

/// The values of row i (k = "key-<i>", 100 bytes of blob, n = i * 0.5), made in place:
/// making them allocates nothing, on either side.
class row_values {
 public:
  void make(std::int64_t i) noexcept;
  std::string_view key() const noexcept { return {key_, key_size_}; }
  std::span<const std::byte> value() const noexcept { return value_; }
  double n() const noexcept { return n_; }

 private:
  char key_[32] = "key-";
  std::size_t key_size_ = 0;
  std::array<std::byte, blob_size> value_{};
  double n_ = 0;
};

/// A whole row, as W5a holds the table in memory (the same type on both sides).
struct kv_row {
  std::int64_t id;
  std::string k;
  std::vector<std::byte> v;
  double n;
};

// ---- checksums: a digest per row, summed, so that order does not matter (W4's
// coroutines finish out of order)

inline std::uint64_t mix(std::uint64_t h, std::uint64_t w) noexcept {
  h ^= w;
  h *= 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
}

inline std::uint64_t hash_bytes(const void* data, std::size_t size, std::uint64_t h) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  for (; size >= 8; p += 8, size -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix(h, w);
  }
  std::uint64_t tail = 0;
  if (size) std::memcpy(&tail, p, size);
  return mix(h, tail ^ (std::uint64_t{size} << 56));
}

inline std::uint64_t row_digest(std::int64_t id, std::string_view k, std::span<const std::byte> v, double n) noexcept {
  std::uint64_t h = mix(0x243F6A8885A308D3ull, static_cast<std::uint64_t>(id));
  h = hash_bytes(k.data(), k.size(), h);
  h = hash_bytes(v.data(), v.size(), h);
  return mix(h, std::bit_cast<std::uint64_t>(n));
}

/// What a writing workload's checksum is made of: the rows in the file, and the rowids
/// the inserts reported.
inline std::uint64_t write_checksum(std::uint64_t table, std::uint64_t rowid_sum) noexcept {
  return table + mix(0x13198A2E03707344ull, rowid_sum);
}

// ---- raw SQLite

/// A connection opened as the raw side uses it: NOMUTEX (only this thread touches it, as
/// only the worker touches asiolite's), WAL, synchronous NORMAL.
class raw_db {
 public:
  explicit raw_db(const std::filesystem::path& path);
  ~raw_db();
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  sqlite3* get() const noexcept { return db_; }
  void exec(const char* sql);
  [[noreturn]] void fail(const char* what) const;

 private:
  sqlite3* db_ = nullptr;
};

/// A prepared statement, prepared once and reused.
class raw_statement {
 public:
  raw_statement(const raw_db& db, const char* sql);
  ~raw_statement();
  raw_statement(const raw_statement&) = delete;
  raw_statement& operator=(const raw_statement&) = delete;

  sqlite3_stmt* get() const noexcept { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// Creates `path` (which must not exist) with the empty kv table.
void create_kv(const std::filesystem::path& path);

/// Creates `path` with rows 1..n, then checkpoints the WAL into the file.
void populate_kv(const std::filesystem::path& path, std::size_t n);

/// The sum of the row digests of every row in `path`'s kv table.
std::uint64_t table_checksum(const std::filesystem::path& path);

/// n ids in [1, n] from a fixed seed: the same every run, on both sides.
std::vector<std::int64_t> point_ids(std::size_t n);

// ---- W11: moving data

/// A database of about n pages to back up: table big, n rows of a 3,900-byte random blob
/// (about 200 MB for the default n); made once per run directory, shared by both sides.
std::filesystem::path backup_source(const std::filesystem::path& dir, std::size_t n);

/// W11's backups copy 256 pages a step: about n / 256 steps.
inline std::size_t backup_steps(std::size_t n) noexcept { return n / 256 > 0 ? n / 256 : 1; }
/// The selects W11 runs beside a backup: three quarters of its steps.
inline std::size_t selects_beside_backup_count(std::size_t n) noexcept {
  return backup_steps(n) * 3 / 4 > 0 ? backup_steps(n) * 3 / 4 : 1;
}

/// The blob workloads move 64 KiB per read or write, n / 64 of them (at least one).
inline constexpr std::size_t blob_chunk = 64 * 1024;
inline std::size_t blob_chunks(std::size_t n) noexcept { return n / 64 > 0 ? n / 64 : 1; }
inline constexpr const char* blob_sql = "CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB)";

/// A database whose blobs row 1 holds blob_chunks(n) * 64 KiB of random bytes; made once
/// per run directory, shared by both sides.
std::filesystem::path blob_source(const std::filesystem::path& dir, std::size_t n);

/// Creates `path` with blobs row 1 holding blob_chunks(n) * 64 KiB of zeros, to be written.
void create_blob_target(const std::filesystem::path& path, std::size_t n);

/// The checksum of a blob read or written 64 KiB at a time: the first 8 bytes of each
/// chunk, summed.
inline std::uint64_t chunk_digest(const unsigned char* chunk) noexcept {
  std::uint64_t w;
  std::memcpy(&w, chunk, 8);
  return w;
}
std::uint64_t blob_checksum(const std::filesystem::path& path, std::size_t n);

/// Pages in the database file at `path`.
std::uint64_t page_count(const std::filesystem::path& path);

}  // namespace bench
