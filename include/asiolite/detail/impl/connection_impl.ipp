// The connection's core (connection_impl.hpp): submitting, the worker's loop, the completion drain.
// Part of the header-only build through asiolite/detail/connection_impl.hpp; compiled once by <asiolite/src.hpp>
// with ASIOLITE_SEPARATE_COMPILATION.
#pragma once

#include <asiolite/detail/connection_impl.hpp>

namespace asiolite::detail {

ASIOLITE_DECL connection_impl::connection_impl(asio::any_io_executor home) : home_(std::move(home)) {
  thread_reaper::instance();  // see thread_reaper::instance
}

ASIOLITE_DECL connection_impl::~connection_impl() {
  // Only reached once the worker let go of its reference, so the thread is done or
  // (when this runs on the worker itself) about to be.
  if (thread_.joinable()) thread_reaper::instance().adopt(std::move(thread_), std::move(thread_done_));
}

ASIOLITE_DECL bool connection_impl::submit(request& r) {
  if (measure_time_.load(std::memory_order_relaxed) || tracing_.load(std::memory_order_relaxed))
    r.submitted = std::chrono::steady_clock::now();
  // A statement for a running worker goes into the intake, without the mutex: the
  // worker takes it into the queue, which decides then, as it would now, whether it runs.
  if (r.kind() == request_kind::statement) {
    if (const auto pushed = intake_.push(r); pushed.done) {
      const bool parked = parked_.load(std::memory_order_seq_cst);
      const bool alone = pushed.was_empty && !busy_.load(std::memory_order_relaxed) && !parked;
      store_if_changed(busy_, true);
      // An awake worker finds the intake by itself: no need to touch its cache line.
      if (parked) wake_worker();
      return alone;
    }
  }
  std::unique_lock lock(mutex_);
  request* refused = take_intake();
  const auto pushed = queue_.push(r);
  publish_status();
  if (pushed == request_queue::push_result::start_worker) {
    start_worker(r, lock);  // no worker: nothing was in the intake
    return false;
  }
  lock.unlock();
  complete_all(refused);
  if (pushed == request_queue::push_result::queued) {
    wake_worker();
  } else if (pushed == request_queue::push_result::done_already) {
    r.complete();
  } else {
    refuse(r, pushed);
    r.complete();
  }
  return false;
}

ASIOLITE_DECL void connection_impl::join_cpus(std::shared_ptr<worker_cpus> cpus, std::size_t slot) {
  std::lock_guard lock(mutex_);
  cpus_slot_ = slot;
  cpus_.store(cpus.get(), std::memory_order_release);
  cpus_owner_ = std::move(cpus);
}

ASIOLITE_DECL void connection_impl::arm_deadline() noexcept { deadline_.arm(shared_from_this()); }

ASIOLITE_DECL auto connection_impl::sweep_deadlines() -> std::optional<deadline_clock::time_point> {
  std::optional<deadline_clock::time_point> next;
  request* refused;
  request* overdue;
  {
    std::lock_guard lock(mutex_);
    refused = take_intake();
    overdue = queue_.take_overdue(deadline_clock::now(), next);
    if (!next) {
      // A statement pushed through the intake after we took it in, whose arm() found
      // us still armed, is swept by the next round.
      if (intake_.holds_requests(std::memory_order_seq_cst))
        next = deadline_clock::now() + std::chrono::milliseconds(1);
      else
        deadline_.disarm();
    }
    publish_status();
  }
  complete_all(refused);
  while (overdue) {
    request* r = overdue;
    overdue = overdue->next;
    r->abort(asio::error::timed_out, "it waited in the queue longer than options::queue_timeout");
  }
  return next;
}

ASIOLITE_DECL bool connection_impl::wait_for_result(request& r, bool alone) noexcept {
  const auto budget = std::chrono::nanoseconds(spin_wait_ns_.load(std::memory_order_relaxed));
  if (alone && budget.count() > 0 && !spin_backoff_.skip()) {
    const auto deadline = std::chrono::steady_clock::now() + budget;  // at most max_spin_wait
    const int cpu = current_cpu();
    caller_cpu_.store(cpu, std::memory_order_relaxed);
    bool done = false;
    for (unsigned i = 1;; ++i) {
      if (r.handoff.load(std::memory_order_acquire) == request::handoff_done) {
        done = true;
        break;
      }
      cpu_relax();
      if (i % 32 == 0 && (std::chrono::steady_clock::now() >= deadline || shares_cpu(cpu))) break;
    }
    spin_backoff_.record(done);
  }
  return r.handoff.exchange(request::caller_left, std::memory_order_acq_rel) == request::handoff_done;
}

ASIOLITE_DECL connection_stats connection_impl::stats() {
  connection_stats s;
  std::unique_lock lock(mutex_);
  request* refused = take_intake();
  s.queued = queue_.size();
  s.running = running_ != nullptr;
  lock.unlock();
  complete_all(refused);
  s.completed = completed_.load(std::memory_order_relaxed);
  s.failed = failed_.load(std::memory_order_relaxed);
  s.cancelled = cancelled_.load(std::memory_order_relaxed) + cancelled_queued_.load(std::memory_order_relaxed);
  s.statement_cache_hits = database_.cache().hits();
  s.statement_cache_misses = database_.cache().misses();
  s.time_queued = std::chrono::nanoseconds(queued_ns_.load(std::memory_order_relaxed));
  s.time_running = std::chrono::nanoseconds(running_ns_.load(std::memory_order_relaxed));
  return s;
}

ASIOLITE_DECL void connection_impl::cancel(request& r) {
  std::unique_lock lock(mutex_);
  request* refused = take_intake();
  const bool removed = queue_.cancel(r) == request_queue::cancel_result::removed;
  if (removed) add<std::uint64_t>(cancelled_queued_, 1);
  lock.unlock();
  complete_all(refused);
  if (removed) r.abort(asio::error::operation_aborted, "cancelled before it ran");
}

ASIOLITE_DECL void connection_impl::cancel_all() {
  request* list;
  request* refused;
  {
    std::lock_guard lock(mutex_);
    refused = take_intake();
    list = queue_.cancel_all(running_);
    for (request* m = group_; m; m = m->next) m->interrupt.store(true, std::memory_order_relaxed);
    std::uint64_t n = 0;
    for (request* m = list; m; m = m->next) ++n;
    add(cancelled_queued_, n);
  }
  complete_all(refused);
  while (list) {
    request* next = list->next;
    list->abort(asio::error::operation_aborted, "cancelled by connection::cancel");
    list = next;
  }
}

ASIOLITE_DECL void connection_impl::detach() {
  std::thread t;
  std::shared_ptr<std::atomic<bool>> done;
  request* refused;
  {
    std::lock_guard lock(mutex_);
    refused = take_intake();
    const auto s = queue_.state();
    if (s == request_queue::status::open || s == request_queue::status::opening) {
      queue_.push(implicit_close_);
      publish_status();
    }
    t = std::move(thread_);
    done = std::move(thread_done_);
  }
  complete_all(refused);
  wake_worker();
  if (t.joinable()) thread_reaper::instance().adopt(std::move(t), std::move(done));
}

ASIOLITE_DECL void connection_impl::join_worker(const request& r) {
  std::thread t;
  {
    std::lock_guard lock(mutex_);
    if (thread_.joinable() && r.worker == generation_ && thread_.get_id() != std::this_thread::get_id())
      t = std::move(thread_);
  }
  if (t.joinable()) t.join();
}

ASIOLITE_DECL request* connection_impl::take_intake(bool close) noexcept {
  request* fifo = intake_.take(close);
  if (!fifo) return nullptr;
  request_list refused;
  bool queued = false;
  while (fifo) {
    request* r = fifo;
    fifo = fifo->next;
    const auto pushed = queue_.push(*r);
    if (pushed == request_queue::push_result::queued) {
      queued = true;
      continue;
    }
    refuse(*r, pushed);
    refused.push_back(*r);
  }
  if (queued && !on_worker()) wake_worker();
  return refused.take_all();
}

ASIOLITE_DECL void connection_impl::post_drain() noexcept {
  try {
    auto work = asio::prefer(home_, asio::execution::outstanding_work.tracked);
    asio::post(work, drain_handler(shared_from_this()));
  } catch (...) {
    // Out of memory: nothing can deliver the completions; give them back unrun rather
    // than leave their callers' work counted forever.
    abandon_drain();
  }
}

ASIOLITE_DECL void connection_impl::drain() {
  request* list = take_delivered();
  if (!list) {
    const auto now = std::chrono::steady_clock::now();
    const auto budget = std::chrono::nanoseconds(spin_wait_ns_.load(std::memory_order_relaxed));
    const int cpu = current_cpu();
    caller_cpu_.store(cpu, std::memory_order_relaxed);
    if (!(busy_.load(std::memory_order_relaxed) && now - drain_found_ < budget) || shares_cpu(cpu)) {
      drain_active_.store(false, std::memory_order_seq_cst);
      // A completion delivered since we looked, whose deliverer saw us still active?
      if (delivered_.load(std::memory_order_seq_cst) == nullptr ||
          drain_active_.exchange(true, std::memory_order_seq_cst))
        return;
    }
    post_drain();
    return;
  }
  // While completions keep coming (their handlers' coroutines submitting more), take
  // them in this pass, up to a bound; then post again so other handlers get their turn.
  for (int round = 0; list && round < drain_rounds; ++round) {
    while (list) {
      request* r = list;
      list = list->next;
      try {
        r->deliver(*r, true);
      } catch (...) {
        // A handler threw: the rest go first next time, and the exception goes on to
        // the event loop, as it would from any handler.
        undelivered_ = list;
        drain_found_ = std::chrono::steady_clock::now();
        post_drain();
        throw;
      }
    }
    list = take_delivered();
  }
  undelivered_ = list;
  drain_found_ = std::chrono::steady_clock::now();
  post_drain();
}

ASIOLITE_DECL request* connection_impl::take_delivered() noexcept {
  // Looks before taking: an exchange would take the line from the worker even when empty.
  request* lifo =
      delivered_.load(std::memory_order_relaxed) ? delivered_.exchange(nullptr, std::memory_order_acquire) : nullptr;
  request* fifo = nullptr;
  while (lifo) {
    request* next = lifo->next;
    lifo->next = fifo;
    fifo = lifo;
    lifo = next;
  }
  if (undelivered_) {
    request* last = undelivered_;
    while (last->next) last = last->next;
    last->next = fifo;
    fifo = std::exchange(undelivered_, nullptr);
  }
  return fifo;
}

ASIOLITE_DECL void connection_impl::abandon_drain() noexcept {
  request* list = take_delivered();
  drain_active_.store(false, std::memory_order_seq_cst);
  while (list) {
    request* next = list->next;
    list->deliver(*list, false);
    list = next;
  }
}

ASIOLITE_DECL void connection_impl::start_worker(request& open, std::unique_lock<std::mutex>& lock) {
  // A previous worker that no completion joined yet has finished its work: let it go.
  // (The reaper joins only threads that are done, so this cannot wait under our lock.)
  if (thread_.joinable()) thread_reaper::instance().adopt(std::move(thread_), std::move(thread_done_));
  try {
    auto done = std::make_shared<std::atomic<bool>>(false);
    thread_done_ = done;
    const std::uint64_t generation = generation_ + 1;
    thread_ = std::thread([self = shared_from_this(), done, generation]() mutable {
      self->worker_main(generation);
      self.reset();  // may destroy the connection here, before the reaper may join us
      done->store(true, std::memory_order_release);
    });
    generation_ = generation;
    intake_.open();  // the new worker takes it in
  } catch (...) {
    error_code ec = std::make_error_code(std::errc::resource_unavailable_try_again);
    try {
      throw;
    } catch (const std::system_error& e) {
      ec = e.code();
    } catch (...) {
    }
    queue_.take_all();
    queue_.ran(open, false);
    publish_status();
    lock.unlock();
    open.abort(ec, "could not start the worker thread");
  }
}

ASIOLITE_DECL request* connection_impl::wait_for_request() {
  for (;;) {
    const std::uint32_t seen = wake_seq_.load(std::memory_order_acquire);
    {
      std::unique_lock lock(mutex_);
      request* refused = take_intake();
      request* r = running_ = queue_.pop();
      publish_status();
      lock.unlock();
      complete_all(refused);
      if (r) return r;
    }
    // Spin a little before sleeping: the next request of a busy caller comes within
    // microseconds, and waking a sleeping thread here costs tens of them.
    bool woken = false;
    const auto until = std::chrono::steady_clock::now() + worker_spin;
    int cpu = current_cpu();
    note_worker_cpu(cpu);
    worker_cpus* group = cpus_.load(std::memory_order_acquire);
    for (unsigned i = 1; !woken; ++i) {
      cpu_relax();
      woken = wake_seq_.load(std::memory_order_relaxed) != seen || !intake_.empty();
      if (i % 32 == 0) {
        if (std::chrono::steady_clock::now() >= until || same_cpu(cpu, caller_cpu_) ||
            (group && group->busy_on(cpu, cpus_slot_)))
          break;
        note_worker_cpu(cpu = current_cpu());
      }
    }
    if (woken) continue;
    if (group) group->note(cpus_slot_, -1);  // parked: on no CPU
    // Submitters through the intake wake us only once they see this flag set.
    parked_.store(true, std::memory_order_seq_cst);
    if (wake_seq_.load(std::memory_order_seq_cst) == seen && intake_.empty(std::memory_order_seq_cst))
      wake_seq_.wait(seen, std::memory_order_acquire);
    parked_.store(false, std::memory_order_relaxed);
  }
}

ASIOLITE_DECL void connection_impl::worker_main(std::uint64_t generation) noexcept {
  name_this_thread();
  this_threads_worker() = this;
  request* next = nullptr;  // taken from the queue when the last one finished
  for (;;) {
    request* r = next ? next : wait_for_request();
    next = nullptr;
    const bool runnable = settle_stray_transaction(*r);
    if (runnable && r->groupable && group_max_.load(std::memory_order_relaxed) > 1 && !database_.in_transaction()) {
      run_group(r);
      continue;
    }
    if (runnable) {
      const bool timed = measure_time_.load(std::memory_order_relaxed);
      const bool traced = database_.tracing();
      const auto start = timed || traced ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
      if (traced) trace_request(*r, start);
      database_.before_request();
      if (r->interruptible) database_.watch(&r->interrupt);
      r->run(database_);
      database_.unwatch();
      database_.after_request();
      if (timed) {
        count_wait(*r, start);
        count_run(start);
      }
      if (traced || database_.tracing()) store_if_changed(tracing_, database_.tracing());
    }
    count_outcome(*r);
    note_worker_cpu(current_cpu());
    const bool in_transaction = database_.in_transaction();

    request_queue::ran_result done;
    request* rest = nullptr;
    request* refused = nullptr;
    std::shared_ptr<lease_state> ended_lease;
    {
      std::lock_guard lock(mutex_);
      running_ = nullptr;
      done = queue_.ran(*r, !r->failed(), in_transaction);
      if (done.lease_began) lease_owner_ = r->begins;
      if (done.lease_ended) {
        ended_lease = std::move(lease_owner_);
        rest = queue_.take_leased();
      }
      if (done.stop) {
        // Before "closed" is published: from then on an async_open may start a new
        // worker on this same database_. (A no-op today: the close job, or the failed
        // open, has already closed the handle; so holding the lock costs nothing.)
        database_.close();
        refused = take_intake(true);
        rest = queue_.take_all();
      } else {
        // What the queue holds is older than the intake: take the intake in only once
        // the queue runs dry, so that it changes hands once per batch.
        next = queue_.pop();
        if (!next) {
          refused = take_intake();
          next = queue_.pop();
        }
        if (next) running_ = next;
      }
      publish_status();
    }
    complete_all(refused);
    if (ended_lease) end_lease(*r, *ended_lease, rest);
    if (!done.stop) {
      r->complete();
      continue;
    }
    // Closed, or failed to open: what is left can no longer run.
    complete_unrunnable(rest, make_error_code(errc::closed),
                        "the connection closed, or failed to open, before the request ran");
    r->joins_worker = true;
    r->worker = generation;
    r->complete();
    return;
  }
}

ASIOLITE_DECL bool connection_impl::settle_stray_transaction(request& r) {
  if (!database_.stray_transaction()) return true;
  const bool outside =
      (r.lease == 0 || r.begins) && (r.kind() == request_kind::statement || r.kind() == request_kind::begin);
  failure f;
  if (!outside || database_.end_stray_transaction(f)) return true;
  r.fail(f.code, f.message.c_str());
  return false;
}

ASIOLITE_DECL void connection_impl::run_group(request* first) {
  first->next = nullptr;
  {
    std::lock_guard lock(mutex_);
    group_ = first;
  }
  const bool timed = measure_time_.load(std::memory_order_relaxed);
  const bool traced = database_.tracing();
  const auto start = timed || traced ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  if (traced) trace_request(*first, start);
  database_.before_request();
  failure f;
  bool grouped = database_.execute_script("BEGIN IMMEDIATE", f);
  const std::size_t most = group_max_.load(std::memory_order_relaxed);
  std::size_t count = 1;
  for (request* m = first; m; m = m->next) {
    if (traced && m != first) trace_request(*m, std::chrono::steady_clock::now());
    if (m->interrupt.load(std::memory_order_relaxed)) {
      m->fail(asio::error::operation_aborted, "cancelled before it ran");
    } else if (!grouped) {
      if (m->interruptible) database_.watch(&m->interrupt);
      m->run(database_);
      database_.unwatch();
    } else {
      failure step;
      database_.execute_script("SAVEPOINT asiolite_group", step);
      m->run(database_);
      if (database_.in_transaction()) {
        database_.execute_script(
            m->failed() ? "ROLLBACK TO asiolite_group; RELEASE asiolite_group" : "RELEASE asiolite_group", step);
      } else {
        grouped = false;
        const std::string why =
            "the group commit's transaction was rolled back by a later write in it: " + m->failure_message();
        for (request* e = first; e != m; e = e->next)
          if (!e->failed()) e->fail(m->failure_code(), why.c_str());
        break;
      }
    }
    if (grouped && count < most && join_group(*m)) ++count;
  }
  if (grouped) {
    failure commit;
    if (!database_.execute_script("COMMIT", commit)) {
      database_.roll_back_own_transaction();
      const std::string why = "the group commit's COMMIT failed: " + commit.message;
      for (request* m = first; m; m = m->next)
        if (!m->failed()) m->fail(commit.code, why.c_str());
    }
  }
  database_.after_request();
  if (traced) store_if_changed(tracing_, database_.tracing());
  // Each write is counted, and waited until the group began; the group ran once.
  for (request* m = first; m; m = m->next) {
    count_outcome(*m);
    if (timed) count_wait(*m, start);
  }
  if (timed) count_run(start);
  note_worker_cpu(current_cpu());
  {
    std::lock_guard lock(mutex_);
    for (request* m = first; m; m = m->next) queue_.ran(*m, !m->failed(), false);
    group_ = nullptr;
    running_ = nullptr;
    publish_status();
  }
  while (first) {
    request* m = first;
    first = first->next;
    m->complete();
  }
}

ASIOLITE_DECL bool connection_impl::join_group(request& last) {
  request* refused;
  request* m;
  {
    std::lock_guard lock(mutex_);
    refused = take_intake();
    m = queue_.pop_groupable();
    if (m) {
      m->next = nullptr;
      last.next = m;  // under the mutex: cancel_all walks the group
    }
    publish_status();
  }
  complete_all(refused);
  return m != nullptr;
}

ASIOLITE_DECL void connection_impl::end_lease(request& r, lease_state& lease, request* rest) noexcept {
  lease.ended.store(true, std::memory_order_release);
  if (lease.on_end) lease.on_end->ended();
  if (r.failed() && r.kind() == request_kind::statement) r.append_to_message(" (SQLite rolled the transaction back)");
  complete_unrunnable(rest, make_error_code(errc::transaction_ended), "the transaction ended before the request ran");
}

ASIOLITE_DECL void connection_impl::complete_unrunnable(request* list, error_code ec, const char* why) noexcept {
  while (list) {
    request* next = list->next;
    if (request_queue::succeeds_unrun(list->kind()))
      list->complete();
    else
      list->abort(ec, why);
    list = next;
  }
}

}  // namespace asiolite::detail
