// What a statement that was executed (not queried) reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace asiolite {

/// Counters read on the worker right after the statement finished.
struct execute_result {
  /// Rows inserted, updated or deleted by this statement (0 for other statements).
  std::int64_t changes = 0;
  /// sqlite3_last_insert_rowid: the rowid of the connection's most recent successful INSERT.
  std::int64_t last_insert_rowid = 0;
  /// Rows changed on this connection since it was opened.
  std::int64_t total_changes = 0;
};

/// What a checkpoint did (connection::async_checkpoint): frames are pages as the
/// write-ahead log holds them. -1 for both when the database is not in WAL mode.
struct checkpoint_result {
  /// Frames in the log after the checkpoint (0 after a truncate).
  int log_frames = 0;
  /// Of those, frames copied into the database (all of them, after a full checkpoint).
  int checkpointed_frames = 0;
};

/// What execute_many reports, read on the worker when it finished. It runs all elements
/// or none: a failure rolls back the elements before it (see execute_many).
struct execute_many_result : execute_result {
  // changes: rows changed by all elements together (0 after a failure: rolled back).

  /// Elements that ran: all of them on success; on failure, those before the failing one
  /// (whose changes were rolled back).
  std::size_t elements = 0;
  /// The index of the element that failed, when one did (also named in the message:
  /// "element 3: UNIQUE constraint failed: ..."). Unset when the statement itself failed
  /// to prepare, or the final commit failed.
  std::optional<std::size_t> failed_element;
};

}  // namespace asiolite
