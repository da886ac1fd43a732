// The asynchronous statement operations, shared by everything that runs SQL on a
// connection's worker: the connection itself and, later, its transactions.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/cursor.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/record.hpp>
#include <asiolite/detail/trailing.hpp>
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
/// cancellation, what is copied, thread safety). Derived provides
/// `start_request<Job, Result>(Job&&, diagnostics*, Token&&)`, and
/// `detail::request_target request_target() const`: where the handles these operations
/// make (cursors, prepared statements) send their later requests — the same connection
/// core, default executor and transaction lease as Derived's own requests.
template <class Derived>
class statement_operations {
 public:
  /// Runs one statement and reports its counters. Signature: void(error_code, execute_result).
  template <class... Args>
  auto async_execute(std::string_view sql, Args&&... args);

  /// Runs one query. With T = rows (the default): every row with column names,
  /// signature void(error_code, rows). Otherwise every row as T (a field type, tuple
  /// or plain aggregate; columns in order): void(error_code, std::vector<T>).
  template <class T = rows, class... Args>
  auto async_query(std::string_view sql, Args&&... args);

  /// The only row as T, or nullopt if none; a second row is errc::too_many_rows.
  /// Signature: void(error_code, std::optional<T>).
  template <class T, class... Args>
  auto async_query_one(std::string_view sql, Args&&... args);

  /// The single value of a one-row, one-column query. No row is errc::no_rows, unless
  /// T is an std::optional. Signature: void(error_code, T).
  template <class T, class... Args>
  auto async_query_scalar(std::string_view sql, Args&&... args);

  /// Runs several statements separated by semicolons, in one request; stops at the
  /// first failure (statements before it keep their effect). Signature: void(error_code).
  /// Trailing: [diagnostics&] [token].
  template <class... Trailing>
  auto async_execute_script(std::string_view sql, Trailing&&... trailing);

  /// Runs `fn(sync_handle&)` on the worker thread, in one request, and delivers what it
  /// returns: the way to run many statements (or any sqlite3 call) in one hop.
  /// Signature: void(error_code, R), or void(error_code) when fn returns void. If fn
  /// throws, the co_await path rethrows that very exception; other tokens get its
  /// code (an sqlite_error's, or errc::user_exception) and its what() as the message.
  /// The worker survives. `fn` is moved into the operation and destroyed on the handler's
  /// executor. Trailing: [diagnostics&] [token].
  template <class Fn, class... Trailing>
  auto async_call(Fn&& fn, Trailing&&... trailing);

  /// Runs one statement once per element of `elements`, in one request: each element (a
  /// tuple, pair or array; a plain aggregate; or a single value) binds its fields to the
  /// statement's parameters in order. All or nothing: the elements run inside a SAVEPOINT
  /// (its own transaction, or nested in the one open), which a failure rolls back, so no
  /// element is applied; the failure's message names the element ("element 3: UNIQUE
  /// constraint failed: ..."), as does execute_many_result::failed_element (reachable with
  /// error_code tokens such as as_tuple). Signature: void(error_code, execute_many_result):
  /// changes summed over the elements, last_insert_rowid and total_changes read on the
  /// worker. Copied: the SQL text and every element (moved from an rvalue std::vector),
  /// before the function returns. Cancellation while running rolls back every element.
  /// Trailing: [diagnostics&] [token].
  template <class Range, class... Trailing>
  auto async_execute_many(std::string_view sql, Range&& elements, Trailing&&... trailing);

  /// Opens a cursor over a query, delivering it with its first batch of rows (see
  /// cursor.hpp): T = rows (the default) for rows with column names, or a field type,
  /// tuple or plain aggregate. Signature: void(error_code, cursor<T>). A query that fails
  /// on its first row fails here. Copied: the SQL text and the arguments, which the cursor
  /// keeps until its statement is done. Cancellation: as for any statement.
  template <class T = rows, class... Args>
  auto async_cursor(std::string_view sql, Args&&... args);

  /// As above, with options: `cursor_options opts; opts.batch_size = 1000;` then
  /// `async_cursor(opts, sql, args...)`. The options are read before the function returns.
  template <class T = rows, class... Args>
  auto async_cursor(const cursor_options& opts, std::string_view sql, Args&&... args);

  /// Prepares one statement to run many times (see prepared_statement.hpp).
  /// Signature: void(error_code, prepared_statement). Trailing: [diagnostics&] [token].
  template <class... Trailing>
  auto async_prepare(std::string_view sql, Trailing&&... trailing);

 protected:
  template <class T>
  struct is_statement_input : std::bool_constant<detail::bindable<T>> {};

 private:
  // Splits the arguments into inputs and trailing [diagnostics&] [token], then runs Action.
  template <class Action, class... Args>
  auto start_action(std::string_view sql, Args&&... args);

  template <class Action, class Token, class... Args>
  auto start_statement(std::string_view sql, std::tuple<Args...>&& args, diagnostics* diag, Token&& token);

  template <class T, class Token, class... Args>
  auto start_cursor(const cursor_options& opts, std::string_view sql, std::tuple<Args...>&& args, diagnostics* diag,
                    Token&& token);

  Derived& derived() noexcept { return static_cast<Derived&>(*this); }
};

}  // namespace asiolite

#include <asiolite/impl/statement_operations.hpp>
