// The worker's prepared statements, kept by SQL text and evicted least-recently-used.
// Worker thread only.
#pragma once

#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/sqlite.hpp>

#include <cstddef>
#include <limits>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace asiolite::detail {

// True if `tail` (what follows a prepared statement) holds another statement.
// Whitespace, comments and stray semicolons are not statements.
inline bool holds_statement(sqlite3* db, const char* tail, const char* end) {
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

/// SQL text SQLite can read whole: SQLite stops at a NUL, so what followed one would be
/// silently ignored, and it takes the length as an int.
inline bool check_sql_text(std::string_view sql, failure& f) {
  if (const auto nul = sql.find('\0'); nul != std::string_view::npos) {
    f.set(errc::embedded_nul, "the SQL text holds a NUL character at offset " + std::to_string(nul) +
                                  "; SQLite would ignore everything after it");
    return false;
  }
  if (sql.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    f.set(make_sqlite_error_code(SQLITE_TOOBIG), "the SQL text is " + std::to_string(sql.size()) +
                                                     " bytes, more than SQLite can take (2^31 - 1)");
    return false;
  }
  return true;
}

/// Prepares exactly one statement from `sql`; fails on an empty text or on several statements.
inline sqlite3_stmt* prepare_one(sqlite3* db, std::string_view sql, unsigned flags, failure& f) {
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

class statement_cache {
  struct entry {
    std::string sql;
    sqlite3_stmt* stmt;
    bool in_use = false;
  };
  using list = std::list<entry>;

 public:
  /// A statement taken from the cache (or prepared for this use only); gives it back,
  /// reset and unbound, when destroyed.
  class checkout {
   public:
    checkout() = default;
    checkout(checkout&& o) noexcept : cache_(o.cache_), entry_(o.entry_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
    checkout& operator=(checkout&& o) noexcept {
      if (this != &o) {
        give_back();
        cache_ = o.cache_;
        entry_ = o.entry_;
        stmt_ = o.stmt_;
        o.stmt_ = nullptr;
      }
      return *this;
    }
    ~checkout() { give_back(); }

    sqlite3_stmt* get() const noexcept { return stmt_; }
    explicit operator bool() const noexcept { return stmt_ != nullptr; }

   private:
    friend class statement_cache;
    checkout(statement_cache* c, list::iterator e, sqlite3_stmt* s) noexcept : cache_(c), entry_(e), stmt_(s) {}
    void give_back() noexcept {
      if (!stmt_) return;
      if (cache_)
        cache_->give_back(entry_, stmt_);
      else
        reset(stmt_);  // borrowed
      stmt_ = nullptr;
    }

    statement_cache* cache_ = nullptr;  // null when borrowed
    list::iterator entry_{};            // end() when the statement is not cached
    sqlite3_stmt* stmt_ = nullptr;
  };

  statement_cache() = default;
  statement_cache(const statement_cache&) = delete;
  statement_cache& operator=(const statement_cache&) = delete;
  ~statement_cache() { clear(); }

  void set_capacity(std::size_t capacity) { capacity_ = capacity; }
  std::size_t size() const noexcept { return index_.size(); }

  /// The statement for `sql`, prepared once and reused while it stays in the cache.
  checkout acquire(sqlite3* db, std::string_view sql, failure& f) {
    if (auto it = index_.find(sql); it != index_.end()) {
      auto e = it->second;
      if (!e->in_use) {
        e->in_use = true;
        lru_.splice(lru_.begin(), lru_, e);  // most recently used first
        return checkout(this, e, e->stmt);
      }
      // Already leased (a cursor holds it): prepare a second one for this use only.
      sqlite3_stmt* s = prepare_one(db, sql, 0, f);
      return s ? checkout(this, lru_.end(), s) : checkout();
    }
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

  /// A statement for one owner alone (a prepared_statement, a sync_statement): prepared
  /// outside the cache, so it never competes for a slot; finalized when the checkout ends.
  checkout prepare_owned(sqlite3* db, std::string_view sql, failure& f) {
    sqlite3_stmt* s = prepare_one(db, sql, SQLITE_PREPARE_PERSISTENT, f);
    return s ? checkout(this, lru_.end(), s) : checkout();
  }

  /// Lends a statement that someone else holds for one use: reset and unbound when the
  /// checkout ends, never finalized.
  static checkout borrow(sqlite3_stmt* s) noexcept { return checkout(nullptr, {}, s); }

  /// Finalizes every statement; the cache must have no leases out.
  void clear() noexcept {
    for (auto& e : lru_) sqlite3_finalize(e.stmt);
    lru_.clear();
    index_.clear();
  }

 private:
  static void reset(sqlite3_stmt* s) noexcept {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);  // bound text points into a finished request
  }

  void give_back(list::iterator e, sqlite3_stmt* s) noexcept {
    reset(s);
    if (e == lru_.end()) {
      sqlite3_finalize(s);
      return;
    }
    e->in_use = false;
  }

  // Drops least-recently-used statements that nobody holds until at most n remain.
  void evict_to(std::size_t n) noexcept {
    for (auto it = lru_.end(); index_.size() > n && it != lru_.begin();) {
      --it;
      if (it->in_use) continue;
      index_.erase(it->sql);
      sqlite3_finalize(it->stmt);
      it = lru_.erase(it);
    }
  }

  std::size_t capacity_ = 100;
  list lru_;
  std::unordered_map<std::string_view, list::iterator> index_;
};

}  // namespace asiolite::detail
