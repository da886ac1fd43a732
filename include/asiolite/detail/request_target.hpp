// Where a handle sends its requests, and the one way every asynchronous operation starts
// one. Handles made by a statement operation (a cursor, a prepared statement) outlive the
// call that made them, and keep sending their requests to the same connection core, with
// the same default executor and transaction lease.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/access.hpp>
#include <asiolite/detail/connection_impl.hpp>
#include <asiolite/detail/job.hpp>
#include <asiolite/detail/operation.hpp>
#include <asiolite/detail/trailing.hpp>

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace asiolite::detail {

struct request_target_view;

struct request_target {
  std::shared_ptr<connection_impl> impl;  // null for an empty (moved-from) handle
  asio::any_io_executor ex;               // for handlers without an associated executor
  std::uint64_t lease = 0;                // the transaction the handle belongs to, or 0

  operator request_target_view() const noexcept;
};

/// A handle's request_target, borrowed for the length of an initiating call: what a
/// request takes is copied once, into its initiation (a copy of a shared_ptr and an
/// executor per request costs a measurable part of a hop).
struct request_target_view {
  const std::shared_ptr<connection_impl>& impl;
  const asio::any_io_executor& ex;
  std::uint64_t lease = 0;

  /// A target of its own, for a handle that outlives the call (a cursor, a prepared statement).
  operator request_target() const { return {impl, ex, lease}; }
};

inline request_target::operator request_target_view() const noexcept { return {impl, ex, lease}; }

/// What a handle to something the worker holds for it (a cursor's or a prepared
/// statement's statement, a blob) keeps: where its requests go, and the shared state.
/// Move-only; moving keeps the executor in the moved-from handle (its handlers still need
/// one); destroying or assigning over it releases the state on the worker, without waiting.
template <class State>
class held_handle {
 public:
  held_handle(held_handle&& other) noexcept
      : target_{std::move(other.target_.impl), other.target_.ex, other.target_.lease},
        state_(std::move(other.state_)) {}
  held_handle& operator=(held_handle&& other) noexcept {
    if (this != &other) {
      detach();
      target_ = {std::move(other.target_.impl), other.target_.ex, other.target_.lease};
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~held_handle() { detach(); }

 protected:
  held_handle() noexcept = default;
  held_handle(request_target target, std::shared_ptr<State> state) noexcept
      : target_(std::move(target)), state_(std::move(state)) {}

  request_target target_;
  std::shared_ptr<State> state_;

 private:
  void detach() noexcept {
    if (state_ && !state_->released() && target_.impl) state_->release_later(*target_.impl);
    state_.reset();
  }
};

/// The part of a job that makes a held_handle (a cursor's open, a prepare, a blob's open):
/// where the handle will send its requests, its state, and whether the worker made it and
/// the caller got it. A state made but never handed over (the completion dropped unrun)
/// is released on the worker, as the handle's destructor would have.
template <class Handle, class State>
class handle_delivery {
 public:
  handle_delivery(handle_delivery&&) noexcept = default;
  handle_delivery& operator=(handle_delivery&&) = delete;
  ~handle_delivery() {
    if (state_ && made_ && !delivered_ && !state_->released()) state_->release_later(*target_.impl);
  }

 protected:
  handle_delivery(request_target target, std::shared_ptr<State> state) noexcept
      : target_(std::move(target)), state_(std::move(state)) {}

  /// Worker: the state holds what the handle needs (read once the completion is posted).
  void made() noexcept { made_ = true; }

  /// The caller's side: the handle, or an empty one (with the connection's executor for
  /// its handlers) if the job failed.
  Handle deliver(const failure& f) {
    if (f || !made_) return access::construct<Handle>(request_target{nullptr, target_.ex, target_.lease}, nullptr);
    delivered_ = true;
    return access::construct<Handle>(target_, state_);
  }

  request_target target_;
  std::shared_ptr<State> state_;

 private:
  bool made_ = false;
  bool delivered_ = false;
};

/// Starts `j` as a request to `target`. The completion signature is
/// void(error, Job::result_type), or void(error) for a void result; the error is an
/// exception_ptr for use_awaitable and use_future, else an error_code (error_for).
template <class Job, class Token>
requires job<std::decay_t<Job>>
auto start_request(request_target_view target, Job&& j, diagnostics* diag, Token&& token) {
  using result = typename std::decay_t<Job>::result_type;
  return asio::async_initiate<Token, signature_t<Token, result>>(
      initiate_request<error_for<Token>>(target.impl, target.ex, target.lease), token, std::forward<Job>(j), diag);
}

/// A whole initiating function: splits `args` into the inputs (the leading arguments
/// IsInput accepts) and the trailing [diagnostics&] [token], makes the job with
/// make_job(inputs_tuple), and starts it on `target`: a request_target_view, or another
/// target with its own start_request (a pool's, found by argument-dependent lookup).
template <template <class> class IsInput, class Target, class MakeJob, class... Args>
auto async_request(const Target& target, MakeJob&& make_job, Args&&... args) {
  return split_trailing<IsInput, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        return start_request(target, make_job(std::move(inputs)), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Args>(args)...);
}

/// The same for a function whose inputs all come before the pack: every argument is
/// trailing, and the job is made already.
template <class Target, class Job, class... Trailing>
auto async_request(const Target& target, Job&& j, Trailing&&... trailing) {
  return split_trailing<no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return start_request(target, std::forward<Job>(j), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite::detail
