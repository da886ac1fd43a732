// Query results with column names: `rows` owns them, `row` is a view of one.
#pragma once

#include <asiolite/detail/record.hpp>
#include <asiolite/error.hpp>
#include <asiolite/field_view.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace asiolite {

class rows;

namespace detail {
// One stored value: 16 bytes; text and blob bytes live in the owning rows' arena.
struct cell {
  union {
    std::int64_t integer;
    double real;
    std::size_t offset;
  };
  std::uint32_t size;
  column_type type;
};
struct rows_access;
}  // namespace detail

/// A view of one row of a `rows`; valid while that `rows` object lives and is not modified.
class row {
 public:
  /// The number of columns.
  std::size_t size() const noexcept;

  /// The value in column `i`; throws sqlite_error (SQLITE_RANGE) if there is no such column.
  field_view at(std::size_t i) const;
  /// The value in the column named `name` (the first one, if several share it).
  field_view at(std::string_view name) const;
  field_view operator[](std::size_t i) const { return at(i); }
  field_view operator[](std::string_view name) const { return at(name); }

  /// Column `i` converted to T by asiolite's rules (see docs/values.md); throws
  /// sqlite_error on a type mismatch, NULL into a non-optional or a value out of range.
  template <class T>
  T get(std::size_t i) const;
  template <class T>
  T get(std::string_view name) const;

  /// The whole row as a tuple or plain aggregate, columns in order.
  template <class T>
  T as() const;

  std::string_view column_name(std::size_t i) const;

  // The Source interface of detail::read_record.
  int column_count() const noexcept { return static_cast<int>(size()); }
  field_view field(int i) const noexcept;

 private:
  friend class rows;
  row(const rows* r, std::size_t index) noexcept : rows_(r), index_(index) {}
  std::size_t column_index(std::string_view name) const;
  [[noreturn]] void throw_failure(const detail::failure& f) const;

  const rows* rows_;
  std::size_t index_;
};

/// The rows of a query, with their column names.
class rows {
 public:
  class iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = row;
    using difference_type = std::ptrdiff_t;
    using reference = row;
    using pointer = void;

    iterator() = default;
    row operator*() const noexcept { return row(rows_, index_); }
    row operator[](difference_type n) const noexcept { return row(rows_, index_ + static_cast<std::size_t>(n)); }
    iterator& operator++() noexcept {
      ++index_;
      return *this;
    }
    iterator operator++(int) noexcept {
      auto t = *this;
      ++index_;
      return t;
    }
    iterator& operator--() noexcept {
      --index_;
      return *this;
    }
    iterator operator--(int) noexcept {
      auto t = *this;
      --index_;
      return t;
    }
    iterator& operator+=(difference_type n) noexcept {
      index_ += static_cast<std::size_t>(n);  // a negative n wraps round to a step back
      return *this;
    }
    iterator& operator-=(difference_type n) noexcept {
      index_ -= static_cast<std::size_t>(n);
      return *this;
    }
    friend iterator operator+(iterator i, difference_type n) noexcept { return i += n; }
    friend iterator operator+(difference_type n, iterator i) noexcept { return i += n; }
    friend iterator operator-(iterator i, difference_type n) noexcept { return i -= n; }
    friend difference_type operator-(iterator a, iterator b) noexcept {
      return static_cast<difference_type>(a.index_) - static_cast<difference_type>(b.index_);
    }
    friend bool operator==(iterator a, iterator b) noexcept { return a.index_ == b.index_; }
    friend auto operator<=>(iterator a, iterator b) noexcept { return a.index_ <=> b.index_; }

   private:
    friend class rows;
    iterator(const rows* r, std::size_t i) noexcept : rows_(r), index_(i) {}
    const rows* rows_ = nullptr;
    std::size_t index_ = 0;
  };

  rows() = default;

  std::size_t size() const noexcept { return columns_.empty() ? 0 : cells_.size() / columns_.size(); }
  bool empty() const noexcept { return cells_.empty(); }
  row operator[](std::size_t i) const noexcept { return row(this, i); }
  /// Throws std::out_of_range past the end.
  row at(std::size_t i) const;
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, size()}; }

  std::size_t column_count() const noexcept { return columns_.size(); }
  std::span<const std::string> column_names() const noexcept { return columns_; }

  /// Every row as T (a single field, tuple or aggregate).
  template <class T>
  std::vector<T> as() const;

 private:
  friend class row;
  friend struct detail::rows_access;
  std::vector<std::string> columns_;
  std::vector<detail::cell> cells_;  // row-major
  std::string bytes_;                // text and blob contents
};

// ---- inline definitions

inline std::size_t row::size() const noexcept { return rows_->columns_.size(); }

inline field_view row::field(int i) const noexcept {
  const detail::cell& c = rows_->cells_[index_ * rows_->columns_.size() + static_cast<std::size_t>(i)];
  switch (c.type) {
    case column_type::integer:
      return field_view::from_integer(c.integer);
    case column_type::real:
      return field_view::from_real(c.real);
    case column_type::text:
      return field_view::from_text({rows_->bytes_.data() + c.offset, c.size});
    case column_type::blob:
      return field_view::from_blob({reinterpret_cast<const std::byte*>(rows_->bytes_.data()) + c.offset, c.size});
    case column_type::null:
      break;
  }
  return {};
}

inline void row::throw_failure(const detail::failure& f) const {
  throw sqlite_error(f.code, diagnostics(f.message, {}));
}

inline field_view row::at(std::size_t i) const {
  if (i >= size()) {
    detail::failure f;
    f.set(make_sqlite_error_code(SQLITE_RANGE),
          "column " + std::to_string(i) + " does not exist: the row has " + std::to_string(size()) + " columns");
    throw_failure(f);
  }
  return field(static_cast<int>(i));
}

inline std::size_t row::column_index(std::string_view name) const {
  for (std::size_t i = 0; i < size(); ++i)
    if (rows_->columns_[i] == name) return i;
  detail::failure f;
  f.set(make_sqlite_error_code(SQLITE_RANGE), "no column named '" + std::string(name) + "'");
  throw_failure(f);
}

inline field_view row::at(std::string_view name) const { return field(static_cast<int>(column_index(name))); }

inline std::string_view row::column_name(std::size_t i) const { return rows_->columns_.at(i); }

template <class T>
T row::get(std::size_t i) const {
  static_assert(detail::field_type<T>, "asiolite: row::get<T> needs a field type (see docs/values.md)");
  static_cast<void>(at(i));  // throws when there is no such column
  T out{};
  detail::failure f;
  if (!detail::read_one_field(*this, static_cast<int>(i), out, f)) throw_failure(f);
  return out;
}

template <class T>
T row::get(std::string_view name) const {
  return get<T>(column_index(name));
}

template <class T>
T row::as() const {
  static_assert(detail::record_type<T>, "asiolite: row::as<T> needs a field type, a tuple or a plain aggregate");
  T out{};
  detail::failure f;
  if (!detail::read_record(*this, out, f)) throw_failure(f);
  return out;
}

inline row rows::at(std::size_t i) const {
  if (i >= size()) throw std::out_of_range("asiolite::rows::at: row index out of range");
  return row(this, i);
}

template <class T>
std::vector<T> rows::as() const {
  std::vector<T> out;
  out.reserve(size());
  for (row r : *this) out.push_back(r.template as<T>());
  return out;
}

}  // namespace asiolite
