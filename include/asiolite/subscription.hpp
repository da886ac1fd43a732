// A subscription to a connection's events: its transactions (connection::async_watch_transactions)
// or its statements (connection::async_trace, pool::async_trace). Delivery lasts as long as
// the object, or until unsubscribe().
#pragma once

#include <asiolite/detail/event_queue.hpp>

#include <cstdint>
#include <memory>
#include <utility>

namespace asiolite {

class [[nodiscard]] subscription {
 public:
  subscription() noexcept = default;
  explicit subscription(std::shared_ptr<detail::subscriber_state> s) noexcept : state_(std::move(s)) {}
  subscription(subscription&&) noexcept = default;
  subscription& operator=(subscription&& o) noexcept {
    if (this != &o) {
      unsubscribe();
      state_ = std::move(o.state_);
    }
    return *this;
  }
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;
  ~subscription() { unsubscribe(); }

  /// Ends delivery: no handler call starts after this returns, but for one already
  /// begun on another thread of the handler's executor (none, when called on that
  /// executor's thread or strand, for example from the handler), and nothing more is
  /// posted to that executor. Never blocks. The handler is destroyed here, or by a
  /// delivery already posted, on its executor; never by the worker.
  void unsubscribe() noexcept {
    if (state_) std::exchange(state_, nullptr)->stop();
  }

  /// Subscribed, and the connection has not closed (its close ends every subscription,
  /// after the events already queued; a pool's trace ends when all its connections have).
  bool active() const noexcept { return state_ && !state_->ended(); }

  /// Events this subscription lost so far, its handler being too far behind
  /// (watch_options::max_pending, trace_options::max_pending); each delivered event also
  /// says how many it follows.
  std::uint64_t events_lost() const noexcept { return state_ ? state_->events_lost() : 0; }

 private:
  std::shared_ptr<detail::subscriber_state> state_;
};

}  // namespace asiolite
