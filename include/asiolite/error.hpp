// Error codes, conditions and the exception thrown on the co_await path.
// Functions that depend on no template argument are defined in impl/error.ipp (see
// config.hpp, ASIOLITE_DECL).
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/detail/sqlite.hpp>

#include <string>
#include <system_error>
#include <utility>

namespace asiolite {

/// Conditions to compare an `asiolite::error_code` (std::error_code, or
/// boost::system::error_code in the Boost.Asio flavour: config.hpp) from asiolite against.
///
/// SQLite reports extended result codes (`SQLITE_CONSTRAINT_UNIQUE`); each compares
/// equal to its primary condition here: `ec == asiolite::errc::constraint`.
/// The library's own conditions start at 0x10000 so they never collide with SQLite's.
enum class errc : int {
  // SQLite's primary result codes
  error = SQLITE_ERROR,
  internal = SQLITE_INTERNAL,
  perm = SQLITE_PERM,
  abort = SQLITE_ABORT,
  busy = SQLITE_BUSY,
  locked = SQLITE_LOCKED,
  nomem = SQLITE_NOMEM,
  readonly = SQLITE_READONLY,
  interrupt = SQLITE_INTERRUPT,
  ioerr = SQLITE_IOERR,
  corrupt = SQLITE_CORRUPT,
  notfound = SQLITE_NOTFOUND,
  full = SQLITE_FULL,
  cantopen = SQLITE_CANTOPEN,
  protocol = SQLITE_PROTOCOL,
  empty = SQLITE_EMPTY,
  schema = SQLITE_SCHEMA,
  toobig = SQLITE_TOOBIG,
  constraint = SQLITE_CONSTRAINT,
  mismatch = SQLITE_MISMATCH,
  misuse = SQLITE_MISUSE,
  nolfs = SQLITE_NOLFS,
  auth = SQLITE_AUTH,
  format = SQLITE_FORMAT,
  range = SQLITE_RANGE,
  notadb = SQLITE_NOTADB,
  notice = SQLITE_NOTICE,
  warning = SQLITE_WARNING,

  // asiolite's own
  closed = 0x10000,     ///< the connection is not open (never opened, closed, or failed to open)
  already_open,         ///< async_open on a connection that is open, opening or closing
  multiple_statements,  ///< one statement expected, the SQL text holds several
  empty_statement,      ///< the SQL text holds no statement
  parameter_count,      ///< the number of arguments differs from the statement's parameters
  unknown_parameter,    ///< a named argument matches no parameter of the statement
  type_mismatch,        ///< a value's SQLite type cannot convert to the C++ type, or vice versa
  unexpected_null,      ///< NULL read into a type that is not std::optional
  out_of_range,         ///< a value does not fit the C++ type or SQLite (no silent truncation)
  invalid_utf8,         ///< text that is not valid UTF-8
  column_count,         ///< the result's columns do not match the C++ type's fields
  no_rows,              ///< a query that must return one row returned none
  too_many_rows,        ///< a query that may return at most one row returned more
  user_exception,       ///< user code run on the worker threw (the message is its what())
  transaction_ended,    ///< the transaction was committed or rolled back (maybe by SQLite itself)
  invalid_option,       ///< an options field holds a value outside its range (the open fails)
  embedded_nul,         ///< SQL text or a path holds a NUL character, where SQLite would stop reading
  on_own_worker,        ///< a request made from code running on the connection's own worker: it could never run
  newer_schema,         ///< the database's user_version is above every migration given (async_migrate)
  past_blob_end,        ///< a blob write would go past the blob's end (SQLite's blobs do not grow)
};

namespace detail {
inline constexpr int own_codes_begin = 0x10000;

class error_category_impl final : public error_category_base {
 public:
  const char* name() const noexcept override { return "asiolite"; }

  // Declared inline when header-only: a virtual function declared but not defined in the
  // class would be its key function, and every translation unit would emit the vtable.
  ASIOLITE_DECL std::string message(int value) const override;

  // Extended SQLite codes carry their primary code in the low byte.
  error_condition default_error_condition(int value) const noexcept override {
    return {value < own_codes_begin ? (value & 0xff) : value, *this};
  }
};
}  // namespace detail

/// The category of every error_code asiolite produces (except Asio's operation_aborted).
inline const detail::error_category_base& error_category() noexcept {
  static const detail::error_category_impl category;
  return category;
}

inline error_condition make_error_condition(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

/// An error_code holding exactly `e` (for tests and for user code that reports asiolite errors).
inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

/// An error_code for an SQLite (extended) result code.
inline error_code make_sqlite_error_code(int result_code) noexcept { return {result_code, error_category()}; }

/// What went wrong, in words: SQLite's own message (`sqlite3_errmsg`) or the library's
/// explanation, and the SQL text of the failed request.
class diagnostics {
 public:
  diagnostics() = default;
  diagnostics(std::string message, std::string sql) : message_(std::move(message)), sql_(std::move(sql)) {}

  const std::string& message() const noexcept { return message_; }
  const std::string& sql() const noexcept { return sql_; }
  void clear() noexcept {
    message_.clear();
    sql_.clear();
  }

 private:
  std::string message_;
  std::string sql_;
};

/// Thrown on the co_await path (default token) and by sync_handle.
/// `what()` is SQLite's message followed by the SQL that failed.
class sqlite_error : public std::system_error {
 public:
  sqlite_error(error_code ec, diagnostics diag)
      : std::system_error(ec), diag_(std::move(diag)), what_(describe(ec, diag_)) {}

  const char* what() const noexcept override { return what_.c_str(); }
  const diagnostics& get_diagnostics() const noexcept { return diag_; }
  const std::string& sql() const noexcept { return diag_.sql(); }

 private:
  static std::string describe(error_code ec, const diagnostics& d);

  diagnostics diag_;
  std::string what_;
};

}  // namespace asiolite

#ifndef ASIOLITE_SEPARATE_COMPILATION
#  include <asiolite/impl/error.ipp>
#endif
