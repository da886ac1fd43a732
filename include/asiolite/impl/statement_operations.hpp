// Out-of-line template bodies of statement_operations.hpp.
#pragma once

#include <asiolite/detail/access.hpp>
#include <asiolite/detail/cursor_jobs.hpp>
#include <asiolite/detail/execute_many.hpp>
#include <asiolite/detail/jobs.hpp>
#include <asiolite/detail/prepared_jobs.hpp>
#include <asiolite/detail/request_target.hpp>

#include <functional>
#include <memory>
#include <ranges>

namespace asiolite {

template <class Derived>
auto statement_operations<Derived>::target() const noexcept {
  return detail::access::target(static_cast<const Derived&>(*this));
}

template <class Derived>
template <class Form, class... Args>
auto statement_operations<Derived>::start_statement(std::string_view sql, Args&&... args) {
  return detail::async_request<is_statement_input>(
      target(),
      [&]<class... In>(std::tuple<In...>&& inputs) {
        return detail::statement_job<Form, detail::stored_t<In>...>(std::string(sql),
                                                                    detail::store_all(std::move(inputs)));
      },
      std::forward<Args>(args)...);
}

template <class Derived>
template <class... Args>
auto statement_operations<Derived>::async_execute(std::string_view sql, Args&&... args) {
  return start_statement<detail::execute_form>(sql, std::forward<Args>(args)...);
}

template <class Derived>
template <class T, class... Args>
auto statement_operations<Derived>::async_query(std::string_view sql, Args&&... args) {
  if constexpr (!std::is_same_v<T, rows>) detail::check_row_type<T>();
  return start_statement<detail::query_form_t<T>>(sql, std::forward<Args>(args)...);
}

template <class Derived>
template <class T, class... Args>
auto statement_operations<Derived>::async_query_one(std::string_view sql, Args&&... args) {
  detail::check_row_type<T>();
  return start_statement<detail::query_one_form<T>>(sql, std::forward<Args>(args)...);
}

template <class Derived>
template <class T, class... Args>
auto statement_operations<Derived>::async_query_scalar(std::string_view sql, Args&&... args) {
  detail::check_scalar_type<T>();
  return start_statement<detail::query_scalar_form<T>>(sql, std::forward<Args>(args)...);
}

template <class Derived>
template <class... Trailing>
auto statement_operations<Derived>::async_execute_script(std::string_view sql, Trailing&&... trailing) {
  return detail::async_request(target(), detail::script_job(std::string(sql)), std::forward<Trailing>(trailing)...);
}

template <class Derived>
template <class Fn, class... Trailing>
auto statement_operations<Derived>::async_call(Fn&& fn, Trailing&&... trailing) {
  static_assert(std::is_invocable_v<std::decay_t<Fn>&, sync_handle&>,
                "asiolite: async_call needs a callable taking asiolite::sync_handle&");
  return detail::async_request(target(), detail::call_job<std::decay_t<Fn>>(std::forward<Fn>(fn)),
                               std::forward<Trailing>(trailing)...);
}

template <class Derived>
template <class Range, class... Trailing>
auto statement_operations<Derived>::async_execute_many(std::string_view sql, Range&& elements, Trailing&&... trailing) {
  detail::check_many_range<Range>();
  using stored = decltype(detail::store_elements(std::forward<Range>(elements)));
  using job = detail::statement_job<detail::execute_many_form, stored>;
  return detail::async_request(
      target(), job(std::string(sql), std::tuple<stored>(detail::store_elements(std::forward<Range>(elements)))),
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
  // A pool's target names no connection yet: the job is bound to the reader it is
  // routed to (cursor_open_job::bind_reader).
  const auto where = target();
  const detail::request_target to = where;
  return detail::async_request<is_statement_input>(
      where,
      [&]<class... In>(std::tuple<In...>&& inputs) {
        using state = detail::cursor_state_with<T, detail::stored_t<In>...>;
        auto st = std::make_shared<state>(std::string(sql), opts.batch_size, to.impl.get(), to.lease,
                                          detail::store_all(std::move(inputs)));
        return detail::cursor_open_job<T>(to, std::move(st));
      },
      std::forward<Args>(args)...);
}

template <class Derived>
template <class... Trailing>
auto statement_operations<Derived>::async_prepare(std::string_view sql, Trailing&&... trailing) {
  return detail::async_request(
      target(), detail::prepare_job(target(), std::make_shared<detail::held_statement>(std::string(sql))),
      std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
