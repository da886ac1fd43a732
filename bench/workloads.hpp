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
std::uint64_t insert_tx(const run_context& c, meter& m);               // W1
std::uint64_t insert_many(const run_context& c, meter& m);             // W2: W1's loop, in a file of its own
std::uint64_t point_select(const run_context& c, meter& m);            // W3 (and W4: one thread)
std::uint64_t scan_all(const run_context& c, meter& m);                // W5a
std::uint64_t scan_stream(const run_context& c, meter& m);             // W5b
std::uint64_t autocommit_insert(const run_context& c, meter& m);       // W6
std::uint64_t autocommit_insert_full(const run_context& c, meter& m);  // W6c: W6 with synchronous=FULL, ids given
std::uint64_t point_select_2_threads(const run_context& c,
                                     meter& m);                 // W8a: W3's selects on 2 threads, a connection each
std::uint64_t scalar_function(const run_context& c, meter& m);  // W9: sqlite3_create_function_v2
std::uint64_t backup(const run_context& c, meter& m);           // W11: sqlite3_backup_step, 256 pages a step
std::uint64_t blob_read(const run_context& c, meter& m);        // W11: sqlite3_blob_read, 64 KiB at a time
std::uint64_t blob_write(const run_context& c, meter& m);       // W11: sqlite3_blob_write, 64 KiB at a time
}  // namespace bench::raw

namespace bench::lite {
// asiolite from coroutines on an io_context run by the benchmark thread.
std::uint64_t insert_tx(const run_context& c, meter& m);                  // W1
std::uint64_t insert_many(const run_context& c, meter& m);                // W2
std::uint64_t point_select(const run_context& c, meter& m);               // W3
std::uint64_t point_select_concurrent(const run_context& c, meter& m);    // W4
std::uint64_t point_select_traced(const run_context& c, meter& m);        // W10: W3 with a slow-query log on
std::uint64_t point_select_fully_traced(const run_context& c, meter& m);  // W10: W3 with every statement traced
std::uint64_t point_select_untraced(const run_context& c, meter& m);      // W10: W3, placed as the asiolite side
std::uint64_t insert_tx_unwatched(const run_context& c, meter& m);        // W10: W1, on a database of its own
std::uint64_t insert_tx_watched(const run_context& c, meter& m);          // W10: W1 with a watch
std::uint64_t scan_all(const run_context& c, meter& m);                   // W5a
std::uint64_t scan_stream(const run_context& c, meter& m);                // W5b
std::uint64_t autocommit_insert(const run_context& c, meter& m);          // W6
std::uint64_t hop(const run_context& c, meter& m);                        // W7, sequential
std::uint64_t hop_concurrent(const run_context& c, meter& m);             // W7, c.cfg.clients coroutines
std::uint64_t hop_among_idle(const run_context& c, meter& m);  // W7, sequential, c.cfg.idle_connections open and idle
std::uint64_t group_commit(const run_context& c, meter& m);  // W6c: W6's inserts from c.cfg.clients coroutines, grouped
std::uint64_t pool_read_1(const run_context& c, meter& m);   // W8a: W4's selects on a pool of 1 reader
std::uint64_t pool_read_2(const run_context& c, meter& m);   // W8a: ... 2 readers
std::uint64_t pool_read_4(const run_context& c, meter& m);   // W8a: ... 4 readers
std::uint64_t reads_writer_idle(const run_context& c, meter& m);  // W8b's baseline: W3's selects on a pool, writer idle
std::uint64_t reads_writer_busy(const run_context& c,
                                meter& m);  // W8b: the same while the writer runs W1-style transactions
std::uint64_t scalar_function(const run_context& c, meter& m);       // W9: async_create_function
std::uint64_t backup(const run_context& c, meter& m);                // W11: async_backup
std::uint64_t blob_read(const run_context& c, meter& m);             // W11: asio::async_read_at on a blob_handle
std::uint64_t blob_write(const run_context& c, meter& m);            // W11: asio::async_write_at on a blob_handle
std::uint64_t select_during_backup(const run_context& c, meter& m);  // W11: point selects while a backup runs

/// CPU time the worker threads of `count` idle connections use together: in the
/// `window` right after their last requests completed (their spins before they park
/// included), and in the next one.
struct idle_cpu {
  std::size_t connections = 0;
  double first_us = 0;
  double next_us = 0;
};
idle_cpu measure_idle(const std::filesystem::path& dir, std::size_t count, std::chrono::milliseconds window);
}  // namespace bench::lite
