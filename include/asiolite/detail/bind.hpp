// Binding C++ arguments to statement parameters, and the owned copies of arguments
// that asynchronous requests carry to the worker.
#pragma once

#include <asiolite/detail/convert.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/sqlite.hpp>
#include <asiolite/detail/utf8.hpp>
#include <asiolite/field_view.hpp>
#include <asiolite/parameters.hpp>

#include <bitset>
#include <cmath>
#include <cstdint>
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
concept text_arg = std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view> ||
    std::is_same_v<T, const char*> || std::is_same_v<T, char*> ||
    (std::is_array_v<T>&& std::is_same_v<std::remove_cv_t<std::remove_extent_t<T>>, char>);

template <class T>
concept blob_arg = byte_vector<T> || std::is_same_v<T, blob_view> || std::is_same_v<T, std::span<std::byte>> ||
    std::is_same_v<T, std::span<const std::uint8_t>> || std::is_same_v<T, std::span<std::uint8_t>>;

template <class T>
concept plain_arg =
    std::is_same_v<T, bool> || integer_value<T> || std::is_same_v<T, double> || std::is_same_v<T, float> ||
    text_arg<T> || blob_arg<T> || std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::nullopt_t>;

template <class T>
struct is_arg : std::bool_constant<plain_arg<T>> {};
template <class T>
struct is_arg<std::optional<T>> : std::bool_constant<plain_arg<T>> {};
template <class T>
struct is_arg<named_arg<T>> : is_arg<T> {};

/// T (without cv-ref) can be bound to a statement parameter.
template <class T>
concept bindable = is_arg<std::remove_cvref_t<T>>::value;

// ---- owned copies: what an asynchronous request stores until the worker binds it

template <class T>
struct stored {
  using type = T;
};
template <text_arg T>
requires(!std::is_same_v<T, std::string>) struct stored<T> {
  // A null `const char*` binds NULL (as sqlite3_bind_text does), so its copy must be able to.
  using type = std::conditional_t<std::is_pointer_v<T>, std::optional<std::string>, std::string>;
};
template <blob_arg T>
requires(!byte_vector<T>) struct stored<T> {
  using type = std::vector<std::byte>;
};
template <class T>
struct stored<std::optional<T>> {
  using type = std::optional<typename stored<T>::type>;
};
template <class T>
struct stored<named_arg<T>> {
  struct type {
    std::string name;
    typename stored<T>::type value;
  };
};
template <class T>
using stored_t = typename stored<std::remove_cvref_t<T>>::type;

// The text of a text argument. A char array is text up to its first NUL and never
// beyond its end (a literal's terminator is not part of the text); a null pointer is empty.
template <class T>
std::string_view as_text(const T& v) noexcept {
  if constexpr (std::is_array_v<T>)
    return {v, strnlen(v, std::extent_v<T>)};
  else if constexpr (std::is_pointer_v<T>)
    return v ? std::string_view(v) : std::string_view();
  else
    return std::string_view(v);
}

/// Makes the owned copy of one argument.
template <class T>
stored_t<T> store(T&& v) {
  using U = std::remove_cvref_t<T>;
  if constexpr (text_arg<U> && std::is_pointer_v<U>) {
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  } else if constexpr (text_arg<U> && !std::is_same_v<U, std::string>) {
    return std::string(as_text(v));
  } else if constexpr (blob_arg<U> && !byte_vector<U>) {
    const auto bytes = std::as_bytes(std::span(v));
    return std::vector<std::byte>(bytes.begin(), bytes.end());
  } else if constexpr (is_optional_v<U>) {
    if (!v) return std::nullopt;
    return store(*std::forward<T>(v));
  } else if constexpr (requires {
                         v.name;
                         v.value;
                       }) {
    return {std::string(v.name), store(std::forward<T>(v).value)};
  } else {
    return std::forward<T>(v);
  }
}

// ---- binding

inline std::string describe_argument(int index) { return "argument " + std::to_string(index); }

inline bool check_rc(sqlite3_stmt* stmt, int rc, failure& f) {
  if (rc == SQLITE_OK) return true;
  f.set(make_sqlite_error_code(rc), sqlite3_errmsg(sqlite3_db_handle(stmt)));
  return false;
}

inline bool bind_text(sqlite3_stmt* stmt, int index, std::string_view text, failure& f) {
  if (!is_valid_utf8(text)) {
    f.set(errc::invalid_utf8, describe_argument(index) + " is not valid UTF-8 text (bind it as a blob)");
    return false;
  }
  return check_rc(
      stmt, sqlite3_bind_text64(stmt, index, text.data() ? text.data() : "", text.size(), SQLITE_STATIC, SQLITE_UTF8),
      f);
}

inline bool bind_blob(sqlite3_stmt* stmt, int index, blob_view bytes, failure& f) {
  // A zero-length blob with a null pointer would bind NULL; keep it an empty blob.
  if (bytes.empty()) return check_rc(stmt, sqlite3_bind_zeroblob(stmt, index, 0), f);
  return check_rc(stmt, sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(), SQLITE_STATIC), f);
}

/// Binds one value; the value must stay alive until the statement is reset (SQLITE_STATIC).
template <class T>
bool bind_value(sqlite3_stmt* stmt, int index, const T& v, failure& f) {
  if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::nullopt_t>) {
    return check_rc(stmt, sqlite3_bind_null(stmt, index), f);
  } else if constexpr (is_optional_v<T>) {
    if (!v) return check_rc(stmt, sqlite3_bind_null(stmt, index), f);
    return bind_value(stmt, index, *v, f);
  } else if constexpr (std::is_same_v<T, bool>) {
    return check_rc(stmt, sqlite3_bind_int(stmt, index, v ? 1 : 0), f);
  } else if constexpr (integer_value<T>) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        f.set(errc::out_of_range,
              describe_argument(index) + " (" + std::to_string(v) + ") does not fit SQLite's 64-bit signed INTEGER");
        return false;
      }
    }
    return check_rc(stmt, sqlite3_bind_int64(stmt, index, static_cast<sqlite3_int64>(v)), f);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(v)) {
      f.set(errc::out_of_range, describe_argument(index) + " is NaN, which SQLite would store as NULL");
      return false;
    }
    return check_rc(stmt, sqlite3_bind_double(stmt, index, static_cast<double>(v)), f);
  } else if constexpr (text_arg<T>) {
    if constexpr (std::is_pointer_v<T>)
      if (v == nullptr) return check_rc(stmt, sqlite3_bind_null(stmt, index), f);
    return bind_text(stmt, index, as_text(v), f);
  } else {
    static_assert(blob_arg<T>);
    return bind_blob(stmt, index, std::as_bytes(std::span(v)), f);
  }
}

// Finds a named parameter; a name without prefix matches :name, @name or $name.
inline int parameter_index(sqlite3_stmt* stmt, std::string_view name) {
  // SQLite reads the name up to a NUL: "x\0junk" would bind :x.
  if (name.find('\0') != std::string_view::npos) return 0;
  std::string key;
  key.reserve(name.size() + 1);
  if (!name.empty() && (name[0] == ':' || name[0] == '@' || name[0] == '$')) {
    key.assign(name);
    return sqlite3_bind_parameter_index(stmt, key.c_str());
  }
  for (char prefix : {':', '@', '$'}) {
    key.assign(1, prefix);
    key.append(name);
    if (int i = sqlite3_bind_parameter_index(stmt, key.c_str())) return i;
  }
  return 0;
}

// Remembers which parameters got a value, to catch a name bound twice.
class bound_set {
 public:
  explicit bound_set(int count) {
    if (count > 64) large_.resize(static_cast<std::size_t>(count) + 1);
  }
  // False if `index` was already bound.
  bool insert(int index) {
    if (!large_.empty()) {
      if (large_[static_cast<std::size_t>(index)]) return false;
      large_[static_cast<std::size_t>(index)] = true;
      return true;
    }
    const std::uint64_t bit = std::uint64_t{1} << (index - 1);
    if (small_ & bit) return false;
    small_ |= bit;
    return true;
  }

 private:
  std::uint64_t small_ = 0;
  std::vector<bool> large_;
};

template <class T>
inline constexpr bool is_named_v = requires(const T& v) {
  v.name;
  v.value;
};

template <class T>
bool bind_named(sqlite3_stmt* stmt, const T& arg, bound_set& bound, failure& f) {
  const int index = parameter_index(stmt, arg.name);
  if (index == 0) {
    f.set(errc::unknown_parameter, "the statement has no parameter named '" + std::string(arg.name) + "'");
    return false;
  }
  if (!bound.insert(index)) {
    f.set(errc::parameter_count, "parameter '" + std::string(arg.name) + "' is bound twice");
    return false;
  }
  return bind_value(stmt, index, arg.value, f);
}

/// Binds every argument: positional ones to ?1, ?2, ... in order, named ones by name.
/// Together they must give each of the statement's parameters exactly one value.
template <class... Args>
bool bind_all(sqlite3_stmt* stmt, failure& f, const Args&... args) {
  const int count = sqlite3_bind_parameter_count(stmt);
  if (static_cast<int>(sizeof...(Args)) != count) {
    f.set(errc::parameter_count, "the statement has " + std::to_string(count) + " parameter" + (count == 1 ? "" : "s") +
                                     " but " + std::to_string(sizeof...(Args)) + " argument" +
                                     (sizeof...(Args) == 1 ? " was" : "s were") + " given");
    return false;
  }
  if constexpr (sizeof...(Args) == 0) {
    return true;
  } else if constexpr (!(is_named_v<std::remove_cvref_t<Args>> || ...)) {
    // Positions only: each parameter gets exactly one value by construction.
    int position = 0;
    return (bind_value(stmt, ++position, args, f) && ...);
  } else {
    bound_set bound(count);
    int position = 0;
    auto bind_one = [&](const auto& arg) {
      using A = std::remove_cvref_t<decltype(arg)>;
      if constexpr (is_named_v<A>) {
        return bind_named(stmt, arg, bound, f);
      } else {
        ++position;
        if (!bound.insert(position)) {
          f.set(errc::parameter_count,
                "parameter " + std::to_string(position) + " is bound both by position and by name");
          return false;
        }
        return bind_value(stmt, position, arg, f);
      }
    };
    return (bind_one(args) && ...);
  }
}

}  // namespace asiolite::detail
