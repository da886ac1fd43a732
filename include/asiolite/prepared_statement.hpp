// A prepared statement: SQL prepared once on the worker, run any number of times.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/access.hpp>
#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/held_statement.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/error.hpp>
#include <asiolite/results.hpp>
#include <asiolite/row.hpp>

#include <memory>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace asiolite {

/// A statement from async_prepare, run any number of times with new arguments (each run
/// binds all of them afresh). It is its own statement, outside the connection's cache.
///
/// - The operations follow connection's rules (signature, executor, cancellation, what is
///   copied): the same as the connection's statement operations, without the SQL text.
///   A cancelled run leaves the statement usable.
/// - Runs go to the connection it was prepared on, in FIFO order with everything else,
///   and inside the transaction it was prepared in, if any.
/// - Destroying the handle finalizes the statement on the worker, without waiting.
/// - It cannot outlive its connection: once the connection has closed (async_close, or
///   destruction), every run completes with errc::closed, even if the connection was
///   opened again.
/// - Thread safety: as the connection: any number of runs may be started concurrently,
///   from any thread; they run one at a time, in submission order.
class prepared_statement : private detail::held_handle<detail::held_statement> {
 public:
  using executor_type = asio::any_io_executor;

  /// An empty handle (moved from, or from a failed async_prepare): runs fail with errc::closed.
  /// One made by this default constructor has no executor: its handlers need their own
  /// (a coroutine's use_awaitable has one); moved-from and failed ones keep the connection's.
  prepared_statement() noexcept = default;
  prepared_statement(prepared_statement&& other) noexcept = default;

  /// Finalizes this statement as the destructor does, then takes `other`'s.
  prepared_statement& operator=(prepared_statement&& other) noexcept = default;

  /// Finalizes the statement on the worker, without waiting.
  ~prepared_statement() = default;

  executor_type get_executor() const noexcept { return target_.ex; }

  /// The SQL text (empty for an empty handle).
  std::string_view sql() const noexcept { return state_ ? std::string_view(state_->sql()) : std::string_view(); }

  /// Runs the statement.
  /// - Signature: void(error_code, execute_result). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the prepared statement's (its connection's).
  /// - Cancellation: terminal, partial, total: removed while queued; interrupted while
  ///   running. The statement stays usable.
  /// - Copied: every argument, before the function returns.
  /// - Thread safety: any thread; runs go in submission order with the connection's requests.
  template <class... Args>
  auto async_execute(Args&&... args);

  /// Runs the query: every row with column names (T = rows), or every row as T.
  /// - Signature: void(error_code, rows), or void(error_code, std::vector<T>).
  ///   Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the prepared statement's (its connection's).
  /// - Cancellation: terminal, partial, total: removed while queued; interrupted while
  ///   running. The statement stays usable.
  /// - Copied: every argument, before the function returns.
  /// - Thread safety: any thread; runs go in submission order with the connection's requests.
  template <class T = rows, class... Args>
  auto async_query(Args&&... args);

  /// The only row as T, or nullopt.
  /// - Signature: void(error_code, std::optional<T>). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the prepared statement's (its connection's).
  /// - Cancellation: terminal, partial, total: removed while queued; interrupted while
  ///   running. The statement stays usable.
  /// - Copied: every argument, before the function returns.
  /// - Thread safety: any thread; runs go in submission order with the connection's requests.
  template <class T, class... Args>
  auto async_query_one(Args&&... args);

  /// The single value of a one-row, one-column query.
  /// - Signature: void(error_code, T). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the prepared statement's (its connection's).
  /// - Cancellation: terminal, partial, total: removed while queued; interrupted while
  ///   running. The statement stays usable.
  /// - Copied: every argument, before the function returns.
  /// - Thread safety: any thread; runs go in submission order with the connection's requests.
  template <class T, class... Args>
  auto async_query_scalar(Args&&... args);

  /// Runs the statement once per element, all or nothing, in one request: as
  /// connection::async_execute_many.
  /// - Signature: void(error_code, execute_many_result). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the prepared statement's (its connection's).
  /// - Cancellation: terminal, partial, total: removed while queued; interrupted while
  ///   running, which rolls back every element.
  /// - Copied: every element (moved from an rvalue std::vector), before the function returns.
  /// - Thread safety: any thread; runs go in submission order with the connection's requests.
  template <class Range, class... Trailing>
  auto async_execute_many(Range&& elements, Trailing&&... trailing);

 private:
  friend struct detail::access;

  template <class T>
  struct is_statement_input : std::bool_constant<detail::bindable<T>> {};

  prepared_statement(detail::request_target target, std::shared_ptr<detail::held_statement> state) noexcept
      : held_handle(std::move(target), std::move(state)) {}

  // A run as Form (jobs.hpp), with its arguments and the trailing [diagnostics&] [token].
  template <class Form, class... Args>
  auto start_run(Args&&... args);

  detail::request_target_view request_target() const noexcept { return target_; }
};

}  // namespace asiolite

#include <asiolite/impl/prepared_statement.hpp>
