// dump_writer: a dump's SQL text, written on the worker (see detail/dump_writer.hpp).
#pragma once

#include <asiolite/detail/dump_writer.hpp>

namespace asiolite::detail {

ASIOLITE_DECL bool dump_writer::write(sqlite3* db, std::string& out, std::size_t want, failure& f) {
  while (phase_ != phase::done) {
    if (!step(db, out, f)) {
      release();
      phase_ = phase::done;
      return true;
    }
    if (out.size() >= want) break;
  }
  return phase_ == phase::done;
}

ASIOLITE_DECL void dump_writer::reset() noexcept {
  release();
  phase_ = phase::header;
  after_rows_ = phase::tables;
  table_.clear();
  insert_.clear();
  columns_ = 0;
  next_rowid_ = std::numeric_limits<std::int64_t>::min();
  analyze_written_ = false;
  writable_schema_ = false;
}

ASIOLITE_DECL void dump_writer::release() noexcept {
  // The statement may be stepped part way or have failed; either way its code says nothing
  // the caller does not know already.
  sqlite3_finalize(rows_);
  rows_ = nullptr;
}

ASIOLITE_DECL bool dump_writer::step(sqlite3* db, std::string& out, failure& f) {
  switch (phase_) {
    case phase::header:
      // SQL text ends at a NUL, so such a name cannot be quoted into the queries below.
      if (!check_no_nul(schema_, "the dump's database name", f)) return false;
      // The rows are loaded as they were: no foreign key may refuse them (or cascade) while the
      // tables they refer to are not yet filled.
      out += "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n";
      phase_ = phase::tables;
      return true;
    case phase::tables:
      return next_table(db, out, f);
    case phase::sequence:
      return sequence_table(db, out, f);
    case phase::rows:
      return next_row(db, out, f);
    case phase::others:
      return next_other(db, out, f);
    case phase::footer:
      // Turns writable_schema off, as the shell's "=OFF" does, and also makes the loading
      // connection read its schema again: until then it knows nothing of the virtual tables
      // written into sqlite_schema ("no such table"). SQLite versions that do not know RESET
      // read it as OFF.
      if (writable_schema_) out += "PRAGMA writable_schema=RESET;\n";
      out += "COMMIT;\n";
      phase_ = phase::done;
      return true;
    case phase::done:
      break;
  }
  return true;
}

// One table per query, found from the rowid after the previous one, so that no statement over
// sqlite_schema stays open while the table's rows are stepped.
ASIOLITE_DECL bool dump_writer::next_table(sqlite3* db, std::string& out, failure& f) {
  const std::string query = "SELECT rowid, name, sql FROM " + schema_table() +
                            " WHERE type = 'table' AND sql IS NOT NULL AND name <> 'sqlite_sequence' AND rowid >= ?1"
                            " ORDER BY rowid LIMIT 1";
  local_statement q;
  int rc = sqlite3_prepare_v2(db, query.c_str(), static_cast<int>(query.size()), &q.handle, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(q.handle, 1, next_rowid_);
  if (rc == SQLITE_OK) rc = sqlite3_step(q.handle);
  if (rc == SQLITE_DONE) {
    if ((rc = q.finish()) != SQLITE_OK) {
      fail(db, rc, schema_description(), f);
      return false;
    }
    phase_ = phase::sequence;
    return true;
  }
  if (rc != SQLITE_ROW) {
    fail(db, rc, schema_description(), f);
    return false;
  }
  const std::int64_t rowid = sqlite3_column_int64(q.handle, 0);
  std::string name;
  std::string sql;
  if (!column_string(q.handle, 1, name) || !column_string(q.handle, 2, sql)) {
    fail(db, SQLITE_NOMEM, schema_description(), f);
    return false;
  }
  if ((rc = q.finish()) != SQLITE_OK) {
    fail(db, rc, schema_description(), f);
    return false;
  }
  if (rowid == std::numeric_limits<std::int64_t>::max()) {
    phase_ = phase::sequence;  // no rowid can follow
  } else {
    next_rowid_ = rowid + 1;
  }
  return begin_table(db, out, name, sql, phase_, f);
}

ASIOLITE_DECL bool dump_writer::sequence_table(sqlite3* db, std::string& out, failure& f) {
  const std::string query =
      "SELECT sql FROM " + schema_table() + " WHERE type = 'table' AND name = 'sqlite_sequence' AND sql IS NOT NULL";
  local_statement q;
  int rc = sqlite3_prepare_v2(db, query.c_str(), static_cast<int>(query.size()), &q.handle, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(q.handle);
  next_rowid_ = std::numeric_limits<std::int64_t>::min();  // the indexes, triggers and views start over
  if (rc == SQLITE_DONE) {
    if ((rc = q.finish()) != SQLITE_OK) {
      fail(db, rc, schema_description(), f);
      return false;
    }
    phase_ = phase::others;
    return true;
  }
  if (rc != SQLITE_ROW) {
    fail(db, rc, schema_description(), f);
    return false;
  }
  std::string sql;
  if (!column_string(q.handle, 0, sql)) {
    fail(db, SQLITE_NOMEM, schema_description(), f);
    return false;
  }
  if ((rc = q.finish()) != SQLITE_OK) {
    fail(db, rc, schema_description(), f);
    return false;
  }
  phase_ = phase::others;
  return begin_table(db, out, "sqlite_sequence", sql, phase::others, f);
}

// Writes what creates the table, and starts on its rows unless it has none of its own.
ASIOLITE_DECL bool dump_writer::begin_table(sqlite3* db, std::string& out, const std::string& name,
                                            const std::string& sql, phase after, failure& f) {
  if (name == "sqlite_sequence") {
    // Created with the first AUTOINCREMENT table; the INSERTs into those tables have filled it
    // by now, with the largest rowid still present rather than the largest ever used.
    out += "DELETE FROM sqlite_sequence;\n";
    return begin_rows(db, name, after, f);
  }
  if (name == "sqlite_stat1") {
    // Only ANALYZE may create it. Analyzing sqlite_schema gathers nothing (SQLite skips its own
    // tables) but creates the table, which the INSERTs then fill.
    if (!analyze_written_) {
      out += "ANALYZE sqlite_schema;\n";
      analyze_written_ = true;
    }
    return begin_rows(db, name, after, f);
  }
  // Other tables of SQLite's own (sqlite_stat4) cannot be created by a statement, and what they
  // hold is rebuilt by the next ANALYZE.
  if (starts_with_nocase(name, "sqlite_")) return true;
  if (starts_with_nocase(sql, "CREATE VIRTUAL TABLE")) {
    // CREATE VIRTUAL TABLE would make the module create its shadow tables, which the dump
    // creates and fills itself (they are ordinary tables, found in their turn): the table's
    // row goes straight into sqlite_schema instead, and the module connects to what the dump
    // has loaded when the schema is next read. Its rows are its shadow tables' rows.
    if (!writable_schema_) {
      out += "PRAGMA writable_schema=ON;\n";
      writable_schema_ = true;
    }
    out += "INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql)VALUES('table',";
    append_text_literal(out, name);
    out += ',';
    append_text_literal(out, name);
    out += ",0,";
    append_text_literal(out, sql);
    out += ");\n";
    return true;
  }
  append_statement(out, sql);
  return begin_rows(db, name, after, f);
}

ASIOLITE_DECL bool dump_writer::begin_rows(sqlite3* db, const std::string& name, phase after, failure& f) {
  table_ = name;
  const std::string what = "table " + quote_identifier(name);

  // The columns to select and insert: generated columns (hidden 2 virtual, 3 stored) take no
  // value in an INSERT. The pragma's schema argument is bound, so any schema name is safe.
  std::string columns;
  bool generated = false;
  int count = 0;
  {
    local_statement q;
    int rc = sqlite3_prepare_v2(db, "SELECT name, hidden FROM pragma_table_xinfo(?1, ?2)", -1, &q.handle, nullptr);
    if (rc == SQLITE_OK) {
      rc = sqlite3_bind_text(q.handle, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    }
    if (rc == SQLITE_OK) {
      rc = sqlite3_bind_text(q.handle, 2, schema_.data(), static_cast<int>(schema_.size()), SQLITE_STATIC);
    }
    if (rc == SQLITE_OK) {
      std::string column;
      while ((rc = sqlite3_step(q.handle)) == SQLITE_ROW) {
        const int hidden = sqlite3_column_int(q.handle, 1);
        if (hidden == 2 || hidden == 3) {
          generated = true;
          continue;
        }
        if (!column_string(q.handle, 0, column)) {
          fail(db, SQLITE_NOMEM, what, f);
          return false;
        }
        if (count++ != 0) columns += ',';
        columns += quote_identifier(column);
      }
    }
    if (rc == SQLITE_DONE) rc = q.finish();
    if (rc != SQLITE_OK) {
      fail(db, rc, what, f);
      return false;
    }
  }
  if (count == 0) {
    // SQLite gives every table a column that is not generated; the pragma finding none means
    // the table is not there.
    f.set(errc::error, "dump of " + what + ": the table has no columns");
    return false;
  }

  const std::string query = "SELECT " + columns + " FROM " + quote_identifier(schema_) + '.' + quote_identifier(name);
  const int rc = sqlite3_prepare_v2(db, query.c_str(), static_cast<int>(query.size()), &rows_, nullptr);
  if (rc != SQLITE_OK) {
    fail(db, rc, what, f);
    return false;
  }
  columns_ = count;
  insert_ = "INSERT INTO " + quote_identifier(name);
  if (generated) insert_ += '(' + columns + ')';
  insert_ += " VALUES(";
  after_rows_ = after;
  phase_ = phase::rows;
  return true;
}

ASIOLITE_DECL bool dump_writer::next_row(sqlite3* db, std::string& out, failure& f) {
  int rc = sqlite3_step(rows_);
  if (rc == SQLITE_DONE) {
    rc = sqlite3_finalize(rows_);
    rows_ = nullptr;
    if (rc != SQLITE_OK) {
      fail(db, rc, "table " + quote_identifier(table_), f);
      return false;
    }
    phase_ = after_rows_;
    return true;
  }
  if (rc != SQLITE_ROW) {
    fail(db, rc, "table " + quote_identifier(table_), f);
    return false;
  }
  // The statement is appended whole or not at all: on an error `out` drops what this row added.
  const std::size_t start = out.size();
  out += insert_;
  for (int i = 0; i < columns_; ++i) {
    if (i != 0) out += ',';
    switch (sqlite3_column_type(rows_, i)) {
      case SQLITE_INTEGER: {
        char buffer[24];
        const auto result = std::to_chars(buffer, buffer + sizeof buffer, sqlite3_column_int64(rows_, i));
        out.append(buffer, result.ptr);
        break;
      }
      case SQLITE_FLOAT:
        append_real(out, sqlite3_column_double(rows_, i));
        break;
      case SQLITE_TEXT: {
        const unsigned char* text = sqlite3_column_text(rows_, i);
        const int size = sqlite3_column_bytes(rows_, i);
        if (text == nullptr) {  // a text value (even empty) has a pointer unless converting it ran out of memory
          out.resize(start);
          fail(db, SQLITE_NOMEM, "table " + quote_identifier(table_), f);
          return false;
        }
        append_text_literal(out, {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)});
        break;
      }
      case SQLITE_BLOB: {
        // The size first: an empty blob has no pointer, so the pointer alone cannot tell it from
        // running out of memory.
        const int size = sqlite3_column_bytes(rows_, i);
        const auto* blob = static_cast<const unsigned char*>(sqlite3_column_blob(rows_, i));
        if (blob == nullptr && size > 0) {
          out.resize(start);
          fail(db, SQLITE_NOMEM, "table " + quote_identifier(table_), f);
          return false;
        }
        static constexpr char digits[] = "0123456789abcdef";
        out += "X'";
        for (int k = 0; k < size; ++k) {
          out += digits[blob[k] >> 4];
          out += digits[blob[k] & 0xf];
        }
        out += '\'';
        break;
      }
      default:
        out += "NULL";
        break;
    }
  }
  out += ");\n";
  return true;
}

ASIOLITE_DECL bool dump_writer::next_other(sqlite3* db, std::string& out, failure& f) {
  const std::string query = "SELECT rowid, sql FROM " + schema_table() +
                            " WHERE type IN ('index', 'trigger', 'view') AND sql IS NOT NULL AND rowid >= ?1"
                            " ORDER BY rowid LIMIT 1";
  local_statement q;
  int rc = sqlite3_prepare_v2(db, query.c_str(), static_cast<int>(query.size()), &q.handle, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(q.handle, 1, next_rowid_);
  if (rc == SQLITE_OK) rc = sqlite3_step(q.handle);
  if (rc == SQLITE_DONE) {
    if ((rc = q.finish()) != SQLITE_OK) {
      fail(db, rc, schema_description(), f);
      return false;
    }
    phase_ = phase::footer;
    return true;
  }
  if (rc != SQLITE_ROW) {
    fail(db, rc, schema_description(), f);
    return false;
  }
  const std::int64_t rowid = sqlite3_column_int64(q.handle, 0);
  std::string sql;
  if (!column_string(q.handle, 1, sql)) {
    fail(db, SQLITE_NOMEM, schema_description(), f);
    return false;
  }
  if ((rc = q.finish()) != SQLITE_OK) {
    fail(db, rc, schema_description(), f);
    return false;
  }
  if (rowid == std::numeric_limits<std::int64_t>::max()) {
    phase_ = phase::footer;
  } else {
    next_rowid_ = rowid + 1;
  }
  append_statement(out, sql);
  return true;
}

// A text value as an SQL expression of the same bytes. A NUL byte cannot appear in the
// statement (sqlite3_exec and the shell read SQL text up to the first NUL), so each run of NULs
// becomes char(0,...) joined with ||; unlike CAST(X'..' AS TEXT), that keeps its meaning in a
// database whose encoding is UTF-16. Other control characters, newlines included, stay as they
// are inside the quotes.
ASIOLITE_DECL void dump_writer::append_text_literal(std::string& out, std::string_view text) {
  // char() takes at most SQLITE_MAX_FUNCTION_ARG arguments (127 by default), so long runs of
  // NULs are split.
  constexpr std::size_t nuls_per_call = 100;
  bool first = true;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t nul = text.find('\0', pos);
    const std::size_t end = nul == std::string_view::npos ? text.size() : nul;
    if (end > pos || (first && nul == std::string_view::npos)) {
      if (!first) out += "||";
      first = false;
      out += '\'';
      for (std::size_t i = pos; i < end; ++i) {
        if (text[i] == '\'') out += '\'';
        out += text[i];
      }
      out += '\'';
    }
    if (nul == std::string_view::npos) return;
    pos = text.find_first_not_of('\0', nul);
    if (pos == std::string_view::npos) pos = text.size();
    for (std::size_t run = pos - nul; run > 0;) {
      const std::size_t n = run < nuls_per_call ? run : nuls_per_call;
      run -= n;
      if (!first) out += "||";
      first = false;
      out += "char(0";
      for (std::size_t i = 1; i < n; ++i) out += ",0";
      out += ')';
    }
    if (pos == text.size()) return;
  }
}

// A REAL as text that SQLite reads back to the same bits. 17 significant digits identify every
// double; to_chars writes them the same whatever the C locale's decimal point.
ASIOLITE_DECL void dump_writer::append_real(std::string& out, double value) {
  if (std::isnan(value)) {
    // SQLite stores NaN as NULL, so no row should hold one; NULL is what it would become.
    out += "NULL";
    return;
  }
  if (std::isinf(value)) {
    // Too large for a double: SQLite reads it as an infinity.
    out += value > 0 ? "1e999" : "-1e999";
    return;
  }
  const auto append_digits = [&out](double v) {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::general, 17);
    const std::string_view text(buffer, static_cast<std::size_t>(result.ptr - buffer));
    out += text;
    // Without a point or an exponent, SQLite would read an INTEGER.
    if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
  };
  // SQLite before 3.43 reads a decimal exponent below -307 in two roundings, and gets about one
  // in two such values wrong by an ulp. Those values are written as a quotient that it reads
  // exactly: both operands are 17-digit decimals of ordinary size, and dividing by a power of
  // two is exact in binary (the result, even subnormal, is the value itself).
  if (value != 0 && std::fabs(value) < 1e-280) {
    constexpr int shift = 600;
    out += '(';
    append_digits(std::ldexp(value, shift));
    out += '/';
    append_digits(std::ldexp(1.0, shift));
    out += ')';
    return;
  }
  append_digits(value);
}

// The stored text of a CREATE statement, ended. A view's text keeps a trailing "-- comment"
// when it was created without a semicolon, and an edited schema may end inside "/* ...": there
// the ';' would be part of the comment, so the comment is closed first.
ASIOLITE_DECL void dump_writer::append_statement(std::string& out, std::string_view sql) {
  const std::size_t start = out.size();
  out += sql;
  out += ';';
  if (sql.find("--") != std::string_view::npos || sql.find("/*") != std::string_view::npos) {
    // sqlite3_complete reads to the NUL that std::string keeps after its characters.
    for (const char* ending : {"\n;", "*/;"}) {
      if (sqlite3_complete(out.c_str() + start) == 1) break;
      out.resize(start + sql.size());
      out += ending;
    }
  }
  out += '\n';
}

ASIOLITE_DECL bool dump_writer::column_string(sqlite3_stmt* stmt, int column, std::string& value) noexcept {
  // The type first: it is undefined once sqlite3_column_text has converted the value.
  const bool null = sqlite3_column_type(stmt, column) == SQLITE_NULL;
  const unsigned char* text = sqlite3_column_text(stmt, column);
  const int size = sqlite3_column_bytes(stmt, column);
  if (text == nullptr) {
    value.clear();
    return null;  // otherwise the conversion ran out of memory
  }
  try {
    value.assign(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
  } catch (...) {
    return false;
  }
  return true;
}

ASIOLITE_DECL bool dump_writer::starts_with_nocase(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() &&
         sqlite3_strnicmp(text.data(), prefix.data(), static_cast<int>(prefix.size())) == 0;
}

ASIOLITE_DECL void dump_writer::fail(sqlite3* db, int rc, const std::string& what, failure& f) {
  // The connection's extended code says more than a primary code; it is the one to report
  // unless the failed call left the connection's error unset (a misuse caught before it ran).
  int code = sqlite3_extended_errcode(db);
  const bool from_db = code != SQLITE_OK && code != SQLITE_ROW && code != SQLITE_DONE;
  if (!from_db) code = rc;
  f.set(make_sqlite_error_code(code), "dump of " + what + ": " + (from_db ? sqlite3_errmsg(db) : sqlite3_errstr(code)));
}

}  // namespace asiolite::detail
