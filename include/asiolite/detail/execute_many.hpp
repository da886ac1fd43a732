// execute_many: one statement run once per element of a range, all or nothing, in one
// request. What an element may be, how a request keeps its own copy of the elements, and
// how the worker runs them.
#pragma once

#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/record.hpp>
#include <asiolite/detail/reflect.hpp>
#include <asiolite/detail/database.hpp>
#include <asiolite/results.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace asiolite::detail {

// ---- what an element is

template <class T>
concept tuple_like = requires {
  std::tuple_size<std::remove_cvref_t<T>>::value;
};

/// The fields an element of execute_many binds, as a tuple of references: a tuple's (or
/// pair's, array's) elements, an aggregate's members, or the element itself.
template <class E>
auto element_fields(E& e) noexcept {
  if constexpr (bindable<E>)
    return std::tie(e);
  else if constexpr (tuple_like<E>)
    return std::apply([](auto&... f) { return std::tie(f...); }, e);
  else
    return tie_fields(e);
}

/// What element_fields gives for an element of type E: a std::tuple of references.
template <class E>
using element_refs_t = decltype(element_fields(std::declval<std::remove_cvref_t<E>&>()));

template <class E>
constexpr bool element_binds() {
  using U = std::remove_cvref_t<E>;
  if constexpr (bindable<U>) {
    return true;
  } else if constexpr (tuple_like<U> || aggregate_record<U>) {
    return []<class... R>(std::tuple<R...>*) { return (bindable<R> && ...); }(static_cast<element_refs_t<U>*>(nullptr));
  } else {
    return false;
  }
}

/// E can be an element of execute_many: one value, or a tuple or aggregate of values.
template <class E>
concept many_element = element_binds<E>();

/// Range is something execute_many can take.
template <class Range>
constexpr void check_many_range() {
  static_assert(std::ranges::input_range<Range>, "asiolite: execute_many needs a range of elements");
  static_assert(many_element<std::ranges::range_reference_t<Range>>,
                "asiolite: execute_many's elements must be tuples or plain aggregates of bindable values, or "
                "bindable values (see docs/values.md)");
}

// ---- the request's own copy of the elements

/// An element of execute_many whose fields are already what a request stores (an owned
/// string, an integer, ...): the request can keep it as it is.
template <class E>
constexpr bool stores_as_is() {
  using U = std::remove_cvref_t<E>;
  if constexpr (bindable<U>) {
    return std::is_same_v<stored_t<U>, U>;
  } else {
    return []<class... R>(std::tuple<R...>*) {
      return (std::is_same_v<stored_t<R>, std::remove_cvref_t<R>> && ...);
    }(static_cast<element_refs_t<U>*>(nullptr));
  }
}

/// The request's own copy of one element of execute_many: the element itself when it
/// stores as is, else one stored value or a tuple of them. (Elements of an rvalue
/// std::vector are moved from.)
template <class E>
auto store_element(E&& e) {
  using U = std::remove_cvref_t<E>;
  if constexpr (stores_as_is<U>()) {
    return U(std::forward<E>(e));
  } else if constexpr (bindable<U>) {
    return store(std::forward<E>(e));
  } else {
    auto& fields_of = e;
    return std::apply(
        [](auto&... f) {
          using stored_tuple = std::tuple<stored_t<decltype(f)>...>;
          if constexpr (std::is_lvalue_reference_v<E>)
            return stored_tuple(store(f)...);
          else
            return stored_tuple(store(std::move(f))...);
        },
        element_fields(fields_of));
  }
}

/// Memory for execute_many's packed elements and the bytes they view, in blocks that never
/// move: one allocation per block instead of one per value, and each element lies next to
/// its bytes, in order, for the worker to read.
class byte_arena {
 public:
  /// `size` bytes aligned to `align` (at most the alignment of new), valid as long as the
  /// arena (moves included).
  std::byte* allocate(std::size_t size, std::size_t align) {
    if (size > block_size / 4) return add_block(size);  // a block of its own; the current one goes on
    std::size_t pad = (align - reinterpret_cast<std::uintptr_t>(next_) % align) % align;
    if (pad + size > free_) {
      next_ = add_block(block_size);
      free_ = block_size;
      pad = 0;
    }
    std::byte* p = next_ + pad;
    next_ = p + size;
    free_ -= pad + size;
    return p;
  }

  /// A copy of `bytes`.
  std::span<const std::byte> copy(std::span<const std::byte> bytes) {
    if (bytes.empty()) return {};
    std::byte* to = allocate(bytes.size(), 1);
    std::memcpy(to, bytes.data(), bytes.size());
    return {to, bytes.size()};
  }

 private:
  static constexpr std::size_t block_size = 64 * 1024;

  std::byte* add_block(std::size_t size) {
    blocks_.reserve(blocks_.size() + 1);  // so that push_back cannot throw with the block in hand
    blocks_.push_back(std::make_unique_for_overwrite<std::byte[]>(size));
    return blocks_.back().get();
  }

  std::vector<std::unique_ptr<std::byte[]>> blocks_;
  std::byte* next_ = nullptr;
  std::size_t free_ = 0;
};

/// What a field becomes in a packed element: text and blobs as views into the arena
/// (nullable where the field is: a `const char*` or an optional), the rest as stored.
template <class T>
struct packed {
  using type = stored_t<T>;
};
template <text_arg T>
struct packed<T> {
  using type = std::conditional_t<std::is_pointer_v<T>, std::optional<std::string_view>, std::string_view>;
};
template <blob_arg T>
struct packed<T> {
  using type = blob_view;
};
template <class T>
struct packed<std::optional<T>> {
  using type = std::optional<typename packed<T>::type>;
};
template <class T>
using packed_t = typename packed<std::remove_cvref_t<T>>::type;

template <class T>
constexpr bool has_bytes_v = text_arg<T> || blob_arg<T>;
template <class T>
constexpr bool has_bytes_v<std::optional<T>> = has_bytes_v<T>;

/// An element whose text or blob fields are worth packing: it has some, and no named
/// arguments (which keep their own copies).
template <class E>
constexpr bool packs() {
  return []<class... R>(std::tuple<R...>*) {
    return (has_bytes_v<std::remove_cvref_t<R>> || ...) && !(is_named_v<std::remove_cvref_t<R>> || ...);
  }(static_cast<element_refs_t<E>*>(nullptr));
}

template <class T>
packed_t<T> pack_field(byte_arena& arena, const T& v) {
  using U = std::remove_cvref_t<T>;
  if constexpr (is_optional_v<U>) {
    if (!v) return std::nullopt;
    return pack_field(arena, *v);
  } else if constexpr (text_arg<U>) {
    if constexpr (std::is_pointer_v<U>)
      if (v == nullptr) return std::nullopt;
    const std::string_view text = as_text(v);
    const auto bytes = arena.copy(std::as_bytes(std::span(text.data(), text.size())));
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  } else if constexpr (blob_arg<U>) {
    return arena.copy(std::as_bytes(std::span(v)));
  } else {
    return store(v);
  }
}

/// execute_many's elements as the request keeps them when they carry text or blobs: each
/// element a tuple of its fields, text and blobs as views; elements and bytes all in one
/// arena (elements in runs of a few kilobytes, each followed by the bytes its elements copied).
template <class... F>
class packed_elements {
 public:
  using element = std::tuple<F...>;
  // Nothing to destroy: views and plain values.
  static_assert(std::is_trivially_destructible_v<element>);
  static_assert(alignof(element) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

 private:
  // Consecutive elements in one piece of the arena.
  struct run {
    element* first;
    std::size_t count;
  };

 public:
  class iterator {
   public:
    using value_type = element;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    const element& operator*() const noexcept { return run_->first[i_]; }
    iterator& operator++() noexcept {
      if (++i_ == run_->count) {
        ++run_;
        i_ = 0;
      }
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const iterator&) const = default;

   private:
    friend class packed_elements;
    iterator(const run* r, std::size_t i) noexcept : run_(r), i_(i) {}
    const run* run_ = nullptr;
    std::size_t i_ = 0;
  };

  packed_elements() = default;
  packed_elements(packed_elements&&) noexcept = default;
  packed_elements& operator=(packed_elements&&) noexcept = default;
  // A copy gets its own arena (the views would point into the other one).
  packed_elements(const packed_elements& o) {
    for (const element& e : o) push(e);
  }
  packed_elements& operator=(const packed_elements&) = delete;

  void reserve(std::size_t n) { runs_.reserve(n / run_size + 1); }

  template <class E>
  void push(const E& e) {
    if (runs_.empty() || runs_.back().count == run_size) {
      runs_.reserve(runs_.size() + 1);  // so that push_back cannot throw once the memory is taken
      runs_.push_back({reinterpret_cast<element*>(arena_.allocate(run_size * sizeof(element), alignof(element))), 0});
    }
    run& r = runs_.back();
    std::apply([&](const auto&... f) { new (r.first + r.count) element(pack_field(arena_, f)...); }, element_fields(e));
    ++r.count;
  }

  iterator begin() const noexcept { return {runs_.data(), 0}; }
  iterator end() const noexcept { return {runs_.data() + runs_.size(), 0}; }

 private:
  // Elements per run: a few kilobytes, well inside one of the arena's blocks.
  static constexpr std::size_t run_size = std::max<std::size_t>(1, 4096 / sizeof(element));

  std::vector<run> runs_;
  byte_arena arena_;
};

template <class Refs>
struct packed_for;
template <class... R>
struct packed_for<std::tuple<R...>> {
  using type = packed_elements<packed_t<R>...>;
};
/// The packed form of a range whose elements are E.
template <class E>
using packed_elements_for = typename packed_for<element_refs_t<E>>::type;

template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

/// Copies the elements of `range` into the request: an rvalue vector whose elements are
/// already what the request stores is taken whole; elements with text or blobs are packed
/// (their bytes copied into one arena); the rest are copied one by one (moved from an
/// rvalue vector).
template <class Range>
auto store_elements(Range&& range) {
  using element = std::ranges::range_reference_t<Range>;
  using stored_vector = std::vector<decltype(store_element(std::declval<element>()))>;
  constexpr bool take = !std::is_lvalue_reference_v<Range> && is_std_vector<std::remove_cvref_t<Range>>::value;
  if constexpr (take && std::is_same_v<std::remove_cvref_t<Range>, stored_vector>) {
    return stored_vector(std::move(range));
  } else if constexpr (packs<element>()) {
    packed_elements_for<element> out;
    if constexpr (std::ranges::sized_range<Range>) out.reserve(static_cast<std::size_t>(std::ranges::size(range)));
    for (auto&& e : range) out.push(e);
    return out;
  } else {
    stored_vector out;
    if constexpr (std::ranges::sized_range<Range>) out.reserve(static_cast<std::size_t>(std::ranges::size(range)));
    for (auto&& e : range) {
      if constexpr (take)
        out.push_back(store_element(std::move(e)));
      else
        out.push_back(store_element(std::as_const(e)));
    }
    return out;
  }
}

// ---- running them, on the worker

struct execute_many_run {
  /// Runs one statement once per element of `elements` (one value, or a tuple or aggregate
  /// of values, bound positionally), all or nothing: inside a savepoint that a failure
  /// rolls back. A failure names the element, in the message and in failed_element.
  template <class Range>
  static execute_many_result run(database& s, statement_source sql, failure& f, Range&& elements) {
    execute_many_result out;
    auto stmt = s.acquire(sql, f);
    if (!stmt) return out;
    auto it = std::ranges::begin(elements);
    const auto end = std::ranges::end(elements);
    if (it != end) {
      const bool own_transaction = sqlite3_get_autocommit(s.db_) != 0;
      if (!s.exec(savepoint_begin, f)) return out;
      for (; it != end; ++it, ++out.elements) {
        const std::int64_t before = total_changes(s.db_);
        // Checked between elements too: a short statement may end before the progress handler runs.
        auto&& element = *it;  // a range may make its elements as it goes
        const bool ok =
            !s.interrupted(f) &&
            std::apply([&](const auto&... v) { return bind_all(stmt.get(), f, v...); }, element_fields(element)) &&
            s.step_to_end(stmt.get(), f);
        sqlite3_reset(stmt.get());
        if (!ok) {
          out.failed_element = out.elements;
          undo(s, out, own_transaction, f, "element " + std::to_string(out.elements) + ": ");
          return out;
        }
        if (total_changes(s.db_) != before) out.changes += changes(s.db_);
      }
      if (!s.exec(savepoint_release, f)) {
        undo(s, out, own_transaction, f, "could not commit: ");
        return out;
      }
    }
    out.last_insert_rowid = sqlite3_last_insert_rowid(s.db_);
    out.total_changes = total_changes(s.db_);
    return out;
  }

 private:
  static constexpr const char* savepoint_begin = "SAVEPOINT asiolite_execute_many";
  static constexpr const char* savepoint_release = "RELEASE asiolite_execute_many";

  // execute_many failed: undoes every element, unless SQLite has already rolled the whole
  // transaction back (it does on some errors). The undo runs even for a cancelled request,
  // whose interrupt flag is still set.
  static void undo(database& s, execute_many_result& out, bool own_transaction, failure& f, const std::string& prefix) {
    f.message = prefix + f.message + " (no element was applied)";
    if (own_transaction)
      s.roll_back_own_transaction();
    else if (s.in_transaction())
      s.undo("ROLLBACK TO asiolite_execute_many; RELEASE asiolite_execute_many");
    out.changes = 0;
    out.last_insert_rowid = sqlite3_last_insert_rowid(s.db_);
    out.total_changes = total_changes(s.db_);
  }
};

/// The statement once per element: P is the request's own copy of the elements.
struct execute_many_form {
  using result_type = execute_many_result;
  static constexpr bool groupable = true;  // a write group commit may batch (request::groupable)
  template <class Elements>
  static result_type run(database& s, statement_source sql, failure& f, const Elements& elements) {
    return execute_many_run::run(s, sql, f, elements);
  }
};

}  // namespace asiolite::detail
