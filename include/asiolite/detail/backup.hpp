// Online backup (connection::async_backup, pool::async_backup): one request to start,
// one per step, one to finish, all on the source's worker, so that the source's other
// requests run between two steps; and restore (connection::async_restore), all its steps
// in one request, since SQLite's destination must not be used while a backup writes it.
#pragma once

#include <asiolite/backup.hpp>
#include <asiolite/detail/backup_run.hpp>
#include <asiolite/detail/composed.hpp>
#include <asiolite/detail/database.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/error.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace asiolite::detail {

inline bool check_backup_options(const backup_options& o, failure& f) {
  if (o.pages_per_step >= 1) return true;
  f.set(errc::invalid_option,
        "backup_options::pages_per_step is " + std::to_string(o.pages_per_step) + ": a step copies at least one page");
  return false;
}

/// SQLite's error of `db` for `rc`, with what was being done.
inline void fail_backup(sqlite3* db, int rc, const std::string& what, failure& f) {
  f.set(make_sqlite_error_code(db ? sqlite3_extended_errcode(db) : rc),
        what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

/// Opens the destination (a file, or takes the lent connection's handle) and SQLite's
/// backup object from this handle's main database.
class backup_start_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = void;

  /// `path`: the destination file, or (with run->lend) how to name the destination.
  backup_start_job(std::shared_ptr<backup_run> run, std::string path) noexcept
      : run_(std::move(run)), path_(std::move(path)) {}
  void operator()(database& s, failure& f) {
    if (run_->lend) {
      // The destination connection's worker must have finished what it had queued.
      run_->dest = run_->lend->wait_lent([&s] { return s.stop_requested(); }, f);
      if (!run_->dest) return;
    } else if (!open_file(f)) {
      return;
    }
    // The source's own file: SQLite would copy it onto itself.
    const char* const to = sqlite3_db_filename(run_->dest, "main");
    const char* const from = sqlite3_db_filename(s.native(), "main");
    if ((run_->dest == s.native()) || (to && from && *to && std::string_view(to) == std::string_view(from))) {
      f.set(errc::misuse, "the backup's destination " + path_ + " is the database it copies");
      run_->finish();
      return;
    }
    run_->backup = sqlite3_backup_init(run_->dest, "main", s.native(), "main");
    if (!run_->backup) {
      fail_backup(run_->dest, SQLITE_ERROR, "cannot start the backup to " + path_, f);
      run_->finish();
      return;
    }
    s.adopt_backup(run_);
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  bool open_file(failure& f) {
    if (!check_no_nul(path_, "the backup's destination path", f)) return false;
    const int rc =
        sqlite3_open_v2(path_.c_str(), &run_->dest,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, nullptr);
    if (rc == SQLITE_OK) return true;
    fail_backup(run_->dest, rc, "cannot open the backup's destination " + path_, f);
    run_->finish();
    return false;
  }

  std::shared_ptr<backup_run> run_;
  std::string path_;
};

/// Runs on the destination connection's worker for a backup to that connection: lends
/// its handle, its worker waiting here until the backup ends (backup_lend).
class backup_lend_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  static constexpr bool interruptible = false;  // it ends when the backup does
  using result_type = void;

  explicit backup_lend_job(std::shared_ptr<backup_lend> lend) noexcept : lend_(std::move(lend)) {}
  void operator()(database& s, failure&) { lend_->lend(s.native()); }
  std::string_view sql() const noexcept { return {}; }

 private:
  std::shared_ptr<backup_lend> lend_;
};

/// What a step did: copied its pages (SQLITE_OK), the last of them (SQLITE_DONE), or
/// nothing, another connection holding the source or the destination (SQLITE_BUSY: the
/// backup waits and tries again, up to the connection's busy_timeout).
struct backup_step_result {
  int rc = SQLITE_OK;
  std::chrono::milliseconds busy_timeout{0};
};

/// Copies up to `pages` pages.
class backup_step_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = backup_step_result;

  backup_step_job(std::shared_ptr<backup_run> run, int pages) noexcept : run_(std::move(run)), pages_(pages) {}
  void operator()(database& s, failure& f) {
    const int rc = sqlite3_backup_step(run_->backup, pages_);
    run_->remaining = sqlite3_backup_remaining(run_->backup);
    run_->total = sqlite3_backup_pagecount(run_->backup);
    result_.busy_timeout = s.busy_timeout();
    if (rc == SQLITE_DONE || rc == SQLITE_OK)
      result_.rc = rc;
    else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
      result_.rc = SQLITE_BUSY;
    else
      fail_backup(run_->dest, rc, "the backup failed", f);
  }
  backup_step_result take_result() noexcept { return result_; }
  std::string_view sql() const noexcept { return {}; }

 private:
  std::shared_ptr<backup_run> run_;
  int pages_;
  backup_step_result result_;
};

/// Finishes the backup and closes the destination.
class backup_finish_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  static constexpr bool interruptible = false;  // it must run, cancelled or not
  using result_type = void;

  explicit backup_finish_job(std::shared_ptr<backup_run> run) noexcept : run_(std::move(run)) {}
  void operator()(database& s, failure& f) {
    if (const int rc = s.end_backup(*run_); rc != SQLITE_OK) f.set(make_sqlite_error_code(rc), sqlite3_errstr(rc));
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  std::shared_ptr<backup_run> run_;
};

/// The whole backup from `source` (a connection's target, or a read transaction's) to
/// `path`, step by step: cancellable between steps (and a step waiting in the queue).
/// Name-dependent on Target only so that it is compiled where used.
template <class Target = request_target>
asio::awaitable<composed_outcome<void>> run_backup(Target source, std::string path, backup_options o,
                                                   std::shared_ptr<backup_run> lent) {
  composed_outcome<void> out;
  if (!check_backup_options(o, out.f)) co_return out;
  // Cancellation is checked between steps: a step under way completes first.
  co_await asio::this_coro::throw_if_cancelled(false);
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  const asio::cancellation_state cancel = co_await asio::this_coro::cancellation_state;
  auto run = lent ? std::move(lent) : std::make_shared<backup_run>();
  bool started = false;
  int attempt = 0;  // retries in the current contention
  std::chrono::milliseconds busy_waited{0};
  // A steady_timer, named through Target: a non-dependent co_await would be compiled in
  // every program that includes asiolite (see pool.hpp on its coroutines).
  using timer = std::conditional_t<std::is_void_v<Target>, void, asio::steady_timer>;
  timer pause(co_await asio::this_coro::executor);
  try {
    co_await start_request(source, backup_start_job(run, path), nullptr, asio::use_awaitable);
    started = true;
    for (;;) {
      if (cancel.cancelled() != asio::cancellation_type::none) {
        out.f.set(asio::error::operation_aborted, "cancelled between two steps of the backup");
        break;
      }
      const backup_step_result step =
          co_await start_request(source, backup_step_job(run, o.pages_per_step), nullptr, asio::use_awaitable);
      if (step.rc == SQLITE_BUSY) {
        // Another connection holds a lock: wait a little, as busy_timeout allows.
        if (busy_waited >= step.busy_timeout) {
          out.f.set(make_sqlite_error_code(SQLITE_BUSY),
                    "the backup waited " + std::to_string(busy_waited.count()) +
                        " ms (busy_timeout) for a lock another connection holds on the source or the destination");
          break;
        }
        // As a statement waits (busy_pause), but on a timer: the worker stays free.
        const auto wait = busy_pause(attempt++);
        pause.expires_after(wait);
        co_await pause.async_wait(asio::use_awaitable);  // a cancellation ends it: checked above
        busy_waited += wait;
        continue;
      }
      busy_waited = std::chrono::milliseconds{0};
      attempt = 0;
      if (o.progress) o.progress(backup_progress{run->remaining, run->total});
      if (step.rc == SQLITE_DONE) break;
    }
  } catch (...) {
    out.f.set_current_exception();
  }
  if (started) {
    try {
      co_await start_request(source, backup_finish_job(run), nullptr, asio::use_awaitable);
    } catch (...) {
      if (!out.f) out.f.set_current_exception();
    }
  }
  co_return out;
}

/// run_backup_to's coroutine: the failure found before the loan, or the backup. (Every
/// argument named: g++ 12 destroys some temporaries of a co_await expression twice.)
template <class Target>
asio::awaitable<composed_outcome<void>> run_backup_lent(Target source, backup_options o,
                                                        std::shared_ptr<backup_run> run, failure early) {
  composed_outcome<void> out;
  if (early) {
    out.f = std::move(early);
    co_return out;
  }
  std::string what = "connection";
  out = co_await run_backup(std::move(source), std::move(what), std::move(o), std::move(run));
  co_return out;
}

/// A backup to another connection (`dest`): its worker lends its handle from the time its
/// queued requests are done until the backup ends, while the steps run on the source's
/// worker as for a file. Called in the operation's initiation, so that the lending request
/// is queued on `dest` then: dest's requests made after the initiating call run after the
/// copy. The backup_run owns the loan from here: however the operation ends (its coroutine
/// never run, or destroyed), the loan ends with the last use of the run, on the source's
/// worker or here, never while a step may still touch dest's handle.
template <class Target = request_target>
asio::awaitable<composed_outcome<void>> run_backup_to(Target source, Target dest, backup_options o) {
  failure early;
  std::shared_ptr<backup_run> run;
  if (!dest.impl) {
    early.set(errc::closed, "the backup's destination connection is empty (moved from, or never opened)");
  } else if (dest.impl == source.impl) {
    early.set(errc::misuse, "the backup's destination connection is the connection it copies");
  } else if (check_backup_options(o, early)) {
    auto lend = std::make_shared<backup_lend>();
    run = std::make_shared<backup_run>(lend);
    // Not awaited: the loan begins when the request starts, and ends with the backup.
    start_request(dest, backup_lend_job(lend), nullptr, [lend](error_code ec) {
      if (!ec) return;
      failure f;
      f.set(ec, "the backup's destination connection: " + ec.message());
      lend->fail(std::move(f));
    });
  }
  return run_backup_lent(std::move(source), std::move(o), std::move(run), std::move(early));
}

/// Restores this handle's main database from the database at `path`: every step in this
/// one request, stopped between two steps by a cancellation or the statement timeout.
class restore_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = void;

  restore_job(std::string path, backup_options o) : path_(std::move(path)), options_(std::move(o)) {}
  void operator()(database& s, failure& f) {
    if (!check_backup_options(options_, f)) return;
    if (!check_no_nul(path_, "the restore's source path", f)) return;
    sqlite3* src = nullptr;
    int rc =
        sqlite3_open_v2(path_.c_str(), &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, nullptr);
    if (rc != SQLITE_OK) {
      fail_backup(src, rc, "cannot open the restore's source " + path_, f);
      sqlite3_close(src);
      return;
    }
    sqlite3_backup* b = sqlite3_backup_init(s.native(), "main", src, "main");
    if (!b) {
      fail_backup(s.native(), SQLITE_ERROR, "cannot start the restore from " + path_, f);
      sqlite3_close(src);
      return;
    }
    int attempt = 0;  // retries in the current contention
    for (;;) {
      if (s.stop_requested()) {
        f.set(make_sqlite_error_code(SQLITE_INTERRUPT), "interrupted between two steps of the restore");
        break;
      }
      rc = sqlite3_backup_step(b, options_.pages_per_step);
      if (rc == SQLITE_DONE) break;
      const bool locked = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
      // Another connection holds a lock: wait as a statement would (busy_timeout).
      if (locked && s.wait_for_lock(attempt++)) continue;
      if (!locked) attempt = 0;
      if (rc != SQLITE_OK) {
        fail_backup(s.native(), rc, "the restore failed", f);
        break;
      }
    }
    rc = sqlite3_backup_finish(b);
    if (!f && rc != SQLITE_OK) fail_backup(s.native(), rc, "the restore failed", f);
    sqlite3_close(src);
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  std::string path_;
  backup_options options_;
};

}  // namespace asiolite::detail
