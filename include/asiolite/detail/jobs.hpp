// What each asynchronous request does on the worker (see the Job contract in operation.hpp).
#pragma once

#include <asiolite/detail/checks.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/request.hpp>
#include <asiolite/detail/session.hpp>
#include <asiolite/options.hpp>
#include <asiolite/results.hpp>
#include <asiolite/row.hpp>
#include <asiolite/sync_handle.hpp>

#include <optional>
#include <ranges>
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

template <class T>
struct query_one_action {
  using result_type = std::optional<T>;
  template <class... P>
  static result_type run(session& s, statement_source sql, failure& f, const P&... p) {
    return s.template query_one<T>(sql, f, p...);
  }
};

template <class T>
struct query_scalar_action {
  using result_type = T;
  template <class... P>
  static result_type run(session& s, statement_source sql, failure& f, const P&... p) {
    return s.template query_scalar<T>(sql, f, p...);
  }
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
    using refs = decltype(element_fields(std::declval<U&>()));
    return []<class... R>(std::tuple<R...>*) {
      return (std::is_same_v<stored_t<R>, std::remove_cvref_t<R>> && ...);
    }(static_cast<refs*>(nullptr));
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

template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

/// Copies the elements of `range` into the request (moving them from an rvalue vector;
/// an rvalue vector whose elements are already what the request stores is taken whole).
template <class Range>
auto store_elements(Range&& range) {
  using element = std::ranges::range_reference_t<Range>;
  using stored_vector = std::vector<decltype(store_element(std::declval<element>()))>;
  constexpr bool take = !std::is_lvalue_reference_v<Range> && is_std_vector<std::remove_cvref_t<Range>>::value;
  if constexpr (take && std::is_same_v<std::remove_cvref_t<Range>, stored_vector>) {
    return stored_vector(std::move(range));
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
    result_ = std::apply([&](const P&... p) { return Action::run(s, sql_, f, p...); }, params_);
  }
  result_type take_result() { return std::move(result_); }
  std::string_view sql() const noexcept { return sql_; }

 private:
  std::string sql_;
  std::tuple<P...> params_;
  result_type result_{};
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
