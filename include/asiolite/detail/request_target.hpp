// Where a handle sends its requests. Handles made by a statement operation (a cursor, a
// prepared statement) outlive the call that made them, and keep sending their requests
// to the same connection core, with the same default executor and transaction lease.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/detail/connection_impl.hpp>
#include <asiolite/detail/operation.hpp>

#include <cstdint>
#include <memory>
#include <utility>

namespace asiolite::detail {

struct request_target {
  std::shared_ptr<connection_impl> impl;  // null for an empty (moved-from) connection
  asio::any_io_executor ex;               // for handlers without an associated executor
  std::uint64_t lease = 0;                // the transaction the creator belongs to, or 0
};

/// Starts `job` as a request to `target`; the completion signature carries Result.
template <class Job, class Result, class Token>
auto start_request(const request_target& target, Job&& job, diagnostics* diag, Token&& token) {
  return asio::async_initiate<Token, signature_t<Token, Result>>(
      initiate_request<error_for<Token>>(target.impl, target.ex, target.lease), token, std::forward<Job>(job), diag);
}

}  // namespace asiolite::detail
