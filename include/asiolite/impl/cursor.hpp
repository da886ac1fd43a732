// Out-of-line template bodies of cursor.hpp.
#pragma once

#include <asiolite/detail/cursor_jobs.hpp>
#include <asiolite/detail/immediate.hpp>
#include <asiolite/detail/operation.hpp>
#include <asiolite/detail/trailing.hpp>

namespace asiolite {

// Completes at once from what the cursor holds, or starts a request for the next batch.
template <class T>
template <bool Batch, class Error>
class cursor<T>::initiate_fetch {
 public:
  using executor_type = asio::any_io_executor;
  using result_type = fetch_result<Batch>;

  explicit initiate_fetch(cursor& self) noexcept : self_(self) {}
  executor_type get_executor() const noexcept { return self_.target_.ex; }

  template <class Handler>
  void operator()(Handler&& handler, diagnostics* diag) const {
    auto& state = self_.state_;
    detail::failure f;
    if (!state) {
      f.set(errc::closed, "the cursor is empty (moved from, or from a failed async_cursor)");
      detail::post_completion(std::forward<Handler>(handler), self_.target_.ex,
                              detail::make_completion_error<Error>(f, {}, diag), result_type());
      return;
    }
    if (state->needs_request(f)) {
      detail::initiate_request<Error>(self_.target_.impl, self_.target_.ex, self_.target_.lease)(
          std::forward<Handler>(handler), detail::cursor_fetch_job<T, Batch>(state), diag);
      return;
    }
    auto error = detail::make_completion_error<Error>(f, state->sql(), diag);
    detail::post_completion(std::forward<Handler>(handler), self_.target_.ex, std::move(error),
                            f ? result_type() : take(*state));
  }

  static result_type take(detail::cursor_state<T>& state) {
    if constexpr (Batch)
      return state.take_batch();
    else
      return state.take_next();
  }

 private:
  cursor& self_;
};

namespace detail {
template <class Token>
inline constexpr bool is_use_awaitable_v = false;
template <class Executor>
inline constexpr bool is_use_awaitable_v<asio::use_awaitable_t<Executor>> = true;
}  // namespace detail

// A coroutine of its own, run when awaited: what is at hand is returned without
// suspending; only a call that needs a request goes through async_initiate.
template <class T>
template <bool Batch, class Executor>
asio::awaitable<typename cursor<T>::template fetch_result<Batch>, Executor> cursor<T>::fetch_awaitable(
    asio::use_awaitable_t<Executor> token, diagnostics* diag) {
  if (state_) {
    detail::failure f;
    if (!state_->needs_request(f)) {
      if (auto error = detail::make_completion_error<std::exception_ptr>(f, state_->sql(), diag))
        std::rethrow_exception(error);
      co_return initiate_fetch<Batch, std::exception_ptr>::take(*state_);
    }
  }
  co_return co_await asio::async_initiate<asio::use_awaitable_t<Executor>,
                                          void(std::exception_ptr, fetch_result<Batch>)>(
      initiate_fetch<Batch, std::exception_ptr>(*this), token, diag);
}

template <class T>
template <bool Batch, class... Trailing>
auto cursor<T>::start_fetch(Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        using Token = decltype(token);
        if constexpr (detail::is_use_awaitable_v<std::decay_t<Token>>)
          return fetch_awaitable<Batch>(token, diag);
        else
          return asio::async_initiate<Token, detail::signature_t<Token, fetch_result<Batch>>>(
              initiate_fetch<Batch, detail::error_for<Token>>(*this), token, diag);
      },
      std::forward<Trailing>(trailing)...);
}

template <class T>
template <class... Trailing>
auto cursor<T>::async_next(Trailing&&... trailing) {
  return start_fetch<false>(std::forward<Trailing>(trailing)...);
}

template <class T>
template <class... Trailing>
auto cursor<T>::async_next_batch(Trailing&&... trailing) {
  return start_fetch<true>(std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
