// asiolite_bench: the workloads of the README's Performance section, through asiolite
// and through the raw SQLite C API, in the same process and the same run, on the same
// data. Prints a markdown table (and, with --json, the same as JSON); exits non-zero if
// the checksums differ.
#include "harness.hpp"
#include "kv.hpp"
#include "report.hpp"
#include "workloads.hpp"

#include <stdlib.h>  // mkdtemp

#include <algorithm>
#include <charconv>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bench {

std::size_t n_ops(const config& c) { return c.n; }
std::size_t commit_ops(const config& c) { return c.commits; }
std::size_t blob_ops(const config& c) { return blob_chunks(c.n); }
std::size_t backup_step_ops(const config& c) { return selects_beside_backup_count(c.n); }

// One line per workload. A workload whose API does not exist yet has lite = nullptr and
// says what it needs; adding it is writing its lite function and naming it here.
std::vector<workload> all_workloads() {
  using enum target_kind;
  // clang-format off
  return {
      {"W1", "insert_tx", "insert", n_ops, raw::insert_tx, lite::insert_tx, {}, ratio, 3.0},
      {"W2", "insert_many", "row", n_ops, raw::insert_many, lite::insert_many, {}, ratio, 1.1},
      {"W3", "point_select", "select", n_ops, raw::point_select, lite::point_select, {}, ratio, 2.0},
      {"W4", "point_select_concurrent", "select", n_ops, raw::point_select, lite::point_select_concurrent, {}, ratio, 1.2},
      {"W5a", "scan_all", "row", n_ops, raw::scan_all, lite::scan_all, {}, ratio, 1.2},
      {"W5b", "scan_stream", "row", n_ops, raw::scan_stream, lite::scan_stream, {}, ratio, 1.5},
      {"W6", "autocommit_insert", "insert", commit_ops, raw::autocommit_insert, lite::autocommit_insert, {}, ratio, 1.3},
      {"W7", "hop", "hop", n_ops, nullptr, lite::hop, {}, absolute_us, 5.0},
      {"W7", "hop_concurrent", "hop", n_ops, nullptr, lite::hop_concurrent, {}, absolute_us, 5.0},
      {"W7", "hop_among_idle", "hop", n_ops, nullptr, lite::hop_among_idle, {}, absolute_us, 5.0, true},
      {"W8a", "pool_read_1_reader", "select", n_ops, raw::point_select, lite::pool_read_1, {}, ratio, 1.25},
      {"W8a", "pool_read_2_readers", "select", n_ops, raw::point_select_2_threads, lite::pool_read_2, {}, ratio, 1.25},
      {"W8a", "pool_read_4_readers", "select", n_ops, raw::point_select_2_threads, lite::pool_read_4, {}, ratio, 1.25},
      {"W8b", "reads_during_writes", "select", n_ops, lite::reads_writer_idle, lite::reads_writer_busy, {}, ratio, 1.5},
      {"W6c", "group_commit", "insert", commit_ops, raw::autocommit_insert_full, lite::group_commit, {}, ratio, 0.1},
      {"W9", "scalar_function", "call", n_ops, raw::scalar_function, lite::scalar_function, {}, ratio, 1.3},
      {"W10", "point_select_traced", "select", n_ops, lite::point_select_untraced, lite::point_select_traced, {}, ratio, 1.1},
      {"W10", "point_select_fully_traced", "select", n_ops, lite::point_select_untraced, lite::point_select_fully_traced, {}, ratio, 1.5},
      {"W10", "insert_tx_watched", "insert", n_ops, lite::insert_tx_unwatched, lite::insert_tx_watched, {}, ratio, 1.3},
      {"W11", "backup", "page", n_ops, raw::backup, lite::backup, {}, ratio, 1.1},
      {"W11", "blob_read", "64 KiB", blob_ops, raw::blob_read, lite::blob_read, {}, ratio, 1.5},
      {"W11", "blob_write", "64 KiB", blob_ops, raw::blob_write, lite::blob_write, {}, ratio, 1.5},
      {"W11", "select_during_backup", "select", backup_step_ops, nullptr, lite::select_during_backup, {}, absolute_us, 5000.0},
  };
  // clang-format on
}

namespace {

const char* const usage =
    "usage: asiolite_bench [--n N] [--runs R] [--json FILE] [--only W1,W3,...] [--clients C]\n"
    "                      [--commits K] [--idle-ms MS] [--idle-connections K] [--dir DIR] [--keep]\n"
    "                      [--no-pin] [--busy]\n"
    "  --n N         rows, selects and hops per workload (default 50000)\n"
    "  --runs R      repetitions; the table shows median, min and max (default 5)\n"
    "  --json FILE   also write the results as JSON\n"
    "  --only IDS    run only these workloads (comma-separated ids)\n"
    "  --clients C   coroutines sharing the connection in W4 and W7 (default 64)\n"
    "  --commits K   W6's autocommit inserts (default 2000)\n"
    "  --idle-ms MS  the idle workers' measuring window (default 1000)\n"
    "  --idle-connections K\n"
    "                connections left idle during W7 hop_among_idle, and measured idle\n"
    "                together (default 100)\n"
    "  --dir DIR     where to make each run's temporary directory (default: the system's)\n"
    "  --keep        keep the temporary directories\n"
    "  --no-pin      leave the threads where the scheduler puts them (default: the thread\n"
    "                that runs SQLite on the same CPU on both sides; see the README)\n"
    "  --busy        measure on a busy machine: one spinning thread per CPU, in a child\n"
    "                process, from before the first run to after the last\n";

template <class T>
T number(std::string_view flag, const char* text, T min) {
  T v{};
  const char* end = text + std::strlen(text);
  const auto r = std::from_chars(text, end, v);
  if (r.ec != std::errc() || r.ptr != end || v < min)
    throw std::invalid_argument(std::string(flag) + ": expected a number >= " + std::to_string(min) + ", got '" + text +
                                "'");
  return v;
}

config parse(int argc, char** argv) {
  config c;
  c.parent = std::filesystem::temp_directory_path();
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      std::exit(0);
    }
    if (a == "--keep") {
      c.keep = true;
      continue;
    }
    if (a == "--no-pin") {
      c.pin = false;
      continue;
    }
    if (a == "--busy") {
      c.busy = true;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(std::string(a) + ": missing value, or unknown flag");
    const char* v = argv[++i];
    if (a == "--n")
      c.n = number<std::size_t>(a, v, 1);
    else if (a == "--runs")
      c.runs = number<int>(a, v, 1);
    else if (a == "--json")
      c.json_path = v;
    else if (a == "--clients")
      c.clients = number<int>(a, v, 1);
    else if (a == "--commits")
      c.commits = number<std::size_t>(a, v, 1);
    else if (a == "--idle-ms")
      c.idle = std::chrono::milliseconds(number<int>(a, v, 1));
    else if (a == "--idle-connections")
      c.idle_connections = number<std::size_t>(a, v, 1);
    else if (a == "--dir")
      c.parent = v;
    else if (a == "--only") {
      for (std::string_view rest = v; !rest.empty();) {
        const auto comma = rest.find(',');
        c.only.emplace_back(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
    } else
      throw std::invalid_argument("unknown flag " + std::string(a));
  }
  return c;
}

bool selected(const config& c, const workload& w) {
  if (c.only.empty()) return true;
  for (const std::string& id : c.only)
    if (id == w.id) return true;
  return false;
}

// A fresh temporary directory, removed when this goes out of scope (unless --keep).
class temp_dir {
 public:
  temp_dir(const std::filesystem::path& parent, bool keep) : keep_(keep) {
    std::string name = (parent / "asiolite-bench-XXXXXX").string();
    if (!mkdtemp(name.data())) throw std::runtime_error("cannot make a temporary directory in " + parent.string());
    path_ = name;
  }
  ~temp_dir() {
    std::error_code ec;
    if (!keep_) std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  bool keep_;
};

// Runs every selected workload whose after_the_rest is `after_the_rest` once, both sides,
// in an order that alternates with the run so neither side always goes first.
bool run_once(int run, bool after_the_rest, const config& cfg, const std::vector<std::int64_t>& ids,
              std::vector<workload_result>& results) {
  temp_dir dir(cfg.parent, cfg.keep);
  const run_context ctx{cfg, dir.path(), dir.path() / "read.db", ids, placement_for_run(cfg, run)};
  populate_kv(ctx.read_db, cfg.n);
  bool ok = true;
  for (workload_result& r : results) {
    if (r.w.after_the_rest != after_the_rest) continue;
    std::cerr << ' ' << r.w.id << std::flush;
    std::uint64_t raw_sum = r.ops;  // what a workload without a raw side must return
    std::uint64_t lite_sum = 0;
    meter raw_meter, lite_meter;
    const auto run_raw = [&] {
      pinned_scope here(ctx.where.sqlite_cpu);
      if (r.w.raw) raw_sum = r.w.raw(ctx, raw_meter);
    };
    const auto run_lite = [&] {
      pinned_scope here(ctx.where.caller_cpu);  // the worker pins itself (see lite_db)
      lite_sum = r.w.lite(ctx, lite_meter);
    };
    if (run % 2 == 0) {
      run_raw();
      run_lite();
    } else {
      run_lite();
      run_raw();
    }
    if (r.w.raw) {
      r.raw.add(raw_meter, r.ops);
      r.ratios.push_back(lite_meter.wall_us() / raw_meter.wall_us());
    }
    r.lite.add(lite_meter, r.ops);
    if (run == 0) r.checksum = raw_sum;
    if (lite_sum != raw_sum || raw_sum != r.checksum) {
      r.checksums_match = false;
      ok = false;
      std::cerr << "\nchecksum mismatch in " << r.w.id << " " << r.w.name << ", run " << run + 1 << ": "
                << (r.w.raw ? "raw " : "expected ") << std::hex << raw_sum << ", asiolite " << lite_sum
                << ", first run " << r.checksum << std::dec << "\n";
    }
  }
  return ok;
}

int run_benchmark(const config& cfg) {
  // First, while this is the only thread (the load is forked). Its destructor kills and
  // reaps it on every early way out: an exception, an error.
  background_load load;
  if (cfg.busy) load.start();
  report rep{cfg, describe_machine(cfg.parent), {}, {}, {}, {}, {}, {}, {}, true};
  for (workload w : all_workloads()) {
    if (!selected(cfg, w)) continue;
    // On a busy machine every target is busy_target_factor times its idle-machine value.
    if (cfg.busy) w.target_value *= busy_target_factor;
    if (w.lite)
      rep.results.push_back({w, w.ops(cfg), {}, {}, {}, 0, true});
    else
      rep.unavailable.push_back(w);
  }
  const std::vector<std::int64_t> ids = point_ids(cfg.n);
  for (int run = 0; run < cfg.runs; ++run) {
    // The floors, placed as this run's workloads (and as busy).
    std::cerr << "run " << run + 1 << "/" << cfg.runs << ": floors" << std::flush;
    const std::size_t rounds = std::min<std::size_t>(cfg.n, 10'000);
    const placement where = placement_for_run(cfg, run);
    rep.wakeup.push_back(wakeup_round_trip(rounds, where));
    rep.asio_hop.push_back(asio_hop_round_trip(rounds, where));
    rep.ok = run_once(run, false, cfg, ids, rep.results) && rep.ok;
    std::cerr << "\n";
  }
  const auto after_the_rest = [](const workload_result& r) { return r.w.after_the_rest; };
  if (std::ranges::any_of(rep.results, after_the_rest)) {
    for (int run = 0; run < cfg.runs; ++run) {
      std::cerr << "run " << run + 1 << "/" << cfg.runs << ", after the rest:" << std::flush;
      rep.ok = run_once(run, true, cfg, ids, rep.results) && rep.ok;
      std::cerr << "\n";
    }
  }
  // After the last run (the idle workers below are measured without the load).
  // stop() throws unless the load's process reported and was reaped.
  if (cfg.busy) rep.load = load.stop();
  {
    std::cerr << "idle workers: 1, then " << cfg.idle_connections << ", 2 x " << cfg.idle.count() << " ms each\n";
    temp_dir one(cfg.parent, cfg.keep), many(cfg.parent, cfg.keep);
    rep.idle_one = lite::measure_idle(one.path(), 1, cfg.idle);
    rep.idle_many = lite::measure_idle(many.path(), cfg.idle_connections, cfg.idle);
  }
  write_markdown(std::cout, rep);
  if (!cfg.json_path.empty()) {
    std::ofstream json(cfg.json_path);
    write_json(json, rep);
    if (!json) throw std::runtime_error("cannot write " + cfg.json_path);
  }
  return rep.ok ? 0 : 1;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  bench::config cfg;
  try {
    cfg = bench::parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "asiolite_bench: " << e.what() << "\n" << bench::usage;
    return 2;
  }
  try {
    return bench::run_benchmark(cfg);
  } catch (const std::exception& e) {
    std::cerr << "\nasiolite_bench: " << e.what() << "\n";
    return 1;
  }
}
