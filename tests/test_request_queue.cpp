// detail/request_queue.hpp: the queue's decisions, driven directly, without threads.
#include "catch.hpp"

#include <asiolite/detail/request_queue.hpp>
#include <asiolite/error.hpp>

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <initializer_list>
#include <vector>

namespace {

using asiolite::detail::request;
using asiolite::detail::request_kind;
using asiolite::detail::request_queue;
using asiolite::detail::request_state;
using asiolite::detail::database;
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
  static void on_run(request& r, database&) noexcept { ++static_cast<test_request&>(r).runs; }
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
  REQUIRE_FALSE(q.ran(open, true).stop);
  REQUIRE(q.state() == status::open);
}

// A queue whose connection is open, with storage for the requests a test makes.
struct open_queue {
  request_queue q;
  test_request open{request_kind::open};
  std::deque<test_request> store;
  open_queue() { make_open(q, open); }
};

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
  CHECK_FALSE(q.ran(open, true).stop);
  CHECK(open.state == request_state::done);
  CHECK(q.state() == status::open);

  REQUIRE(q.push(close) == push_result::queued);
  CHECK(q.state() == status::closing);
  REQUIRE(q.pop() == &close);
  CHECK(q.state() == status::closing);
  CHECK(q.ran(close, true).stop);  // the worker must stop
  CHECK(q.state() == status::closed);
  CHECK(q.empty());

  SECTION("and it can be opened again") {
    test_request again(request_kind::open);
    CHECK(q.push(again) == push_result::start_worker);
    CHECK(q.state() == status::opening);
    REQUIRE(q.pop() == &again);
    CHECK_FALSE(q.ran(again, true).stop);
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
    REQUIRE_FALSE(q.ran(open, true).stop);
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
    REQUIRE_FALSE(q.ran(open, true).stop);
    test_request c1(request_kind::close), s(request_kind::statement), o2(request_kind::open), c2(request_kind::close);
    REQUIRE(q.push(c1) == push_result::queued);
    CHECK(q.push(s) == push_result::rejected_closed);
    CHECK(s.state == request_state::idle);
    CHECK(q.push(o2) == push_result::rejected_open);
    CHECK(q.push(c2) == push_result::queued);
    CHECK(q.state() == status::closing);
    CHECK(q.size() == 2);

    REQUIRE(q.pop() == &c1);
    CHECK(q.ran(c1, true).stop);
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
  CHECK_FALSE(q.ran(open, true).stop);
  CHECK(q.state() == status::closing);  // not open: a close is pending
  REQUIRE(q.pop() == &s);
  CHECK_FALSE(q.ran(s, true).stop);
  CHECK(q.state() == status::closing);
  REQUIRE(q.pop() == &close);
  CHECK(q.ran(close, true).stop);
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
  REQUIRE_FALSE(q.ran(open, true).stop);
  // Interleave pops with new pushes: still first in, first out.
  std::deque<test_request> late;
  for (int i = 0; i < 10; ++i) late.emplace_back(request_kind::statement);
  std::vector<request*> popped;
  for (int i = 0; i < 50; ++i) {
    if (i < 10) REQUIRE(q.push(late[static_cast<std::size_t>(i)]) == push_result::queued);
    request* r = q.pop();
    REQUIRE(r != nullptr);
    CHECK(r->state == request_state::running);
    CHECK_FALSE(q.ran(*r, true).stop);
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

TEST_CASE_METHOD(open_queue, "request_queue: cancelling a queued statement removes it, it is never popped") {
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

TEST_CASE_METHOD(open_queue, "request_queue: cancelling a running statement sets only its interrupt flag") {
  test_request a(request_kind::statement), b(request_kind::statement);
  REQUIRE(q.push(a) == push_result::queued);
  REQUIRE(q.push(b) == push_result::queued);
  REQUIRE(q.pop() == &a);

  CHECK(q.cancel(a) == cancel_result::interrupted);
  CHECK(a.interrupt.load());
  CHECK(a.state == request_state::running);  // it still has to finish
  CHECK_FALSE(b.interrupt.load());
  CHECK(q.size() == 1);

  CHECK_FALSE(q.ran(a, false).stop);
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
  REQUIRE_FALSE(q.ran(s, true).stop);
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
  REQUIRE_FALSE(q.ran(open, true).stop);

  REQUIRE(q.pop() == &s);
  REQUIRE_FALSE(q.ran(s, true).stop);
  REQUIRE(q.pop() == &close);
  CHECK(q.cancel(close) == cancel_result::none);
  CHECK_FALSE(close.interrupt.load());
  CHECK(q.ran(close, true).stop);
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

  CHECK(q.ran(open, false).stop);
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
  CHECK(q.ran(open, false).stop);
  CHECK(q.state() == status::closed);
  CHECK(q.take_all() == nullptr);
}

TEST_CASE_METHOD(open_queue, "request_queue: a failed statement does not stop the worker") {
  test_request s(request_kind::statement), t(request_kind::statement);
  REQUIRE(q.push(s) == push_result::queued);
  REQUIRE(q.push(t) == push_result::queued);
  REQUIRE(q.pop() == &s);
  CHECK_FALSE(q.ran(s, false).stop);
  CHECK(q.state() == status::open);
  CHECK(pop_all(q) == ptrs({&t}));
}

TEST_CASE_METHOD(open_queue, "request_queue: take_all while open returns everything queued, in order") {
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

namespace {
// A request of the transaction with lease `lease` (a begin takes a new one).
test_request& leased(std::deque<test_request>& store, request_kind kind, std::uint64_t lease) {
  auto& r = store.emplace_back(kind);
  r.lease = lease;
  return r;
}

// Runs a BEGIN for `lease` through the queue, leaving the connection leased to it.
void begin_transaction(request_queue& q, std::deque<test_request>& store, std::uint64_t lease) {
  auto& begin = leased(store, request_kind::begin, lease);
  REQUIRE(q.push(begin) == push_result::queued);
  REQUIRE(q.pop() == &begin);
  REQUIRE(q.ran(begin, true, true).lease_began);
}
}  // namespace

TEST_CASE_METHOD(open_queue, "request_queue: a successful BEGIN leases the connection, only its requests run until it ends") {
  auto& begin = leased(store, request_kind::begin, 7);
  auto& before = leased(store, request_kind::statement, 0);
  REQUIRE(q.push(begin) == push_result::queued);
  REQUIRE(q.pop() == &begin);
  REQUIRE(q.push(before) == push_result::queued);  // queued while BEGIN runs: waits
  auto f = q.ran(begin, true, true);
  CHECK(f.lease_began);
  CHECK(q.lease() == 7);

  auto& outsider = leased(store, request_kind::statement, 0);
  auto& inside = leased(store, request_kind::statement, 7);
  auto& other_begin = leased(store, request_kind::begin, 8);
  REQUIRE(q.push(outsider) == push_result::queued);
  REQUIRE(q.push(other_begin) == push_result::queued);
  REQUIRE(q.push(inside) == push_result::queued);
  CHECK(q.pop() == &inside);  // the transaction's request first, though queued last
  CHECK_FALSE(q.ran(inside, true, true).lease_ended);
  CHECK(q.pop() == nullptr);  // the others wait, even with the worker idle

  auto& commit = leased(store, request_kind::statement, 7);
  REQUIRE(q.push(commit) == push_result::queued);
  REQUIRE(q.pop() == &commit);
  CHECK(q.ran(commit, true, false).lease_ended);  // no transaction open any more
  CHECK(q.lease() == 0);
  CHECK(q.take_leased() == nullptr);
  CHECK(pop_all(q) == ptrs({&before, &outsider, &other_begin}));
}

TEST_CASE_METHOD(open_queue, "request_queue: a failed BEGIN leases nothing") {
  auto& begin = leased(store, request_kind::begin, 3);
  REQUIRE(q.push(begin) == push_result::queued);
  REQUIRE(q.pop() == &begin);
  CHECK_FALSE(q.ran(begin, false, false).lease_began);
  CHECK(q.lease() == 0);
  auto& late = leased(store, request_kind::statement, 3);
  CHECK(q.push(late) == push_result::rejected_ended);
}

TEST_CASE_METHOD(open_queue, "request_queue: requests of an ended transaction are refused, its rollbacks succeed at once") {
  begin_transaction(q, store, 5);

  // SQLite rolls the transaction back while statements of it are still queued.
  auto& failing = leased(store, request_kind::statement, 5);
  auto& queued_stmt = leased(store, request_kind::statement, 5);
  auto& queued_rollback = leased(store, request_kind::rollback, 5);
  REQUIRE(q.push(failing) == push_result::queued);
  REQUIRE(q.push(queued_stmt) == push_result::queued);
  REQUIRE(q.push(queued_rollback) == push_result::queued);
  REQUIRE(q.pop() == &failing);
  auto f = q.ran(failing, false, false);
  CHECK(f.lease_ended);
  CHECK(as_vector(q.take_leased()) == ptrs({&queued_stmt, &queued_rollback}));

  auto& late_stmt = leased(store, request_kind::statement, 5);
  auto& late_rollback = leased(store, request_kind::rollback, 5);
  CHECK(q.push(late_stmt) == push_result::rejected_ended);
  CHECK(q.push(late_rollback) == push_result::done_already);
}

TEST_CASE_METHOD(open_queue, "request_queue: a close waits behind an open transaction, which may still finish") {
  begin_transaction(q, store, 9);

  test_request close(request_kind::close);
  REQUIRE(q.push(close) == push_result::queued);
  CHECK(q.state() == status::closing);
  auto& outsider = leased(store, request_kind::statement, 0);
  CHECK(q.push(outsider) == push_result::rejected_closed);
  auto& inside = leased(store, request_kind::statement, 9);
  CHECK(q.push(inside) == push_result::queued);  // accepted while closing: it holds the connection
  CHECK(q.pop() == &inside);
  REQUIRE_FALSE(q.ran(inside, true, true).lease_ended);
  auto& rollback = leased(store, request_kind::rollback, 9);
  REQUIRE(q.push(rollback) == push_result::queued);
  REQUIRE(q.pop() == &rollback);
  REQUIRE(q.ran(rollback, true, false).lease_ended);
  CHECK(q.pop() == &close);
  CHECK(q.ran(close, true).stop);
}

TEST_CASE_METHOD(open_queue, "request_queue: cancellation removes queued requests of a transaction, rollbacks are not cancellable") {
  begin_transaction(q, store, 4);
  auto& queued_begin = leased(store, request_kind::begin, 6);
  REQUIRE(q.push(queued_begin) == push_result::queued);
  auto& a = leased(store, request_kind::statement, 4);
  auto& rb = leased(store, request_kind::rollback, 4);
  REQUIRE(q.push(a) == push_result::queued);
  REQUIRE(q.push(rb) == push_result::queued);
  CHECK(q.cancel(queued_begin) == cancel_result::removed);
  CHECK(q.cancel(a) == cancel_result::removed);
  CHECK(q.cancel(rb) == cancel_result::none);
  CHECK(pop_all(q) == ptrs({&rb}));
}

TEST_CASE_METHOD(open_queue, "request_queue: cancel_all removes every cancellable request and interrupts the running one") {
  auto& running = leased(store, request_kind::statement, 0);
  auto& a = leased(store, request_kind::statement, 0);
  auto& b = leased(store, request_kind::begin, 2);
  test_request close(request_kind::close);
  REQUIRE(q.push(running) == push_result::queued);
  REQUIRE(q.pop() == &running);
  REQUIRE(q.push(a) == push_result::queued);
  REQUIRE(q.push(b) == push_result::queued);
  REQUIRE(q.push(close) == push_result::queued);
  CHECK(as_vector(q.cancel_all(&running)) == ptrs({&a, &b}));
  CHECK(running.interrupt.load());
  CHECK(pop_all(q) == ptrs({&close}));
}

TEST_CASE_METHOD(open_queue,
                 "request_queue: cancel_all leaves a queued request that must run to its end, which its own "
                 "cancellation still removes") {
  begin_transaction(q, store, 4);
  auto& statement = leased(store, request_kind::statement, 4);
  auto& commit = leased(store, request_kind::statement, 4);
  commit.interruptible = false;  // what a COMMIT is
  REQUIRE(q.push(statement) == push_result::queued);
  REQUIRE(q.push(commit) == push_result::queued);
  CHECK(as_vector(q.cancel_all(nullptr)) == ptrs({&statement}));
  CHECK(q.cancel(commit) == cancel_result::removed);
  CHECK(q.pop() == nullptr);
}

TEST_CASE_METHOD(open_queue, 
    "request_queue: a release waits its turn in the main list, is never cancelled, and has nothing to do once "
    "closing") {
  begin_transaction(q, store, 3);

  // While a transaction holds the connection, a release (lease 0) waits for it to end.
  auto& release = leased(store, request_kind::release_statement, 0);
  auto& statement = leased(store, request_kind::statement, 0);
  REQUIRE(q.push(release) == push_result::queued);
  REQUIRE(q.push(statement) == push_result::queued);
  CHECK(q.pop() == nullptr);
  CHECK(q.cancel(release) == cancel_result::none);
  CHECK(as_vector(q.cancel_all(nullptr)) == ptrs({&statement}));

  auto& commit = leased(store, request_kind::statement, 3);
  REQUIRE(q.push(commit) == push_result::queued);
  REQUIRE(q.pop() == &commit);
  REQUIRE(q.ran(commit, true, false).lease_ended);
  CHECK(q.pop() == &release);
  CHECK(q.cancel(release) == cancel_result::none);  // running: not interrupted either
  CHECK_FALSE(release.interrupt.load());
  CHECK_FALSE(q.ran(release, true).stop);

  test_request close(request_kind::close);
  REQUIRE(q.push(close) == push_result::queued);
  auto& late = leased(store, request_kind::release_statement, 0);
  CHECK(q.push(late) == push_result::done_already);  // the close lets go of every statement
}

// ---- what the connection does with the queue's answers

TEST_CASE("request_queue: each refusal becomes the error the request completes with") {
  using asiolite::errc;
  const auto closed = request_queue::refusal(push_result::rejected_closed);
  CHECK(closed.code == errc::closed);
  CHECK(std::string(closed.message) == "the connection is not open");
  const auto open = request_queue::refusal(push_result::rejected_open);
  CHECK(open.code == errc::already_open);
  CHECK(std::string(open.message) == "the connection is open, opening or closing");
  const auto ended = request_queue::refusal(push_result::rejected_ended);
  CHECK(ended.code == errc::transaction_ended);
  CHECK(std::string(ended.message) == "the transaction has ended");
}

TEST_CASE("request_queue: a request that can no longer run succeeds only if it had nothing left to do") {
  CHECK(request_queue::succeeds_unrun(request_kind::close));
  CHECK(request_queue::succeeds_unrun(request_kind::rollback));
  CHECK(request_queue::succeeds_unrun(request_kind::release_statement));
  CHECK_FALSE(request_queue::succeeds_unrun(request_kind::statement));
  CHECK_FALSE(request_queue::succeeds_unrun(request_kind::begin));
  CHECK_FALSE(request_queue::succeeds_unrun(request_kind::open));
}

TEST_CASE("request_queue: take_overdue takes the queued requests whose deadline has passed, and says the next") {
  open_queue o;
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  auto& a = o.store.emplace_back(request_kind::statement);
  auto& b = o.store.emplace_back(request_kind::statement);
  auto& c = o.store.emplace_back(request_kind::begin);
  auto& none = o.store.emplace_back(request_kind::statement);  // no deadline: never taken
  a.deadline = t0 + std::chrono::milliseconds(10);
  b.deadline = t0 + std::chrono::milliseconds(30);
  c.deadline = t0 + std::chrono::milliseconds(20);
  for (request* r : ptrs({&a, &b, &c, &none})) REQUIRE(o.q.push(*r) == push_result::queued);

  std::optional<std::chrono::steady_clock::time_point> next;
  CHECK(o.q.take_overdue(t0, next) == nullptr);
  REQUIRE(next);
  CHECK(*next == a.deadline);

  CHECK(as_vector(o.q.take_overdue(t0 + std::chrono::milliseconds(20), next)) == ptrs({&a, &c}));
  CHECK(a.state == request_state::done);
  REQUIRE(next);
  CHECK(*next == b.deadline);
  CHECK(pop_all(o.q) == ptrs({&b, &none}));
  o.q.ran(b, true);
  o.q.ran(none, true);
  // Running or done: no longer the queue's to take.
  CHECK(o.q.take_overdue(t0 + std::chrono::hours(1), next) == nullptr);
  CHECK_FALSE(next);
}
