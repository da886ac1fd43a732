// Deadlines from durations a user chose. "No limit" may well be spelled duration::max(),
// which added to now() would overflow: the deadline saturates at the clock's end instead.
#pragma once

#include <chrono>

namespace asiolite::detail {

/// now() + d, or the clock's last time point when that is out of its range.
template <class Rep, class Period>
std::chrono::steady_clock::time_point deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
  using clock = std::chrono::steady_clock;
  const clock::time_point now = clock::now();
  // Compared in d's own (coarser) unit: converting d to the clock's unit could overflow.
  if (d >= std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(clock::time_point::max() - now))
    return clock::time_point::max();
  return now + std::chrono::duration_cast<clock::duration>(d);
}

}  // namespace asiolite::detail
