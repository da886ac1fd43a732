// The worker's database (database.hpp): opening, configuring, closing, scripts, SQLite's callbacks.
// Part of the header-only build through asiolite/detail/database.hpp; compiled once by <asiolite/src.hpp>
// with ASIOLITE_SEPARATE_COMPILATION.
#pragma once

#include <asiolite/detail/database.hpp>

namespace asiolite::detail {

ASIOLITE_DECL bool check_options(const std::string& path, const options& o, failure& f) {
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
  if (o.wal_autocheckpoint && *o.wal_autocheckpoint < 0)
    return bad(errc::invalid_option,
               "options::wal_autocheckpoint is negative (" + std::to_string(*o.wal_autocheckpoint) + " pages)");
  if (o.cursor_batch_size == 0)
    return bad(errc::invalid_option, "options::cursor_batch_size is 0: a cursor fetches at least one row at a time");
  for (std::size_t i = 0; i < o.limits.size(); ++i)
    if (!check_limit(o.limits[i].category, o.limits[i].value, "options::limits[" + std::to_string(i) + "]", f))
      return false;
  return true;
}

ASIOLITE_DECL bool check_limit(limit category, std::optional<int> value, const std::string& what, failure& f) {
  const int c = static_cast<int>(category);
  if (c < 0 || category > limit::worker_threads) {
    f.set(errc::invalid_option, what + ": " + std::to_string(c) + " is not a limit (0 to " +
                                    std::to_string(static_cast<int>(limit::worker_threads)) + ")");
    return false;
  }
  if (value && *value < 0) {
    f.set(errc::invalid_option, what + ": the value is negative (" + std::to_string(*value) + ")");
    return false;
  }
  return true;
}

ASIOLITE_DECL bool load_extension(sqlite3* db, std::string_view path, std::string_view entry_point, failure& f) {
  if (path.find('\0') != std::string_view::npos || entry_point.find('\0') != std::string_view::npos) {
    f.set(errc::embedded_nul, "the extension's path or entry point holds a NUL character");
    return false;
  }
  const std::string file(path), entry(entry_point);
  // As it was (-1 only reads: SQLite reports the setting after the call), then on.
  int was = 0;
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, -1, &was);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, nullptr);
  char* error = nullptr;
  const int rc = sqlite3_load_extension(db, file.c_str(), entry.empty() ? nullptr : entry.c_str(), &error);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, was, nullptr);
  if (rc == SQLITE_OK) return true;
  f.set(make_sqlite_error_code(rc),
        "could not load the extension " + file + ": " + (error ? error : sqlite3_errmsg(db)));
  sqlite3_free(error);
  return false;
}

ASIOLITE_DECL int exchange_limit(sqlite3* db, limit category, int value) noexcept {
  // asiolite's limit enumerators are SQLITE_LIMIT_LENGTH (0) to SQLITE_LIMIT_WORKER_THREADS.
  static_assert(SQLITE_LIMIT_LENGTH == 0 && SQLITE_LIMIT_WORKER_THREADS == static_cast<int>(limit::worker_threads));
  return sqlite3_limit(db, static_cast<int>(category), value < 0 ? -1 : value);
}

ASIOLITE_DECL bool database::end_stray_transaction(failure& f) {
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

ASIOLITE_DECL bool database::open(const std::string& path, const options& o, failure& f) {
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

ASIOLITE_DECL void database::close() noexcept {
  if (!db_) return;
  if (hooks_) {
    hooks_->close();
    hooks_.reset();
  }
  set_progress_handler(0, nullptr);                         // the program's goes with the handle
  for (auto& b : std::exchange(backups_, {})) b->finish();  // backups from this handle end here
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

ASIOLITE_DECL bool database::execute_script(std::string_view sql, failure& f) {
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

ASIOLITE_DECL int database::on_progress(void* self) noexcept {
  auto& s = *static_cast<database*>(self);
  if (s.stepping_ && !sqlite3_stmt_busy(s.stepping_)) return 0;
  if (s.should_stop()) return 1;
  if (s.progress_ && (s.progress_steps_ += s.progress_step_) >= s.progress_every_) {
    s.progress_steps_ = 0;
    // One that throws stops the statement too: it could not say to go on.
    if (call_predicate(*s.progress_, true)) return 1;
  }
  return 0;
}

ASIOLITE_DECL void database::set_progress_handler(int every, std::unique_ptr<worker_predicate> fn) noexcept {
  progress_ = std::move(fn);
  progress_every_ = progress_ ? every : 0;  // checked by check_progress_interval
  progress_steps_ = 0;
  progress_step_ = progress_ ? std::min(progress_interval, progress_every_) : progress_interval;
  sqlite3_progress_handler(db_, progress_step_, &database::on_progress, this);
}

ASIOLITE_DECL int database::on_busy(void* self, int count) noexcept {
  auto& s = *static_cast<database*>(self);
  if (count == 0) s.busy_waited_ = std::chrono::milliseconds(0);
  if (s.should_stop() || s.busy_waited_ >= s.busy_timeout_) return 0;
  const auto step = std::min(busy_pause(count), s.busy_timeout_ - s.busy_waited_);
  std::this_thread::sleep_for(step);
  s.busy_waited_ += step;
  return 1;
}

ASIOLITE_DECL bool database::fail_with_db(int rc, failure& f) {
  std::string message = sqlite3_errmsg(db_);
  // SQLite calls no busy handler for a connection that already reads (it could deadlock
  // with the writer it waits for), so busy_timeout does not apply: say which cursor reads.
  if ((rc & 0xff) == SQLITE_BUSY)
    if (const std::string* sql = held_.part_way())
      message += "; busy_timeout does not apply: a cursor on this connection is part way through its result (" + *sql +
                 "), which holds a read transaction, and SQLite does not wait for a lock then: read it " +
                 "to its end or close it before writing";
  f.set(make_sqlite_error_code(rc), std::move(message));
  return false;
}

ASIOLITE_DECL bool database::exec(statement_source sql, failure& f) {
  return run(sql, f, [](sqlite3_stmt*) { return true; });
}

ASIOLITE_DECL bool database::step_to_end(sqlite3_stmt* stmt, failure& f) {
  int rc;
  while ((rc = step(stmt)) == SQLITE_ROW) {
  }
  return rc == SQLITE_DONE || fail_with_db(rc, f);
}

ASIOLITE_DECL bool database::pragma(const std::string& text, failure& f, std::string* result) {
  const std::string sql = "PRAGMA " + text;
  const auto give_up = deadline_after(busy_timeout_);  // milliseconds::max(): no limit
  for (int attempt = 0;; ++attempt) {
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
    if (rc == SQLITE_DONE) return true;
    // A pragma that reads the database and then writes it (journal_mode switching a
    // database to WAL) gets SQLITE_BUSY without SQLite asking the busy handler when
    // another connection holds the write lock: it holds a read lock itself, and waiting
    // then could deadlock. Finalized, it holds nothing: wait and run it again, as long as
    // busy_timeout allows (counted from the first try), as a statement waits for a lock.
    if ((rc & 0xff) == SQLITE_BUSY && sqlite3_get_autocommit(db_) && !should_stop()) {
      if (const auto left = give_up - std::chrono::steady_clock::now(); left > left.zero()) {
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(busy_pause(attempt), left));
        continue;
      }
    }
    f.set(make_sqlite_error_code(rc), std::string(sqlite3_errmsg(db_)) + " (in " + sql + ")");
    return false;
  }
}

ASIOLITE_DECL bool database::configure(const options& o, failure& f) {
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
  if (o.wal_autocheckpoint) sqlite3_wal_autocheckpoint(db_, *o.wal_autocheckpoint);
  for (const auto& p : o.pragmas)
    if (!pragma(p, f)) return false;
  for (const auto& l : o.limits) exchange_limit(db_, l.category, l.value);
  for (const auto& e : o.extensions)
    if (!load_extension(db_, e.path, e.entry_point, f)) return false;
  return true;
}

}  // namespace asiolite::detail
