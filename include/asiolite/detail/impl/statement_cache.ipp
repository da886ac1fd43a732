// The statement cache (statement_cache.hpp) and preparing one statement.
// Part of the header-only build through asiolite/detail/statement_cache.hpp; compiled once by <asiolite/src.hpp>
// with ASIOLITE_SEPARATE_COMPILATION.
#pragma once

#include <asiolite/detail/statement_cache.hpp>

namespace asiolite::detail {

ASIOLITE_DECL bool holds_statement(sqlite3* db, const char* tail, const char* end) {
  while (tail != end) {
    sqlite3_stmt* next = nullptr;
    const char* rest = nullptr;
    const int rc = sqlite3_prepare_v2(db, tail, static_cast<int>(end - tail), &next, &rest);
    if (rc != SQLITE_OK) return true;  // something that is not a comment follows
    if (next) {
      sqlite3_finalize(next);
      return true;
    }
    if (rest == tail) return false;
    tail = rest;
  }
  return false;
}

ASIOLITE_DECL bool check_sql_text(std::string_view sql, failure& f) {
  if (const auto nul = sql.find('\0'); nul != std::string_view::npos) {
    f.set(errc::embedded_nul, "the SQL text holds a NUL character at offset " + std::to_string(nul) +
                                  "; SQLite would ignore everything after it");
    return false;
  }
  if (sql.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    f.set(make_sqlite_error_code(SQLITE_TOOBIG),
          "the SQL text is " + std::to_string(sql.size()) + " bytes, more than SQLite can take (2^31 - 1)");
    return false;
  }
  return true;
}

ASIOLITE_DECL sqlite3_stmt* prepare_one(sqlite3* db, std::string_view sql, unsigned flags, failure& f) {
  if (!check_sql_text(sql, f)) return nullptr;
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), flags, &stmt, &tail);
  if (rc != SQLITE_OK) {
    f.set(make_sqlite_error_code(rc), sqlite3_errmsg(db));
    return nullptr;
  }
  if (!stmt) {
    f.set(errc::empty_statement, "the SQL text holds no statement");
    return nullptr;
  }
  if (holds_statement(db, tail, sql.data() + sql.size())) {
    sqlite3_finalize(stmt);
    f.set(errc::multiple_statements,
          "the SQL text holds more than one statement; run several with async_execute_script");
    return nullptr;
  }
  return stmt;
}

ASIOLITE_DECL auto statement_cache::acquire(sqlite3* db, std::string_view sql, failure& f) -> checkout {
  if (auto it = index_.find(sql); it != index_.end()) {
    auto e = it->second;
    if (!e->in_use) {
      bump(hits_);
      e->in_use = true;
      lru_.splice(lru_.begin(), lru_, e);  // most recently used first
      return checkout(this, e, e->stmt);
    }
    // Already leased (a cursor holds it): prepare a second one for this use only.
    bump(misses_);
    sqlite3_stmt* s = prepare_one(db, sql, 0, f);
    return s ? checkout(this, lru_.end(), s) : checkout();
  }
  bump(misses_);
  if (capacity_ == 0) {
    sqlite3_stmt* s = prepare_one(db, sql, 0, f);
    return s ? checkout(this, lru_.end(), s) : checkout();
  }
  sqlite3_stmt* s = prepare_one(db, sql, SQLITE_PREPARE_PERSISTENT, f);
  if (!s) return checkout();
  evict_to(capacity_ - 1);
  lru_.push_front(entry{std::string(sql), s, true});
  index_.emplace(lru_.front().sql, lru_.begin());
  return checkout(this, lru_.begin(), s);
}

ASIOLITE_DECL auto statement_cache::prepare_owned(sqlite3* db, std::string_view sql, failure& f) -> checkout {
  sqlite3_stmt* s = prepare_one(db, sql, SQLITE_PREPARE_PERSISTENT, f);
  return s ? checkout(this, lru_.end(), s) : checkout();
}

ASIOLITE_DECL void statement_cache::clear() noexcept {
  for (auto& e : lru_) sqlite3_finalize(e.stmt);
  lru_.clear();
  index_.clear();
}

ASIOLITE_DECL void statement_cache::give_back(list::iterator e, sqlite3_stmt* s) noexcept {
  reset(s);
  if (e == lru_.end()) {
    sqlite3_finalize(s);
    return;
  }
  e->in_use = false;
}

ASIOLITE_DECL void statement_cache::evict_to(std::size_t n) noexcept {
  for (auto it = lru_.end(); index_.size() > n && it != lru_.begin();) {
    --it;
    if (it->in_use) continue;
    index_.erase(it->sql);
    sqlite3_finalize(it->stmt);
    it = lru_.erase(it);
  }
}

}  // namespace asiolite::detail
