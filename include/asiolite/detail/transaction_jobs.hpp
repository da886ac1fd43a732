// What transaction and savepoint requests do on the worker (see the job contract in
// job.hpp). The jobs that deliver a transaction or a savepoint make it in
// impl/transaction.hpp and impl/savepoint.hpp, once those classes are complete.
#pragma once

#include <asiolite/detail/database.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/request.hpp>
#include <asiolite/detail/transaction_state.hpp>
#include <asiolite/sync_handle.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace asiolite {
class transaction;
class savepoint;
}  // namespace asiolite

namespace asiolite::detail {

/// BEGIN; on success, delivers the transaction whose lease now holds the connection.
class begin_job {
 public:
  static constexpr request_kind kind = request_kind::begin;
  using result_type = transaction;

  begin_job(const char* sql, asio::any_io_executor ex, std::shared_ptr<connection_impl> impl)
      : sql_(sql),
        ex_(std::move(ex)),
        impl_(std::move(impl)),
        state_(std::make_shared<transaction_state>(next_lease_id())) {}

  std::shared_ptr<lease_state> lease_to_begin() const { return state_->lease; }

  void operator()(database& s, failure& f) {
    s.execute(sql_, f);
    begun_ = !f;
  }
  result_type take_result();  // impl/transaction.hpp
  std::string_view sql() const noexcept { return sql_; }

 private:
  const char* sql_;
  asio::any_io_executor ex_;
  std::shared_ptr<connection_impl> impl_;
  std::shared_ptr<transaction_state> state_;
  bool begun_ = false;
};

/// COMMIT (a statement: fails on an ended transaction) or ROLLBACK (nothing to do then).
/// Once started it runs to its end: interrupting it would leave the outcome unclear.
template <request_kind Kind>
class end_job {
 public:
  static constexpr request_kind kind = Kind;
  static constexpr bool interruptible = false;
  using result_type = void;

  void operator()(database& s, failure& f) { s.execute(sql(), f); }
  std::string_view sql() const noexcept { return Kind == request_kind::rollback ? "ROLLBACK" : "COMMIT"; }
};
using commit_job = end_job<request_kind::statement>;
using rollback_job = end_job<request_kind::rollback>;

/// SAVEPOINT name; delivers the savepoint.
class savepoint_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = savepoint;

  savepoint_job(asio::any_io_executor ex, std::shared_ptr<connection_impl> impl, transaction_state& tx)
      : ex_(std::move(ex)),
        impl_(std::move(impl)),
        state_(std::make_shared<savepoint_state>(
            tx.lease, "asiolite_sp_" + std::to_string(tx.savepoints.fetch_add(1, std::memory_order_relaxed) + 1))),
        sql_("SAVEPOINT " + state_->name) {}

  void operator()(database& s, failure& f) {
    s.execute(sql_, f);
    made_ = !f;
  }
  result_type take_result();  // impl/savepoint.hpp
  std::string_view sql() const noexcept { return sql_; }

 private:
  asio::any_io_executor ex_;
  std::shared_ptr<connection_impl> impl_;
  std::shared_ptr<savepoint_state> state_;
  std::string sql_;
  bool made_ = false;
};

/// RELEASE, or ROLLBACK TO + RELEASE: ends a savepoint.
class savepoint_end_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = void;

  // `state` is null for an empty savepoint handle, whose request fails before it runs.
  savepoint_end_job(std::shared_ptr<savepoint_state> state, bool undo)
      : state_(std::move(state)),
        sql_(!state_ ? std::string()
             : undo  ? "ROLLBACK TO " + state_->name + "; RELEASE " + state_->name
                     : "RELEASE " + state_->name) {}

  void operator()(database& s, failure& f) {
    if (state_ && s.execute_script(sql_, f)) state_->ended.store(true, std::memory_order_release);
  }
  std::string_view sql() const noexcept { return sql_; }

 private:
  std::shared_ptr<savepoint_state> state_;
  std::string sql_;
};

/// BEGIN, fn(sync_handle&), COMMIT in one request; ROLLBACK if fn throws or COMMIT fails.
template <class Fn>
class call_in_transaction_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = std::remove_cvref_t<std::invoke_result_t<Fn&, sync_handle&>>;
  static_assert(std::is_void_v<result_type> || std::is_default_constructible_v<result_type>,
                "asiolite: the callable must return void or a default-constructible type");

  call_in_transaction_job(Fn fn, const char* begin) : fn_(std::move(fn)), begin_(begin) {}

  void operator()(database& s, failure& f) {
    if (!s.execute_script(begin_, f)) return;
    try {
      sync_handle handle(s);
      if constexpr (std::is_void_v<result_type>)
        fn_(handle);
      else
        result_.emplace(fn_(handle));
    } catch (...) {
      roll_back(s);
      throw;
    }
    if (!s.execute_script("COMMIT", f)) roll_back(s);
  }
  result_type take_result() {
    if constexpr (!std::is_void_v<result_type>) return result_ ? std::move(*result_) : result_type{};
  }
  std::string_view sql() const noexcept { return begin_; }

 private:
  // The failure that got us here is the one to report.
  static void roll_back(database& s) noexcept { s.roll_back_own_transaction(); }

  struct nothing {};
  Fn fn_;
  const char* begin_;
  [[no_unique_address]] std::conditional_t<std::is_void_v<result_type>, nothing, std::optional<result_type>> result_;
};

}  // namespace asiolite::detail
