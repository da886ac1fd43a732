// The worker's side of a connection: the sqlite3 handle, its statement cache, and every
// way of running SQL on it synchronously. Worker thread only.
// Functions that depend on no template argument are defined in detail/impl/database.ipp (see
// config.hpp, ASIOLITE_DECL).
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/detail/backup_run.hpp>
#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/held_statement.hpp>
#include <asiolite/detail/hooks.hpp>
#include <asiolite/detail/record.hpp>
#include <asiolite/detail/sqlite.hpp>
#include <asiolite/detail/statement_cache.hpp>
#include <asiolite/detail/statement_row.hpp>
#include <asiolite/detail/time_limit.hpp>
#include <asiolite/error.hpp>
#include <asiolite/options.hpp>
#include <asiolite/results.hpp>
#include <asiolite/row.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace asiolite::detail {

/// Where a statement comes from: SQL text, prepared through the cache; or a statement
/// held across requests (a prepared statement's), borrowed for one use.
struct statement_source {
  statement_source(std::string_view text) noexcept : sql(text) {}
  statement_source(const std::string& text) noexcept : sql(text) {}
  statement_source(const char* text) noexcept : sql(text) {}
  statement_source(sqlite3_stmt* held_stmt, std::string_view text) noexcept : sql(text), held(held_stmt) {}

  std::string_view sql;
  sqlite3_stmt* held = nullptr;
};

struct execute_many_run;  // execute_many.hpp

class database;

/// The database whose user code (an async_call callable, an on_open hook: whatever holds
/// a sync_handle) runs on this thread now. A request made from there on the same
/// connection would queue behind the very request that waits for it.
inline thread_local const database* user_code_on = nullptr;

/// Marks this thread as running user code on `db` for the scope's lifetime (nests).
class user_code_scope {
 public:
  explicit user_code_scope(const database& db) noexcept : outer_(user_code_on) { user_code_on = &db; }
  user_code_scope(const user_code_scope&) = delete;
  user_code_scope& operator=(const user_code_scope&) = delete;
  ~user_code_scope() { user_code_on = outer_; }

 private:
  const database* outer_;
};

/// Options often come from a configuration file, so a value outside its range (an enum
/// cast from an integer, a negative duration) fails the open and names the field, rather
/// than reaching a PRAGMA's text or a deadline's arithmetic. (duration::max() is a valid
/// "no limit": deadlines saturate, see time_limit.hpp.)
ASIOLITE_DECL bool check_options(const std::string& path, const options& o, failure& f);

/// Whether `category` is a limit and SQLite takes `value` for it (unset: only the
/// category is checked); `what` names it in the message.
ASIOLITE_DECL bool check_limit(limit category, std::optional<int> value, const std::string& what, failure& f);

/// The limit's current value; with `value` >= 0, sets it (checked by check_limit first),
/// and still returns the value it had.
ASIOLITE_DECL int exchange_limit(sqlite3* db, limit category, int value) noexcept;

/// Loads the extension at `path` (entry point: SQLite's default when empty), with loading
/// enabled for this call only and through the C API only (SQL's load_extension() stays
/// refused). False, with `f` set, if it does not load.
ASIOLITE_DECL bool load_extension(sqlite3* db, std::string_view path, std::string_view entry_point, failure& f);

/// A progress handler's interval is at least one step.
inline bool check_progress_interval(int every, failure& f) {
  if (every >= 1) return true;
  f.set(errc::invalid_option, "the progress handler's interval must be at least 1 step, not " + std::to_string(every));
  return false;
}

/// A subscription keeps at least one change pending (watch_options::max_pending).
inline bool check_watch_options(const watch_options& o, failure& f) {
  if (o.max_pending >= 1) return true;
  f.set(errc::invalid_option, "watch_options::max_pending is 0: a subscriber keeps at least one change");
  return false;
}

/// The pause before the `attempt`-th retry (from 0) of something another connection's
/// lock holds up: 1, 2, 5, then 10 ms, as long as busy_timeout allows. Short at first for
/// a lock about to go, and never long, so that a cancellation is heard between two.
inline std::chrono::milliseconds busy_pause(int attempt) noexcept {
  constexpr int steps_ms[] = {1, 2, 5, 10};
  return std::chrono::milliseconds(steps_ms[attempt < 3 ? (attempt < 0 ? 0 : attempt) : 3]);
}

class database {
 public:
  database() = default;
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  ~database() { close(); }

  sqlite3* native() const noexcept { return db_; }
  bool is_open() const noexcept { return db_ != nullptr; }

  /// A transaction is open (SQLite is out of autocommit mode).
  bool in_transaction() const noexcept { return db_ && !sqlite3_get_autocommit(db_); }

  /// Rolls back, after a failure, a transaction the library began itself within one
  /// request (execute_many, async_call_in_transaction, a commit group). If SQLite cannot
  /// (out of memory, an I/O error), the transaction stays open with nothing to own it:
  /// remembered, so that the worker ends it before anything runs outside a transaction.
  void roll_back_own_transaction() noexcept {
    if (!in_transaction()) return;
    undo("ROLLBACK");
    stray_ = in_transaction();
  }

  /// Runs the library's own undo SQL (ROLLBACK, ROLLBACK TO), ignoring its outcome (the
  /// failure that led here is the one to report), and never stopped by the cancellation
  /// of the request it undoes.
  void undo(const char* sql) noexcept {
    const auto* flag = std::exchange(interrupt_, nullptr);
    sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    interrupt_ = flag;
  }

  /// A clean-up ROLLBACK failed: SQLite is inside a transaction that no handle owns.
  bool stray_transaction() const noexcept { return stray_; }

  /// Tries that ROLLBACK again; if it still fails, says why in `f`.
  bool end_stray_transaction(failure& f);

  /// Opens and configures the database (not the on_open hook: the worker runs that).
  bool open(const std::string& path, const options& o, failure& f);

  void close() noexcept;

  /// Until unwatch(), statements stop (SQLITE_INTERRUPT, or SQLITE_BUSY while waiting for a
  /// lock) once *flag turns true or the statement timeout passes. The progress and busy
  /// handlers check the running request's own flag: a cancellation can only ever stop the
  /// request it was meant for, never the next one.
  void watch(const std::atomic<bool>* flag) noexcept {
    interrupt_ = flag;
    timed_out_ = false;
    deadline_ = statement_timeout_.count() > 0 ? deadline_after(statement_timeout_)
                                               : std::chrono::steady_clock::time_point::max();
  }
  void unwatch() noexcept {
    interrupt_ = nullptr;
    deadline_ = std::chrono::steady_clock::time_point::max();
  }
  /// The program's progress handler (connection::async_set_progress_handler_on_worker):
  /// fn() after about every `every` virtual machine steps of a running statement; true
  /// stops it (SQLITE_INTERRUPT). Null: none. The cancellation and timeout checks go on
  /// beside it, at their own interval.
  void set_progress_handler(int every, std::unique_ptr<worker_predicate> fn) noexcept;

  /// The watched request was stopped by the statement timeout.
  bool timed_out() const noexcept { return timed_out_; }
  std::chrono::milliseconds statement_timeout() const noexcept { return statement_timeout_; }

  // ---- statements held across requests (cursors, prepared statements)

  /// The statement for `src`: the cache's for SQL text, or the held one, lent for this use.
  statement_cache::checkout acquire(statement_source src, failure& f) {
    if (src.held) return statement_cache::borrow(src.held);
    return cache_.acquire(db_, src.sql, f);
  }

  /// A statement of its own for a prepared statement handle (not in the cache).
  statement_cache::checkout prepare_owned(std::string_view sql, failure& f) {
    return cache_.prepare_owned(db_, sql, f);
  }

  held_statements& held() noexcept { return held_; }

  /// The statement cache's counts (hits, misses), readable from any thread.
  const statement_cache& cache() const noexcept { return cache_; }

  /// The hooks of this handle (created on first use; the handle must be open).
  hook_hub& hooks() {
    if (!hooks_) hooks_ = std::make_unique<hook_hub>(db_);
    return *hooks_;
  }

  /// Before each request: the hooks catch up with the subscriptions ended meanwhile.
  void before_request() noexcept {
    if (hooks_) hooks_->before_request();
  }

  /// After each request: what the hooks saw in it is delivered; a backup whose operation
  /// went away is finished.
  void after_request() noexcept {
    if (hooks_) hooks_->after_request();
    if (!backups_.empty()) finish_abandoned_backups();
  }

  // ---- online backups from this handle (connection::async_backup)

  /// Keeps `r` until end_backup, or finishes it at close.
  void adopt_backup(std::shared_ptr<backup_run> r) { backups_.push_back(std::move(r)); }

  /// Finishes `r` (sqlite3_backup_finish's result) and lets it go.
  int end_backup(backup_run& r) noexcept {
    std::erase_if(backups_, [&r](const std::shared_ptr<backup_run>& b) { return b.get() == &r; });
    return r.finish();
  }

  /// A cancellation or the statement timeout asks the request that runs to stop.
  bool stop_requested() noexcept { return should_stop(); }

  /// options::busy_timeout of this connection.
  std::chrono::milliseconds busy_timeout() const noexcept { return busy_timeout_; }

  /// For work of its own that meets another connection's lock (a restore's step): waits
  /// as SQLite's busy handler does for a statement, before retry `attempt` (from 0 in
  /// each contention); false once busy_timeout has passed or the request must stop.
  bool wait_for_lock(int attempt) noexcept { return on_busy(this, attempt) != 0; }

  /// Statements are traced (connection::async_trace).
  bool tracing() const noexcept { return hooks_ && hooks_->tracing(); }

  /// The request about to run waited this long in the queue: its statements' trace says so.
  void trace_request(std::chrono::nanoseconds waited) noexcept {
    if (hooks_) hooks_->tracer().request_began(waited);
  }

  /// options::cursor_batch_size of this connection.
  std::size_t cursor_batch_size() const noexcept { return cursor_batch_size_; }

  // ---- single statements

  template <class... Args>
  execute_result execute(statement_source sql, failure& f, const Args&... args) {
    const std::int64_t before = total_changes(db_);
    if (!run(
            sql, f, [](sqlite3_stmt*) { return true; }, args...))
      return {};
    const std::int64_t after = total_changes(db_);
    // sqlite3_changes keeps the last DML statement's count; only report it if this one changed rows.
    return {after != before ? changes(db_) : 0, sqlite3_last_insert_rowid(db_), after};
  }

  template <class... Args>
  rows query(statement_source sql, failure& f, const Args&... args) {
    rows out;
    auto on_start = [&](sqlite3_stmt* stmt) { rows_access::start(out, stmt); };
    auto on_row = [&](sqlite3_stmt* stmt) {
      rows_access::append(out, stmt);
      return true;
    };
    if (!run_with(sql, f, on_start, on_row, args...)) return {};
    return out;
  }

  template <record_type T, class... Args>
  std::vector<T> query_as(statement_source sql, failure& f, const Args&... args) {
    std::vector<T> out;
    auto on_row = [&](sqlite3_stmt* stmt) { return read_record(statement_row{stmt}, out.emplace_back(), f); };
    if (!run(sql, f, on_row, args...)) return {};
    return out;
  }

  template <record_type T, class... Args>
  std::optional<T> query_one(statement_source sql, failure& f, const Args&... args) {
    direct_row<T> row;
    query_one_into(sql, f, row, args...);
    return take_one_row(row, f);
  }

  /// One row of one column. No row is an error unless T is an std::optional.
  template <field_type T, class... Args>
  T query_scalar(statement_source sql, failure& f, const Args&... args) {
    direct_row<T> row;
    query_scalar_into<T>(sql, f, row, args...);
    return take_one_row(row, f).value_or(T{});
  }

  /// A query of at most one row, read by row.read(statement_row, f) into a holder
  /// (direct_row, kept_record) that says has_value(). A second row fails with
  /// errc::too_many_rows. False, with `f` set, on any failure.
  template <class Row, class... Args>
  bool query_one_into(statement_source sql, failure& f, Row& row, const Args&... args) {
    bool seen = false;
    auto on_row = [&](sqlite3_stmt* stmt) {
      if (seen) {
        f.set(errc::too_many_rows, "the query returned more than one row");
        return false;
      }
      seen = true;
      return row.read(statement_row{stmt}, f);
    };
    return run(sql, f, on_row, args...);
  }

  /// As query_one_into, for query_scalar<T>: no row is an error unless T is an std::optional.
  template <class T, class Row, class... Args>
  void query_scalar_into(statement_source sql, failure& f, Row& row, const Args&... args) {
    if (query_one_into(sql, f, row, args...) && !row.has_value() && !is_optional_v<T>)
      f.set(errc::no_rows, "the query returned no rows");
  }

  /// sqlite3_step, telling the progress handler which statement runs (nested: SQL a user
  /// function runs inside another statement). Every step on the worker goes through here:
  /// see on_progress.
  int step(sqlite3_stmt* stmt) noexcept {
    sqlite3_stmt* const outer = std::exchange(stepping_, stmt);
    const int rc = tracing() ? hooks_->tracer().step(stmt) : sqlite3_step(stmt);
    stepping_ = outer;
    return rc;
  }

  /// Several statements separated by semicolons, run in order; stops at the first failure.
  bool execute_script(std::string_view sql, failure& f);

 private:
  friend struct execute_many_run;

  static constexpr int progress_interval = 1000;  // virtual machine steps between interrupt checks

  bool should_stop() noexcept {
    if (interrupt_ && interrupt_->load(std::memory_order_relaxed)) return true;
    if (deadline_ != std::chrono::steady_clock::time_point::max() && std::chrono::steady_clock::now() >= deadline_)
      timed_out_ = true;
    return timed_out_;
  }

  // SQLite also calls this after a statement's last step, when an autocommit write has
  // committed: stopped there, the write would be reported cancelled (or timed out) though
  // it happened. Only a statement still running may be stopped.
  static int on_progress(void* self) noexcept;

  // Waits for a lock like sqlite3_busy_timeout, in busy_pause steps so that a
  // cancellation or the statement timeout stops the wait, not only a running statement.
  static int on_busy(void* self, int count) noexcept;

  bool fail_with_db(int rc, failure& f);

  void finish_abandoned_backups() noexcept {
    // Held here alone: the operation that drove it is gone.
    std::erase_if(backups_, [](const std::shared_ptr<backup_run>& b) {
      if (b.use_count() != 1) return false;
      b->finish();
      return true;
    });
  }

  bool exec(statement_source sql, failure& f);

  bool interrupted(failure& f) {
    if (!interrupt_ || !interrupt_->load(std::memory_order_relaxed)) return false;
    f.set(make_sqlite_error_code(SQLITE_INTERRUPT), "interrupted");
    return true;
  }

  bool step_to_end(sqlite3_stmt* stmt, failure& f);

  // Prepares (or reuses), binds and steps one statement, handing each row to on_row.
  // on_row returns false to stop, having set `f`.
  template <class OnRow, class... Args>
  bool run(statement_source sql, failure& f, OnRow&& on_row, const Args&... args) {
    return run_with(
        sql, f, [](sqlite3_stmt*) {}, on_row, args...);
  }

  // As run, calling on_start once the statement is prepared, before the first step.
  template <class OnStart, class OnRow, class... Args>
  bool run_with(statement_source sql, failure& f, OnStart&& on_start, OnRow&& on_row, const Args&... args) {
    auto stmt = acquire(sql, f);
    if (!stmt) return false;
    if (!bind_all(stmt.get(), f, args...)) return false;
    on_start(stmt.get());
    for (;;) {
      const int rc = step(stmt.get());
      if (rc == SQLITE_ROW) {
        if (!on_row(stmt.get())) return false;
      } else if (rc == SQLITE_DONE) {
        return true;
      } else {
        return fail_with_db(rc, f);
      }
    }
  }

  bool pragma(const std::string& text, failure& f, std::string* result = nullptr);

  bool configure(const options& o, failure& f);

  sqlite3* db_ = nullptr;
  // Never run, finalized only by close(): while it lives, user code's
  // sqlite3_close(native_handle()) fails with SQLITE_BUSY and changes nothing, and its
  // sqlite3_close_v2 cannot free the handle under the worker (see close()).
  sqlite3_stmt* anchor_ = nullptr;
  statement_cache cache_;
  held_statements held_;
  std::unique_ptr<hook_hub> hooks_;                   // see hooks()
  std::vector<std::shared_ptr<backup_run>> backups_;  // see adopt_backup
  std::size_t cursor_batch_size_ = 256;
  const std::atomic<bool>* interrupt_ = nullptr;
  sqlite3_stmt* stepping_ = nullptr;            // the statement sqlite3_step runs now, for on_progress
  int progress_step_ = progress_interval;       // the interval on_progress is called at
  std::unique_ptr<worker_predicate> progress_;  // the program's progress handler, if any
  int progress_every_ = 0;                      // its interval
  int progress_steps_ = 0;                      // steps since it was last called
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool timed_out_ = false;
  bool stray_ = false;  // see roll_back_own_transaction
  std::chrono::milliseconds statement_timeout_{0};
  std::chrono::milliseconds busy_timeout_{0};
  std::chrono::milliseconds busy_waited_{0};
};

}  // namespace asiolite::detail

#ifndef ASIOLITE_SEPARATE_COMPILATION
#  include <asiolite/detail/impl/database.ipp>
#endif
