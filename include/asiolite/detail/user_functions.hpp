// User-defined SQL functions and collations on the worker: the callable's parameters read
// from sqlite3_values by the decoding rules (convert.hpp, as a column is read), its result
// written by the binding rules (bind.hpp, as a parameter is bound), and what SQLite calls
// back. Worker thread only.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/convert.hpp>
#include <asiolite/detail/database.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/request.hpp>
#include <asiolite/detail/sqlite.hpp>
#include <asiolite/detail/sqlite_value.hpp>
#include <asiolite/detail/utf8.hpp>
#include <asiolite/error.hpp>
#include <asiolite/functions.hpp>

#include <algorithm>
#include <cmath>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace asiolite::detail {

// ---- what a callable takes and returns

// The parameters and result of a callable with one call operator that is not a template
// (a lambda without auto parameters, a function object) or of a function pointer.
template <class F>
struct callable_signature : callable_signature<decltype(&F::operator())> {};
template <class R, class... A>
struct callable_signature<R (*)(A...)> {
  using result = R;
  using args = std::tuple<A...>;
};
template <class R, class... A>
struct callable_signature<R (*)(A...) noexcept> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...)> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...) const> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...) noexcept> : callable_signature<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_signature<R (C::*)(A...) const noexcept> : callable_signature<R (*)(A...)> {};

template <class F>
concept has_callable_signature = requires {
  typename callable_signature<F>::args;
};

template <class Args>
struct function_parameters;
template <class... A>
struct function_parameters<std::tuple<A...>> {
  // One parameter of type function_args: any number of arguments.
  static constexpr bool variadic = sizeof...(A) == 1 && (std::is_same_v<std::remove_cvref_t<A>, function_args> && ...);
  // Otherwise each is read as a column is: a field type, by value or const reference.
  static constexpr bool readable = ((field_type<std::remove_cvref_t<A>> &&
                                     (!std::is_reference_v<A> || std::is_const_v<std::remove_reference_t<A>>)) &&
                                    ...);
  static constexpr int count = variadic ? -1 : static_cast<int>(sizeof...(A));
  using values = std::tuple<std::remove_cvref_t<A>...>;
};

/// R can be a user function's result: void (NULL), or anything that binds as a parameter,
/// or a field_view.
template <class R>
concept function_result = std::is_void_v<R> || bindable<R> || std::is_same_v<std::remove_cvref_t<R>, field_view>;

template <class Fn>
constexpr void check_function() {
  static_assert(has_callable_signature<Fn>,
                "asiolite: a user function must be a function pointer or a callable with one call operator that is "
                "not a template (a lambda without auto parameters)");
  if constexpr (has_callable_signature<Fn>) {
    using params = function_parameters<typename callable_signature<Fn>::args>;
    static_assert(params::variadic || params::readable,
                  "asiolite: a user function's parameters must be field types (int64_t, double, std::string_view, "
                  "std::string, blob_view, field_view, std::optional<...>, ...) taken by value or const reference, "
                  "or one asiolite::function_args for any number of arguments");
    static_assert(function_result<typename callable_signature<Fn>::result>,
                  "asiolite: a user function must return void or a value that binds as a parameter "
                  "(integer, double, text, blob, std::optional<...>, std::nullopt) or a field_view");
  }
}

// ---- results

inline void result_error(sqlite3_context* ctx, std::string_view name, std::string_view what) noexcept {
  try {
    std::string message(name);
    message += "(): ";
    message += what;
    sqlite3_result_error(ctx, message.c_str(), static_cast<int>(std::min<std::size_t>(message.size(), INT32_MAX)));
  } catch (...) {
    sqlite3_result_error_nomem(ctx);
  }
}

inline void result_text(sqlite3_context* ctx, std::string_view name, std::string_view text) {
  if (!is_valid_utf8(text)) return result_error(ctx, name, "the result is not valid UTF-8 text (return it as a blob)");
  sqlite3_result_text64(ctx, text.data() ? text.data() : "", text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

inline void result_blob(sqlite3_context* ctx, blob_view bytes) {
  // A zero-length blob with a null pointer would be NULL; keep it an empty blob.
  if (bytes.empty()) return sqlite3_result_zeroblob(ctx, 0);
  sqlite3_result_blob64(ctx, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
}

/// Sets the function's result to `v` by the binding rules (a value that would not bind
/// fails the call with the same reason).
template <class T>
void set_result(sqlite3_context* ctx, std::string_view name, const T& v) {
  if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::nullopt_t>) {
    sqlite3_result_null(ctx);
  } else if constexpr (is_optional_v<T>) {
    if (!v) return sqlite3_result_null(ctx);
    set_result(ctx, name, *v);
  } else if constexpr (std::is_same_v<T, field_view>) {
    switch (v.type()) {
      case column_type::integer:
        return sqlite3_result_int64(ctx, v.integer());
      case column_type::real:
        return sqlite3_result_double(ctx, v.real());
      case column_type::text:
        return result_text(ctx, name, v.text());
      case column_type::blob:
        return result_blob(ctx, v.bytes());
      default:
        return sqlite3_result_null(ctx);
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    sqlite3_result_int(ctx, v ? 1 : 0);
  } else if constexpr (integer_value<T>) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return result_error(ctx, name,
                            "the result (" + std::to_string(v) + ") does not fit SQLite's 64-bit signed INTEGER");
    }
    sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(v)) return result_error(ctx, name, "the result is NaN, which SQLite would store as NULL");
    sqlite3_result_double(ctx, static_cast<double>(v));
  } else if constexpr (text_arg<T>) {
    if constexpr (std::is_pointer_v<T>)
      if (v == nullptr) return sqlite3_result_null(ctx);
    result_text(ctx, name, as_text(v));
  } else {
    static_assert(blob_arg<T>);
    result_blob(ctx, std::as_bytes(std::span(v)));
  }
}

// ---- calling user code from SQLite's callbacks

/// Runs `body`, turning what it throws into the calling statement's error (SQLite's
/// callbacks must not throw).
template <class Body>
void guarded(sqlite3_context* ctx, std::string_view name, Body&& body) noexcept {
  try {
    body();
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(ctx);
  } catch (const sqlite_error& e) {
    result_error(ctx, name,
                 e.get_diagnostics().message().empty() ? std::string_view(e.what()) : e.get_diagnostics().message());
  } catch (const std::exception& e) {
    result_error(ctx, name, e.what());
  } catch (...) {
    result_error(ctx, name, "threw an exception that is not a std::exception");
  }
}

/// Calls `fn` with the arguments read as Params says (or one function_args); an argument
/// that does not convert fails the call instead, naming it.
template <class Params, class Fn>
void call_with_arguments(sqlite3_context* ctx, std::string_view name, int argc, sqlite3_value** argv, Fn&& fn) {
  if constexpr (Params::variadic) {
    fn(function_args(argc, argv));
  } else {
    typename Params::values values;
    error_code ec;
    std::size_t bad = 0;
    std::string_view type;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      // SQLite checks the count (it was registered with it): each argument is there.
      (void)((ec = read_field(value_of(argv[I]), std::get<I>(values)),
              ec ? (bad = I + 1, type = type_name<std::tuple_element_t<I, typename Params::values>>(), false) : true) &&
             ...);
    }
    (std::make_index_sequence<std::tuple_size_v<typename Params::values>>());
    if (ec) return result_error(ctx, name, argument_failure(bad, type, ec));
    std::apply(fn, std::move(values));
  }
}

/// Sets the result to what `call` returns (void: NULL).
template <class Call>
void set_call_result(sqlite3_context* ctx, std::string_view name, Call&& call) {
  if constexpr (std::is_void_v<decltype(call())>) {
    call();
    sqlite3_result_null(ctx);
  } else {
    const auto& r = call();  // a temporary lives as long as this reference
    set_result(ctx, name, r);
  }
}

// ---- scalar functions

/// What SQLite holds for one registered function: the callable and its name (for messages).
template <class Fn>
class scalar_function {
 public:
  using params = function_parameters<typename callable_signature<Fn>::args>;

  scalar_function(Fn fn, std::string name) : fn_(std::move(fn)), name_(std::move(name)) {}

  const std::string& name() const noexcept { return name_; }

  static void call(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
    auto& self = *static_cast<scalar_function*>(sqlite3_user_data(ctx));
    guarded(ctx, self.name_, [&] {
      call_with_arguments<params>(ctx, self.name_, argc, argv, [&](auto&&... args) {
        set_call_result(ctx, self.name_,
                        [&]() -> decltype(auto) { return self.fn_(std::forward<decltype(args)>(args)...); });
      });
    });
  }

  static void destroy(void* self) noexcept { delete static_cast<scalar_function*>(self); }

 private:
  Fn fn_;
  std::string name_;
};

// ---- aggregate and window functions

template <class State>
concept aggregate_window = requires(State& s) {
  &State::inverse;
  s.value();
};

/// What SQLite holds for one aggregate function: a factory making the state of each group
/// (or window), and the name. The state lives in SQLite's aggregate context as a pointer,
/// made on a group's first row and destroyed by xFinal, which SQLite calls for every
/// group it started, also when the statement fails or is interrupted.
template <class Factory>
class aggregate_function {
 public:
  using state = std::invoke_result_t<Factory&>;
  using step_params = function_parameters<typename callable_signature<decltype(&state::step)>::args>;
  static constexpr bool window = aggregate_window<state>;

  aggregate_function(Factory make, std::string name) : make_(std::move(make)), name_(std::move(name)) {}

  const std::string& name() const noexcept { return name_; }

  static void step(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
    auto& self = of(ctx);
    guarded(ctx, self.name_, [&] {
      if (state* s = self.state_of(ctx))
        call_with_arguments<step_params>(ctx, self.name_, argc, argv,
                                         [&](auto&&... a) { s->step(std::forward<decltype(a)>(a)...); });
    });
  }

  static void inverse(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
    auto& self = of(ctx);
    guarded(ctx, self.name_, [&] {
      if (state* s = self.state_of(ctx))
        call_with_arguments<step_params>(ctx, self.name_, argc, argv,
                                         [&](auto&&... a) { s->inverse(std::forward<decltype(a)>(a)...); });
    });
  }

  static void value(sqlite3_context* ctx) noexcept {
    auto& self = of(ctx);
    guarded(ctx, self.name_, [&] {
      if (state* s = self.state_of(ctx))
        set_call_result(ctx, self.name_, [&]() -> decltype(auto) { return s->value(); });
    });
  }

  static void final(sqlite3_context* ctx) noexcept {
    auto& self = of(ctx);
    // Taken out of SQLite's context first: destroyed here whatever happens below.
    auto* slot = static_cast<state**>(sqlite3_aggregate_context(ctx, 0));
    std::unique_ptr<state> owned(slot ? std::exchange(*slot, nullptr) : nullptr);
    guarded(ctx, self.name_, [&] {
      if (!owned) owned = std::make_unique<state>(self.make_());  // a group without rows
      set_call_result(ctx, self.name_, [&]() -> decltype(auto) { return owned->finalize(); });
    });
  }

  static void destroy(void* self) noexcept { delete static_cast<aggregate_function*>(self); }

 private:
  static aggregate_function& of(sqlite3_context* ctx) noexcept {
    return *static_cast<aggregate_function*>(sqlite3_user_data(ctx));
  }

  // This group's state, made on its first row; null (with SQLite's out-of-memory error
  // set) if SQLite has no memory for the context.
  state* state_of(sqlite3_context* ctx) {
    auto* slot = static_cast<state**>(sqlite3_aggregate_context(ctx, static_cast<int>(sizeof(state*))));
    if (!slot) {
      sqlite3_result_error_nomem(ctx);
      return nullptr;
    }
    if (!*slot) *slot = new state(make_());
    return *slot;
  }

  Factory make_;
  std::string name_;
};

inline int function_text_rep(function_flags flags) noexcept {
  int rep = SQLITE_UTF8;
  if (has_flag(flags, function_flags::deterministic)) rep |= SQLITE_DETERMINISTIC;
  if (has_flag(flags, function_flags::innocuous)) rep |= SQLITE_INNOCUOUS;
  if (has_flag(flags, function_flags::direct_only)) rep |= SQLITE_DIRECTONLY;
  return rep;
}

/// SQLite's answer to registering the function `name`: false, with `f` set, if it refused.
inline bool registered(sqlite3* db, int rc, std::string_view name, failure& f) {
  if (rc == SQLITE_OK) return true;
  f.set(make_sqlite_error_code(rc),
        "could not register the function " + std::string(name) + "(): " + sqlite3_errmsg(db));
  return false;
}

/// Registers `fn` as the SQL function `name` (replacing one of the same name and number
/// of arguments). False, with `f` set, if SQLite refuses.
template <class Fn>
bool create_function(sqlite3* db, std::string_view name, Fn fn, function_flags flags, failure& f) {
  check_function<Fn>();
  using holder = scalar_function<Fn>;
  if (!check_no_nul(name, "the function's name", f)) return false;
  auto h = std::make_unique<holder>(std::move(fn), std::string(name));
  const char* const c_name = h->name().c_str();
  // SQLite owns the holder from here on, failure or not: it calls destroy either way.
  const int rc = sqlite3_create_function_v2(db, c_name, holder::params::count, function_text_rep(flags), h.release(),
                                            &holder::call, nullptr, nullptr, &holder::destroy);
  return registered(db, rc, name, f);
}

template <class Factory>
constexpr void check_aggregate() {
  static_assert(std::is_invocable_v<Factory&>,
                "asiolite: an aggregate function is given as a factory: a callable taking no argument that returns "
                "the state of one group, e.g. [] { return my_sum{}; }");
  if constexpr (std::is_invocable_v<Factory&>) {
    using state = std::invoke_result_t<Factory&>;
    static_assert(std::is_class_v<state> && std::is_move_constructible_v<state>,
                  "asiolite: an aggregate's factory must return its state by value: a class with step() and "
                  "finalize() members");
    if constexpr (std::is_class_v<state>) {
      constexpr bool has_step = requires { &state::step; };
      static_assert(has_step,
                    "asiolite: an aggregate's state needs one member function step(...) (not overloaded, not a "
                    "template) taking field types, or one asiolite::function_args");
      if constexpr (has_step) {
        using params = function_parameters<typename callable_signature<decltype(&state::step)>::args>;
        static_assert(params::variadic || params::readable,
                      "asiolite: step()'s parameters must be field types taken by value or const reference, or one "
                      "asiolite::function_args");
      }
      constexpr bool has_finalize = requires(state & s) { s.finalize(); };
      static_assert(has_finalize, "asiolite: an aggregate's state needs finalize(), returning the group's result");
      if constexpr (has_finalize)
        static_assert(function_result<decltype(std::declval<state&>().finalize())>,
                      "asiolite: finalize() must return void or a value that binds as a parameter, or a field_view");
      if constexpr (requires { &state::inverse; }) {
        static_assert(std::is_same_v<typename callable_signature<decltype(&state::inverse)>::args,
                                     typename callable_signature<decltype(&state::step)>::args>,
                      "asiolite: a window function's inverse(...) takes the parameters step(...) takes");
        constexpr bool has_value = requires(state & s) { s.value(); };
        static_assert(has_value,
                      "asiolite: a window function's state has inverse(...) and value() (the current "
                      "result), or neither");
        if constexpr (has_value)
          static_assert(function_result<decltype(std::declval<state&>().value())>,
                        "asiolite: value() must return void or a value that binds as a parameter, or a field_view");
      }
    }
  }
}

/// Registers the aggregate function `name`, each group's state made by `make` (a window
/// function when the state has inverse() and value()). False, with `f` set, if SQLite
/// refuses.
template <class Factory>
bool create_aggregate(sqlite3* db, std::string_view name, Factory make, function_flags flags, failure& f) {
  check_aggregate<Factory>();
  using holder = aggregate_function<Factory>;
  if (!check_no_nul(name, "the function's name", f)) return false;
  auto h = std::make_unique<holder>(std::move(make), std::string(name));
  const char* const c_name = h->name().c_str();
  const int count = holder::step_params::count;
  const int rep = function_text_rep(flags);
  // As for a scalar function, SQLite owns the holder from here on, failure or not.
  int rc;
  if constexpr (holder::window)
    rc = sqlite3_create_window_function(db, c_name, count, rep, h.release(), &holder::step, &holder::final,
                                        &holder::value, &holder::inverse, &holder::destroy);
  else
    rc = sqlite3_create_function_v2(db, c_name, count, rep, h.release(), nullptr, &holder::step, &holder::final,
                                    &holder::destroy);
  return registered(db, rc, name, f);
}

/// Removes the SQL function `name` taking `arg_count` arguments (-1: the variadic one).
inline bool remove_function(sqlite3* db, std::string_view name, int arg_count, failure& f) {
  if (!check_no_nul(name, "the function's name", f)) return false;
  const std::string c_name(name);
  const int rc = sqlite3_create_function_v2(db, c_name.c_str(), arg_count, SQLITE_UTF8, nullptr, nullptr, nullptr,
                                            nullptr, nullptr);
  if (rc == SQLITE_OK) return true;
  f.set(make_sqlite_error_code(rc), "could not remove the function " + c_name + "(): " + sqlite3_errmsg(db));
  return false;
}

// ---- collations

template <class Cmp>
concept collation_compare =
    std::is_invocable_v<Cmp&, std::string_view, std::string_view> &&
    !std::is_same_v<std::remove_cvref_t<std::invoke_result_t<Cmp&, std::string_view, std::string_view>>, bool> &&
    requires(std::invoke_result_t<Cmp&, std::string_view, std::string_view> r) {
  { r < 0 } -> std::convertible_to<bool>;
  { r > 0 } -> std::convertible_to<bool>;
};

template <class Cmp>
class collation {
 public:
  explicit collation(Cmp cmp) : cmp_(std::move(cmp)) {}

  // A comparison cannot fail in SQLite: one that throws compares equal (see
  // sync_handle::create_collation).
  static int compare(void* self, int na, const void* a, int nb, const void* b) noexcept {
    try {
      const auto r = static_cast<collation*>(self)->cmp_(
          std::string_view(static_cast<const char*>(a), static_cast<std::size_t>(na)),
          std::string_view(static_cast<const char*>(b), static_cast<std::size_t>(nb)));
      return r < 0 ? -1 : r > 0 ? 1 : 0;
    } catch (...) {
      return 0;
    }
  }

  static void destroy(void* self) noexcept { delete static_cast<collation*>(self); }

 private:
  Cmp cmp_;
};

template <class Cmp>
constexpr void check_collation() {
  static_assert(collation_compare<Cmp>,
                "asiolite: a collation compares two std::string_view and returns an integer (< 0, 0, > 0) or the "
                "result of <=>; not a bool");
}

/// Registers `cmp` as the collation `name` (replacing one of that name).
template <class Cmp>
bool create_collation(sqlite3* db, std::string_view name, Cmp cmp, failure& f) {
  check_collation<Cmp>();
  if (!check_no_nul(name, "the collation's name", f)) return false;
  const std::string c_name(name);
  auto c = std::make_unique<collation<Cmp>>(std::move(cmp));
  const int rc = sqlite3_create_collation_v2(db, c_name.c_str(), SQLITE_UTF8, c.get(), &collation<Cmp>::compare,
                                             &collation<Cmp>::destroy);
  if (rc != SQLITE_OK) {
    // Unlike a function's, a collation's destructor is not called when SQLite refuses it.
    f.set(make_sqlite_error_code(rc), "could not register the collation " + c_name + ": " + sqlite3_errmsg(db));
    return false;
  }
  c.release();
  return true;
}

inline bool remove_collation(sqlite3* db, std::string_view name, failure& f) {
  if (!check_no_nul(name, "the collation's name", f)) return false;
  const std::string c_name(name);
  const int rc = sqlite3_create_collation_v2(db, c_name.c_str(), SQLITE_UTF8, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return true;
  f.set(make_sqlite_error_code(rc), "could not remove the collation " + c_name + ": " + sqlite3_errmsg(db));
  return false;
}

// ---- the request that registers or removes one on the worker

/// Runs a register(sqlite3*, failure&) (or (database&, failure&)) callable on the worker: a function or collation
/// added or removed, an extension loaded (connection::async_create_function and the
/// others). The callable is held behind one virtual call, so that every registration
/// shares one request type: the asynchronous machinery is instantiated once per
/// completion token, not once per lambda a program registers.
class registration_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = void;

  template <class Register>
  explicit registration_job(Register r) : register_(std::make_unique<model<Register>>(std::move(r))) {}

  void operator()(database& s, failure& f) { register_->run(s, f); }
  std::string_view sql() const noexcept { return {}; }

 private:
  struct step {
    virtual ~step() = default;
    virtual void run(database& s, failure& f) = 0;
  };
  // register(sqlite3*, failure&), or register(database&, failure&) for what the worker's
  // side keeps (the hooks).
  template <class Register>
  struct model final : step {
    explicit model(Register r) : r_(std::move(r)) {}
    void run(database& s, failure& f) override {
      if constexpr (std::is_invocable_v<Register&, database&, failure&>)
        r_(s, f);
      else
        r_(s.native(), f);
    }
    Register r_;
  };

  std::unique_ptr<step> register_;
};

}  // namespace asiolite::detail
