// A database as SQL text (connection::async_dump, pool::async_dump).
#pragma once

#include <cstddef>
#include <string>

namespace asiolite {

/// Settings of a dump. Name the object before co_await (it holds a std::string: see
/// options).
struct dump_options {
  /// The text handed to the sink at a time: whole statements, at least this many bytes
  /// unless the dump ends (one row's statement may be longer). At least 1 (0 fails with
  /// errc::invalid_option). Memory stays near this much, whatever the database's size.
  std::size_t chunk_bytes = 64 * 1024;
  /// The database to dump: "main", "temp" or an attached one's name. The text names no
  /// database, so it loads into the main database of whatever runs it.
  std::string database = "main";
};

}  // namespace asiolite
