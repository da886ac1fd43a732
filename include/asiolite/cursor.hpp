// A cursor: the rows of a query, streamed in batches, for results too large (or too
// slow to wait for whole) to take in one async_query.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/access.hpp>
#include <asiolite/detail/cursor_state.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/error.hpp>
#include <asiolite/row.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

namespace asiolite {

/// How async_cursor reads. As for every braced argument inside a co_await, name it in a
/// variable first (see the g++ 12 note in the README).
struct cursor_options {
  /// Rows fetched per request; 0: the connection's options::cursor_batch_size (256).
  std::size_t batch_size = 0;
};

/// The rows of a query, from async_cursor, fetched in batches: one request (one hop to the
/// worker) per batch, and the next batch is read ahead as soon as one arrives, so that
/// async_next usually delivers a row already at hand, without a hop. At most about three
/// batches are held, whatever the size of the result: the one being read, the one read
/// ahead, and the storage of the last one read, which the worker fills again.
///
/// T = rows (the default): rows with column names, async_next gives a `row` view.
/// Otherwise every row as T (a field type, tuple or plain aggregate; columns in order).
///
/// - The statement stays on the worker between batches (prepared statements are cached:
///   another query with the same SQL text meanwhile prepares its own). It is reset and
///   given back when the cursor reaches its end or fails, or when the handle is destroyed
///   (queued on the worker; the destructor never waits).
/// - Other requests on the connection run between a cursor's batches, in FIFO order.
///   (Writing to the table a cursor reads, meanwhile, is SQLite's business: the cursor
///   may or may not see the change.)
/// - A cursor cannot outlive its connection: once the connection has closed (async_close,
///   or destruction), a cursor that has not reached its end completes every call with
///   errc::closed.
/// - A failure (an SQL error, a row that does not convert to T, a cancellation) ends the
///   cursor: rows before the failing one are delivered first; the call that would have
///   delivered it fails, and so does every later call, with the same error.
/// - A cursor made inside a transaction reads inside it; when the transaction ends,
///   the cursor's further batches fail as the transaction's statements do.
///
/// Thread safety: one async_next or async_next_batch at a time per cursor (as with a
/// socket's reads). Different cursors, and other requests on the connection, may run
/// concurrently from any thread. The handle may be moved, and destroyed, while an
/// operation is in flight; an operation must be initiated while the cursor is alive.
template <class T = rows>
class cursor : private detail::held_handle<detail::cursor_state<T>> {
  using base = detail::held_handle<detail::cursor_state<T>>;
  using base::state_;
  using base::target_;

  static_assert(std::is_same_v<T, rows> || detail::record_type<T>,
                "asiolite: cursor<T> needs a field type, a tuple or a plain aggregate");

 public:
  using executor_type = asio::any_io_executor;
  /// What async_next delivers: a `row` view for T = rows, else T.
  using value_type = typename detail::cursor_state<T>::value_type;
  /// What async_next_batch delivers: `rows` for T = rows, else std::vector<T>.
  using batch_type = typename detail::cursor_state<T>::batch_type;

  /// An empty cursor (moved from, or from a failed async_cursor): its calls complete with
  /// errc::closed.
  /// One made by this default constructor has no executor: its handlers need their own
  /// (a coroutine's use_awaitable has one); moved-from and failed ones keep the connection's.
  cursor() noexcept = default;
  cursor(cursor&& other) noexcept = default;

  /// Lets go of this cursor's statement as the destructor does, then takes `other`'s.
  cursor& operator=(cursor&& other) noexcept = default;

  /// Lets go of the statement on the worker, without waiting.
  ~cursor() = default;

  /// The connection's executor: handlers without an associated executor run there.
  executor_type get_executor() const noexcept { return target_.ex; }

  /// The next row, or nullopt at the end. For T = rows, the `row` is a view into the
  /// cursor's batch, valid until the next call on this cursor (or its destruction): copy
  /// out what you keep. When the row is at hand, no request is sent: with use_awaitable
  /// (the default token) the coroutine simply goes on, as after co_awaiting a coroutine
  /// that returns at once (so it runs through at most a batch of rows without yielding to
  /// the event loop); other tokens get the completion posted (never inline). Otherwise one
  /// request is sent for the next batch.
  /// - Signature: void(error_code, std::optional<value_type>). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the cursor's (its connection's).
  /// - Cancellation: terminal, partial, total, on the request for a batch: a queued one is
  ///   removed, a running one interrupted, and with it the read-ahead it waited for. The
  ///   call completes with operation_aborted and the cursor is over: later calls complete
  ///   with operation_aborted too. A call that needed no request completes normally.
  /// - Copied: nothing.
  /// - Thread safety: one async_next or async_next_batch at a time per cursor.
  template <class... Trailing>
  auto async_next(Trailing&&... trailing);

  /// The rest of the batch at hand, or the next batch; an empty batch at the end. The
  /// cheapest way through a large result: about one hop per batch, the rows moved to
  /// you. Views from earlier async_next calls are invalid afterwards.
  /// - Signature: void(error_code, batch_type). Trailing: [diagnostics&] [token].
  /// - Executor, Cancellation, Copied, Thread safety: as async_next.
  template <class... Trailing>
  auto async_next_batch(Trailing&&... trailing);

 private:
  friend struct detail::access;

  template <bool Batch, class Error>
  class initiate_fetch;

  template <bool Batch>
  using fetch_result = std::conditional_t<Batch, batch_type, std::optional<value_type>>;

  // async_next (Batch false) and async_next_batch (true): splits the trailing arguments
  // and starts the fetch with the token.
  template <bool Batch, class... Trailing>
  auto start_fetch(Trailing&&... trailing);

  // The use_awaitable form: takes what is at hand without a trip through the event loop.
  template <bool Batch, class Executor>
  asio::awaitable<fetch_result<Batch>, Executor> fetch_awaitable(asio::use_awaitable_t<Executor> token,
                                                                 diagnostics* diag);

  cursor(detail::request_target target, std::shared_ptr<detail::cursor_state<T>> state) noexcept
      : base(std::move(target), std::move(state)) {}
};

}  // namespace asiolite

#include <asiolite/impl/cursor.hpp>
