// detail/request_queue.hpp: the queue's decisions, driven directly, without threads.
#include "catch.hpp"

#include <asiolite/detail/request_queue.hpp>

#include <deque>
#include <initializer_list>
#include <vector>

namespace {

using asiolite::detail::request;
using asiolite::detail::request_kind;
using asiolite::detail::request_queue;
using asiolite::detail::request_state;
using asiolite::detail::session;
using status = request_queue::status;
using push_result = request_queue::push_result;
using cancel_result = request_queue::cancel_result;

// A request that only records what was done to it.
class test_request final : public request {
 public:
  explicit test_request(request_kind kind) noexcept : request(kind, &on_run, &on_complete) {}

  int runs = 0;
  int completions = 0;

 private:
  static void on_run(request& r, session&) noexcept { ++static_cast<test_request&>(r).runs; }
  static void on_complete(request& r) noexcept { ++static_cast<test_request&>(r).completions; }
};

// Pops everything, returning what was popped, in order; each is marked running.
std::vector<request*> pop_all(request_queue& q) {
  std::vector<request*> out;
  while (request* r = q.pop()) out.push_back(r);
  return out;
}

// The list returned by take_all, as a vector.
std::vector<request*> as_vector(request* list) {
  std::vector<request*> out;
  for (; list; list = list->next) out.push_back(list);
  return out;
}

std::vector<request*> ptrs(std::initializer_list<request*> l) { return l; }

// An open connection with nothing queued.
void make_open(request_queue& q, test_request& open) {
  REQUIRE(q.push(open) == push_result::start_worker);
  REQUIRE(q.pop() == &open);
  REQUIRE_FALSE(q.finish(open, true));
  REQUIRE(q.state() == status::open);
}

}  // namespace

TEST_CASE("request_queue: a new queue is closed and empty") {
  request_queue q;
  CHECK(q.state() == status::closed);
  CHECK(q.empty());
  CHECK(q.size() == 0);
  CHECK(q.pop() == nullptr);
  CHECK(q.take_all() == nullptr);
}

TEST_CASE(
    "request_queue: on a closed queue, statements are rejected, a close is done already, an open starts a worker") {
  request_queue q;
  test_request s(request_kind::statement), c(request_kind::close), o(request_kind::open);

  CHECK(q.push(s) == push_result::rejected_closed);
  CHECK(s.state == request_state::idle);
  CHECK(q.push(c) == push_result::done_already);
  CHECK(c.state == request_state::idle);
  CHECK(q.empty());
  CHECK(q.state() == status::closed);

  CHECK(q.push(o) == push_result::start_worker);
  CHECK(q.state() == status::opening);
  CHECK(o.state == request_state::queued);
  CHECK(q.size() == 1);
  // The queue only decides: it never runs or completes anything itself.
  CHECK(o.runs == 0);
  CHECK(o.completions == 0);
  CHECK(s.completions == 0);
  CHECK(c.completions == 0);
}

TEST_CASE("request_queue: closed -> opening -> open -> closing -> closed") {
  request_queue q;
  test_request open(request_kind::open), close(request_kind::close);

  REQUIRE(q.push(open) == push_result::start_worker);
  CHECK(q.state() == status::opening);
  REQUIRE(q.pop() == &open);
  CHECK(open.state == request_state::running);
  CHECK(q.state() == status::opening);  // still opening while the open runs
  CHECK_FALSE(q.finish(open, true));
  CHECK(open.state == request_state::done);
  CHECK(q.state() == status::open);

  REQUIRE(q.push(close) == push_result::queued);
  CHECK(q.state() == status::closing);
  REQUIRE(q.pop() == &close);
  CHECK(q.state() == status::closing);
  CHECK(q.finish(close, true));  // the worker must stop
  CHECK(q.state() == status::closed);
  CHECK(q.empty());

  SECTION("and it can be opened again") {
    test_request again(request_kind::open);
    CHECK(q.push(again) == push_result::start_worker);
    CHECK(q.state() == status::opening);
    REQUIRE(q.pop() == &again);
    CHECK_FALSE(q.finish(again, true));
    CHECK(q.state() == status::open);
  }
}

TEST_CASE("request_queue: what each state accepts") {
  request_queue q;
  test_request open(request_kind::open);
  REQUIRE(q.push(open) == push_result::start_worker);

  SECTION("opening: statements queue, a second open is rejected, a close queues") {
    test_request s(request_kind::statement), o2(request_kind::open), c(request_kind::close);
    CHECK(q.push(s) == push_result::queued);
    CHECK(q.state() == status::opening);
    CHECK(q.push(o2) == push_result::rejected_open);
    CHECK(o2.state == request_state::idle);
    CHECK(q.state() == status::opening);
    CHECK(q.push(c) == push_result::queued);
    CHECK(q.state() == status::closing);
    CHECK(q.size() == 3);
    CHECK(pop_all(q) == ptrs({&open, &s, &c}));
  }

  SECTION("opening, with the open already running: statements still queue") {
    REQUIRE(q.pop() == &open);
    test_request s(request_kind::statement);
    CHECK(q.push(s) == push_result::queued);
    CHECK(q.size() == 1);
  }

  SECTION("open: statements queue, an open is rejected, a close queues") {
    REQUIRE(q.pop() == &open);
    REQUIRE_FALSE(q.finish(open, true));
    test_request s(request_kind::statement), o2(request_kind::open), c(request_kind::close);
    CHECK(q.push(s) == push_result::queued);
    CHECK(q.state() == status::open);
    CHECK(q.push(o2) == push_result::rejected_open);
    CHECK(q.state() == status::open);
    CHECK(q.push(c) == push_result::queued);
    CHECK(q.state() == status::closing);
    CHECK(pop_all(q) == ptrs({&s, &c}));
  }

  SECTION("closing: statements are rejected, an open is rejected, another close queues behind") {
    REQUIRE(q.pop() == &open);
    REQUIRE_FALSE(q.finish(open, true));
    test_request c1(request_kind::close), s(request_kind::statement), o2(request_kind::open), c2(request_kind::close);
    REQUIRE(q.push(c1) == push_result::queued);
    CHECK(q.push(s) == push_result::rejected_closed);
    CHECK(s.state == request_state::idle);
    CHECK(q.push(o2) == push_result::rejected_open);
    CHECK(q.push(c2) == push_result::queued);
    CHECK(q.state() == status::closing);
    CHECK(q.size() == 2);

    REQUIRE(q.pop() == &c1);
    CHECK(q.finish(c1, true));
    CHECK(q.state() == status::closed);
    // The second close was queued behind the first: the worker completes it on its way out.
    CHECK(as_vector(q.take_all()) == ptrs({&c2}));
    CHECK(c2.state == request_state::done);
    CHECK(q.empty());
  }
}

TEST_CASE("request_queue: an open that succeeds with a close queued behind it leaves the queue closing") {
  request_queue q;
  test_request open(request_kind::open), s(request_kind::statement), close(request_kind::close);
  REQUIRE(q.push(open) == push_result::start_worker);
  REQUIRE(q.push(s) == push_result::queued);
  REQUIRE(q.push(close) == push_result::queued);
  REQUIRE(q.pop() == &open);
  CHECK_FALSE(q.finish(open, true));
  CHECK(q.state() == status::closing);  // not open: a close is pending
  REQUIRE(q.pop() == &s);
  CHECK_FALSE(q.finish(s, true));
  CHECK(q.state() == status::closing);
  REQUIRE(q.pop() == &close);
  CHECK(q.finish(close, true));
  CHECK(q.state() == status::closed);
}

TEST_CASE("request_queue: requests pop in the order they were pushed") {
  request_queue q;
  test_request open(request_kind::open);
  REQUIRE(q.push(open) == push_result::start_worker);
  std::deque<test_request> reqs;
  for (int i = 0; i < 50; ++i) reqs.emplace_back(request_kind::statement);
  for (auto& r : reqs) REQUIRE(q.push(r) == push_result::queued);
  CHECK(q.size() == 51);

  REQUIRE(q.pop() == &open);
  REQUIRE_FALSE(q.finish(open, true));
  // Interleave pops with new pushes: still first in, first out.
  std::deque<test_request> late;
  for (int i = 0; i < 10; ++i) late.emplace_back(request_kind::statement);
  std::vector<request*> popped;
  for (int i = 0; i < 50; ++i) {
    if (i < 10) REQUIRE(q.push(late[static_cast<std::size_t>(i)]) == push_result::queued);
    request* r = q.pop();
    REQUIRE(r != nullptr);
    CHECK(r->state == request_state::running);
    CHECK_FALSE(q.finish(*r, true));
    CHECK(r->state == request_state::done);
    popped.push_back(r);
  }
  for (auto* r : pop_all(q)) popped.push_back(r);
  CHECK(q.empty());
  CHECK(q.size() == 0);

  std::vector<request*> expected;
  for (auto& r : reqs) expected.push_back(&r);
  for (auto& r : late) expected.push_back(&r);
  CHECK(popped == expected);
}

TEST_CASE("request_queue: cancelling a queued statement removes it; it is never popped") {
  request_queue q;
  test_request open(request_kind::open);
  make_open(q, open);
  test_request a(request_kind::statement), b(request_kind::statement), c(request_kind::statement),
      d(request_kind::statement);
  for (auto* r : {&a, &b, &c, &d}) REQUIRE(q.push(*r) == push_result::queued);

  SECTION("from the middle") {
    CHECK(q.cancel(b) == cancel_result::removed);
    CHECK(b.state == request_state::done);
    CHECK(q.size() == 3);
    CHECK(pop_all(q) == ptrs({&a, &c, &d}));
  }
  SECTION("the head") {
    CHECK(q.cancel(a) == cancel_result::removed);
    CHECK(pop_all(q) == ptrs({&b, &c, &d}));
  }
  SECTION("the tail, then push again") {
    CHECK(q.cancel(d) == cancel_result::removed);
    test_request e(request_kind::statement);
    REQUIRE(q.push(e) == push_result::queued);
    CHECK(pop_all(q) == ptrs({&a, &b, &c, &e}));
  }
  SECTION("all of them") {
    for (auto* r : {&c, &a, &d, &b}) CHECK(q.cancel(*r) == cancel_result::removed);
    CHECK(q.empty());
    CHECK(q.size() == 0);
    CHECK(q.pop() == nullptr);
    // The queue is still usable.
    test_request e(request_kind::statement);
    REQUIRE(q.push(e) == push_result::queued);
    CHECK(pop_all(q) == ptrs({&e}));
  }
  SECTION("twice: the second time does nothing") {
    CHECK(q.cancel(c) == cancel_result::removed);
    CHECK(q.cancel(c) == cancel_result::none);
    CHECK(q.size() == 3);
    CHECK(pop_all(q) == ptrs({&a, &b, &d}));
  }
  // Cancelling never interrupts, and never completes: the caller does that.
  for (auto* r : {&a, &b, &c, &d}) {
    CHECK_FALSE(r->interrupt.load());
    CHECK(r->completions == 0);
  }
}

TEST_CASE("request_queue: cancelling a running statement sets only its interrupt flag") {
  request_queue q;
  test_request open(request_kind::open);
  make_open(q, open);
  test_request a(request_kind::statement), b(request_kind::statement);
  REQUIRE(q.push(a) == push_result::queued);
  REQUIRE(q.push(b) == push_result::queued);
  REQUIRE(q.pop() == &a);

  CHECK(q.cancel(a) == cancel_result::interrupted);
  CHECK(a.interrupt.load());
  CHECK(a.state == request_state::running);  // it still has to finish
  CHECK_FALSE(b.interrupt.load());
  CHECK(q.size() == 1);

  CHECK_FALSE(q.finish(a, false));
  CHECK(a.state == request_state::done);
  // Once finished, a cancellation does nothing.
  CHECK(q.cancel(a) == cancel_result::none);
  CHECK(pop_all(q) == ptrs({&b}));
  CHECK_FALSE(b.interrupt.load());
}

TEST_CASE("request_queue: a statement never queued, or already done, cannot be cancelled") {
  request_queue q;
  test_request never(request_kind::statement);
  CHECK(q.push(never) == push_result::rejected_closed);
  CHECK(q.cancel(never) == cancel_result::none);
  CHECK_FALSE(never.interrupt.load());

  test_request open(request_kind::open);
  make_open(q, open);
  test_request s(request_kind::statement);
  REQUIRE(q.push(s) == push_result::queued);
  REQUIRE(q.pop() == &s);
  REQUIRE_FALSE(q.finish(s, true));
  CHECK(q.cancel(s) == cancel_result::none);
  CHECK_FALSE(s.interrupt.load());
}

TEST_CASE("request_queue: opens and closes cannot be cancelled, queued or running") {
  request_queue q;
  test_request open(request_kind::open), s(request_kind::statement), close(request_kind::close);
  REQUIRE(q.push(open) == push_result::start_worker);
  REQUIRE(q.push(s) == push_result::queued);
  REQUIRE(q.push(close) == push_result::queued);

  CHECK(q.cancel(open) == cancel_result::none);  // queued
  CHECK(q.cancel(close) == cancel_result::none);
  CHECK(q.size() == 3);
  CHECK(open.state == request_state::queued);
  CHECK(close.state == request_state::queued);

  REQUIRE(q.pop() == &open);
  CHECK(q.cancel(open) == cancel_result::none);  // running
  CHECK_FALSE(open.interrupt.load());
  CHECK(open.state == request_state::running);
  REQUIRE_FALSE(q.finish(open, true));

  REQUIRE(q.pop() == &s);
  REQUIRE_FALSE(q.finish(s, true));
  REQUIRE(q.pop() == &close);
  CHECK(q.cancel(close) == cancel_result::none);
  CHECK_FALSE(close.interrupt.load());
  CHECK(q.finish(close, true));
  CHECK(q.state() == status::closed);
}

TEST_CASE("request_queue: a failed open stops the worker, closes the queue, and take_all returns the rest in order") {
  request_queue q;
  test_request open(request_kind::open), s1(request_kind::statement), s2(request_kind::statement),
      s3(request_kind::statement), c1(request_kind::close), c2(request_kind::close);
  REQUIRE(q.push(open) == push_result::start_worker);
  for (auto* r : {&s1, &s2, &s3}) REQUIRE(q.push(*r) == push_result::queued);
  REQUIRE(q.cancel(s2) == cancel_result::removed);  // gone before the open fails
  REQUIRE(q.push(c1) == push_result::queued);
  REQUIRE(q.push(c2) == push_result::queued);
  REQUIRE(q.pop() == &open);

  CHECK(q.finish(open, false));
  CHECK(q.state() == status::closed);
  CHECK(open.state == request_state::done);

  request* rest = q.take_all();
  const auto got = as_vector(rest);
  CHECK(got == ptrs({&s1, &s3, &c1, &c2}));
  for (auto* r : got) CHECK(r->state == request_state::done);
  CHECK(q.empty());
  CHECK(q.size() == 0);
  CHECK(q.pop() == nullptr);
  CHECK(q.take_all() == nullptr);

  // Nothing in the list can be cancelled any more; the list stays intact.
  for (auto* r : got) CHECK(q.cancel(*r) == cancel_result::none);
  CHECK(as_vector(rest) == got);

  // Closed again: statements are rejected, and a new open starts a new worker.
  test_request later(request_kind::statement), reopen(request_kind::open);
  CHECK(q.push(later) == push_result::rejected_closed);
  CHECK(q.push(reopen) == push_result::start_worker);
  CHECK(pop_all(q) == ptrs({&reopen}));
}

TEST_CASE("request_queue: a failed open with nothing behind it") {
  request_queue q;
  test_request open(request_kind::open);
  REQUIRE(q.push(open) == push_result::start_worker);
  REQUIRE(q.pop() == &open);
  CHECK(q.finish(open, false));
  CHECK(q.state() == status::closed);
  CHECK(q.take_all() == nullptr);
}

TEST_CASE("request_queue: a failed statement does not stop the worker") {
  request_queue q;
  test_request open(request_kind::open);
  make_open(q, open);
  test_request s(request_kind::statement), t(request_kind::statement);
  REQUIRE(q.push(s) == push_result::queued);
  REQUIRE(q.push(t) == push_result::queued);
  REQUIRE(q.pop() == &s);
  CHECK_FALSE(q.finish(s, false));
  CHECK(q.state() == status::open);
  CHECK(pop_all(q) == ptrs({&t}));
}

TEST_CASE("request_queue: take_all while open returns everything queued, in order") {
  request_queue q;
  test_request open(request_kind::open);
  make_open(q, open);
  std::deque<test_request> reqs;
  for (int i = 0; i < 20; ++i) reqs.emplace_back(request_kind::statement);
  for (auto& r : reqs) REQUIRE(q.push(r) == push_result::queued);
  REQUIRE(q.cancel(reqs[0]) == cancel_result::removed);
  REQUIRE(q.cancel(reqs[19]) == cancel_result::removed);
  REQUIRE(q.cancel(reqs[7]) == cancel_result::removed);

  std::vector<request*> expected;
  for (std::size_t i = 0; i < reqs.size(); ++i)
    if (i != 0 && i != 7 && i != 19) expected.push_back(&reqs[i]);
  CHECK(as_vector(q.take_all()) == expected);
  CHECK(q.empty());
  CHECK(q.size() == 0);
}

TEST_CASE("request_queue: abort completes a request once, with the failure recorded") {
  test_request r(request_kind::statement);
  CHECK_FALSE(r.failed());
  r.abort(make_error_code(asiolite::errc::closed), "why");
  CHECK(r.failed());
  CHECK(r.completions == 1);
  CHECK(r.runs == 0);
}
