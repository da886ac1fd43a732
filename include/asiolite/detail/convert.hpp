// The conversion rules from one SQLite value to one C++ value, shared by typed
// queries (read straight from the statement) and by row::get (read from rows).
#pragma once

#include <asiolite/detail/utf8.hpp>
#include <asiolite/error.hpp>
#include <asiolite/field_view.hpp>

#include <cmath>
#include <concepts>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace asiolite::detail {

template <class T>
inline constexpr bool is_char_type_v =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

// Integers that map to SQLite INTEGER: any integral type but bool and the character types.
template <class T>
concept integer_value = std::integral<T> && !std::is_same_v<T, bool> && !is_char_type_v<T>;

template <class T>
concept byte_vector = std::is_same_v<T, std::vector<std::byte>> || std::is_same_v<T, std::vector<std::uint8_t>>;

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
inline constexpr bool is_optional_v = is_optional<T>::value;

// One non-optional value a field can be read into.
template <class T>
concept plain_field = std::is_same_v<T, bool> || integer_value<T> || std::is_same_v<T, double> ||
    std::is_same_v<T, float> || std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view> ||
    byte_vector<T> || std::is_same_v<T, blob_view> || std::is_same_v<T, field_view>;

template <class T>
struct is_field : std::bool_constant<plain_field<T>> {};
template <class T>
struct is_field<std::optional<T>> : std::bool_constant<plain_field<T> && !std::is_same_v<T, field_view>> {};

/// T can be read from one SQLite value.
template <class T>
concept field_type = is_field<T>::value;

// Views point into the storage they were read from; typed queries have none to point into.
template <class T>
inline constexpr bool is_view_v =
    std::is_same_v<T, std::string_view> || std::is_same_v<T, blob_view> || std::is_same_v<T, field_view>;
template <class T>
inline constexpr bool is_view_v<std::optional<T>> = is_view_v<T>;

template <class T>
constexpr std::string_view type_name() {
  if constexpr (is_optional_v<T>) {
    return "std::optional";
  } else if constexpr (std::is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (integer_value<T>) {
    constexpr std::string_view names[2][4] = {{"uint8", "uint16", "uint32", "uint64"},
                                              {"int8", "int16", "int32", "int64"}};
    constexpr int size_index = sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3;
    return names[std::is_signed_v<T>][size_index];
  } else if constexpr (std::is_same_v<T, double>) {
    return "double";
  } else if constexpr (std::is_same_v<T, float>) {
    return "float";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return "std::string";
  } else if constexpr (std::is_same_v<T, std::string_view>) {
    return "std::string_view";
  } else if constexpr (byte_vector<T> || std::is_same_v<T, blob_view>) {
    return "blob";
  } else {
    return "field_view";
  }
}

// The exact double nearest to 2^63: integers in [-2^63, 2^63) are representable.
inline constexpr double two_pow_63 = 9223372036854775808.0;

template <integer_value T>
error_code narrow_integer(std::int64_t v, T& out) noexcept {
  if constexpr (std::is_signed_v<T>) {
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
      return make_error_code(errc::out_of_range);
  } else {
    if (v < 0 || static_cast<std::uint64_t>(v) > std::numeric_limits<T>::max())
      return make_error_code(errc::out_of_range);
  }
  out = static_cast<T>(v);
  return {};
}

/// Reads `f` into `out` by asiolite's rules; on failure `out` is unspecified.
/// The rules never lose information silently: REAL reads as an integer only when it
/// is integral and in range, INTEGER reads as double only when exactly representable.
template <field_type T>
error_code read_field(const field_view& f, T& out) {
  if constexpr (is_optional_v<T>) {
    if (f.is_null()) {
      out.reset();
      return {};
    }
    return read_field(f, out.emplace());
  } else if constexpr (std::is_same_v<T, field_view>) {
    out = f;
    return {};
  } else {
    if (f.is_null()) return make_error_code(errc::unexpected_null);
    const auto t = f.type();
    if constexpr (std::is_same_v<T, bool>) {
      if (t != column_type::integer) return make_error_code(errc::type_mismatch);
      if (f.integer() != 0 && f.integer() != 1) return make_error_code(errc::out_of_range);
      out = f.integer() == 1;
      return {};
    } else if constexpr (integer_value<T>) {
      if (t == column_type::integer) return narrow_integer(f.integer(), out);
      if (t == column_type::real) {
        const double d = f.real();
        if constexpr (std::is_unsigned_v<T> && sizeof(T) == 8) {
          // [2^63, 2^64) has no int64_t; every double there is whole.
          if (d >= two_pow_63 && d < 2 * two_pow_63) {
            out = static_cast<T>(d);
            return {};
          }
        }
        if (!(d >= -two_pow_63 && d < two_pow_63)) return make_error_code(errc::out_of_range);
        if (std::trunc(d) != d) return make_error_code(errc::type_mismatch);
        return narrow_integer(static_cast<std::int64_t>(d), out);
      }
      return make_error_code(errc::type_mismatch);
    } else if constexpr (std::is_floating_point_v<T>) {
      double d;
      if (t == column_type::real) {
        d = f.real();
      } else if (t == column_type::integer) {
        d = static_cast<double>(f.integer());
        // Above 2^53 not every integer has a double; refuse the ones that would change.
        if (d >= two_pow_63 || static_cast<std::int64_t>(d) != f.integer()) return make_error_code(errc::out_of_range);
      } else {
        return make_error_code(errc::type_mismatch);
      }
      if constexpr (std::is_same_v<T, float>) {
        if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max())
          return make_error_code(errc::out_of_range);
        // An INTEGER must stay exact here too (16777217 has no float); a REAL may round.
        if (t == column_type::integer && static_cast<double>(static_cast<float>(d)) != d)
          return make_error_code(errc::out_of_range);
      }
      out = static_cast<T>(d);
      return {};
    } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
      if (t != column_type::text) return make_error_code(errc::type_mismatch);
      if (!is_valid_utf8(f.text())) return make_error_code(errc::invalid_utf8);
      if constexpr (std::is_same_v<T, std::string>)
        out.assign(f.text());
      else
        out = f.text();
      return {};
    } else {  // blobs: TEXT reads as its bytes too, nothing is lost
      if (t != column_type::blob && t != column_type::text) return make_error_code(errc::type_mismatch);
      const auto bytes = f.bytes();
      if constexpr (std::is_same_v<T, blob_view>) {
        out = bytes;
      } else {
        // Byte types may alias any object; assign() copies without zero-filling first.
        const auto* p = reinterpret_cast<const typename T::value_type*>(bytes.data());
        out.assign(p, p + bytes.size());
      }
      return {};
    }
  }
}

}  // namespace asiolite::detail
