// The worker's prepared statements, kept by SQL text and evicted least-recently-used.
// Worker thread only.
// Functions that depend on no template argument are defined in detail/impl/statement_cache.ipp (see
// config.hpp, ASIOLITE_DECL).
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/sqlite.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace asiolite::detail {

// True if `tail` (what follows a prepared statement) holds another statement.
// Whitespace, comments and stray semicolons are not statements.
ASIOLITE_DECL bool holds_statement(sqlite3* db, const char* tail, const char* end);

/// SQL text SQLite can read whole: SQLite stops at a NUL, so what followed one would be
/// silently ignored, and it takes the length as an int.
ASIOLITE_DECL bool check_sql_text(std::string_view sql, failure& f);

/// Prepares exactly one statement from `sql`; fails on an empty text or on several statements.
ASIOLITE_DECL sqlite3_stmt* prepare_one(sqlite3* db, std::string_view sql, unsigned flags, failure& f);

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

  /// Statements acquire() found prepared, and those it had to prepare (connection::stats).
  /// Written by the worker only, read from any thread.
  std::uint64_t hits() const noexcept { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const noexcept { return misses_.load(std::memory_order_relaxed); }
  std::size_t size() const noexcept { return index_.size(); }

  /// The statement for `sql`, prepared once and reused while it stays in the cache.
  checkout acquire(sqlite3* db, std::string_view sql, failure& f);

  /// A statement for one owner alone (a prepared_statement, a sync_statement): prepared
  /// outside the cache, so it never competes for a slot; finalized when the checkout ends.
  checkout prepare_owned(sqlite3* db, std::string_view sql, failure& f);

  /// Lends a statement that someone else holds for one use: reset and unbound when the
  /// checkout ends, never finalized.
  static checkout borrow(sqlite3_stmt* s) noexcept { return checkout(nullptr, {}, s); }

  /// Finalizes every statement; the cache must have no leases out.
  void clear() noexcept;

 private:
  static void reset(sqlite3_stmt* s) noexcept {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);  // bound text points into a finished request
  }

  void give_back(list::iterator e, sqlite3_stmt* s) noexcept;

  // Drops least-recently-used statements that nobody holds until at most n remain.
  void evict_to(std::size_t n) noexcept;

  std::size_t capacity_ = 100;
  std::atomic<std::uint64_t> hits_{0}, misses_{0};

  // One writer (the worker): a plain load and store, no locked instruction.
  static void bump(std::atomic<std::uint64_t>& c) noexcept {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  list lru_;
  std::unordered_map<std::string_view, list::iterator> index_;
};

}  // namespace asiolite::detail

#ifndef ASIOLITE_SEPARATE_COMPILATION
#  include <asiolite/detail/impl/statement_cache.ipp>
#endif
