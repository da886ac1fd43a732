// One online backup in progress, on its source's worker (see detail/backup.hpp).
#pragma once

#include <asiolite/detail/sqlite.hpp>

#include <utility>

namespace asiolite::detail {

/// The destination handle and SQLite's backup object: used, finished and closed on the
/// source connection's worker only (the backup object touches the source's handle). The
/// source's database keeps every unfinished one, and finishes it if the operation goes
/// away (its coroutine destroyed) or at close.
struct backup_run {
  sqlite3* dest = nullptr;
  sqlite3_backup* backup = nullptr;
  int remaining = 0;
  int total = 0;

  /// sqlite3_backup_finish's result (SQLite's error of the backup, if any), then closes
  /// the destination.
  int finish() noexcept {
    int rc = SQLITE_OK;
    if (backup) rc = sqlite3_backup_finish(std::exchange(backup, nullptr));
    if (dest) sqlite3_close(std::exchange(dest, nullptr));
    return rc;
  }
};

}  // namespace asiolite::detail
