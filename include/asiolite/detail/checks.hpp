// Compile-time checks on the types a statement reads into or binds from, shared by the
// asynchronous front ends and sync_handle so that each mistake gets one message.
#pragma once

#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/record.hpp>
#include <asiolite/detail/database.hpp>

#include <ranges>

namespace asiolite::detail {

/// T can hold one row: a field type, a tuple or a plain aggregate, owning its values.
template <class T>
constexpr void check_row_type() {
  static_assert(record_type<T>, "asiolite: the row type needs to be a field type, a tuple or a plain aggregate");
  static_assert(!record_has_views_v<T>,
                "asiolite: views (string_view, blob_view) cannot outlive the statement; use std::string or blob");
}

/// T can hold one column of one row.
template <class T>
constexpr void check_scalar_type() {
  static_assert(field_type<T>, "asiolite: query_scalar<T> needs a field type");
  static_assert(!record_has_views_v<T>,
                "asiolite: views (string_view, blob_view) cannot outlive the statement; use std::string or blob");
}

/// Every argument of a statement can be bound.
template <class... Args>
constexpr void check_bindable() {
  static_assert((bindable<Args> && ...),
                "asiolite: an argument has a type that cannot be bound (see docs/values.md for the list)");
}

}  // namespace asiolite::detail
