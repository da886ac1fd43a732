// What a transaction and a savepoint share with the requests that run inside them.
#pragma once

#include <asiolite/detail/detached_sql.hpp>
#include <asiolite/detail/request.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace asiolite::detail {

struct transaction_state {
  transaction_state(std::uint64_t id)
      : lease(std::make_shared<lease_state>(id)),
        rollback(std::make_shared<detached_sql>(request_kind::rollback, id, "ROLLBACK")) {}

  std::shared_ptr<lease_state> lease;
  std::shared_ptr<detached_sql> rollback;  // queued by the destructor of an open transaction
  std::atomic<std::uint64_t> savepoints{0};
};

struct savepoint_state {
  savepoint_state(std::shared_ptr<lease_state> tx_lease, std::string savepoint_name)
      : lease(std::move(tx_lease)),
        name(std::move(savepoint_name)),
        undo(std::make_shared<detached_sql>(request_kind::rollback, lease->id,
                                            "ROLLBACK TO " + name + "; RELEASE " + name)) {}

  std::shared_ptr<lease_state> lease;  // of the transaction it is in
  std::string name;
  std::atomic<bool> ended{false};      // released or rolled back to, on the worker
  // Queued by the destructor of an open savepoint. A rollback, as the transaction's own:
  // nothing cancels it, and once the transaction has ended there is nothing to undo.
  std::shared_ptr<detached_sql> undo;
};

}  // namespace asiolite::detail
