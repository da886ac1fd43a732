// The asynchronous statement operations, shared by everything that runs SQL on a
// connection's worker: the connection itself and its transactions.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/cursor.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/record.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/error.hpp>
#include <asiolite/prepared_statement.hpp>
#include <asiolite/results.hpp>
#include <asiolite/row.hpp>
#include <asiolite/sync_handle.hpp>

#include <string_view>
#include <tuple>
#include <type_traits>

namespace asiolite {

/// Statement operations: (sql, args..., [diagnostics&], [token]). See connection.hpp for
/// the rules every asiolite initiating function follows (signature, executor,
/// cancellation, what is copied, thread safety). Derived provides, to detail::access,
/// `detail::request_target request_target() const`: where these operations send their
/// requests, and where the handles they make (cursors, prepared statements) send their
/// later ones — the same connection core, default executor and transaction lease.
template <class Derived>
class statement_operations {
 public:
  /// Runs one statement and reports its counters.
  /// - Signature: void(error_code, execute_result). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the handle's (the connection's).
  /// - Cancellation: terminal, partial, total: removed while queued; interrupted while
  ///   running (SQLite undoes the statement).
  /// - Copied: the SQL text and every argument, before the function returns.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Args>
  auto async_execute(std::string_view sql, Args&&... args);

  /// Runs one query: with T = rows (the default), every row with column names; otherwise
  /// every row as T (a field type, tuple or plain aggregate; columns in order).
  /// - Signature: void(error_code, rows), or void(error_code, std::vector<T>).
  ///   Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the handle's (the connection's).
  /// - Cancellation: terminal, partial, total: removed while queued; interrupted while
  ///   running (SQLite undoes the statement).
  /// - Copied: the SQL text and every argument, before the function returns.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class T = rows, class... Args>
  auto async_query(std::string_view sql, Args&&... args);

  /// The only row as T, or nullopt if none; a second row is errc::too_many_rows.
  /// - Signature: void(error_code, std::optional<T>). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the handle's (the connection's).
  /// - Cancellation: terminal, partial, total: removed while queued; interrupted while
  ///   running (SQLite undoes the statement).
  /// - Copied: the SQL text and every argument, before the function returns.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class T, class... Args>
  auto async_query_one(std::string_view sql, Args&&... args);

  /// The single value of a one-row, one-column query. No row is errc::no_rows, unless
  /// T is an std::optional.
  /// - Signature: void(error_code, T). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the handle's (the connection's).
  /// - Cancellation: terminal, partial, total: removed while queued; interrupted while
  ///   running (SQLite undoes the statement).
  /// - Copied: the SQL text and every argument, before the function returns.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class T, class... Args>
  auto async_query_scalar(std::string_view sql, Args&&... args);

  /// Runs several statements separated by semicolons, in one request; stops at the
  /// first failure (statements before it keep their effect).
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the handle's (the connection's).
  /// - Cancellation: terminal, partial, total: removed while queued; interrupts the
  ///   statement running (earlier ones keep their effect).
  /// - Copied: the SQL text, before the function returns.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_execute_script(std::string_view sql, Trailing&&... trailing);

  /// Runs `fn(sync_handle&)` on the worker thread, in one request, and delivers what it
  /// returns: the way to run many statements (or any sqlite3 call) in one hop. If fn
  /// throws, the co_await path rethrows that very exception; other tokens get its code
  /// (an sqlite_error's, or errc::user_exception) and its what() as the message. The
  /// worker survives.
  /// - Signature: void(error_code, R), or void(error_code) when fn returns void.
  ///   Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the handle's (the connection's); fn runs on the worker.
  /// - Cancellation: terminal, partial, total: removed while queued; interrupts the
  ///   statements fn runs (they throw sqlite_error with SQLITE_INTERRUPT).
  /// - Copied: fn is moved into the request, and destroyed on the handler's executor.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class Fn, class... Trailing>
  auto async_call(Fn&& fn, Trailing&&... trailing);

  /// Runs one statement once per element of `elements`, in one request: each element (a
  /// tuple, pair or array; a plain aggregate; or a single value) binds its fields to the
  /// statement's parameters in order. All or nothing: the elements run inside a SAVEPOINT
  /// (its own transaction, or nested in the one open), which a failure rolls back, so no
  /// element is applied; the failure's message names the element ("element 3: UNIQUE
  /// constraint failed: ..."), as does execute_many_result::failed_element (reachable with
  /// error_code tokens such as as_tuple). The result's changes are summed over the
  /// elements; last_insert_rowid and total_changes are read on the worker.
  /// - Signature: void(error_code, execute_many_result). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the handle's (the connection's).
  /// - Cancellation: terminal, partial, total: removed while queued; while running,
  ///   rolls back every element.
  /// - Copied: the SQL text and every element (moved from an rvalue std::vector), before
  ///   the function returns.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class Range, class... Trailing>
  auto async_execute_many(std::string_view sql, Range&& elements, Trailing&&... trailing);

  /// Opens a cursor over a query, delivering it with its first batch of rows (see
  /// cursor.hpp): T = rows (the default) for rows with column names, or a field type,
  /// tuple or plain aggregate. A query that fails on its first row fails here.
  /// - Signature: void(error_code, cursor<T>). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the handle's (the connection's); the cursor's too.
  /// - Cancellation: terminal, partial, total: removed while queued; interrupted while
  ///   reading the first batch.
  /// - Copied: the SQL text and the arguments, which the cursor keeps until its
  ///   statement is done.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class T = rows, class... Args>
  auto async_cursor(std::string_view sql, Args&&... args);

  /// As above, with options: `cursor_options opts; opts.batch_size = 1000;` then
  /// `async_cursor(opts, sql, args...)`.
  /// - Signature, Executor, Cancellation, Thread safety: as above.
  /// - Copied: as above; the options are read before the function returns.
  template <class T = rows, class... Args>
  auto async_cursor(const cursor_options& opts, std::string_view sql, Args&&... args);

  /// Prepares one statement to run many times (see prepared_statement.hpp).
  /// - Signature: void(error_code, prepared_statement). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the handle's (the connection's); the prepared
  ///   statement's too.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: the SQL text, before the function returns.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_prepare(std::string_view sql, Trailing&&... trailing);

 protected:
  template <class T>
  struct is_statement_input : std::bool_constant<detail::bindable<T>> {};

 private:
  // Derived's target: a request_target_view, or a pool's (detail/pool_core.hpp).
  auto target() const noexcept;

  // One statement run as Form (jobs.hpp), with its arguments and the trailing
  // [diagnostics&] [token].
  template <class Form, class... Args>
  auto start_statement(std::string_view sql, Args&&... args);
};

}  // namespace asiolite

#include <asiolite/impl/statement_operations.hpp>
