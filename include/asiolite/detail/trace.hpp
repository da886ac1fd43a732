// The statement trace's worker side (connection::async_trace): each run of a statement,
// timed and counted as it steps, reported to the subscribers when it ends.
//
// A run begins at its first step through the tracer (every step on the worker goes through
// database::step) and ends when a step returns anything but a row, or, earlier, when the
// statement is reset or finalized: SQLite tells that with SQLITE_TRACE_PROFILE, which
// hook_hub installs while something is traced. (SQLite's own profile time is counted in
// milliseconds on Unix, so the tracer keeps its own.) The clock runs from the run's first
// step in a request to the end of that request or of the run: two clock reads per
// statement per request, none per row.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/detail/event_queue.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/sqlite.hpp>
#include <asiolite/error.hpp>
#include <asiolite/trace.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace asiolite::detail {

/// One statement's run as the worker reported it: shared by the queues of the subscribers
/// that get the same text.
struct trace_record {
  using event_type = statement_trace;

  std::string sql;
  std::string expanded_sql;
  error_code error;
  std::uint64_t rows = 0;
  std::int64_t changes = 0;
  std::chrono::nanoseconds queued{0};
  std::chrono::nanoseconds running{0};

  std::size_t weight() const noexcept { return 1; }
  statement_trace event(std::uint64_t lost_before) const noexcept {
    return {sql, expanded_sql, error, rows, changes, queued, running, lost_before};
  }
};

using trace_subscriber = subscriber<trace_record>;

/// A trace keeps at least one report pending (trace_options::max_pending).
inline bool check_trace_options(const trace_options& o, failure& f) {
  if (o.max_pending >= 1 && o.threshold >= std::chrono::nanoseconds::zero()) return true;
  f.set(errc::invalid_option, o.max_pending == 0 ? "trace_options::max_pending is 0: a trace keeps at least one report"
                                                 : "trace_options::threshold is negative");
  return false;
}

/// The handler's subscriber, delivering on the handler's associated executor, else on `ex`.
template <class Handler>
std::shared_ptr<trace_subscriber> make_trace_subscriber(const asio::any_io_executor& ex, Handler h,
                                                        const trace_options& o) {
  static_assert(std::is_invocable_v<Handler&, const statement_trace&>,
                "asiolite: a trace handler is called as handler(const asiolite::statement_trace&)");
  return make_subscriber<trace_record>(ex, std::move(h), o.max_pending);
}

/// Worker thread only.
class statement_tracer {
 public:
  using clock = std::chrono::steady_clock;

  explicit statement_tracer(sqlite3* db) noexcept : db_(db) {}
  statement_tracer(const statement_tracer&) = delete;
  statement_tracer& operator=(const statement_tracer&) = delete;

  bool active() const noexcept { return !subscribers_.empty(); }

  /// Adds a subscriber, reporting the runs that begin from now on.
  void subscribe(std::shared_ptr<trace_subscriber> s, const trace_options& o);

  /// The request about to run waited this long in the queue (0: not measured).
  void request_began(std::chrono::nanoseconds waited) noexcept { waited_ = waited; }

  /// sqlite3_step, counted.
  int step(sqlite3_stmt* stmt) noexcept;

  /// SQLITE_TRACE_PROFILE: `stmt` was reset or finalized, or its last step ended.
  void ended(sqlite3_stmt* stmt) noexcept;

  /// After each request: the clocks of the runs still open stop until their next step;
  /// unsubscribed subscribers go. Returns whether the tracer went inactive.
  bool after_request() noexcept;

  /// The handle closes: every subscriber ends.
  void close() noexcept;

 private:
  struct run {
    sqlite3_stmt* stmt = nullptr;
    clock::time_point since{};  // its clock runs since then; unset: stopped
    std::chrono::nanoseconds running{0};
    std::uint64_t rows = 0;
    std::int64_t changes_before = 0;
    std::chrono::nanoseconds queued{0};
  };
  struct subscribed {
    std::shared_ptr<trace_subscriber> s;
    std::chrono::nanoseconds threshold{0};
    bool expanded_sql = false;
  };

  static constexpr std::size_t none = static_cast<std::size_t>(-1);
  // Runs kept at most: statements open at once (nested in user functions, cursors). A
  // run SQLite never said ended (it cannot happen) would otherwise stay for ever.
  static constexpr std::size_t most_runs = 64;

  std::size_t find(sqlite3_stmt* stmt) const noexcept {
    for (std::size_t i = live_.size(); i-- > 0;)
      if (live_[i].stmt == stmt) return i;
    return none;
  }
  static std::string_view statement_text(sqlite3_stmt* stmt) noexcept;
  void finish(std::size_t i, int rc) noexcept;
  bool drop_stopped() noexcept;

  sqlite3* db_;
  std::vector<run> live_;
  std::vector<subscribed> subscribers_;
  std::chrono::nanoseconds least_threshold_{0};
  std::chrono::nanoseconds waited_{0};
  sqlite3_stmt* stepping_ = nullptr;  // the statement the tracer steps now (innermost)
};

}  // namespace asiolite::detail

#ifndef ASIOLITE_SEPARATE_COMPILATION
#  include <asiolite/detail/impl/trace.ipp>
#endif
