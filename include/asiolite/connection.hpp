// A connection to one SQLite database, served by its own worker thread.
#pragma once

#include <asiolite/authorizer.hpp>
#include <asiolite/backup.hpp>
#include <asiolite/blob_handle.hpp>
#include <asiolite/config.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/access.hpp>
#include <asiolite/detail/bind.hpp>
#include <asiolite/detail/connection_impl.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/detail/user_functions.hpp>
#include <asiolite/dump.hpp>
#include <asiolite/error.hpp>
#include <asiolite/functions.hpp>
#include <asiolite/migrations.hpp>
#include <asiolite/options.hpp>
#include <asiolite/parameters.hpp>
#include <asiolite/results.hpp>
#include <asiolite/row.hpp>
#include <asiolite/statement_operations.hpp>
#include <asiolite/stats.hpp>
#include <asiolite/subscription.hpp>
#include <asiolite/trace.hpp>
#include <asiolite/transaction.hpp>
#include <asiolite/watch.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace asiolite {

/// A connection to an SQLite database. One worker thread per open connection owns the
/// sqlite3 handle and runs requests in the order they were submitted; the handle is a
/// cheap, move-only object that any number of coroutines, on any threads, may use at once.
///
/// Every `async_*` function follows the same rules:
/// - Arguments: the inputs, then optionally `diagnostics&` (receives the error message on
///   failure, cleared on success; it must outlive the operation), then optionally a
///   completion token (default: asio::use_awaitable).
/// - Completion signature: `void(error_code[, R])`. With use_awaitable or use_future
///   the error is an exception_ptr instead, holding sqlite_error (SQLite's message and the
///   SQL) or the exception user code threw on the worker.
/// - Executor: the handler runs on its associated executor, or the connection's if it has
///   none; never inside the initiating function, never on the worker thread. The
///   handler's executor counts the operation as outstanding work until it completes.
/// - Cancellation (statements, async_begin; open, close and ROLLBACK always run to the
///   end, a started COMMIT too): terminal, partial and total. A queued request is removed
///   and never runs; a running one is interrupted, also while it waits for a lock (SQLite
///   undoes its statement). Either way the handler gets asio::error::operation_aborted,
///   unless the request had already finished. options::statement_timeout stops requests
///   with asio::error::timed_out; cancel() stops them all.
/// - What is copied: the SQL text and every argument, before the function returns (with
///   a deferred token: when the operation is initiated). Views may be temporaries.
/// - Thread safety: any number of operations may be started concurrently, from any
///   thread, on one connection; they run one at a time, in submission order.
class connection : public statement_operations<connection> {
 public:
  using executor_type = asio::any_io_executor;

  /// An empty placeholder, like a moved-from connection: it cannot be opened, and its
  /// operations complete with errc::closed. Assign a real connection to it.
  connection() noexcept = default;

  /// A closed connection whose handlers default to `ex`; open it with async_open.
  explicit connection(executor_type ex) : ex_(std::move(ex)), impl_(std::make_shared<detail::connection_impl>(ex_)) {}

  template <class ExecutionContext>
  requires std::is_convertible_v<ExecutionContext&, asio::execution_context&>
  explicit connection(ExecutionContext& ctx) : connection(executor_type(ctx.get_executor())) {}

  /// The moved-from connection keeps its executor and behaves as an empty one.
  connection(connection&& other) noexcept : ex_(other.ex_), impl_(std::move(other.impl_)) {}

  /// Closes this connection as the destructor does, then takes `other`'s.
  connection& operator=(connection&& other) noexcept {
    if (this != &other) {
      detach();
      ex_ = other.ex_;
      impl_ = std::move(other.impl_);
    }
    return *this;
  }

  /// An open connection closes itself: everything queued still runs (queued writes are
  /// not lost, their handlers are still called), then the database closes, without
  /// blocking this thread. The worker thread is joined once it has finished, at the
  /// latest when the program exits.
  ~connection() { detach(); }

  executor_type get_executor() const noexcept { return ex_; }

  /// True between a successful open and the start of a close. Only a snapshot when
  /// other threads open or close the connection.
  bool is_open() const noexcept { return impl_ && impl_->is_open(); }

  // ---- open and close

  /// Opens a new connection: `auto db = co_await connection::async_open(ex, "app.db");`
  /// On failure the delivered connection is closed; the message names the path and the
  /// operating system's reason.
  /// - Signature: void(error_code, connection). Trailing: [const options&] [diagnostics&] [token].
  /// - Executor: the handler's, else `ex`, which becomes the connection's executor.
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

  /// Opens this connection, which must be closed (else errc::already_open). Requests
  /// submitted while the open runs queue behind it; options.on_open runs first.
  /// - Signature: void(error_code). Trailing: [const options&] [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: none; an open runs to its end.
  /// - Copied: the path and the options, before the function returns.
  /// - Thread safety: any thread; a second open while one runs gets errc::already_open.
  template <class... Trailing>
  auto async_open(std::string_view path, Trailing&&... trailing);

  /// Closes the connection after every request queued before it has run; finalizes the
  /// statements, closes the database, and ends the worker thread before completing.
  /// Closing a closed connection succeeds; requests made after the close started get
  /// errc::closed.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: none; a close runs to its end.
  /// - Copied: nothing.
  /// - Thread safety: any thread; later closes wait for the first and share its outcome.
  template <class... Trailing>
  auto async_close(Trailing&&... trailing);

  /// Cancels every request on the connection, e.g. at shutdown: queued ones are removed
  /// and complete with asio::error::operation_aborted without running; the running one is
  /// interrupted. Open, close, COMMIT and ROLLBACK requests are left to finish. Returns at
  /// once; thread-safe. The connection stays open and usable.
  void cancel() {
    if (impl_) impl_->cancel_all();
  }

  /// Requests queued and running now, and the counts so far: a snapshot (it takes the
  /// connection's lock once). Thread-safe.
  connection_stats stats() const { return impl_ ? impl_->stats() : connection_stats{}; }

  // ---- transactions

  /// BEGIN: a transaction that holds this connection until it ends. Other requests on the
  /// connection wait for it, in order. Default mode: immediate. From inside a transaction
  /// on this connection, this waits for that transaction to end: nest with
  /// transaction::async_savepoint instead.
  /// - Signature: void(error_code, transaction). Trailing: [begin_mode] [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; the transaction's is the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued; a BEGIN already run
  ///   delivers its transaction, which, if the caller drops it (the losing side of `||`),
  ///   rolls back and frees the connection.
  /// - Copied: nothing.
  /// - Thread safety: any thread.
  template <class... Trailing>
  auto async_begin(Trailing&&... trailing);

  /// Runs `body(transaction&)`, a coroutine, in a transaction: commits when it returns,
  /// rolls back when it throws (the exception propagates), and runs it again, after a
  /// backoff, when SQLite reports SQLITE_BUSY (at most opts.max_attempts times in all).
  /// The body may therefore run more than once: keep its effects outside the database
  /// idempotent. Not an initiating function: it returns the coroutine.
  /// - Signature: asio::awaitable<R>, R what the body's awaitable returns.
  /// - Executor: the awaiting coroutine's.
  /// - Cancellation: the body's and the transaction's requests honour the awaiting
  ///   coroutine's cancellation, as each request does.
  /// - Copied: `body` and `opts` are moved into the coroutine; the connection must outlive it.
  /// - Thread safety: any thread.
  template <class Body>
  auto async_transaction(Body body, transaction_options opts = {});

  /// The whole transaction as one request: BEGIN, fn(sync_handle&), COMMIT on the
  /// worker in a single hop (ROLLBACK if fn throws or COMMIT fails) — the fastest way to
  /// run many statements atomically. Exceptions as async_call.
  /// - Signature: void(error_code, R), or void(error_code) when fn returns void.
  ///   Trailing: [begin_mode] [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; fn runs on the worker.
  /// - Cancellation: terminal, partial, total: removed while queued; interrupts fn's
  ///   statements while it runs, which rolls the transaction back.
  /// - Copied: fn is moved into the request, and destroyed on the handler's executor.
  /// - Thread safety: any thread.
  template <class Fn, class... Trailing>
  auto async_call_in_transaction(Fn&& fn, Trailing&&... trailing);

  // ---- SQL functions and collations (functions.hpp; docs/guide.md says more)

  /// Registers `fn` as the SQL function `name` of this connection, replacing the one of
  /// that name and number of arguments. fn runs on the worker, inside the statements that
  /// call it: its parameters (field types, or one function_args for any number) are read
  /// as columns are, its result is bound as a parameter is (void: NULL); an exception it
  /// throws, or an argument or result that does not convert, fails that statement with
  /// errc::error and a message naming the function. Flags: function_flags.
  /// - Signature: void(error_code). Trailing: [function_flags] [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; fn runs on the worker.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: the name; fn is moved into the request, then given to SQLite, which
  ///   destroys it on the worker when it is replaced or removed or the connection closes
  ///   (a request that never runs destroys it on the handler's executor).
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class Fn, class... Trailing>
  auto async_create_function(std::string_view name, Fn fn, Trailing&&... trailing);

  /// Registers the aggregate function `name`. `make()` returns the state of one group: a
  /// class with step(...), called with each row's arguments (read as fn's parameters are
  /// for async_create_function), and finalize(), the group's result (as fn's result).
  /// A state that also has inverse(...) (the arguments of a row leaving the window) and
  /// value() (the current result) makes a window function, usable with OVER (...). Each
  /// group's state is made on its first row (for no rows at all, one is made to be
  /// finalized) and destroyed after finalize(), also when the statement fails or is
  /// interrupted. What make(), step() or finalize() throws, or a value that does not
  /// convert, fails the statement as for async_create_function. Remove it with
  /// async_remove_function.
  /// - Signature: void(error_code). Trailing: [function_flags] [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; make and the state run on the
  ///   worker.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: the name; make is moved as fn is for async_create_function.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class Factory, class... Trailing>
  auto async_create_aggregate(std::string_view name, Factory make, Trailing&&... trailing);

  /// Removes the SQL function `name` taking `arg_count` arguments (-1: the one taking
  /// function_args), a scalar or an aggregate one.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: the name.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_remove_function(std::string_view name, int arg_count, Trailing&&... trailing);

  /// Registers `cmp(std::string_view, std::string_view)`, returning an integer (< 0, 0,
  /// > 0) or the result of <=>, as the collation `name` (COLLATE name), replacing the one
  /// of that name. It runs on the worker; one that throws compares the texts equal.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; cmp runs on the worker.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: the name; cmp is moved as fn is for async_create_function.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class Cmp, class... Trailing>
  auto async_create_collation(std::string_view name, Cmp cmp, Trailing&&... trailing);

  /// Removes the collation `name`.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: the name.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_remove_collation(std::string_view name, Trailing&&... trailing);

  /// Loads the extension at `path` (SQLite's default entry point; to name another, use
  /// sync_handle::load_extension in async_call), with loading enabled for this call only:
  /// SQL's load_extension() is never enabled. One that does not load fails with
  /// errc::error and SQLite's reason, and changes nothing.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; the extension's init runs on the
  ///   worker.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: the path.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_load_extension(std::string_view path, Trailing&&... trailing);

  // ---- hooks (watch.hpp, subscription.hpp; docs/guide.md says more)

  /// Calls handler(const transaction_event&) once for every transaction on this
  /// connection that ends from now on: committed (also one with no reported change), or
  /// rolled back after it changed rows; with the rows it wrote, as SQLite reported them
  /// (a row a failed statement or a ROLLBACK TO undid is still listed: the changes are
  /// what the transaction touched). Events come in the order the transactions ended, one
  /// handler call at a time; the worker never waits for the handler, and a handler too
  /// far behind loses events, counted (watch_options::max_pending). Delivery lasts until
  /// the subscription is destroyed or unsubscribed, or the connection closes (a
  /// transaction the close rolls back is reported first).
  /// - Signature: void(error_code, subscription). Trailing: [watch_options] [diagnostics&]
  ///   [token].
  /// - Executor: the completion's: the token's, else the connection's. The events':
  ///   handler's associated executor, else the connection's; never the worker.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: handler is moved into the subscription, and destroyed when it ends (see
  ///   subscription::unsubscribe), never on the worker. The handler's executor must stay
  ///   valid while the subscription is active.
  /// - Thread safety: any thread; requests run one at a time, in submission order: a
  ///   request submitted after this one is seen.
  template <class Handler, class... Trailing>
  auto async_watch_transactions(Handler handler, Trailing&&... trailing);

  /// Calls handler(const asiolite::wal_event&) after every commit to a database of this
  /// connection in WAL mode, with the database's name and the pages its write-ahead log
  /// now holds (SQLite's WAL hook): the way to run your own checkpoints, or watch the log
  /// grow. SQLite's automatic checkpoint is that same hook: while watched, asiolite's hook
  /// checkpoints as SQLite's would (PASSIVE, once the log reaches PRAGMA
  /// wal_autocheckpoint pages); setting that pragma keeps working (the events resume
  /// from the next request), but reading it says 0 while watched. Delivery, queue and lifetime as
  /// async_watch_transactions (each event counts one against max_pending).
  /// - Signature: void(error_code, subscription). Trailing: [watch_options] [diagnostics&]
  ///   [token].
  /// - Executor, Cancellation, Copied, Thread safety: as async_watch_transactions.
  template <class Handler, class... Trailing>
  auto async_watch_wal(Handler handler, Trailing&&... trailing);

  // ---- trace (trace.hpp, subscription.hpp)

  /// Calls handler(const statement_trace&) for every statement run on this connection that
  /// begins from now on and runs for at least trace_options::threshold (0: all of them; more:
  /// a slow-query log), once it has ended: its SQL, rows returned and changed, time queued
  /// and running, error. asiolite's own statements (BEGIN, COMMIT, a group commit's
  /// SAVEPOINTs) are reported like the program's. Reports come in the order the statements
  /// ended, one handler call at a time; the worker never waits for the handler, and a
  /// handler too far behind loses reports, counted (trace_options::max_pending). While
  /// traced, requests are stamped when submitted and each statement costs two clock reads
  /// (nothing per row); untraced, nothing. Delivery lasts until the subscription is
  /// destroyed or unsubscribed, or the connection closes.
  /// - Signature: void(error_code, subscription). Trailing: [trace_options] [diagnostics&]
  ///   [token].
  /// - Executor: the completion's: the token's, else the connection's. The reports':
  ///   handler's associated executor, else the connection's; never the worker.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: handler is moved into the subscription, and destroyed when it ends (see
  ///   subscription::unsubscribe), never on the worker. The handler's executor must stay
  ///   valid while the subscription is active.
  /// - Thread safety: any thread; requests run one at a time, in submission order: the
  ///   statements of a request submitted after this one are traced.
  template <class Handler, class... Trailing>
  auto async_trace(Handler handler, Trailing&&... trailing);

  /// Calls fn() on the worker each time a transaction is about to commit: false (or an
  /// exception) turns the commit into a rollback, and the committing statement fails with
  /// errc::constraint ("constraint failed"). fn must be quick: the commit waits for it,
  /// and it must not use this connection. Replaces the filter set before.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; fn runs on the worker.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: fn is moved into the request, then kept by the worker, which destroys it
  ///   when it is replaced or removed or the connection closes.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class Fn, class... Trailing>
  auto async_set_commit_filter_on_worker(Fn fn, Trailing&&... trailing);

  /// Removes the commit filter: every commit goes on.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: nothing.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_clear_commit_filter_on_worker(Trailing&&... trailing);

  /// Calls fn() on the worker after about every `every` virtual machine steps of a
  /// running statement (SQLite's progress handler): true (or an exception) stops the
  /// statement, which fails with errc::interrupt ("interrupted"). It composes with
  /// asiolite's own use of that handler: cancellation and statement_timeout go on working.
  /// fn must be quick and must not use this connection. Replaces the one set before; an
  /// `every` below 1 fails with errc::invalid_option and changes nothing.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; fn runs on the worker.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: fn is moved into the request, then kept by the worker, which destroys it
  ///   when it is replaced or removed or the connection closes.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class Fn, class... Trailing>
  auto async_set_progress_handler_on_worker(int every, Fn fn, Trailing&&... trailing);

  /// Removes the progress handler.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: nothing.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_clear_progress_handler_on_worker(Trailing&&... trailing);

  /// Asks fn(const authorization_request&) about each action of every statement this
  /// connection prepares from now on (SQLite's authorizer), on the worker: allow, deny
  /// (the statement fails to prepare with errc::auth, "not authorized", and does nothing)
  /// or ignore (authorization::ignore says what that does). An exception denies. The
  /// statements already prepared (the cache's, prepared statements, cursors' next runs)
  /// are prepared again before they next run, asked too; asiolite's own statements (BEGIN,
  /// COMMIT, SAVEPOINT, PRAGMA) are asked as well. fn must be quick and must not use this
  /// connection. Replaces the authorizer set before.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; fn runs on the worker.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: fn is moved into the request, then kept by the worker, which destroys it
  ///   when it is replaced or removed or the connection closes.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class Fn, class... Trailing>
  auto async_set_authorizer_on_worker(Fn fn, Trailing&&... trailing);

  /// Removes the authorizer; statements prepared with its answers are prepared again.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: nothing.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_clear_authorizer_on_worker(Trailing&&... trailing);

  // ---- limits (sqlite3_limit; options::limits sets them at open)

  /// The current value of the limit `category` on this connection.
  /// - Signature: void(error_code, int). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: nothing to copy (the category is a value).
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_get_limit(limit category, Trailing&&... trailing);

  /// Sets the limit `category` to `value` for the statements that run after it (SQLite
  /// lowers a value above its compiled-in maximum to that maximum), completing with the
  /// value it had. A negative value, or a category that is not a limit, fails with
  /// errc::invalid_option and changes nothing.
  /// - Signature: void(error_code, int). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: nothing to copy (the category and value are values).
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_set_limit(limit category, int value, Trailing&&... trailing);

  /// Copies this connection's main database to the database file at `path` (created, or
  /// overwritten), online: one step of backup_options::pages_per_step pages per request,
  /// so the requests queued meanwhile run between two steps (a large backup never holds
  /// the connection); backup_options::progress hears after each step. Writes made through
  /// this connection between steps go into the copy too; a write through another
  /// connection makes SQLite start the copy over at the next step (a pool backs up from a
  /// read transaction instead: see pool::async_backup). The copy is complete, and
  /// consistent, when the operation succeeds. A step that finds a lock held by another
  /// connection is tried again after 1, 2, 5, then every 10 ms (as a statement waits, but
  /// on a timer: the connection serves meanwhile), for up to options::busy_timeout, then
  /// the backup fails with errc::busy; the source's own file fails with errc::misuse.
  /// - Signature: void(error_code). Trailing: [backup_options] [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; progress is called there too.
  /// - Cancellation: terminal, partial, total: between two steps (a step under way ends
  ///   first, or is removed while queued); the destination is then left partly written
  ///   (SQLite's backup writes it page by page): do not use it.
  /// - Copied: the path and the options, before the function returns.
  /// - Thread safety: any thread.
  template <class... Trailing>
  auto async_backup(std::string_view path, Trailing&&... trailing);

  /// Copies this connection's main database into `dest`'s main database (replaced), as
  /// the backup to a file does: step by step on this connection, which serves its other
  /// requests between steps, with progress and cancellation as above. `dest` must stay
  /// untouched while SQLite writes it: its worker finishes what `dest` had queued, then
  /// waits, lending its handle to the backup, until the backup ends; `dest`'s requests
  /// made after this call (with a lazy token such as use_awaitable: after the co_await
  /// begins) run after the copy. Backing up to an in-memory connection, or from one to
  /// a connection on a file, are the common uses. `dest` this very connection fails with
  /// errc::misuse; two backups in opposite directions at once would wait for each other
  /// (until cancelled, or the statement timeout).
  /// - Signature: void(error_code). Trailing: [backup_options] [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; progress is called there too.
  /// - Cancellation: terminal, partial, total: between two steps, and while waiting for
  ///   `dest`; `dest` is then left partly written, as a file would be.
  /// - Copied: the options, and a reference to `dest`'s core (dest itself may go).
  /// - Thread safety: any thread.
  template <class... Trailing>
  auto async_backup(connection& dest, Trailing&&... trailing);

  /// Replaces this connection's main database with the database file at `path` (backup
  /// in the other direction), in one request: nothing else runs on this connection
  /// meanwhile, as SQLite requires of a backup's destination. Other connections to this
  /// database wait for it as for a write (busy_timeout).
  /// - Signature: void(error_code). Trailing: [backup_options] [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued, stopped between two
  ///   steps (SQLite then rolls the destination back to what it was).
  /// - Copied: the path and the options, before the function returns.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_restore(std::string_view path, Trailing&&... trailing);

  /// Brings the database's schema up to the newest of `list`, numbered 1, 2, 3... by
  /// PRAGMA user_version: each migration above the database's version runs in its own
  /// IMMEDIATE transaction with the version bump, so a migration that fails leaves the
  /// database at the version before it (those before it stay applied). Run again, it does
  /// nothing. Two connections or processes migrating at once apply each migration once
  /// (each transaction reads the version again once it holds the write lock). A list with
  /// a gap, a number twice or out of order fails with errc::invalid_option, a database
  /// whose version is above the list's newest with errc::newer_schema; neither touches
  /// the database. Runs in one request: options::statement_timeout applies to it whole.
  /// - Signature: void(error_code, migrate_result). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued; once running, the
  ///   migration under way is interrupted and rolled back.
  /// - Copied: the list, before the function returns. Name the list before co_await
  ///   (g++ 12 and braced temporaries: see options).
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_migrate(std::vector<migration> list, Trailing&&... trailing);

  /// Checkpoints the main database's write-ahead log (sqlite3_wal_checkpoint_v2): copies
  /// its frames into the database file, and with restart or truncate lets the log start
  /// over. full, restart and truncate wait for other connections as a lock does
  /// (options::busy_timeout, stopped by a cancellation or the statement timeout); one that
  /// cannot finish fails with errc::busy. A database not in WAL mode reports -1 frames.
  /// Attached databases: `PRAGMA name.wal_checkpoint(MODE)` through async_query.
  /// - Signature: void(error_code, checkpoint_result). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued, stopped while it
  ///   waits for a lock.
  /// - Copied: nothing to copy (the mode is a value).
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_checkpoint(checkpoint_mode mode, Trailing&&... trailing);

  /// Opens the value in `column` of row `rowid` of `table` for incremental I/O
  /// (sqlite3_blob_open): a blob_handle, an Asio random-access device (see blob_handle.hpp). Read-only
  /// unless blob_options::writable. A missing table, column or row, or a value that is
  /// not a BLOB or TEXT, fails with SQLite's error (errc::error) naming it.
  /// - Signature: void(error_code, blob_handle). Trailing: [blob_options] [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; the blob's too.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: the names and the options, before the function returns.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_open_blob(std::string_view table, std::string_view column, std::int64_t rowid, Trailing&&... trailing);

  /// The database `name` (main by default, temp, or an attached one) as bytes: the image
  /// of its file, page by page, as sqlite3_serialize makes it; what async_deserialize
  /// loads, or a file can hold. A database of no pages yet gives no bytes.
  /// - Signature: void(error_code, std::vector<std::byte>). Trailing: [name]
  ///   [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: the name, before the function returns.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_serialize(Trailing&&... trailing);

  /// Replaces the database `name` (main by default, or an attached one) with an
  /// in-memory database holding a copy of `bytes` (sqlite3_deserialize): the caller's
  /// buffer may go once this function returns. Bytes that are not an SQLite database
  /// (checked on a scratch connection first) fail with errc::notadb or SQLite's error,
  /// and leave the database as it was. A WAL database's image loads as a rollback-journal
  /// one (an in-memory database has no log). The database grows as it is written.
  /// - Signature: void(error_code). Trailing: [name] [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's.
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: the bytes and the name, before the function returns.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_deserialize(std::span<const std::byte> bytes, Trailing&&... trailing);

  /// The database as SQL text, like the sqlite3 shell's .dump: the tables with their
  /// rows, then the indexes, triggers and views, in one transaction; loading the text
  /// into an empty database (async_execute_script, or the shell) gives the same content.
  /// The text comes in chunks of whole statements (dump_options::chunk_bytes), each
  /// handed to `sink` before the next is made, so memory stays near one chunk: sink is
  /// called with a std::string_view (valid during the call), and returns void or an
  /// asio::awaitable<void> that is awaited before the next chunk. The dump reads one
  /// snapshot, in a read transaction that holds this connection until the dump ends:
  /// requests made meanwhile wait (a pool's dump holds a reader instead: pool::async_dump).
  /// A sink that throws ends the dump with its exception.
  /// - Signature: void(error_code). Trailing: [dump_options] [diagnostics&] [token].
  /// - Executor: the handler's, else the connection's; the sink is called there too.
  /// - Cancellation: terminal, partial, total: between two chunks, and a chunk queued or
  ///   being made; the sink has then had part of the text.
  /// - Copied: the sink (moved) and the options, before the function returns.
  /// - Thread safety: any thread.
  template <class Sink, class... Trailing>
  auto async_dump(Sink&& sink, Trailing&&... trailing);

 private:
  friend struct detail::access;

  template <class T>
  struct is_blob_options : std::is_same<std::remove_cvref_t<T>, blob_options> {};

  template <class T>
  struct is_begin_mode : std::is_same<std::remove_cvref_t<T>, begin_mode> {};

  template <class T>
  struct is_options_input : std::is_same<std::remove_cvref_t<T>, options> {};

  template <class T>
  struct is_watch_options : std::is_same<std::remove_cvref_t<T>, watch_options> {};

  template <class T>
  struct is_trace_options : std::is_same<std::remove_cvref_t<T>, trace_options> {};

  template <class T>
  struct is_backup_options : std::is_same<std::remove_cvref_t<T>, backup_options> {};

  template <class T>
  struct is_function_flags : std::is_same<std::remove_cvref_t<T>, function_flags> {};

  // The request of async_create_function and async_create_aggregate: `what` (the callable,
  // the factory) handed to Create (detail::create_function, create_aggregate) on the
  // worker, with the function_flags among the trailing arguments.
  template <auto Create, class What, class... Trailing>
  auto function_registration(std::string_view name, What what, Trailing&&... trailing);

  // A request that runs `r` on the worker and completes with void(error_code):
  // registrations and the worker's settings. `r` takes (sqlite3*, failure&), or
  // (database&, failure&) for what the worker keeps (detail::registration_job).
  template <class Register, class... Trailing>
  auto on_worker(Register r, Trailing&&... trailing) {
    return detail::async_request(request_target(), detail::registration_job(std::move(r)),
                                 std::forward<Trailing>(trailing)...);
  }

  // Where this connection's requests go, and those of the cursors and prepared
  // statements made here: no lease.
  detail::request_target_view request_target() const noexcept { return {impl_, ex_, 0}; }

  void detach() noexcept {
    if (impl_) impl_->detach();
  }

  executor_type ex_;
  std::shared_ptr<detail::connection_impl> impl_;
};

}  // namespace asiolite

#include <asiolite/impl/connection.hpp>
