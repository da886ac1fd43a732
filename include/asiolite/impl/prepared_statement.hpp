// Out-of-line template bodies of prepared_statement.hpp.
#pragma once

#include <asiolite/detail/access.hpp>
#include <asiolite/detail/execute_many.hpp>
#include <asiolite/detail/jobs.hpp>
#include <asiolite/detail/prepared_jobs.hpp>
#include <asiolite/detail/request_target.hpp>

#include <ranges>

namespace asiolite {

namespace detail {
inline prepared_statement prepare_job::take_result(const failure& f) { return deliver(f); }
}  // namespace detail

template <class Form, class... Args>
auto prepared_statement::start_run(Args&&... args) {
  return detail::async_request<is_statement_input>(
      target_,
      [&]<class... In>(std::tuple<In...>&& inputs) {
        return detail::prepared_job<Form, detail::stored_t<In>...>(state_, detail::store_all(std::move(inputs)));
      },
      std::forward<Args>(args)...);
}

template <class... Args>
auto prepared_statement::async_execute(Args&&... args) {
  return start_run<detail::execute_form>(std::forward<Args>(args)...);
}

template <class T, class... Args>
auto prepared_statement::async_query(Args&&... args) {
  if constexpr (!std::is_same_v<T, rows>) detail::check_row_type<T>();
  return start_run<detail::query_form_t<T>>(std::forward<Args>(args)...);
}

template <class T, class... Args>
auto prepared_statement::async_query_one(Args&&... args) {
  detail::check_row_type<T>();
  return start_run<detail::query_one_form<T>>(std::forward<Args>(args)...);
}

template <class T, class... Args>
auto prepared_statement::async_query_scalar(Args&&... args) {
  detail::check_scalar_type<T>();
  return start_run<detail::query_scalar_form<T>>(std::forward<Args>(args)...);
}

template <class Range, class... Trailing>
auto prepared_statement::async_execute_many(Range&& elements, Trailing&&... trailing) {
  detail::check_many_range<Range>();
  using stored = decltype(detail::store_elements(std::forward<Range>(elements)));
  using job = detail::prepared_job<detail::execute_many_form, stored>;
  return detail::async_request(target_,
                               job(state_, std::tuple<stored>(detail::store_elements(std::forward<Range>(elements)))),
                               std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
