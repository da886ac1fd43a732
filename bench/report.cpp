#include "report.hpp"

#include <sqlite3.h>
#include <asio/version.hpp>

#include <sys/statfs.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <ostream>
#include <thread>

#ifndef ASIOLITE_BENCH_BUILD_TYPE
#  define ASIOLITE_BENCH_BUILD_TYPE ""
#endif

namespace bench {
namespace {

struct summary {
  double median = 0, min = 0, max = 0;
};

summary summarize(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return {v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2, v.front(), v.back()};
}

template <class... Args>
std::string format(const char* fmt, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// Three significant digits, more for sub-microsecond times.
std::string us(double v) {
  if (v >= 100) return format("%.0f", v);
  if (v >= 10) return format("%.1f", v);
  if (v >= 1) return format("%.2f", v);
  return format("%.3f", v);
}

std::string count(double v) {
  if (std::fabs(v - std::round(v)) < 0.005) return format("%.0f", v);
  return format("%.2f", v);
}

std::string with_range(const summary& s, std::string (*f)(double), const char* unit = "") {
  return f(s.median) + unit + " (" + f(s.min) + "–" + f(s.max) + unit + ")";
}

std::string ratio(double v) { return format("%.2f", v); }

std::string target_text(const workload& w) {
  if (w.target == target_kind::ratio) {
    const bool tenths = std::round(w.target_value * 10) == w.target_value * 10;  // 1.95 under --busy
    return "≤ " + format(tenths ? "%.1f" : "%.2f", w.target_value) + "×";
  }
  return "≤ " + format("%g", w.target_value) + " µs";
}

std::string read_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown CPU";
}

std::string filesystem_of(const std::filesystem::path& dir) {
  struct statfs fs {};
  if (statfs(dir.c_str(), &fs) != 0) return "unknown filesystem";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x01021994:
      return "tmpfs";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x794C7630:
      return "overlayfs";
    default:
      return format("filesystem 0x%lx", static_cast<unsigned long>(fs.f_type));
  }
}

std::string escape_json(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += format("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out;
}

// Appended piece by piece: g++ 12 warns (-Wrestrict, a false positive) on "\"" + s + "\"".
std::string json_string(std::string_view s) {
  std::string out = "\"";
  out += escape_json(s);
  out += '"';
  return out;
}

std::string json_number(double v) { return std::isfinite(v) ? format("%.6g", v) : "null"; }

std::string json_array(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_number(v[i]);
  return out + "]";
}

std::string json_summary(const std::vector<double>& v) {
  const summary s = summarize(v);
  return "{\"median\": " + json_number(s.median) + ", \"min\": " + json_number(s.min) +
         ", \"max\": " + json_number(s.max) + ", \"runs\": " + json_array(v) + "}";
}

// One column of a floor's runs: its wall or its CPU µs.
std::vector<double> column(const std::vector<round_trip>& v, double round_trip::*field) {
  std::vector<double> out;
  for (const round_trip& t : v) out.push_back(t.*field);
  return out;
}

std::string floor_text(const std::vector<round_trip>& v) {
  return with_range(summarize(column(v, &round_trip::wall_us)), us) + " µs per round trip, " +
         with_range(summarize(column(v, &round_trip::cpu_us)), us) + " µs of the process's CPU";
}

std::string floor_json(const std::vector<round_trip>& v) {
  return "{\"wall_us\": " + json_summary(column(v, &round_trip::wall_us)) +
         ", \"cpu_us\": " + json_summary(column(v, &round_trip::cpu_us)) + "}";
}

void write_side_json(std::ostream& out, const side_result& s, bool mallocs) {
  out << "{\"us_per_op\": " << json_summary(s.us_per_op) << ", \"cpu_us_per_op\": " << json_summary(s.cpu_us_per_op)
      << ", \"news_per_op\": " << json_number(summarize(s.news_per_op).median)
      << ", \"mallocs_per_op\": " << (mallocs ? json_number(summarize(s.mallocs_per_op).median) : "null")
      << ", \"minor_faults_per_run\": " << json_summary(s.minor_faults) << "}";
}

}  // namespace

void side_result::add(const meter& m, std::size_t ops) {
  const auto n = static_cast<double>(ops);
  us_per_op.push_back(m.wall_us() / n);
  cpu_us_per_op.push_back(m.cpu_us() / n);
  news_per_op.push_back(static_cast<double>(m.allocs().news) / n);
  mallocs_per_op.push_back(static_cast<double>(m.allocs().mallocs) / n);
  minor_faults.push_back(static_cast<double>(m.minor_faults()));
}

bool workload_result::met() const {
  // Judged on the value as the table prints it (two decimals): a reader must not see
  // "1.20×, target ≤ 1.2×, not met".
  const double v = w.target == target_kind::ratio ? summarize(ratios).median : summarize(lite.us_per_op).median;
  return std::round(v * 100) / 100 <= w.target_value;
}

// Where the runs put their threads (see bench::placement).
std::string placement_text(const config& cfg) {
  const placement first = placement_for_run(cfg, 0);
  if (first.sqlite_cpu < 0)
    return cfg.pin ? "Threads: not pinned (fewer than two CPUs to use)." : "Threads: not pinned (--no-pin).";
  const placement second = placement_for_run(cfg, 1);
  return format("Threads: SQLite runs on the same CPU on both sides (the raw side's thread, asiolite's worker), "
                "asiolite's caller on another: CPUs %d and %d in odd runs, %d and %d in even runs.",
                first.sqlite_cpu, first.caller_cpu, second.sqlite_cpu, second.caller_cpu);
}

machine_info describe_machine(const std::filesystem::path& dir) {
  machine_info m;
  m.cpu = read_cpu_model();
  m.cores = std::thread::hardware_concurrency();
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
#if defined(__clang__)
  m.compiler = "clang++ " __clang_version__;
#elif defined(__GNUC__)
  m.compiler = "g++ " __VERSION__;
#else
  m.compiler = "unknown compiler";
#endif
  while (!m.compiler.empty() && m.compiler.back() == ' ') m.compiler.pop_back();  // clang's version ends in one
  m.build = *ASIOLITE_BENCH_BUILD_TYPE ? ASIOLITE_BENCH_BUILD_TYPE : "no build type";
#if !defined(__OPTIMIZE__)
  m.build += ", NOT OPTIMIZED";
#endif
  m.sqlite = sqlite3_libversion();
#if defined(BOOST_ASIO_VERSION)  // the Boost flavour's build (bench/CMakeLists.txt)
  m.asio = format("%d.%d.%d (Boost.Asio)", BOOST_ASIO_VERSION / 100000, BOOST_ASIO_VERSION / 100 % 1000,
                  BOOST_ASIO_VERSION % 100);
#else
  m.asio = format("%d.%d.%d", ASIO_VERSION / 100000, ASIO_VERSION / 100 % 1000, ASIO_VERSION % 100);
#endif
  m.filesystem = filesystem_of(dir) + " (" + dir.string() + ")";
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  m.date = date;
  return m;
}

void write_markdown(std::ostream& out, const report& r) {
  const machine_info& m = r.machine;
  out << "asiolite ÷ raw SQLite, N = " << r.cfg.n << ", " << r.cfg.runs << (r.cfg.runs == 1 ? " run" : " runs") << ", "
      << r.cfg.clients << " coroutines in W4 and W7 hop_concurrent, " << (r.cfg.busy ? "busy" : "idle")
      << " machine\n\n"
      << "Machine: " << m.cpu << ", " << m.cores << " cores, " << m.kernel << "; " << m.compiler << " (" << m.build
      << "); SQLite " << m.sqlite << "; Asio " << m.asio << "; databases on " << m.filesystem << "; " << m.date
      << ".\n\n"
      << placement_text(r.cfg) << "\n\n";
  if (r.load)
    out << "Background load (--busy): " << r.load->threads << " threads, " << format("%.1f", r.load->cpu_s)
        << " CPU-s in " << format("%.1f", r.load->wall_s) << " s ("
        << format("%.2f", r.load->wall_s > 0 ? r.load->cpu_s / r.load->wall_s : 0.0) << " CPUs' worth), "
        << format("%.3g", static_cast<double>(r.load->iterations))
        << " iterations: one spinning thread per CPU the process may use, at normal priority and unpinned, "
           "in a child process (its CPU time is not in the table), from before the first run to after the "
           "last.\n\n";
  else
    out << "Background load: none (idle machine; --busy measures with one spinning thread per CPU).\n\n";
  out << "| workload | raw µs/op | asiolite µs/op | asiolite ÷ raw | target | met | CPU µs/op raw / asiolite "
         "| new/op raw / asiolite | malloc/op raw / asiolite | page faults/run raw / asiolite |\n"
      << "|---|--:|--:|--:|--:|:-:|--:|--:|--:|--:|\n";
  for (const workload_result& w : r.results) {
    const bool has_raw = w.w.raw != nullptr;
    // "raw / asiolite" medians of one per-op quantity
    const auto pair = [&](std::vector<double> side_result::*v, std::string (*f)(double)) {
      return (has_raw ? f(summarize(w.raw.*v).median) : std::string("—")) + " / " + f(summarize(w.lite.*v).median);
    };
    out << "| " << w.w.id << " " << w.w.name << ", per " << w.w.per << " | "
        << (has_raw ? with_range(summarize(w.raw.us_per_op), us) : "—") << " | "
        << with_range(summarize(w.lite.us_per_op), us) << " | "
        << (has_raw ? with_range(summarize(w.ratios), ratio, "×") : "—") << " | " << target_text(w.w) << " | "
        << (w.met() ? "yes" : "**no**") << " | " << pair(&side_result::cpu_us_per_op, us) << " | "
        << pair(&side_result::news_per_op, count) << " | "
        << (counts_mallocs() ? pair(&side_result::mallocs_per_op, count) : "n/a") << " | "
        << pair(&side_result::minor_faults, count) << " |\n";
  }
  out << "\nEach cell: the median over the runs (min–max). asiolite ÷ raw is the median of the per-run ratios; "
         "\"met\" compares it (W7: the median µs/op) with the target"
      << (r.cfg.busy ? " (on a busy machine, " + format("%g", busy_target_factor) + " times the idle machine's)" : "")
      << ". CPU is the whole process's, the worker "
         "thread's included. new/op counts the global operator new; malloc/op the C allocator (SQLite's own "
         "allocations, Asio's recycling allocator). Page faults are the process's minor faults in a run's timed "
         "section (not per op): on a VM each can cost several microseconds.\n";
  if (!r.unavailable.empty()) {
    out << "\nNot yet available:";
    for (std::size_t i = 0; i < r.unavailable.size(); ++i)
      out << (i ? ";" : "") << " " << r.unavailable[i].id << " " << r.unavailable[i].name << " (needs "
          << r.unavailable[i].needs << ")";
    out << ".\n";
  }
  out << "\nThe machine's floors, measured in every run under its workloads' conditions ("
      << (r.cfg.busy ? "busy" : "idle")
      << " machine, the two threads placed as the run's SQLite thread and caller): two threads waking each other "
         "through a condition variable (two futex wake + wait pairs) take "
      << floor_text(r.wakeup) << "; an Asio hop (a coroutine awaits asio::post to another thread's io_context "
      << "and resumes on its own, use_awaitable) takes " << floor_text(r.asio_hop) << ".\n";
  out << "\nIdle workers: one connection's used " << us(r.idle_one.first_us) << " µs of CPU in the "
      << r.cfg.idle.count() << " ms after its last request (its spin before parking included), "
      << us(r.idle_one.next_us) << " µs in the next " << r.cfg.idle.count() << " ms; "
      << r.idle_many.connections << (r.idle_many.connections == 1 ? " connection" : " connections")
      << ", opened one after another and then left idle, used " << us(r.idle_many.first_us)
      << " µs together in the first window, then " << us(r.idle_many.next_us)
      << " µs (W7 hop_among_idle: W7 hop with as many connections open and idle).\n";
  out << "\nChecksums: " << (r.ok ? "asiolite and raw SQLite agree on every workload in every run." : "**MISMATCH**")
      << "\n";
}

void write_json(std::ostream& out, const report& r) {
  const machine_info& m = r.machine;
  out << "{\n  \"machine\": {\"cpu\": " << json_string(m.cpu) << ", \"cores\": " << m.cores
      << ", \"kernel\": " << json_string(m.kernel) << ", \"compiler\": " << json_string(m.compiler)
      << ", \"build\": " << json_string(m.build) << ", \"sqlite\": " << json_string(m.sqlite)
      << ", \"asio\": " << json_string(m.asio) << ", \"filesystem\": " << json_string(m.filesystem)
      << ", \"date\": " << json_string(m.date) << "},\n";
  out << "  \"config\": {\"n\": " << r.cfg.n << ", \"commits\": " << r.cfg.commits << ", \"runs\": " << r.cfg.runs
      << ", \"clients\": " << r.cfg.clients << ", \"idle_ms\": " << r.cfg.idle.count()
      << ", \"idle_connections\": " << r.cfg.idle_connections
      << ", \"pinned\": " << (placement_for_run(r.cfg, 0).sqlite_cpu >= 0 ? "true" : "false")
      << ", \"load\": " << (r.cfg.busy ? "\"busy\"" : "\"idle\"") << "},\n";
  out << "  \"background_load\": ";
  if (r.load)
    out << "{\"threads\": " << r.load->threads << ", \"cpu_s\": " << json_number(r.load->cpu_s)
        << ", \"wall_s\": " << json_number(r.load->wall_s)
        << ", \"iterations\": " << r.load->iterations << "},\n";
  else
    out << "null,\n";
  out << "  \"workloads\": [\n";
  for (std::size_t i = 0; i < r.results.size(); ++i) {
    const workload_result& w = r.results[i];
    out << "    {\"id\": " << json_string(w.w.id) << ", \"name\": " << json_string(w.w.name)
        << ", \"per\": " << json_string(w.w.per) << ", \"ops\": " << w.ops
        << ", \"target\": {\"kind\": " << (w.w.target == target_kind::ratio ? "\"ratio\"" : "\"absolute_us\"")
        << ", \"value\": " << json_number(w.w.target_value) << "}, \"met\": " << (w.met() ? "true" : "false")
        << ",\n     \"raw\": ";
    if (w.w.raw)
      write_side_json(out, w.raw, counts_mallocs());
    else
      out << "null";
    out << ",\n     \"asiolite\": ";
    write_side_json(out, w.lite, counts_mallocs());
    out << ",\n     \"ratio\": " << (w.w.raw ? json_summary(w.ratios) : "null")
        << ", \"checksum\": " << json_string(format("%016llx", static_cast<unsigned long long>(w.checksum)))
        << ", \"checksums_match\": " << (w.checksums_match ? "true" : "false") << "}"
        << (i + 1 < r.results.size() ? "," : "") << "\n";
  }
  out << "  ],\n  \"not_yet_available\": [";
  for (std::size_t i = 0; i < r.unavailable.size(); ++i)
    out << (i ? ", " : "") << "{\"id\": " << json_string(r.unavailable[i].id)
        << ", \"name\": " << json_string(r.unavailable[i].name)
        << ", \"needs\": " << json_string(r.unavailable[i].needs) << "}";
  out << "],\n  \"floors\": {\"wakeup_round_trip\": " << floor_json(r.wakeup)
      << ", \"asio_hop_round_trip\": " << floor_json(r.asio_hop) << "}"
      << ",\n  \"idle_workers_cpu_us\": [";
  for (const lite::idle_cpu* idle : {&r.idle_one, &r.idle_many})
    out << (idle == &r.idle_one ? "" : ", ") << "{\"connections\": " << idle->connections
        << ", \"window_ms\": " << r.cfg.idle.count() << ", \"first\": " << json_number(idle->first_us)
        << ", \"next\": " << json_number(idle->next_us) << "}";
  out << "],\n";
  out << "  \"checksums_match\": " << (r.ok ? "true" : "false") << "\n}\n";
}

}  // namespace bench
