// Waiting by spinning, for the short waits between a caller and its worker: on virtual
// machines waking a sleeping thread costs tens of microseconds, a spin a few. What the
// spinners need from the platform, and the caller's back-off after spins that failed.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>

#if defined(__linux__) || defined(__APPLE__)
#  include <pthread.h>
#endif
#if defined(__linux__)
#  include <sched.h>
#endif

namespace asiolite::detail {

inline void name_this_thread() noexcept {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "asiolite-db");  // 15 characters at most
#elif defined(__APPLE__)
  pthread_setname_np("asiolite-db");
#endif
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// The CPU the calling thread runs on, or -1 where that cannot be known. Spinning for a
// thread that waits for our own CPU only delays it: every spin here stops when the
// thread it waits for last ran on the spinner's CPU.
inline int current_cpu() noexcept {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

inline bool same_cpu(int mine, const std::atomic<int>& theirs) noexcept {
  return mine >= 0 && mine == theirs.load(std::memory_order_relaxed);
}

// Stores only when the value changes. For values another thread polls: a store takes the
// cache line away from the poller even when it writes what was there.
template <class T>
void store_if_changed(std::atomic<T>& a, T v, std::memory_order order = std::memory_order_relaxed) noexcept {
  if (a.load(std::memory_order_relaxed) != v) a.store(v, order);
}

/// Where the workers of a group of connections (a pool's readers) last ran, -1 while
/// parked: so that a spinner does not take a CPU one of them is working on. With more
/// busy threads than CPUs, a thread that spins for one worker slows another.
class worker_cpus {
 public:
  explicit worker_cpus(std::size_t n) : slots_(std::make_unique<std::atomic<int>[]>(n)), n_(n) {
    for (std::size_t i = 0; i < n; ++i) slots_[i].store(-1, std::memory_order_relaxed);
  }

  void note(std::size_t slot, int cpu) noexcept { store_if_changed(slots_[slot], cpu); }

  /// A worker of the group other than `except` is working on `cpu`.
  bool busy_on(int cpu, std::size_t except = static_cast<std::size_t>(-1)) const noexcept {
    if (cpu < 0) return false;
    for (std::size_t i = 0; i < n_; ++i)
      if (i != except && slots_[i].load(std::memory_order_relaxed) == cpu) return true;
    return false;
  }

 private:
  std::unique_ptr<std::atomic<int>[]> slots_;
  std::size_t n_;
};

/// The caller's back-off: spins that time out make the next ones rarer (1, 2, 4 ... 64
/// requests skipped), so that slow requests waste little; one that succeeds resets it.
/// Racy by design: a lost update only changes when the next spin is tried.
class spin_backoff {
 public:
  /// Whether to skip this spin (counting it as skipped).
  bool skip() noexcept {
    const unsigned left = skip_.load(std::memory_order_relaxed);
    if (left == 0) return false;
    skip_.store(left - 1, std::memory_order_relaxed);
    return true;
  }

  void record(bool succeeded) noexcept {
    if (succeeded) {
      failures_.store(0, std::memory_order_relaxed);
      return;
    }
    const unsigned failures = std::min(failures_.load(std::memory_order_relaxed) + 1, max_failures);
    failures_.store(failures, std::memory_order_relaxed);
    skip_.store(1u << failures, std::memory_order_relaxed);
  }

 private:
  static constexpr unsigned max_failures = 6;
  std::atomic<unsigned> failures_{0};
  std::atomic<unsigned> skip_{0};
};

}  // namespace asiolite::detail
