// A savepoint: a transaction nested in a transaction.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/connection_impl.hpp>
#include <asiolite/detail/transaction_state.hpp>
#include <asiolite/error.hpp>

#include <atomic>
#include <memory>

namespace asiolite {

namespace detail {
struct savepoint_access;
}  // namespace detail

/// A savepoint of a transaction, from transaction::async_savepoint. Its changes become
/// part of the transaction when released, and are undone when rolled back to; a
/// savepoint destroyed while open is rolled back to (without blocking). Statements run
/// through the transaction as usual; the savepoint only ends.
class savepoint {
 public:
  using executor_type = asio::any_io_executor;

  savepoint() noexcept = default;
  savepoint(savepoint&&) noexcept = default;
  savepoint& operator=(savepoint&& other) noexcept {
    if (this != &other) {
      release_handle();
      ex_ = other.ex_;
      impl_ = std::move(other.impl_);
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~savepoint() { release_handle(); }

  executor_type get_executor() const noexcept { return ex_; }

  /// Neither released nor rolled back to, and its transaction still open. A snapshot.
  bool is_active() const noexcept {
    return state_ && !state_->ended.load(std::memory_order_acquire) &&
           !state_->lease->ended.load(std::memory_order_acquire);
  }

  /// RELEASE: keeps the savepoint's changes in the transaction. Signature: void(error_code).
  /// Trailing: [diagnostics&] [token]. Cancellable while queued.
  template <class... Trailing>
  auto async_release(Trailing&&... trailing);

  /// ROLLBACK TO, then RELEASE: undoes the savepoint's changes; the transaction goes on.
  /// Signature: void(error_code). Trailing: [diagnostics&] [token]. Cancellable while queued.
  template <class... Trailing>
  auto async_rollback(Trailing&&... trailing);

 private:
  friend struct detail::savepoint_access;

  savepoint(executor_type ex, std::shared_ptr<detail::connection_impl> impl,
            std::shared_ptr<detail::savepoint_state> state) noexcept
      : ex_(std::move(ex)), impl_(std::move(impl)), state_(std::move(state)) {}

  template <class Job, class Token>
  auto start_request(Job&& job, diagnostics* diag, Token&& token);

  void release_handle() noexcept {
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
