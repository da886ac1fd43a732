// Out-of-line template bodies of connection.hpp.
#pragma once

#include <asiolite/detail/jobs.hpp>
#include <asiolite/detail/operation.hpp>

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
        return start_request<detail::open_job, void>(detail::open_job(std::string(path), std::move(opts)), diag,
                                                     std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_close(Trailing&&... trailing) {
  return detail::split_trailing<no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return start_request<detail::close_job, void>(detail::close_job{}, diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
