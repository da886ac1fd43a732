// Records: the C++ types a whole row converts to (one field, a tuple, a plain aggregate),
// read from any source of fields (a live statement or a stored row) by the same rules.
#pragma once

#include <asiolite/detail/convert.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/reflect.hpp>

#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace asiolite::detail {

template <class T>
struct is_tuple_record : std::false_type {};
template <class... Ts>
struct is_tuple_record<std::tuple<Ts...>> : std::bool_constant<(field_type<Ts> && ...) && (sizeof...(Ts) > 0)> {};

template <class T>
struct aggregate_fields_ok : std::false_type {};

template <class T>
requires aggregate_record<T>
struct aggregate_fields_ok<T> {
  template <class... Refs>
  static constexpr bool all_fields(std::tuple<Refs...>*) {
    return (field_type<std::remove_reference_t<Refs>> && ...);
  }
  static constexpr bool value = all_fields(static_cast<decltype(tie_fields(std::declval<T&>()))*>(nullptr));
};

/// T is what a whole row can be read into.
template <class T>
concept record_type = field_type<T> || is_tuple_record<T>::value ||
    (!field_type<T> && !is_tuple_record<T>::value && aggregate_fields_ok<T>::value);

template <record_type T>
constexpr std::size_t record_width() {
  if constexpr (field_type<T>)
    return 1;
  else if constexpr (is_tuple_record<T>::value)
    return std::tuple_size_v<T>;
  else
    return field_count_v<T>;
}

template <class T>
inline constexpr bool record_has_views_v = false;
template <field_type T>
inline constexpr bool record_has_views_v<T> = is_view_v<T>;
template <class... Ts>
inline constexpr bool record_has_views_v<std::tuple<Ts...>> = (is_view_v<Ts> || ...);
template <class T>
requires aggregate_record<T> &&
    (!field_type<T>)inline constexpr bool record_has_views_v<T> = []<class... Refs>(std::tuple<Refs...>*) {
      return (is_view_v<std::remove_cvref_t<Refs>> || ...);
    }(static_cast<decltype(tie_fields(std::declval<T&>()))*>(nullptr));

template <class Source>
std::string describe_column(const Source& src, int i) {
  std::string s = "column ";
  s += std::to_string(i);
  s += " ('";
  s += src.column_name(static_cast<std::size_t>(i));
  s += "')";
  return s;
}

// Reads column i into `out`; a failure's message names the type as `Named` (a kept
// view, see kept_record, is checked for the owning type its caller asked for).
template <class Named, class T, class Source>
bool read_one_field_as(const Source& src, int i, T& out, failure& f) {
  const field_view value = src.field(i);
  if (auto ec = read_field(value, out)) {
    std::string msg = describe_column(src, i);
    msg += ": cannot read ";
    msg += to_string(value.type());
    msg += " as ";
    msg += type_name<Named>();
    msg += " (";
    msg += ec.message();
    msg += ')';
    f.set(ec, std::move(msg));
    return false;
  }
  return true;
}

template <class T, class Source>
bool read_one_field(const Source& src, int i, T& out, failure& f) {
  return read_one_field_as<T>(src, i, out, f);
}

// The row of `src` has as many columns as T reads.
template <record_type T, class Source>
bool check_record_width(const Source& src, failure& f) {
  constexpr std::size_t width = record_width<T>();
  if (static_cast<std::size_t>(src.column_count()) == width) return true;
  std::string msg = "the result has ";
  msg += std::to_string(src.column_count());
  msg += " columns but the requested type reads ";
  msg += std::to_string(width);
  f.set(errc::column_count, std::move(msg));
  return false;
}

/// Reads the current row of `src` into `out`. A Source offers column_count(),
/// column_name(i) and field(i).
template <record_type T, class Source>
bool read_record(const Source& src, T& out, failure& f) {
  if (!check_record_width<T>(src, f)) return false;
  if constexpr (field_type<T>) {
    return read_one_field(src, 0, out, f);
  } else {
    auto read_all = [&](auto&... fields) {
      int i = 0;
      return (read_one_field(src, i++, fields, f) && ...);
    };
    if constexpr (is_tuple_record<T>::value)
      return std::apply(read_all, out);
    else
      return std::apply(read_all, tie_fields(out));
  }
}

/// One row read into T where it is read (the worker, for results without text or blobs,
/// whose reading allocates nothing). kept_record offers the same interface.
template <record_type T>
struct direct_row {
  std::optional<T> value;

  template <class Source>
  bool read(const Source& src, failure& f) {
    return read_record(src, value.emplace(), f);
  }
  bool has_value() const noexcept { return value.has_value(); }
  T take() { return std::move(*value); }
};

/// What a one-row holder (direct_row, kept_record) hands over: its row, or nothing after
/// a failure or when there was no row.
template <class Row>
auto take_one_row(Row& row, const failure& f) -> std::optional<decltype(row.take())> {
  if (f || !row.has_value()) return std::nullopt;
  return row.take();
}

}  // namespace asiolite::detail
