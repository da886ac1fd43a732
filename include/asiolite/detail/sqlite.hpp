// SQLite's C API, and the few calls whose spelling depends on the SQLite version.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

static_assert(SQLITE_VERSION_NUMBER >= 3035000, "asiolite needs SQLite 3.35 or newer");

namespace asiolite::detail {

inline std::int64_t changes(sqlite3* db) noexcept {
#if SQLITE_VERSION_NUMBER >= 3037000
  return sqlite3_changes64(db);
#else
  return sqlite3_changes(db);
#endif
}

inline std::int64_t total_changes(sqlite3* db) noexcept {
#if SQLITE_VERSION_NUMBER >= 3037000
  return sqlite3_total_changes64(db);
#else
  return sqlite3_total_changes(db);
#endif
}

/// `name` as an SQL identifier: in double quotes, each one inside doubled.
inline std::string quote_identifier(std::string_view name) {
  std::string quoted;
  quoted.reserve(name.size() + 2);
  quoted += '"';
  for (const char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

}  // namespace asiolite::detail
