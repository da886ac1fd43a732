// An operation made of other asiolite operations (opening or closing a pool's connections),
// written as a coroutine, behind an initiating function that takes any completion token.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/immediate.hpp>
#include <asiolite/detail/operation.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace asiolite::detail {

/// What such a coroutine returns: its failure (none: success) and, unless void, its value.
template <class R>
struct composed_outcome {
  failure f;
  R value{};
};
template <>
struct composed_outcome<void> {
  failure f;
};

template <class Error, class R, bool Cancellable = false>
class initiate_composed {
 public:
  using executor_type = asio::any_io_executor;
  explicit initiate_composed(executor_type ex) noexcept : ex_(std::move(ex)) {}
  executor_type get_executor() const noexcept { return ex_; }

  /// Runs the coroutine `make()` makes on the executor, then posts the handler's
  /// completion to the handler's executor (the operation counts as its work meanwhile).
  template <class Handler, class Make>
  void operator()(Handler&& handler, Make&& make, diagnostics* diag) const {
    auto work = asio::prefer(asio::get_associated_executor(handler, ex_), asio::execution::outstanding_work.tracked);
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto done = [h = std::decay_t<Handler>(std::forward<Handler>(handler)), work = std::move(work), ex = ex_, diag](
                    std::exception_ptr e, composed_outcome<R> outcome) mutable {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (...) {
          outcome.f.set_current_exception();
        }
      }
      Error error = make_completion_error<Error>(outcome.f, {}, diag);
      if constexpr (std::is_void_v<R>)
        post_completion(std::move(h), ex, std::move(error));
      else
        post_completion(std::move(h), ex, std::move(error), std::move(outcome.value));
    };
    // A cancellable operation's coroutine sees the handler's cancellation slot (this_coro's
    // cancellation state), and so do the requests it awaits.
    if constexpr (Cancellable)
      asio::co_spawn(ex_, std::forward<Make>(make)(), asio::bind_cancellation_slot(slot, std::move(done)));
    else
      asio::co_spawn(ex_, std::forward<Make>(make)(), std::move(done));
  }

 private:
  executor_type ex_;
};

/// Starts `make()`, an asio::awaitable<composed_outcome<R>>, for `token`: the completion
/// signature is void(error, R) (void(error) for void), as for a request (operation.hpp).
template <class R, bool Cancellable = false, class Make, class Token>
auto start_composed(const asio::any_io_executor& ex, Make make, diagnostics* diag, Token&& token) {
  return asio::async_initiate<Token, signature_t<Token, R>>(initiate_composed<error_for<Token>, R, Cancellable>(ex),
                                                            token, std::move(make), diag);
}

}  // namespace asiolite::detail
