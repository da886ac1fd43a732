// What each asynchronous statement request does on the worker (the job contract is in
// job.hpp), and the statement forms those jobs run.
#pragma once

#include <asiolite/detail/checks.hpp>
#include <asiolite/detail/database.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/kept_record.hpp>
#include <asiolite/detail/request.hpp>
#include <asiolite/migrations.hpp>
#include <asiolite/options.hpp>
#include <asiolite/results.hpp>
#include <asiolite/row.hpp>
#include <asiolite/subscription.hpp>
#include <asiolite/sync_handle.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace asiolite::detail {

// The statement forms: what one statement does with its rows, and what it delivers
// (execute, query, query_one, query_scalar; execute_many's is in execute_many.hpp). A
// statement_job runs one on SQL text, a prepared_job on a prepared statement. A form has
// a result_type and either run(), returning it on the worker, or run_kept() and take():
// it keeps what the worker read and makes the result on the caller's thread.

struct execute_form {
  using result_type = execute_result;
  static constexpr bool groupable = true;  // a write group commit may batch (request::groupable)
  template <class... P>
  static result_type run(database& s, statement_source sql, failure& f, const P&... p) {
    return s.execute(sql, f, p...);
  }
};

struct query_form {
  using result_type = rows;
  template <class... P>
  static result_type run(database& s, statement_source sql, failure& f, const P&... p) {
    return s.query(sql, f, p...);
  }
};

template <class T>
struct query_as_form {
  using result_type = std::vector<T>;
  template <class... P>
  static result_type run(database& s, statement_source sql, failure& f, const P&... p) {
    return s.template query_as<T>(sql, f, p...);
  }
};

// Where a one-row result waits between the worker and the caller: a row with text or
// blobs is kept in the request and made into T on the caller's thread (see kept_record);
// any other row is read into T on the worker, which allocates nothing.
template <class T>
struct one_row {
  using type = direct_row<T>;
};
template <keeps_views T>
struct one_row<T> {
  using type = kept_record<T>;
};

template <class T>
struct query_one_form {
  using result_type = std::optional<T>;
  using kept_type = typename one_row<T>::type;
  template <class... P>
  static void run_kept(database& s, statement_source sql, failure& f, kept_type& kept, const P&... p) {
    s.query_one_into(sql, f, kept, p...);
  }
  static result_type take(kept_type& kept, const failure& f) { return take_one_row(kept, f); }
};

template <class T>
struct query_scalar_form {
  using result_type = T;
  using kept_type = typename one_row<T>::type;
  template <class... P>
  static void run_kept(database& s, statement_source sql, failure& f, kept_type& kept, const P&... p) {
    s.template query_scalar_into<T>(sql, f, kept, p...);
  }
  static result_type take(kept_type& kept, const failure& f) { return take_one_row(kept, f).value_or(T{}); }
};

/// Where a statement job keeps its form's result from the worker to the caller: the
/// result itself, or what the form keeps to make it from on the caller's thread.
template <class Form>
class form_result {
 public:
  using result_type = typename Form::result_type;
  template <class... P>
  void run(database& s, statement_source sql, failure& f, const P&... p) {
    result_ = Form::run(s, sql, f, p...);
  }
  result_type take(const failure&) { return std::move(result_); }

 private:
  result_type result_{};
};

template <class Form>
requires requires { typename Form::kept_type; }
class form_result<Form> {
 public:
  using result_type = typename Form::result_type;
  template <class... P>
  void run(database& s, statement_source sql, failure& f, const P&... p) {
    Form::run_kept(s, sql, f, kept_, p...);
  }
  result_type take(const failure& f) { return Form::take(kept_, f); }

 private:
  typename Form::kept_type kept_;
};

/// What async_query<T> runs: rows as they come, or each row read into T.
template <class T>
using query_form_t = std::conditional_t<std::is_same_v<T, rows>, query_form, query_as_form<T>>;

/// The request's own copies of a statement's arguments.
template <class... Args>
std::tuple<stored_t<Args>...> store_all(std::tuple<Args...>&& args) {
  check_bindable<Args...>();
  return std::apply([](auto&&... a) { return std::tuple(store(std::forward<decltype(a)>(a))...); }, std::move(args));
}

/// One statement with its own copies of the SQL text and the arguments.
template <class Form, class... P>
class statement_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  static constexpr bool groupable = requires { Form::groupable; };
  using result_type = typename Form::result_type;

  statement_job(std::string sql, std::tuple<P...> params) : sql_(std::move(sql)), params_(std::move(params)) {}

  void operator()(database& s, failure& f) {
    std::apply([&](const P&... p) { outcome_.run(s, sql_, f, p...); }, params_);
  }
  result_type take_result(const failure& f) { return outcome_.take(f); }
  std::string_view sql() const noexcept { return sql_; }

 private:
  std::string sql_;
  std::tuple<P...> params_;
  form_result<Form> outcome_;
};

class script_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = void;

  explicit script_job(std::string sql) : sql_(std::move(sql)) {}
  void operator()(database& s, failure& f) { s.execute_script(sql_, f); }
  std::string_view sql() const noexcept { return sql_; }

 private:
  std::string sql_;
};

/// Reads one sqlite3_limit category, or sets it (value >= 0): the value it had.
class limit_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = int;

  limit_job(limit category, std::optional<int> value) noexcept : category_(category), value_(value) {}
  void operator()(database& s, failure& f) {
    if (check_limit(category_, value_, value_ ? "the new limit" : "the limit", f))
      previous_ = exchange_limit(s.native(), category_, value_.value_or(-1));
  }
  int take_result() noexcept { return previous_; }
  std::string_view sql() const noexcept { return {}; }

 private:
  limit category_;
  std::optional<int> value_;  // unset: read only
  int previous_ = 0;
};

/// Adds a subscriber to the connection's hooks, of transactions or of WAL commits;
/// completes with its subscription (connection::async_watch_transactions, async_watch_wal).
template <class Record>
class watch_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = subscription;

  explicit watch_job(std::shared_ptr<subscriber<Record>> s) noexcept : subscriber_(std::move(s)) {}
  watch_job(watch_job&&) noexcept = default;
  watch_job& operator=(watch_job&&) = delete;
  ~watch_job() {
    // Subscribed but never handed over (the completion was dropped): nobody could end it.
    if (subscriber_) subscriber_->stop();
  }

  void operator()(database& s, failure& f) {
    if (!check_watch_options(watch_options{subscriber_->max_pending()}, f)) return;
    if constexpr (std::is_same_v<Record, wal_record>)
      s.hooks().watch_wal(subscriber_);
    else
      s.hooks().subscribe(subscriber_);
  }
  subscription take_result(const failure& f) noexcept {
    if (f) return {};
    return subscription(std::move(subscriber_));
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  std::shared_ptr<subscriber<Record>> subscriber_;
};

/// Brings the schema up to the newest of a list of migrations (connection::async_migrate):
/// each in its own IMMEDIATE transaction, which reads user_version again once it holds
/// the write lock, so that two connections (or processes) migrating at once apply each
/// migration once: the second waits for the first, then finds the work done.
class migrate_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = migrate_result;

  explicit migrate_job(std::vector<migration> list) noexcept : list_(std::move(list)) {}

  void operator()(database& s, failure& f) {
    if (!numbered(f)) return;
    const auto newest = static_cast<long long>(list_.size());
    for (bool first = true;; first = false) {
      if (!s.execute_script("BEGIN IMMEDIATE", f)) return;
      const long long v = s.query_scalar<std::int64_t>("PRAGMA user_version", f);
      if (first) result_.from_version = v;
      result_.to_version = v;
      if (!f && (v < 0 || v > newest)) {
        f.set(v < 0 ? make_error_code(errc::invalid_option) : make_error_code(errc::newer_schema),
              "the database's user_version is " + std::to_string(v) + ", " +
                  (v < 0 ? std::string("not a migration's number")
                         : "above the newest migration given (" + std::to_string(newest) + ")") +
                  ": the database was left as it was");
      }
      if (f || v == newest) {
        s.roll_back_own_transaction();  // nothing written
        return;
      }
      const migration& m = list_[static_cast<std::size_t>(v)];
      run(s, m, f);
      if (!f) s.execute_script("PRAGMA user_version = " + std::to_string(m.version), f);
      if (!f) s.execute_script("COMMIT", f);
      if (f) {
        s.roll_back_own_transaction();
        f.message = "migration " + std::to_string(m.version) + " failed, the database stays at version " +
                    std::to_string(v) + ": " + f.message;
        return;
      }
      result_.to_version = m.version;
    }
  }
  migrate_result take_result() noexcept { return result_; }
  std::string_view sql() const noexcept { return {}; }

 private:
  // The list runs 1, 2, 3...: a gap, a number twice, or disorder is the program's mistake.
  bool numbered(failure& f) const {
    for (std::size_t i = 0; i < list_.size(); ++i) {
      const long long want = static_cast<long long>(i) + 1, got = list_[i].version;
      if (got == want) continue;
      const std::string why = i > 0 && got == list_[i - 1].version ? "is there twice"
                              : got > want ? "comes where " + std::to_string(want) + " is missing"
                                           : "is out of order";
      f.set(errc::invalid_option, "the migrations must be numbered 1, 2, 3... in order: version " +
                                      std::to_string(got) + " (at index " + std::to_string(i) + ") " + why);
      return false;
    }
    return true;
  }

  static void run(database& s, const migration& m, failure& f) {
    if (!m.apply) {
      if (!m.sql.empty()) s.execute_script(m.sql, f);
      return;
    }
    try {
      sync_handle handle(s);
      m.apply(handle);
    } catch (...) {
      f.set_current_exception();
    }
  }

  std::vector<migration> list_;
  migrate_result result_;
};

/// A WAL checkpoint of the main database (connection::async_checkpoint). SQLITE_BUSY (a
/// full, restart or truncate checkpoint that could not finish for a reader or writer)
/// is a failure: the operation reports a cancellation or the statement timeout instead
/// when one stopped the wait.
class checkpoint_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = checkpoint_result;

  explicit checkpoint_job(checkpoint_mode mode) noexcept : mode_(mode) {}
  void operator()(database& s, failure& f) {
    const int m = static_cast<int>(mode_);
    if (m < 0 || mode_ > checkpoint_mode::truncate) {
      f.set(errc::invalid_option, "the checkpoint mode " + std::to_string(m) + " is outside checkpoint_mode (0 to 3)");
      return;
    }
    static constexpr int modes[] = {SQLITE_CHECKPOINT_PASSIVE, SQLITE_CHECKPOINT_FULL, SQLITE_CHECKPOINT_RESTART,
                                    SQLITE_CHECKPOINT_TRUNCATE};
    const int rc =
        sqlite3_wal_checkpoint_v2(s.native(), "main", modes[m], &result_.log_frames, &result_.checkpointed_frames);
    if (rc == SQLITE_BUSY)
      f.set(make_sqlite_error_code(rc), "the checkpoint could not finish: a reader or a writer held the log");
    else if (rc != SQLITE_OK)
      f.set(make_sqlite_error_code(rc), sqlite3_errmsg(s.native()));
  }
  checkpoint_result take_result() noexcept { return result_; }
  std::string_view sql() const noexcept { return {}; }

 private:
  checkpoint_mode mode_;
  checkpoint_result result_;
};

/// Subscribes a trace to this connection's statements (connection::async_trace), handing
/// the subscription over; or, for a pool's trace (Hands = false), feeds one more
/// connection to a subscription the pool's operation holds.
template <bool Hands = true>
class trace_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = std::conditional_t<Hands, subscription, void>;

  trace_job(std::shared_ptr<trace_subscriber> s, const trace_options& o) noexcept
      : subscriber_(std::move(s)), options_(o) {}
  trace_job(trace_job&&) noexcept = default;
  trace_job& operator=(trace_job&&) = delete;
  ~trace_job() {
    // Subscribed but never handed over (the completion was dropped): nobody could end it.
    if constexpr (Hands) {
      if (subscriber_) subscriber_->stop();
    }
  }

  void operator()(database& s, failure& f) {
    if (check_trace_options(options_, f)) s.hooks().trace(subscriber_, options_);
  }
  subscription take_result(const failure& f) noexcept requires Hands {
    if (f) return {};
    return subscription(std::move(subscriber_));
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  std::shared_ptr<trace_subscriber> subscriber_;
  trace_options options_;
};

/// Runs user code on the worker: fn(sync_handle&).
template <class Fn>
class call_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  // A reference into the worker's data would dangle: the result is a copy.
  using result_type = std::remove_cvref_t<std::invoke_result_t<Fn&, sync_handle&>>;
  // Asio passes a value with every completion, failed ones too (as co_spawn does).
  static_assert(std::is_void_v<result_type> || std::is_default_constructible_v<result_type>,
                "asiolite: async_call's callable must return void or a default-constructible type");

  explicit call_job(Fn fn) : fn_(std::move(fn)) {}

  void operator()(database& s, failure&) {
    sync_handle handle(s);
    if constexpr (std::is_void_v<result_type>)
      fn_(handle);
    else
      result_.emplace(fn_(handle));
  }
  result_type take_result() {
    if constexpr (!std::is_void_v<result_type>) return result_ ? std::move(*result_) : result_type{};
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  struct nothing {};
  Fn fn_;
  [[no_unique_address]] std::conditional_t<std::is_void_v<result_type>, nothing, std::optional<result_type>> result_;
};

class open_job {
 public:
  static constexpr request_kind kind = request_kind::open;
  using result_type = void;

  open_job(std::string path, options opts) : path_(std::move(path)), options_(std::move(opts)) {}

  void operator()(database& s, failure& f) {
    if (!s.open(path_, options_, f) || !options_.on_open) return;
    try {
      sync_handle handle(s);
      options_.on_open(handle);
    } catch (...) {
      f.set_current_exception();
      s.close();
    }
  }
  std::string_view sql() const noexcept { return {}; }

 private:
  std::string path_;
  options options_;
};

/// An open that also delivers the connection it opened (closed again if it failed).
template <class Connection>
class open_new_job : public open_job {
 public:
  using result_type = Connection;

  open_new_job(std::string path, options opts, Connection conn)
      : open_job(std::move(path), std::move(opts)), conn_(std::move(conn)) {}
  Connection take_result() { return std::move(conn_); }

 private:
  Connection conn_;
};

class close_job {
 public:
  static constexpr request_kind kind = request_kind::close;
  using result_type = void;

  void operator()(database& s, failure&) noexcept { s.close(); }
  std::string_view sql() const noexcept { return {}; }
};

}  // namespace asiolite::detail
