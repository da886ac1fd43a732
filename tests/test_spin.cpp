// detail/spin.hpp: what decides how long a spin may last, driven directly, on one thread.
#include "catch.hpp"

#include <asiolite/detail/spin.hpp>

#include <chrono>
#include <thread>

namespace {

using asiolite::detail::spin_clock;
using asiolite::detail::wake_cost;
using namespace std::chrono_literals;

}  // namespace

TEST_CASE("wake_cost: spins keep spin_wait until a wake-up was seen, then twice its mean") {
  wake_cost cost;
  CHECK(cost.estimate() == 0ns);
  CHECK(cost.spin_limit(50us) == 50us);

  cost.observe(6us);
  CHECK(cost.estimate() == 6us);
  CHECK(cost.spin_limit(50us) == 12us);
  CHECK(cost.spin_limit(8us) == 8us);  // spin_wait stays the ceiling

  // A running mean: one slow wake-up moves it by an eighth of the difference.
  cost.observe(86us);
  CHECK(cost.estimate() == 16us);
  for (int i = 0; i < 200; ++i) cost.observe(30us);
  CHECK(cost.estimate() > 29us);
  CHECK(cost.estimate() <= 30us);
}

TEST_CASE("wake_cost: readings outside 1 us to 10 ms count as those bounds") {
  wake_cost fast;
  fast.observe(0ns);  // the worker never slept: not a free wake-up
  CHECK(fast.estimate() == 1us);
  wake_cost slow;
  slow.observe(2s);  // waited for a CPU, not for the wake-up
  CHECK(slow.estimate() == 10ms);
  CHECK(slow.spin_limit(50us) == 50us);
}

TEST_CASE("spin_clock: a spin ends at its deadline, or at once when the thread lost its CPU") {
  spin_clock none(0ns);
  CHECK(none.expired());

  // Readings taken back to back: some pair is close together (no thread is preempted
  // between every one of a thousand readings), and the deadline is far.
  spin_clock far(10s);
  bool some_not_expired = false;
  for (int i = 0; i < 1000 && !some_not_expired; ++i) some_not_expired = !far.expired();
  CHECK(some_not_expired);

  // A gap no pause loop takes, long before the deadline: the thread did not run.
  std::this_thread::sleep_for(1ms);
  CHECK(far.expired());
}
