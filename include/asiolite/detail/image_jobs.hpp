// A database as bytes and back (connection::async_serialize, async_deserialize,
// pool::async_serialize): SQLite's sqlite3_serialize and sqlite3_deserialize, on the
// worker. (The Job contract is in job.hpp.)
#pragma once

#include <asiolite/detail/database.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/trailing.hpp>
#include <asiolite/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace asiolite::detail {

/// The optional input of async_serialize and async_deserialize: the database's name.
template <class T>
struct is_database_name : std::is_convertible<T, std::string_view> {};

/// The database named by those inputs: main unless one is given.
template <class Inputs>
std::string database_named(Inputs&& inputs) {
  return std::string(single_input(std::forward<Inputs>(inputs), std::string_view("main")));
}

/// The database `name` exists on this handle (main, temp, or attached).
inline bool check_database_exists(sqlite3* db, const std::string& name, failure& f) {
  if (!check_no_nul(name, "the database name", f)) return false;
  if (sqlite3_db_filename(db, name.c_str())) return true;
  f.set(make_sqlite_error_code(SQLITE_ERROR), "no database named " + name + " (main, temp, or an attached one)");
  return false;
}

/// Copies database `name` out as bytes (the file's image, page by page).
class serialize_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = std::vector<std::byte>;

  explicit serialize_job(std::string name) : name_(std::move(name)) {}

  void operator()(database& s, failure& f) {
    sqlite3* const db = s.native();
    if (!check_database_exists(db, name_, f)) return;
    sqlite3_int64 size = 0;
    // An in-memory database lends its pages without a copy of SQLite's own.
    if (const unsigned char* lent = sqlite3_serialize(db, name_.c_str(), &size, SQLITE_SERIALIZE_NOCOPY)) {
      copy(lent, size);
      return;
    }
    std::unique_ptr<unsigned char, decltype(&sqlite3_free)> copied(sqlite3_serialize(db, name_.c_str(), &size, 0),
                                                                   &sqlite3_free);
    if (copied) {
      copy(copied.get(), size);
      return;
    }
    // No bytes: a database of no pages yet, or SQLite failed (out of memory, I/O).
    failure count;
    const std::string pages = "PRAGMA " + quote_identifier(name_) + ".page_count";
    if (s.query_scalar<std::int64_t>(pages, count) == 0 && !count) return;
    f.set(make_sqlite_error_code(sqlite3_errcode(db) != SQLITE_OK ? sqlite3_errcode(db) : SQLITE_NOMEM),
          "cannot serialize the database " + name_ + ": " + sqlite3_errmsg(db));
  }

  result_type take_result() noexcept { return std::move(bytes_); }
  std::string_view sql() const noexcept { return {}; }

 private:
  void copy(const unsigned char* p, sqlite3_int64 size) {
    const auto* b = reinterpret_cast<const std::byte*>(p);
    bytes_.assign(b, b + size);
  }

  std::string name_;
  std::vector<std::byte> bytes_;
};

/// Bytes SQLite owns (sqlite3_malloc64), until handed to sqlite3_deserialize.
using sqlite_bytes = std::unique_ptr<unsigned char, decltype(&sqlite3_free)>;

/// Replaces database `name` with an in-memory database made of a copy of the bytes, after
/// checking, on a scratch connection, that they are one: bytes that are not leave the
/// database as it was.
class deserialize_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = void;

  /// Copies `bytes` (the caller's buffer may go once the initiating function returns).
  deserialize_job(std::string name, std::span<const std::byte> bytes)
      : name_(std::move(name)), bytes_(nullptr, &sqlite3_free), size_(static_cast<sqlite3_int64>(bytes.size())) {
    if (bytes.empty()) return;
    bytes_.reset(static_cast<unsigned char*>(sqlite3_malloc64(bytes.size())));
    if (!bytes_) throw std::bad_alloc();
    std::memcpy(bytes_.get(), bytes.data(), bytes.size());
  }

  void operator()(database& s, failure& f) {
    if (!check_database_exists(s.native(), name_, f)) return;
    // No bytes: an empty database (what a database of no pages serializes to).
    if (size_ != 0 && (!check_header(f) || !check_on_scratch(f))) return;
    const int rc = sqlite3_deserialize(s.native(), name_.c_str(), bytes_.release(), size_, size_,
                                       SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
    // On failure SQLite has freed the bytes already (FREEONCLOSE).
    if (rc != SQLITE_OK)
      f.set(make_sqlite_error_code(rc),
            "cannot load the bytes into the database " + name_ + ": " + sqlite3_errmsg(s.native()));
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  static unsigned read_u16(const unsigned char* p) noexcept { return (unsigned{p[0]} << 8) | unsigned{p[1]}; }

  // The 100-byte header of an SQLite database file, and a size that is whole pages.
  bool check_header(failure& f) {
    static constexpr char magic[] = "SQLite format 3";  // with its NUL: 16 bytes
    const unsigned char* const p = bytes_.get();
    if (size_ < 100 || std::memcmp(p, magic, sizeof magic) != 0)
      return not_a_database(f, "they do not begin with SQLite's header");
    unsigned page = read_u16(p + 16);
    if (page == 1) page = 65536;
    if (page < 512 || page > 65536 || (page & (page - 1)) != 0)
      return not_a_database(f, "their header's page size is " + std::to_string(page));
    if (size_ % page != 0)
      return not_a_database(f, std::to_string(size_) + " bytes are not whole pages of " + std::to_string(page));
    // A WAL database's image: an in-memory database has no log, so read it as a
    // rollback-journal one (the image holds every committed page already).
    if (bytes_.get()[18] == 2) bytes_.get()[18] = 1;
    if (bytes_.get()[19] == 2) bytes_.get()[19] = 1;
    return true;
  }

  bool not_a_database(failure& f, const std::string& why) {
    f.set(make_sqlite_error_code(SQLITE_NOTADB), "the bytes (" + std::to_string(size_) +
                                                     ") are not an SQLite database: " + why + "; the database " +
                                                     name_ + " is unchanged");
    return false;
  }

  // Reads the schema on a connection of its own, the bytes lent read-only: a failure
  // there costs the target database nothing.
  bool check_on_scratch(failure& f) {
    sqlite3* scratch = nullptr;
    int rc = sqlite3_open_v2(":memory:", &scratch, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc == SQLITE_OK)
      rc = sqlite3_deserialize(scratch, "main", bytes_.get(), size_, size_, SQLITE_DESERIALIZE_READONLY);
    if (rc == SQLITE_OK) rc = sqlite3_exec(scratch, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK)
      f.set(make_sqlite_error_code(scratch ? sqlite3_extended_errcode(scratch) : rc),
            std::string("the bytes are not a readable SQLite database: ") +
                (scratch ? sqlite3_errmsg(scratch) : sqlite3_errstr(rc)) + "; the database " + name_ + " is unchanged");
    sqlite3_close(scratch);
    return rc == SQLITE_OK;
  }

  std::string name_;
  sqlite_bytes bytes_;
  sqlite3_int64 size_;
};

}  // namespace asiolite::detail
