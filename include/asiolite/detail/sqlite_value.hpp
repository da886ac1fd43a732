// SQLite's dynamically typed values as asiolite's: the one place that reads a
// sqlite3_value, by the decoding rules of docs/values.md. A row's columns are read through
// it (statement_row.hpp), and so will be the arguments of user-defined SQL functions;
// their results (sqlite3_result_*) belong beside it, written by the binding rules of
// bind.hpp.
#pragma once

#include <asiolite/detail/sqlite.hpp>
#include <asiolite/field_view.hpp>

#include <cstddef>

namespace asiolite::detail {

/// A view of `v`, valid until SQLite changes or frees the value (for a column: until the
/// statement steps or resets).
inline field_view value_of(sqlite3_value* v) noexcept {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER:
      return field_view::from_integer(sqlite3_value_int64(v));
    case SQLITE_FLOAT:
      return field_view::from_real(sqlite3_value_double(v));
    case SQLITE_TEXT: {
      // Ask for the pointer first: sqlite3_value_bytes then counts the same encoding.
      auto p = reinterpret_cast<const char*>(sqlite3_value_text(v));
      return field_view::from_text({p, static_cast<std::size_t>(sqlite3_value_bytes(v))});
    }
    case SQLITE_BLOB: {
      auto p = static_cast<const std::byte*>(sqlite3_value_blob(v));
      return field_view::from_blob({p, static_cast<std::size_t>(sqlite3_value_bytes(v))});
    }
    default:
      return {};
  }
}

}  // namespace asiolite::detail
