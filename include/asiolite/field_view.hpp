// One value of a result: its SQLite storage class and a view of its contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace asiolite {

/// SQLite's storage classes (the values match SQLITE_INTEGER ... SQLITE_NULL).
enum class column_type : std::uint8_t { integer = 1, real = 2, text = 3, blob = 4, null = 5 };

/// An owning blob, as bound and as read.
using blob = std::vector<std::byte>;
/// A non-owning blob.
using blob_view = std::span<const std::byte>;

/// A read-only view of one value. Views of text and blobs point into the storage
/// they came from (a `rows` object): they are valid while that storage is.
class field_view {
 public:
  constexpr field_view() noexcept = default;  // NULL

  static constexpr field_view from_integer(std::int64_t v) noexcept {
    field_view f(column_type::integer);
    f.integer_ = v;
    return f;
  }
  static constexpr field_view from_real(double v) noexcept {
    field_view f(column_type::real);
    f.real_ = v;
    return f;
  }
  static constexpr field_view from_text(std::string_view v) noexcept {
    field_view f(column_type::text);
    f.data_ = v.data();
    f.size_ = v.size();
    return f;
  }
  static field_view from_blob(blob_view v) noexcept {
    field_view f(column_type::blob);
    f.data_ = reinterpret_cast<const char*>(v.data());
    f.size_ = v.size();
    return f;
  }

  constexpr column_type type() const noexcept { return type_; }
  constexpr bool is_null() const noexcept { return type_ == column_type::null; }

  // Raw accessors: valid only for the matching type(); use row::get<T> for checked conversion.
  constexpr std::int64_t integer() const noexcept { return integer_; }
  constexpr double real() const noexcept { return real_; }
  constexpr std::string_view text() const noexcept { return {data_, size_}; }
  blob_view bytes() const noexcept { return {reinterpret_cast<const std::byte*>(data_), size_}; }

 private:
  constexpr explicit field_view(column_type t) noexcept : type_(t) {}

  column_type type_ = column_type::null;
  union {
    std::int64_t integer_ = 0;
    double real_;
  };
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

/// "INTEGER", "REAL", "TEXT", "BLOB" or "NULL".
constexpr std::string_view to_string(column_type t) noexcept {
  switch (t) {
    case column_type::integer:
      return "INTEGER";
    case column_type::real:
      return "REAL";
    case column_type::text:
      return "TEXT";
    case column_type::blob:
      return "BLOB";
    case column_type::null:
      return "NULL";
  }
  return "?";
}

}  // namespace asiolite
