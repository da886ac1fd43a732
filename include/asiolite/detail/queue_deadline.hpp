// options::queue_timeout: what waits in a queue (a connection's, a pool's) longer than
// this fails without running. Sweeps on the queue's executor, with one timer for the
// earliest deadline, run only while something with a deadline waits.
#pragma once

#include <asiolite/config.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <utility>

namespace asiolite::detail {

using deadline_clock = std::chrono::steady_clock;

class queue_deadline {
 public:
  /// `Owner::sweep_deadlines()`, which runs on `ex`, fails what is overdue and returns
  /// the earliest deadline left, or nullopt after calling disarm() (under the lock that
  /// guards its queue, so that a deadline queued meanwhile re-arms: see arm()).
  explicit queue_deadline(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  queue_deadline(const queue_deadline&) = delete;
  queue_deadline& operator=(const queue_deadline&) = delete;

  std::chrono::milliseconds timeout() const noexcept {
    return std::chrono::milliseconds(timeout_ms_.load(std::memory_order_relaxed));
  }
  void set_timeout(std::chrono::milliseconds t) noexcept { timeout_ms_.store(t.count(), std::memory_order_relaxed); }

  /// Something with a deadline is queued (made visible to sweep_deadlines before this
  /// call): starts the sweeps unless they run already. Any thread.
  template <class Owner>
  void arm(std::shared_ptr<Owner> owner) noexcept {
    if (armed_.exchange(true, std::memory_order_seq_cst)) return;
    try {
      asio::post(ex_, [owner = std::move(owner)] { sweep(owner, nullptr); });
    } catch (...) {
      armed_.store(false, std::memory_order_seq_cst);  // out of memory: no deadline, as before
    }
  }

  /// No deadline is left: the next arm() starts the sweeps again.
  void disarm() noexcept { armed_.store(false, std::memory_order_seq_cst); }

 private:
  // One round: fails what is overdue, then waits for the earliest deadline left. The
  // timer belongs to the chain of rounds, not to the queue: it goes when the chain ends,
  // on the executor, and so never outlives the executor's context (the queue may).
  template <class Owner>
  static void sweep(const std::shared_ptr<Owner>& owner, std::shared_ptr<asio::steady_timer> timer) {
    const std::optional<deadline_clock::time_point> next = owner->sweep_deadlines();
    if (!next) return;
    if (!timer) timer = std::make_shared<asio::steady_timer>(owner->deadline().ex_);
    asio::steady_timer& t = *timer;
    // Nothing tells the timer when the request with that deadline runs, so it looks again
    // within `recheck`: once nothing with a deadline waits, the sweeps stop, and the wait
    // no longer holds the owner and the executor's work (with a timeout of an hour, or
    // duration::max() for "none", it would for that long).
    t.expires_at(std::min(*next, deadline_clock::now() + recheck));
    // The owner stays alive until the wait ends (a dropped connection at most `recheck`).
    t.async_wait([owner, timer = std::move(timer)](error_code) mutable { sweep(owner, std::move(timer)); });
  }

  static constexpr std::chrono::milliseconds recheck{50};

  asio::any_io_executor ex_;
  std::atomic<long long> timeout_ms_{0};
  std::atomic<bool> armed_{false};
};

}  // namespace asiolite::detail
