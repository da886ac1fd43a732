// What a statement that was executed (not queried) reports.
#pragma once

#include <cstdint>

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

}  // namespace asiolite
