// SQLite's update, commit and rollback hooks, turned into one event per transaction and
// delivered to the subscribers' executors (connection::async_watch_transactions).
//
// On the worker, hook_hub collects the changes SQLite reports while a transaction runs and
// seals them into one record when it ends: at the rollback hook (rolled back), or once a
// commit the commit hook announced has happened. SQLite calls the commit hook before it
// commits, and a COMMIT can still fail there (SQLITE_BUSY in rollback-journal mode) with the
// transaction left open; so a commit is settled where the outcome shows, in autocommit mode
// or not: when the next statement starts (the trace hook's SQLITE_TRACE_STMT), at the end
// of the request, and at close. Each subscriber has its own queue: the worker pushes and
// never waits; the subscriber's executor drains it, one event per handler call.
#pragma once

#include <asiolite/authorizer.hpp>
#include <asiolite/config.hpp>
#include <asiolite/detail/sqlite.hpp>
#include <asiolite/watch.hpp>

#include <asio/associated_executor.hpp>
#include <asio/post.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace asiolite::detail {

/// One transaction's end as the worker sealed it: shared by the queues of every subscriber.
struct transaction_record {
  transaction_outcome outcome = transaction_outcome::committed;
  std::vector<change> changes;
  std::uint64_t not_kept = 0;
};

/// Where a subscription's events go: its handler, and the executor it runs on. Held by the
/// subscriber until the subscription ends, and by each posted drain: so it is destroyed by
/// the program's thread (unsubscribing) or on the executor, never by the worker, which
/// could outlive the executor.
class transaction_delivery {
 public:
  explicit transaction_delivery(asio::any_io_executor ex) noexcept : ex_(std::move(ex)) {}
  transaction_delivery(const transaction_delivery&) = delete;
  transaction_delivery& operator=(const transaction_delivery&) = delete;
  virtual ~transaction_delivery() = default;

  const asio::any_io_executor& executor() const noexcept { return ex_; }
  virtual void call(const transaction_event& e) = 0;

 private:
  const asio::any_io_executor ex_;
};

template <class Handler>
class transaction_delivery_for final : public transaction_delivery {
 public:
  transaction_delivery_for(asio::any_io_executor ex, Handler h)
      : transaction_delivery(std::move(ex)), handler_(std::move(h)) {}
  void call(const transaction_event& e) override { handler_(e); }

 private:
  Handler handler_;
};

/// A subscription's state: the queue between the worker (push) and the handler's executor
/// (drain), and the delivery, until unsubscribed. Shared by the subscription object, the
/// worker's hub, and a posted drain.
class transaction_subscriber : public std::enable_shared_from_this<transaction_subscriber> {
 public:
  transaction_subscriber(std::shared_ptr<transaction_delivery> d, std::size_t max_pending) noexcept
      : delivery_(std::move(d)), max_pending_(max_pending) {}
  transaction_subscriber(const transaction_subscriber&) = delete;
  transaction_subscriber& operator=(const transaction_subscriber&) = delete;

  std::size_t max_pending() const noexcept { return max_pending_; }

  /// Worker: queues `r` for the handler, or counts it lost if the subscriber is behind (an
  /// event always fits an empty queue). Posts a drain when none is scheduled.
  void push(const std::shared_ptr<const transaction_record>& r) noexcept {
    const std::size_t weight = r->changes.size() + 1;
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

  /// Any thread: no handler call starts after this, but one a drain has already begun,
  /// and nothing more is posted to the executor. The delivery is let go here (or by the
  /// drain holding it, on the executor).
  void stop() noexcept {
    std::shared_ptr<transaction_delivery> d;
    {
      std::lock_guard lock(mutex_);
      d = std::move(delivery_);
      queue_.clear();
      pending_ = 0;
    }
  }
  bool stopped() const noexcept {
    std::lock_guard lock(mutex_);
    return !delivery_;
  }

  /// Worker: no event will come any more (the connection closed).
  void end() noexcept { ended_.store(true, std::memory_order_release); }
  bool ended() const noexcept { return ended_.load(std::memory_order_acquire); }

  std::uint64_t events_lost() const noexcept { return lost_total_.load(std::memory_order_relaxed); }

 private:
  struct entry {
    std::shared_ptr<const transaction_record> record;
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
      asio::post(delivery_->executor(), [self = shared_from_this(), d = delivery_] { self->drain(*d); });
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
  void drain(transaction_delivery& d) {
    struct resume {
      transaction_subscriber& s;
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
        pending_ -= e.record->changes.size() + 1;
      }
      const transaction_record& r = *e.record;
      d.call(transaction_event{r.outcome, r.changes, r.not_kept, e.lost_before});
    }
  }

  mutable std::mutex mutex_;
  std::shared_ptr<transaction_delivery> delivery_;  // null once stopped
  std::deque<entry> queue_;
  std::size_t pending_ = 0;       // the weight of queue_: its changes, and one per event
  std::uint64_t lost_since_ = 0;  // events lost since the last one queued
  bool scheduled_ = false;        // a drain is posted or running
  std::atomic<bool> ended_{false};
  std::atomic<std::uint64_t> lost_total_{0};
  const std::size_t max_pending_;
};

/// The handler's subscriber, delivering on the handler's associated executor, else on `ex`.
template <class Handler>
std::shared_ptr<transaction_subscriber> make_subscriber(const asio::any_io_executor& ex, Handler h,
                                                        const watch_options& o) {
  static_assert(std::is_invocable_v<Handler&, const transaction_event&>,
                "asiolite: a transaction watcher is called as handler(const asiolite::transaction_event&)");
  asio::any_io_executor where = asio::get_associated_executor(h, ex);
  auto d = std::make_shared<transaction_delivery_for<Handler>>(std::move(where), std::move(h));
  return std::make_shared<transaction_subscriber>(std::move(d), o.max_pending);
}

/// A bool() callable of the program's that runs on the worker, type-erased: a commit
/// filter (connection::async_set_commit_filter_on_worker), a progress handler
/// (async_set_progress_handler_on_worker).
class worker_predicate {
 public:
  virtual ~worker_predicate() = default;
  virtual bool call() = 0;
};

template <class Fn>
class worker_predicate_for final : public worker_predicate {
 public:
  explicit worker_predicate_for(Fn fn) : fn_(std::move(fn)) {}
  bool call() override { return static_cast<bool>(fn_()); }

 private:
  Fn fn_;
};

template <class Fn>
std::unique_ptr<worker_predicate> make_worker_predicate(Fn fn) {
  static_assert(std::is_invocable_r_v<bool, Fn&>, "asiolite: this callable is called as fn() and returns bool");
  return std::make_unique<worker_predicate_for<Fn>>(std::move(fn));
}

/// Calls p, taking an exception for `if_throws`: a C callback of SQLite's cannot let one out.
inline bool call_predicate(worker_predicate& p, bool if_throws) noexcept {
  try {
    return p.call();
  } catch (...) {
    return if_throws;
  }
}

/// The program's authorizer (connection::async_set_authorizer_on_worker), type-erased.
class worker_authorizer {
 public:
  virtual ~worker_authorizer() = default;
  virtual authorization call(const authorization_request& q) = 0;
};

template <class Fn>
class worker_authorizer_for final : public worker_authorizer {
 public:
  explicit worker_authorizer_for(Fn fn) : fn_(std::move(fn)) {}
  authorization call(const authorization_request& q) override { return fn_(q); }

 private:
  Fn fn_;
};

template <class Fn>
std::unique_ptr<worker_authorizer> make_authorizer(Fn fn) {
  static_assert(std::is_invocable_r_v<authorization, Fn&, const authorization_request&>,
                "asiolite: an authorizer is called as fn(const asiolite::authorization_request&) and returns "
                "asiolite::authorization");
  return std::make_unique<worker_authorizer_for<Fn>>(std::move(fn));
}

/// The worker's side: the SQLite hooks of one open handle, installed while something uses
/// them. Worker thread only.
class hook_hub {
 public:
  explicit hook_hub(sqlite3* db) noexcept : db_(db) {}
  hook_hub(const hook_hub&) = delete;
  hook_hub& operator=(const hook_hub&) = delete;
  ~hook_hub() { close(); }

  /// Adds a subscriber: it gets the end of every transaction that ends from now on.
  void subscribe(std::shared_ptr<transaction_subscriber> s);

  /// Replaces the commit filter (null: none).
  void set_commit_filter(std::unique_ptr<worker_predicate> f) noexcept;

  /// Replaces the program's authorizer (null: none). Every prepared statement is prepared
  /// again before it next runs, asked by the new one.
  void set_authorizer(std::unique_ptr<worker_authorizer> a) noexcept;

  /// After each request: delivers a commit made in it.
  void settle() noexcept {
    if (commit_pending_) settle_commit();
  }

  /// The handle closes: a transaction still open is rolled back by the close; the
  /// subscriptions end.
  void close() noexcept;

 private:
  static void on_update(void* self, int op, const char* database, const char* table, sqlite3_int64 rowid) noexcept;
  static int on_commit(void* self) noexcept;
  static void on_rollback(void* self) noexcept;
  static int on_trace(unsigned type, void* self, void*, void*) noexcept;
  static int on_authorize(void* self, int action, const char* arg1, const char* arg2, const char* database,
                          const char* source) noexcept;
  static int allow_all(void*, int, const char*, const char*, const char*, const char*) noexcept { return SQLITE_OK; }

  void settle_commit() noexcept;
  void seal(transaction_outcome outcome) noexcept;
  void drop_stopped() noexcept;
  void install() noexcept;
  void install_authorizer() noexcept;

  sqlite3* db_;
  std::vector<std::shared_ptr<transaction_subscriber>> subscribers_;
  std::unique_ptr<worker_predicate> filter_;
  std::unique_ptr<worker_authorizer> authorizer_;
  std::vector<change> current_;  // the open transaction's changes, kept up to keep_
  std::uint64_t not_kept_ = 0;
  std::size_t keep_ = 0;  // the largest max_pending of the subscribers
  bool commit_pending_ = false;
  bool watching_ = false;    // update, rollback and trace hooks, and the authorizer, installed
  bool committing_ = false;  // commit hook installed
  bool authorizing_ = false;  // authorizer installed
};

}  // namespace asiolite::detail

#ifndef ASIOLITE_SEPARATE_COMPILATION
#  include <asiolite/detail/impl/hooks.ipp>
#endif
