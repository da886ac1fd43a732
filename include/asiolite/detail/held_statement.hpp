// Statements that stay on the worker between requests (a cursor's, a prepared
// statement's), and the database's list of them: closing the database finalizes them
// first, and their handles then learn that they are closed.
#pragma once

#include <asiolite/detail/request.hpp>
#include <asiolite/detail/statement_cache.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <utility>

namespace asiolite::detail {

class held_statement;

/// The statements a database holds for handles. Worker thread only.
class held_statements {
 public:
  held_statements() = default;
  held_statements(const held_statements&) = delete;
  held_statements& operator=(const held_statements&) = delete;

  bool empty() const noexcept { return head_ == nullptr; }

  void add(held_statement& h) noexcept;
  void remove(held_statement& h) noexcept;

  /// The database is about to close: lets go of every statement, and marks each closed.
  void close_all() noexcept;

  /// The SQL of a held statement stepped part way through its result (a cursor's), which
  /// keeps a read transaction open; null if there is none.
  const std::string* part_way() const noexcept;

 private:
  held_statement* head_ = nullptr;
};

/// A statement held across requests, owned by shared_ptr: by its handle, by the database's
/// list while it holds the statement, and by each request in flight for it.
///
/// The worker alone touches the statement. Other threads see two flags: released (the
/// worker let it go) and closed (because the connection closed).
class held_statement : public std::enable_shared_from_this<held_statement> {
 public:
  explicit held_statement(std::string sql) : sql_(std::move(sql)), release_(*this) {}
  held_statement(const held_statement&) = delete;
  held_statement& operator=(const held_statement&) = delete;
  virtual ~held_statement() = default;  // the statement is gone by now: released on the worker

  /// The SQL text: immutable, readable from any thread (diagnostics).
  const std::string& sql() const noexcept { return sql_; }

  // ---- worker thread

  /// Holds `stmt` until release(); the list keeps this object alive meanwhile.
  void hold(statement_cache::checkout stmt, held_statements& list) noexcept {
    stmt_ = std::move(stmt);
    list_ = &list;
    list.add(*this);
    session_ref_ = shared_from_this();
  }

  /// Held, in the database's list: hold() ran, release() not yet.
  bool held() const noexcept { return list_ != nullptr; }

  /// The statement, or null once let go (finished, released, or closed).
  sqlite3_stmt* statement() const noexcept { return stmt_.get(); }

  /// Lets go of the statement (reset and given back to the cache, or finalized) and
  /// leaves the list. May destroy this object.
  void release() noexcept {
    if (!list_) return;
    list_->remove(*this);
    list_ = nullptr;
    on_release();
    stmt_ = {};
    released_.store(true, std::memory_order_release);
    auto self = std::move(session_ref_);  // last: may free this object on return
  }

  // ---- any thread

  /// The worker let go of the statement because the connection closed.
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  /// The worker has let go of the statement: nothing left to release.
  bool released() const noexcept { return released_.load(std::memory_order_acquire); }

  /// For a handle's destructor: queues the release on the worker without waiting,
  /// allocating or throwing. Use at most once. (Impl: connection_impl, which includes
  /// this header.)
  template <class Impl>
  void release_later(Impl& impl) noexcept {
    release_.keep_alive_ = shared_from_this();
    try {
      impl.submit(release_);
    } catch (...) {
      release_.keep_alive_.reset();  // the queue never saw it; the close will let go of it
    }
  }

 protected:
  /// What a subclass holds besides the statement (a blob's handle) goes here, on the
  /// worker, when the statement goes.
  virtual void on_release() noexcept {}

 private:
  friend class held_statements;

  // The request that nobody awaits. Lease 0: it must run whether or not the transaction a
  // handle was made in is still open (a leased request of an ended one would be refused).
  // Its kind keeps connection::cancel from removing it, which would leave the statement
  // held (and, for a cursor, its read snapshot open) until the connection closes.
  class release_request final : public request {
   public:
    explicit release_request(held_statement& owner) noexcept
        : request(request_kind::release_statement, &run_release, &let_go), owner_(owner) {}

    std::shared_ptr<held_statement> keep_alive_;  // from submission to completion

   private:
    static void run_release(request& r, database&) noexcept { static_cast<release_request&>(r).owner_.release(); }
    static void let_go(request& r) noexcept {
      auto keep = std::move(static_cast<release_request&>(r).keep_alive_);  // may free r on return
    }

    held_statement& owner_;
  };

  const std::string sql_;
  statement_cache::checkout stmt_;
  held_statements* list_ = nullptr;  // while held
  held_statement* prev_ = nullptr;
  held_statement* next_ = nullptr;
  std::shared_ptr<held_statement> session_ref_;  // while held
  std::atomic<bool> released_{false};
  std::atomic<bool> closed_{false};
  release_request release_;
};

inline void held_statements::add(held_statement& h) noexcept {
  h.prev_ = nullptr;
  h.next_ = head_;
  if (head_) head_->prev_ = &h;
  head_ = &h;
}

inline void held_statements::remove(held_statement& h) noexcept {
  (h.prev_ ? h.prev_->next_ : head_) = h.next_;
  if (h.next_) h.next_->prev_ = h.prev_;
  h.prev_ = h.next_ = nullptr;
}

inline const std::string* held_statements::part_way() const noexcept {
  for (const held_statement* h = head_; h; h = h->next_)
    if (h->statement() && sqlite3_stmt_busy(h->statement())) return &h->sql();
  return nullptr;
}

inline void held_statements::close_all() noexcept {
  while (head_) {
    held_statement& h = *head_;
    h.closed_.store(true, std::memory_order_release);
    h.release();  // leaves the list
  }
}

}  // namespace asiolite::detail
