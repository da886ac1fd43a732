// Events the worker reports to the program (transactions watched, statements traced):
// each subscriber has a bounded queue the worker pushes to without waiting, drained on the
// subscriber's executor, one event per handler call. A subscription object
// (subscription.hpp) ends it.
#pragma once

#include <asiolite/config.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

namespace asiolite::detail {

/// Where a subscription's events go: its handler, and the executor it runs on. Held by the
/// subscriber until the subscription ends, and by each posted drain: so it is destroyed by
/// the program's thread (unsubscribing) or on the executor, never by the worker, which
/// could outlive the executor.
template <class Event>
class event_delivery {
 public:
  explicit event_delivery(asio::any_io_executor ex) noexcept : ex_(std::move(ex)) {}
  event_delivery(const event_delivery&) = delete;
  event_delivery& operator=(const event_delivery&) = delete;
  virtual ~event_delivery() = default;

  const asio::any_io_executor& executor() const noexcept { return ex_; }
  virtual void call(const Event& e) = 0;

 private:
  const asio::any_io_executor ex_;
};

template <class Event, class Handler>
class event_delivery_for final : public event_delivery<Event> {
 public:
  event_delivery_for(asio::any_io_executor ex, Handler h)
      : event_delivery<Event>(std::move(ex)), handler_(std::move(h)) {}
  void call(const Event& e) override { handler_(e); }

 private:
  Handler handler_;
};

/// What a subscription object holds, whatever its events: it ends delivery, and reads
/// whether the sources (the connections feeding it) have all closed.
class subscriber_state {
 public:
  subscriber_state() = default;
  subscriber_state(const subscriber_state&) = delete;
  subscriber_state& operator=(const subscriber_state&) = delete;
  virtual ~subscriber_state() = default;

  /// Any thread: no handler call starts after this, but one a drain has already begun,
  /// and nothing more is posted to the executor.
  virtual void stop() noexcept = 0;

  /// Lock-free: the worker looks before each push whether to drop this subscriber.
  bool stopped() const noexcept { return stopped_.load(std::memory_order_acquire); }

  /// Worker: a connection begins feeding this subscriber (a pool's trace has one per
  /// connection), and ends when it closes.
  void attach() noexcept { sources_.fetch_add(1, std::memory_order_relaxed); }
  void end() noexcept { sources_.fetch_sub(1, std::memory_order_acq_rel); }
  bool ended() const noexcept { return sources_.load(std::memory_order_acquire) == 0; }

  std::uint64_t events_lost() const noexcept { return lost_total_.load(std::memory_order_relaxed); }

 protected:
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> lost_total_{0};

 private:
  std::atomic<int> sources_{0};
};

/// Worker: erases from `list` the subscribers that have stopped (each entry, or what
/// `project` makes of it, points to a subscriber_state), keeping the others' order; true
/// if any went, so that the caller recomputes what depends on the list.
template <class List, class Project = std::identity>
bool drop_stopped_from(List& list, Project project = {}) noexcept {
  return std::erase_if(list, [&](const auto& entry) { return std::invoke(project, entry)->stopped(); }) != 0;
}

/// A subscriber of `Record`s, which say what they weigh in the queue (weight()) and make
/// the event a handler gets (event(lost_before), a view of the record). Shared by the
/// subscription object, the worker(s) pushing, and a posted drain.
template <class Record>
class subscriber final : public subscriber_state, public std::enable_shared_from_this<subscriber<Record>> {
 public:
  using event_type = typename Record::event_type;
  using delivery = event_delivery<event_type>;

  subscriber(std::shared_ptr<delivery> d, std::size_t max_pending) noexcept
      : delivery_(std::move(d)), max_pending_(max_pending) {}

  std::size_t max_pending() const noexcept { return max_pending_; }

  /// Worker: queues `r` for the handler, or counts it lost if the subscriber is behind (an
  /// event always fits an empty queue). Posts a drain when none is scheduled.
  void push(const std::shared_ptr<const Record>& r) noexcept {
    const std::size_t weight = r->weight();
    std::lock_guard lock(mutex_);
    if (!delivery_) return;
    if (!queue_.empty() && pending_ + weight > max_pending_) {
      count_lost();
      return;
    }
    try {
      queue_.push_back({r, lost_since_});
    } catch (...) {
      count_lost();
      return;
    }
    lost_since_ = 0;
    pending_ += weight;
    // Under the mutex, as stop() takes it: nothing is posted once unsubscribe() returns,
    // and the program may then let the executor go.
    if (!std::exchange(scheduled_, true)) post_drain();
  }

  /// Worker: an event was lost before it could be queued (out of memory).
  void push_lost() noexcept {
    std::lock_guard lock(mutex_);
    count_lost();
  }

  /// The delivery is let go here (or by the drain holding it, on the executor).
  void stop() noexcept override {
    std::shared_ptr<delivery> d;
    {
      std::lock_guard lock(mutex_);
      d = std::move(delivery_);
      queue_.clear();
      pending_ = 0;
      stopped_.store(true, std::memory_order_release);
    }
  }

 private:
  struct entry {
    std::shared_ptr<const Record> record;
    std::uint64_t lost_before = 0;
  };

  // Events delivered per drain before it posts itself again, leaving the executor to
  // other work.
  static constexpr int drain_batch = 64;

  void count_lost() noexcept {
    ++lost_since_;
    lost_total_.fetch_add(1, std::memory_order_relaxed);
  }

  // Under the mutex, with scheduled_ set and the delivery there.
  void post_drain() noexcept {
    try {
      asio::post(delivery_->executor(), [self = this->shared_from_this(), d = delivery_] { self->drain(*d); });
    } catch (...) {
      scheduled_ = false;  // not posted (out of memory): the next push tries again
    }
  }

  // The drain goes on later (it has delivered its share, or a handler threw).
  void post_drain_again() noexcept {
    std::lock_guard lock(mutex_);
    if (queue_.empty() || !delivery_)
      scheduled_ = false;
    else
      post_drain();
  }

  // On the executor: one event per handler call, in order. A handler that throws lets the
  // exception out (to the executor's run(), as Asio's handlers do) with the rest of the
  // queue posted again.
  void drain(delivery& d) {
    struct resume {
      subscriber& s;
      bool more = true;
      ~resume() {
        if (more) s.post_drain_again();
      }
    } again{*this};
    for (int n = 0; n < drain_batch; ++n) {
      entry e;
      {
        std::lock_guard lock(mutex_);
        if (queue_.empty() || !delivery_) {
          scheduled_ = false;
          again.more = false;
          return;
        }
        e = std::move(queue_.front());
        queue_.pop_front();
        pending_ -= e.record->weight();
      }
      d.call(e.record->event(e.lost_before));
    }
  }

  mutable std::mutex mutex_;
  std::shared_ptr<delivery> delivery_;  // null once stopped
  std::deque<entry> queue_;
  std::size_t pending_ = 0;       // the weight of queue_
  std::uint64_t lost_since_ = 0;  // events lost since the last one queued
  bool scheduled_ = false;        // a drain is posted or running
  const std::size_t max_pending_;
};

/// The handler's subscriber, delivering on the handler's associated executor, else on `ex`.
template <class Record, class Handler>
std::shared_ptr<subscriber<Record>> make_subscriber(const asio::any_io_executor& ex, Handler h,
                                                    std::size_t max_pending) {
  using event_type = typename Record::event_type;
  asio::any_io_executor where = asio::get_associated_executor(h, ex);
  auto d = std::make_shared<event_delivery_for<event_type, Handler>>(std::move(where), std::move(h));
  return std::make_shared<subscriber<Record>>(std::move(d), max_pending);
}

}  // namespace asiolite::detail
