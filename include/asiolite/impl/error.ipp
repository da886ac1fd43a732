// Error messages (error.hpp).
// Part of the header-only build through asiolite/error.hpp; compiled once by <asiolite/src.hpp>
// with ASIOLITE_SEPARATE_COMPILATION.
#pragma once

#include <asiolite/error.hpp>

namespace asiolite {

ASIOLITE_DECL std::string detail::error_category_impl::message(int value) const {
  if (value < own_codes_begin) return sqlite3_errstr(value);
  switch (static_cast<errc>(value)) {
    case errc::closed:
      return "the connection is not open";
    case errc::already_open:
      return "the connection is already open";
    case errc::multiple_statements:
      return "the SQL text holds more than one statement";
    case errc::empty_statement:
      return "the SQL text holds no statement";
    case errc::parameter_count:
      return "wrong number of arguments for the statement's parameters";
    case errc::unknown_parameter:
      return "no parameter of that name in the statement";
    case errc::type_mismatch:
      return "the value's type does not match the requested type";
    case errc::unexpected_null:
      return "NULL where a value was required";
    case errc::out_of_range:
      return "the value is out of range for the requested type";
    case errc::invalid_utf8:
      return "the text is not valid UTF-8";
    case errc::column_count:
      return "the number of columns does not match the requested type";
    case errc::no_rows:
      return "the query returned no rows";
    case errc::too_many_rows:
      return "the query returned more rows than expected";
    case errc::user_exception:
      return "user code on the worker thread threw an exception";
    case errc::transaction_ended:
      return "the transaction has ended";
    case errc::invalid_option:
      return "an option's value is outside its range";
    case errc::embedded_nul:
      return "the text holds a NUL character";
    case errc::on_own_worker:
      return "a request was made from the connection's own worker thread";
    case errc::newer_schema:
      return "the database's schema is newer than the migrations given";
    case errc::past_blob_end:
      return "a write would go past the blob's end";
    default:
      return "unknown asiolite error";
  }
}

ASIOLITE_DECL std::string sqlite_error::describe(error_code ec, const diagnostics& d) {
  std::string s = d.message().empty() ? ec.message() : d.message();
  if (!d.sql().empty()) {
    constexpr std::size_t shown = 200;  // the whole text stays available through sql()
    s += " (while running: ";
    s.append(d.sql(), 0, shown);
    if (d.sql().size() > shown) s += "...";
    s += ')';
  }
  return s;
}

}  // namespace asiolite
