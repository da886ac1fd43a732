// Online backup and restore (connection::async_backup, async_restore, pool::async_backup).
#pragma once

#include <functional>

namespace asiolite {

/// Where a backup stands after a step: pages still to copy, of the source's total.
struct backup_progress {
  int remaining = 0;
  int total = 0;
};

/// Settings of a backup or a restore. Name the object before co_await (it has a
/// std::function: see options).
struct backup_options {
  /// Pages copied per step (sqlite3_backup_step). A backup runs one step per request, so
  /// the source's other requests run between two steps; a restore runs all its steps in
  /// one request. At least 1 (less fails with errc::invalid_option).
  int pages_per_step = 256;

  /// Called after each step of a backup, on the operation's executor (a restore reports
  /// nothing: it holds its connection from start to end).
  std::function<void(const backup_progress&)> progress;
};

}  // namespace asiolite
