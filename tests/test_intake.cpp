// detail/intake.hpp: the lock-free way in for statements, driven directly, on one thread.
#include "catch.hpp"

#include <asiolite/detail/intake.hpp>

#include <vector>

namespace {

using asiolite::detail::database;
using asiolite::detail::intake;
using asiolite::detail::request;
using asiolite::detail::request_kind;

class intake_request final : public request {
 public:
  intake_request() noexcept : request(request_kind::statement, &on_run, &on_complete) {}

 private:
  static void on_run(request&, database&) noexcept {}
  static void on_complete(request&) noexcept {}
};

std::vector<request*> intake_order(request* list) {
  std::vector<request*> out;
  for (; list; list = list->next) out.push_back(list);
  return out;
}

}  // namespace

TEST_CASE("intake: closed until a worker opens it, and a push to a closed intake is refused") {
  intake in;
  intake_request r;
  CHECK_FALSE(in.empty());  // closed: not something a worker could find empty
  CHECK_FALSE(in.push(r).done);
  CHECK(in.take() == nullptr);
  in.open();
  CHECK(in.empty());
  CHECK(in.push(r).done);
}

TEST_CASE("intake: takes everything pushed, oldest first, and says whether a push found it empty") {
  intake in;
  in.open();
  intake_request a, b, c;
  CHECK(in.push(a).was_empty);
  CHECK_FALSE(in.push(b).was_empty);
  CHECK_FALSE(in.push(c).was_empty);
  CHECK_FALSE(in.empty());
  CHECK(intake_order(in.take()) == std::vector<request*>{&a, &b, &c});
  CHECK(in.empty());
  CHECK(in.take() == nullptr);

  intake_request d;
  CHECK(in.push(d).was_empty);  // taking left it open and empty
  CHECK(intake_order(in.take()) == std::vector<request*>{&d});
}

TEST_CASE("intake: closing takes what is left and refuses what comes after, until it opens again") {
  intake in;
  in.open();
  intake_request a, b;
  REQUIRE(in.push(a).done);
  CHECK(intake_order(in.take(true)) == std::vector<request*>{&a});
  CHECK_FALSE(in.push(b).done);
  CHECK(in.take(true) == nullptr);  // closing a closed intake takes nothing
  in.open();
  CHECK(in.push(b).done);
  CHECK(intake_order(in.take()) == std::vector<request*>{&b});
}

TEST_CASE("intake: holds_requests is true only between a push and the take, never for a closed intake") {
  intake in;
  CHECK_FALSE(in.holds_requests());  // closed
  in.open();
  CHECK_FALSE(in.holds_requests());
  intake_request r;
  REQUIRE(in.push(r).done);
  CHECK(in.holds_requests());
  CHECK(in.take() == &r);
  CHECK_FALSE(in.holds_requests());
  CHECK(in.take(true) == nullptr);
  CHECK_FALSE(in.holds_requests());  // closed again
}
