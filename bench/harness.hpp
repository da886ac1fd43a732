// The benchmark's harness: its settings, what it measures around a timed section, and
// the table of workloads (listed in the README's Performance section) that main.cpp runs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

struct config {
  std::size_t n = 50'000;       // rows, selects and hops (the workloads' N)
  std::size_t commits = 2'000;  // W6's autocommit INSERTs
  int runs = 5;
  int clients = 64;  // coroutines sharing one connection in W4 and W7
  std::chrono::milliseconds idle{1000};
  std::size_t idle_connections = 100;  // left open and idle during W7 hop_among_idle, and measured idle
  std::filesystem::path parent;  // each run's temporary directory is made in here
  std::string json_path;
  std::vector<std::string> only;  // workload ids to run; empty: all
  bool keep = false;              // keep the temporary directories
  bool pin = true;                // see placement
  bool busy = false;              // measure with every CPU busy (see background_load)
};

// ---- where the threads run

/// The CPUs a run's threads are pinned to; -1: not pinned. The thread that runs SQLite
/// (the raw side's benchmark thread, asiolite's worker) gets the same CPU on both sides,
/// and asiolite's calling thread another one: on these VMs one virtual CPU can be 30%
/// slower than the other for minutes at a time, and a ratio between two threads that the
/// scheduler put on different CPUs measured that instead of asiolite. The CPUs swap from
/// one run to the next.
struct placement {
  int sqlite_cpu = -1;
  int caller_cpu = -1;
};

/// Run `run`'s placement: unpinned without --pin, or with fewer than two CPUs to use.
placement placement_for_run(const config& cfg, int run);

/// Pins the calling thread to `cpu`; -1: lets it run on every CPU the process started with.
void pin_this_thread(int cpu);

/// The calling thread pinned to `cpu` (-1: left alone) until the end of the scope, then
/// free to run on every CPU again.
class pinned_scope {
 public:
  explicit pinned_scope(int cpu);
  ~pinned_scope();
  pinned_scope(const pinned_scope&) = delete;
  pinned_scope& operator=(const pinned_scope&) = delete;

 private:
  bool pinned_;
};

// ---- heap allocations (alloc_counter.cpp)

struct alloc_counts {
  std::uint64_t news = 0;     // the replaced global operator new, all forms
  std::uint64_t mallocs = 0;  // malloc, calloc, realloc, aligned_alloc...: SQLite's and Asio's own
};

/// Allocations made so far by every thread.
alloc_counts allocations() noexcept;

/// False where the C allocator cannot be interposed (not glibc, or a sanitizer build):
/// `mallocs` then stays 0.
bool counts_mallocs() noexcept;

// ---- measuring a timed section

/// Wall time, CPU time of the whole process (every thread: the worker's share shows) and
/// allocations, between start() and stop().
class meter {
 public:
  void start() noexcept;
  void stop() noexcept;

  double wall_us() const noexcept { return wall_us_; }
  double cpu_us() const noexcept { return cpu_us_; }
  alloc_counts allocs() const noexcept { return allocs_; }
  /// The process's minor page faults (every thread's) in the timed section.
  long minor_faults() const noexcept { return faults_; }

 private:
  std::chrono::steady_clock::time_point t0_;
  std::int64_t cpu0_ = 0;
  alloc_counts allocs0_;
  long faults0_ = 0;
  double wall_us_ = 0;
  double cpu_us_ = 0;
  alloc_counts allocs_;
  long faults_ = 0;
};

// ---- the machine's floors: context for W7, not workloads

/// One round trip's wall time and the process's CPU time (every thread's), in µs.
struct round_trip {
  double wall_us = 0;
  double cpu_us = 0;
};

/// Two threads that wake each other through a condition variable, as a thread parked in
/// the kernel must be woken: two futex wake + wait pairs per round trip (a hop wakes up
/// to two sleeping threads). The threads are placed as a run's SQLite thread and caller.
round_trip wakeup_round_trip(std::size_t rounds, placement where);

/// An Asio hop: a coroutine on one io_context's thread awaits asio::post to a second
/// io_context, run by another thread, and resumes on its own (use_awaitable), one round
/// trip at a time. Placed as wakeup_round_trip's threads.
round_trip asio_hop_round_trip(std::size_t rounds, placement where);

// ---- --busy

/// What the background load did, as its process reported it when it stopped.
struct load_totals {
  unsigned threads = 0;
  std::uint64_t iterations = 0;  // of the spinning loops, all threads
  double cpu_s = 0;              // the load process's CPU time
  double wall_s = 0;             // from the last spinner's start to the stop
};

/// One spinning thread per CPU this process may use, at normal priority and unpinned, in
/// a child process: the CPU time the benchmark reports is its own process's, and must
/// not include the load's. The child is forked, so start() must run while this process
/// has a single thread (it checks); it dies with this process (PR_SET_PDEATHSIG), and the
/// destructor kills and reaps it on every path that skips stop().
class background_load {
 public:
  background_load() = default;
  ~background_load();
  background_load(const background_load&) = delete;
  background_load& operator=(const background_load&) = delete;

  /// Forks the load and returns once every spinner runs.
  void start();
  /// Stops the load, reaps its process and returns what it did; throws if the process
  /// did not report or could not be reaped.
  load_totals stop();

 private:
  int pid_ = -1;
  int control_fd_ = -1;  // the write end of the child's stop pipe: closing it stops the load
  int report_fd_ = -1;   // the read end of the child's report
  void kill_and_reap() noexcept;
};

// ---- what a workload's side gets

/// One run: a fresh temporary directory, and in it the populated database the read
/// workloads share.
struct run_context {
  const config& cfg;
  std::filesystem::path dir;
  std::filesystem::path read_db;         // kv with rows 1..n, checkpointed
  const std::vector<std::int64_t>& ids;  // W3/W4's pseudo-random ids, the same every run
  placement where;

  /// A new database file in this run's directory with the empty kv table.
  std::filesystem::path fresh_db(std::string_view name) const;
};

/// One side of a workload: runs it, timing only what the workload measures with `m`,
/// and returns the checksum of what it read or wrote.
using side_fn = std::uint64_t (*)(const run_context&, meter& m);

enum class target_kind { ratio, absolute_us };

struct workload {
  std::string_view id;  // the workload's id (W1...); several rows may share one (W7)
  std::string_view name;
  std::string_view per;  // what one operation is, for the µs/op column
  std::size_t (*ops)(const config&);
  side_fn raw;             // nullptr: nothing to compare with; the checksum must equal ops
  side_fn lite;            // nullptr: the API it needs does not exist yet
  std::string_view needs;  // what it waits for, when lite is nullptr
  target_kind target;
  double target_value;
  // Runs after every run of the others: it leaves the process in a state that would
  // skew whatever ran next (hop_among_idle's 100 exited threads leave glibc's malloc
  // arenas small, and the next workers fault their heaps in again: W1's asiolite side
  // took about 330 page faults per run after it instead of 7).
  bool after_the_rest = false;
};

/// With --busy, each workload's target is its idle-machine target times this.
inline constexpr double busy_target_factor = 1.5;

/// The workloads, in table order (main.cpp).
std::vector<workload> all_workloads();

}  // namespace bench
