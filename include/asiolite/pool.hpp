// A pool: one writer and many readers on one database, so that reads run beside writes,
// and concurrent work gets separate connections.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/connection.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/access.hpp>
#include <asiolite/detail/composed.hpp>
#include <asiolite/detail/pool_core.hpp>
#include <asiolite/dump.hpp>
#include <asiolite/error.hpp>
#include <asiolite/options.hpp>
#include <asiolite/statement_operations.hpp>
#include <asiolite/transaction.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace asiolite::detail {
class read_begin_job;  // impl/pool.hpp
}  // namespace asiolite::detail

namespace asiolite {

/// How pool::async_open opens a pool. Name the object before co_await (see options).
struct pool_options {
  /// Read-only connections; reads are spread over them. Default: the number of CPUs, at
  /// least 1; 0 fails the open. A database in memory has none, whatever this says (see pool).
  std::size_t readers = default_readers();

  /// The options every connection gets, the writer and each reader: on_open runs on
  /// each. The pool sets what it needs on top: WAL for a file database (a journal other
  /// than WAL here fails the open), and read-only for the readers.
  options connection;

  static std::size_t default_readers() noexcept {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;
  }
};

/// Where a pool's load goes, from pool::stats: a snapshot.
struct pool_stats {
  /// A reader's connection_stats (its queue, what it runs, its counts), and the pool's view of it.
  struct reader : connection_stats {
    std::size_t in_flight = 0;  ///< reads the pool sent it that have not completed yet
    bool held = false;          ///< a read transaction holds it
  };
  connection_stats writer;
  /// Each reader; for a database in memory, one entry: the writer, which serves the reads.
  std::vector<reader> readers;
  /// Reads waiting at the pool for a reader (every reader is held).
  std::size_t waiting = 0;
};

class pool;

/// Several reads on one snapshot of the database, from pool::async_begin_read: it holds
/// one reader until it ends, and that reader takes no other reads meanwhile. The snapshot
/// is taken when the transaction begins: what the writer commits after that is not seen.
/// Every statement form of statement_operations is here; a write fails (the reader is
/// read-only). Ends with async_commit or async_rollback (the same for a read), or, when
/// destroyed while open, rolls back without blocking; the reader takes reads again once
/// the end has run.
class read_transaction : public statement_operations<read_transaction> {
 public:
  using executor_type = asio::any_io_executor;

  /// An empty handle (moved from, or from a failed begin): every request fails with errc::closed.
  read_transaction() noexcept = default;
  read_transaction(read_transaction&&) noexcept = default;
  /// Ends this transaction if it is open (as the destructor does), then takes `other`'s.
  read_transaction& operator=(read_transaction&&) noexcept = default;
  ~read_transaction() = default;

  executor_type get_executor() const noexcept { return tx_.get_executor(); }

  /// Not yet ended. A snapshot.
  bool is_active() const noexcept { return tx_.is_active(); }

  /// Ends the read transaction (COMMIT: for a read, the same as a rollback).
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the pool's.
  /// - Cancellation: terminal, partial, total: while queued, the commit is removed
  ///   (operation_aborted) and the transaction stays open; once started it runs to its end.
  /// - Copied: nothing.
  /// - Thread safety: any thread.
  template <class... Trailing>
  auto async_commit(Trailing&&... trailing) {
    return tx_.async_commit(std::forward<Trailing>(trailing)...);
  }

  /// Ends the read transaction (ROLLBACK). Rolling back one that has ended succeeds.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the pool's.
  /// - Cancellation: none; a rollback always runs.
  /// - Copied: nothing.
  /// - Thread safety: any thread.
  template <class... Trailing>
  auto async_rollback(Trailing&&... trailing) {
    return tx_.async_rollback(std::forward<Trailing>(trailing)...);
  }

 private:
  friend struct detail::access;

  explicit read_transaction(transaction tx) noexcept : tx_(std::move(tx)) {}

  detail::request_target_view request_target() const noexcept { return detail::access::target(tx_); }

  transaction tx_;
};

/// One writer and many readers on one database. Reads (every statement form, on the pool
/// itself) run on the readers, read-only connections in WAL mode, so they run beside the
/// writer's transactions and beside each other; writes go to `writer()`, an
/// asiolite::connection with everything a connection has. Routing is explicit: the pool
/// never looks at SQL text.
///
/// - A read goes to the reader with the fewest reads sent to it and not yet completed; a
///   reader held by a read transaction takes none. When every reader is held, reads wait
///   at the pool in one FIFO queue, removed by their cancellation like a queued request.
/// - A write on a reader fails with SQLITE_READONLY (errc::readonly); the reader stays usable.
/// - A database in memory (options::in_memory, ":memory:", a "mode=memory" URI, or the
///   empty path) cannot be shared by several connections: the pool has no readers, and
///   its reads run on the writer, in order with the writes (and may write: nothing
///   read-only refuses them). A read transaction there holds the writer.
/// - Open and close as a connection: the static async_open, or a pool constructed closed
///   with async_open / async_close. Close and the destructor close every connection after
///   the requests queued on it (queued writes are not lost, every handler is called);
///   reads still waiting for a reader fail with errc::closed. An open read or write
///   transaction holds its connection's close until it ends, as on a connection.
/// - Every async_* function follows the rules in connection.hpp; the handlers of reads
///   default to the pool's executor.
class pool : public statement_operations<pool> {
 public:
  using executor_type = asio::any_io_executor;

  /// An empty placeholder: it cannot be opened, and its operations fail with errc::closed.
  pool() noexcept = default;

  /// A closed pool whose handlers default to `ex`; open it with async_open.
  explicit pool(executor_type ex)
      : ex_(std::move(ex)), core_(std::make_shared<detail::pool_core>(ex_)), members_(std::make_shared<members>(ex_)) {}

  template <class ExecutionContext>
  requires std::is_convertible_v<ExecutionContext&, asio::execution_context&>
  explicit pool(ExecutionContext& ctx) : pool(executor_type(ctx.get_executor())) {}

  /// The moved-from pool keeps its executor and behaves as an empty one.
  pool(pool&& other) noexcept : ex_(other.ex_), core_(std::move(other.core_)), members_(std::move(other.members_)) {}

  /// Closes this pool as the destructor does, then takes `other`'s.
  pool& operator=(pool&& other) noexcept {
    if (this != &other) {
      detach();
      ex_ = other.ex_;
      core_ = std::move(other.core_);
      members_ = std::move(other.members_);
    }
    return *this;
  }

  /// Closes every connection as a connection's destructor does: what is queued still
  /// runs, then each database closes, without blocking this thread. Reads waiting for a
  /// reader fail with errc::closed.
  ~pool() { detach(); }

  executor_type get_executor() const noexcept { return ex_; }

  /// True between a successful open and the start of a close. A snapshot.
  bool is_open() const { return core_ && core_->is_open(); }

  /// The one connection that writes. Transactions default to IMMEDIATE there, as on any
  /// connection. The reference stays valid as long as this pool (or what it is moved
  /// to); on an empty pool, a connection whose operations fail with errc::closed.
  connection& writer() noexcept { return members_ ? members_->writer : empty_writer(); }

  /// How many connections serve the reads: the readers, or 0 for a database in memory
  /// (the writer serves them). 0 while closed.
  std::size_t reader_count() const noexcept { return members_ ? members_->reader_count.load() : 0; }

  /// Requests queued and running on each connection, the reads in flight to each reader,
  /// and the reads waiting at the pool: a snapshot. Thread-safe.
  pool_stats stats() const;

  // ---- open and close

  /// Opens a pool: `auto db = co_await pool::async_open(ex, "app.db", po);` The writer
  /// opens first (and sets WAL), then the readers, read-only. On failure every connection
  /// opened is closed again, the delivered pool is closed, and the message says which
  /// connection failed and why.
  /// - Signature: void(error_code, pool). Trailing: [const pool_options&] [diagnostics&] [token].
  /// - Executor: the handler's, else `ex`, which becomes the pool's executor.
  /// - Cancellation: none; an open runs to its end.
  /// - Copied: the path and the options, before the function returns.
  /// - Thread safety: any thread.
  template <class... Trailing>
  static auto async_open(const executor_type& ex, std::string_view path, Trailing&&... trailing);

  /// As above, with the executor of `ctx` (an io_context, a thread_pool).
  /// - Signature, Executor, Cancellation, Copied, Thread safety: as above.
  template <class ExecutionContext, class... Trailing>
  requires std::is_convertible_v<ExecutionContext&, asio::execution_context&>
  static auto async_open(ExecutionContext& ctx, std::string_view path, Trailing&&... trailing) {
    return async_open(executor_type(ctx.get_executor()), path, std::forward<Trailing>(trailing)...);
  }

  /// Opens this pool, which must be closed (else errc::already_open). Reads made before
  /// the open has completed fail with errc::closed; writes queue on the writer as on a
  /// connection being opened.
  /// - Signature: void(error_code). Trailing: [const pool_options&] [diagnostics&] [token].
  /// - Executor: the handler's, else the pool's.
  /// - Cancellation: none; an open runs to its end.
  /// - Copied: the path and the options, before the function returns.
  /// - Thread safety: any thread; a second open while one runs gets errc::already_open.
  template <class... Trailing>
  auto async_open(std::string_view path, Trailing&&... trailing);

  /// Closes every connection, readers first, then the writer (the last connection to a
  /// WAL database checkpoints it), each after the requests queued on it; reads waiting
  /// for a reader fail with errc::closed. Closing a closed pool succeeds.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the pool's.
  /// - Cancellation: none; a close runs to its end.
  /// - Copied: nothing.
  /// - Thread safety: any thread.
  template <class... Trailing>
  auto async_close(Trailing&&... trailing);

  /// Cancels every request on every connection (as connection::cancel does on each) and
  /// every read waiting for a reader. Returns at once; thread-safe. The pool stays open.
  void cancel();

  // ---- read transactions

  /// Begins a read transaction (see read_transaction): waits, like any read, for a
  /// reader that no other read transaction holds, then takes its snapshot.
  /// - Signature: void(error_code, read_transaction). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the pool's; the transaction's is the pool's.
  /// - Cancellation: terminal, partial, total: removed while it waits for a reader or in
  ///   the reader's queue; a BEGIN already run delivers its transaction, which, if the
  ///   caller drops it, rolls back and frees the reader.
  /// - Copied: nothing.
  /// - Thread safety: any thread.
  template <class... Trailing>
  auto async_begin_read(Trailing&&... trailing);

  // ---- backup

  /// Copies the database to the file at `path` as connection::async_backup does, from a
  /// read transaction on a reader: the copy is the database as it was when the backup
  /// began, consistent, while the writer goes on writing (the write-ahead log then keeps
  /// the frames the snapshot needs until the backup ends). The reader is held meanwhile;
  /// the read waits for one like any read.
  /// - Signature: void(error_code). Trailing: [backup_options] [diagnostics&] [token].
  /// - Executor: the handler's, else the pool's; progress is called there too.
  /// - Cancellation: terminal, partial, total: between two steps, and while it waits for
  ///   a reader (see connection::async_backup for the destination).
  /// - Copied: the path and the options, before the function returns.
  /// - Thread safety: any thread. errc::closed if the pool is not open.
  template <class... Trailing>
  auto async_backup(std::string_view path, Trailing&&... trailing);

  /// The database `name` (main by default, or an attached one) as bytes, as
  /// connection::async_serialize, read on a reader: the committed state when it runs,
  /// while the writer goes on writing.
  /// - Signature: void(error_code, std::vector<std::byte>). Trailing: [name]
  ///   [diagnostics&] [token].
  /// - Executor: the handler's, else the pool's.
  /// - Cancellation: terminal, partial, total: removed while queued (and while it waits
  ///   for a reader).
  /// - Copied: the name, before the function returns.
  /// - Thread safety: any thread. errc::closed if the pool is not open.
  template <class... Trailing>
  auto async_serialize(Trailing&&... trailing);

  /// The database as SQL text, as connection::async_dump, from a read transaction on a
  /// reader: one snapshot, while the writer goes on writing. The reader is held until
  /// the dump ends; the dump waits for one like any read.
  /// - Signature: void(error_code). Trailing: [dump_options] [diagnostics&] [token].
  /// - Executor: the handler's, else the pool's; the sink is called there too.
  /// - Cancellation: terminal, partial, total: between two chunks, a chunk queued or
  ///   being made, and while it waits for a reader.
  /// - Copied: the sink (moved) and the options, before the function returns.
  /// - Thread safety: any thread. errc::closed if the pool is not open.
  template <class Sink, class... Trailing>
  auto async_dump(Sink&& sink, Trailing&&... trailing);

  // ---- on every connection

  /// Runs fn(sync_handle&) on every connection of the pool, the writer first, then each
  /// reader, one after the other (never two at once), each in a request of its own,
  /// queued behind what that connection already has: register a function, a collation
  /// or an authorizer at run time, set a limit, load an extension, on all of them, as
  /// options::on_open does at open. What fn returns is dropped. If fn throws (or a
  /// connection fails the request), the connections after it are left alone and the
  /// operation fails with that error; those before it keep what fn did.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the pool's.
  /// - Cancellation: none.
  /// - Copied: fn is moved into the operation, and called on each worker in turn.
  /// - Thread safety: any thread. errc::closed if the pool is not open.
  template <class Fn, class... Trailing>
  auto async_call_on_each(Fn fn, Trailing&&... trailing);

  // ---- trace (trace.hpp, subscription.hpp)

  /// Traces the statements of every connection, the writer and each reader, as
  /// connection::async_trace does on one, to one handler: one subscription, one queue
  /// (trace_options::max_pending counts the reports of all of them), reports in the order
  /// the statements ended on any connection. The subscription ends when it is unsubscribed
  /// or destroyed, or when the pool closes; a pool opened again is not traced.
  /// - Signature: void(error_code, subscription). Trailing: [trace_options] [diagnostics&]
  ///   [token].
  /// - Executor: the completion's: the handler's, else the pool's. The reports': the
  ///   trace handler's associated executor, else the pool's; never a worker.
  /// - Cancellation: none; it subscribes on each connection in turn.
  /// - Copied: handler is moved into the subscription (see connection::async_trace).
  /// - Thread safety: any thread. errc::closed if the pool is not open.
  template <class Handler, class... Trailing>
  auto async_trace(Handler handler, Trailing&&... trailing);

 private:
  friend struct detail::access;

  template <class T>
  struct is_pool_options_input : std::is_same<std::remove_cvref_t<T>, pool_options> {};

  template <class T>
  struct is_trace_options_input : std::is_same<std::remove_cvref_t<T>, trace_options> {};

  template <class T>
  struct is_backup_options_input : std::is_same<std::remove_cvref_t<T>, backup_options> {};

  // The connections, shared with an open or close in flight.
  struct members {
    explicit members(const executor_type& ex) : writer(ex) {}
    connection writer;
    std::mutex mutex;                 // guards readers and phase
    std::vector<connection> readers;  // guarded by mutex
    enum class phase { closed, opening, open, closing } state = phase::closed;
    std::atomic<std::size_t> reader_count{0};
  };

  static connection& empty_writer() noexcept {
    static thread_local connection none;
    return none;
  }

  detail::pool_target_view request_target() const noexcept { return {core_, ex_}; }

  void detach() noexcept;

  // The coroutines are templates, and take the connection type as a parameter, only so
  // that they cost nothing where unused: g++ compiles every inline coroutine it
  // instantiates in each translation unit that sees it, called or not, and instantiates
  // what a template's non-dependent co_awaits use when it reads the template. (The test
  // including_asiolite_emits_next_to_nothing watches for this.)
  template <class = void>
  static asio::awaitable<detail::composed_outcome<pool>> open_new(pool p, std::string path, pool_options po);
  template <class Connection = connection>
  static asio::awaitable<detail::composed_outcome<void>> open_all(std::shared_ptr<detail::pool_core> core,
                                                                  std::shared_ptr<members> m, std::string path,
                                                                  pool_options po);
  template <class Connection = connection>
  static asio::awaitable<detail::composed_outcome<void>> close_all(std::shared_ptr<detail::pool_core> core,
                                                                   std::shared_ptr<members> m);

  // A backup from a read transaction (async_backup).
  template <class Begin = detail::read_begin_job>
  static asio::awaitable<detail::composed_outcome<void>> backup_read(std::shared_ptr<detail::pool_core> core,
                                                                     executor_type ex, std::string path,
                                                                     backup_options o);

  // Runs make()'s job on the writer, then on each reader, in turn; stops at a failure.
  template <class MakeJob>
  static asio::awaitable<detail::composed_outcome<void>> on_each(std::shared_ptr<members> m, MakeJob make);
  template <class = void>
  static asio::awaitable<detail::composed_outcome<subscription>> trace_all(std::shared_ptr<members> m,
                                                                           std::shared_ptr<detail::trace_subscriber> s,
                                                                           trace_options o);

  executor_type ex_;
  std::shared_ptr<detail::pool_core> core_;
  std::shared_ptr<members> members_;
};

}  // namespace asiolite

#include <asiolite/impl/pool.hpp>
