// The connection as seen from code that runs on its worker thread: the on_open hook
// (and, later, async_call). Every call here is synchronous and throws sqlite_error.
#pragma once

#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/session.hpp>
#include <asiolite/error.hpp>
#include <asiolite/results.hpp>
#include <asiolite/row.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asiolite {

/// Synchronous access to the connection, valid only on its worker thread and only for
/// the duration of the call it was handed to. Arguments bind exactly as in the
/// asynchronous calls; failures throw sqlite_error.
class sync_handle {
 public:
  explicit sync_handle(detail::session& s) noexcept : session_(s) {}
  sync_handle(const sync_handle&) = delete;
  sync_handle& operator=(const sync_handle&) = delete;

  template <detail::bindable... Args>
  execute_result execute(std::string_view sql, const Args&... args) {
    detail::failure f;
    auto r = session_.execute(sql, f, args...);
    check(f, sql);
    return r;
  }

  /// All rows with column names (T = rows), or every row as T.
  template <class T = rows, detail::bindable... Args>
  auto query(std::string_view sql, const Args&... args) {
    detail::failure f;
    if constexpr (std::is_same_v<T, rows>) {
      auto r = session_.query(sql, f, args...);
      check(f, sql);
      return r;
    } else {
      static_assert(!detail::record_has_views_v<T>,
                    "asiolite: views (string_view, blob_view) cannot outlive the statement; use std::string or blob");
      auto r = session_.query_as<T>(sql, f, args...);
      check(f, sql);
      return r;
    }
  }

  /// The only row as T, or nullopt; more than one row is an error (too_many_rows).
  template <class T, detail::bindable... Args>
  std::optional<T> query_one(std::string_view sql, const Args&... args) {
    static_assert(!detail::record_has_views_v<T>, "asiolite: views cannot outlive the statement");
    detail::failure f;
    auto r = session_.query_one<T>(sql, f, args...);
    check(f, sql);
    return r;
  }

  /// The single value of a one-row, one-column query. No row is an error (no_rows)
  /// unless T is an std::optional.
  template <class T, detail::bindable... Args>
  T query_scalar(std::string_view sql, const Args&... args) {
    static_assert(!detail::record_has_views_v<T>, "asiolite: views cannot outlive the statement");
    detail::failure f;
    auto r = session_.query_scalar<T>(sql, f, args...);
    check(f, sql);
    return r;
  }

  /// Runs several statements separated by semicolons.
  void execute_script(std::string_view sql) {
    detail::failure f;
    session_.execute_script(sql, f);
    check(f, sql);
  }

  /// The raw handle, for anything asiolite does not wrap (sqlite3_create_function, ...).
  sqlite3* native_handle() const noexcept { return session_.native(); }

 private:
  static void check(const detail::failure& f, std::string_view sql) {
    if (f) throw sqlite_error(f.code, diagnostics(f.message, std::string(sql)));
  }

  detail::session& session_;
};

}  // namespace asiolite
