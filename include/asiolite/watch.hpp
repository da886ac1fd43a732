// Watching a connection's transactions: what each one wrote, and how it ended
// (connection::async_watch_transactions; the subscription is in subscription.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace asiolite {

/// What a row change was (SQLite's update hook).
enum class change_kind { inserted, updated, deleted };

/// One row a transaction wrote: SQLite's report of an INSERT, UPDATE or DELETE on a rowid
/// table, made as the row was written (so also for a row a failed statement or a ROLLBACK
/// TO then undid). SQLite reports no change to a WITHOUT ROWID table, nor the deletion of
/// the row an INSERT OR REPLACE replaces (the insert is reported). While a connection is
/// watched, a DELETE without WHERE deletes row by row, so that each row is reported.
struct change {
  change_kind kind = change_kind::inserted;
  std::string database;  // "main", "temp", or an attached database's name
  std::string table;
  std::int64_t rowid = 0;
};

enum class transaction_outcome { committed, rolled_back };

/// How one transaction ended, and the rows it wrote. A view, valid during the handler's
/// call: copy what you keep.
struct transaction_event {
  transaction_outcome outcome = transaction_outcome::committed;
  /// In the order SQLite reported them; at most the subscription's max_pending.
  std::span<const change> changes;
  /// This transaction's changes that were counted but not kept (over max_pending).
  std::uint64_t changes_not_kept = 0;
  /// Events not delivered since the last one this subscriber got: it was behind by more
  /// than max_pending changes when they came.
  std::uint64_t events_lost = 0;
};

/// A commit to a database in WAL mode, and how large its write-ahead log now is
/// (connection::async_watch_wal; SQLite's WAL hook). A view, valid during the handler's call.
struct wal_event {
  /// "main", or an attached database's name.
  std::string_view database;
  /// Pages in the write-ahead log after the commit (before any automatic checkpoint).
  int pages = 0;
  /// Events not delivered since the last one this subscriber got (watch_options::max_pending).
  std::uint64_t events_lost = 0;
};

/// Settings of one subscription (connection::async_watch_transactions, async_watch_wal).
struct watch_options {
  /// How many changes (each event counts one more; a WAL event counts one) may wait for
  /// this subscriber's handler. A transaction that ends while more wait is not queued but counted
  /// (transaction_event::events_lost, subscription::events_lost); one transaction's changes
  /// beyond it are counted, not kept (changes_not_kept). The worker never waits for a
  /// subscriber: this bounds what a slow one costs in memory. At least 1 (0 fails the
  /// subscription with errc::invalid_option).
  std::size_t max_pending = 65536;
};

}  // namespace asiolite
