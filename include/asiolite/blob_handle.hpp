// Incremental blob I/O: one value of one row read and written in pieces, as an Asio
// random-access device (connection::async_open_blob).
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/default_token.hpp>
#include <asiolite/detail/access.hpp>
#include <asiolite/detail/request_target.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace asiolite {

namespace detail {
class blob_state;
}

/// How connection::async_open_blob opens a blob. Name the object before co_await (it
/// holds a std::string: see options).
struct blob_options {
  /// Open for writing too (sqlite3_blob_open's flag). A writable blob holds the
  /// database's write lock from its open to its close, and in autocommit mode its writes
  /// commit when it closes.
  bool writable = false;
  /// The database the table is in: "main", "temp" or an attached database's name.
  std::string database = "main";
};

/// A BLOB or TEXT value of one row, opened by connection::async_open_blob, read and
/// written in place without ever holding it whole (sqlite3_blob_*). It is an Asio
/// random-access device: asio::async_read_at and asio::async_write_at work on it, with
/// any completion token.
///
/// - Its size is fixed: SQLite's blobs do not grow (write the row with zeroblob(N) first,
///   then fill it). A read at or past the end fails with asio::error::eof; a write that
///   would go past it fails with errc::past_blob_end, having written nothing.
/// - When its row is changed or deleted by any statement of the same connection, SQLite
///   expires the blob: later reads and writes fail with errc::abort; async_reopen on a
///   row makes it usable again.
/// - While open it holds a read transaction on its connection (a writable one, the write
///   lock), like a cursor part way through its rows: other statements of the connection
///   read that same snapshot, and a COMMIT of the connection fails while a writable blob
///   is open. Close it (async_close, or destroy it) when done.
/// - Each read or write is one request, in FIFO order with the connection's others; the
///   bytes go straight between SQLite and the caller's buffers, on the worker.
/// - It cannot outlive its connection: once the connection has closed, every operation
///   completes with errc::closed.
/// - Thread safety: as the connection's (any thread; one request at a time, in order).
class blob_handle : private detail::held_handle<detail::blob_state> {
 public:
  using executor_type = asio::any_io_executor;

  /// An empty handle (moved from, or from a failed async_open_blob): operations fail with
  /// errc::closed.
  blob_handle() noexcept = default;
  /// The moved-from handle keeps the executor.
  blob_handle(blob_handle&& other) noexcept = default;

  /// Closes this blob as the destructor does, then takes `other`'s.
  blob_handle& operator=(blob_handle&& other) noexcept = default;

  /// Closes the blob on the worker, without waiting (its writes, in autocommit mode,
  /// commit then; use async_close to hear whether they did).
  ~blob_handle() = default;

  executor_type get_executor() const noexcept { return target_.ex; }

  /// Bytes in the blob, as of its open or its last reopen (0 for an empty handle).
  std::uint64_t size() const noexcept;

  /// The row it is open on.
  std::int64_t rowid() const noexcept;

  /// Opened writable.
  bool writable() const noexcept;

  /// Reads up to buffer_size(buffers) bytes from `offset` (fewer at the end).
  /// - Signature: void(error_code, std::size_t): asio::error::eof at or past the end,
  ///   errc::abort once expired. Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the blob's (its connection's).
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: nothing; the buffers must stay valid until the operation completes.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class MutableBufferSequence, class... Trailing>
  auto async_read_some_at(std::uint64_t offset, const MutableBufferSequence& buffers, Trailing&&... trailing);

  /// Writes all of `buffers` at `offset`, or nothing if they would go past the end
  /// (errc::past_blob_end) or the blob is read-only (errc::readonly).
  /// - Signature: void(error_code, std::size_t). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the blob's (its connection's).
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: nothing; the buffers must stay valid until the operation completes.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class ConstBufferSequence, class... Trailing>
  auto async_write_some_at(std::uint64_t offset, const ConstBufferSequence& buffers, Trailing&&... trailing);

  /// Moves the blob to the same column of another row (sqlite3_blob_reopen), faster than
  /// a new open; size() is then that value's. A row that does not exist (or whose value
  /// is not a BLOB or TEXT) fails with SQLite's error and leaves the blob expired.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the blob's (its connection's).
  /// - Cancellation: terminal, partial, total: removed while queued.
  /// - Copied: nothing to copy (the rowid is a value).
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_reopen(std::int64_t rowid, Trailing&&... trailing);

  /// Closes the blob (sqlite3_blob_close), reporting whether its writes committed (in
  /// autocommit mode a writable blob commits here). Later operations fail with
  /// errc::closed.
  /// - Signature: void(error_code). Trailing: [diagnostics&] [token].
  /// - Executor: the handler's, else the blob's (its connection's).
  /// - Cancellation: none: it always runs.
  /// - Copied: nothing to copy.
  /// - Thread safety: any thread; requests run one at a time, in submission order.
  template <class... Trailing>
  auto async_close(Trailing&&... trailing);

 private:
  friend struct detail::access;

  blob_handle(detail::request_target target, std::shared_ptr<detail::blob_state> state) noexcept
      : held_handle(std::move(target), std::move(state)) {}

  detail::request_target_view request_target() const noexcept { return target_; }
};

}  // namespace asiolite

#include <asiolite/impl/blob_handle.hpp>
