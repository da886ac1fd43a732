// The results of a benchmark run, and the two ways they are written: a markdown table
// (ready for the README) and JSON.
#pragma once

#include "harness.hpp"
#include "workloads.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace bench {

/// One side's measurements, one entry per run.
struct side_result {
  std::vector<double> us_per_op;
  std::vector<double> cpu_us_per_op;
  std::vector<double> news_per_op;
  std::vector<double> mallocs_per_op;
  std::vector<double> minor_faults;  // in the timed section, per run (not per op)

  void add(const meter& m, std::size_t ops);
};

struct workload_result {
  workload w;
  std::size_t ops = 0;
  side_result raw;  // empty when w.raw is nullptr
  side_result lite;
  std::vector<double> ratios;  // asiolite ÷ raw, per run
  std::uint64_t checksum = 0;
  bool checksums_match = true;

  bool met() const;
};

struct machine_info {
  std::string cpu;
  unsigned cores = 0;
  std::string kernel;
  std::string compiler;
  std::string build;
  std::string sqlite;
  std::string asio;
  std::string filesystem;  // of the directory the databases are in
  std::string date;        // UTC
};

machine_info describe_machine(const std::filesystem::path& dir);

struct report {
  const config& cfg;
  machine_info machine;
  std::vector<workload_result> results;
  std::vector<workload> unavailable;
  std::vector<round_trip> wakeup;    // wakeup_round_trip, per run
  std::vector<round_trip> asio_hop;  // asio_hop_round_trip, per run
  std::optional<load_totals> load;   // with --busy
  lite::idle_cpu idle_one{};   // one connection
  lite::idle_cpu idle_many{};  // cfg.idle_connections of them
  bool ok = true;
};

void write_markdown(std::ostream& out, const report& r);
void write_json(std::ostream& out, const report& r);

}  // namespace bench
