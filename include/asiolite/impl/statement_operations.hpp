// Out-of-line template bodies of statement_operations.hpp.
#pragma once

#include <asiolite/detail/cursor_jobs.hpp>
#include <asiolite/detail/jobs.hpp>
#include <asiolite/detail/prepared_jobs.hpp>

#include <functional>
#include <memory>
#include <ranges>

namespace asiolite {

template <class Derived>
template <class Action, class Token, class... Args>
auto statement_operations<Derived>::start_statement(std::string_view sql, std::tuple<Args...>&& args, diagnostics* diag,
                                                    Token&& token) {
  using job = detail::statement_job<Action, detail::stored_t<Args>...>;
  return derived().template start_request<job, typename Action::result_type>(
      job(std::string(sql), detail::store_all(std::move(args))), diag, std::forward<Token>(token));
}

template <class Derived>
template <class Action, class... Args>
auto statement_operations<Derived>::start_action(std::string_view sql, Args&&... args) {
  return detail::split_trailing<is_statement_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        return start_statement<Action>(sql, std::move(inputs), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Args>(args)...);
}

template <class Derived>
template <class... Args>
auto statement_operations<Derived>::async_execute(std::string_view sql, Args&&... args) {
  return start_action<detail::execute_action>(sql, std::forward<Args>(args)...);
}

template <class Derived>
template <class T, class... Args>
auto statement_operations<Derived>::async_query(std::string_view sql, Args&&... args) {
  if constexpr (!std::is_same_v<T, rows>) detail::check_row_type<T>();
  return start_action<detail::query_action_t<T>>(sql, std::forward<Args>(args)...);
}

template <class Derived>
template <class T, class... Args>
auto statement_operations<Derived>::async_query_one(std::string_view sql, Args&&... args) {
  detail::check_row_type<T>();
  return start_action<detail::query_one_action<T>>(sql, std::forward<Args>(args)...);
}

template <class Derived>
template <class T, class... Args>
auto statement_operations<Derived>::async_query_scalar(std::string_view sql, Args&&... args) {
  detail::check_scalar_type<T>();
  return start_action<detail::query_scalar_action<T>>(sql, std::forward<Args>(args)...);
}

template <class Derived>
template <class... Trailing>
auto statement_operations<Derived>::async_execute_script(std::string_view sql, Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return derived().template start_request<detail::script_job, void>(detail::script_job(std::string(sql)), diag,
                                                                          std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class Derived>
template <class Fn, class... Trailing>
auto statement_operations<Derived>::async_call(Fn&& fn, Trailing&&... trailing) {
  static_assert(std::is_invocable_v<std::decay_t<Fn>&, sync_handle&>,
                "asiolite: async_call needs a callable taking asiolite::sync_handle&");
  using job = detail::call_job<std::decay_t<Fn>>;
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return derived().template start_request<job, typename job::result_type>(job(std::forward<Fn>(fn)), diag,
                                                                                std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class Derived>
template <class Range, class... Trailing>
auto statement_operations<Derived>::async_execute_many(std::string_view sql, Range&& elements,
                                                       Trailing&&... trailing) {
  detail::check_many_range<Range>();
  using stored = decltype(detail::store_elements(std::forward<Range>(elements)));
  using job = detail::statement_job<detail::execute_many_action, stored>;
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return derived().template start_request<job, execute_many_result>(
            job(std::string(sql), std::tuple<stored>(detail::store_elements(std::forward<Range>(elements)))), diag,
            std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class Derived>
template <class T, class... Args>
auto statement_operations<Derived>::async_cursor(std::string_view sql, Args&&... args) {
  return async_cursor<T>(cursor_options{}, sql, std::forward<Args>(args)...);
}

template <class Derived>
template <class T, class... Args>
auto statement_operations<Derived>::async_cursor(const cursor_options& opts, std::string_view sql, Args&&... args) {
  if constexpr (!std::is_same_v<T, rows>) detail::check_row_type<T>();
  return detail::split_trailing<is_statement_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        return start_cursor<T>(opts, sql, std::move(inputs), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Args>(args)...);
}

template <class Derived>
template <class T, class Token, class... Args>
auto statement_operations<Derived>::start_cursor(const cursor_options& opts, std::string_view sql,
                                                 std::tuple<Args...>&& args, diagnostics* diag, Token&& token) {
  using state = detail::cursor_state_with<T, detail::stored_t<Args>...>;
  using job = detail::cursor_open_job<T>;
  auto stored = detail::store_all(std::move(args));
  detail::request_target target = derived().request_target();
  auto st = std::make_shared<state>(std::string(sql), opts.batch_size, target.impl.get(), target.lease,
                                    std::move(stored));
  return derived().template start_request<job, cursor<T>>(job(std::move(target), std::move(st)), diag,
                                                          std::forward<Token>(token));
}

template <class Derived>
template <class... Trailing>
auto statement_operations<Derived>::async_prepare(std::string_view sql, Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        auto st = std::make_shared<detail::held_statement>(std::string(sql));
        return derived().template start_request<detail::prepare_job, prepared_statement>(
            detail::prepare_job(derived().request_target(), std::move(st)), diag,
            std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
