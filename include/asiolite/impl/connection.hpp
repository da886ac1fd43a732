// Out-of-line template bodies of connection.hpp.
#pragma once

#include <asiolite/detail/jobs.hpp>
#include <asiolite/detail/operation.hpp>

namespace asiolite {

template <class Job, class Result, class Token>
auto connection::start(Job&& job, diagnostics* diag, Token&& token) {
  using error = detail::error_for<Token>;
  return asio::async_initiate<Token, detail::signature_t<Token, Result>>(detail::initiate_request<error>(impl_, ex_),
                                                                         token, std::forward<Job>(job), diag);
}

template <class Action, class Token, class... Args>
auto connection::start_statement(std::string_view sql, std::tuple<Args...>&& args, diagnostics* diag, Token&& token) {
  static_assert((detail::bindable<Args> && ...),
                "asiolite: an argument has a type that cannot be bound (see docs/values.md for the list)");
  using job = detail::statement_job<Action, detail::stored_t<Args>...>;
  auto stored = std::apply([](auto&&... a) { return std::tuple(detail::store(std::forward<decltype(a)>(a))...); },
                           std::move(args));
  return start<job, typename Action::result_type>(job(std::string(sql), std::move(stored)), diag,
                                                  std::forward<Token>(token));
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
        return start<detail::open_job, void>(detail::open_job(std::string(path), std::move(opts)), diag,
                                             std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_close(Trailing&&... trailing) {
  return detail::split_trailing<no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return start<detail::close_job, void>(detail::close_job{}, diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Args>
auto connection::async_execute(std::string_view sql, Args&&... args) {
  return detail::split_trailing<is_statement_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        return start_statement<detail::execute_action>(sql, std::move(inputs), diag,
                                                       std::forward<decltype(token)>(token));
      },
      std::forward<Args>(args)...);
}

template <class T, class... Args>
auto connection::async_query(std::string_view sql, Args&&... args) {
  using action = std::conditional_t<std::is_same_v<T, rows>, detail::query_action, detail::query_as_action<T>>;
  if constexpr (!std::is_same_v<T, rows>) {
    static_assert(detail::record_type<T>, "asiolite: async_query<T> needs a field type, a tuple or a plain aggregate");
    static_assert(!detail::record_has_views_v<T>,
                  "asiolite: views (string_view, blob_view) cannot outlive the statement; use std::string or blob");
  }
  return detail::split_trailing<is_statement_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        return start_statement<action>(sql, std::move(inputs), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Args>(args)...);
}

template <class T, class... Args>
auto connection::async_query_one(std::string_view sql, Args&&... args) {
  static_assert(detail::record_type<T>,
                "asiolite: async_query_one<T> needs a field type, a tuple or a plain aggregate");
  static_assert(!detail::record_has_views_v<T>, "asiolite: views cannot outlive the statement");
  return detail::split_trailing<is_statement_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        return start_statement<detail::query_one_action<T>>(sql, std::move(inputs), diag,
                                                            std::forward<decltype(token)>(token));
      },
      std::forward<Args>(args)...);
}

template <class T, class... Args>
auto connection::async_query_scalar(std::string_view sql, Args&&... args) {
  static_assert(detail::field_type<T>, "asiolite: async_query_scalar<T> needs a field type");
  static_assert(!detail::record_has_views_v<T>, "asiolite: views cannot outlive the statement");
  return detail::split_trailing<is_statement_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        return start_statement<detail::query_scalar_action<T>>(sql, std::move(inputs), diag,
                                                               std::forward<decltype(token)>(token));
      },
      std::forward<Args>(args)...);
}

template <class... Trailing>
auto connection::async_execute_script(std::string_view sql, Trailing&&... trailing) {
  return detail::split_trailing<no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return start<detail::script_job, void>(detail::script_job(std::string(sql)), diag,
                                               std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
