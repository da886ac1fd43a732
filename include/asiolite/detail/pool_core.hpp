// What a pool's handle points to: its connections, and the routing of its reads.
//
// A read (any statement request made on the pool) goes to the reader with the fewest
// requests routed to it and not yet finished (connection_impl::routed); a reader held by
// a read transaction takes none. When every reader is held, reads wait here, in one FIFO
// queue (waiting_), until a read transaction ends (reader_hold, told by the worker when
// the transaction's lease ends); then they are handed, oldest first, to the readers free
// again, each started on its handler's executor. A wait honours the handler's
// cancellation slot as a queued request does.
//
// A database in memory has no readers (another connection would not see it): its
// routes are the writer alone, which a read transaction then holds like a reader.
// Functions that depend on no template argument are defined in detail/impl/pool_core.ipp (see
// config.hpp, ASIOLITE_DECL).
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/detail/connection_impl.hpp>
#include <asiolite/detail/immediate.hpp>
#include <asiolite/detail/job.hpp>
#include <asiolite/detail/operation.hpp>
#include <asiolite/detail/queue_deadline.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/detail/time_limit.hpp>
#include <asiolite/error.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace asiolite::detail {

class pool_core;

/// A reader held by a read transaction: freed when the transaction's lease ends (the
/// worker calls ended()), or when the hold is dropped before the transaction began.
class reader_hold final : public lease_end_hook {
 public:
  reader_hold(std::shared_ptr<pool_core> core, std::size_t index, std::uint64_t generation) noexcept
      : core_(std::move(core)), index_(index), generation_(generation) {}
  reader_hold(const reader_hold&) = delete;
  reader_hold& operator=(const reader_hold&) = delete;
  ~reader_hold() { release(); }

  void ended() noexcept override { release(); }

 private:
  void release() noexcept;  // impl/pool_core.ipp

  std::shared_ptr<pool_core> core_;
  std::size_t index_;
  std::uint64_t generation_;
  std::atomic<bool> released_{false};
};

/// A read that waits for a free reader (type-erased: the pool's queue holds any kind).
class pool_waiter {
 public:
  pool_waiter(const pool_waiter&) = delete;
  pool_waiter& operator=(const pool_waiter&) = delete;

  /// Starts on `reader` (with the hold, for a read transaction), on the handler's executor.
  virtual void dispatch(std::shared_ptr<connection_impl> reader, std::shared_ptr<reader_hold> hold) noexcept = 0;
  /// Completes without running, on the handler's executor.
  virtual void fail(error_code ec, const char* why) noexcept = 0;

  const bool holds;                       // takes the reader for itself (a read transaction's BEGIN)
  deadline_clock::time_point deadline{};  // options::queue_timeout; unset: none

 protected:
  explicit pool_waiter(bool holds_reader) noexcept : holds(holds_reader) {}
  ~pool_waiter() = default;
};

class pool_core : public std::enable_shared_from_this<pool_core> {
 public:
  explicit pool_core(asio::any_io_executor ex);
  pool_core(const pool_core&) = delete;
  pool_core& operator=(const pool_core&) = delete;

  const asio::any_io_executor& executor() const noexcept { return ex_; }

  /// The pool is open: reads go to `routes`, and wait at most `queue_timeout` for one.
  void open(std::vector<std::shared_ptr<connection_impl>> routes, std::chrono::milliseconds queue_timeout);

  /// The pool closes (or is gone): new reads fail with errc::closed, and so do the reads
  /// waiting for a reader.
  void close() noexcept {
    fail_waiting(make_error_code(errc::closed), "the pool closed before a reader was free", true);
  }

  /// Every read waiting for a reader completes with operation_aborted (pool::cancel).
  void cancel_waiting() noexcept {
    fail_waiting(make_error_code(asio::error::operation_aborted), "cancelled by pool::cancel", false);
  }

  bool is_open() const {
    std::lock_guard lock(mutex_);
    return open_;
  }

  struct route_snapshot {
    std::shared_ptr<connection_impl> impl;
    bool held = false;
  };
  /// The routes, and how many reads wait: for pool::stats.
  std::vector<route_snapshot> routes(std::size_t& waiting) const;

  /// Routes one read (see the top of this file). Called by the initiation, on the
  /// initiating thread.
  template <class Error, class Handler, class Job>
  void route(Handler&& handler, Job&& j, diagnostics* diag) {
    constexpr bool holds = requires { Job::holds_reader; };
    std::unique_lock lock(mutex_);
    if (!open_) {
      lock.unlock();
      fail_unrun<Error>(std::move(handler), std::move(j), diag, ex_, make_error_code(errc::closed),
                        "the pool is not open");
      return;
    }
    if (waiting_.empty()) {
      if (const std::size_t i = pick(); i != none) {
        std::shared_ptr<reader_hold> hold = claim(i, holds);
        std::shared_ptr<connection_impl> reader = routes_[i];
        lock.unlock();
        start_on<Error>(std::move(reader), std::move(hold), std::move(handler), std::move(j), diag, ex_);
        return;
      }
    }
    auto* w = new waiting_read<Handler, Job, Error>(std::move(handler), std::move(j), diag, shared_from_this(), ex_);
    const auto timeout = deadline_.timeout();
    if (timeout.count() > 0) w->deadline = deadline_after(timeout);
    waiting_.push_back(w);
    w->watch_cancellation();
    lock.unlock();
    if (timeout.count() > 0) arm_deadline();
  }

  /// options::queue_timeout for the reads that wait here (queue_deadline.hpp).
  queue_deadline& deadline() noexcept { return deadline_; }

  /// A read with a deadline waits: starts the sweeps (queue_deadline::arm).
  void arm_deadline() noexcept;

  /// Fails the waiting reads whose deadline has passed; returns the earliest left.
  std::optional<deadline_clock::time_point> sweep_deadlines();

  /// Starts `j` on `reader`: binds the jobs that make handles to it, and counts it in the
  /// reader's load until it finishes.
  template <class Error, class Handler, class Job>
  static void start_on(std::shared_ptr<connection_impl> reader, std::shared_ptr<reader_hold> hold, Handler&& handler,
                       Job&& j, diagnostics* diag, const asio::any_io_executor& ex) {
    if constexpr (requires(Job & jj, const request_target& t) { jj.bind_reader(t); })
      j.bind_reader(request_target{reader, ex, 0});
    if constexpr (requires { Job::holds_reader; }) j.take_hold(std::move(hold));
    auto* op = operation<Handler, Job, Error>::create(std::move(handler), std::move(j), reader, ex, diag, 0);
    op->counted = true;
    op->start();
  }

  /// Completes `j`'s handler with `ec` without running it, as a refused request does.
  template <class Error, class Handler, class Job>
  static void fail_unrun(Handler&& handler, Job&& j, diagnostics* diag, const asio::any_io_executor& ex, error_code ec,
                         const char* why) {
    operation<Handler, Job, Error>::create(std::move(handler), std::move(j), nullptr, ex, diag, 0)->abort(ec, why);
  }

  /// A waiting read's cancellation slot fired: takes it out of the queue if it is still
  /// there (it then completes with operation_aborted).
  bool withdraw(pool_waiter* w) noexcept;

  /// A read transaction ended on route `index`: it takes reads again, and the waiting
  /// reads go to the routes now free.
  void release(std::size_t index, std::uint64_t generation) noexcept;

 private:
  template <class Handler, class Job, class Error>
  class waiting_read;

  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  // The free route with the fewest unfinished routed requests (the first of equals: an
  // idle pool keeps using one warm reader). Under the mutex.
  std::size_t pick() const noexcept;

  // Counts a read on route `i`; a read transaction also holds it. Under the mutex.
  std::shared_ptr<reader_hold> claim(std::size_t i, bool holds);

  void fail_waiting(error_code ec, const char* why, bool closing) noexcept;

  const asio::any_io_executor ex_;
  queue_deadline deadline_{ex_};
  mutable std::mutex mutex_;
  bool open_ = false;
  std::vector<std::shared_ptr<connection_impl>> routes_;
  std::vector<char> held_;
  std::deque<pool_waiter*> waiting_;  // oldest first
  std::uint64_t generation_ = 0;      // of routes_: a hold from an earlier opening frees nothing
};

/// A read waiting for a reader, with its handler and job. Whichever happens first, its
/// dispatch or its failure, posts one step to the handler's executor, which starts the
/// request there or completes it (and frees this).
template <class Handler, class Job, class Error>
class pool_core::waiting_read final : public pool_waiter {
  using slot_type = asio::associated_cancellation_slot_t<Handler>;

 public:
  waiting_read(Handler&& handler, Job&& j, diagnostics* diag, std::shared_ptr<pool_core> core, asio::any_io_executor ex)
      : pool_waiter(requires { Job::holds_reader; }),
        handler_(std::move(handler)),
        job_(std::move(j)),
        diag_(diag),
        core_(std::move(core)),
        ex_(std::move(ex)),
        work_(asio::prefer(asio::get_associated_executor(handler_, ex_), asio::execution::outstanding_work.tracked)) {}

  // Under the pool's mutex, once queued.
  void watch_cancellation() {
    slot_type slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.template emplace<cancel_handler>(this);
  }

  void dispatch(std::shared_ptr<connection_impl> reader, std::shared_ptr<reader_hold> hold) noexcept override {
    reader_ = std::move(reader);
    hold_ = std::move(hold);
    post_step();
  }

  void fail(error_code ec, const char* why) noexcept override {
    failure_ = ec;
    why_ = why;
    post_step();
  }

 private:
  struct cancel_handler {
    explicit cancel_handler(waiting_read* w) noexcept : w_(w) {}
    void operator()(asio::cancellation_type type) const {
      if ((type & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                   asio::cancellation_type::total)) == asio::cancellation_type::none)
        return;
      if (w_->core_->withdraw(w_))
        w_->fail(make_error_code(asio::error::operation_aborted), "cancelled while waiting for a free reader");
      else
        w_->cancelled_ = true;  // handed to a reader already: its step completes it unrun
    }
    waiting_read* w_;
  };

  // The posted step: runs once, or frees the waiting read unrun (its executor shut down).
  class step {
   public:
    explicit step(waiting_read* w) noexcept : w_(w) {}
    step(step&& o) noexcept : w_(std::exchange(o.w_, nullptr)) {}
    step& operator=(step&&) = delete;
    ~step() {
      if (w_) w_->abandon();
    }
    void operator()() { std::exchange(w_, nullptr)->run(); }

   private:
    waiting_read* w_;
  };

  void post_step() noexcept {
    try {
      auto work = work_;
      asio::post(work, step(this));
    } catch (...) {
      abandon();
    }
  }

  // On the handler's executor.
  void run() {
    slot_type slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    std::unique_ptr<waiting_read> self(this);
    if (reader_ && cancelled_) {
      failure_ = make_error_code(asio::error::operation_aborted);
      why_ = "cancelled while waiting for a free reader";
      reader_->routed_done();  // counted when it was handed over
      reader_.reset();
    }
    if (reader_) {
      start_on<Error>(std::move(reader_), std::move(hold_), std::move(handler_), std::move(job_), diag_, ex_);
      return;
    }
    fail_unrun<Error>(std::move(handler_), std::move(job_), diag_, ex_, failure_, why_);
  }

  void abandon() noexcept {
    slot_type slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    if (reader_) reader_->routed_done();
    delete this;
  }

  Handler handler_;
  Job job_;
  diagnostics* diag_;
  std::shared_ptr<pool_core> core_;
  asio::any_io_executor ex_;
  asio::any_io_executor work_;
  std::shared_ptr<connection_impl> reader_;
  std::shared_ptr<reader_hold> hold_;
  error_code failure_;
  const char* why_ = "";
  bool cancelled_ = false;
};

/// The initiation of a read on a pool, in the shape async_initiate expects.
template <class Error>
class initiate_routed {
 public:
  using executor_type = asio::any_io_executor;

  initiate_routed(std::shared_ptr<pool_core> core, executor_type ex) noexcept
      : core_(std::move(core)), ex_(std::move(ex)) {}

  executor_type get_executor() const noexcept { return ex_; }

  template <class Handler, class Job>
  void operator()(Handler&& handler, Job&& j, diagnostics* diag) const {
    if (!core_) {  // an empty pool: errc::closed, as an empty connection
      initiate_request<Error>(nullptr, ex_, 0)(std::forward<Handler>(handler), std::forward<Job>(j), diag);
      return;
    }
    using handler_type = std::decay_t<Handler>;
    using job_type = std::decay_t<Job>;
    static_assert(job<job_type>, "asiolite: not a job (see detail/job.hpp)");
    core_->route<Error>(handler_type(std::forward<Handler>(handler)), job_type(std::forward<Job>(j)), diag);
  }

 private:
  std::shared_ptr<pool_core> core_;
  executor_type ex_;
};

/// Where a pool's reads go: the pool routes each when it starts.
struct pool_target_view {
  const std::shared_ptr<pool_core>& core;
  const asio::any_io_executor& ex;

  /// For the handles a read makes (cursors, prepared statements): no connection yet; the
  /// job is bound to its reader when routed (bind_reader).
  operator request_target() const { return {nullptr, ex, 0}; }
};

/// start_request for a pool's reads (request_target.hpp's async_request finds it by
/// argument-dependent lookup).
template <class Job, class Token>
requires job<std::decay_t<Job>>
auto start_request(const pool_target_view& target, Job&& j, diagnostics* diag, Token&& token) {
  using result = typename std::decay_t<Job>::result_type;
  return asio::async_initiate<Token, signature_t<Token, result>>(
      initiate_routed<error_for<Token>>(target.core, target.ex), token, std::forward<Job>(j), diag);
}

}  // namespace asiolite::detail

#ifndef ASIOLITE_SEPARATE_COMPILATION
#  include <asiolite/detail/impl/pool_core.ipp>
#endif
