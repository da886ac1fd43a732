// Out-of-line bodies of savepoint.hpp.
#pragma once

#include <asiolite/detail/operation.hpp>
#include <asiolite/detail/trailing.hpp>
#include <asiolite/detail/transaction_jobs.hpp>

namespace asiolite {

namespace detail {
struct savepoint_access {
  static savepoint make(asio::any_io_executor ex, std::shared_ptr<connection_impl> impl,
                        std::shared_ptr<savepoint_state> state) {
    return savepoint(std::move(ex), std::move(impl), std::move(state));
  }
};

inline savepoint savepoint_job::take_result() {
  return made_ ? savepoint_access::make(ex_, impl_, state_) : savepoint();
}
}  // namespace detail

template <class Job, class Token>
auto savepoint::start_request(Job&& job, diagnostics* diag, Token&& token) {
  return asio::async_initiate<Token, detail::signature_t<Token, void>>(
      detail::initiate_request<detail::error_for<Token>>(impl_, ex_, state_ ? state_->lease->id : 0), token,
      std::forward<Job>(job), diag);
}

template <class... Trailing>
auto savepoint::async_release(Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return start_request(detail::savepoint_end_job(state_, false), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto savepoint::async_rollback(Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return start_request(detail::savepoint_end_job(state_, true), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
