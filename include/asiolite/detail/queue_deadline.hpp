// options::queue_timeout: what waits in a queue (a connection's, a pool's) longer than
// this fails without running. One timer per queue, on the queue's executor, armed only
// while something with a deadline waits, and always for the earliest deadline.
#pragma once

#include <asiolite/config.hpp>

#include <asio/steady_timer.hpp>

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
      asio::post(ex_, [owner = std::move(owner)] { owner->deadline().sweep(owner); });
    } catch (...) {
      armed_.store(false, std::memory_order_seq_cst);  // out of memory: no deadline, as before
    }
  }

  /// No deadline is left: the next arm() starts the sweeps again.
  void disarm() noexcept { armed_.store(false, std::memory_order_seq_cst); }

 private:
  template <class Owner>
  void sweep(const std::shared_ptr<Owner>& owner) {
    const std::optional<deadline_clock::time_point> next = owner->sweep_deadlines();
    if (!next) return;
    if (!timer_) timer_ = std::make_unique<asio::steady_timer>(ex_);
    timer_->expires_at(*next);
    // The owner stays alive until the wait ends (a dropped connection at most this long).
    timer_->async_wait([owner](std::error_code) { owner->deadline().sweep(owner); });
  }

  asio::any_io_executor ex_;
  std::atomic<long long> timeout_ms_{0};
  std::atomic<bool> armed_{false};
  std::unique_ptr<asio::steady_timer> timer_;  // used on ex_ only, by one sweep at a time
};

}  // namespace asiolite::detail
