// What a connection is doing and has done (connection::stats, and each connection of
// pool::stats).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace asiolite {

/// A connection's load and what it has done, from connection::stats: a snapshot. The
/// counts add up from the connection's making (across closes and opens) and include the
/// library's own requests (a dropped transaction's ROLLBACK, an open, a close).
struct connection_stats {
  std::size_t queued = 0;  ///< requests waiting in its queue (a transaction's included)
  bool running = false;    ///< a request runs on its worker now

  std::uint64_t completed = 0;  ///< requests the worker ran that succeeded
  std::uint64_t failed = 0;     ///< requests the worker ran (or could not run) that failed
  /// Requests a cancellation ended: taken out of the queue, or stopped while running.
  std::uint64_t cancelled = 0;
  std::uint64_t statement_cache_hits = 0;    ///< statements found prepared in the cache
  std::uint64_t statement_cache_misses = 0;  ///< statements the cache had to prepare
  /// With options::measure_time (else 0): how long the requests the worker ran waited,
  /// from submission to their start, and how long they ran; summed.
  std::chrono::nanoseconds time_queued{0};
  std::chrono::nanoseconds time_running{0};
};

}  // namespace asiolite
