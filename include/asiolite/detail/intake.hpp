// The intake: how a statement reaches a running worker without the connection's mutex.
// Submitters push onto a lock-free stack; the worker (or any holder of the mutex) takes
// everything at once, oldest first, into the request queue, which then decides as it
// would have at submission whether each request runs. Closed while no worker runs.
#pragma once

#include <asiolite/detail/request.hpp>

#include <atomic>
#include <cstdint>

namespace asiolite::detail {

class intake {
 public:
  struct pushed {
    bool done;       // false: the intake is closed, use the locked path
    bool was_empty;  // nothing else was waiting in the intake
  };

  /// Pushes `r` (linked through r.next) unless the intake is closed. Any thread.
  /// seq_cst: with the worker's parking (connection_impl::wait_for_request), either the
  /// worker sees `r` or the pusher sees the worker parked.
  pushed push(request& r) noexcept {
    std::uintptr_t head = head_.load(std::memory_order_relaxed);
    while (head != closed) {
      r.next = reinterpret_cast<request*>(head);
      if (head_.compare_exchange_weak(head, reinterpret_cast<std::uintptr_t>(&r), std::memory_order_seq_cst,
                                      std::memory_order_relaxed))
        return {true, head == 0};
    }
    return {false, false};
  }

  /// Everything pushed, oldest first (linked by next), and the intake left open, or
  /// closed when `close`. Only a holder of the connection's mutex takes, closes or opens.
  request* take(bool close = false) noexcept {
    const std::uintptr_t seen = head_.load(std::memory_order_relaxed);
    if (seen == closed || (seen == 0 && !close)) return nullptr;
    std::uintptr_t lifo = head_.exchange(close ? closed : 0, std::memory_order_acquire);
    request* fifo = nullptr;
    for (auto* r = reinterpret_cast<request*>(lifo); r;) {
      request* next = r->next;
      r->next = fifo;
      fifo = r;
      r = next;
    }
    return fifo;
  }

  /// Opens a closed intake, for a new worker. Under the mutex.
  void open() noexcept { head_.store(0, std::memory_order_relaxed); }

  /// Nothing waits to be taken in (a closed intake is not empty: the worker, which is
  /// the one to ask, only runs while it is open).
  bool empty(std::memory_order order = std::memory_order_relaxed) const noexcept { return head_.load(order) == 0; }

  /// Requests were pushed and not taken yet (false for a closed intake).
  bool holds_requests(std::memory_order order = std::memory_order_relaxed) const noexcept {
    const std::uintptr_t head = head_.load(order);
    return head != 0 && head != closed;
  }

 private:
  static constexpr std::uintptr_t closed = 1;
  std::atomic<std::uintptr_t> head_{closed};
};

}  // namespace asiolite::detail
