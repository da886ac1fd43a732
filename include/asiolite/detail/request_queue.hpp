// The queue's decisions, kept apart from threads and locks so tests can drive them:
// what a connection accepts in each state, what runs next, what a cancellation does.
// The caller holds the connection's mutex around every call.
#pragma once

#include <asiolite/detail/request.hpp>

#include <cstddef>

namespace asiolite::detail {

class request_queue {
 public:
  enum class status : std::uint8_t { closed, opening, open, closing };

  enum class push_result : std::uint8_t {
    queued,
    start_worker,     // queued an open on a closed connection: start a worker for it
    rejected_closed,  // complete it with errc::closed
    rejected_open,    // an open on a connection that is not closed: errc::already_open
    done_already,     // a close on a closed connection: complete it successfully
  };

  enum class cancel_result : std::uint8_t {
    removed,      // it was queued and is now out: complete it with operation_aborted
    interrupted,  // it is running: its interrupt flag is set
    none,         // nothing to do (done already, or not cancellable)
  };

  status state() const noexcept { return status_; }
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }

  push_result push(request& r) noexcept {
    switch (r.kind()) {
      case request_kind::open:
        if (status_ != status::closed) return push_result::rejected_open;
        status_ = status::opening;
        append(r);
        return push_result::start_worker;
      case request_kind::close:
        if (status_ == status::closed) return push_result::done_already;
        // Behind everything queued so far; later closes queue behind it and learn its outcome.
        status_ = status::closing;
        append(r);
        return push_result::queued;
      case request_kind::statement:
        if (status_ == status::closed || status_ == status::closing) return push_result::rejected_closed;
        append(r);
        return push_result::queued;
    }
    return push_result::rejected_closed;
  }

  /// The next request to run (now marked running), or nullptr if there is none.
  request* pop() noexcept {
    request* r = head_;
    if (!r) return nullptr;
    unlink(*r);
    r->state = request_state::running;
    return r;
  }

  /// `r` (returned by pop) has run. True when the worker must stop: the connection
  /// closed, or failed to open.
  bool finish(request& r, bool succeeded) noexcept {
    r.state = request_state::done;
    switch (r.kind()) {
      case request_kind::open:
        if (succeeded) {
          if (status_ == status::opening) status_ = status::open;  // else a close is already queued
          return false;
        }
        status_ = status::closed;
        return true;
      case request_kind::close:
        status_ = status::closed;
        return true;
      case request_kind::statement:
        return false;
    }
    return false;
  }

  cancel_result cancel(request& r) noexcept {
    if (r.kind() != request_kind::statement) return cancel_result::none;  // open and close always finish
    if (r.state == request_state::queued) {
      unlink(r);
      r.state = request_state::done;
      return cancel_result::removed;
    }
    if (r.state == request_state::running) {
      r.interrupt.store(true, std::memory_order_relaxed);
      return cancel_result::interrupted;
    }
    return cancel_result::none;
  }

  /// Removes and returns everything still queued, as a list linked by `next`
  /// (used once the worker stops, to complete what can no longer run).
  request* take_all() noexcept {
    request* all = head_;
    for (request* r = head_; r; r = r->next) r->state = request_state::done;
    head_ = tail_ = nullptr;
    size_ = 0;
    return all;
  }

 private:
  void append(request& r) noexcept {
    r.state = request_state::queued;
    r.next = nullptr;
    r.prev = tail_;
    (tail_ ? tail_->next : head_) = &r;
    tail_ = &r;
    ++size_;
  }

  void unlink(request& r) noexcept {
    (r.prev ? r.prev->next : head_) = r.next;
    (r.next ? r.next->prev : tail_) = r.prev;
    r.prev = r.next = nullptr;
    --size_;
  }

  status status_ = status::closed;
  request* head_ = nullptr;
  request* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace asiolite::detail
