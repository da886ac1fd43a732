#include "harness.hpp"

#include "kv.hpp"

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
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

namespace {

// Runs `body` on a new thread placed on `cpu` (-1: every CPU the process started with),
// joined by join() or on destruction; join() rethrows what `body` threw. The new thread
// inherits the pinning of the thread that starts it, pinned there for the purpose, so
// nothing that can fail runs on the new thread before `body`.
class floor_thread {
 public:
  template <class F>
  floor_thread(int cpu, F body) {
    pin_this_thread(cpu);
    thread_ = std::thread([this, body]() mutable {
      try {
        body();
      } catch (...) {
        error_ = std::current_exception();
      }
    });
  }
  ~floor_thread() {
    if (thread_.joinable()) thread_.join();
  }
  floor_thread(const floor_thread&) = delete;
  floor_thread& operator=(const floor_thread&) = delete;
  void join() {
    thread_.join();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
  std::thread thread_;
};

round_trip per_round(const meter& m, std::size_t rounds) {
  const auto n = static_cast<double>(rounds);
  return {m.wall_us() / n, m.cpu_us() / n};
}

}  // namespace

round_trip wakeup_round_trip(std::size_t rounds, placement where) {
  std::mutex mutex;
  std::condition_variable cv;
  bool ball = false;  // true: the other thread's turn
  bool stop = false;
  floor_thread other(where.sqlite_cpu, [&] {
    std::unique_lock lock(mutex);
    for (;;) {
      cv.wait(lock, [&] { return ball || stop; });
      if (stop) return;
      ball = false;
      cv.notify_all();
    }
  });
  meter m;
  try {
    pinned_scope here(where.caller_cpu);
    m.start();
    std::unique_lock lock(mutex);
    for (std::size_t i = 0; i < rounds; ++i) {
      ball = true;
      cv.notify_all();
      cv.wait(lock, [&] { return !ball; });
    }
    m.stop();
  } catch (...) {
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    cv.notify_all();  // or joining `other` would wait for ever
    throw;
  }
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  cv.notify_all();
  other.join();
  return per_round(m, rounds);
}

namespace {

// asio::post(away, use_awaitable) runs a handler on `away` that dispatches the
// coroutine's resumption back to its own executor: one co_await is a round trip.
asio::awaitable<void> hop_loop(asio::io_context::executor_type away, std::size_t rounds, meter& m,
                               std::thread::id& resumed_on) {
  m.start();
  for (std::size_t i = 0; i < rounds; ++i) co_await asio::post(away, asio::use_awaitable);
  m.stop();
  resumed_on = std::this_thread::get_id();
}

}  // namespace

round_trip asio_hop_round_trip(std::size_t rounds, placement where) {
  asio::io_context home(1), away(1);
  auto away_busy = asio::make_work_guard(away);
  std::size_t away_handlers = 0;
  floor_thread away_thread(where.sqlite_cpu, [&] { away_handlers = away.run(); });
  meter m;
  std::thread::id resumed_on;
  std::exception_ptr error;
  try {
    pinned_scope here(where.caller_cpu);
    asio::co_spawn(home, hop_loop(away.get_executor(), rounds, m, resumed_on), [&](std::exception_ptr e) {
      error = e;
      away_busy.reset();
    });
    home.run();
  } catch (...) {
    away.stop();  // or joining away_thread would wait for ever
    throw;
  }
  away_thread.join();
  if (error) std::rethrow_exception(error);
  // Proof that each round went there and back: one handler ran on `away` per round, and
  // the coroutine ended on its own thread.
  if (away_handlers != rounds || resumed_on != std::this_thread::get_id())
    throw std::runtime_error("the Asio hop floor did not hop: " + std::to_string(away_handlers) + " handlers on the "
                             "other io_context for " + std::to_string(rounds) + " rounds");
  return per_round(m, rounds);
}

// ---- --busy

namespace {

unsigned threads_in_this_process() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0) return static_cast<unsigned>(std::stoul(line.substr(8)));
  return 0;  // unknown: not Linux's /proc
}

// The child: spins until the control pipe reaches end of file (the parent closed it, or
// died), then writes its totals to the report pipe. Never returns; never runs the
// parent's atexit handlers or flushes its stdio buffers (_exit).
[[noreturn]] void run_load(pid_t parent, int control_fd, int report_fd, unsigned threads) noexcept {
  // Killed when the parent dies, even by SIGKILL; a parent that died before prctl took
  // effect has left this process to a new parent already.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(3);
  try {
    struct alignas(64) counter {  // one cache line per spinner: they share nothing
      std::uint64_t iterations = 0;
    };
    std::vector<counter> counters(threads);
    std::atomic<bool> stop{false};
    std::vector<std::thread> spinners;
    for (unsigned i = 0; i < threads; ++i)
      spinners.emplace_back([&stop, &c = counters[i]] {
        // volatile: every increment is a load and a store the compiler must keep.
        volatile std::uint64_t k = 0;
        while (!stop.load(std::memory_order_relaxed)) k = k + 1;
        c.iterations = k;
      });
    const auto t0 = std::chrono::steady_clock::now();
    const char ready = 'r';
    if (write(report_fd, &ready, 1) != 1) _exit(4);
    for (char c;;)
      if (const ssize_t r = read(control_fd, &c, 1); r == 0 || (r < 0 && errno != EINTR)) break;
    stop = true;
    for (std::thread& t : spinners) t.join();
    load_totals totals;
    totals.threads = threads;
    for (const counter& k : counters) totals.iterations += k.iterations;
    timespec cpu{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    totals.cpu_s = static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
    totals.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Smaller than PIPE_BUF: written whole, by the same binary that reads it.
    if (write(report_fd, &totals, sizeof totals) != static_cast<ssize_t>(sizeof totals)) _exit(5);
    _exit(0);
  } catch (...) {
    _exit(6);
  }
}

// Reads exactly `size` bytes, waiting at most `timeout` for each read.
bool read_whole(int fd, void* data, std::size_t size, std::chrono::milliseconds timeout) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    pollfd pfd{fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t got = read(fd, p, size);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

void close_fd(int& fd) noexcept {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

void background_load::start() {
  if (pid_ > 0) throw std::logic_error("the background load runs already");
  // fork copies only the calling thread: with any other thread running (a worker holding
  // a lock, an io_context) the child could deadlock; and the load must not share this
  // process's CPU clock. So: a fork, and before anything starts a thread.
  if (const unsigned n = threads_in_this_process(); n != 1)
    throw std::logic_error("--busy: the load must be forked while the process has one thread; it has " +
                           std::to_string(n));
  const auto threads = static_cast<unsigned>(usable_cpus().size());
  int control[2], report[2];
  if (pipe2(control, O_CLOEXEC) != 0) throw std::runtime_error(std::string("--busy: pipe: ") + std::strerror(errno));
  if (pipe2(report, O_CLOEXEC) != 0) {
    const int e = errno;
    close(control[0]);
    close(control[1]);
    throw std::runtime_error(std::string("--busy: pipe: ") + std::strerror(e));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    close(control[1]);
    close(report[0]);
    run_load(parent, control[0], report[1], threads);
  }
  close(control[0]);
  close(report[1]);
  control_fd_ = control[1];
  report_fd_ = report[0];
  if (pid < 0) {
    const int e = errno;
    close_fd(control_fd_);
    close_fd(report_fd_);
    throw std::runtime_error(std::string("--busy: fork: ") + std::strerror(e));
  }
  pid_ = pid;
  char ready = 0;
  if (!read_whole(report_fd_, &ready, 1, std::chrono::seconds(10)) || ready != 'r') {
    kill_and_reap();
    throw std::runtime_error("--busy: the background load did not start");
  }
}

load_totals background_load::stop() {
  if (pid_ <= 0) throw std::logic_error("the background load is not running");
  close_fd(control_fd_);  // end of file: the spinners stop and the child reports
  load_totals totals;
  const bool reported = read_whole(report_fd_, &totals, sizeof totals, std::chrono::seconds(10));
  const pid_t pid = pid_;
  kill_and_reap();
  if (pid_ > 0) throw std::runtime_error("--busy: the background load's process " + std::to_string(pid) +
                                         " could not be reaped");
  if (!reported) throw std::runtime_error("--busy: the background load did not report");
  if (totals.iterations == 0) throw std::runtime_error("--busy: the background load did not spin");
  return totals;
}

background_load::~background_load() { kill_and_reap(); }

// Leaves pid_ set if waitpid fails: stop() reports it.
void background_load::kill_and_reap() noexcept {
  close_fd(control_fd_);
  close_fd(report_fd_);
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);  // it may have exited already: it is a zombie until reaped
  int status = 0;
  pid_t r;
  do r = waitpid(pid_, &status, 0);
  while (r < 0 && errno == EINTR);
  if (r == pid_) pid_ = -1;
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

pinned_scope::pinned_scope(int cpu) : pinned_(cpu >= 0) {
  if (pinned_) pin_this_thread(cpu);
}

pinned_scope::~pinned_scope() {
  try {
    if (pinned_) pin_this_thread(-1);
  } catch (const std::exception& e) {
    std::cerr << "\nasiolite_bench: " << e.what() << "\n";
  }
}

std::filesystem::path run_context::fresh_db(std::string_view name) const {
  auto path = dir / (std::string(name) + ".db");
  create_kv(path);
  return path;
}

}  // namespace bench
