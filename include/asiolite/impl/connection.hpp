// Out-of-line template bodies of connection.hpp.
#pragma once

#include <asiolite/detail/backup.hpp>
#include <asiolite/detail/dump.hpp>
#include <asiolite/detail/image_jobs.hpp>
#include <asiolite/detail/jobs.hpp>
#include <asiolite/detail/request_target.hpp>
#include <asiolite/detail/transaction_jobs.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <type_traits>

namespace asiolite {

template <class... Trailing>
auto connection::async_open(const executor_type& ex, std::string_view path, Trailing&&... trailing) {
  connection conn(ex);
  const detail::request_target target = detail::access::target(conn);  // its own: conn moves
  return detail::async_request<is_options_input>(
      target,
      [&](auto&& inputs) {
        options opts = detail::single_input(std::move(inputs), options{});
        target.impl->set_spin_wait(opts.spin_wait);
        target.impl->set_group_commit(opts.group_commit);
        target.impl->set_measure_time(opts.measure_time);
        target.impl->deadline().set_timeout(opts.queue_timeout);
        return detail::open_new_job<connection>(std::string(path), std::move(opts), std::move(conn));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_open(std::string_view path, Trailing&&... trailing) {
  return detail::async_request<is_options_input>(
      request_target(),
      [&](auto&& inputs) {
        options opts = detail::single_input(std::move(inputs), options{});
        if (impl_) {
          impl_->set_spin_wait(opts.spin_wait);
          impl_->set_group_commit(opts.group_commit);
          impl_->set_measure_time(opts.measure_time);
          impl_->deadline().set_timeout(opts.queue_timeout);
        }
        return detail::open_job(std::string(path), std::move(opts));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_close(Trailing&&... trailing) {
  return detail::async_request(request_target(), detail::close_job{}, std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_begin(Trailing&&... trailing) {
  return detail::async_request<is_begin_mode>(
      request_target(),
      [&](auto&& inputs) {
        const begin_mode mode = detail::single_input(std::move(inputs), begin_mode::immediate);
        return detail::begin_job(detail::begin_sql(mode), ex_, impl_);
      },
      std::forward<Trailing>(trailing)...);
}

namespace detail {
template <class Body>
using body_result_t = typename std::invoke_result_t<Body&, transaction&>::value_type;
}  // namespace detail

template <class Body>
auto connection::async_transaction(Body body, transaction_options opts) {
  using result_type = detail::body_result_t<Body>;
  // db is `auto&` and every awaited type comes from it, so that nothing here is
  // instantiated unless used: g++ compiles every coroutine it instantiates (see pool.hpp).
  return [](auto& db, Body tx_body, transaction_options tx_opts) -> asio::awaitable<result_type> {
    using timer_type =
        asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                   typename std::remove_cvref_t<decltype(db)>::executor_type>;
    auto backoff = tx_opts.first_backoff;
    for (unsigned attempt = 1;; ++attempt) {
      std::exception_ptr failure;
      bool busy = false;
      try {
        auto tx = co_await db.async_begin(tx_opts.mode);
        if constexpr (std::is_void_v<result_type>) {
          co_await tx_body(tx);
          co_await tx.async_commit();
          co_return;
        } else {
          result_type result = co_await tx_body(tx);
          co_await tx.async_commit();
          co_return result;
        }
      } catch (const sqlite_error& e) {
        busy = e.code() == errc::busy;
        failure = std::current_exception();
      } catch (...) {
        failure = std::current_exception();
      }
      // The transaction, destroyed above, has queued its ROLLBACK: it runs before any
      // later request on this connection, the next BEGIN included.
      if (!busy || attempt >= tx_opts.max_attempts) std::rethrow_exception(failure);
      timer_type timer(co_await asio::this_coro::executor, backoff);
      co_await timer.async_wait(asio::use_awaitable);
      backoff = std::min(backoff * 2, tx_opts.max_backoff);
    }
  }(*this, std::move(body), opts);
}

template <class Fn, class... Trailing>
auto connection::async_call_in_transaction(Fn&& fn, Trailing&&... trailing) {
  static_assert(std::is_invocable_v<std::decay_t<Fn>&, sync_handle&>,
                "asiolite: async_call_in_transaction needs a callable taking asiolite::sync_handle&");
  return detail::async_request<is_begin_mode>(
      request_target(),
      [&](auto&& inputs) {
        const begin_mode mode = detail::single_input(std::move(inputs), begin_mode::immediate);
        return detail::call_in_transaction_job<std::decay_t<Fn>>(std::forward<Fn>(fn), detail::begin_sql(mode));
      },
      std::forward<Trailing>(trailing)...);
}

template <auto Create, class What, class... Trailing>
auto connection::function_registration(std::string_view name, What what, Trailing&&... trailing) {
  return detail::async_request<is_function_flags>(
      request_target(),
      [&](auto&& inputs) {
        const function_flags flags = detail::single_input(std::move(inputs), function_flags::none);
        return detail::registration_job(
            [n = std::string(name), w = std::move(what), flags](sqlite3* db, detail::failure& out) mutable {
              Create(db, n, std::move(w), flags, out);
            });
      },
      std::forward<Trailing>(trailing)...);
}

template <class Fn, class... Trailing>
auto connection::async_create_function(std::string_view name, Fn fn, Trailing&&... trailing) {
  detail::check_function<Fn>();
  return function_registration<&detail::create_function<Fn>>(name, std::move(fn), std::forward<Trailing>(trailing)...);
}

template <class Factory, class... Trailing>
auto connection::async_create_aggregate(std::string_view name, Factory make, Trailing&&... trailing) {
  detail::check_aggregate<Factory>();
  return function_registration<&detail::create_aggregate<Factory>>(name, std::move(make),
                                                                   std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_remove_function(std::string_view name, int arg_count, Trailing&&... trailing) {
  return on_worker([n = std::string(name), arg_count](
                       sqlite3* db, detail::failure& out) { detail::remove_function(db, n, arg_count, out); },
                   std::forward<Trailing>(trailing)...);
}

template <class Cmp, class... Trailing>
auto connection::async_create_collation(std::string_view name, Cmp cmp, Trailing&&... trailing) {
  detail::check_collation<Cmp>();
  return on_worker(
      [n = std::string(name), c = std::move(cmp)](sqlite3* db, detail::failure& out) mutable {
        detail::create_collation(db, n, std::move(c), out);
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_remove_collation(std::string_view name, Trailing&&... trailing) {
  return on_worker([n = std::string(name)](sqlite3* db, detail::failure& out) { detail::remove_collation(db, n, out); },
                   std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_load_extension(std::string_view path, Trailing&&... trailing) {
  return on_worker(
      [p = std::string(path)](sqlite3* db, detail::failure& out) { detail::load_extension(db, p, {}, out); },
      std::forward<Trailing>(trailing)...);
}

template <class Handler, class... Trailing>
auto connection::async_watch_transactions(Handler handler, Trailing&&... trailing) {
  return detail::async_request<is_watch_options>(
      request_target(),
      [&](auto&& inputs) {
        const watch_options o = detail::single_input(std::move(inputs), watch_options{});
        return detail::watch_job(detail::make_transaction_subscriber(ex_, std::move(handler), o));
      },
      std::forward<Trailing>(trailing)...);
}

template <class Handler, class... Trailing>
auto connection::async_watch_wal(Handler handler, Trailing&&... trailing) {
  return detail::async_request<is_watch_options>(
      request_target(),
      [&](auto&& inputs) {
        const watch_options o = detail::single_input(std::move(inputs), watch_options{});
        return detail::watch_job(detail::make_wal_subscriber(ex_, std::move(handler), o));
      },
      std::forward<Trailing>(trailing)...);
}

template <class Handler, class... Trailing>
auto connection::async_trace(Handler handler, Trailing&&... trailing) {
  return detail::async_request<is_trace_options>(
      request_target(),
      [&](auto&& inputs) {
        const trace_options o = detail::single_input(std::move(inputs), trace_options{});
        return detail::trace_job<>(detail::make_trace_subscriber(ex_, std::move(handler), o), o);
      },
      std::forward<Trailing>(trailing)...);
}

template <class Fn, class... Trailing>
auto connection::async_set_commit_filter_on_worker(Fn fn, Trailing&&... trailing) {
  return on_worker([f = detail::make_worker_predicate(std::move(fn))](
                       detail::database& s, detail::failure&) mutable { s.hooks().set_commit_filter(std::move(f)); },
                   std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_clear_commit_filter_on_worker(Trailing&&... trailing) {
  return on_worker([](detail::database& s, detail::failure&) { s.hooks().set_commit_filter(nullptr); },
                   std::forward<Trailing>(trailing)...);
}

template <class Fn, class... Trailing>
auto connection::async_set_progress_handler_on_worker(int every, Fn fn, Trailing&&... trailing) {
  return on_worker(
      [every, f = detail::make_worker_predicate(std::move(fn))](detail::database& s, detail::failure& out) mutable {
        if (detail::check_progress_interval(every, out)) s.set_progress_handler(every, std::move(f));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_clear_progress_handler_on_worker(Trailing&&... trailing) {
  return on_worker([](detail::database& s, detail::failure&) { s.set_progress_handler(0, nullptr); },
                   std::forward<Trailing>(trailing)...);
}

template <class Fn, class... Trailing>
auto connection::async_set_authorizer_on_worker(Fn fn, Trailing&&... trailing) {
  return on_worker([a = detail::make_authorizer(std::move(fn))](
                       detail::database& s, detail::failure&) mutable { s.hooks().set_authorizer(std::move(a)); },
                   std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_clear_authorizer_on_worker(Trailing&&... trailing) {
  return on_worker([](detail::database& s, detail::failure&) { s.hooks().set_authorizer(nullptr); },
                   std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_get_limit(limit category, Trailing&&... trailing) {
  return detail::async_request(request_target(), detail::limit_job(category, std::nullopt),
                               std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_backup(std::string_view path, Trailing&&... trailing) {
  return detail::split_trailing<is_backup_options, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        backup_options o = detail::single_input(std::move(inputs), backup_options{});
        auto make = [t = detail::request_target(request_target()), p = std::string(path), o = std::move(o)]() mutable {
          return detail::run_backup(std::move(t), std::move(p), std::move(o), nullptr);
        };
        return detail::start_composed<void, true>(ex_, std::move(make), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_backup(connection& dest, Trailing&&... trailing) {
  return detail::split_trailing<is_backup_options, default_token_t>(
      [&](auto&& inputs, diagnostics* diag, auto&& token) {
        backup_options o = detail::single_input(std::move(inputs), backup_options{});
        auto make = [t = detail::request_target(request_target()), d = detail::request_target(dest.request_target()),
                     o = std::move(o)]() mutable {
          return detail::run_backup_to(std::move(t), std::move(d), std::move(o));
        };
        return detail::start_composed<void, true>(ex_, std::move(make), diag, std::forward<decltype(token)>(token));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_restore(std::string_view path, Trailing&&... trailing) {
  return detail::async_request<is_backup_options>(
      request_target(),
      [&](auto&& inputs) {
        return detail::restore_job(std::string(path), detail::single_input(std::move(inputs), backup_options{}));
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_open_blob(std::string_view table, std::string_view column, std::int64_t rowid,
                                 Trailing&&... trailing) {
  return detail::async_request<is_blob_options>(
      request_target(),
      [&](auto&& inputs) {
        blob_options o = detail::single_input(std::move(inputs), blob_options{});
        return detail::open_blob_job(request_target(), std::move(o.database), std::string(table), std::string(column),
                                     rowid, o.writable);
      },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_serialize(Trailing&&... trailing) {
  return detail::async_request<detail::is_database_name>(
      request_target(), [](auto&& inputs) { return detail::serialize_job(detail::database_named(std::move(inputs))); },
      std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_deserialize(std::span<const std::byte> bytes, Trailing&&... trailing) {
  return detail::async_request<detail::is_database_name>(
      request_target(),
      [&](auto&& inputs) { return detail::deserialize_job(detail::database_named(std::move(inputs)), bytes); },
      std::forward<Trailing>(trailing)...);
}

template <class Sink, class... Trailing>
auto connection::async_dump(Sink&& sink, Trailing&&... trailing) {
  // The read transaction: DEFERRED, its snapshot taken by the first chunk's read.
  auto begin = [impl = impl_, ex = ex_](auto how) {
    return detail::start_request(detail::request_target_view{impl, ex, 0},
                                 detail::begin_job(detail::begin_sql(begin_mode::deferred), ex, impl), nullptr, how);
  };
  return detail::start_dump(ex_, std::move(begin), std::forward<Sink>(sink), std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_migrate(std::vector<migration> list, Trailing&&... trailing) {
  return detail::async_request(request_target(), detail::migrate_job(std::move(list)),
                               std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_checkpoint(checkpoint_mode mode, Trailing&&... trailing) {
  return detail::async_request(request_target(), detail::checkpoint_job(mode), std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto connection::async_set_limit(limit category, int value, Trailing&&... trailing) {
  return detail::async_request(request_target(), detail::limit_job(category, value),
                               std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
