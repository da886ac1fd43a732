// One unit of work for the worker: the type-erased part that the queue and the worker see.
#pragma once

#include <asiolite/detail/failure.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

namespace asiolite::detail {

class database;

enum class request_kind : std::uint8_t {
  statement,  // anything that needs an open database
  open,
  close,
  begin,              // starts a transaction: when it succeeds, its lease holds the connection
  rollback,           // ends its transaction, or undoes a savepoint in it: never cancelled;
                      // nothing to do (success) once the transaction has ended
  release_statement,  // lets go of a statement a dead handle held: never cancelled, whatever the
                      // lease; nothing to do (success) once the connection is closing
};

/// Told on the worker when a lease ends (a pool's reader, held by a read transaction,
/// is free again then).
class lease_end_hook {
 public:
  virtual void ended() noexcept = 0;

 protected:
  ~lease_end_hook() = default;
};

/// A transaction's claim on its connection, shared by the transaction's handles and the
/// worker, which marks it ended when SQLite reports no transaction open any more.
struct lease_state {
  explicit lease_state(std::uint64_t lease_id) noexcept : id(lease_id) {}
  const std::uint64_t id;
  std::atomic<bool> ended{false};
  // Set before the BEGIN is submitted, never changed after; called once the lease ends.
  std::shared_ptr<lease_end_hook> on_end;
};

/// A fresh lease id: unique in the process, never 0.
inline std::uint64_t next_lease_id() noexcept {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

enum class request_state : std::uint8_t { idle, queued, running, done };

/// Function pointers instead of virtuals or std::function: the operation that derives
/// from this knows its handler's type; the queue and the worker do not need to.
class request {
 public:
  using run_fn = void (*)(request&, database&) noexcept;
  using complete_fn = void (*)(request&) noexcept;
  // Runs the completion handler on the calling thread (already on the handler's
  // executor), or, with run == false, frees the request without running it.
  using deliver_fn = void (*)(request&, bool run);

  request(request_kind kind, run_fn on_run, complete_fn on_complete) noexcept
      : kind_(kind), run_(on_run), complete_(on_complete) {}
  request(const request&) = delete;
  request& operator=(const request&) = delete;

  request_kind kind() const noexcept { return kind_; }

  /// Runs the request on the worker; the outcome stays in the request.
  void run(database& s) noexcept { run_(*this, s); }

  /// Hands the outcome to the caller's executor — or, when the caller is spinning for
  /// it (connection_impl::wait_for_result), to the caller, who then posts it from its own
  /// thread. Called exactly once; the request may be gone when it returns.
  void complete() noexcept {
    if (handoff.exchange(handoff_done, std::memory_order_acq_rel) == caller_waits) return;
    complete_(*this);
  }

  /// Posts the outcome, bypassing the handoff: for the caller that took the request back.
  void post_completion() noexcept { complete_(*this); }

  /// Completes without running.
  void abort(error_code ec, const char* why) noexcept {
    fail(ec, why);
    complete();
  }

  /// Records why the request will not run; complete() then reports it.
  void fail(error_code ec, const char* why) noexcept {
    try {
      failure_.set(ec, why);
    } catch (...) {
      failure_.code = ec;  // the words are optional, the code is not
    }
  }

  bool failed() const noexcept { return static_cast<bool>(failure_); }
  error_code failure_code() const noexcept { return failure_.code; }
  const std::string& failure_message() const noexcept { return failure_.message; }

  /// Adds words to the failure's message (the worker knows things the request does not).
  void append_to_message(const char* words) noexcept {
    try {
      failure_.message += words;
    } catch (...) {
    }
  }

  // The queue's bookkeeping, guarded by the connection's mutex.
  request_state state = request_state::idle;
  request* prev = nullptr;
  request* next = nullptr;

  // Which transaction the request belongs to (0: none): while one holds the connection,
  // only its requests run. Set before the request is submitted, never changed after.
  std::uint64_t lease = 0;
  // A begin request's lease, for the worker to mark ended when its transaction is over.
  std::shared_ptr<lease_state> begins;
  // False for requests that must run to their end once started (COMMIT).
  bool interruptible = true;

  // When it was submitted, with options::measure_time (unset: not measured).
  std::chrono::steady_clock::time_point submitted{};

  // When it has waited in the queue too long (options::queue_timeout); unset: never.
  std::chrono::steady_clock::time_point deadline{};

  // Set by a cancellation while the request runs; the progress handler watches it.
  std::atomic<bool> interrupt{false};

  // Who posts the completion: the completer (worker_posts, caller_left), or the caller
  // spinning for it (caller_waits, until the completer marks it handoff_done).
  static constexpr std::uint8_t worker_posts = 0, caller_waits = 1, handoff_done = 2, caller_left = 3;
  std::atomic<std::uint8_t> handoff{worker_posts};

  // Set when the completion goes through the connection's completion drain
  // (connection_impl::deliver_later), which calls this on the handler's executor.
  deliver_fn deliver = nullptr;

  // The last request a worker completes before it exits: its completion joins that worker.
  bool joins_worker = false;
  // An autocommit write that group commit may run in one transaction with the writes
  // queued behind it (options::group_commit): an execute or execute_many without a lease.
  bool groupable = false;
  // Counted in the connection's routed load (a pool's read): uncounted when it completes.
  bool counted = false;
  std::uint64_t worker = 0;  // which worker (connection_impl's generation), not a thread id: ids are reused

 protected:
  ~request() = default;

  failure failure_;

 private:
  request_kind kind_;
  run_fn run_;
  complete_fn complete_;
};

}  // namespace asiolite::detail
