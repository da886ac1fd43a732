// SQL that nobody awaits: what a destructor queues to undo an open transaction or
// savepoint. Allocated up front (a destructor must not fail to allocate), it keeps
// itself alive from submission until the worker is done with it.
#pragma once

#include <asiolite/detail/connection_impl.hpp>
#include <asiolite/detail/request.hpp>
#include <asiolite/detail/database.hpp>

#include <memory>
#include <string>

namespace asiolite::detail {

class detached_sql final : public request, public std::enable_shared_from_this<detached_sql> {
 public:
  detached_sql(request_kind kind, std::uint64_t lease_id, std::string sql)
      : request(kind, &run_sql, &let_go), sql_(std::move(sql)) {
    lease = lease_id;
    interruptible = false;
  }

  /// Queues the SQL on `impl`; never blocks, never throws. Use at most once.
  void submit(connection_impl& impl) noexcept {
    keep_alive_ = shared_from_this();
    try {
      impl.submit(*this);
    } catch (...) {
      keep_alive_.reset();  // the queue never saw it
    }
  }

 private:
  static void run_sql(request& r, database& s) noexcept {
    failure ignored;  // whoever queued it is gone: there is nobody to tell
    try {
      s.execute_script(static_cast<detached_sql&>(r).sql_, ignored);
    } catch (...) {
    }
  }

  static void let_go(request& r) noexcept {
    auto self = std::move(static_cast<detached_sql&>(r).keep_alive_);  // may free r on return
  }

  std::string sql_;
  std::shared_ptr<detached_sql> keep_alive_;
};

}  // namespace asiolite::detail
