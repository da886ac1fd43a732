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
#include <asiolite/detail/event_queue.hpp>
#include <asiolite/detail/sqlite.hpp>
#include <asiolite/detail/trace.hpp>
#include <asiolite/watch.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace asiolite::detail {

/// One transaction's end as the worker sealed it: shared by the queues of every subscriber.
struct transaction_record {
  using event_type = transaction_event;

  transaction_outcome outcome = transaction_outcome::committed;
  std::vector<change> changes;
  std::uint64_t not_kept = 0;

  /// Its share of a subscriber's max_pending: its changes, and one for the event.
  std::size_t weight() const noexcept { return changes.size() + 1; }
  transaction_event event(std::uint64_t lost_before) const noexcept {
    return {outcome, changes, not_kept, lost_before};
  }
};

using transaction_subscriber = subscriber<transaction_record>;

/// The handler's subscriber, delivering on the handler's associated executor, else on `ex`.
template <class Handler>
std::shared_ptr<transaction_subscriber> make_transaction_subscriber(const asio::any_io_executor& ex, Handler h,
                                                                    const watch_options& o) {
  static_assert(std::is_invocable_v<Handler&, const transaction_event&>,
                "asiolite: a transaction watcher is called as handler(const asiolite::transaction_event&)");
  return make_subscriber<transaction_record>(ex, std::move(h), o.max_pending);
}

/// One commit to a WAL database, as SQLite's WAL hook reported it.
struct wal_record {
  using event_type = wal_event;

  std::string database;
  int pages = 0;

  std::size_t weight() const noexcept { return 1; }
  wal_event event(std::uint64_t lost_before) const noexcept { return {database, pages, lost_before}; }
};

using wal_subscriber = subscriber<wal_record>;

/// The handler's subscriber, delivering on the handler's associated executor, else on `ex`.
template <class Handler>
std::shared_ptr<wal_subscriber> make_wal_subscriber(const asio::any_io_executor& ex, Handler h,
                                                    const watch_options& o) {
  static_assert(std::is_invocable_v<Handler&, const wal_event&>,
                "asiolite: a WAL watcher is called as handler(const asiolite::wal_event&)");
  return make_subscriber<wal_record>(ex, std::move(h), o.max_pending);
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

  /// Adds a WAL subscriber (connection::async_watch_wal). SQLite's WAL hook is also its
  /// automatic checkpoint: while asiolite's is installed, it checkpoints as SQLite's would.
  void watch_wal(std::shared_ptr<wal_subscriber> s);

  /// Adds a trace subscriber (connection::async_trace).
  void trace(std::shared_ptr<trace_subscriber> s, const trace_options& o) {
    tracer_.subscribe(std::move(s), o);
    install();
  }

  /// Something is traced: every step goes through tracer().step.
  bool tracing() const noexcept { return tracer_.active(); }
  statement_tracer& tracer() noexcept { return tracer_; }

  /// Before each request, while the WAL is watched: asiolite's WAL hook replaces again
  /// SQLite's, which a PRAGMA wal_autocheckpoint = N puts back; SQLite's gets it back
  /// once the last subscriber has left.
  void before_request() noexcept {
    if (wal_hooked_) install_wal_hook();
  }

  /// After each request: delivers a commit made in it; the trace's clocks stop.
  void after_request() noexcept {
    settle();
    if (tracer_.active() && tracer_.after_request()) install();
  }

  /// The handle closes: a transaction still open is rolled back by the close; the
  /// subscriptions end.
  void close() noexcept;

 private:
  static void on_update(void* self, int op, const char* database, const char* table, sqlite3_int64 rowid) noexcept;
  static int on_commit(void* self) noexcept;
  static void on_rollback(void* self) noexcept;
  static int on_trace(unsigned type, void* self, void* stmt, void*) noexcept;
  static int on_authorize(void* self, int action, const char* arg1, const char* arg2, const char* database,
                          const char* source) noexcept;
  static int on_wal(void* self, sqlite3* db, const char* database, int pages) noexcept;
  static int allow_all(void*, int, const char*, const char*, const char*, const char*) noexcept { return SQLITE_OK; }

  void settle() noexcept {
    if (commit_pending_) settle_commit();
  }
  void settle_commit() noexcept;
  void seal(transaction_outcome outcome) noexcept;
  void drop_stopped() noexcept;
  void install() noexcept;
  void install_authorizer() noexcept;
  void install_wal_hook() noexcept;
  void hook_wal() noexcept;

  sqlite3* db_;
  statement_tracer tracer_{db_};
  std::vector<std::shared_ptr<transaction_subscriber>> subscribers_;
  std::vector<std::shared_ptr<wal_subscriber>> wal_subscribers_;
  int autocheckpoint_ = 0;  // PRAGMA wal_autocheckpoint, while asiolite's WAL hook stands in for SQLite's
  std::unique_ptr<worker_predicate> filter_;
  std::unique_ptr<worker_authorizer> authorizer_;
  std::vector<change> current_;  // the open transaction's changes, kept up to keep_
  std::uint64_t not_kept_ = 0;
  std::size_t keep_ = 0;  // the largest max_pending of the subscribers
  bool commit_pending_ = false;
  bool watching_ = false;     // update, rollback and trace hooks, and the authorizer, installed
  bool committing_ = false;   // commit hook installed
  bool authorizing_ = false;  // authorizer installed
  bool wal_hooked_ = false;   // on_wal installed
  unsigned trace_mask_ = 0;   // what sqlite3_trace_v2 reports to on_trace
};

}  // namespace asiolite::detail

#ifndef ASIOLITE_SEPARATE_COMPILATION
#  include <asiolite/detail/impl/hooks.ipp>
#endif
