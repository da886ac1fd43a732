// How async_open opens a database.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace asiolite {

class sync_handle;

enum class open_mode {
  read_write_create,  ///< open for reading and writing, create the file if missing
  read_write,         ///< open for reading and writing; fail if the file is missing
  read_only,          ///< open for reading only
};

/// PRAGMA journal_mode values.
enum class journal_mode { delete_, truncate, persist, memory, wal, off };

/// PRAGMA synchronous values.
enum class synchronous_mode { off, normal, full, extra };

/// sqlite3_wal_checkpoint_v2's modes (connection::async_checkpoint).
enum class checkpoint_mode {
  passive,   ///< copy what it can without waiting for readers or writers
  full,      ///< wait for writers, then copy every frame, waiting for readers of old ones
  restart,   ///< full, then wait until new writers will start the log from its beginning
  truncate,  ///< restart, then truncate the log file to zero bytes
};

/// sqlite3_limit's categories (SQLITE_LIMIT_*, in their order): the sizes SQLite allows
/// one connection, the way to bound what untrusted SQL may make it do.
enum class limit {
  length,               ///< bytes of a text or blob, or of a row
  sql_length,           ///< bytes of one statement's SQL text
  column,               ///< columns of a table, index, view, result, GROUP BY or ORDER BY
  expr_depth,           ///< depth of an expression's tree
  compound_select,      ///< terms of a compound SELECT
  vdbe_op,              ///< instructions of one statement's program (SQLite ignores it)
  function_arg,         ///< arguments of one function call
  attached,             ///< attached databases
  like_pattern_length,  ///< bytes of a LIKE or GLOB pattern
  variable_number,      ///< highest parameter number (?NNN)
  trigger_depth,        ///< depth of triggers firing triggers
  worker_threads,       ///< auxiliary threads one statement may use
};

/// One limit to set at open (options::limits).
struct limit_setting {
  asiolite::limit category;
  int value;
};

/// A loadable extension to load at open (options::extensions).
struct extension {
  std::string path;         ///< the shared library (SQLite adds .so or .dll if missing)
  std::string entry_point;  ///< empty: SQLite's default (sqlite3_<name>_init, from the file name)
};

/// Options for async_open. Name the object before co_await: g++ 12 destroys a braced
/// temporary with non-trivial members twice inside a co_await expression.
///
/// A value outside its range fails the open with errc::invalid_option, naming the field:
/// an enum value no enumerator has (a cast from a configuration file's integer), a
/// negative duration, a cursor_batch_size of 0. A NUL in the path or in `vfs` fails it
/// with errc::embedded_nul. duration::max() is a valid "no limit" for every duration.
struct options {
  open_mode mode = open_mode::read_write_create;

  /// Open an in-memory database (the path then names it only for shared cache).
  bool in_memory = false;

  /// Unset: WAL for a file database opened for writing, SQLite's default otherwise.
  std::optional<journal_mode> journal;

  /// Unset: SQLite's default (FULL). NORMAL is safe from corruption with WAL and much
  /// faster, but may lose the last transactions on power loss.
  std::optional<synchronous_mode> synchronous;

  /// How long a statement waits for a lock held by another connection before SQLITE_BUSY;
  /// the open's own pragmas wait as long (switching a database to WAL needs its write lock).
  /// asiolite waits with its own busy handler, which a cancellation or the statement
  /// timeout can stop; so PRAGMA busy_timeout reads 0. (Setting that pragma yourself puts
  /// SQLite's handler back, which nothing can interrupt.)
  std::chrono::milliseconds busy_timeout{5000};

  /// Stops any request whose statements run longer than this (counted from when the
  /// request starts running, not while it waits in the queue), completing it with
  /// asio::error::timed_out: a guard against runaway queries. 0: no limit. Applies to
  /// every statement request, alongside its own per-operation cancellation; not to open,
  /// close, COMMIT or ROLLBACK. Inside a transaction, SQLite may roll the transaction back.
  std::chrono::milliseconds statement_timeout{0};

  /// Fails a request that has waited this long in the queue before starting to run
  /// (behind a transaction that holds the connection, behind a long statement), with
  /// asio::error::timed_out; it never runs. Counts only the wait, unlike
  /// statement_timeout; on a pool, also a read's wait for a free reader. Applies to the
  /// requests a cancellation may remove (statements, BEGIN; not open, close, COMMIT or
  /// ROLLBACK). 0: no limit.
  std::chrono::milliseconds queue_timeout{0};

  /// How long the thread that starts a request may spin for its result, when the request
  /// is alone (the worker awake, nothing queued ahead), before returning to its event loop.
  /// Waking a sleeping thread costs tens of microseconds on virtual machines; a caller
  /// that stays awake gets quick results (a point query, an insert in a transaction) in a
  /// few. The cost is up to this much CPU time of the caller's thread per request, and
  /// less once requests turn out slow (then the spins back off). The same bound limits how
  /// long the connection's completion drain keeps polling its io_context for results while
  /// requests are in flight. Neither spins when the worker last ran on the spinning
  /// thread's own CPU. At most 10 ms (more counts as 10 ms). 0 disables both (completions
  /// are still delivered in batches, but nothing waits for them).
  std::chrono::microseconds spin_wait{50};

  /// Group commit: autocommit writes (async_execute, async_execute_many and a prepared
  /// statement's, outside any transaction) that are queued together, or arrive while
  /// their group runs, run in one transaction, up to this many: each inside its own
  /// SAVEPOINT (a failing one undoes only itself), and every handler completes once the
  /// COMMIT covering it has succeeded; if the COMMIT fails, each of them fails with its
  /// error. Nothing waits for writes to come: a write alone is committed at once. Once its
  /// group runs, a write runs to its end (a cancellation removes it only while queued).
  /// For independent writes: see the guide. 0 or 1: off.
  std::size_t group_commit = 0;

  /// Adds up, in connection::stats, how long requests waited in the queue and how long
  /// they ran (time_queued, time_running): three clock reads per request, so off unless
  /// asked for. The counts are kept either way.
  bool measure_time = false;

  /// PRAGMA wal_autocheckpoint: after a commit leaves at least this many pages in the
  /// write-ahead log, SQLite checkpoints it (PASSIVE). 0 turns automatic checkpoints off
  /// (checkpoint with connection::async_checkpoint, as a WAL replication tool expects);
  /// unset: SQLite's default, 1000; negative fails the open with errc::invalid_option.
  std::optional<int> wal_autocheckpoint;

  /// PRAGMA foreign_keys.
  bool foreign_keys = true;

  /// How many prepared statements the worker keeps (least recently used go first);
  /// 0 prepares every statement afresh.
  std::size_t statement_cache_capacity = 100;

  /// How many rows a cursor fetches per request, unless async_cursor says otherwise
  /// (cursor_options::batch_size). A cursor holds about three batches. 0 fails the open
  /// (errc::invalid_option).
  std::size_t cursor_batch_size = 256;

  /// Limits set with sqlite3_limit at open, in order, before on_open runs, e.g.
  /// {{limit::length, 1'000'000}, {limit::sql_length, 100'000}}. SQLite lowers a value
  /// above its compiled-in maximum to that maximum; a negative value or a category that
  /// is not a limit fails the open with errc::invalid_option. At run time:
  /// connection::async_set_limit.
  std::vector<limit_setting> limits;

  /// Loadable extensions loaded at open, in order, after the limits and before on_open, on
  /// every connection (of a pool too). Loading is enabled for each load only, and never
  /// for SQL's load_extension(). One that does not load fails the open (errc::error, with
  /// SQLite's reason). At run time: connection::async_load_extension.
  std::vector<extension> extensions;

  /// More pragmas, each run as "PRAGMA <text>" after the ones above, e.g. "cache_size = -20000".
  std::vector<std::string> pragmas;

  /// The name of a registered VFS; empty for the default.
  std::string vfs;

  /// Runs on the worker thread once the database is open and configured, before any
  /// request: register functions, collations, attach databases. If it throws, the open
  /// fails with that exception.
  std::function<void(sync_handle&)> on_open;
};

}  // namespace asiolite
