// Out-of-line bodies of savepoint.hpp.
#pragma once

#include <asiolite/detail/access.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/detail/transaction_jobs.hpp>

namespace asiolite {

namespace detail {
inline savepoint savepoint_job::take_result() {
  if (!made_) return access::construct<savepoint>(ex_, nullptr, nullptr);  // empty, with the executor
  return access::construct<savepoint>(ex_, impl_, state_);
}
}  // namespace detail

template <class... Trailing>
auto savepoint::async_release(Trailing&&... trailing) {
  return detail::async_request(request_target(), detail::savepoint_end_job(state_, false),
                               std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto savepoint::async_rollback(Trailing&&... trailing) {
  return detail::async_request(request_target(), detail::savepoint_end_job(state_, true),
                               std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
