// What each asynchronous request does on the worker (see the Job contract in operation.hpp).
#pragma once

#include <asiolite/detail/checks.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/kept_record.hpp>
#include <asiolite/detail/request.hpp>
#include <asiolite/detail/session.hpp>
#include <asiolite/options.hpp>
#include <asiolite/results.hpp>
#include <asiolite/row.hpp>
#include <asiolite/sync_handle.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
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

struct execute_action {
  using result_type = execute_result;
  template <class... P>
  static result_type run(session& s, statement_source sql, failure& f, const P&... p) {
    return s.execute(sql, f, p...);
  }
};

struct query_action {
  using result_type = rows;
  template <class... P>
  static result_type run(session& s, statement_source sql, failure& f, const P&... p) {
    return s.query(sql, f, p...);
  }
};

template <class T>
struct query_as_action {
  using result_type = std::vector<T>;
  template <class... P>
  static result_type run(session& s, statement_source sql, failure& f, const P&... p) {
    return s.template query_as<T>(sql, f, p...);
  }
};

// Where a one-row result waits between the worker and the caller: a row with text or
// blobs is kept in the request and made into T on the caller's thread (see kept_record);
// any other row is read into T on the worker, which allocates nothing.
template <class T>
struct one_row {
  using type = direct_row<T>;
};
template <keeps_views T>
struct one_row<T> {
  using type = kept_record<T>;
};

template <class T>
struct query_one_action {
  using result_type = std::optional<T>;
  using kept_type = typename one_row<T>::type;
  template <class... P>
  static void run_kept(session& s, statement_source sql, failure& f, kept_type& kept, const P&... p) {
    s.query_one_into(sql, f, kept, p...);
  }
  static result_type take(kept_type& kept, const failure& f) { return take_one_row(kept, f); }
};

template <class T>
struct query_scalar_action {
  using result_type = T;
  using kept_type = typename one_row<T>::type;
  template <class... P>
  static void run_kept(session& s, statement_source sql, failure& f, kept_type& kept, const P&... p) {
    s.template query_scalar_into<T>(sql, f, kept, p...);
  }
  static result_type take(kept_type& kept, const failure& f) { return take_one_row(kept, f).value_or(T{}); }
};

/// Where a statement job keeps its action's outcome from the worker to the caller: the
/// result itself, or what the action keeps to make it from on the caller's thread.
template <class Action>
class action_outcome {
 public:
  using result_type = typename Action::result_type;
  template <class... P>
  void run(session& s, statement_source sql, failure& f, const P&... p) {
    result_ = Action::run(s, sql, f, p...);
  }
  result_type take(const failure&) { return std::move(result_); }

 private:
  result_type result_{};
};

template <class Action>
requires requires { typename Action::kept_type; }
class action_outcome<Action> {
 public:
  using result_type = typename Action::result_type;
  template <class... P>
  void run(session& s, statement_source sql, failure& f, const P&... p) {
    Action::run_kept(s, sql, f, kept_, p...);
  }
  result_type take(const failure& f) { return Action::take(kept_, f); }

 private:
  typename Action::kept_type kept_;
};

/// What async_query<T> runs: rows as they come, or each row read into T.
template <class T>
using query_action_t = std::conditional_t<std::is_same_v<T, rows>, query_action, query_as_action<T>>;

/// The request's own copies of a statement's arguments.
template <class... Args>
std::tuple<stored_t<Args>...> store_all(std::tuple<Args...>&& args) {
  check_bindable<Args...>();
  return std::apply([](auto&&... a) { return std::tuple(store(std::forward<decltype(a)>(a))...); }, std::move(args));
}

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
    std::apply([&](const auto&... f) { new (r.first + r.count) element(pack_field(arena_, f)...); },
               element_fields(e));
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

/// The statement once per element: P is the request's own copy of the elements.
struct execute_many_action {
  using result_type = execute_many_result;
  template <class Elements>
  static result_type run(session& s, statement_source sql, failure& f, const Elements& elements) {
    return s.execute_many(sql, f, elements);
  }
};

/// One statement with its own copies of the SQL text and the arguments.
template <class Action, class... P>
class statement_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = typename Action::result_type;

  statement_job(std::string sql, std::tuple<P...> params) : sql_(std::move(sql)), params_(std::move(params)) {}

  void operator()(session& s, failure& f) {
    std::apply([&](const P&... p) { outcome_.run(s, sql_, f, p...); }, params_);
  }
  result_type take_result(const failure& f) { return outcome_.take(f); }
  std::string_view sql() const noexcept { return sql_; }

 private:
  std::string sql_;
  std::tuple<P...> params_;
  action_outcome<Action> outcome_;
};

class script_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = void;

  explicit script_job(std::string sql) : sql_(std::move(sql)) {}
  void operator()(session& s, failure& f) { s.execute_script(sql_, f); }
  std::string_view sql() const noexcept { return sql_; }

 private:
  std::string sql_;
};

/// Runs user code on the worker: fn(sync_handle&).
template <class Fn>
class call_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  // A reference into the worker's data would dangle: the result is a copy.
  using result_type = std::remove_cvref_t<std::invoke_result_t<Fn&, sync_handle&>>;
  // Asio passes a value with every completion, failed ones too (as co_spawn does).
  static_assert(std::is_void_v<result_type> || std::is_default_constructible_v<result_type>,
                "asiolite: async_call's callable must return void or a default-constructible type");

  explicit call_job(Fn fn) : fn_(std::move(fn)) {}

  void operator()(session& s, failure&) {
    sync_handle handle(s);
    if constexpr (std::is_void_v<result_type>)
      fn_(handle);
    else
      result_.emplace(fn_(handle));
  }
  result_type take_result() {
    if constexpr (!std::is_void_v<result_type>) return result_ ? std::move(*result_) : result_type{};
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  struct nothing {};
  Fn fn_;
  [[no_unique_address]] std::conditional_t<std::is_void_v<result_type>, nothing, std::optional<result_type>> result_;
};

class open_job {
 public:
  static constexpr request_kind kind = request_kind::open;
  using result_type = void;

  open_job(std::string path, options opts) : path_(std::move(path)), options_(std::move(opts)) {}

  void operator()(session& s, failure& f) {
    if (!s.open(path_, options_, f) || !options_.on_open) return;
    try {
      sync_handle handle(s);
      options_.on_open(handle);
    } catch (...) {
      f.set_current_exception();
      s.close();
    }
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  std::string path_;
  options options_;
};

/// An open that also delivers the connection it opened (closed again if it failed).
template <class Connection>
class open_new_job : public open_job {
 public:
  using result_type = Connection;

  open_new_job(std::string path, options opts, Connection conn)
      : open_job(std::move(path), std::move(opts)), conn_(std::move(conn)) {}
  Connection take_result() { return std::move(conn_); }

 private:
  Connection conn_;
};

class close_job {
 public:
  static constexpr request_kind kind = request_kind::close;
  using result_type = void;

  void operator()(session& s, failure&) noexcept { s.close(); }
  std::string_view sql() const noexcept { return {}; }
};

}  // namespace asiolite::detail
