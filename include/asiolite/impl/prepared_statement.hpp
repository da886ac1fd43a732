// Out-of-line template bodies of prepared_statement.hpp.
#pragma once

#include <asiolite/detail/jobs.hpp>
#include <asiolite/detail/prepared_jobs.hpp>
#include <asiolite/detail/trailing.hpp>

#include <ranges>

namespace asiolite {

namespace detail {
inline prepared_statement prepared_access::make(request_target target, std::shared_ptr<held_statement> state) noexcept {
  return prepared_statement(std::move(target), std::move(state));
}

inline prepared_statement prepare_job::take_result(const failure& f) {
  if (f || !held_) return {};
  delivered_ = true;
  return prepared_access::make(target_, state_);
}
}  // namespace detail

template <class Action, class Token, class... Args>
auto prepared_statement::start_statement(std::tuple<Args...>&& args, diagnostics* diag, Token&& token) {
  using job = detail::prepared_job<Action, detail::stored_t<Args>...>;
  return detail::start_request<job, typename Action::result_type>(
      target_, job(state_, detail::store_all(std::move(args))), diag, std::forward<Token>(token));
}

template <class Action, class... Args>
auto prepared_statement::start_action(Args&&... args) {
  return detail::split_trailing<is_statement_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        return start_statement<Action>(std::move(inputs), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Args>(args)...);
}

template <class... Args>
auto prepared_statement::async_execute(Args&&... args) {
  return start_action<detail::execute_action>(std::forward<Args>(args)...);
}

template <class T, class... Args>
auto prepared_statement::async_query(Args&&... args) {
  if constexpr (!std::is_same_v<T, rows>) detail::check_row_type<T>();
  return start_action<detail::query_action_t<T>>(std::forward<Args>(args)...);
}

template <class T, class... Args>
auto prepared_statement::async_query_one(Args&&... args) {
  detail::check_row_type<T>();
  return start_action<detail::query_one_action<T>>(std::forward<Args>(args)...);
}

template <class T, class... Args>
auto prepared_statement::async_query_scalar(Args&&... args) {
  detail::check_scalar_type<T>();
  return start_action<detail::query_scalar_action<T>>(std::forward<Args>(args)...);
}

template <class Range, class... Trailing>
auto prepared_statement::async_execute_many(Range&& elements, Trailing&&... trailing) {
  detail::check_many_range<Range>();
  using stored = decltype(detail::store_elements(std::forward<Range>(elements)));
  using job = detail::prepared_job<detail::execute_many_action, stored>;
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        return detail::start_request<job, execute_many_result>(
            target_, job(state_, std::tuple<stored>(detail::store_elements(std::forward<Range>(elements)))), diag,
            std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
