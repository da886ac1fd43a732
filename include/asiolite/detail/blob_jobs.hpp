// What a blob's requests do on the worker: open, read, write, reopen, close (the Job
// contract is in job.hpp). The blob's handle is held like a prepared statement's
// statement: by the database's list until released, so that the connection's close
// closes it first.
#pragma once

#include <asiolite/detail/database.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/held_statement.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/error.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace asiolite {
class blob_handle;
}

namespace asiolite::detail {

inline constexpr const char* blob_closed_message =
    "the blob is closed (closed by async_close, or its connection closed: a blob cannot outlive its connection)";

/// One open blob: SQLite's handle, used on the worker only; its size and row, readable
/// from any thread.
class blob_state final : public held_statement {
 public:
  blob_state(std::string database, std::string table, std::string column, bool writable)
      : held_statement(database + "." + table + "." + column),
        database_(std::move(database)),
        table_(std::move(table)),
        column_(std::move(column)),
        writable_(writable) {}

  // ---- worker thread

  sqlite3_blob* handle() const noexcept { return handle_; }

  /// Opens the value of row `rowid` (sqlite3_blob_open), held until released in the
  /// database's list. SQLite's result code.
  int open(sqlite3* db, std::int64_t rowid, held_statements& list) noexcept {
    const int rc = open_value(db, rowid, handle_);
    if (rc != SQLITE_OK) return rc;
    moved_to(rowid);
    hold(statement_cache::checkout{}, list);
    return rc;
  }

  /// Points the blob at row `rowid`. SQLite's reopen cannot revive a blob whose expiry a
  /// read or write has met (SQLite finalized its statement then): that one is opened
  /// afresh, on the same value of the new row.
  int reopen(sqlite3* db, std::int64_t rowid) noexcept {
    int rc = sqlite3_blob_reopen(handle_, rowid);
    if ((rc & 0xff) == SQLITE_ABORT) {
      sqlite3_blob* fresh = nullptr;
      rc = open_value(db, rowid, fresh);
      if (rc != SQLITE_OK) return rc;
      sqlite3_blob_close(std::exchange(handle_, fresh));
    }
    // A failed reopen leaves SQLite's blob expired, and its size 0: reads and writes
    // must say expired, not end of blob.
    expired_ = rc != SQLITE_OK;
    if (rc == SQLITE_OK) moved_to(rowid);
    return rc;
  }

  /// A reopen failed: the blob reads nothing until a reopen succeeds.
  bool expired() const noexcept { return expired_; }

  /// The blob now reads `rowid`'s value.
  void moved_to(std::int64_t rowid) noexcept {
    size_.store(static_cast<std::uint64_t>(sqlite3_blob_bytes(handle_)), std::memory_order_relaxed);
    rowid_.store(rowid, std::memory_order_relaxed);
  }

  /// Closes SQLite's handle: sqlite3_blob_close's result (the commit's, for a writable
  /// blob in autocommit mode).
  int close_handle() noexcept { return handle_ ? sqlite3_blob_close(std::exchange(handle_, nullptr)) : SQLITE_OK; }

  // ---- any thread

  std::uint64_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
  std::int64_t rowid() const noexcept { return rowid_.load(std::memory_order_relaxed); }
  bool writable() const noexcept { return writable_; }

 private:
  void on_release() noexcept override { close_handle(); }

  // sqlite3_blob_open on this blob's value of row `rowid`: `out` is the handle, or stays
  // null on failure (SQLite's result code).
  int open_value(sqlite3* db, std::int64_t rowid, sqlite3_blob*& out) const noexcept {
    sqlite3_blob* b = nullptr;
    const int rc =
        sqlite3_blob_open(db, database_.c_str(), table_.c_str(), column_.c_str(), rowid, writable_ ? 1 : 0, &b);
    if (rc == SQLITE_OK)
      out = b;
    else if (b)
      sqlite3_blob_close(b);
    return rc;
  }

  const std::string database_, table_, column_;
  sqlite3_blob* handle_ = nullptr;
  bool expired_ = false;
  const bool writable_;
  std::atomic<std::uint64_t> size_{0};
  std::atomic<std::int64_t> rowid_{0};
};

/// SQLite's error for a blob operation, saying what an expired blob means.
inline void fail_blob(sqlite3* db, int rc, std::string_view what, failure& f) {
  std::string message(what);
  message += ": ";
  if ((rc & 0xff) == SQLITE_ABORT)
    message += "the blob expired: its row was changed or deleted since it was opened (reopen it)";
  else
    message += sqlite3_errmsg(db);
  f.set(make_sqlite_error_code(rc), std::move(message));
}

/// The blob of a request, or a failure if it is closed.
inline sqlite3_blob* open_handle(const std::shared_ptr<blob_state>& state, failure& f) {
  sqlite3_blob* b = state ? state->handle() : nullptr;
  if (!b) f.set(errc::closed, blob_closed_message);
  return b;
}

class open_blob_job : public handle_delivery<blob_handle, blob_state> {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = blob_handle;

  open_blob_job(request_target target, std::string database, std::string table, std::string column, std::int64_t rowid,
                bool writable)
      : handle_delivery(std::move(target), std::make_shared<blob_state>(std::move(database), std::move(table),
                                                                        std::move(column), writable)),
        rowid_(rowid) {}

  void operator()(database& s, failure& f) {
    if (!check_no_nul(state_->sql(), "the blob's database, table or column name", f)) return;
    if (const int rc = state_->open(s.native(), rowid_, s.held()); rc != SQLITE_OK) {
      fail_blob(s.native(), rc, "cannot open the blob " + state_->sql() + " of row " + std::to_string(rowid_), f);
      return;
    }
    made();
  }

  result_type take_result(const failure& f);  // impl/blob_handle.hpp: the handle is complete there

  std::string_view sql() const noexcept { return {}; }

 private:
  std::int64_t rowid_;
};

/// A read into the caller's buffers (Write false: read_some, as much as the value holds
/// from the offset) or a write from them (all of them or nothing), straight between SQLite
/// and the buffers.
template <class Buffers, bool Write>
class blob_transfer_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = std::size_t;

  blob_transfer_job(std::shared_ptr<blob_state> state, std::uint64_t offset, const Buffers& buffers)
      : state_(std::move(state)), offset_(offset), buffers_(buffers) {}

  void operator()(database& s, failure& f) {
    sqlite3_blob* const b = open_handle(state_, f);
    if (!b || !usable(s.native(), f)) return;
    const auto size = static_cast<std::uint64_t>(sqlite3_blob_bytes(b));
    if (!fits(size, f)) return;
    std::uint64_t at = offset_;
    for (auto it = asio::buffer_sequence_begin(buffers_); it != asio::buffer_sequence_end(buffers_) && at < size;
         ++it) {
      const auto piece = *it;  // a mutable_buffer to read into, a const_buffer to write from
      const auto n = static_cast<int>(std::min<std::uint64_t>(piece.size(), size - at));
      if (n == 0) continue;
      int rc;
      if constexpr (Write)
        rc = sqlite3_blob_write(b, piece.data(), n, static_cast<int>(at));
      else
        rc = sqlite3_blob_read(b, piece.data(), n, static_cast<int>(at));
      if (rc != SQLITE_OK) {
        fail_blob(s.native(), rc, (Write ? "cannot write the blob " : "cannot read the blob ") + state_->sql(), f);
        return;
      }
      at += static_cast<std::uint64_t>(n);
      done_ += static_cast<std::size_t>(n);
    }
  }
  result_type take_result() noexcept { return done_; }
  std::string_view sql() const noexcept { return {}; }

 private:
  // Expired by a failed reopen (SQLite then reports a size of 0), or opened read-only.
  bool usable(sqlite3* db, failure& f) const {
    if (state_->expired()) {
      fail_blob(db, SQLITE_ABORT, "the blob " + state_->sql() + " has no row since its reopen failed", f);
      return false;
    }
    if (Write && !state_->writable()) {
      f.set(errc::readonly, "the blob " + state_->sql() + " was opened read-only (blob_options::writable)");
      return false;
    }
    return true;
  }

  // A read must start before the end (unless it reads nothing); a write must end by it.
  bool fits(std::uint64_t size, failure& f) const {
    const std::size_t total = asio::buffer_size(buffers_);
    if constexpr (Write) {
      if (offset_ <= size && total <= size - offset_) return true;
      f.set(errc::past_blob_end, "a write of " + std::to_string(total) + " bytes at byte " + std::to_string(offset_) +
                                     " would go past the end of the blob " + state_->sql() + " (" +
                                     std::to_string(size) + " bytes): nothing was written");
    } else {
      if (total == 0 || offset_ < size) return true;
      f.set(asio::error::eof, "the read starts at byte " + std::to_string(offset_) + ", at or past the blob's end (" +
                                  std::to_string(size) + " bytes)");
    }
    return false;
  }

  std::shared_ptr<blob_state> state_;
  std::uint64_t offset_;
  Buffers buffers_;
  std::size_t done_ = 0;
};

template <class Buffers>
using blob_read_job = blob_transfer_job<Buffers, false>;
template <class Buffers>
using blob_write_job = blob_transfer_job<Buffers, true>;

class blob_reopen_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = void;

  blob_reopen_job(std::shared_ptr<blob_state> state, std::int64_t rowid) noexcept
      : state_(std::move(state)), rowid_(rowid) {}

  void operator()(database& s, failure& f) {
    if (!open_handle(state_, f)) return;
    if (const int rc = state_->reopen(s.native(), rowid_); rc != SQLITE_OK) {
      fail_blob(s.native(), rc, "cannot reopen the blob " + state_->sql() + " on row " + std::to_string(rowid_), f);
      return;
    }
    state_->moved_to(rowid_);
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  std::shared_ptr<blob_state> state_;
  std::int64_t rowid_;
};

class blob_close_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  static constexpr bool interruptible = false;  // it must run, cancelled or not
  using result_type = void;

  explicit blob_close_job(std::shared_ptr<blob_state> state) noexcept : state_(std::move(state)) {}

  void operator()(database& s, failure& f) {
    if (!open_handle(state_, f)) return;
    const int rc = state_->close_handle();
    state_->release();
    if (rc != SQLITE_OK) fail_blob(s.native(), rc, "closing the blob " + state_->sql(), f);
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  std::shared_ptr<blob_state> state_;
};

}  // namespace asiolite::detail
