// The queue's decisions, kept apart from threads and locks so tests can drive them:
// what a connection accepts in each state, what runs next, what a cancellation does,
// and which transaction holds the connection. The caller holds the connection's mutex
// around every call.
#pragma once

#include <asiolite/detail/request.hpp>
#include <asiolite/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>

namespace asiolite::detail {

/// A FIFO of requests linked through their own prev/next pointers.
class request_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  request* front() const noexcept { return head_; }

  void push_back(request& r) noexcept {
    r.next = nullptr;
    r.prev = tail_;
    (tail_ ? tail_->next : head_) = &r;
    tail_ = &r;
    ++size_;
  }

  void erase(request& r) noexcept {
    (r.prev ? r.prev->next : head_) = r.next;
    (r.next ? r.next->prev : tail_) = r.prev;
    r.prev = r.next = nullptr;
    --size_;
  }

  /// Empties the list, returning its requests linked by `next`, in order.
  request* take_all() noexcept {
    request* all = head_;
    head_ = tail_ = nullptr;
    size_ = 0;
    return all;
  }

 private:
  request* head_ = nullptr;
  request* tail_ = nullptr;
  std::size_t size_ = 0;
};

class request_queue {
 public:
  enum class status : std::uint8_t { closed, opening, open, closing };

  enum class push_result : std::uint8_t {
    queued,
    start_worker,     // queued an open on a closed connection: start a worker for it
    rejected_closed,  // complete it with errc::closed
    rejected_open,    // an open on a connection that is not closed: errc::already_open
    rejected_ended,   // a request of a transaction that has ended: errc::transaction_ended
    done_already,     // a close on a closed connection, a rollback of an ended transaction:
                      // complete it successfully
  };

  enum class cancel_result : std::uint8_t {
    removed,      // it was queued and is now out: complete it with operation_aborted
    interrupted,  // it is running: its interrupt flag is set
    none,         // nothing to do (done already, or not cancellable)
  };

  /// What ran() changed.
  struct ran_result {
    bool stop = false;         // the connection closed, or failed to open: the worker ends
    bool lease_began = false;  // a BEGIN succeeded: its transaction holds the connection
    bool lease_ended = false;  // the transaction holding the connection is over
  };

  /// What a request the queue refused fails with.
  struct refused {
    error_code code;
    const char* message;
  };

  /// Why push() would not take a request, as its failure. For the rejected_* results.
  static refused refusal(push_result why) noexcept {
    switch (why) {
      case push_result::rejected_open:
        return {make_error_code(errc::already_open), "the connection is open, opening or closing"};
      case push_result::rejected_ended:
        return {make_error_code(errc::transaction_ended), "the transaction has ended"};
      default:
        return {make_error_code(errc::closed), "the connection is not open"};
    }
  }

  /// A request of this kind that can no longer run (its connection closed, its
  /// transaction ended) has nothing left to do, and succeeds: a close, a rollback, the
  /// release of a statement. Any other fails.
  static constexpr bool succeeds_unrun(request_kind kind) noexcept {
    return kind == request_kind::close || kind == request_kind::rollback || kind == request_kind::release_statement;
  }

  status state() const noexcept { return status_; }
  /// The transaction that holds the connection (its lease id), or 0.
  std::uint64_t lease() const noexcept { return lease_; }
  bool empty() const noexcept { return main_.empty() && leased_.empty(); }
  std::size_t size() const noexcept { return main_.size() + leased_.size(); }

  push_result push(request& r) noexcept {
    switch (r.kind()) {
      case request_kind::open:
        if (status_ != status::closed) return push_result::rejected_open;
        status_ = status::opening;
        append(main_, r);
        return push_result::start_worker;
      case request_kind::close:
        if (status_ == status::closed) return push_result::done_already;
        // Behind everything queued so far, and behind an open transaction: close waits
        // for it to end. Later closes queue behind this one and learn its outcome.
        status_ = status::closing;
        append(main_, r);
        return push_result::queued;
      case request_kind::begin:
        if (status_ == status::closed || status_ == status::closing) return push_result::rejected_closed;
        append(main_, r);
        return push_result::queued;
      case request_kind::release_statement:
        // A closing connection lets go of every held statement itself.
        if (status_ == status::closed || status_ == status::closing) return push_result::done_already;
        append(main_, r);
        return push_result::queued;
      case request_kind::statement:
      case request_kind::rollback:
        if (r.lease != 0) return push_leased(r);
        if (status_ == status::closed || status_ == status::closing) return push_result::rejected_closed;
        append(main_, r);
        return push_result::queued;
    }
    return push_result::rejected_closed;
  }

  /// The next request to run (now marked running), or nullptr if there is none. While a
  /// transaction holds the connection only its requests run; the rest wait, in order.
  request* pop() noexcept {
    request_list& from = lease_ != 0 ? leased_ : main_;
    request* r = from.front();
    if (!r) return nullptr;
    from.erase(*r);
    r->state = request_state::running;
    return r;
  }

  /// The next request, if it is an autocommit write that may join a group commit
  /// (request::groupable) and no transaction holds the connection (now marked running);
  /// else nullptr, and the queue is unchanged.
  request* pop_groupable() noexcept {
    request* r = main_.front();
    if (lease_ != 0 || !r || !r->groupable) return nullptr;
    return pop();
  }

  /// `r` (returned by pop) has run. `in_transaction`: the database has a transaction
  /// open now (!sqlite3_get_autocommit). After lease_ended, take_leased() holds what
  /// that transaction had still queued.
  ran_result ran(request& r, bool succeeded, bool in_transaction = false) noexcept {
    r.state = request_state::done;
    ran_result result;
    switch (r.kind()) {
      case request_kind::open:
        if (succeeded) {
          if (status_ == status::opening) status_ = status::open;  // else a close is already queued
        } else {
          status_ = status::closed;
          result.stop = true;
        }
        break;
      case request_kind::close:
        status_ = status::closed;
        result.stop = true;
        break;
      case request_kind::begin:
        if (succeeded && in_transaction) {
          lease_ = r.lease;
          result.lease_began = true;
        }
        break;
      case request_kind::release_statement:
        break;
      case request_kind::statement:
      case request_kind::rollback:
        // However it ended (commit, rollback, or SQLite rolling back on an error), once
        // no transaction is open the connection is free again.
        if (lease_ != 0 && r.lease == lease_ && !in_transaction) {
          lease_ = 0;
          result.lease_ended = true;
        }
        break;
    }
    return result;
  }

  cancel_result cancel(request& r) noexcept {
    // Open and close always run; a rollback is what ends a transaction, whoever waits for
    // it; a release is what gives a dead handle's statement back.
    if (r.kind() == request_kind::open || r.kind() == request_kind::close || r.kind() == request_kind::rollback ||
        r.kind() == request_kind::release_statement)
      return cancel_result::none;
    if (r.state == request_state::queued) {
      list_of(r).erase(r);
      r.state = request_state::done;
      return cancel_result::removed;
    }
    if (r.state == request_state::running) {
      r.interrupt.store(true, std::memory_order_relaxed);
      return cancel_result::interrupted;
    }
    return cancel_result::none;
  }

  /// Cancels every queued request: returns them (linked by `next`) for completion with
  /// operation_aborted, and sets the running one's interrupt flag. Open, close and
  /// rollback requests stay, and so do the ones that must run to their end once started
  /// (a COMMIT): connection::cancel leaves them to finish; only their own cancellation
  /// slot may take them out while queued.
  request* cancel_all(request* running) noexcept {
    request_list out;
    for (request_list* list : {&leased_, &main_}) {
      for (request* r = list->front(); r;) {
        request* next = r->next;
        if (r->interruptible && cancel(*r) == cancel_result::removed) out.push_back(*r);
        r = next;
      }
    }
    if (running) cancel(*running);
    return out.take_all();
  }

  /// Takes out the queued requests whose deadline (request::deadline) is `now` or
  /// earlier, linked by `next`, for completion with timed_out; `next_deadline` becomes the
  /// earliest deadline left (unset: none). A request that must run to its end once
  /// queued behind its transaction (a COMMIT) or that nothing cancels has no deadline.
  request* take_overdue(std::chrono::steady_clock::time_point now,
                        std::optional<std::chrono::steady_clock::time_point>& next_deadline) noexcept {
    request_list out;
    next_deadline.reset();
    for (request_list* list : {&leased_, &main_}) {
      for (request* r = list->front(); r;) {
        request* next = r->next;
        if (r->deadline != std::chrono::steady_clock::time_point{}) {
          if (r->deadline <= now && cancel(*r) == cancel_result::removed)
            out.push_back(*r);
          else if (!next_deadline || r->deadline < *next_deadline)
            next_deadline = r->deadline;
        }
        r = next;
      }
    }
    return out.take_all();
  }

  /// Removes and returns what the transaction that just ended had still queued.
  request* take_leased() noexcept { return take(leased_); }

  /// Removes and returns everything still queued, as a list linked by `next` (used once
  /// the worker stops, to complete what can no longer run).
  request* take_all() noexcept {
    request* leased = take(leased_);
    request* main = take(main_);
    if (!leased) return main;
    request* last = leased;
    while (last->next) last = last->next;
    last->next = main;
    return leased;
  }

 private:
  // A transaction's request runs only while that transaction holds the connection; once
  // it has ended, its statements fail and its rollbacks have nothing left to do.
  push_result push_leased(request& r) noexcept {
    if (r.lease != lease_)
      return r.kind() == request_kind::rollback ? push_result::done_already : push_result::rejected_ended;
    append(leased_, r);  // even while closing: the close waits for this transaction
    return push_result::queued;
  }

  request_list& list_of(const request& r) noexcept {
    return r.lease != 0 && r.kind() != request_kind::begin ? leased_ : main_;
  }

  static void append(request_list& list, request& r) noexcept {
    r.state = request_state::queued;
    list.push_back(r);
  }

  static request* take(request_list& list) noexcept {
    request* all = list.take_all();
    for (request* r = all; r; r = r->next) r->state = request_state::done;
    return all;
  }

  status status_ = status::closed;
  std::uint64_t lease_ = 0;
  request_list main_;
  request_list leased_;
};

}  // namespace asiolite::detail
