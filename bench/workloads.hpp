// The two sides of each benchmark workload. Each function runs one side once and
// returns its checksum; only the part the workload measures runs between m.start() and
// m.stop() (opening connections, preparing files and computing table checksums do not).
#pragma once

#include "harness.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>

namespace bench::raw {
// The SQLite C API on the benchmark thread, statements prepared once and reused.
std::uint64_t insert_tx(const run_context& c, meter& m);          // W1
std::uint64_t insert_many(const run_context& c, meter& m);        // W2: W1's loop, in a file of its own
std::uint64_t point_select(const run_context& c, meter& m);       // W3 (and W4: one thread)
std::uint64_t scan_all(const run_context& c, meter& m);           // W5a
std::uint64_t scan_stream(const run_context& c, meter& m);        // W5b
std::uint64_t autocommit_insert(const run_context& c, meter& m);  // W6
}  // namespace bench::raw

namespace bench::lite {
// asiolite from coroutines on an io_context run by the benchmark thread.
std::uint64_t insert_tx(const run_context& c, meter& m);                // W1
std::uint64_t insert_many(const run_context& c, meter& m);              // W2
std::uint64_t point_select(const run_context& c, meter& m);             // W3
std::uint64_t point_select_concurrent(const run_context& c, meter& m);  // W4
std::uint64_t scan_all(const run_context& c, meter& m);                 // W5a
std::uint64_t scan_stream(const run_context& c, meter& m);              // W5b
std::uint64_t autocommit_insert(const run_context& c, meter& m);        // W6
std::uint64_t hop(const run_context& c, meter& m);                      // W7, sequential
std::uint64_t hop_concurrent(const run_context& c, meter& m);           // W7, c.cfg.clients coroutines

/// CPU time the worker thread of an idle connection uses: in the `window` right after
/// its last request completed (its spin before it parks included), and in the next one.
struct idle_cpu {
  double first_us;
  double next_us;
};
idle_cpu measure_idle_worker(const std::filesystem::path& dir, std::chrono::milliseconds window);
}  // namespace bench::lite
