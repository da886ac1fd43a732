// Named statement parameters: asiolite::named("name", value) binds :name, @name or $name.
#pragma once

#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>

namespace asiolite {

/// An argument bound by name. `name` may carry its prefix (":id") or not ("id");
/// without one, ":id", "@id" and "$id" are tried in that order.
template <class T>
struct named_arg {
  std::string_view name;
  T value;
};

/// Binds `value` to the parameter called `name`. The name is a view: keep it valid
/// until the operation is initiated (string literals always are). A char array is text
/// up to its first NUL and never beyond its end, as when bound by position.
template <class T>
auto named(std::string_view name, T&& value) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_array_v<U> && std::is_same_v<std::remove_cv_t<std::remove_extent_t<U>>, char>)
    return named_arg<std::string_view>{name, std::string_view(value, strnlen(value, std::extent_v<U>))};
  else
    return named_arg<std::decay_t<T>>{name, std::forward<T>(value)};
}

}  // namespace asiolite
