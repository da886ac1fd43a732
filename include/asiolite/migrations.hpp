// Schema migrations numbered by PRAGMA user_version (connection::async_migrate).
#pragma once

#include <functional>
#include <string>

namespace asiolite {

class sync_handle;

/// One step of a schema's history, numbered: version 1 is the first, and a list runs 1,
/// 2, 3... with no gap and no number twice. Its work is SQL text (one statement or
/// several), or, when `apply` is set, a callable run on the worker with the sync_handle
/// (for what SQL alone cannot do: reading rows to rewrite them, registering a function
/// an index needs), inside the migration's transaction.
struct migration {
  long long version = 0;
  std::string sql;
  std::function<void(sync_handle&)> apply;
};

/// What async_migrate did: the database's user_version before and after.
struct migrate_result {
  long long from_version = 0;
  long long to_version = 0;
};

}  // namespace asiolite
