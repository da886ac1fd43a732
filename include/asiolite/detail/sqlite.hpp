// SQLite's C API, and the few calls whose spelling depends on the SQLite version.
#pragma once

#include <sqlite3.h>

#include <cstdint>

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

}  // namespace asiolite::detail
