// A request bound to its completion handler: allocated with the handler's allocator,
// cancellable through the handler's cancellation slot, keeping the handler's executor
// busy while in flight, and completing by a post to that executor.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/detail/connection_impl.hpp>
#include <asiolite/detail/immediate.hpp>
#include <asiolite/detail/job.hpp>
#include <asiolite/detail/request.hpp>
#include <asiolite/detail/time_limit.hpp>
#include <asiolite/error.hpp>

#include <exception>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace asiolite::detail {

// Tokens whose completion signature carries an exception_ptr instead of an error_code,
// so that a failure arrives as sqlite_error with SQLite's message (the co_await path).
// (use_coro: see config.hpp.)
template <class Token>
struct reports_exceptions : compat::is_use_coro<Token> {};
template <class Executor>
struct reports_exceptions<asio::use_awaitable_t<Executor>> : std::true_type {};
template <class Allocator>
struct reports_exceptions<asio::use_future_t<Allocator>> : std::true_type {};

template <class Token>
using error_for = std::conditional_t<reports_exceptions<std::decay_t<Token>>::value, std::exception_ptr, error_code>;

template <class Token>
inline constexpr bool token_usable = compat::use_coro_works || !compat::is_use_coro<std::decay_t<Token>>::value;

template <class Token, class Result>
struct signature_for {
  static_assert(
      token_usable<Token>,
      "experimental::use_coro does not work with asiolite on this Boost.Asio (before 1.82): use use_awaitable");
  using type = void(error_for<Token>, Result);
};
template <class Token>
struct signature_for<Token, void> {
  static_assert(
      token_usable<Token>,
      "experimental::use_coro does not work with asiolite on this Boost.Asio (before 1.82): use use_awaitable");
  using type = void(error_for<Token>);
};
template <class Token, class Result>
using signature_t = typename signature_for<Token, Result>::type;

/// A request for `Job` (see job.hpp), completing to `Handler`.
template <class Handler, job Job, class Error>
class operation final : public request {
  using result_type = typename Job::result_type;
  using handler_executor = asio::associated_executor_t<Handler, asio::any_io_executor>;
  using work_executor =
      std::decay_t<decltype(asio::prefer(std::declval<handler_executor>(), asio::execution::outstanding_work.tracked))>;
  using handler_allocator = asio::associated_allocator_t<Handler, asio::recycling_allocator<void>>;
  using self_allocator = typename std::allocator_traits<handler_allocator>::template rebind_alloc<operation>;
  using slot_type = asio::associated_cancellation_slot_t<Handler>;

 public:
  /// Allocates the operation with the handler's allocator.
  static operation* create(Handler&& handler, Job&& job, std::shared_ptr<connection_impl> impl,
                           const asio::any_io_executor& fallback, diagnostics* diag, std::uint64_t lease) {
    self_allocator alloc(asio::get_associated_allocator(handler, asio::recycling_allocator<void>()));
    operation* p = std::allocator_traits<self_allocator>::allocate(alloc, 1);
    try {
      std::allocator_traits<self_allocator>::construct(alloc, p, std::move(handler), std::move(job), std::move(impl),
                                                       fallback, diag, lease);
    } catch (...) {
      std::allocator_traits<self_allocator>::deallocate(alloc, p, 1);
      throw;
    }
    return p;
  }

  operation(Handler&& handler, Job&& job, std::shared_ptr<connection_impl> impl, const asio::any_io_executor& fallback,
            diagnostics* diag, std::uint64_t lease_id)
      : request(Job::kind, &do_run, &do_complete),
        handler_(std::move(handler)),
        job_(std::move(job)),
        work_(
            asio::prefer(asio::get_associated_executor(handler_, fallback), asio::execution::outstanding_work.tracked)),
        io_work_(track_io_executor(handler_, fallback)),
        impl_(std::move(impl)),
        diag_(diag) {
    lease = lease_id;
    if constexpr (requires(Job & j) { j.lease_to_begin(); }) {
      begins = job_.lease_to_begin();
      lease = begins->id;
    }
    if constexpr (requires { Job::interruptible; }) interruptible = Job::interruptible;
    if constexpr (requires { Job::groupable; }) groupable = Job::groupable && lease_id == 0;
    // A handler on the connection's own executor can share the connection's completion
    // drain (see connection_impl::deliver_later).
    if constexpr (std::is_same_v<handler_executor, asio::any_io_executor>) {
      if (impl_ && !io_work_ && impl_->home() && asio::get_associated_executor(handler_, fallback) == impl_->home())
        deliver = &do_deliver;
    }
  }

  /// Queues the request (installing the cancellation handler first, so a cancellation
  /// can never miss it), or completes it with errc::closed on a moved-from connection.
  void start() {
    if (!impl_) {
      abort(make_error_code(errc::closed), "the handle is empty (moved from, or never opened)");
      return;
    }
    if (impl_->runs_user_code_here()) {
      // Waited for there (a future's get()), it would hang the connection for good.
      abort(make_error_code(errc::on_own_worker),
            "made from code running on the connection's own worker (async_call, on_open), where it would wait "
            "behind the request that made it; use the sync_handle there");
      return;
    }
    constexpr bool cancellable = Job::kind == request_kind::statement || Job::kind == request_kind::begin;
    slot_type slot = asio::get_associated_cancellation_slot(handler_);
    if (cancellable && slot.is_connected()) slot.template emplace<cancel_handler>(this);
    if constexpr (cancellable) {
      const auto timeout = impl_->deadline().timeout();
      if (timeout.count() > 0 && interruptible) deadline = deadline_after(timeout);
      // The request may complete (and be handed back) as soon as it is submitted.
      handoff.store(caller_waits, std::memory_order_relaxed);
      auto impl = impl_;  // `this` may be freed once the completion is posted
      const bool alone = impl->submit(*this);
      if (timeout.count() > 0) impl->arm_deadline();
      if (impl->wait_for_result(*this, alone)) post_completion();
    } else {
      impl_->submit(*this);
    }
  }

 private:
  // Called by the cancellation slot, on the thread that emits the cancellation.
  struct cancel_handler {
    explicit cancel_handler(operation* op) noexcept : op_(op) {}
    void operator()(asio::cancellation_type type) const {
      // Removing a queued request has no side effect at all; interrupting a running
      // statement undoes that statement, which the caller asked for by cancelling.
      if ((type & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                   asio::cancellation_type::total)) != asio::cancellation_type::none)
        op_->impl_->cancel(*op_);
    }
    operation* op_;
  };

  // The posted completion: owns the operation until it runs (or is destroyed unrun,
  // when its executor shuts down).
  class completion {
   public:
    // Not the handler's allocator: post() allocates on the worker thread, which is not a
    // thread the handler's allocator may be used from (Asio only promises user threads
    // calling into the library). std::allocator is thread-safe, and Asio recycles it.
    using allocator_type = std::allocator<void>;
    explicit completion(operation* op) noexcept : op_(op) {}
    completion(completion&& o) noexcept : op_(std::exchange(o.op_, nullptr)) {}
    completion& operator=(completion&&) = delete;
    ~completion() {
      if (op_) op_->abandon();
    }
    allocator_type get_allocator() const noexcept { return {}; }
    void operator()() { std::exchange(op_, nullptr)->finish(); }

   private:
    operation* op_;
  };

  static void do_run(request& base, database& s) noexcept {
    auto& self = static_cast<operation&>(base);
    try {
      self.job_(s, self.failure_);
    } catch (...) {
      self.failure_.set_current_exception();
    }
    // A stop we asked for shows as SQLITE_INTERRUPT (a running statement) or SQLITE_BUSY
    // (a lock wait given up): report why it stopped.
    if (self.failure_.code == errc::interrupt || self.failure_.code == errc::busy) {
      if (self.interrupt.load(std::memory_order_relaxed)) {
        self.failure_.exception = nullptr;
        self.failure_.code = asio::error::operation_aborted;
        self.failure_.message = "cancelled while running";
      } else if (s.timed_out()) {
        self.failure_.exception = nullptr;
        self.failure_.code = asio::error::timed_out;
        self.failure_.message =
            "the statement timeout (" + std::to_string(s.statement_timeout().count()) + " ms) expired";
      }
    }
  }

  static void do_complete(request& base) noexcept {
    auto& self = static_cast<operation&>(base);
    // Done on the worker's side: no longer a pool's load. (Not in finish(): inlined into
    // the caller's coroutine, one more branch there makes g++ 12 warn falsely.)
    if (self.counted) self.impl_->routed_done();
    if (self.deliver) {
      // The drain may free `self` before deliver_later returns: something must hold the
      // connection meanwhile. The worker does; another thread (a cancellation) takes a reference.
      if (self.impl_->on_worker()) {
        self.impl_->deliver_later(self);
      } else {
        auto impl = self.impl_;
        impl->deliver_later(self);
      }
      return;
    }
    // Our own hold on the caller's executor lasts until the post has returned: the
    // completion may run, and the last other work end, before post() is done with it.
    work_executor work = std::move(self.work_);
    asio::any_io_executor io_work = std::move(self.io_work_);
    asio::post(work, completion(&self));
  }

  // From the completion drain, on the handler's executor.
  static void do_deliver(request& base, bool run) {
    auto& self = static_cast<operation&>(base);
    if (run)
      self.finish();
    else
      self.abandon();
  }

  // The completion was destroyed unrun (its executor shut down): the cancellation
  // handler points at us, so take it out of the slot before freeing ourselves.
  void abandon() noexcept {
    slot_type slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    destroy();
  }

  void destroy() noexcept {
    destroy(self_allocator(asio::get_associated_allocator(handler_, asio::recycling_allocator<void>())));
  }

  // `alloc` is a copy: this frees the memory it is read from.
  void destroy(self_allocator alloc) noexcept {
    std::allocator_traits<self_allocator>::destroy(alloc, this);
    std::allocator_traits<self_allocator>::deallocate(alloc, this, 1);
  }

  // On the handler's executor.
  void finish() {
    slot_type slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    if (joins_worker) impl_->join_worker(*this);

    // The allocator first: a handler's moved-from state may not name it any more.
    self_allocator alloc(asio::get_associated_allocator(handler_, asio::recycling_allocator<void>()));
    Handler handler = std::move(handler_);
    if constexpr (std::is_void_v<result_type>) {
      Error error = take_error();
      destroy(std::move(alloc));
      std::move(handler)(std::move(error));
    } else {
      // The result first: making it may fail (out of memory), and that is then the outcome.
      result_type result = take_result_or_failure();
      Error error = take_error();
      destroy(std::move(alloc));
      std::move(handler)(std::move(error), std::move(result));
    }
  }

  // The outcome as the handler's first argument; also fills the caller's diagnostics.
  Error take_error() { return make_completion_error<Error>(failure_, job_.sql(), diag_); }

  result_type take_result_or_failure() {
    try {
      return take_result(job_, failure_);
    } catch (...) {
      failure_.set_current_exception();
      return result_type{};
    }
  }

  // A Job may look at the outcome as it hands over its result (a cursor remembers a failure).
  static result_type take_result(Job& job, const failure& f) {
    if constexpr (requires { job.take_result(f); })
      return job.take_result(f);
    else
      return job.take_result();
  }

  // As Asio's own I/O objects do: also count the work on the connection's executor when
  // the handler has another one, which may not track work at all.
  static asio::any_io_executor track_io_executor(const Handler& h, const asio::any_io_executor& io) {
    if (!io) return {};  // a default-constructed connection: no executor of its own to hold
    if constexpr (std::is_same_v<handler_executor, asio::any_io_executor>) {
      if (asio::get_associated_executor(h, io) == io) return {};
    }
    return asio::prefer(io, asio::execution::outstanding_work.tracked);
  }

  Handler handler_;
  Job job_;
  work_executor work_;
  asio::any_io_executor io_work_;
  std::shared_ptr<connection_impl> impl_;
  diagnostics* diag_;
};

/// The initiation of every asynchronous request, in the shape async_initiate expects
/// (start_request in request_target.hpp uses it). Error is the first argument of the
/// completion signature (see signature_for).
template <class Error>
class initiate_request {
 public:
  using executor_type = asio::any_io_executor;

  initiate_request(std::shared_ptr<connection_impl> impl, executor_type ex, std::uint64_t lease) noexcept
      : impl_(std::move(impl)), ex_(std::move(ex)), lease_(lease) {}

  executor_type get_executor() const noexcept { return ex_; }

  template <class Handler, class Job>
  void operator()(Handler&& handler, Job&& j, diagnostics* diag) const {
    // Asio hands over an lvalue when the caller's token is one: decay-copy it.
    using handler_type = std::decay_t<Handler>;
    using job_type = std::decay_t<Job>;
    static_assert(job<job_type>, "asiolite: not a job (see detail/job.hpp)");
    auto* op = operation<handler_type, job_type, Error>::create(
        handler_type(std::forward<Handler>(handler)), job_type(std::forward<Job>(j)), impl_, ex_, diag, lease_);
    op->start();
  }

 private:
  std::shared_ptr<connection_impl> impl_;
  executor_type ex_;
  std::uint64_t lease_;
};

}  // namespace asiolite::detail
