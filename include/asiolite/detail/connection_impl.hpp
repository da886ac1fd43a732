// What a connection handle points to: the request queue, and the worker thread that
// owns the sqlite3 handle and drains the queue.
//
// Route map: how a request (request.hpp; made by operation.hpp) travels.
//   In, on the caller's thread (submit):
//     a. a statement while a worker runs: pushed onto the intake (intake.hpp), no mutex;
//        the worker is woken only if it is parked;
//     b. anything else: under the mutex, into request_queue (request_queue.hpp), which
//        queues it, starts a worker (an open), or refuses it (completed at once).
//   On the worker (worker_main, wait_for_request): under the mutex, the intake is taken
//     into the queue (oldest first) and the next request popped; it runs on the
//     database (database.hpp) outside the mutex; request_queue::ran then decides what
//     follows (a lease begins or ends, the worker stops). With nothing queued the worker
//     spins briefly (spin.hpp), then parks on wake_seq_.
//   Out (request::complete), one of three routes:
//     1. handoff: a caller spinning for this result (wait_for_result) takes it and posts
//        the completion itself;
//     2. the completion drain (deliver_later ... drain): for handlers on the connection's
//        own executor, one posted handler runs every completion it finds;
//     3. a plain post to the handler's executor (operation::do_complete).
//   Cancellation (cancel, cancel_all): a queued request is taken out and aborted; a
//     running one gets its interrupt flag set, which the database's progress and busy
//     handlers read.
//   Lifecycle: start_worker (on open), detach (the handle is gone: an implicit close),
//     join_worker (by the last completion), thread_reaper (threads nobody joined).
// Functions that depend on no template argument are defined in detail/impl/connection_impl.ipp (see
// config.hpp, ASIOLITE_DECL).
#pragma once

#include <asiolite/detail/database.hpp>
#include <asiolite/detail/intake.hpp>
#include <asiolite/detail/queue_deadline.hpp>
#include <asiolite/detail/request.hpp>
#include <asiolite/detail/request_queue.hpp>
#include <asiolite/detail/spin.hpp>
#include <asiolite/detail/thread_reaper.hpp>

#include <asiolite/config.hpp>
#include <asiolite/stats.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

namespace asiolite::detail {

class connection_impl : public std::enable_shared_from_this<connection_impl> {
 public:
  /// `home` is the connection's executor: where completions whose handlers use that same
  /// executor are delivered in batches (see deliver_later).
  explicit connection_impl(asio::any_io_executor home);
  connection_impl(const connection_impl&) = delete;
  connection_impl& operator=(const connection_impl&) = delete;

  ~connection_impl();

  bool is_open() const noexcept { return status_.load(std::memory_order_acquire) == request_queue::status::open; }

  /// Queues `r`, or completes it at once (posted, never inline) if it cannot run.
  /// Returns true when `r` is alone: queued on an awake worker with nothing ahead of it.
  bool submit(request& r);

  static constexpr std::chrono::microseconds max_spin_wait{10'000};

  /// How long a caller may spin for the result of a request it submitted alone.
  void set_spin_wait(std::chrono::microseconds d) noexcept {
    // Past a few microseconds a spin buys nothing; a long one would keep the completion
    // drain polling the caller's io_context that long after its last result.
    spin_wait_ns_.store(std::chrono::nanoseconds(std::min(d, max_spin_wait)).count(), std::memory_order_relaxed);
  }

  /// Joins a group of connections whose workers the spinners here keep off (spin.hpp's
  /// worker_cpus): a pool's readers. Before the connection is used.
  void join_cpus(std::shared_ptr<worker_cpus> cpus, std::size_t slot);

  /// options::queue_timeout, and the sweeps that apply it (queue_deadline.hpp).
  queue_deadline& deadline() noexcept { return deadline_; }

  /// A request with a queue deadline was submitted: starts the sweeps (queue_deadline::arm).
  void arm_deadline() noexcept;

  /// Fails the queued requests whose deadline has passed; returns the earliest left.
  std::optional<deadline_clock::time_point> sweep_deadlines();

  /// How many autocommit writes one COMMIT may cover (options::group_commit); 0 or 1: off.
  void set_group_commit(std::size_t most) noexcept { group_max_.store(most, std::memory_order_relaxed); }

  /// options::measure_time: requests are stamped when submitted, and timed as they run.
  void set_measure_time(bool on) noexcept { measure_time_.store(on, std::memory_order_relaxed); }

  /// The caller's side of the handoff (see request::complete). On these machines a
  /// sleeping thread takes tens of microseconds to wake: a caller that submitted a
  /// request alone spins briefly for its result instead of going back to its event loop
  /// to sleep, and posts the completion itself (see spin_backoff for the spins that fail).
  /// Returns true when the caller must post the completion (r.post_completion()).
  bool wait_for_result(request& r, bool alone) noexcept;

  /// The connection's executor.
  const asio::any_io_executor& home() const noexcept { return home_; }

  /// Requests a pool routed here that have not completed yet (see request::counted):
  /// the load a pool compares its readers by.
  std::uint32_t routed() const noexcept { return routed_.load(std::memory_order_relaxed); }
  void routed_add() noexcept { routed_.fetch_add(1, std::memory_order_relaxed); }
  void routed_done() noexcept { routed_.fetch_sub(1, std::memory_order_relaxed); }

  /// Requests queued and running now, and the counts so far (cancelled also counts those
  /// a cancellation took out of the queue): connection::stats.
  connection_stats stats();

  /// True on this connection's worker thread, whose own reference keeps the connection
  /// alive for as long as it runs: code there need not take one (and so leaves the
  /// reference count's cache line to the caller's thread).
  bool on_worker() const noexcept { return this_threads_worker() == this; }

  /// User code holding a sync_handle of this connection runs on this thread (its worker).
  bool runs_user_code_here() const noexcept { return user_code_on == &database_; }

  /// Delivers `r` (whose handler runs on home()) through the completion drain: one
  /// handler on home() that runs every completion it finds, and, while requests are still
  /// queued or running, keeps looking (by posting itself again) for up to spin_wait after
  /// the last one it found. A busy connection thus wakes its caller's event loop once per
  /// burst instead of once per request, and a caller already awake finds its results
  /// without the worker having to wake it. Thread-safe; `r` may be gone when it returns.
  void deliver_later(request& r) noexcept {
    request* head = delivered_.load(std::memory_order_relaxed);
    do {
      r.next = head;
    } while (!delivered_.compare_exchange_weak(head, &r, std::memory_order_seq_cst, std::memory_order_relaxed));
    // Pairs with the end of drain(): either it sees `r`, or we see it has ended.
    if (!drain_active_.load(std::memory_order_seq_cst) && !drain_active_.exchange(true, std::memory_order_seq_cst))
      post_drain();
  }

  /// A cancellation slot fired for `r`.
  void cancel(request& r);

  /// Cancels every request: queued ones are removed and complete with operation_aborted,
  /// the running one is interrupted. Open, close and rollbacks are left alone.
  void cancel_all();

  /// The handle is gone: close once everything queued has run, without blocking the
  /// caller, and leave the thread to the reaper.
  void detach();

  /// Waits for the worker that ran `r` to exit. Called by the completion of the last
  /// request that worker completed, once it is done with it.
  void join_worker(const request& r);

 private:
  // A close that nobody awaits.
  class silent_close final : public request {
   public:
    silent_close() noexcept : request(request_kind::close, &run_close, &complete_nothing) {}

   private:
    static void run_close(request&, database& s) noexcept { s.close(); }
    static void complete_nothing(request&) noexcept {}
  };

  // Other threads poll these (the drain, between completions): see store_if_changed.
  void publish_status() noexcept {
    store_if_changed(status_, queue_.state(), std::memory_order_release);
    store_if_changed(busy_, queue_.size() != 0 || running_ != nullptr);
  }

  // Moves what was submitted through the intake into the queue, oldest first, closing
  // the intake when `close` (the worker stops). Returns the requests the queue refused,
  // their failure set, for completing once the mutex is released. Under the mutex.
  //
  // Taken in by another thread (a cancellation, the locked path), the requests leave
  // the intake for the queue, which a worker spinning before it parks does not watch:
  // it watches the intake and the wake-up counter. So that thread wakes the worker.
  request* take_intake(bool close = false) noexcept;

  // The queue would not take `r`: records why.
  static void refuse(request& r, request_queue::push_result why) noexcept {
    const auto refused = request_queue::refusal(why);
    r.fail(refused.code, refused.message);
  }

  static void complete_all(request* list) noexcept {
    while (list) {
      request* next = list->next;
      list->complete();
      list = next;
    }
  }

  // The posted drain: runs drain() once, or gives back what it would have run when its
  // executor is shut down with it still queued.
  class drain_handler {
   public:
    explicit drain_handler(std::shared_ptr<connection_impl> impl) noexcept : impl_(std::move(impl)) {}
    drain_handler(drain_handler&& o) noexcept : impl_(std::move(o.impl_)) {}
    drain_handler& operator=(drain_handler&&) = delete;
    ~drain_handler() {
      if (impl_) impl_->abandon_drain();
    }
    void operator()() { std::exchange(impl_, nullptr)->drain(); }

   private:
    std::shared_ptr<connection_impl> impl_;
  };

  // Posts the drain, holding work on home() until the post has returned (the drain may
  // run, and the last work end, before post() is done with the executor).
  void post_drain() noexcept;

  // One pass of the drain, on home(): runs what was delivered, then posts itself again,
  // or ends when there is nothing left to wait for. Only one drain is active at a time.
  void drain();

  // What was delivered, oldest first.
  request* take_delivered() noexcept;

  // The drain was destroyed unrun (its executor shut down): free what it would have run.
  void abandon_drain() noexcept;

  void start_worker(request& open, std::unique_lock<std::mutex>& lock);

  void wake_worker() noexcept {
    wake_seq_.fetch_add(1, std::memory_order_seq_cst);
    if (parked_.load(std::memory_order_seq_cst)) wake_seq_.notify_one();
  }

  // The next request to run; spins a little, then sleeps until one is queued.
  request* wait_for_request();

  // Where the worker runs now, for the spinners (here and in its group, if any).
  void note_worker_cpu(int cpu) noexcept {
    store_if_changed(worker_cpu_, cpu);
    if (worker_cpus* group = cpus_.load(std::memory_order_acquire)) group->note(cpus_slot_, cpu);
  }

  // A spinner on `cpu` would take it from this connection's worker, or from a worker of
  // its group.
  bool shares_cpu(int cpu) const noexcept {
    if (same_cpu(cpu, worker_cpu_)) return true;
    const worker_cpus* group = cpus_.load(std::memory_order_acquire);
    return group && group->busy_on(cpu);
  }

  // A counter written by the worker alone: a plain load and store, no locked instruction.
  template <class T>
  static void add(std::atomic<T>& c, T n) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  // Counts `r`, which the worker ran (or could not run), by its outcome.
  void count_outcome(const request& r) noexcept {
    add<std::uint64_t>(!r.failed()                                          ? completed_
                       : r.failure_code() == asio::error::operation_aborted ? cancelled_
                                                                            : failed_,
                       1);
  }

  // With measure_time: adds the wait of `r`, from its submission to `start`.
  void count_wait(const request& r, std::chrono::steady_clock::time_point start) noexcept {
    if (r.submitted != std::chrono::steady_clock::time_point{})
      add<std::int64_t>(queued_ns_, std::chrono::nanoseconds(start - r.submitted).count());
  }

  // With measure_time: adds the time since `start` (a request's run, or a commit group's).
  void count_run(std::chrono::steady_clock::time_point start) noexcept {
    add<std::int64_t>(running_ns_, std::chrono::nanoseconds(std::chrono::steady_clock::now() - start).count());
  }

  // Tells the trace how long `r` waited, from its submission to `start` (0: not stamped).
  void trace_request(const request& r, std::chrono::steady_clock::time_point start) noexcept {
    database_.trace_request(r.submitted == std::chrono::steady_clock::time_point{}
                                ? std::chrono::nanoseconds::zero()
                                : std::chrono::nanoseconds(start - r.submitted));
  }

  // The connection whose worker this thread is, if any.
  static const connection_impl*& this_threads_worker() noexcept {
    static thread_local const connection_impl* impl = nullptr;
    return impl;
  }

  void worker_main(std::uint64_t generation) noexcept;

  // A clean-up ROLLBACK that failed (database::roll_back_own_transaction) left SQLite
  // inside a transaction no handle owns: a request meant to run outside any transaction
  // would run, and be acknowledged, inside it, then be lost with it. Ends it first, or
  // fails `r` without running it (the next request tries again).
  bool settle_stray_transaction(request& r);

  // Group commit (options::group_commit): runs `first`, a write just popped, and the
  // writes queued behind it or arriving while the group runs (up to the bound), in one
  // transaction: each inside a SAVEPOINT, undone alone when it fails; then one COMMIT,
  // whose failure fails every write in the group. Nothing waits for writes to come: the
  // group closes as soon as none is queued. A write cancelled before its turn does not
  // run; once its turn comes it is not interrupted (in a transaction SQLite answers an
  // interrupted write by rolling back the whole transaction, the others' writes with
  // it). If BEGIN fails, `first` runs alone as without group commit; if SQLite ends the
  // transaction inside a write (an I/O error, a full disk), the writes before it fail
  // with that write's error and the group ends there.
  void run_group(request* first);

  // Adds the next queued write, if the queue's next request is one, to the group after
  // `last`. Returns whether it did.
  bool join_group(request& last);

  // The transaction holding the connection is over, after `r` ran: mark it, and finish
  // what it still had queued.
  void end_lease(request& r, lease_state& lease, request* rest) noexcept;

  // Completes requests that can no longer run: those with nothing left to do succeed
  // (request_queue::succeeds_unrun), the rest fail with `ec`.
  static void complete_unrunnable(request* list, error_code ec, const char* why) noexcept;

  static constexpr auto worker_spin = std::chrono::microseconds(50);
  static constexpr int drain_rounds = 16;

  // Members are grouped by the thread that writes them, each group on cache lines of its
  // own: a line written by one thread and read or written by the other for every request
  // bounces between their cores (measured: ~0.1 us per request in W4).
  static constexpr std::size_t line = 64;

  // The caller's side: the spin and the drain (undelivered_ and drain_found_ are touched
  // only by the active drain).
  alignas(line) std::atomic<std::int64_t> spin_wait_ns_{0};
  std::atomic<int> caller_cpu_{-1};  // where the last thread waiting for the worker ran (see current_cpu)
  spin_backoff spin_backoff_;
  const asio::any_io_executor home_;
  queue_deadline deadline_{home_};
  std::atomic<worker_cpus*> cpus_{nullptr};  // see join_cpus; set once, before use
  std::size_t cpus_slot_ = 0;
  request* undelivered_ = nullptr;  // what a throwing handler left, oldest first
  std::chrono::steady_clock::time_point drain_found_{};
  std::atomic<std::uint32_t> routed_{0};  // see routed(); added and removed on callers' threads

  // The handover of completions, written by both.
  alignas(line) std::atomic<request*> delivered_{nullptr};  // completions for the drain, newest first
  std::atomic<bool> drain_active_{false};                   // a drain is posted or running

  // The worker's side.
  alignas(line) std::atomic<int> worker_cpu_{-1};  // where the worker last ran
  std::atomic<std::uint32_t> wake_seq_{0};
  std::atomic<bool> parked_{false};

  // options::measure_time, set at open and read by both sides for every request, and
  // whether statements are traced (the worker's database().tracing(), copied after each
  // request): on a line nothing writes per request (the callers' and the worker's lines
  // are). Either has requests stamped when submitted.
  alignas(line) std::atomic<bool> measure_time_{false};
  std::atomic<bool> tracing_{false};

  // The counts of connection::stats (see counts), written by the worker for every request
  // and read by stats() alone: on a line of their own, or each request would take from
  // the callers a line they read (measured: W7's hop 1.0 -> 1.2-1.35 us).
  alignas(line) std::atomic<std::uint64_t> completed_{0}, failed_{0}, cancelled_{0};
  std::atomic<std::int64_t> queued_ns_{0}, running_ns_{0};

  // Statements submitted without the mutex (see submit). Pushed by any thread, taken and
  // opened or closed under the mutex.
  alignas(line) intake intake_;

  // What the queue holds, for other threads to read without the mutex: written under it
  // (busy_ also by a submitter through the intake).
  alignas(line) std::atomic<bool> busy_{false};  // requests queued or running
  std::atomic<request_queue::status> status_{request_queue::status::closed};

  // The queue, under the mutex: with statements coming through the intake, mostly the worker's.
  alignas(line) std::mutex mutex_;
  std::atomic<std::uint64_t> cancelled_queued_{0};  // taken out of the queue by a cancellation; under mutex_
  request_queue queue_;
  std::thread thread_;
  request* running_ = nullptr;                // the request the worker runs now; guarded by mutex_
  std::shared_ptr<lease_state> lease_owner_;  // the transaction holding the connection; guarded by mutex_
  std::uint64_t generation_ = 0;              // of the worker in thread_, counted from 1; guarded by mutex_
  std::shared_ptr<std::atomic<bool>> thread_done_;
  std::shared_ptr<worker_cpus> cpus_owner_;  // keeps cpus_ alive; guarded by mutex_
  request* group_ = nullptr;                 // the writes group commit runs now, linked by next; guarded by mutex_
  std::atomic<std::size_t> group_max_{0};    // options::group_commit; read by the worker
  alignas(line) database database_;
  silent_close implicit_close_;
};

}  // namespace asiolite::detail

#ifndef ASIOLITE_SEPARATE_COMPILATION
#  include <asiolite/detail/impl/connection_impl.ipp>
#endif
