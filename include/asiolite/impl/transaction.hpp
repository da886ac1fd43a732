// Out-of-line bodies of transaction.hpp.
#pragma once

#include <asiolite/detail/access.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/detail/transaction_jobs.hpp>

namespace asiolite {

namespace detail {
// A transaction that began but is never delivered (its handler is dropped) rolls back
// in its destructor like any other. One that did not begin is empty, with the
// connection's executor for its handlers.
inline transaction begin_job::take_result() {
  if (!begun_) return access::construct<transaction>(ex_, nullptr, nullptr);
  return access::construct<transaction>(ex_, impl_, state_);
}
}  // namespace detail

template <class... Trailing>
auto transaction::async_commit(Trailing&&... trailing) {
  return detail::async_request(request_target(), detail::commit_job{}, std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto transaction::async_rollback(Trailing&&... trailing) {
  return detail::async_request(request_target(), detail::rollback_job{}, std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto transaction::async_savepoint(Trailing&&... trailing) {
  // An empty transaction has no state to name a savepoint after; its request fails anyway.
  detail::transaction_state unused(0);
  return detail::async_request(request_target(), detail::savepoint_job(ex_, impl_, state_ ? *state_ : unused),
                               std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
