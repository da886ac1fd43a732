// The pool's handle (pool.hpp): cancelling, statistics, letting go.
// Part of the header-only build through asiolite/pool.hpp; compiled once by <asiolite/src.hpp>
// with ASIOLITE_SEPARATE_COMPILATION.
#pragma once

#include <asiolite/pool.hpp>

namespace asiolite {

ASIOLITE_DECL void pool::cancel() {
  if (!core_) return;
  core_->cancel_waiting();
  members_->writer.cancel();
  std::lock_guard lock(members_->mutex);
  for (connection& r : members_->readers) r.cancel();
}

ASIOLITE_DECL pool_stats pool::stats() const {
  pool_stats s;
  if (!core_) return s;
  s.writer = members_->writer.stats();
  for (const auto& route : core_->routes(s.waiting)) {
    pool_stats::reader r;
    static_cast<connection_stats&>(r) = route.impl->stats();
    r.in_flight = route.impl->routed();
    r.held = route.held;
    s.readers.push_back(r);
  }
  return s;
}

ASIOLITE_DECL void pool::detach() noexcept {
  if (!core_) return;
  core_->close();
  std::vector<connection> readers;
  {
    std::lock_guard lock(members_->mutex);
    readers = std::move(members_->readers);
    members_->readers.clear();
    members_->reader_count.store(0);
    members_->state = members::phase::closed;
  }
  readers.clear();  // each closes after what is queued on it, as a connection's destructor does
  members_->writer = connection(ex_);
}

}  // namespace asiolite
