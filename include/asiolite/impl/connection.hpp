// Out-of-line template bodies of connection.hpp.
#pragma once

#include <asiolite/detail/jobs.hpp>
#include <asiolite/detail/operation.hpp>
#include <asiolite/detail/transaction_jobs.hpp>

#include <asio/steady_timer.hpp>

#include <algorithm>
#include <exception>

namespace asiolite {

template <class Job, class Result, class Token>
auto connection::start_request(Job&& job, diagnostics* diag, Token&& token) {
  using error = detail::error_for<Token>;
  return asio::async_initiate<Token, detail::signature_t<Token, Result>>(detail::initiate_request<error>(impl_, ex_),
                                                                         token, std::forward<Job>(job), diag);
}

template <class... Trailing>
auto connection::async_open(const executor_type& ex, std::string_view path, Trailing&&... trailing) {
  return detail::split_trailing<is_options_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        static_assert(std::tuple_size_v<std::remove_cvref_t<decltype(inputs)>> <= 1,
                      "asiolite: async_open takes (ex, path, [options], [diagnostics&], [token])");
        options opts;
        if constexpr (std::tuple_size_v<std::remove_cvref_t<decltype(inputs)>> == 1) opts = std::get<0>(inputs);
        connection conn(ex);
        auto impl = conn.impl_;
        impl->set_spin_wait(opts.spin_wait);
        using job = detail::open_new_job<connection>;
        using Token = decltype(token);
        return asio::async_initiate<Token, detail::signature_t<Token, connection>>(
            detail::initiate_request<detail::error_for<Token>>(std::move(impl), ex), token,
            job(std::string(path), std::move(opts), std::move(conn)), diag);
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_open(std::string_view path, Trailing&&... trailing) {
  return detail::split_trailing<is_options_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        static_assert(std::tuple_size_v<std::remove_cvref_t<decltype(inputs)>> <= 1,
                      "asiolite: async_open takes (path, [options], [diagnostics&], [token])");
        options opts;
        if constexpr (std::tuple_size_v<std::remove_cvref_t<decltype(inputs)>> == 1) opts = std::get<0>(inputs);
        if (impl_) impl_->set_spin_wait(opts.spin_wait);
        return start_request<detail::open_job, void>(detail::open_job(std::string(path), std::move(opts)), diag,
                                                     std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_close(Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return start_request<detail::close_job, void>(detail::close_job{}, diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_begin(Trailing&&... trailing) {
  return detail::split_trailing<is_begin_mode, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        static_assert(std::tuple_size_v<std::remove_cvref_t<decltype(inputs)>> <= 1,
                      "asiolite: async_begin takes ([begin_mode], [diagnostics&], [token])");
        begin_mode mode = begin_mode::immediate;
        if constexpr (std::tuple_size_v<std::remove_cvref_t<decltype(inputs)>> == 1) mode = std::get<0>(inputs);
        return start_request<detail::begin_job, transaction>(detail::begin_job(detail::begin_sql(mode), ex_, impl_), diag,
                                                             std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

namespace detail {
template <class Body>
using body_result_t = typename std::invoke_result_t<Body&, transaction&>::value_type;
}  // namespace detail

template <class Body>
auto connection::async_transaction(Body body, transaction_options opts) {
  using result_type = detail::body_result_t<Body>;
  return [](connection& db, Body tx_body, transaction_options tx_opts) -> asio::awaitable<result_type> {
    auto backoff = tx_opts.first_backoff;
    for (unsigned attempt = 1;; ++attempt) {
      std::exception_ptr failure;
      bool busy = false;
      try {
        transaction tx = co_await db.async_begin(tx_opts.mode);
        if constexpr (std::is_void_v<result_type>) {
          co_await tx_body(tx);
          co_await tx.async_commit();
          co_return;
        } else {
          result_type result = co_await tx_body(tx);
          co_await tx.async_commit();
          co_return result;
        }
      } catch (const sqlite_error& e) {
        busy = e.code() == errc::busy;
        failure = std::current_exception();
      } catch (...) {
        failure = std::current_exception();
      }
      // The transaction, destroyed above, has queued its ROLLBACK: it runs before any
      // later request on this connection, the next BEGIN included.
      if (!busy || attempt >= tx_opts.max_attempts) std::rethrow_exception(failure);
      asio::steady_timer timer(co_await asio::this_coro::executor, backoff);
      co_await timer.async_wait(asio::use_awaitable);
      backoff = std::min(backoff * 2, tx_opts.max_backoff);
    }
  }(*this, std::move(body), opts);
}

template <class Fn, class... Trailing>
auto connection::async_call_in_transaction(Fn&& fn, Trailing&&... trailing) {
  static_assert(std::is_invocable_v<std::decay_t<Fn>&, sync_handle&>,
                "asiolite: async_call_in_transaction needs a callable taking asiolite::sync_handle&");
  using job = detail::call_in_transaction_job<std::decay_t<Fn>>;
  return detail::split_trailing<is_begin_mode, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        static_assert(std::tuple_size_v<std::remove_cvref_t<decltype(inputs)>> <= 1,
                      "asiolite: async_call_in_transaction takes (fn, [begin_mode], [diagnostics&], [token])");
        begin_mode mode = begin_mode::immediate;
        if constexpr (std::tuple_size_v<std::remove_cvref_t<decltype(inputs)>> == 1) mode = std::get<0>(inputs);
        return start_request<job, typename job::result_type>(job(std::forward<Fn>(fn), detail::begin_sql(mode)), diag,
                                                             std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
