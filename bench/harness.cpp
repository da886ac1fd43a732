#include "harness.hpp"

#include "kv.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace bench {
namespace {

// The CPUs the process was allowed to use when it started.
const cpu_set_t& initial_cpus() {
  static const cpu_set_t set = [] {
    cpu_set_t s;
    CPU_ZERO(&s);
    if (sched_getaffinity(0, sizeof s, &s) != 0) CPU_ZERO(&s);
    return s;
  }();
  return set;
}

// The CPUs the process may use, in order (a run pins its threads to the first two).
std::vector<int> usable_cpus() {
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(static_cast<std::size_t>(cpu), &initial_cpus())) cpus.push_back(cpu);
  return cpus;
}

long process_minor_faults() noexcept {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

std::int64_t process_cpu_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

void meter::start() noexcept {
  faults0_ = process_minor_faults();
  allocs0_ = allocations();
  cpu0_ = process_cpu_ns();
  t0_ = std::chrono::steady_clock::now();
}

void meter::stop() noexcept {
  const auto t1 = std::chrono::steady_clock::now();
  const std::int64_t cpu1 = process_cpu_ns();
  const alloc_counts allocs1 = allocations();
  wall_us_ = std::chrono::duration<double, std::micro>(t1 - t0_).count();
  cpu_us_ = static_cast<double>(cpu1 - cpu0_) / 1e3;
  allocs_ = {allocs1.news - allocs0_.news, allocs1.mallocs - allocs0_.mallocs};
  faults_ = process_minor_faults() - faults0_;
}

double wakeup_round_trip_us(std::size_t rounds) {
  std::mutex mutex;
  std::condition_variable cv;
  bool ball = false;  // true: the other thread's turn
  bool stop = false;
  std::thread other([&] {
    std::unique_lock lock(mutex);
    for (;;) {
      cv.wait(lock, [&] { return ball || stop; });
      if (stop) return;
      ball = false;
      cv.notify_all();
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::unique_lock lock(mutex);
    for (std::size_t i = 0; i < rounds; ++i) {
      ball = true;
      cv.notify_all();
      cv.wait(lock, [&] { return !ball; });
    }
    stop = true;
  }
  const auto t1 = std::chrono::steady_clock::now();
  cv.notify_all();
  other.join();
  return std::chrono::duration<double, std::micro>(t1 - t0).count() / static_cast<double>(rounds);
}

placement placement_for_run(const config& cfg, int run) {
  const std::vector<int> cpus = usable_cpus();
  if (!cfg.pin || cpus.size() < 2) return {};
  return {cpus[static_cast<std::size_t>(run % 2)], cpus[static_cast<std::size_t>((run + 1) % 2)]};
}

void pin_this_thread(int cpu) {
  cpu_set_t set = initial_cpus();
  if (cpu >= 0) {
    CPU_ZERO(&set);
    CPU_SET(static_cast<std::size_t>(cpu), &set);
  }
  if (const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0)
    throw std::runtime_error("cannot pin a thread to CPU " + std::to_string(cpu) + ": " + std::strerror(rc));
}

std::filesystem::path run_context::fresh_db(std::string_view name) const {
  auto path = dir / (std::string(name) + ".db");
  create_kv(path);
  return path;
}

}  // namespace bench
