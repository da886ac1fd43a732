// Counts heap allocations for the allocations-per-operation columns: the global
// operator new, replaced here as the standard allows, and — on glibc, without
// sanitizers — the C allocator too, which SQLite and Asio's recycling allocator
// (std::aligned_alloc) call without going through operator new.
#include "harness.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define ASIOLITE_BENCH_SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#    define ASIOLITE_BENCH_SANITIZED 1
#  endif
#endif
#if defined(__GLIBC__) && !defined(ASIOLITE_BENCH_SANITIZED)
#  define ASIOLITE_BENCH_COUNT_MALLOC 1
#endif

namespace {

// One pair of counters per thread, each on its own cache line, so that counting does not
// make the worker and the benchmark thread fight over one line. A slot's owner is its only
// writer (a plain load and store); threads past the last slot share it (fetch_add).
struct alignas(64) slot {
  std::atomic<std::uint64_t> news{0};
  std::atomic<std::uint64_t> mallocs{0};
};
constexpr unsigned slot_count = 256;
slot slots[slot_count];
std::atomic<unsigned> slots_taken{0};
// Trivially initialised, in the executable: static TLS, so reading it never allocates.
thread_local unsigned this_thread_slot = 0;  // index + 1; 0 until the thread's first allocation

void bump(std::atomic<std::uint64_t> slot::*counter) noexcept {
  unsigned s = this_thread_slot;
  if (s == 0) {
    const unsigned taken = slots_taken.fetch_add(1, std::memory_order_relaxed);
    s = this_thread_slot = (taken < slot_count ? taken : slot_count - 1) + 1;
  }
  std::atomic<std::uint64_t>& c = slots[s - 1].*counter;
  if (s == slot_count)
    c.fetch_add(1, std::memory_order_relaxed);
  else
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

#if defined(ASIOLITE_BENCH_COUNT_MALLOC)
// glibc's own entry points: what the interposed functions below forward to.
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* p);

void* malloc(std::size_t size) noexcept {
  bump(&slot::mallocs);
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  bump(&slot::mallocs);
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  bump(&slot::mallocs);
  return __libc_realloc(p, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  bump(&slot::mallocs);
  return __libc_memalign(alignment, size);
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  bump(&slot::mallocs);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  bump(&slot::mallocs);
  void* p = __libc_memalign(alignment, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
}

namespace {
// operator new is counted once, as a new, not again as a malloc.
void* plain_alloc(std::size_t size) noexcept { return __libc_malloc(size); }
void* aligned_alloc_for_new(std::size_t alignment, std::size_t size) noexcept {
  return __libc_memalign(alignment, size);
}
void plain_free(void* p) noexcept { __libc_free(p); }
}  // namespace
#else
namespace {
void* plain_alloc(std::size_t size) noexcept { return std::malloc(size); }
void* aligned_alloc_for_new(std::size_t alignment, std::size_t size) noexcept {
  return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}
void plain_free(void* p) noexcept { std::free(p); }
}  // namespace
#endif

namespace {
void* counted_new(std::size_t size) {
  bump(&slot::news);
  if (void* p = plain_alloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* counted_new(std::size_t size, std::align_val_t alignment) {
  bump(&slot::news);
  if (void* p = aligned_alloc_for_new(static_cast<std::size_t>(alignment), size ? size : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return counted_new(size); }
void* operator new[](std::size_t size) { return counted_new(size); }
void* operator new(std::size_t size, std::align_val_t alignment) { return counted_new(size, alignment); }
void* operator new[](std::size_t size, std::align_val_t alignment) { return counted_new(size, alignment); }
void operator delete(void* p) noexcept { plain_free(p); }
void operator delete[](void* p) noexcept { plain_free(p); }
void operator delete(void* p, std::size_t) noexcept { plain_free(p); }
void operator delete[](void* p, std::size_t) noexcept { plain_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { plain_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { plain_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { plain_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { plain_free(p); }

namespace bench {

alloc_counts allocations() noexcept {
  alloc_counts total;
  const unsigned used = slots_taken.load(std::memory_order_relaxed);
  for (unsigned i = 0; i < slot_count && i < used; ++i) {
    total.news += slots[i].news.load(std::memory_order_relaxed);
    total.mallocs += slots[i].mallocs.load(std::memory_order_relaxed);
  }
  return total;
}

bool counts_mallocs() noexcept {
#if defined(ASIOLITE_BENCH_COUNT_MALLOC)
  return true;
#else
  return false;
#endif
}

}  // namespace bench
