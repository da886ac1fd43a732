// Initiating functions take their inputs, then optionally `diagnostics&`, then optionally
// a completion token: `async_execute(sql, 1, "a", diag, token)`. This splits such a pack.
#pragma once

#include <asiolite/error.hpp>

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace asiolite::detail {

template <class T>
inline constexpr bool is_diagnostics_v = std::is_same_v<std::remove_cvref_t<T>, diagnostics>;

/// For functions whose inputs are all before the pack: every argument is trailing.
template <class T>
struct no_input : std::false_type {};

// Where the trailing arguments start, and which are there.
template <template <class> class IsInput, class... Args>
struct trailing_layout {
  static constexpr std::size_t size = sizeof...(Args);

  template <std::size_t I>
  static constexpr bool is_diag_at() {
    if constexpr (I < size)
      return is_diagnostics_v<std::tuple_element_t<I, std::tuple<Args...>>>;
    else
      return false;
  }
  template <std::size_t I>
  static constexpr bool is_input_at() {
    if constexpr (I < size)
      return IsInput<std::tuple_element_t<I, std::tuple<Args...>>>::value;
    else
      return false;
  }

  // The last argument is a token unless it is an input or the diagnostics.
  static constexpr bool has_token = size > 0 && !is_input_at<size - 1>() && !is_diag_at<size - 1>();
  static constexpr bool has_diag = size >= (has_token ? 2u : 1u) && is_diag_at<size - (has_token ? 2 : 1)>();
  static constexpr std::size_t inputs = size - has_token - has_diag;
};

/// Calls fn(inputs_tuple, diagnostics*, token) where inputs_tuple holds forwarding
/// references to the leading inputs, and token is the given one or DefaultToken{}.
template <template <class> class IsInput, class DefaultToken, class Fn, class... Args>
decltype(auto) split_trailing(Fn&& fn, Args&&... args) {
  using layout = trailing_layout<IsInput, Args...>;
  using all_t = std::tuple<Args&&...>;
  all_t all(std::forward<Args>(args)...);

  diagnostics* diag = nullptr;
  if constexpr (layout::has_diag) {
    static_assert(std::is_same_v<std::tuple_element_t<layout::inputs, std::tuple<Args...>>, diagnostics&>,
                  "asiolite: pass diagnostics as a non-const lvalue: it receives the error message");
    diag = &std::get<layout::inputs>(all);
  }
  auto input_tuple = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::tuple<std::tuple_element_t<I, all_t>...>(std::get<I>(std::move(all))...);
  }
  (std::make_index_sequence<layout::inputs>{});

  if constexpr (layout::has_token)
    return std::forward<Fn>(fn)(std::move(input_tuple), diag, std::get<layout::size - 1>(std::move(all)));
  else
    return std::forward<Fn>(fn)(std::move(input_tuple), diag, DefaultToken{});
}

/// The one optional input of a function that takes at most one (a begin_mode, options),
/// from the inputs split_trailing found; `fallback` when there is none.
template <class T, class Inputs>
T single_input(Inputs&& inputs, T fallback) {
  constexpr std::size_t count = std::tuple_size_v<std::remove_cvref_t<Inputs>>;
  static_assert(count <= 1, "asiolite: this function takes at most one input before [diagnostics&] [token]");
  if constexpr (count == 1)
    return T(std::get<0>(std::forward<Inputs>(inputs)));
  else
    return fallback;
}

}  // namespace asiolite::detail
