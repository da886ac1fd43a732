// Named statement parameters: asiolite::named("name", value) binds :name, @name or $name.
#pragma once

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
/// until the operation is initiated (string literals always are).
template <class T>
named_arg<std::decay_t<T>> named(std::string_view name, T&& value) {
  return {name, std::forward<T>(value)};
}

}  // namespace asiolite
