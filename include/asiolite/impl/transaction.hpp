// Out-of-line bodies of transaction.hpp.
#pragma once

#include <asiolite/detail/operation.hpp>
#include <asiolite/detail/trailing.hpp>
#include <asiolite/detail/transaction_jobs.hpp>

namespace asiolite {

namespace detail {
struct transaction_access {
  static transaction make(asio::any_io_executor ex, std::shared_ptr<connection_impl> impl,
                          std::shared_ptr<transaction_state> state) {
    return transaction(std::move(ex), std::move(impl), std::move(state));
  }
};

// A transaction that began but is never delivered (its handler is dropped) rolls back
// in its destructor like any other.
inline transaction begin_job::take_result() {
  return begun_ ? transaction_access::make(ex_, impl_, state_) : transaction();
}
}  // namespace detail

template <class Job, class Result, class Token>
auto transaction::start_request(Job&& job, diagnostics* diag, Token&& token) {
  return asio::async_initiate<Token, detail::signature_t<Token, Result>>(
      detail::initiate_request<detail::error_for<Token>>(impl_, ex_, state_ ? state_->lease->id : 0), token,
      std::forward<Job>(job), diag);
}

template <class... Trailing>
auto transaction::async_commit(Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return start_request<detail::commit_job, void>(detail::commit_job{}, diag,
                                                       std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto transaction::async_rollback(Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return start_request<detail::rollback_job, void>(detail::rollback_job{}, diag,
                                                         std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto transaction::async_savepoint(Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        // An empty transaction has no state to name a savepoint after; its request fails anyway.
        detail::transaction_state unused(0);
        return start_request<detail::savepoint_job, savepoint>(
            detail::savepoint_job(ex_, impl_, state_ ? *state_ : unused), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
