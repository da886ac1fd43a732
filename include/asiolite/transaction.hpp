// A transaction: while it is open it holds its connection, so no other coroutine's
// statement can land inside it.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/access.hpp>
#include <asiolite/detail/connection_impl.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/detail/transaction_state.hpp>
#include <asiolite/error.hpp>
#include <asiolite/savepoint.hpp>
#include <asiolite/statement_operations.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace asiolite {

/// How BEGIN takes its locks. `immediate` (the default) takes the write lock at once,
/// waiting up to busy_timeout for it; `deferred` takes locks on first use, so a deferred
/// transaction that reads, then writes, can fail with SQLITE_BUSY at the write without
/// waiting at all — the classic "database is locked".
enum class begin_mode { deferred, immediate, exclusive };

/// How connection::async_transaction runs its body.
struct transaction_options {
  begin_mode mode = begin_mode::immediate;
  /// How many times the whole body runs at most when SQLite reports SQLITE_BUSY.
  unsigned max_attempts = 5;
  /// The wait before the second attempt; it doubles for each further one, up to max_backoff.
  std::chrono::milliseconds first_backoff{10};
  std::chrono::milliseconds max_backoff{500};
};

namespace detail {
inline const char* begin_sql(begin_mode mode) noexcept {
  switch (mode) {
    case begin_mode::deferred:
      return "BEGIN DEFERRED";
    case begin_mode::immediate:
      return "BEGIN IMMEDIATE";
    case begin_mode::exclusive:
      return "BEGIN EXCLUSIVE";
  }
  return "BEGIN";
}
}  // namespace detail

/// An open transaction, from connection::async_begin. While it is open it holds the
/// connection: its own statements run (every statement form of statement_operations is
/// here), and every other request on the connection waits, in order, until it ends.
///
/// - Ending: async_commit or async_rollback. SQLite may also end it by itself (some
///   errors roll back automatically): then is_active() turns false, the statement that
///   caused it says so in its message, and further statements fail with
///   errc::transaction_ended instead of running outside any transaction.
/// - Destroyed while open: rolled back, without blocking and without throwing; the
///   connection is released once the ROLLBACK has run.
/// - Any coroutine holding the handle may use it: a transaction belongs to its handle,
///   not to the coroutine that began it.
/// - From inside a transaction, use its statements and savepoints, never the
///   connection's: a connection-level request waits for the transaction to end, which,
///   awaited by the transaction's own coroutine, never happens.
class transaction : public statement_operations<transaction> {
 public:
  using executor_type = asio::any_io_executor;

  /// An empty handle (moved from, or from a failed begin): every request fails with errc::closed.
  /// One made by this default constructor has no executor: its handlers need their own
  /// (a coroutine's use_awaitable has one); moved-from and failed ones keep the connection's.
  transaction() noexcept = default;
  /// The moved-from handle keeps its executor and behaves as an empty one.
  transaction(transaction&& other) noexcept
      : ex_(other.ex_), impl_(std::move(other.impl_)), state_(std::move(other.state_)) {}
  /// Rolls back this transaction if it is open, then takes `other`'s.
  transaction& operator=(transaction&& other) noexcept {
    if (this != &other) {
      detach();
      ex_ = other.ex_;
      impl_ = std::move(other.impl_);
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~transaction() { detach(); }

  executor_type get_executor() const noexcept { return ex_; }

  /// Not yet committed or rolled back (by us or by SQLite). A snapshot.
  bool is_active() const noexcept { return state_ && !state_->lease->ended.load(std::memory_order_acquire); }

  /// COMMIT. On SQLITE_BUSY the transaction stays open: retry, or roll back. On an ended
  /// transaction: errc::transaction_ended.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the transaction's (its connection's).
  /// - Cancellation: terminal, partial, total: while queued, the commit is removed
  ///   (operation_aborted) and the transaction stays open; once started, a COMMIT runs to
  ///   its end and is not interrupted.
  /// - Copied: nothing.
  /// - Thread safety: any thread, as for every request of the transaction.
  template <class... Trailing>
  auto async_commit(Trailing&&... trailing);

  /// ROLLBACK. Rolling back a transaction that has already ended succeeds.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the transaction's (its connection's).
  /// - Cancellation: none; a rollback always runs.
  /// - Copied: nothing.
  /// - Thread safety: any thread.
  template <class... Trailing>
  auto async_rollback(Trailing&&... trailing);

  /// SAVEPOINT: a nested transaction inside this one.
  /// - Signature: void(error_code, savepoint). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the transaction's (its connection's).
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: nothing.
  /// - Thread safety: any thread.
  template <class... Trailing>
  auto async_savepoint(Trailing&&... trailing);

 private:
  friend struct detail::access;

  transaction(executor_type ex, std::shared_ptr<detail::connection_impl> impl,
              std::shared_ptr<detail::transaction_state> state) noexcept
      : ex_(std::move(ex)), impl_(std::move(impl)), state_(std::move(state)) {}

  // Where this transaction's requests go, and those of the cursors and prepared
  // statements made here: this transaction's lease, so they run inside it (and fail
  // once it has ended).
  detail::request_target_view request_target() const noexcept {
    return {impl_, ex_, state_ ? state_->lease->id : 0};
  }

  void detach() noexcept {
    if (is_active() && impl_) state_->rollback->submit(*impl_);
    state_.reset();
    impl_.reset();
  }

  executor_type ex_;
  std::shared_ptr<detail::connection_impl> impl_;
  std::shared_ptr<detail::transaction_state> state_;
};

}  // namespace asiolite

#include <asiolite/impl/transaction.hpp>
