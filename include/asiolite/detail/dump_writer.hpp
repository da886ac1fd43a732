// The worker side of a database dump: the SQL text that recreates one schema (what the sqlite3
// shell's .dump prints), produced a chunk at a time so that memory stays bounded.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/sqlite.hpp>
#include <asiolite/error.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace asiolite::detail {

/// Writes a dump of one schema of a connection as SQL text, whole statements at a time.
///
/// The text recreates, inside one transaction, the tables with their rows, then the indexes,
/// triggers and views; its statements name no schema, so it loads into the main database of
/// an empty connection (sqlite3_exec, or the sqlite3 shell). Between calls the writer holds at
/// most one statement, the SELECT over the rows of the table being written, stepped part way;
/// beyond the chunk asked for it keeps one row in memory. Every member function runs on the
/// worker thread that owns the connection.
class dump_writer {
 public:
  /// `schema`: "main", "temp" or an attached database's name (the dump's statements name no
  /// schema, so that it loads into any database's main).
  explicit dump_writer(std::string schema = "main") : schema_(std::move(schema)) {}
  dump_writer(const dump_writer&) = delete;
  dump_writer& operator=(const dump_writer&) = delete;
  ~dump_writer() { reset(); }

  /// Worker thread, inside a read transaction. Appends whole SQL statements (each ending ";\n")
  /// to `out` until out.size() >= want or the dump has ended; each call advances the dump by at
  /// least one step whatever `want` (even 0), and a row bigger than `want` is still written as
  /// one whole statement. Returns true once the dump's last statement has been appended (later
  /// calls append nothing and return true), false if more remains. On an SQLite error: sets `f`
  /// (SQLite's extended code and a message that says what was being dumped), lets go of its
  /// statement, and returns true.
  bool write(sqlite3* db, std::string& out, std::size_t want, failure& f);

  /// Finalizes any statement held (called on the worker when the dump is abandoned) and returns
  /// the writer to where it started: a later write() begins the dump again. Safe to call
  /// repeatedly.
  void reset() noexcept;

 private:
  // Where the dump stands. The tables come in sqlite_schema's rowid order, but sqlite_sequence
  // after every other table: its rows must replace what the other tables' INSERTs put there.
  enum class phase { header, tables, sequence, rows, others, footer, done };

  // A statement used within one step: finalized on every way out. Where it ends normally the
  // code of sqlite3_finalize is checked by finish(); on an error path the error has already
  // been reported, and finalize would only repeat it.
  struct local_statement {
    sqlite3_stmt* handle = nullptr;
    local_statement() = default;
    local_statement(const local_statement&) = delete;
    local_statement& operator=(const local_statement&) = delete;
    ~local_statement() { sqlite3_finalize(handle); }
    int finish() noexcept {
      int rc = sqlite3_finalize(handle);
      handle = nullptr;
      return rc;
    }
  };

  bool step(sqlite3* db, std::string& out, failure& f);
  bool next_table(sqlite3* db, std::string& out, failure& f);
  bool sequence_table(sqlite3* db, std::string& out, failure& f);
  bool begin_table(sqlite3* db, std::string& out, const std::string& name, const std::string& sql, phase after,
                   failure& f);
  bool begin_rows(sqlite3* db, const std::string& name, phase after, failure& f);
  bool next_row(sqlite3* db, std::string& out, failure& f);
  bool next_other(sqlite3* db, std::string& out, failure& f);
  void release() noexcept;

  std::string schema_description() const { return "the schema of " + quote_identifier(schema_); }
  std::string schema_table() const { return quote_identifier(schema_) + ".sqlite_schema"; }

  static void append_text_literal(std::string& out, std::string_view text);
  static void append_real(std::string& out, double value);
  static void append_statement(std::string& out, std::string_view sql);
  static bool column_string(sqlite3_stmt* stmt, int column, std::string& value) noexcept;
  static bool starts_with_nocase(std::string_view text, std::string_view prefix) noexcept;
  static void fail(sqlite3* db, int rc, const std::string& what, failure& f);

  std::string schema_;
  phase phase_ = phase::header;
  sqlite3_stmt* rows_ = nullptr;  // the SELECT over the current table's rows, while phase_ == rows
  phase after_rows_ = phase::tables;
  std::string table_;   // the current table, for messages
  std::string insert_;  // "INSERT INTO \"t\" VALUES(" (with a column list if it has generated columns)
  int columns_ = 0;     // the columns rows_ selects
  std::int64_t next_rowid_ = std::numeric_limits<std::int64_t>::min();  // where the next schema search starts
  bool analyze_written_ = false;
  bool writable_schema_ = false;
};

}  // namespace asiolite::detail

#ifndef ASIOLITE_SEPARATE_COMPILATION
#  include <asiolite/detail/impl/dump_writer.ipp>
#endif
