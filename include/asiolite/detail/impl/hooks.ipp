// hook_hub: the SQLite hooks of one handle, on its worker (see detail/hooks.hpp).
#pragma once

#include <asiolite/detail/hooks.hpp>

#include <algorithm>

namespace asiolite::detail {

ASIOLITE_DECL void hook_hub::subscribe(std::shared_ptr<transaction_subscriber> s) {
  subscribers_.reserve(subscribers_.size() + 1);  // the only step that may throw
  keep_ = std::max(keep_, s->max_pending());
  s->attach();
  subscribers_.push_back(std::move(s));
  install();
}

ASIOLITE_DECL void hook_hub::watch_wal(std::shared_ptr<wal_subscriber> s) {
  wal_subscribers_.reserve(wal_subscribers_.size() + 1);  // the only step that may throw
  s->attach();
  wal_subscribers_.push_back(std::move(s));
  install_wal_hook();
}

ASIOLITE_DECL void hook_hub::set_commit_filter(std::unique_ptr<worker_predicate> f) noexcept {
  filter_ = std::move(f);
  install();
}

ASIOLITE_DECL void hook_hub::set_authorizer(std::unique_ptr<worker_authorizer> a) noexcept {
  authorizer_ = std::move(a);
  install_authorizer();
}

ASIOLITE_DECL void hook_hub::close() noexcept {
  settle();
  // SQLite rolls back at close without calling the rollback hook.
  if (!current_.empty() || not_kept_ != 0) seal(transaction_outcome::rolled_back);
  // Only the subscription objects hold them now: the worker never destroys a delivery.
  for (auto& s : subscribers_) s->end();
  subscribers_.clear();
  for (auto& s : wal_subscribers_) s->end();
  wal_subscribers_.clear();
  install_wal_hook();
  tracer_.close();
  filter_.reset();
  authorizer_.reset();
  install();
  install_authorizer();
}

ASIOLITE_DECL void hook_hub::on_update(void* self, int op, const char* database, const char* table,
                                       sqlite3_int64 rowid) noexcept {
  auto& h = *static_cast<hook_hub*>(self);
  if (h.current_.size() >= h.keep_) {
    ++h.not_kept_;
    return;
  }
  const change_kind kind = op == SQLITE_INSERT   ? change_kind::inserted
                           : op == SQLITE_DELETE ? change_kind::deleted
                                                 : change_kind::updated;
  try {
    h.current_.push_back(change{kind, database, table, rowid});
  } catch (...) {
    ++h.not_kept_;
  }
}

ASIOLITE_DECL int hook_hub::on_commit(void* self) noexcept {
  auto& h = *static_cast<hook_hub*>(self);
  // Refused (non-zero): SQLite rolls back instead (the rollback hook follows), and the
  // committing statement fails with SQLITE_CONSTRAINT_COMMITHOOK.
  if (h.filter_ && !call_predicate(*h.filter_, false)) return 1;
  h.commit_pending_ = true;
  return 0;
}

ASIOLITE_DECL void hook_hub::on_rollback(void* self) noexcept {
  auto& h = *static_cast<hook_hub*>(self);
  h.commit_pending_ = false;
  // A rollback that undid no reported change (a read transaction's, or one whose writes
  // SQLite does not report) tells a subscriber nothing.
  if (!h.current_.empty() || h.not_kept_ != 0) h.seal(transaction_outcome::rolled_back);
}

ASIOLITE_DECL int hook_hub::on_trace(unsigned type, void* self, void* stmt, void*) noexcept {
  auto& h = *static_cast<hook_hub*>(self);
  // A statement starts: a commit announced before it has happened or failed by now.
  if (type == SQLITE_TRACE_STMT) h.settle();
  if (type == SQLITE_TRACE_PROFILE) h.tracer_.ended(static_cast<sqlite3_stmt*>(stmt));
  return 0;
}

ASIOLITE_DECL int hook_hub::on_wal(void* self, sqlite3* db, const char* database, int pages) noexcept {
  auto& h = *static_cast<hook_hub*>(self);
  drop_stopped_from(h.wal_subscribers_);
  std::shared_ptr<wal_record> r;
  try {
    if (!h.wal_subscribers_.empty()) r = std::make_shared<wal_record>(wal_record{database ? database : "", pages});
  } catch (...) {
  }
  for (auto& s : h.wal_subscribers_) {
    if (r)
      s->push(r);
    else
      s->push_lost();
  }
  // What SQLite's own WAL hook does (sqlite3_wal_autocheckpoint), which this one replaces.
  if (h.autocheckpoint_ > 0 && pages >= h.autocheckpoint_) sqlite3_wal_checkpoint(db, database);
  return SQLITE_OK;
}

ASIOLITE_DECL int hook_hub::on_authorize(void* self, int action, const char* arg1, const char* arg2,
                                         const char* database, const char* source) noexcept {
  auto& h = *static_cast<hook_hub*>(self);
  int answer = SQLITE_OK;
  if (h.authorizer_) {
    try {
      const authorization_request q{static_cast<auth_action>(action), arg1 ? arg1 : "", arg2 ? arg2 : "",
                                    database ? database : "", source ? source : ""};
      const authorization a = h.authorizer_->call(q);
      answer = a == authorization::allow ? SQLITE_OK : a == authorization::ignore ? SQLITE_IGNORE : SQLITE_DENY;
    } catch (...) {
      answer = SQLITE_DENY;  // it could not say yes
    }
  }
  // Watched, a DELETE must report its rows: IGNORE still deletes, but row by row, where
  // SQLite's truncate optimization (a DELETE without WHERE) would report none.
  if (answer == SQLITE_OK && h.watching_ && action == SQLITE_DELETE) answer = SQLITE_IGNORE;
  return answer;
}

ASIOLITE_DECL void hook_hub::settle_commit() noexcept {
  commit_pending_ = false;
  // Still in a transaction: the COMMIT failed (SQLITE_BUSY) and the transaction goes on.
  if (sqlite3_get_autocommit(db_)) seal(transaction_outcome::committed);
}

ASIOLITE_DECL void hook_hub::seal(transaction_outcome outcome) noexcept {
  drop_stopped();
  std::shared_ptr<transaction_record> r;
  try {
    if (!subscribers_.empty()) r = std::make_shared<transaction_record>(transaction_record{outcome, {}, not_kept_});
  } catch (...) {
  }
  if (r) r->changes = std::move(current_);
  current_.clear();
  not_kept_ = 0;
  for (auto& s : subscribers_) {
    if (r)
      s->push(r);
    else
      s->push_lost();
  }
}

ASIOLITE_DECL void hook_hub::drop_stopped() noexcept {
  if (!drop_stopped_from(subscribers_)) return;
  keep_ = 0;
  for (const auto& s : subscribers_) keep_ = std::max(keep_, s->max_pending());
  install();
}

ASIOLITE_DECL void hook_hub::install() noexcept {
  const bool watch = !subscribers_.empty();
  const bool commit = watch || filter_;
  if (watch != watching_) {
    watching_ = watch;
    sqlite3_update_hook(db_, watch ? &hook_hub::on_update : nullptr, watch ? this : nullptr);
    sqlite3_rollback_hook(db_, watch ? &hook_hub::on_rollback : nullptr, watch ? this : nullptr);
    install_authorizer();
    if (!watch) {
      current_.clear();
      not_kept_ = 0;
      commit_pending_ = false;
    }
  }
  // One trace callback for both: statements starting (the watch), ending (the tracer).
  const unsigned mask = (watch ? SQLITE_TRACE_STMT : 0u) | (tracer_.active() ? SQLITE_TRACE_PROFILE : 0u);
  if (mask != trace_mask_) {
    trace_mask_ = mask;
    sqlite3_trace_v2(db_, mask, mask ? &hook_hub::on_trace : nullptr, mask ? this : nullptr);
  }
  if (commit != committing_) {
    committing_ = commit;
    sqlite3_commit_hook(db_, commit ? &hook_hub::on_commit : nullptr, commit ? this : nullptr);
  }
}

ASIOLITE_DECL void hook_hub::hook_wal() noexcept {
  // sqlite3_wal_autocheckpoint(db, N) is sqlite3_wal_hook(db, SQLite's hook, N) (or no
  // hook for N <= 0), so what was there before says the interval in force: whether set
  // at open, or by a PRAGMA wal_autocheckpoint = N since (which replaces this hook).
  void* const before = sqlite3_wal_hook(db_, &hook_hub::on_wal, this);
  if (before != this) autocheckpoint_ = static_cast<int>(reinterpret_cast<std::intptr_t>(before));
}

ASIOLITE_DECL void hook_hub::install_wal_hook() noexcept {
  drop_stopped_from(wal_subscribers_);
  const bool on = !wal_subscribers_.empty();
  if (on) {
    hook_wal();
  } else if (wal_hooked_) {
    sqlite3_wal_autocheckpoint(db_, autocheckpoint_);  // SQLite's own hook, as it was
  }
  wal_hooked_ = on;
}

ASIOLITE_DECL void hook_hub::install_authorizer() noexcept {
  const bool on = watching_ || authorizer_;
  if (on) {
    // Setting an authorizer expires every prepared statement: those of the cache are
    // prepared again, asked by it, before they next run.
    sqlite3_set_authorizer(db_, &hook_hub::on_authorize, this);
  } else if (authorizing_) {
    // Clearing it expires nothing, but statements prepared with its answers (a column
    // read as NULL) must be prepared again without them: an authorizer that allows
    // everything expires them first.
    sqlite3_set_authorizer(db_, &hook_hub::allow_all, nullptr);
    sqlite3_set_authorizer(db_, nullptr, nullptr);
  }
  authorizing_ = on;
}

}  // namespace asiolite::detail
