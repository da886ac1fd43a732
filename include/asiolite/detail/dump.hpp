// A dump (connection::async_dump, pool::async_dump): the SQL text of detail/dump_writer.hpp,
// one chunk per request, inside a read transaction begun for it, each chunk handed to the
// caller's sink on the operation's executor before the next is made.
#pragma once

#include <asiolite/default_token.hpp>
#include <asiolite/detail/access.hpp>
#include <asiolite/detail/composed.hpp>
#include <asiolite/detail/database.hpp>
#include <asiolite/detail/dump_writer.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/held_statement.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/detail/trailing.hpp>
#include <asiolite/dump.hpp>
#include <asiolite/error.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace asiolite::detail {

/// The caller's sink for the dump's chunks: a function called with each, or a coroutine
/// awaited for each (so that writing it out may itself be asynchronous).
struct dump_sink {
  std::function<void(std::string_view)> call;
  std::function<asio::awaitable<void>(std::string_view)> await;
};

template <class Sink>
dump_sink make_dump_sink(Sink&& sink) {
  using result = std::invoke_result_t<std::decay_t<Sink>&, std::string_view>;
  static_assert(std::is_void_v<result> || std::is_same_v<result, asio::awaitable<void>>,
                "asiolite: a dump's sink is called with a std::string_view and returns void or "
                "asio::awaitable<void>");
  dump_sink out;
  if constexpr (std::is_void_v<result>)
    out.call = std::forward<Sink>(sink);
  else
    out.await = std::forward<Sink>(sink);
  return out;
}

inline bool check_dump_options(const dump_options& o, failure& f) {
  if (o.chunk_bytes >= 1) return true;
  f.set(errc::invalid_option, "dump_options::chunk_bytes is 0: a chunk holds at least one statement");
  return false;
}

/// The writer, held on the worker like a cursor's statement: the connection's close lets
/// go of it, and so does a release queued when the operation went away.
class dump_state final : public held_statement {
 public:
  explicit dump_state(std::string database) : held_statement("dump of " + database), writer_(std::move(database)) {}
  dump_writer& writer() noexcept { return writer_; }

 private:
  void on_release() noexcept override { writer_.reset(); }

  dump_writer writer_;
};

struct dump_chunk {
  std::string text;
  bool last = false;
};

/// Writes the next chunk; lets go of the writer after the last one or a failure.
class dump_step_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = dump_chunk;

  dump_step_job(std::shared_ptr<dump_state> state, std::size_t bytes) noexcept
      : state_(std::move(state)), bytes_(bytes) {}

  void operator()(database& s, failure& f) {
    if (state_->released()) {
      f.set(errc::closed, "the connection was closed during the dump");
      return;
    }
    if (!state_->held()) state_->hold(statement_cache::checkout{}, s.held());
    chunk_.text.reserve(bytes_);
    chunk_.last = state_->writer().write(s.native(), chunk_.text, bytes_, f);
    if (chunk_.last || f) state_->release();
  }
  dump_chunk take_result() noexcept { return std::move(chunk_); }
  std::string_view sql() const noexcept { return {}; }

 private:
  std::shared_ptr<dump_state> state_;
  std::size_t bytes_;
  dump_chunk chunk_;
};

/// The dump's writer, held for the operation as a handle holds its state: released on
/// its worker when the operation ends, however it ends (a step may have failed, the
/// coroutine may be destroyed).
class dump_hold : public held_handle<dump_state> {
 public:
  dump_hold(request_target target, std::shared_ptr<dump_state> state) noexcept
      : held_handle(std::move(target), std::move(state)) {}
  const request_target& target() const noexcept { return target_; }
  const std::shared_ptr<dump_state>& state() const noexcept { return state_; }
};

/// The whole dump: `begin(asio::use_awaitable)` begins the read transaction it is made in
/// (a connection's, a pool reader's; a generic lambda, compiled only when called); then
/// one request per chunk, each chunk to the sink before the next; then the rollback.
/// Cancellable between chunks (and a chunk waiting in the queue, or being made: SQLite's
/// interrupt). Every co_await names a template parameter's type, so that none is compiled
/// in a program that includes asiolite without dumping (see pool.hpp).
template <class Begin, class Sink = dump_sink>
asio::awaitable<composed_outcome<void>> run_dump(Begin begin, Sink sink, dump_options o) {
  composed_outcome<void> out;
  if (!check_dump_options(o, out.f)) co_return out;
  co_await asio::this_coro::throw_if_cancelled(false);
  co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  const asio::cancellation_state cancel = co_await asio::this_coro::cancellation_state;
  std::optional<typename decltype(begin(asio::use_awaitable))::value_type> snapshot;
  try {
    snapshot.emplace(co_await begin(asio::use_awaitable));
  } catch (...) {
    out.f.set_current_exception();
    co_return out;
  }
  {
    const std::conditional_t<std::is_void_v<Begin>, void, dump_hold> hold(access::target(*snapshot),
                                                                          std::make_shared<dump_state>(o.database));
    try {
      for (;;) {
        if (cancel.cancelled() != asio::cancellation_type::none) {
          out.f.set(asio::error::operation_aborted, "cancelled between two chunks of the dump");
          break;
        }
        dump_chunk chunk = co_await start_request(hold.target(), dump_step_job(hold.state(), o.chunk_bytes), nullptr,
                                                  asio::use_awaitable);
        if (!chunk.text.empty()) {
          if (sink.call)
            sink.call(chunk.text);
          else
            co_await sink.await(chunk.text);
        }
        if (chunk.last) break;
      }
    } catch (...) {
      out.f.set_current_exception();
    }
  }
  try {
    co_await snapshot->async_rollback(asio::use_awaitable);
  } catch (...) {
  }
  co_return out;
}

template <class T>
struct is_dump_options : std::is_same<std::remove_cvref_t<T>, dump_options> {};

/// The initiating function of connection::async_dump and pool::async_dump, which differ
/// only in `begin` (see run_dump): the trailing [dump_options] [diagnostics&] [token].
template <class Begin, class Sink, class... Trailing>
auto start_dump(const asio::any_io_executor& ex, Begin begin, Sink&& sink, Trailing&&... trailing) {
  return split_trailing<is_dump_options, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        auto make = [begin = std::move(begin), s = make_dump_sink(std::forward<Sink>(sink)),
                     o = single_input(std::move(inputs), dump_options{})]() mutable {
          return run_dump(std::move(begin), std::move(s), std::move(o));
        };
        return start_composed<void, true>(ex, std::move(make), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite::detail
