// statement_tracer: the statement trace on the worker (see detail/trace.hpp).
#pragma once

#include <asiolite/detail/trace.hpp>

#include <algorithm>

namespace asiolite::detail {

ASIOLITE_DECL void statement_tracer::subscribe(std::shared_ptr<trace_subscriber> s, const trace_options& o) {
  subscribers_.reserve(subscribers_.size() + 1);  // the only step that may throw
  least_threshold_ = active() ? std::min(least_threshold_, o.threshold) : o.threshold;
  s->attach();
  subscribers_.push_back({std::move(s), o.threshold, o.expanded_sql});
}

ASIOLITE_DECL int statement_tracer::step(sqlite3_stmt* stmt) noexcept {
  std::size_t i = find(stmt);
  if (i == none) {
    // A run that began before the trace (a cursor's) is not reported: SQLite would not
    // say when it ends.
    if (!sqlite3_stmt_busy(stmt) && live_.size() < most_runs) {
      try {
        live_.push_back({stmt, clock::now(), {}, 0, total_changes(db_), waited_});
        i = live_.size() - 1;
      } catch (...) {
      }
    }
  } else if (live_[i].since == clock::time_point{}) {
    live_[i].since = clock::now();  // a cursor's next batch
  }
  sqlite3_stmt* const outer = std::exchange(stepping_, stmt);
  const int rc = sqlite3_step(stmt);
  stepping_ = outer;
  if (i != none) {
    i = find(stmt);  // nested statements came and went meanwhile
    if (i == none) return rc;
    if (rc == SQLITE_ROW)
      ++live_[i].rows;
    else
      finish(i, rc);
  }
  return rc;
}

ASIOLITE_DECL void statement_tracer::ended(sqlite3_stmt* stmt) noexcept {
  // Its last step, inside sqlite3_step: step() reports it once it has the result code.
  if (stmt == stepping_) return;
  if (const std::size_t i = find(stmt); i != none) finish(i, SQLITE_OK);
}

ASIOLITE_DECL bool statement_tracer::after_request() noexcept {
  if (!live_.empty()) {
    const auto now = clock::now();
    for (run& r : live_) {
      if (r.since != clock::time_point{}) r.running += now - std::exchange(r.since, clock::time_point{});
    }
  }
  return drop_stopped();
}

ASIOLITE_DECL void statement_tracer::close() noexcept {
  // Only the subscription objects hold them now: the worker never destroys a delivery.
  for (auto& s : subscribers_) s.s->end();
  subscribers_.clear();
  live_.clear();
}

ASIOLITE_DECL std::string_view statement_tracer::statement_text(sqlite3_stmt* stmt) noexcept {
  // A script's statement keeps the space before it and its semicolon.
  const char* sql = sqlite3_sql(stmt);
  std::string_view text = sql ? sql : "";
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && (blank(text.back()) || text.back() == ';')) text.remove_suffix(1);
  return text;
}

ASIOLITE_DECL void statement_tracer::finish(std::size_t i, int rc) noexcept {
  run r = live_[i];
  live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
  if (r.since != clock::time_point{}) r.running += clock::now() - r.since;
  if (r.running < least_threshold_) return;
  const bool writes = !sqlite3_stmt_readonly(r.stmt);
  const error_code error =
      rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW ? error_code{} : make_sqlite_error_code(rc);
  // One record for the subscribers that see the plain text, one for those that see the
  // values too: made when the first of them wants it.
  std::shared_ptr<trace_record> plain, expanded;
  for (const subscribed& s : subscribers_) {
    if (r.running < s.threshold || s.s->stopped()) continue;
    std::shared_ptr<trace_record>& made = s.expanded_sql ? expanded : plain;
    if (!made) {
      try {
        made = std::make_shared<trace_record>();
        made->sql = statement_text(r.stmt);
        if (s.expanded_sql) {
          if (char* full = sqlite3_expanded_sql(r.stmt)) {
            made->expanded_sql = full;
            sqlite3_free(full);
          }
        }
      } catch (...) {
        made.reset();
        s.s->push_lost();
        continue;
      }
      made->error = error;
      made->rows = r.rows;
      made->changes = writes ? total_changes(db_) - r.changes_before : 0;
      made->queued = r.queued;
      made->running = r.running;
    }
    s.s->push(made);
  }
}

ASIOLITE_DECL bool statement_tracer::drop_stopped() noexcept {
  if (subscribers_.empty() || !drop_stopped_from(subscribers_, &subscribed::s)) return false;
  least_threshold_ = std::chrono::nanoseconds::max();
  for (const subscribed& s : subscribers_) least_threshold_ = std::min(least_threshold_, s.threshold);
  if (!subscribers_.empty()) return false;
  live_.clear();
  return true;
}

}  // namespace asiolite::detail
