// A cursor's state, shared by its handle, the worker and the requests in flight for it:
// the statement (held on the worker between batches), the batch read ahead, and the
// batch the caller is reading.
//
// Read-ahead: whenever a batch reaches the caller and the statement has more rows, a
// request that nobody awaits (preallocated here) fetches the next batch and leaves it in
// `ahead_`. The caller's next call takes it from there without a hop; only when it is not
// there yet does the call send a request of its own, which FIFO order runs after the
// read-ahead, so that request just picks the batch up. At most two batches exist: the one
// being read and the one ahead; and the storage of one the caller has read, which the
// worker fills again (see recycle).
#pragma once

#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/connection_impl.hpp>
#include <asiolite/detail/database.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/held_statement.hpp>
#include <asiolite/detail/record.hpp>
#include <asiolite/detail/request.hpp>
#include <asiolite/error.hpp>
#include <asiolite/row.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace asiolite::detail {

inline constexpr const char* cursor_closed_message =
    "the connection was closed before the cursor reached its end (a cursor cannot outlive its connection)";

template <class T>
class cursor_state : public held_statement {
 public:
  static constexpr bool untyped = std::is_same_v<T, rows>;
  using batch_type = std::conditional_t<untyped, rows, std::vector<T>>;
  using value_type = std::conditional_t<untyped, row, T>;

  /// What one fetch produced: rows, whether they are the last, and a failure that comes
  /// after them (the caller gets the rows first).
  struct outcome {
    batch_type rows;
    bool done = false;
    failure error;
  };

  /// batch_size 0: the connection's options::cursor_batch_size.
  cursor_state(std::string sql, std::size_t batch_size, connection_impl* impl, std::uint64_t lease)
      : held_statement(std::move(sql)), batch_size_(batch_size), impl_(impl), read_ahead_(*this, lease) {}

  static std::size_t size(const batch_type& b) noexcept { return b.size(); }

  /// The connection the cursor reads on, when it is chosen after the state was made (a
  /// pool's reader): before the open request is submitted.
  void bind(connection_impl* impl) noexcept { impl_ = impl; }

  // ---- worker thread

  /// Prepares and binds the statement, fetches the first batch (into the caller's side:
  /// the caller sees it once the open completes) and starts reading ahead.
  bool open(database& s, failure& f) {
    if (batch_size_ == 0) batch_size_ = s.cursor_batch_size();
    auto stmt = s.acquire(sql(), f);
    if (!stmt || !bind(stmt.get(), f)) return false;
    hold(std::move(stmt), s.held());
    outcome first = step(s);
    if (first.error && (size(first.rows) == 0 || first.error.code == errc::interrupt)) {
      f = std::move(first.error);  // step() has let go of the statement
      return false;
    }
    accept(std::move(first));
    if (!done_ && !pending_error_) read_ahead();
    return true;
  }

  /// For a request of the caller's: the batch read ahead (a read-ahead queued before the
  /// request has run by now), or, if there is none, a fresh one.
  outcome fetch(database& s) {
    std::optional<outcome> got;
    {
      std::lock_guard lock(mutex_);
      got.swap(ahead_);
    }
    outcome o = got ? std::move(*got) : step(s);
    if (!o.done && !o.error) read_ahead();
    return o;
  }

  // ---- the caller's side: one async_next or async_next_batch at a time

  /// True when the next call needs a request. Otherwise it completes at once: with `f`
  /// if set, else with take_next() or take_batch() (rows in hand, or the end).
  bool needs_request(failure& f) {
    for (;;) {
      if (closed()) {
        f.set(errc::closed, cursor_closed_message);
        return false;
      }
      if (failed_) {
        f = failed_;
        return false;
      }
      if (pos_ < size(current_)) return false;
      if (pending_error_) {
        failed_ = std::exchange(pending_error_, failure{});
        continue;
      }
      if (done_) return false;
      std::optional<outcome> got;
      {
        std::lock_guard lock(mutex_);
        got.swap(ahead_);
      }
      if (!got) return true;
      accept(std::move(*got));
      if (!done_ && !pending_error_) read_ahead();
    }
  }

  /// A batch arrived: it becomes the one being read, and the one it replaces (read to
  /// its end: its views are invalid from this call on) is recycled.
  void accept(outcome&& o) {
    batch_type used = std::exchange(current_, std::move(o.rows));
    pos_ = 0;
    done_ = o.done;
    pending_error_ = std::move(o.error);
    recycle(std::move(used));
  }

  /// A call failed: so does every later one, with the same error.
  void fail(const failure& f) { failed_ = f; }

  std::optional<value_type> take_next() {
    if (pos_ >= size(current_)) return std::nullopt;
    if constexpr (untyped)
      return current_[pos_++];
    else
      return std::move(current_[pos_++]);
  }

  /// What is left of the batch in hand (empty at the end).
  batch_type take_batch() {
    batch_type out;
    if constexpr (untyped) {
      out = rows_access::drop_front(std::move(current_), pos_);
    } else {
      current_.erase(current_.begin(), current_.begin() + static_cast<std::ptrdiff_t>(pos_));
      out = std::move(current_);
    }
    current_ = batch_type();
    pos_ = 0;
    return out;
  }

  /// A request for the next batch was cancelled before it ran: the read-ahead it waited
  /// for goes too (removed if queued, interrupted if running).
  void cancel_read_ahead() {
    if (impl_) impl_->cancel(read_ahead_);
  }

 protected:
  /// Binds the cursor's own copies of its arguments.
  virtual bool bind(sqlite3_stmt* stmt, failure& f) = 0;

 private:
  // The request that fetches the next batch ahead of the caller; reused for each batch,
  // never two at a time. Its lease is the cursor's: it runs inside the creator's transaction.
  class read_ahead_request final : public request {
   public:
    read_ahead_request(cursor_state& owner, std::uint64_t lease_id) noexcept
        : request(request_kind::statement, &run_read_ahead, &hand_over), owner_(owner) {
      lease = lease_id;
    }

    void rearm() noexcept {
      failure_.clear();
      interrupt.store(false, std::memory_order_relaxed);
    }

   private:
    static void run_read_ahead(request& r, database& s) noexcept {
      auto& self = static_cast<read_ahead_request&>(r);
      auto& state = self.owner_;
      state.staged_ = state.step(s);
      if (self.interrupt.load(std::memory_order_relaxed) && state.staged_.error.code == errc::interrupt) {
        state.staged_.error.code = asio::error::operation_aborted;
        state.staged_.error.message.clear();
      }
    }

    // After running, or instead (removed by a cancellation, refused by a closing connection).
    static void hand_over(request& r) noexcept {
      auto& self = static_cast<read_ahead_request&>(r);
      auto& state = self.owner_;
      auto keep = std::move(state.read_ahead_keep_);  // destroyed last: may free the state
      std::lock_guard lock(state.mutex_);
      if (self.failure_) {
        state.ahead_.emplace();
        state.ahead_->error = std::move(self.failure_);
      } else {
        state.ahead_ = std::move(state.staged_);
      }
    }

    cursor_state& owner_;
  };

  static bool has_storage(const batch_type& b) noexcept {
    if constexpr (untyped)
      return rows_access::has_storage(b);
    else
      return b.capacity() != 0;
  }

  // The storage of a batch the caller has read goes back to the worker, which fills it
  // again instead of allocating a new batch. A new batch would be allocated on the worker
  // and freed by the caller's thread; with glibc's per-thread arenas each batch then
  // page-faults its memory in again (W5b: about 10% of the worker's time). Caller side.
  void recycle(batch_type&& used) {
    if (!has_storage(used)) return;
    std::lock_guard lock(mutex_);
    if (!spare_) spare_ = std::move(used);
  }

  // Storage for the next batch: a recycled one, emptied, or none. Worker side.
  batch_type take_spare() {
    std::optional<batch_type> spare;
    {
      std::lock_guard lock(mutex_);
      spare.swap(spare_);
    }
    if (!spare) return {};
    if constexpr (!untyped) spare->clear();  // rows_access::start empties a `rows`
    return std::move(*spare);
  }

  // Up to batch_size_ rows. The end or a failure ends the cursor: the statement goes back
  // at once, not when the handle is destroyed.
  outcome step(database& s) noexcept {
    outcome out;
    sqlite3_stmt* stmt = statement();
    try {
      if (!stmt) {
        if (closed())
          out.error.set(errc::closed, cursor_closed_message);
        else
          out.done = true;
        return out;
      }
      out.rows = take_spare();
      if constexpr (untyped) rows_access::start(out.rows, stmt);
      for (std::size_t n = 0; n < batch_size_; ++n) {
        const int rc = s.step(stmt);
        if (rc == SQLITE_ROW) {
          if (!read_row(stmt, out)) break;
        } else if (rc == SQLITE_DONE) {
          out.done = true;
          break;
        } else {
          out.error.set(make_sqlite_error_code(rc), sqlite3_errmsg(sqlite3_db_handle(stmt)));
          break;
        }
      }
    } catch (...) {
      out.error.set_current_exception();
    }
    if (out.done || out.error) release();
    return out;
  }

  bool read_row(sqlite3_stmt* stmt, outcome& out) {
    if constexpr (untyped) {
      rows_access::append(out.rows, stmt);
      return true;
    } else {
      T value{};
      if (!read_record(statement_row{stmt}, value, out.error)) return false;
      out.rows.push_back(std::move(value));
      return true;
    }
  }

  // From the worker (inside a request) or the caller, never while holding mutex_: a
  // refused submission hands over at once.
  void read_ahead() noexcept {
    read_ahead_.rearm();
    read_ahead_keep_ = shared_from_this();
    try {
      impl_->submit(read_ahead_);
    } catch (...) {
      read_ahead_.abort(std::make_error_code(std::errc::resource_unavailable_try_again), "could not queue a request");
    }
  }

  std::size_t batch_size_;  // worker side once open
  connection_impl* impl_;   // kept alive by the handle, or by the worker running a request

  outcome staged_;  // worker side: the read-ahead's batch until its completion hands it over

  std::mutex mutex_;
  std::optional<outcome> ahead_;     // guarded by mutex_
  std::optional<batch_type> spare_;  // guarded by mutex_: storage for the worker's next batch

  // The caller's side.
  batch_type current_;
  std::size_t pos_ = 0;
  bool done_ = false;
  failure pending_error_;  // comes after the rows of current_
  failure failed_;

  read_ahead_request read_ahead_;
  std::shared_ptr<held_statement> read_ahead_keep_;  // while the read-ahead is in flight
};

/// The state with the cursor's own copies of its arguments.
template <class T, class... P>
class cursor_state_with final : public cursor_state<T> {
 public:
  cursor_state_with(std::string sql, std::size_t batch_size, connection_impl* impl, std::uint64_t lease,
                    std::tuple<P...> params)
      : cursor_state<T>(std::move(sql), batch_size, impl, lease), params_(std::move(params)) {}

 private:
  bool bind(sqlite3_stmt* stmt, failure& f) override {
    return std::apply([&](const P&... p) { return bind_all(stmt, f, p...); }, params_);
  }

  std::tuple<P...> params_;  // bound SQLITE_STATIC: they outlive the statement's use
};

}  // namespace asiolite::detail
