// functions.hpp: user-defined SQL functions and collations, registered on a connection,
// from sync_handle, and on every connection of a pool (through options::on_open).
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using test::tuple_token;

std::string slug(std::string_view s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
  return out;
}

struct call_outcome {
  asiolite::error_code ec;
  std::string message;
};

/// Runs a one-value query and reports how it failed (or not), with its message.
asio::awaitable<call_outcome> try_scalar(asiolite::connection& db, std::string sql) {
  asiolite::diagnostics diag;
  auto [ec, v] = co_await db.async_query_scalar<std::optional<std::string>>(sql, diag, tuple_token);
  call_outcome o{ec, diag.message()};
  co_return o;
}

using test::contains;

struct expected {
  const char* sql;
  const char* message;
};
// What each failing call reports.
const expected failure_cases[] = {
    {"SELECT slug(42)",
     "slug(): argument 1 (read as std::string_view): the value's type does not match the requested type"},
    {"SELECT slug(NULL)", "slug(): argument 1 (read as std::string_view): NULL where a value was required"},
    {"SELECT count(1.5)", "count(): argument 1 (read as int64): the value's type does not match the requested type"},
    {"SELECT slug('a', 'b')", "wrong number of arguments to function slug()"},
    {"SELECT sum(boom(x)) FROM t", "boom(): no twos here"},
    {"SELECT odd_throw()", "odd_throw(): threw an exception that is not a std::exception"},
    {"SELECT nan()", "nan(): the result is NaN, which SQLite would store as NULL"},
    {"SELECT huge()", "huge(): the result (18446744073709551615) does not fit SQLite's 64-bit signed INTEGER"},
    {"SELECT bad_text()", "bad_text(): the result is not valid UTF-8 text (return it as a blob)"},
    {"SELECT inner_error()", "inner_error(): too far"},
};

}  // namespace

TEST_CASE("functions: a scalar function reads its arguments by the decoding rules and returns by the binding rules") {
  test::database fx("CREATE TABLE t(x)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_create_function("slug", [](std::string_view s) { return slug(s); });
    co_await db.async_create_function("plus", [](std::int64_t a, double b) { return static_cast<double>(a) + b; });
    co_await db.async_create_function("twice_or_null",
                                      [](std::optional<std::int64_t> v) -> std::optional<std::int64_t> {
                                        if (!v) return std::nullopt;
                                        return *v * 2;
                                      });
    co_await db.async_create_function(
        "reversed", [](asiolite::blob_view b) { return std::vector<std::byte>(b.rbegin(), b.rend()); });
    co_await db.async_create_function("kind", [](asiolite::field_view v) { return std::string(to_string(v.type())); });
    co_await db.async_create_function("echo", [](asiolite::field_view v) { return v; });
    co_await db.async_create_function("no_result", []() {});
    const auto test_thread = std::this_thread::get_id();
    co_await db.async_create_function("on_worker",
                                      [test_thread]() { return std::this_thread::get_id() != test_thread; });

    const auto awaited = co_await db.async_query_scalar<std::string>("SELECT slug('Hello World')");
    CHECK(awaited == std::string("hello-world"));
    const auto awaited2 = co_await db.async_query_scalar<double>("SELECT plus(2, 0.5)");
    CHECK(awaited2 == 2.5);
    const auto awaited3 = co_await db.async_query_scalar<std::int64_t>("SELECT twice_or_null(21)");
    CHECK(awaited3 == 42);
    const auto awaited4 = co_await db.async_query_scalar<std::optional<std::int64_t>>("SELECT twice_or_null(NULL)");
    CHECK(awaited4 == std::nullopt);
    const auto bytes = co_await db.async_query_scalar<std::vector<std::uint8_t>>("SELECT reversed(x'010203')");
    CHECK(bytes == std::vector<std::uint8_t>{3, 2, 1});
    using kinds = std::tuple<std::string, std::string, std::string, std::string, std::string>;
    const auto k = co_await db.async_query_one<kinds>("SELECT kind(1), kind(1.5), kind('a'), kind(x'00'), kind(NULL)");
    const kinds expected_kinds{"INTEGER", "REAL", "TEXT", "BLOB", "NULL"};
    CHECK(k == expected_kinds);
    using echoed =
        std::tuple<std::int64_t, double, std::string, std::vector<std::uint8_t>, std::optional<std::int64_t>>;
    const auto e =
        co_await db.async_query_one<echoed>("SELECT echo(7), echo(0.25), echo('t'), echo(x'0a'), echo(NULL)");
    const echoed expected_echo{7, 0.25, "t", {0x0a}, std::nullopt};
    CHECK(e == expected_echo);
    const auto awaited5 = co_await db.async_query_scalar<std::optional<std::int64_t>>("SELECT no_result()");
    CHECK(awaited5 == std::nullopt);
    const bool awaited6 = co_await db.async_query_scalar<bool>("SELECT on_worker()");
    CHECK(awaited6);
    // In statements of every kind: a WHERE clause and an UPDATE.
    co_await db.async_execute("INSERT INTO t VALUES ('A b'), ('C d')");
    co_await db.async_execute("UPDATE t SET x = slug(x)");
    // (Expected values are named first: g++ 12 rejects a braced list inside a co_await
    // expression.)
    const std::vector<std::string> slugged{"a-b", "c-d"};
    const auto awaited_rows = co_await db.async_query<std::string>("SELECT x FROM t WHERE slug(x) = x ORDER BY x");
    CHECK(awaited_rows == slugged);
  });
}

TEST_CASE("functions: a variadic function takes any number of arguments through function_args") {
  test::database fx("");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_create_function("sum_all", [](asiolite::function_args args) {
      std::int64_t sum = 0;
      for (std::size_t i = 0; i < args.size(); ++i) sum += args.get<std::int64_t>(i);
      return sum;
    });
    co_await db.async_create_function(
        "count_args", [](const asiolite::function_args& args) { return static_cast<std::int64_t>(args.size()); });
    co_await db.async_create_function("third", [](asiolite::function_args args) { return args.get<std::string>(2); });
    const auto awaited7 = co_await db.async_query_scalar<std::int64_t>("SELECT sum_all()");
    CHECK(awaited7 == 0);
    const auto awaited8 = co_await db.async_query_scalar<std::int64_t>("SELECT sum_all(1, 2, 3, 4)");
    CHECK(awaited8 == 10);
    const auto awaited9 = co_await db.async_query_scalar<std::int64_t>("SELECT count_args(NULL, 'x', 1.5)");
    CHECK(awaited9 == 3);
    const auto wrong_type = co_await try_scalar(db, "SELECT sum_all(1, 'two')");
    CHECK(wrong_type.ec == asiolite::errc::error);
    CHECK(wrong_type.message ==
          "sum_all(): argument 2 (read as int64): the value's type does not match the requested type");
    const auto missing = co_await try_scalar(db, "SELECT third(1, 2)");
    CHECK(missing.message == "third(): argument 3 of 2 does not exist");
  });
}

TEST_CASE(
    "functions: what fails inside a function fails its statement with a clear message, and the connection goes on") {
  test::database fx("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2), (3)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_create_function("slug", [](std::string_view s) { return slug(s); });
    co_await db.async_create_function("count", [](std::int64_t v) { return v; });
    co_await db.async_create_function("boom", [](std::int64_t v) -> std::int64_t {
      if (v == 2) throw std::runtime_error("no twos here");
      return v;
    });
    co_await db.async_create_function("odd_throw", []() -> std::int64_t { throw 42; });
    co_await db.async_create_function("nan", []() { return std::nan(""); });
    co_await db.async_create_function("huge", []() { return std::numeric_limits<std::uint64_t>::max(); });
    co_await db.async_create_function("bad_text", []() { return std::string("\xff\xfe"); });
    co_await db.async_create_function("inner_error", []() -> std::int64_t {
      throw asiolite::sqlite_error(asiolite::make_error_code(asiolite::errc::out_of_range),
                                   asiolite::diagnostics("too far", ""));
    });

    for (const expected& c : failure_cases) {
      const auto o = co_await try_scalar(db, c.sql);
      INFO(c.sql);
      CHECK(o.ec == asiolite::errc::error);
      CHECK(o.message == c.message);
    }
    // A failed function in a write leaves nothing of the statement behind.
    asiolite::diagnostics diag;
    auto [ec, r] = co_await db.async_execute("UPDATE t SET x = boom(x)", diag, tuple_token);
    CHECK(ec == asiolite::errc::error);
    const std::vector<std::int64_t> unchanged{1, 2, 3};
    const auto awaited_rows2 = co_await db.async_query<std::int64_t>("SELECT x FROM t ORDER BY x");
    CHECK(awaited_rows2 == unchanged);
    const auto awaited10 = co_await db.async_query_scalar<std::string>("SELECT slug('Still Here')");
    CHECK(awaited10 == std::string("still-here"));
  });
}

TEST_CASE("functions: flags say where SQLite may use a function") {
  test::database fx("CREATE TABLE t(x TEXT)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_create_function(
        "det_slug", [](std::string_view s) { return slug(s); }, asiolite::function_flags::deterministic);
    co_await db.async_create_function("plain_slug", [](std::string_view s) { return slug(s); });
    co_await db.async_create_function(
        "direct", []() { return std::int64_t{1}; },
        asiolite::function_flags::direct_only | asiolite::function_flags::deterministic);
    // Only a deterministic function may define a generated column or an index.
    co_await db.async_execute("CREATE TABLE g(x TEXT, y TEXT GENERATED ALWAYS AS (det_slug(x)))");
    co_await db.async_execute("INSERT INTO g(x) VALUES ('A B')");
    const auto awaited11 = co_await db.async_query_scalar<std::string>("SELECT y FROM g");
    CHECK(awaited11 == std::string("a-b"));
    asiolite::diagnostics diag;
    auto [ec, r] = co_await db.async_execute("CREATE INDEX i ON t(plain_slug(x))", diag, tuple_token);
    CHECK(ec == asiolite::errc::error);
    CHECK(contains(diag.message(), "non-deterministic functions prohibited in index expressions"));
    // A direct-only function runs in the program's own SQL, not from a view.
    const auto awaited12 = co_await db.async_query_scalar<std::int64_t>("SELECT direct()");
    CHECK(awaited12 == 1);
    co_await db.async_execute("CREATE VIEW v AS SELECT direct() AS d");
    const auto from_view = co_await try_scalar(db, "SELECT d FROM v");
    CHECK(from_view.ec == asiolite::errc::error);
    CHECK(contains(from_view.message, "unsafe use of direct()"));
  });
}

TEST_CASE("functions: registering a name again replaces the function, removing it leaves none, and SQLite frees each") {
  auto token = std::make_shared<int>(0);
  test::database fx("");
  fx.run([&token](asiolite::connection& db) -> asio::awaitable<void> {
    // g++ 12 destroys twice a lambda that captures a non-trivial object by value inside a
    // co_await expression: each is named first.
    auto first = [t = token]() { return std::int64_t{1}; };
    co_await db.async_create_function("which", std::move(first));
    const auto awaited13 = co_await db.async_query_scalar<std::int64_t>("SELECT which()");
    CHECK(awaited13 == 1);
    CHECK(token.use_count() == 2);
    auto second = [t = token]() { return std::int64_t{2}; };
    co_await db.async_create_function("which", std::move(second));
    const auto awaited14 = co_await db.async_query_scalar<std::int64_t>("SELECT which()");
    CHECK(awaited14 == 2);
    CHECK(token.use_count() == 2);  // the first one is gone
    // Another number of arguments is another function.
    auto unary = [t = token](std::int64_t v) { return v; };
    co_await db.async_create_function("which", std::move(unary));
    const auto awaited15 = co_await db.async_query_scalar<std::int64_t>("SELECT which(7)");
    CHECK(awaited15 == 7);
    CHECK(token.use_count() == 3);
    co_await db.async_remove_function("which", 0);
    CHECK(token.use_count() == 2);
    const auto removed = co_await try_scalar(db, "SELECT which()");
    CHECK(removed.ec == asiolite::errc::error);
    CHECK(contains(removed.message, "wrong number of arguments to function which()"));
    const auto awaited16 = co_await db.async_query_scalar<std::int64_t>("SELECT which(8)");
    CHECK(awaited16 == 8);
  });
  // Closing the connection frees what is still registered.
  CHECK(token.use_count() == 1);
}

TEST_CASE("functions: SQLite refuses to replace a function that a running statement uses, with busy") {
  test::database fx("");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_create_function("ident", [](std::int64_t v) { return v; });
    asiolite::cursor_options one_by_one;
    one_by_one.batch_size = 1;
    {
      auto cur = co_await db.async_cursor<std::int64_t>(
          one_by_one,
          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) SELECT ident(i) FROM n");
      const auto row1 = co_await cur.async_next();
      CHECK(row1 == std::optional<std::int64_t>(1));
      asiolite::diagnostics diag;
      auto [ec] = co_await db.async_create_function(
          "ident", [](std::int64_t v) { return v + 1; }, diag, tuple_token);
      CHECK(ec == asiolite::errc::busy);
      CHECK(contains(diag.message(), "unable to delete/modify user-function due to active statements"));
      const auto row2 = co_await cur.async_next();
      CHECK(row2 == std::optional<std::int64_t>(2));
    }
    // The cursor is gone: now it can.
    co_await db.async_create_function("ident", [](std::int64_t v) { return v + 1; });
    const auto awaited17 = co_await db.async_query_scalar<std::int64_t>("SELECT ident(1)");
    CHECK(awaited17 == 2);
  });
}

TEST_CASE("functions: a name SQLite cannot take fails clearly, frees the callable, and changes nothing") {
  auto token = std::make_shared<int>(0);
  test::database fx("");
  fx.run([&token](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    using namespace std::string_literals;
    auto f1 = [t = token]() { return 1; };
    auto [nul] = co_await db.async_create_function("a\0b"s, std::move(f1), diag, tuple_token);
    CHECK(nul == asiolite::errc::embedded_nul);
    CHECK(diag.message() == "the function's name holds a NUL character");
    const std::string long_name(256, 'f');
    auto f2 = [t = token]() { return 1; };
    auto [too_long] = co_await db.async_create_function(long_name, std::move(f2), diag, tuple_token);
    CHECK(too_long == asiolite::errc::misuse);
    CHECK(contains(diag.message(), "could not register the function fff"));
    auto c3 = [t = token](std::string_view, std::string_view) { return 0; };
    auto [bad_collation] = co_await db.async_create_collation("x\0y"s, std::move(c3), diag, tuple_token);
    CHECK(bad_collation == asiolite::errc::embedded_nul);
    CHECK(token.use_count() == 1);
    co_await db.async_create_function("ok", []() { return 1; });
    const auto awaited18 = co_await db.async_query_scalar<std::int64_t>("SELECT ok()");
    CHECK(awaited18 == 1);
  });
}

TEST_CASE("functions: a collation orders text by a comparison, and one that throws compares equal") {
  test::database fx("CREATE TABLE t(x TEXT); INSERT INTO t VALUES ('b'), ('C'), ('a'), ('D')");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_create_collation("reverse_nocase", [](std::string_view a, std::string_view b) {
      std::string la, lb;
      for (char c : a) la += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (char c : b) lb += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return lb <=> la;  // a three-way result works as an int does
    });
    const std::vector<std::string> reversed{"D", "C", "b", "a"};
    const auto awaited_rows3 =
        co_await db.async_query<std::string>("SELECT x FROM t ORDER BY x COLLATE reverse_nocase");
    CHECK(awaited_rows3 == reversed);
    co_await db.async_create_collation("by_length", [](std::string_view a, std::string_view b) {
      return static_cast<int>(a.size()) - static_cast<int>(b.size());
    });
    const auto awaited19 = co_await db.async_query_scalar<std::int64_t>("SELECT 'abc' = 'xyz' COLLATE by_length");
    CHECK(awaited19 == 1);
    co_await db.async_create_collation(
        "throws", [](std::string_view, std::string_view) -> int { throw std::runtime_error("cannot compare"); });
    const auto awaited20 = co_await db.async_query_scalar<std::int64_t>("SELECT 'a' = 'b' COLLATE throws");
    CHECK(awaited20 == 1);
    co_await db.async_remove_collation("by_length");
    const auto removed = co_await try_scalar(db, "SELECT 'a' = 'b' COLLATE by_length");
    CHECK(removed.ec == asiolite::errc::error);
    CHECK(removed.message == "no such collation sequence: by_length");
    const std::vector<std::string> first{"D"};
    const auto awaited_rows4 =
        co_await db.async_query<std::string>("SELECT x FROM t ORDER BY x COLLATE reverse_nocase LIMIT 1");
    CHECK(awaited_rows4 == first);
  });
}

TEST_CASE("functions: calls from many coroutines on a multi-threaded io_context run one at a time on the worker") {
  test::database fx("");
  auto calls = std::make_shared<std::int64_t>(0);  // not atomic: the worker is the only thread that calls
  test::run(fx.ctx, [](asiolite::connection& db, std::shared_ptr<std::int64_t> c) -> asio::awaitable<void> {
    auto next = [c]() { return ++*c; };
    co_await db.async_create_function("next", std::move(next));
  }(fx.db, calls));
  constexpr int coroutines = 64, each = 20;
  std::vector<std::int64_t> seen;
  std::mutex m;
  std::atomic<int> failures{0};
  for (int i = 0; i < coroutines; ++i) {
    asio::co_spawn(
        asio::make_strand(fx.ctx),
        [](asiolite::connection& db, std::vector<std::int64_t>& out, std::mutex& mu,
           std::atomic<int>& failed) -> asio::awaitable<void> {
          for (int k = 0; k < each; ++k) {
            auto [ec, v] = co_await db.async_query_scalar<std::int64_t>("SELECT next()", tuple_token);
            if (ec) {
              ++failed;
              continue;
            }
            std::lock_guard lock(mu);
            out.push_back(v);
          }
        }(fx.db, seen, m, failures),
        asio::detached);
  }
  test::run_on_threads(fx.ctx, 4);
  CHECK(failures == 0);
  std::sort(seen.begin(), seen.end());
  std::vector<std::int64_t> expected(coroutines * each);
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::int64_t>(i) + 1;
  CHECK(seen == expected);
  fx.run([](asiolite::connection&) -> asio::awaitable<void> { co_return; });
}

TEST_CASE("functions: statement_timeout stops a query that calls a slow function, between two calls") {
  asiolite::options opts;
  opts.statement_timeout = std::chrono::milliseconds(50);
  test::database fx("", opts);
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_create_function("slow", [](std::int64_t v) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      return v;
    });
    asiolite::diagnostics diag;
    auto [ec, v] = co_await db.async_query_scalar<std::int64_t>(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) SELECT sum(slow(i)) FROM n",
        diag, tuple_token);
    // Between two calls, SQLite's progress handler sees the deadline (a million calls
    // would take 200 s).
    CHECK(ec == asio::error::timed_out);
    const auto awaited24 = co_await db.async_query_scalar<std::int64_t>("SELECT slow(5)");
    CHECK(awaited24 == 5);
  });
}

TEST_CASE("functions: cancelling a query that calls a slow function interrupts it once it runs") {
  test::database fx("");
  auto started = std::make_shared<std::atomic<bool>>(false);
  test::run(fx.ctx, [](asiolite::connection& db, std::shared_ptr<std::atomic<bool>> running) -> asio::awaitable<void> {
    auto slow = [running](std::int64_t v) {
      running->store(true);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      return v;
    };
    co_await db.async_create_function("slow", std::move(slow));
    asio::cancellation_signal cancel;
    std::optional<asiolite::error_code> result;
    db.async_query_scalar<std::int64_t>(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) SELECT sum(slow(i)) FROM n",
        asio::bind_cancellation_slot(cancel.slot(), [&result](asiolite::error_code e, std::int64_t) { result = e; }));
    // Cancelled only once the function runs: a queued request would simply be removed.
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!running->load()) {
      timer.expires_after(std::chrono::milliseconds(1));
      co_await timer.async_wait(asio::use_awaitable);
    }
    cancel.emit(asio::cancellation_type::terminal);
    while (!result) {
      timer.expires_after(std::chrono::milliseconds(1));
      co_await timer.async_wait(asio::use_awaitable);
    }
    CHECK(*result == asio::error::operation_aborted);
    const auto awaited25 = co_await db.async_query_scalar<std::int64_t>("SELECT slow(6)");
    CHECK(awaited25 == 6);
  }(fx.db, started));
  fx.run([](asiolite::connection&) -> asio::awaitable<void> { co_return; });  // closes it
}

// ---- aggregate and window functions

namespace {

// How many aggregate states exist: each one made must be destroyed, whatever happened.
std::atomic<int> live_states{0};

struct tracked {
  tracked() noexcept { ++live_states; }
  tracked(const tracked&) noexcept { ++live_states; }
  tracked& operator=(const tracked&) = default;
  ~tracked() { --live_states; }
};

struct int_total : tracked {
  std::int64_t total = 0;
  void step(std::int64_t v) { total += v; }
  std::int64_t finalize() const { return total; }
};

struct text_join : tracked {
  std::string separator;
  std::string out;
  bool any = false;
  void step(std::optional<std::string_view> v) {
    if (!v) return;
    if (any) out += separator;
    out += *v;
    any = true;
  }
  std::optional<std::string> finalize() const {
    if (!any) return std::nullopt;
    return out;
  }
};

struct count_values : tracked {
  std::int64_t n = 0;
  void step(const asiolite::function_args& args) {
    for (std::size_t i = 0; i < args.size(); ++i) n += args[i].is_null() ? 0 : 1;
  }
  std::int64_t finalize() const { return n; }
};

// A window function: the sum of the rows in the frame, kept up to date as rows enter
// (step) and leave (inverse).
struct moving_total : tracked {
  std::int64_t total = 0;
  void step(std::int64_t v) { total += v; }
  void inverse(std::int64_t v) { total -= v; }
  std::int64_t value() const { return total; }
  std::int64_t finalize() const { return total; }
};

struct throwing_step : tracked {
  std::int64_t total = 0;
  void step(std::int64_t v) {
    if (v == 2) throw std::runtime_error("no twos here");
    total += v;
  }
  std::int64_t finalize() const { return total; }
};

struct throwing_finalize : tracked {
  void step(std::int64_t) {}
  std::int64_t finalize() const { throw std::runtime_error("cannot finish"); }
};

struct slow_total : tracked {
  std::int64_t total = 0;
  void step(std::int64_t v) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    total += v;
  }
  std::int64_t finalize() const { return total; }
};

}  // namespace

TEST_CASE("functions: an aggregate keeps one state per group, reads rows as a function's arguments, and finalizes") {
  test::database fx(
      "CREATE TABLE t(g TEXT, x INTEGER, s TEXT);"
      "INSERT INTO t VALUES ('a', 1, 'x'), ('a', 2, NULL), ('a', 3, 'y'), ('b', 10, 'z'), ('b', 20, NULL)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_create_aggregate("int_total", [] { return int_total{}; });
    auto make_join = [] {
      text_join j;
      j.separator = "+";
      return j;
    };
    co_await db.async_create_aggregate("joined", make_join, asiolite::function_flags::deterministic);
    co_await db.async_create_aggregate("count_values", [] { return count_values{}; });

    using row = std::tuple<std::string, std::int64_t, std::optional<std::string>, std::int64_t>;
    const std::vector<row> grouped{{"a", 6, "x+y", 8}, {"b", 30, "z", 5}};
    const auto by_group = co_await db.async_query<row>(
        "SELECT g, int_total(x), joined(s), count_values(g, x, s) FROM t GROUP BY g ORDER BY g");
    CHECK(by_group == grouped);
    // No rows at all: one state is made to be finalized.
    using empty_row = std::tuple<std::int64_t, std::optional<std::string>, std::int64_t>;
    const std::vector<empty_row> nothing{{0, std::nullopt, 0}};
    const auto over_nothing =
        co_await db.async_query<empty_row>("SELECT int_total(x), joined(s), count_values() FROM t WHERE 0");
    CHECK(over_nothing == nothing);
    // An argument that does not convert names the aggregate and the argument.
    const auto wrong = co_await try_scalar(db, "SELECT int_total(s) FROM t");
    CHECK(wrong.ec == asiolite::errc::error);
    CHECK(wrong.message ==
          "int_total(): argument 1 (read as int64): the value's type does not match the requested type");
    const auto count = co_await try_scalar(db, "SELECT int_total(x, x) FROM t");
    CHECK(count.message == "wrong number of arguments to function int_total()");
    // Removed like a scalar function.
    co_await db.async_remove_function("int_total", 1);
    const auto removed = co_await try_scalar(db, "SELECT int_total(x) FROM t");
    CHECK(removed.message == "no such function: int_total");
  });
  CHECK(live_states == 0);
}

TEST_CASE("functions: a state with inverse and value makes a window function that matches SQLite's own sum") {
  test::database fx("CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
        "INSERT INTO t SELECT i, (i * 7919) % 101 - 50 FROM n");
    co_await db.async_create_aggregate("moving_total", [] { return moving_total{}; });
    using pair = std::tuple<std::int64_t, std::int64_t>;
    const auto rows = co_await db.async_query<pair>(
        "SELECT moving_total(x) OVER w, sum(x) OVER w FROM t "
        "WINDOW w AS (ORDER BY id ROWS BETWEEN 3 PRECEDING AND 1 FOLLOWING) ORDER BY id");
    REQUIRE(rows.size() == 200);
    std::size_t same = 0;
    for (const auto& [a, b] : rows) same += a == b ? 1 : 0;
    CHECK(same == rows.size());
    // Also an ordinary aggregate, and a window over partitions.
    const auto mine = co_await db.async_query_scalar<std::int64_t>("SELECT moving_total(x) FROM t");
    const auto sqlites = co_await db.async_query_scalar<std::int64_t>("SELECT sum(x) FROM t");
    CHECK(mine == sqlites);
    const auto partitioned = co_await db.async_query<pair>(
        "SELECT moving_total(x) OVER p, sum(x) OVER p FROM t WINDOW p AS (PARTITION BY id % 3) ORDER BY id");
    std::size_t same_partitioned = 0;
    for (const auto& [a, b] : partitioned) same_partitioned += a == b ? 1 : 0;
    CHECK(same_partitioned == partitioned.size());
  });
  CHECK(live_states == 0);
}

TEST_CASE("functions: what an aggregate throws fails its statement, every state is destroyed, the connection goes on") {
  test::database fx("CREATE TABLE t(g INTEGER, x INTEGER); INSERT INTO t VALUES (1, 1), (1, 2), (2, 3), (2, 4)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_create_aggregate("step_throws", [] { return throwing_step{}; });
    co_await db.async_create_aggregate("finalize_throws", [] { return throwing_finalize{}; });
    co_await db.async_create_aggregate("make_throws", []() -> int_total { throw std::runtime_error("no state"); });
    const expected cases[] = {
        {"SELECT step_throws(x) FROM t GROUP BY g", "step_throws(): no twos here"},
        {"SELECT finalize_throws(x) FROM t", "finalize_throws(): cannot finish"},
        {"SELECT make_throws(x) FROM t", "make_throws(): no state"},
        {"SELECT make_throws(x) FROM t WHERE 0", "make_throws(): no state"},
    };
    for (const expected& c : cases) {
      const auto o = co_await try_scalar(db, c.sql);
      INFO(c.sql);
      CHECK(o.ec == asiolite::errc::error);
      CHECK(o.message == c.message);
    }
    // The connection goes on, and so does the aggregate where it does not throw.
    const auto without_twos = co_await db.async_query_scalar<std::int64_t>("SELECT step_throws(x) FROM t WHERE x <> 2");
    CHECK(without_twos == 8);
  });
  CHECK(live_states == 0);
}

TEST_CASE("functions: statement_timeout stops an aggregate between two rows, and its state is destroyed") {
  asiolite::options opts;
  opts.statement_timeout = std::chrono::milliseconds(50);
  test::database fx("", opts);
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_create_aggregate("slow_total", [] { return slow_total{}; });
    asiolite::diagnostics diag;
    auto [ec, v] = co_await db.async_query_scalar<std::int64_t>(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) "
        "SELECT slow_total(i) FROM n",
        diag, tuple_token);
    CHECK(ec == asio::error::timed_out);
    const auto still_works = co_await db.async_query_scalar<std::int64_t>("SELECT slow_total(5)");
    CHECK(still_works == 5);
  });
  CHECK(live_states == 0);
}

TEST_CASE("functions: sync_handle registers on the worker, and on_open registers on every connection of a pool") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::pool_options po;
  po.readers = 2;
  po.connection.on_open = [](asiolite::sync_handle& h) {
    h.create_function(
        "slug", [](std::string_view s) { return slug(s); }, asiolite::function_flags::deterministic);
    h.create_collation("by_length", [](std::string_view a, std::string_view b) {
      return static_cast<int>(a.size()) - static_cast<int>(b.size());
    });
    h.create_aggregate(
        "int_total", [] { return int_total{}; }, asiolite::function_flags::deterministic);
  };
  test::run(ctx, [](asio::any_io_executor ex, std::string path, asiolite::pool_options o) -> asio::awaitable<void> {
    auto db = co_await asiolite::pool::async_open(ex, path, o);
    co_await db.writer().async_execute("CREATE TABLE t(x TEXT)");
    co_await db.writer().async_execute("INSERT INTO t VALUES (slug('On Writer'))");
    const auto on_writer = co_await db.writer().async_query_scalar<std::int64_t>("SELECT int_total(length(x)) FROM t");
    CHECK(on_writer == 9);
    // Every reader has them: hold one with a read transaction, and read on the other too.
    auto rt = co_await db.async_begin_read();
    const auto slug_on_held = co_await rt.async_query_scalar<std::string>("SELECT slug(x) FROM t");
    CHECK(slug_on_held == std::string("on-writer"));
    const auto total_on_held = co_await rt.async_query_scalar<std::int64_t>("SELECT int_total(length(x)) FROM t");
    CHECK(total_on_held == 9);
    const auto slug_on_other = co_await db.async_query_scalar<std::string>("SELECT slug('On Reader')");
    CHECK(slug_on_other == std::string("on-reader"));
    const auto collated = co_await db.async_query_scalar<std::int64_t>("SELECT 'ab' = 'cd' COLLATE by_length");
    CHECK(collated == 1);
    const auto total_on_other = co_await db.async_query_scalar<std::int64_t>("SELECT int_total(4) FROM t");
    CHECK(total_on_other == 4);
    co_await rt.async_commit();
    // sync_handle's own calls, and their failures, inside async_call.
    auto refused = co_await db.writer().async_call([](asiolite::sync_handle& h) {
      h.remove_function("slug", 1);
      h.remove_function("int_total", 1);
      h.remove_collation("by_length");
      int nul_names = 0;
      try {
        h.create_function(std::string_view("bad\0name", 8), []() { return 1; });
      } catch (const asiolite::sqlite_error& e) {
        nul_names += e.code() == asiolite::errc::embedded_nul ? 1 : 0;
      }
      try {
        h.create_aggregate(std::string_view("bad\0name", 8), [] { return int_total{}; });
      } catch (const asiolite::sqlite_error& e) {
        nul_names += e.code() == asiolite::errc::embedded_nul ? 1 : 0;
      }
      return nul_names;
    });
    CHECK(refused == 2);
    asiolite::diagnostics diag;
    auto [ec, v] = co_await db.writer().async_query_scalar<std::string>("SELECT slug('x')", diag, tuple_token);
    CHECK(ec == asiolite::errc::error);
    CHECK(diag.message() == "no such function: slug");
    auto [agg_ec, t] = co_await db.writer().async_query_scalar<std::int64_t>("SELECT int_total(1)", diag, tuple_token);
    CHECK(agg_ec == asiolite::errc::error);
    CHECK(diag.message() == "no such function: int_total");
    co_await db.async_close();
  }(ctx.get_executor(), dir.db(), po));
  CHECK(live_states == 0);
}

TEST_CASE("functions: pool::async_call_on_each registers on the writer and every reader at run time") {
  test::temp_dir dir;
  asio::io_context ctx;
  test::run(ctx, [](asio::any_io_executor ex, std::string path) -> asio::awaitable<void> {
    asiolite::pool_options po;
    po.readers = 2;
    auto db = co_await asiolite::pool::async_open(ex, path, po);
    co_await db.writer().async_execute("CREATE TABLE t(x TEXT)");
    int calls = 0;  // fn is called on one worker at a time, never copied
    auto add_slug = [&calls](asiolite::sync_handle& h) {
      ++calls;
      h.create_function(
          "slug", [](std::string_view s) { return slug(s); }, asiolite::function_flags::deterministic);
    };
    co_await db.async_call_on_each(add_slug);
    CHECK(calls == 3);
    co_await db.writer().async_execute("INSERT INTO t VALUES (slug('On Writer'))");
    // Hold one reader with a read transaction, and read on the other too.
    auto rt = co_await db.async_begin_read();
    const auto on_held = co_await rt.async_query_scalar<std::string>("SELECT slug(x) FROM t");
    CHECK(on_held == std::string("on-writer"));
    const auto on_other = co_await db.async_query_scalar<std::string>("SELECT slug('On Reader')");
    CHECK(on_other == std::string("on-reader"));
    co_await rt.async_commit();

    // A throw on the second connection (the first reader) stops there, with its message.
    int reached = 0;
    auto fails_on_second = [&reached](asiolite::sync_handle&) {
      if (++reached == 2) throw std::runtime_error("refused here");
    };
    asiolite::diagnostics diag;
    auto [ec] = co_await db.async_call_on_each(fails_on_second, diag, tuple_token);
    CHECK(ec);
    CHECK(reached == 2);
    CHECK(test::contains(diag.message(), "refused here"));
    co_await db.async_close();
    auto [closed] = co_await db.async_call_on_each(add_slug, tuple_token);
    CHECK(closed == asiolite::errc::closed);
  }(ctx.get_executor(), dir.db()));
}
