// The connection as seen from code that runs on its worker thread (async_call, the
// on_open hook): every statement form, synchronously, throwing sqlite_error.
#pragma once

#include <asiolite/authorizer.hpp>
#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/database.hpp>
#include <asiolite/detail/sync_forms.hpp>
#include <asiolite/detail/user_functions.hpp>
#include <asiolite/error.hpp>
#include <asiolite/functions.hpp>
#include <asiolite/results.hpp>
#include <asiolite/row.hpp>
#include <asiolite/subscription.hpp>
#include <asiolite/trace.hpp>
#include <asiolite/watch.hpp>

#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <vector>

namespace asiolite {

class sync_statement;

/// Synchronous access to the connection, valid only on its worker thread and only for
/// the duration of the call it was handed to. Arguments bind exactly as in the
/// asynchronous calls, but are not copied; failures throw sqlite_error.
class sync_handle {
 public:
  explicit sync_handle(detail::database& s) noexcept : database_(s), user_code_(s) {}
  sync_handle(const sync_handle&) = delete;
  sync_handle& operator=(const sync_handle&) = delete;

  template <detail::bindable... Args>
  execute_result execute(std::string_view sql, const Args&... args) {
    return detail::sync_forms::execute(database_, sql, args...);
  }

  /// All rows with column names (T = rows), or every row as T.
  template <class T = rows, detail::bindable... Args>
  auto query(std::string_view sql, const Args&... args) {
    return detail::sync_forms::query<T>(database_, sql, args...);
  }

  /// The only row as T, or nullopt; more than one row is an error (too_many_rows).
  template <class T, detail::bindable... Args>
  std::optional<T> query_one(std::string_view sql, const Args&... args) {
    return detail::sync_forms::query_one<T>(database_, sql, args...);
  }

  /// The single value of a one-row, one-column query. No row is an error (no_rows)
  /// unless T is an std::optional.
  template <class T, detail::bindable... Args>
  T query_scalar(std::string_view sql, const Args&... args) {
    return detail::sync_forms::query_scalar<T>(database_, sql, args...);
  }

  /// Runs the statement once per element (a tuple or aggregate of values, or one value),
  /// all or nothing, as connection::async_execute_many does.
  template <class Range>
  execute_many_result execute_many(std::string_view sql, Range&& elements) {
    return detail::sync_forms::execute_many(database_, sql, elements);
  }

  /// Runs several statements separated by semicolons.
  void execute_script(std::string_view sql) {
    detail::failure f;
    database_.execute_script(sql, f);
    detail::sync_forms::check(f, sql);
  }

  /// Prepares one statement to run many times (see sync_statement).
  sync_statement prepare(std::string_view sql);

  /// Registers `fn` as the SQL function `name` of this connection, as
  /// connection::async_create_function does (docs/guide.md).
  template <class Fn>
  void create_function(std::string_view name, Fn fn, function_flags flags = function_flags::none) {
    detail::check_function<Fn>();
    detail::failure f;
    detail::create_function(database_.native(), name, std::move(fn), flags, f);
    detail::sync_forms::check(f, {});
  }

  /// Registers the aggregate (or window) function `name`, each group's state made by
  /// `make`, as connection::async_create_aggregate does.
  template <class Factory>
  void create_aggregate(std::string_view name, Factory make, function_flags flags = function_flags::none) {
    detail::check_aggregate<Factory>();
    detail::failure f;
    detail::create_aggregate(database_.native(), name, std::move(make), flags, f);
    detail::sync_forms::check(f, {});
  }

  /// Removes the SQL function `name` taking `arg_count` arguments (-1: function_args).
  void remove_function(std::string_view name, int arg_count) {
    detail::failure f;
    detail::remove_function(database_.native(), name, arg_count, f);
    detail::sync_forms::check(f, {});
  }

  /// Registers `cmp` as the collation `name`, as connection::async_create_collation does.
  template <class Cmp>
  void create_collation(std::string_view name, Cmp cmp) {
    detail::check_collation<Cmp>();
    detail::failure f;
    detail::create_collation(database_.native(), name, std::move(cmp), f);
    detail::sync_forms::check(f, {});
  }

  /// Removes the collation `name`.
  void remove_collation(std::string_view name) {
    detail::failure f;
    detail::remove_collation(database_.native(), name, f);
    detail::sync_forms::check(f, {});
  }

  /// Loads the extension at `path`, from `entry_point` (empty: SQLite's default), as
  /// connection::async_load_extension does; throws sqlite_error if it does not load.
  void load_extension(std::string_view path, std::string_view entry_point = {}) {
    detail::failure f;
    detail::load_extension(database_.native(), path, entry_point, f);
    detail::sync_forms::check(f, {});
  }

  /// Calls handler(const transaction_event&) for every transaction that ends from now on,
  /// as connection::async_watch_transactions does, on the handler's associated executor,
  /// else on `ex` (a pool's on_open: subscribe on the writer, where writes run); throws
  /// sqlite_error (errc::invalid_option) for a max_pending of 0.
  template <class Handler>
  subscription watch_transactions(const asio::any_io_executor& ex, Handler handler, watch_options o = {}) {
    return subscribe(
        o, &detail::check_watch_options, [&] { return detail::make_transaction_subscriber(ex, std::move(handler), o); },
        [](detail::hook_hub& hooks, const auto& s) { hooks.subscribe(s); });
  }

  /// Calls handler(const wal_event&) after every commit to a WAL database, as
  /// connection::async_watch_wal does; throws sqlite_error (errc::invalid_option) for a
  /// max_pending of 0.
  template <class Handler>
  subscription watch_wal(const asio::any_io_executor& ex, Handler handler, watch_options o = {}) {
    return subscribe(
        o, &detail::check_watch_options, [&] { return detail::make_wal_subscriber(ex, std::move(handler), o); },
        [](detail::hook_hub& hooks, const auto& s) { hooks.watch_wal(s); });
  }

  /// Calls handler(const statement_trace&) for the statements that begin from now on, as
  /// connection::async_trace does, on the handler's associated executor, else on `ex`;
  /// throws sqlite_error (errc::invalid_option) for a max_pending of 0 or a negative
  /// threshold.
  template <class Handler>
  subscription trace(const asio::any_io_executor& ex, Handler handler, trace_options o = {}) {
    return subscribe(
        o, &detail::check_trace_options, [&] { return detail::make_trace_subscriber(ex, std::move(handler), o); },
        [&o](detail::hook_hub& hooks, const auto& s) { hooks.trace(s, o); });
  }

  /// Calls fn() before each commit, as connection::async_set_commit_filter_on_worker does
  /// (false turns the commit into a rollback).
  template <class Fn>
  void set_commit_filter(Fn fn) {
    database_.hooks().set_commit_filter(detail::make_worker_predicate(std::move(fn)));
  }

  /// Removes the commit filter.
  void clear_commit_filter() { database_.hooks().set_commit_filter(nullptr); }

  /// Calls fn() after about every `every` steps of a running statement, as
  /// connection::async_set_progress_handler_on_worker does (true stops the statement);
  /// throws sqlite_error (errc::invalid_option) for an `every` below 1.
  template <class Fn>
  void set_progress_handler(int every, Fn fn) {
    detail::failure f;
    detail::check_progress_interval(every, f);
    detail::sync_forms::check(f, {});
    database_.set_progress_handler(every, detail::make_worker_predicate(std::move(fn)));
  }

  /// Removes the progress handler.
  void clear_progress_handler() { database_.set_progress_handler(0, nullptr); }

  /// Asks fn about each action of the statements prepared from now on, as
  /// connection::async_set_authorizer_on_worker does.
  template <class Fn>
  void set_authorizer(Fn fn) {
    database_.hooks().set_authorizer(detail::make_authorizer(std::move(fn)));
  }

  /// Removes the authorizer.
  void clear_authorizer() { database_.hooks().set_authorizer(nullptr); }

  /// The current value of the limit `category` (sqlite3_limit).
  int get_limit(asiolite::limit category) const {
    detail::failure f;
    detail::check_limit(category, std::nullopt, "the limit", f);
    detail::sync_forms::check(f, {});
    return detail::exchange_limit(database_.native(), category, -1);
  }

  /// Sets the limit `category` to `value`, returning the value it had, as
  /// connection::async_set_limit does; throws sqlite_error (errc::invalid_option) for a
  /// negative value or a category that is not a limit.
  int set_limit(asiolite::limit category, int value) {
    detail::failure f;
    detail::check_limit(category, value, "the new limit", f);
    detail::sync_forms::check(f, {});
    return detail::exchange_limit(database_.native(), category, value);
  }

  /// The raw handle, for anything asiolite does not wrap.
  sqlite3* native_handle() const noexcept { return database_.native(); }

 private:
  // A subscription of the hooks: checks the options, makes the subscriber (make()) and
  // hands it to them (attach(hooks, subscriber)); throws as the other forms do.
  template <class Options, class Make, class Attach>
  subscription subscribe(const Options& o, bool (*check)(const Options&, detail::failure&), Make make, Attach attach) {
    detail::failure f;
    check(o, f);
    detail::sync_forms::check(f, {});
    auto s = make();
    attach(database_.hooks(), s);
    return subscription(std::move(s));
  }

  detail::database& database_;
  // Requests made on this connection while the handle lives fail with errc::on_own_worker.
  detail::user_code_scope user_code_;
};

/// A statement from sync_handle::prepare: prepared once, run any number of times with
/// new arguments (each run binds all of them afresh). Like its sync_handle, it is valid
/// on the worker, during the call that made it; it is finalized when destroyed.
class sync_statement {
 public:
  sync_statement(sync_statement&&) noexcept = default;
  sync_statement& operator=(sync_statement&&) noexcept = default;

  template <detail::bindable... Args>
  execute_result execute(const Args&... args) {
    return detail::sync_forms::execute(*database_, source(), args...);
  }

  template <class T = rows, detail::bindable... Args>
  auto query(const Args&... args) {
    return detail::sync_forms::query<T>(*database_, source(), args...);
  }

  template <class T, detail::bindable... Args>
  std::optional<T> query_one(const Args&... args) {
    return detail::sync_forms::query_one<T>(*database_, source(), args...);
  }

  template <class T, detail::bindable... Args>
  T query_scalar(const Args&... args) {
    return detail::sync_forms::query_scalar<T>(*database_, source(), args...);
  }

  template <class Range>
  execute_many_result execute_many(Range&& elements) {
    return detail::sync_forms::execute_many(*database_, source(), elements);
  }

  const std::string& sql() const noexcept { return sql_; }
  sqlite3_stmt* native_handle() const noexcept { return stmt_.get(); }

 private:
  friend class sync_handle;
  sync_statement(detail::database& s, detail::statement_cache::checkout stmt, std::string_view sql)
      : database_(&s), stmt_(std::move(stmt)), sql_(sql) {}

  detail::statement_source source() const {
    if (!stmt_)
      throw sqlite_error(make_sqlite_error_code(SQLITE_MISUSE), diagnostics("the statement was moved from", sql_));
    return {stmt_.get(), sql_};
  }

  detail::database* database_;
  detail::statement_cache::checkout stmt_;  // finalized when this object is destroyed
  std::string sql_;
};

inline sync_statement sync_handle::prepare(std::string_view sql) {
  detail::failure f;
  auto stmt = database_.prepare_owned(sql, f);
  detail::sync_forms::check(f, sql);
  return sync_statement(database_, std::move(stmt), sql);
}

}  // namespace asiolite
