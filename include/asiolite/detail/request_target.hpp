// Where a handle sends its requests, and the one way every asynchronous operation starts
// one. Handles made by a statement operation (a cursor, a prepared statement) outlive the
// call that made them, and keep sending their requests to the same connection core, with
// the same default executor and transaction lease.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/default_token.hpp>
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
