// Out-of-line bodies of pool.hpp.
// Functions that depend on no template argument are defined in impl/pool.ipp (see
// config.hpp, ASIOLITE_DECL).
#pragma once

#include <asiolite/detail/access.hpp>
#include <asiolite/detail/backup.hpp>
#include <asiolite/detail/composed.hpp>
#include <asiolite/detail/dump.hpp>
#include <asiolite/detail/image_jobs.hpp>
#include <asiolite/detail/pool_core.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/detail/transaction_state.hpp>

#include <optional>
#include <string>
#include <utility>

namespace asiolite {

namespace detail {

/// A read transaction's BEGIN: routed like a read, it holds the reader it is routed to
/// until its lease ends (reader_hold), and takes the snapshot at once by reading the
/// schema, so that the transaction sees the database as it was when it began.
class read_begin_job {
 public:
  static constexpr request_kind kind = request_kind::begin;
  static constexpr bool holds_reader = true;
  using result_type = read_transaction;

  explicit read_begin_job(asio::any_io_executor ex)
      : ex_(std::move(ex)), state_(std::make_shared<transaction_state>(next_lease_id())) {}

  void bind_reader(const request_target& reader) { impl_ = reader.impl; }
  void take_hold(std::shared_ptr<reader_hold> hold) noexcept { state_->lease->on_end = std::move(hold); }
  std::shared_ptr<lease_state> lease_to_begin() const { return state_->lease; }

  void operator()(database& s, failure& f) {
    begun_ = s.execute_script(sql(), f);
    if (!begun_ && s.in_transaction()) {
      failure ignored;  // the failure that got us here is the one to report
      s.execute_script("ROLLBACK", ignored);
    }
  }

  result_type take_result() {
    if (!begun_) return access::construct<read_transaction>(access::construct<transaction>(ex_, nullptr, nullptr));
    return access::construct<read_transaction>(access::construct<transaction>(ex_, impl_, state_));
  }

  std::string_view sql() const noexcept { return "BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema"; }

 private:
  asio::any_io_executor ex_;
  std::shared_ptr<connection_impl> impl_;
  std::shared_ptr<transaction_state> state_;
  bool begun_ = false;
};

/// A database no second connection can see: the pool then has no readers.
inline bool private_to_one_connection(std::string_view path, const options& o) noexcept {
  return o.in_memory || path.empty() || path == ":memory:" || path.find("mode=memory") != std::string_view::npos;
}

}  // namespace detail

template <class... Trailing>
auto pool::async_open(const executor_type& ex, std::string_view path, Trailing&&... trailing) {
  return detail::split_trailing<is_pool_options_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        pool_options po = detail::single_input(std::move(inputs), pool_options{});
        // The coroutine is a function, not a lambda: its frame holds its arguments, while
        // a lambda's captures would die with the closure before it ends.
        auto make = [p = std::make_shared<pool>(ex), path = std::string(path), po = std::move(po)]() mutable {
          return open_new(std::move(*p), std::move(path), std::move(po));
        };
        return detail::start_composed<pool>(ex, std::move(make), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class>
asio::awaitable<detail::composed_outcome<pool>> pool::open_new(pool p, std::string path, pool_options po) {
  detail::composed_outcome<void> opened = co_await open_all(p.core_, p.members_, std::move(path), std::move(po));
  detail::composed_outcome<pool> out;
  out.f = std::move(opened.f);
  out.value = std::move(p);
  co_return out;
}

template <class... Trailing>
auto pool::async_open(std::string_view path, Trailing&&... trailing) {
  return detail::split_trailing<is_pool_options_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        pool_options po = detail::single_input(std::move(inputs), pool_options{});
        auto make = [core = core_, m = members_, path = std::string(path), po = std::move(po)]() mutable {
          return open_all(std::move(core), std::move(m), std::move(path), std::move(po));
        };
        return detail::start_composed<void>(ex_, std::move(make), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto pool::async_close(Trailing&&... trailing) {
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        auto make = [core = core_, m = members_]() mutable { return close_all(std::move(core), std::move(m)); };
        return detail::start_composed<void>(ex_, std::move(make), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto pool::async_begin_read(Trailing&&... trailing) {
  return detail::async_request(request_target(), detail::read_begin_job(ex_), std::forward<Trailing>(trailing)...);
}

template <class Handler, class... Trailing>
auto pool::async_trace(Handler handler, Trailing&&... trailing) {
  return detail::split_trailing<is_trace_options_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        const trace_options o = detail::single_input(std::move(inputs), trace_options{});
        auto make = [m = members_, s = detail::make_trace_subscriber(ex_, std::move(handler), o), o]() mutable {
          return trace_all(std::move(m), std::move(s), o);
        };
        return detail::start_composed<subscription>(ex_, std::move(make), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto pool::async_backup(std::string_view path, Trailing&&... trailing) {
  return detail::split_trailing<is_backup_options_input, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        backup_options o = detail::single_input(std::move(inputs), backup_options{});
        auto make = [core = core_, ex = ex_, p = std::string(path), o = std::move(o)]() mutable {
          return backup_read(std::move(core), std::move(ex), std::move(p), std::move(o));
        };
        return detail::start_composed<void, true>(ex_, std::move(make), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto pool::async_serialize(Trailing&&... trailing) {
  return detail::async_request<detail::is_database_name>(
      request_target(), [](auto&& inputs) { return detail::serialize_job(detail::database_named(std::move(inputs))); },
      std::forward<Trailing>(trailing)...);
}

template <class Sink, class... Trailing>
auto pool::async_dump(Sink&& sink, Trailing&&... trailing) {
  auto begin = [core = core_, ex = ex_](auto how) {
    return detail::start_request(detail::pool_target_view{core, ex}, detail::read_begin_job(ex), nullptr, how);
  };
  return detail::start_dump(ex_, std::move(begin), std::forward<Sink>(sink), std::forward<Trailing>(trailing)...);
}

template <class Begin>
asio::awaitable<detail::composed_outcome<void>> pool::backup_read(std::shared_ptr<detail::pool_core> core,
                                                                  executor_type ex, std::string path,
                                                                  backup_options o) {
  detail::composed_outcome<void> out;
  if (!core) {
    out.f.set(errc::closed, "the pool is empty (moved from, or never constructed with an executor)");
    co_return out;
  }
  std::optional<typename Begin::result_type> snapshot;  // a read_transaction, named through Begin (pool.hpp says why)
  try {
    const detail::pool_target_view target{core, ex};
    snapshot.emplace(co_await detail::start_request(target, Begin(ex), nullptr, asio::use_awaitable));
  } catch (...) {
    out.f.set_current_exception();
    co_return out;
  }
  auto reader = detail::request_target(detail::access::target(*snapshot));  // dependent: see pool.hpp
  std::shared_ptr<detail::backup_run> own_run;                              // named: see run_backup_lent
  out = co_await detail::run_backup(std::move(reader), std::move(path), std::move(o), std::move(own_run));
  try {
    co_await snapshot->async_rollback(asio::use_awaitable);
  } catch (...) {
  }
  co_return out;
}

template <class Fn, class... Trailing>
auto pool::async_call_on_each(Fn fn, Trailing&&... trailing) {
  static_assert(std::is_invocable_v<Fn&, sync_handle&>,
                "asiolite: async_call_on_each calls fn(asiolite::sync_handle&)");
  return detail::split_trailing<detail::no_input, default_token_t>(
      [&](auto&&, diagnostics* diag, auto&& token) {
        auto make = [m = members_, f = std::make_shared<Fn>(std::move(fn))]() mutable {
          // One call at a time, each on its worker: fn is shared, never copied.
          auto job = [f] { return detail::call_job([f](sync_handle& h) { (void)(*f)(h); }); };
          return on_each(std::move(m), std::move(job));
        };
        return detail::start_composed<void>(ex_, std::move(make), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class MakeJob>
asio::awaitable<detail::composed_outcome<void>> pool::on_each(std::shared_ptr<members> m, MakeJob make) {
  detail::composed_outcome<void> out;
  std::vector<detail::request_target> targets;
  if (m) {
    std::lock_guard lock(m->mutex);
    if (m->state == members::phase::open) {
      targets.push_back(detail::access::target(m->writer));
      for (const connection& r : m->readers) targets.push_back(detail::access::target(r));
    }
  }
  if (targets.empty()) out.f.set(errc::closed, "the pool is not open");
  for (std::size_t i = 0; i < targets.size() && !out.f; ++i) {
    try {
      co_await detail::start_request(targets[i], make(), nullptr, asio::use_awaitable);
    } catch (...) {
      out.f.set_current_exception();
      const std::string which = i == 0 ? "the pool's writer: " : "the pool's reader " + std::to_string(i) + ": ";
      out.f.message = which + out.f.message;
    }
  }
  co_return out;
}

template <class>
asio::awaitable<detail::composed_outcome<subscription>> pool::trace_all(std::shared_ptr<members> m,
                                                                        std::shared_ptr<detail::trace_subscriber> s,
                                                                        trace_options o) {
  subscription whole(s);  // ends the trace on every connection if it fails on one
  detail::composed_outcome<void> fed = co_await on_each(std::move(m), [&] { return detail::trace_job<false>(s, o); });
  detail::composed_outcome<subscription> out;
  out.f = std::move(fed.f);
  if (!out.f) out.value = std::move(whole);
  co_return out;
}

template <class Connection>
asio::awaitable<detail::composed_outcome<void>> pool::open_all(std::shared_ptr<detail::pool_core> core,
                                                               std::shared_ptr<members> m, std::string path,
                                                               pool_options po) {
  detail::composed_outcome<void> out;
  if (!core || !m) {
    out.f.set(errc::closed, "the pool is empty (moved from, or never constructed with an executor)");
    co_return out;
  }
  {
    std::lock_guard lock(m->mutex);
    if (m->state != members::phase::closed) {
      out.f.set(errc::already_open, "the pool is already open, opening or closing");
      co_return out;
    }
    m->state = members::phase::opening;
  }
  const bool alone = detail::private_to_one_connection(path, po.connection);
  options writer_opts = po.connection;
  if (!alone) {
    if (po.readers == 0)
      out.f.set(errc::misuse, "pool_options::readers is 0: a pool of a file database needs at least one reader");
    else if (writer_opts.mode == open_mode::read_only)
      out.f.set(errc::misuse, "a pool's writer writes: open_mode::read_only cannot open a pool (open a connection)");
    else if (writer_opts.journal && *writer_opts.journal != journal_mode::wal)
      out.f.set(errc::misuse, "a pool needs WAL: options::journal must be unset or journal_mode::wal");
    writer_opts.journal = journal_mode::wal;
  }
  Connection& writer = m->writer;
  std::vector<Connection> readers;
  if (!out.f) {
    try {
      co_await writer.async_open(path, writer_opts, asio::use_awaitable);
    } catch (...) {
      out.f.set_current_exception();
      out.f.exception = nullptr;  // the message below names the connection
      out.f.message = "the pool's writer: " + out.f.message;
      if (!alone && out.f.message.find("journal_mode") != std::string::npos)
        out.f.message += " (a pool needs WAL: its readers read beside the writer)";
    }
  }
  if (!out.f && !alone) {
    options reader_opts = po.connection;
    reader_opts.mode = open_mode::read_only;
    reader_opts.journal.reset();
    reader_opts.group_commit = 0;  // readers do not write
    for (std::size_t i = 0; i < po.readers && !out.f; ++i) {
      Connection reader(core->executor());
      try {
        co_await reader.async_open(path, reader_opts, asio::use_awaitable);
        readers.push_back(std::move(reader));
      } catch (...) {
        out.f.set_current_exception();
        out.f.exception = nullptr;
        out.f.message = "the pool's reader " + std::to_string(i + 1) + ": " + out.f.message;
      }
    }
  }
  bool closed_meanwhile = false;
  if (!out.f) {
    std::vector<std::shared_ptr<detail::connection_impl>> routes;
    // The readers' spinners keep off each other's CPUs.
    auto cpus = std::make_shared<detail::worker_cpus>(readers.size());
    for (std::size_t i = 0; i < readers.size(); ++i) detail::access::target(readers[i]).impl->join_cpus(cpus, i);
    if (alone) {
      routes.push_back(detail::access::target(m->writer).impl);
    } else {
      for (const Connection& r : readers) routes.push_back(detail::access::target(r).impl);
    }
    std::lock_guard lock(m->mutex);
    if (m->state == members::phase::opening) {
      core->open(std::move(routes), po.connection.queue_timeout);
      m->reader_count.store(readers.size());
      m->readers = std::move(readers);
      m->state = members::phase::open;
    } else {
      closed_meanwhile = true;
    }
  }
  if (out.f || closed_meanwhile) {
    // Close what was opened; the open's failure is the outcome.
    for (Connection& r : readers) {
      try {
        co_await r.async_close(asio::use_awaitable);
      } catch (...) {
      }
    }
    try {
      co_await writer.async_close(asio::use_awaitable);
    } catch (...) {
    }
    std::lock_guard lock(m->mutex);
    if (m->state == members::phase::opening) m->state = members::phase::closed;
    if (closed_meanwhile && !out.f) out.f.set(errc::closed, "the pool was closed while it opened");
  }
  co_return out;
}

template <class Connection>
asio::awaitable<detail::composed_outcome<void>> pool::close_all(std::shared_ptr<detail::pool_core> core,
                                                                std::shared_ptr<members> m) {
  detail::composed_outcome<void> out;
  if (!core || !m) co_return out;  // an empty pool: nothing to close
  Connection& writer = m->writer;
  std::vector<Connection> readers;
  {
    std::lock_guard lock(m->mutex);
    readers = std::move(m->readers);
    m->readers.clear();
    m->reader_count.store(0);
    if (m->state != members::phase::closed) m->state = members::phase::closing;
  }
  core->close();
  // Readers first: the last connection to a WAL database (the writer) checkpoints it.
  for (Connection& r : readers) {
    try {
      co_await r.async_close(asio::use_awaitable);
    } catch (...) {
      if (!out.f) out.f.set_current_exception();
    }
  }
  try {
    co_await writer.async_close(asio::use_awaitable);
  } catch (...) {
    if (!out.f) out.f.set_current_exception();
  }
  std::lock_guard lock(m->mutex);
  if (m->state == members::phase::closing) m->state = members::phase::closed;
  co_return out;
}

}  // namespace asiolite

#ifndef ASIOLITE_SEPARATE_COMPILATION
#  include <asiolite/impl/pool.ipp>
#endif
