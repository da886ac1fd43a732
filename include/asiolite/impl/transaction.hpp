// Out-of-line template bodies of transaction.hpp and savepoint.hpp.
#pragma once

#include <asiolite/detail/operation.hpp>
#include <asiolite/detail/trailing.hpp>
#include <asiolite/detail/transaction_jobs.hpp>

namespace asiolite {

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
