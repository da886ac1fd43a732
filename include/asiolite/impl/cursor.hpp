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
  using result_type = std::conditional_t<Batch, batch_type, std::optional<value_type>>;

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

 private:
  static result_type take(detail::cursor_state<T>& state) {
    if constexpr (Batch)
      return state.take_batch();
    else
      return state.take_next();
  }

  cursor& self_;
};

template <class T>
template <class... Trailing>
auto cursor<T>::async_next(Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        using Token = decltype(token);
        return asio::async_initiate<Token, detail::signature_t<Token, std::optional<value_type>>>(
            initiate_fetch<false, detail::error_for<Token>>(*this), token, diag);
      },
      std::forward<Trailing>(trailing)...);
}

template <class T>
template <class... Trailing>
auto cursor<T>::async_next_batch(Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        using Token = decltype(token);
        return asio::async_initiate<Token, detail::signature_t<Token, batch_type>>(
            initiate_fetch<true, detail::error_for<Token>>(*this), token, diag);
      },
      std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
