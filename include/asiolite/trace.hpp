// Tracing the statements a connection runs, and a slow-query log (connection::async_trace,
// pool::async_trace; the subscription is in subscription.hpp).
#pragma once

#include <asiolite/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace asiolite {

/// One statement's run, reported when it ended: when its last step returned (done, or an
/// error), or when it was reset or finalized before that (a query read for one row, a
/// cursor closed early). A view, valid during the handler's call: copy what you keep.
struct statement_trace {
  /// The statement's text as prepared (one statement of a script).
  std::string_view sql;
  /// The text with the values bound to its parameters, when trace_options::expanded_sql
  /// asked for it; else empty.
  std::string_view expanded_sql;
  /// SQLite's error if its last step failed (asiolite::error_category(): a constraint,
  /// busy, interrupt for a cancellation or statement_timeout...); else none.
  error_code error;
  /// Rows it returned.
  std::uint64_t rows = 0;
  /// Rows it inserted, updated or deleted, with those of the triggers it fired; 0 for a
  /// statement that does not write.
  std::int64_t changes = 0;
  /// How long the request that ran it waited in the queue before it ran (each statement
  /// of a script or a group commit reports its request's wait). 0 for a statement that
  /// began before the trace, or a request submitted before it.
  std::chrono::nanoseconds queued{0};
  /// How long it ran: from its first step to its end, counting for a cursor only the
  /// requests that fetched its rows (not the time the program took between batches).
  std::chrono::nanoseconds running{0};
  /// Reports not delivered since the last one this subscriber got: it was more than
  /// trace_options::max_pending behind when they came.
  std::uint64_t events_lost = 0;
};

/// Settings of one trace (connection::async_trace, pool::async_trace).
struct trace_options {
  /// Statements that ran for less than this are not reported: a slow-query log. 0
  /// reports every statement. Compared with statement_trace::running, not the queue wait.
  std::chrono::nanoseconds threshold{0};

  /// Also report the SQL with its bound values (sqlite3_expanded_sql): one more copy of
  /// the text per report, and the values may be private.
  bool expanded_sql = false;

  /// How many reports may wait for the handler. One that comes while this many wait is
  /// not queued but counted (statement_trace::events_lost, subscription::events_lost):
  /// the worker never waits for a slow handler. At least 1 (0 fails the trace with
  /// errc::invalid_option).
  std::size_t max_pending = 4096;
};

}  // namespace asiolite
