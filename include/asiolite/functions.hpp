// User-defined SQL functions and collations: what a program hands to SQLite (see
// sync_handle::create_function, connection::async_create_function).
#pragma once

#include <asiolite/detail/convert.hpp>
#include <asiolite/detail/sqlite.hpp>
#include <asiolite/detail/sqlite_value.hpp>
#include <asiolite/error.hpp>
#include <asiolite/field_view.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace asiolite {

namespace detail {
/// Why a user function's argument `number` (from 1) could not be read as `type`: the one
/// wording of fixed and variadic parameters alike.
inline std::string argument_failure(std::size_t number, std::string_view type, error_code ec) {
  return "argument " + std::to_string(number) + " (read as " + std::string(type) + "): " + ec.message();
}
}  // namespace detail

/// How SQLite may use a user function (sqlite3_create_function's flags); combine with |.
enum class function_flags : unsigned {
  none = 0,
  /// The same arguments always give the same result: SQLite may evaluate it once, and it
  /// may appear in indexes, CHECK constraints and generated columns.
  deterministic = 1,
  /// Harmless wherever it appears: usable in views and triggers of a schema that has
  /// trusted_schema off (SQLITE_INNOCUOUS).
  innocuous = 2,
  /// Only in SQL the program runs itself, never from a schema's views, triggers, CHECK
  /// constraints or generated columns (SQLITE_DIRECTONLY): the safe choice for a
  /// function with side effects.
  direct_only = 4,
};

constexpr function_flags operator|(function_flags a, function_flags b) noexcept {
  return static_cast<function_flags>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr bool has_flag(function_flags set, function_flags f) noexcept {
  return (static_cast<unsigned>(set) & static_cast<unsigned>(f)) != 0;
}

/// The arguments of a variadic user function: one whose only parameter is
/// `asiolite::function_args` takes any number of arguments. Valid during the call only.
class function_args {
 public:
  function_args(int argc, sqlite3_value** argv) noexcept : argc_(argc), argv_(argv) {}

  std::size_t size() const noexcept { return static_cast<std::size_t>(argc_); }
  bool empty() const noexcept { return argc_ == 0; }

  /// Argument `i` (from 0) as a view; views of text and blobs are valid during the call.
  field_view operator[](std::size_t i) const noexcept { return detail::value_of(argv_[i]); }

  /// Argument `i` as T, by the decoding rules of docs/values.md; throws sqlite_error
  /// (errc::type_mismatch, unexpected_null, out_of_range, invalid_utf8, or out_of_range
  /// for an index past the last argument), which fails the calling statement.
  template <detail::field_type T>
  T get(std::size_t i) const {
    if (i >= size())
      throw sqlite_error(
          make_error_code(errc::out_of_range),
          diagnostics("argument " + std::to_string(i + 1) + " of " + std::to_string(argc_) + " does not exist", {}));
    T out{};
    if (const auto ec = detail::read_field((*this)[i], out))
      throw sqlite_error(ec, diagnostics(detail::argument_failure(i + 1, detail::type_name<T>(), ec), {}));
    return out;
  }

 private:
  int argc_;
  sqlite3_value** argv_;
};

}  // namespace asiolite
