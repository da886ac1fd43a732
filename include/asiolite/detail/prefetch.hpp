// Prefetching for writing: asking for a cache line's ownership ahead of the stores to it.
//
// A cursor's worker fills batch storage that the caller's thread read last (see
// cursor_state::recycle). Each of those lines is then in the other core's cache, and a
// store to it waits for that core to give it up; one line after another, that wait is
// most of what handing rows across threads costs. Asking for the lines a few hundred
// bytes ahead lets those transfers overlap (W5b on a 2-core VM: worker time per row
// 1.55x -> 1.25x raw SQLite's). A read prefetch does not help: the line must be owned.
#pragma once

#include <cstddef>

#if (defined(__x86_64__) || defined(__i386__)) && !defined(__PRFCHW__) && (defined(__GNUC__) || defined(__clang__))
#  include <cpuid.h>
#  define ASIOLITE_DETAIL_PREFETCHW_CHECKED 1
#endif

namespace asiolite::detail {

#if defined(ASIOLITE_DETAIL_PREFETCHW_CHECKED)
// x86 has PREFETCHW on most CPUs of the last decade, but not on all, and a build for the
// baseline target may not assume it: ask the CPU once.
inline bool cpu_has_prefetchw() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(0x80000001u, &a, &b, &c, &d) != 0 && (c & (1u << 8)) != 0;  // PRFCHW
}
// False until initialized: code that runs before main goes without.
inline const bool has_prefetchw = cpu_has_prefetchw();
#endif

/// Asks for the cache line holding `p` for writing, without waiting for it. `p` must be
/// inside memory the caller owns; nothing is read or written.
inline void prefetch_for_write(const void* p) noexcept {
#if defined(ASIOLITE_DETAIL_PREFETCHW_CHECKED)
  if (has_prefetchw) asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 1, 3);  // PREFETCHW where the target has it, PRFM PSTL1KEEP on ARM
#else
  static_cast<void>(p);
#endif
}

/// How far ahead of its stores a buffer filled front to back asks for lines.
inline constexpr std::size_t write_prefetch_distance = 512;

/// For a buffer of `capacity` bytes at `data`, filled front to back, whose filled part grew
/// from `before` to `after` bytes: asks for the lines write_prefetch_distance ahead of
/// the bytes just written (from the buffer's start when it was empty).
inline void prefetch_ahead_of(const void* data, std::size_t before, std::size_t after, std::size_t capacity) noexcept {
  constexpr std::size_t line = 64;
  const auto* base = static_cast<const char*>(data);
  const std::size_t end = after + write_prefetch_distance < capacity ? after + write_prefetch_distance : capacity;
  const std::size_t from = before == 0 ? 0 : before + write_prefetch_distance;
  for (std::size_t at = from & ~(line - 1); at < end; at += line) prefetch_for_write(base + at);
}

}  // namespace asiolite::detail
