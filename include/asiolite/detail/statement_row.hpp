// Reading the rows of a stepping statement: the current row as a Source for read_record
// (record.hpp), and the storage of `rows`. Worker thread only.
#pragma once

#include <asiolite/detail/prefetch.hpp>
#include <asiolite/detail/sqlite.hpp>
#include <asiolite/detail/sqlite_value.hpp>
#include <asiolite/field_view.hpp>
#include <asiolite/row.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>
#include <utility>

namespace asiolite::detail {

/// The current row of a stepping statement, as a Source for read_record.
struct statement_row {
  sqlite3_stmt* stmt;

  int column_count() const noexcept { return sqlite3_column_count(stmt); }
  // Indexed as row::column_name is, so that code over both converts nothing.
  std::string_view column_name(std::size_t i) const noexcept {
    const char* n = sqlite3_column_name(stmt, static_cast<int>(i));
    return n ? n : "";
  }
  // One sqlite3_column_value, then sqlite3_value_* on it: the column_* calls each lock
  // and check the statement again. The connection is opened SQLITE_OPEN_NOMUTEX and
  // used by one thread, so the value being "unprotected" makes no difference.
  field_view field(int i) const noexcept { return value_of(sqlite3_column_value(stmt, i)); }
};

/// Fills a `rows` from a statement.
struct rows_access {
  /// Empties `r` for the rows of `stmt`, keeping its storage (a cursor reuses its batches').
  static void start(rows& r, sqlite3_stmt* stmt) {
    const int n = sqlite3_column_count(stmt);
    r.cells_.clear();
    r.bytes_.clear();
    r.columns_.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < r.columns_.size(); ++i) r.columns_[i].assign(statement_row{stmt}.column_name(i));
  }

  static void append(rows& r, sqlite3_stmt* stmt) {
    const std::size_t cells_before = r.cells_.size();
    const std::size_t bytes_before = r.bytes_.size();
    const int n = static_cast<int>(r.columns_.size());
    for (int i = 0; i < n; ++i) {
      const field_view f = statement_row{stmt}.field(i);
      cell c{};
      c.type = f.type();
      switch (f.type()) {
        case column_type::integer:
          c.integer = f.integer();
          break;
        case column_type::real:
          c.real = f.real();
          break;
        case column_type::text:
        case column_type::blob: {
          const auto bytes = f.bytes();
          c.offset = r.bytes_.size();
          c.size = static_cast<std::uint32_t>(bytes.size());
          r.bytes_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
          break;
        }
        case column_type::null:
          break;
      }
      r.cells_.push_back(c);
    }
    // A cursor fills storage that the caller's thread read last: see prefetch.hpp.
    constexpr std::size_t cell_size = sizeof(cell);
    prefetch_ahead_of(r.cells_.data(), cells_before * cell_size, r.cells_.size() * cell_size,
                      r.cells_.capacity() * cell_size);
    prefetch_ahead_of(r.bytes_.data(), bytes_before, r.bytes_.size(), r.bytes_.capacity());
  }

  /// Whether `r` holds storage worth reusing.
  static bool has_storage(const rows& r) noexcept { return r.cells_.capacity() != 0; }

  /// The rows after the first `n`, keeping the column names (a cursor's partly read batch).
  static rows drop_front(rows&& r, std::size_t n) {
    const auto cells = static_cast<std::ptrdiff_t>(n * r.columns_.size());
    r.cells_.erase(r.cells_.begin(), r.cells_.begin() + cells);
    return std::move(r);  // text and blob bytes stay where they are: cells point at them by offset
  }
};

}  // namespace asiolite::detail
