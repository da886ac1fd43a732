// A savepoint: a transaction nested in a transaction.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/access.hpp>
#include <asiolite/detail/connection_impl.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/detail/transaction_state.hpp>
#include <asiolite/error.hpp>

#include <atomic>
#include <memory>

namespace asiolite {

/// A savepoint of a transaction, from transaction::async_savepoint. Its changes become
/// part of the transaction when released, and are undone when rolled back to; a
/// savepoint destroyed while open is rolled back to (without blocking). Statements run
/// through the transaction as usual; the savepoint only ends.
class savepoint {
 public:
  using executor_type = asio::any_io_executor;

  /// An empty handle (moved from, or from a failed async_savepoint): its requests fail
  /// with errc::closed.
  /// One made by this default constructor has no executor: its handlers need their own
  /// (a coroutine's use_awaitable has one); moved-from and failed ones keep the connection's.
  savepoint() noexcept = default;
  /// The moved-from handle keeps its executor and behaves as an empty one.
  savepoint(savepoint&& other) noexcept
      : ex_(other.ex_), impl_(std::move(other.impl_)), state_(std::move(other.state_)) {}
  savepoint& operator=(savepoint&& other) noexcept {
    if (this != &other) {
      detach();
      ex_ = other.ex_;
      impl_ = std::move(other.impl_);
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~savepoint() { detach(); }

  executor_type get_executor() const noexcept { return ex_; }

  /// Neither released nor rolled back to, and its transaction still open. A snapshot.
  bool is_active() const noexcept {
    return state_ && !state_->ended.load(std::memory_order_acquire) &&
           !state_->lease->ended.load(std::memory_order_acquire);
  }

  /// RELEASE: keeps the savepoint's changes in the transaction.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the savepoint's (its connection's).
  /// - Cancellation: terminal, partial, total: removed while queued (the savepoint stays
  ///   open); interrupted while running.
  /// - Copied: nothing.
  /// - Thread safety: any thread.
  template <class... Trailing>
  auto async_release(Trailing&&... trailing);

  /// ROLLBACK TO, then RELEASE: undoes the savepoint's changes; the transaction goes on.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the savepoint's (its connection's).
  /// - Cancellation: terminal, partial, total: removed while queued (the savepoint stays
  ///   open); interrupted while running.
  /// - Copied: nothing.
  /// - Thread safety: any thread.
  template <class... Trailing>
  auto async_rollback(Trailing&&... trailing);

 private:
  friend struct detail::access;

  savepoint(executor_type ex, std::shared_ptr<detail::connection_impl> impl,
            std::shared_ptr<detail::savepoint_state> state) noexcept
      : ex_(std::move(ex)), impl_(std::move(impl)), state_(std::move(state)) {}

  detail::request_target_view request_target() const noexcept {
    return {impl_, ex_, state_ ? state_->lease->id : 0};
  }

  void detach() noexcept {
    if (is_active() && impl_) state_->undo->submit(*impl_);
    state_.reset();
    impl_.reset();
  }

  executor_type ex_;
  std::shared_ptr<detail::connection_impl> impl_;
  std::shared_ptr<detail::savepoint_state> state_;
};

}  // namespace asiolite

#include <asiolite/impl/savepoint.hpp>
