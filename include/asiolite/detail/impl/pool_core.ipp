// A pool's routing (pool_core.hpp): opening, the reads that wait for a reader, read transactions' holds.
// Part of the header-only build through asiolite/detail/pool_core.hpp; compiled once by <asiolite/src.hpp>
// with ASIOLITE_SEPARATE_COMPILATION.
#pragma once

#include <asiolite/detail/pool_core.hpp>

namespace asiolite::detail {

ASIOLITE_DECL void reader_hold::release() noexcept {
  if (!released_.exchange(true, std::memory_order_acq_rel)) core_->release(index_, generation_);
}

ASIOLITE_DECL pool_core::pool_core(asio::any_io_executor ex) : ex_(std::move(ex)) {}

ASIOLITE_DECL void pool_core::open(std::vector<std::shared_ptr<connection_impl>> routes,
                                   std::chrono::milliseconds queue_timeout) {
  deadline_.set_timeout(queue_timeout);
  std::lock_guard lock(mutex_);
  routes_ = std::move(routes);
  held_.assign(routes_.size(), false);
  ++generation_;
  open_ = true;
}

ASIOLITE_DECL auto pool_core::routes(std::size_t& waiting) const -> std::vector<route_snapshot> {
  std::lock_guard lock(mutex_);
  std::vector<route_snapshot> out;
  out.reserve(routes_.size());
  for (std::size_t i = 0; i < routes_.size(); ++i) out.push_back({routes_[i], held_[i] != 0});
  waiting = waiting_.size();
  return out;
}

ASIOLITE_DECL void pool_core::arm_deadline() noexcept { deadline_.arm(shared_from_this()); }

ASIOLITE_DECL auto pool_core::sweep_deadlines() -> std::optional<deadline_clock::time_point> {
  std::vector<pool_waiter*> overdue;
  std::optional<deadline_clock::time_point> next;
  {
    std::lock_guard lock(mutex_);
    const auto now = deadline_clock::now();
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      pool_waiter* w = *it;
      if (w->deadline != deadline_clock::time_point{} && w->deadline <= now) {
        overdue.push_back(w);
        it = waiting_.erase(it);
        continue;
      }
      if (w->deadline != deadline_clock::time_point{} && (!next || w->deadline < *next)) next = w->deadline;
      ++it;
    }
    if (!next) deadline_.disarm();  // under the mutex: route() queues and arms after it
  }
  for (pool_waiter* w : overdue)
    w->fail(make_error_code(asio::error::timed_out), "it waited for a free reader longer than options::queue_timeout");
  return next;
}

ASIOLITE_DECL bool pool_core::withdraw(pool_waiter* w) noexcept {
  std::lock_guard lock(mutex_);
  const auto it = std::find(waiting_.begin(), waiting_.end(), w);
  if (it == waiting_.end()) return false;
  waiting_.erase(it);
  return true;
}

ASIOLITE_DECL void pool_core::release(std::size_t index, std::uint64_t generation) noexcept {
  struct handed {
    pool_waiter* w;
    std::shared_ptr<connection_impl> reader;
    std::shared_ptr<reader_hold> hold;
  };
  std::vector<handed> go;
  {
    std::lock_guard lock(mutex_);
    if (generation != generation_ || index >= held_.size()) return;
    held_[index] = false;
    try {
      while (!waiting_.empty()) {
        const std::size_t i = pick();
        if (i == none) break;
        pool_waiter* w = waiting_.front();
        go.push_back({w, routes_[i], claim(i, w->holds)});
        waiting_.pop_front();
      }
    } catch (...) {
      // Out of memory while handing over: the rest wait for the next release.
    }
  }
  for (auto& h : go) h.w->dispatch(std::move(h.reader), std::move(h.hold));
}

ASIOLITE_DECL auto pool_core::pick() const noexcept -> std::size_t {
  std::size_t best = none;
  std::uint32_t best_load = 0;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (held_[i]) continue;
    const std::uint32_t load = routes_[i]->routed();
    if (best == none || load < best_load) {
      best = i;
      best_load = load;
    }
  }
  return best;
}

ASIOLITE_DECL auto pool_core::claim(std::size_t i, bool holds) -> std::shared_ptr<reader_hold> {
  std::shared_ptr<reader_hold> hold;
  if (holds) {
    hold = std::make_shared<reader_hold>(shared_from_this(), i, generation_);
    held_[i] = true;
  }
  routes_[i]->routed_add();
  return hold;
}

ASIOLITE_DECL void pool_core::fail_waiting(error_code ec, const char* why, bool closing) noexcept {
  std::deque<pool_waiter*> failed;
  {
    std::lock_guard lock(mutex_);
    failed.swap(waiting_);
    if (closing) {
      open_ = false;
      routes_.clear();
      held_.clear();
      ++generation_;
    }
  }
  for (pool_waiter* w : failed) w->fail(ec, why);
}

}  // namespace asiolite::detail
