// One online backup in progress, on its source's worker (see detail/backup.hpp).
#pragma once

#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/sqlite.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace asiolite::detail {

/// A destination connection lent to a backup whose steps run on the source's worker: the
/// destination's worker waits inside a request (lend()) from the moment the backup may
/// use its handle until release(), so that no other thread touches that handle meanwhile
/// (connections are opened without SQLite's mutexes), and the destination's other
/// requests wait, as SQLite requires of a backup's destination.
class backup_lend {
 public:
  // ---- the destination's worker

  /// Lends `db` until release() (returns at once if released already: the backup ended
  /// before this request ran).
  void lend(sqlite3* db) noexcept {
    handle_ = db;
    int expected = waiting;
    if (!state_.compare_exchange_strong(expected, lent, std::memory_order_acq_rel)) return;
    state_.notify_all();
    state_.wait(lent, std::memory_order_acquire);
  }

  // ---- any thread

  /// The lending request failed or never ran (the destination closed, say).
  void fail(failure f) {
    {
      std::lock_guard lock(mutex_);
      failure_ = std::move(f);
    }
    int expected = waiting;
    if (state_.compare_exchange_strong(expected, failed, std::memory_order_acq_rel)) state_.notify_all();
  }

  /// Ends the loan: the destination's worker goes on. Idempotent.
  void release() noexcept {
    state_.store(released, std::memory_order_release);
    state_.notify_all();
  }

  // ---- the source's worker

  /// Waits until the destination is lent (its handle), the lending failed, or `stop()`
  /// asks to stop waiting (checked every millisecond); null with `f` set otherwise.
  template <class Stop>
  sqlite3* wait_lent(Stop stop, failure& f) {
    for (;;) {
      const int s = state_.load(std::memory_order_acquire);
      if (s == lent) return handle_;
      if (s == failed) {
        std::lock_guard lock(mutex_);
        f = failure_;
        return nullptr;
      }
      if (s == released || stop()) {
        f.set(make_sqlite_error_code(SQLITE_INTERRUPT),
              "interrupted while waiting for the backup's destination connection to finish its queued requests");
        return nullptr;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  static constexpr int waiting = 0, lent = 1, failed = 2, released = 3;

  std::atomic<int> state_{waiting};
  sqlite3* handle_ = nullptr;  // written before state_ turns lent
  std::mutex mutex_;
  failure failure_;
};

/// The destination handle and SQLite's backup object: used, finished and closed on the
/// source connection's worker only (the backup object touches the source's handle). The
/// source's database keeps every unfinished one, and finishes it if the operation goes
/// away (its coroutine destroyed) or at close. A destination that is another connection
/// is lent (`lend`), not owned: finishing the backup gives it back.
struct backup_run {
  sqlite3* dest = nullptr;
  sqlite3_backup* backup = nullptr;
  int remaining = 0;
  int total = 0;
  std::shared_ptr<backup_lend> lend;  // a connection as the destination, else null

  backup_run() = default;
  explicit backup_run(std::shared_ptr<backup_lend> l) noexcept : lend(std::move(l)) {}
  backup_run(const backup_run&) = delete;
  backup_run& operator=(const backup_run&) = delete;
  // Never started, or finished already: the loan can end from any thread.
  ~backup_run() {
    if (lend) lend->release();
  }

  /// sqlite3_backup_finish's result (SQLite's error of the backup, if any), then closes
  /// the destination, or gives a lent one back.
  int finish() noexcept {
    int rc = SQLITE_OK;
    if (backup) rc = sqlite3_backup_finish(std::exchange(backup, nullptr));
    if (lend) {
      dest = nullptr;
      lend->release();
    } else if (dest) {
      sqlite3_close(std::exchange(dest, nullptr));
    }
    return rc;
  }
};

}  // namespace asiolite::detail
