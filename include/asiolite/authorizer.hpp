// The authorizer: what SQLite asks about each action of a statement it prepares, and the
// program's answer (connection::async_set_authorizer_on_worker).
#pragma once

#include <string_view>

namespace asiolite {

/// What a statement being prepared would do (SQLite's authorizer action codes). The
/// comment says what authorization_request's arg1 and arg2 hold.
enum class auth_action : int {
  create_index = 1,         // index, table
  create_table = 2,         // table, -
  create_temp_index = 3,    // index, table
  create_temp_table = 4,    // table, -
  create_temp_trigger = 5,  // trigger, table
  create_temp_view = 6,     // view, -
  create_trigger = 7,       // trigger, table
  create_view = 8,          // view, -
  delete_ = 9,              // table, -
  drop_index = 10,          // index, table
  drop_table = 11,          // table, -
  drop_temp_index = 12,     // index, table
  drop_temp_table = 13,     // table, -
  drop_temp_trigger = 14,   // trigger, table
  drop_temp_view = 15,      // view, -
  drop_trigger = 16,        // trigger, table
  drop_view = 17,           // view, -
  insert = 18,              // table, -
  pragma = 19,              // pragma, its argument or -
  read = 20,                // table, column
  select = 21,              // -, -
  transaction = 22,         // BEGIN, COMMIT or ROLLBACK, -
  update = 23,              // table, column
  attach = 24,              // file name, -
  detach = 25,              // database, -
  alter_table = 26,         // database, table
  reindex = 27,             // index, -
  analyze = 28,             // table, -
  create_vtable = 29,       // table, module
  drop_vtable = 30,         // table, module
  function = 31,            // -, function
  savepoint = 32,           // BEGIN, RELEASE or ROLLBACK, savepoint
  recursive = 33,           // -, - (a recursive common table expression)
};

/// One question of the authorizer. The views are valid during the call only; an argument
/// SQLite gives as NULL is empty.
struct authorization_request {
  auth_action action = auth_action::select;
  std::string_view arg1;
  std::string_view arg2;
  /// "main", "temp", an attached database's name, or empty.
  std::string_view database;
  /// The innermost trigger or view the action comes from; empty for the statement's own SQL.
  std::string_view source;
};

/// The authorizer's answer.
enum class authorization : int {
  allow = 0,  // SQLITE_OK
  deny = 1,   // SQLITE_DENY: preparing the statement fails with errc::auth ("not authorized")
  /// SQLITE_IGNORE: the statement is prepared without that one action: a column read
  /// gives NULL, a DELETE still runs (row by row); what it means for other actions is
  /// SQLite's (sqlite3_set_authorizer), e.g. a PRAGMA does nothing.
  ignore = 2,
};

}  // namespace asiolite
