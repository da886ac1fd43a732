// A row checked on the worker and made into its C++ type on the caller's thread.
//
// A typed query_one or query_scalar whose row has text or blobs would otherwise allocate
// its strings and vectors on the worker, and the caller's thread would free them. With
// glibc's per-thread arenas, memory freed by another thread than the one that allocated it
// costs both threads (the allocating arena's lock, and cache lines, change hands for every
// request). So the worker checks the row by the same rules as read_record, keeps its text
// and blob bytes in the request itself, and the caller's thread, which will free the
// values, allocates them.
#pragma once

#include <asiolite/detail/convert.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/record.hpp>
#include <asiolite/detail/reflect.hpp>

#include <cassert>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace asiolite::detail {

// What a field is checked and kept as on the worker: a view for text and blobs (read_field
// applies the same rules to a view as to its owning type), the field itself otherwise.
template <class F>
struct kept_field {
  using type = F;
};
template <>
struct kept_field<std::string> {
  using type = std::string_view;
};
template <byte_vector F>
struct kept_field<F> {
  using type = blob_view;
};
template <class F>
struct kept_field<std::optional<F>> {
  using type = std::optional<typename kept_field<F>::type>;
};
template <class F>
using kept_field_t = typename kept_field<F>::type;

// The field types of a record, in column order, as a tuple.
template <record_type T>
auto record_fields_of() {
  if constexpr (field_type<T>) {
    return std::type_identity<std::tuple<T>>{};
  } else if constexpr (is_tuple_record<T>::value) {
    return std::type_identity<T>{};
  } else {
    return []<class... Refs>(std::tuple<Refs...>*) {
      return std::type_identity<std::tuple<std::remove_cvref_t<Refs>...>>{};
    }(static_cast<decltype(tie_fields(std::declval<T&>()))*>(nullptr));
  }
}
template <record_type T>
using record_fields_t = typename decltype(record_fields_of<T>())::type;

template <class Fields>
struct kept_fields;
template <class... F>
struct kept_fields<std::tuple<F...>> {
  using type = std::tuple<kept_field_t<F>...>;
};

/// T has text or blob fields, which kept_record keeps as views.
template <class T>
concept keeps_views = record_type<T> &&
    !std::is_same_v<record_fields_t<T>, typename kept_fields<record_fields_t<T>>::type>;

/// One row: read (checked, and its bytes copied in) on the worker; taken as T on the
/// caller's thread. A row whose text and blobs exceed `capacity` bytes is made into T on
/// the worker instead.
template <keeps_views T>
class kept_record {
  using fields = record_fields_t<T>;
  using views = typename kept_fields<fields>::type;
  static constexpr std::size_t width = std::tuple_size_v<fields>;

 public:
  static constexpr std::size_t capacity = 256;

  kept_record() noexcept = default;
  // A job moves only before it runs (into its operation), when nothing is kept yet.
  kept_record([[maybe_unused]] kept_record&& o) noexcept { assert(!o.has_value()); }
  kept_record& operator=(kept_record&&) = delete;
  ~kept_record() = default;

  /// On the worker: checks the current row of `src` by read_record's rules (with the
  /// same messages) and keeps it; false, with `f` set, if it does not convert to T.
  template <class Source>
  bool read(const Source& src, failure& f) {
    if (!check_record_width<T>(src, f)) return false;
    views v;
    const bool ok = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return (read_one_field_as<std::tuple_element_t<I, fields>>(src, static_cast<int>(I), std::get<I>(v), f) && ...);
    }(std::make_index_sequence<width>{});
    if (!ok) return false;
    std::size_t total = 0;
    std::apply([&](const auto&... x) { ((total += size_of(x)), ...); }, v);
    if (total > capacity) {
      value_.template emplace<T>(make(v));  // too large to keep: made here, from the checked views
      return true;
    }
    std::size_t used = 0;
    std::apply([&](auto&... x) { (copy_in(x, used), ...); }, v);
    value_.template emplace<views>(v);
    return true;
  }

  bool has_value() const noexcept { return value_.index() != 0; }

  /// On the caller's thread: the row as T (allocates its strings and vectors here).
  T take() {
    if (auto* t = std::get_if<T>(&value_)) return std::move(*t);
    return make(std::get<views>(value_));
  }

 private:
  // T from views of its fields: allocates T's strings and vectors on the calling thread.
  static T make(const views& v) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      if constexpr (field_type<T>) {
        return owned<T>(std::get<0>(v));
      } else if constexpr (is_tuple_record<T>::value) {
        return T(owned<std::tuple_element_t<I, fields>>(std::get<I>(v))...);
      } else {
        T out{};
        auto refs = tie_fields(out);
        ((std::get<I>(refs) = owned<std::tuple_element_t<I, fields>>(std::get<I>(v))), ...);
        return out;
      }
    }(std::make_index_sequence<width>{});
  }

  template <class V>
  static std::size_t size_of(const V& x) noexcept {
    if constexpr (is_optional_v<V>)
      return x ? size_of(*x) : 0;
    else if constexpr (is_view_v<V>)
      return x.size();
    else
      return 0;
  }

  // Copies a view's bytes to bytes_ + used and points the view there.
  template <class V>
  void copy_in(V& x, std::size_t& used) noexcept {
    if constexpr (is_optional_v<V>) {
      if (x) copy_in(*x, used);
    } else if constexpr (is_view_v<V>) {
      char* to = bytes_ + used;
      if (!x.empty()) std::memcpy(to, x.data(), x.size());
      used += x.size();
      if constexpr (std::is_same_v<V, std::string_view>)
        x = V(to, x.size());
      else
        x = V(reinterpret_cast<const std::byte*>(to), x.size());
    }
  }

  template <class F>
  static F owned(const kept_field_t<F>& x) {
    if constexpr (is_optional_v<F>) {
      if (!x) return std::nullopt;
      return F(owned<typename F::value_type>(*x));
    } else if constexpr (std::is_same_v<F, std::string>) {
      return std::string(x);
    } else if constexpr (byte_vector<F>) {
      const auto* p = reinterpret_cast<const typename F::value_type*>(x.data());
      return F(p, p + x.size());
    } else {
      return x;
    }
  }

  std::variant<std::monostate, views, T> value_;
  char bytes_[capacity];
};

}  // namespace asiolite::detail
