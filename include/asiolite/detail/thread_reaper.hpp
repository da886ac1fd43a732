// Joins worker threads that nobody waits for: those of connections destroyed without
// async_close. A destructor must not block on SQL, and a thread must not leak, so the
// thread is handed here and joined once it has finished, at the latest at program exit.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#  include <pthread.h>
#endif

namespace asiolite::detail {

class thread_reaper {
 public:
  /// The process-wide reaper. Connections call this when they are constructed, so the
  /// reaper outlives every connection (statics are destroyed in reverse order).
  static thread_reaper& instance() {
    static thread_reaper reaper;
    return reaper;
  }

  /// Takes `t`, which sets `*done` as its last action; joins threads already done.
  void adopt(std::thread t, std::shared_ptr<const std::atomic<bool>> done) {
    std::vector<std::thread> finished;
    {
      std::lock_guard lock(mutex_);
      auto still_running = std::partition(threads_.begin(), threads_.end(),
                                          [](const entry& e) { return !e.done->load(std::memory_order_acquire); });
      for (auto it = still_running; it != threads_.end(); ++it) finished.push_back(std::move(it->thread));
      threads_.erase(still_running, threads_.end());
      threads_.push_back({std::move(t), std::move(done)});
    }
    for (auto& f : finished) f.join();  // done: returns at once
  }

  ~thread_reaper() {
    std::vector<entry> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& e : threads)
      if (e.thread.joinable()) e.thread.join();
  }

 private:
  thread_reaper() {
#if defined(__unix__) || defined(__APPLE__)
    // Hold the lock across fork(), so the child never inherits it locked by a thread
    // that does not exist there.
    pthread_atfork([] { instance().mutex_.lock(); }, [] { instance().mutex_.unlock(); },
                   [] {
                     instance().forget_all();
                     instance().mutex_.unlock();
                   });
#endif
  }

  // In a child after fork() the threads we hold do not exist: joining them would hang.
  void forget_all() noexcept {
    for (auto& e : threads_) e.thread.detach();
    threads_.clear();
  }

  struct entry {
    std::thread thread;
    std::shared_ptr<const std::atomic<bool>> done;
  };
  std::mutex mutex_;
  std::vector<entry> threads_;
};

}  // namespace asiolite::detail
