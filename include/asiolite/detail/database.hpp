// The worker's side of a connection: the sqlite3 handle, its statement cache, and every
// way of running SQL on it synchronously. Worker thread only.
#pragma once

#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/held_statement.hpp>
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
inline bool check_options(const std::string& path, const options& o, failure& f) {
  const auto bad = [&f](errc code, std::string why) {
    f.set(code, std::move(why));
    return false;
  };
  // SQLite reads the path and the VFS name up to a NUL: "x.db\0.bak" would open x.db.
  if (const auto nul = path.find('\0'); nul != std::string::npos)
    return bad(errc::embedded_nul, "the path holds a NUL character at offset " + std::to_string(nul));
  if (o.vfs.find('\0') != std::string::npos) return bad(errc::embedded_nul, "options::vfs holds a NUL character");
  // An enum's values run from 0 to its `last` enumerator.
  const auto in_range = [&bad](auto value, auto last, const char* field, const char* type) {
    const int v = static_cast<int>(value);
    return (v >= 0 && value <= last) ||
           bad(errc::invalid_option, std::string("options::") + field + " is " + std::to_string(v) + ", outside " +
                                         type + " (0 to " + std::to_string(static_cast<int>(last)) + ")");
  };
  if (!in_range(o.mode, open_mode::read_only, "mode", "open_mode")) return false;
  if (o.journal && !in_range(*o.journal, journal_mode::off, "journal", "journal_mode")) return false;
  if (o.synchronous && !in_range(*o.synchronous, synchronous_mode::extra, "synchronous", "synchronous_mode"))
    return false;
  const auto negative = [&bad](auto d, const char* name, const char* unit) {
    return bad(errc::invalid_option,
               std::string("options::") + name + " is negative (" + std::to_string(d.count()) + unit + ")");
  };
  if (o.busy_timeout.count() < 0) return negative(o.busy_timeout, "busy_timeout", " ms");
  if (o.statement_timeout.count() < 0) return negative(o.statement_timeout, "statement_timeout", " ms");
  if (o.queue_timeout.count() < 0) return negative(o.queue_timeout, "queue_timeout", " ms");
  if (o.spin_wait.count() < 0) return negative(o.spin_wait, "spin_wait", " us");
  if (o.cursor_batch_size == 0)
    return bad(errc::invalid_option, "options::cursor_batch_size is 0: a cursor fetches at least one row at a time");
  return true;
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
  bool end_stray_transaction(failure& f) {
    undo("ROLLBACK");
    if (!in_transaction()) {
      stray_ = false;
      return true;
    }
    f.set(make_sqlite_error_code(sqlite3_extended_errcode(db_)),
          std::string("not run: the transaction of an earlier failed request could not be rolled back (") +
              sqlite3_errmsg(db_) + "), and this request would run inside it and be lost with it");
    return false;
  }

  /// Opens and configures the database (not the on_open hook: the worker runs that).
  bool open(const std::string& path, const options& o, failure& f) {
    if (!check_options(path, o, f)) return false;
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
#ifdef SQLITE_OPEN_EXRESCODE
    flags |= SQLITE_OPEN_EXRESCODE;
#endif
    switch (o.mode) {
      case open_mode::read_write_create:
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        break;
      case open_mode::read_write:
        flags |= SQLITE_OPEN_READWRITE;
        break;
      case open_mode::read_only:
        flags |= SQLITE_OPEN_READONLY;
        break;
    }
    if (o.in_memory) flags |= SQLITE_OPEN_MEMORY;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, o.vfs.empty() ? nullptr : o.vfs.c_str());
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      msg += ": '" + path + "'";
      // SQLite says only "unable to open database file"; the system call's error says why.
      if (const int err = db_ ? sqlite3_system_errno(db_) : 0; err != 0)
        msg += " (" + std::system_category().message(err) + ")";
      f.set(make_sqlite_error_code(db_ ? sqlite3_extended_errcode(db_) : rc), std::move(msg));
      close();
      return false;
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_prepare_v2(db_, "SELECT 1", -1, &anchor_, nullptr);
    busy_timeout_ = o.busy_timeout;
    statement_timeout_ = o.statement_timeout;
    sqlite3_busy_handler(db_, &database::on_busy, this);
    sqlite3_progress_handler(db_, progress_interval, &database::on_progress, this);
    cache_.set_capacity(o.statement_cache_capacity);
    cursor_batch_size_ = o.cursor_batch_size;
    if (!configure(o, f)) {
      close();
      return false;
    }
    return true;
  }

  void close() noexcept {
    if (!db_) return;
    held_.close_all();  // before the cache: a cursor's statement may be one of its entries
    cache_.clear();
    // The anchor goes last, after the close (which leaves a "zombie" until then): if user
    // code already closed the handle with sqlite3_close_v2, our close is then a refused
    // no-op on memory still valid, and the anchor's finalize frees the handle either way.
    sqlite3_close_v2(db_);
    sqlite3_finalize(anchor_);
    anchor_ = nullptr;
    db_ = nullptr;
    stray_ = false;  // the close rolled it back
  }

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
  statement_cache::checkout prepare_owned(std::string_view sql, failure& f) { return cache_.prepare_owned(db_, sql, f); }

  held_statements& held() noexcept { return held_; }

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
    const int rc = sqlite3_step(stmt);
    stepping_ = outer;
    return rc;
  }

  /// Several statements separated by semicolons, run in order; stops at the first failure.
  bool execute_script(std::string_view sql, failure& f) {
    if (!check_sql_text(sql, f)) return false;
    const char* p = sql.data();
    const char* const end = p + sql.size();
    while (p != end) {
      sqlite3_stmt* stmt = nullptr;
      const char* tail = nullptr;
      int rc = sqlite3_prepare_v2(db_, p, static_cast<int>(end - p), &stmt, &tail);
      if (rc != SQLITE_OK) return fail_with_db(rc, f);
      if (!stmt) break;  // only whitespace or comments remain
      while ((rc = step(stmt)) == SQLITE_ROW) {
      }
      sqlite3_finalize(stmt);
      if (rc != SQLITE_DONE) return fail_with_db(rc, f);
      p = tail;
    }
    return true;
  }

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
  static int on_progress(void* self) noexcept {
    auto& s = *static_cast<database*>(self);
    if (s.stepping_ && !sqlite3_stmt_busy(s.stepping_)) return 0;
    return s.should_stop() ? 1 : 0;
  }

  // Waits for a lock like sqlite3_busy_timeout, in steps of at most 10 ms so that a
  // cancellation or the statement timeout stops the wait, not only a running statement.
  static int on_busy(void* self, int count) noexcept {
    auto& s = *static_cast<database*>(self);
    if (count == 0) s.busy_waited_ = std::chrono::milliseconds(0);
    if (s.should_stop() || s.busy_waited_ >= s.busy_timeout_) return 0;
    static constexpr int steps_ms[] = {1, 2, 5, 10};
    const auto step =
        std::min({std::chrono::milliseconds(steps_ms[std::min(count, 3)]), s.busy_timeout_ - s.busy_waited_});
    std::this_thread::sleep_for(step);
    s.busy_waited_ += step;
    return 1;
  }

  bool fail_with_db(int rc, failure& f) {
    std::string message = sqlite3_errmsg(db_);
    // SQLite calls no busy handler for a connection that already reads (it could deadlock
    // with the writer it waits for), so busy_timeout does not apply: say which cursor reads.
    if ((rc & 0xff) == SQLITE_BUSY)
      if (const std::string* sql = held_.part_way())
        message += "; busy_timeout does not apply: a cursor on this connection is part way through its result (" +
                   *sql + "), which holds a read transaction, and SQLite does not wait for a lock then: read it " +
                   "to its end or close it before writing";
    f.set(make_sqlite_error_code(rc), std::move(message));
    return false;
  }

  bool exec(statement_source sql, failure& f) {
    return run(sql, f, [](sqlite3_stmt*) { return true; });
  }

  bool interrupted(failure& f) {
    if (!interrupt_ || !interrupt_->load(std::memory_order_relaxed)) return false;
    f.set(make_sqlite_error_code(SQLITE_INTERRUPT), "interrupted");
    return true;
  }

  bool step_to_end(sqlite3_stmt* stmt, failure& f) {
    int rc;
    while ((rc = step(stmt)) == SQLITE_ROW) {
    }
    return rc == SQLITE_DONE || fail_with_db(rc, f);
  }

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

  bool pragma(const std::string& text, failure& f, std::string* result = nullptr) {
    const std::string sql = "PRAGMA " + text;
    failure local;
    sqlite3_stmt* stmt = prepare_one(db_, sql, 0, local);
    if (!stmt) {
      f.set(local.code, local.message + " (in " + sql + ")");
      return false;
    }
    int rc;
    while ((rc = step(stmt)) == SQLITE_ROW)
      if (result && sqlite3_column_type(stmt, 0) == SQLITE_TEXT)
        *result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
      f.set(make_sqlite_error_code(rc), std::string(sqlite3_errmsg(db_)) + " (in " + sql + ")");
      return false;
    }
    return true;
  }

  bool configure(const options& o, failure& f) {
    if (!pragma(o.foreign_keys ? "foreign_keys = ON" : "foreign_keys = OFF", f)) return false;
    static constexpr const char* journal_names[] = {"delete", "truncate", "persist", "memory", "wal", "off"};
    const char* db_file = sqlite3_db_filename(db_, "main");
    const bool file_backed = db_file && *db_file && o.mode != open_mode::read_only;
    if (o.journal || file_backed) {
      const auto mode = o.journal.value_or(journal_mode::wal);
      const char* wanted = journal_names[static_cast<int>(mode)];
      std::string got;
      if (!pragma(std::string("journal_mode = ") + wanted, f, &got)) return false;
      if (o.journal && got != wanted) {
        f.set(errc::error, "could not set journal_mode to " + std::string(wanted) + " (SQLite kept " + got + ")");
        return false;
      }
    }
    if (o.synchronous) {
      static constexpr const char* names[] = {"OFF", "NORMAL", "FULL", "EXTRA"};
      if (!pragma(std::string("synchronous = ") + names[static_cast<int>(*o.synchronous)], f)) return false;
    }
    for (const auto& p : o.pragmas)
      if (!pragma(p, f)) return false;
    return true;
  }

  sqlite3* db_ = nullptr;
  // Never run, finalized only by close(): while it lives, user code's
  // sqlite3_close(native_handle()) fails with SQLITE_BUSY and changes nothing, and its
  // sqlite3_close_v2 cannot free the handle under the worker (see close()).
  sqlite3_stmt* anchor_ = nullptr;
  statement_cache cache_;
  held_statements held_;
  std::size_t cursor_batch_size_ = 256;
  const std::atomic<bool>* interrupt_ = nullptr;
  sqlite3_stmt* stepping_ = nullptr;  // the statement sqlite3_step runs now, for on_progress
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool timed_out_ = false;
  bool stray_ = false;  // see roll_back_own_transaction
  std::chrono::milliseconds statement_timeout_{0};
  std::chrono::milliseconds busy_timeout_{0};
  std::chrono::milliseconds busy_waited_{0};
};

}  // namespace asiolite::detail
