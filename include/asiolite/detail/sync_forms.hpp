// The statement forms of sync_handle and sync_statement, over a database and a statement
// source: each runs one form and throws sqlite_error on failure. Worker thread only.
#pragma once

#include <asiolite/detail/checks.hpp>
#include <asiolite/detail/execute_many.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/database.hpp>
#include <asiolite/error.hpp>
#include <asiolite/results.hpp>
#include <asiolite/row.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace asiolite::detail {

struct sync_forms {
  static void check(const failure& f, std::string_view sql) {
    if (f) throw sqlite_error(f.code, diagnostics(f.message, std::string(sql)));
  }

  template <class... Args>
  static execute_result execute(database& s, statement_source src, const Args&... args) {
    failure f;
    auto r = s.execute(src, f, args...);
    check(f, src.sql);
    return r;
  }

  template <class T, class... Args>
  static auto query(database& s, statement_source src, const Args&... args) {
    failure f;
    if constexpr (std::is_same_v<T, rows>) {
      auto r = s.query(src, f, args...);
      check(f, src.sql);
      return r;
    } else {
      check_row_type<T>();
      auto r = s.query_as<T>(src, f, args...);
      check(f, src.sql);
      return r;
    }
  }

  template <class T, class... Args>
  static std::optional<T> query_one(database& s, statement_source src, const Args&... args) {
    check_row_type<T>();
    failure f;
    auto r = s.query_one<T>(src, f, args...);
    check(f, src.sql);
    return r;
  }

  template <class T, class... Args>
  static T query_scalar(database& s, statement_source src, const Args&... args) {
    check_scalar_type<T>();
    failure f;
    auto r = s.query_scalar<T>(src, f, args...);
    check(f, src.sql);
    return r;
  }

  template <class Range>
  static execute_many_result execute_many(database& s, statement_source src, Range& elements) {
    check_many_range<Range>();
    failure f;
    auto r = execute_many_run::run(s, src, f, elements);
    check(f, src.sql);
    return r;
  }
};


}  // namespace asiolite::detail
