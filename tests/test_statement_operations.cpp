// statement_operations.hpp: the operations shared by connections and transactions
// (the statement forms themselves are covered in test_values.cpp and test_error.cpp;
// cursors and prepared statements in their own files).
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <atomic>
#include <cstdint>
#include <list>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

TEST_CASE("async_call runs its function on the worker thread and delivers the result") {
  asio::io_context ctx;
  auto db = test::open(ctx, ":memory:");
  std::thread::id worker;
  asiolite::options opts;
  auto result = test::run(ctx, [](asiolite::connection& conn, std::thread::id& tid) -> asio::awaitable<std::int64_t> {
    co_await conn.async_call([&tid](asiolite::sync_handle& h) {
      tid = std::this_thread::get_id();
      h.execute("CREATE TABLE t(x)");
      for (int i = 1; i <= 100; ++i) h.execute("INSERT INTO t VALUES (?)", i);
    });
    co_return co_await conn.async_call(
        [](asiolite::sync_handle& h) { return h.query_scalar<std::int64_t>("SELECT sum(x) FROM t"); });
  }(db, worker));
  CHECK(result == 5050);
  CHECK(worker != std::thread::id());
  CHECK(worker != std::this_thread::get_id());
}

TEST_CASE("an exception thrown by async_call's function reaches the caller, and the worker goes on") {
  asio::io_context ctx;
  auto db = test::open(ctx, ":memory:");
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    bool caught = false;
    try {
      co_await conn.async_call([](asiolite::sync_handle&) -> int { throw std::invalid_argument("no thanks"); });
    } catch (const std::invalid_argument& e) {
      caught = std::string(e.what()) == "no thanks";
    }
    CHECK(caught);

    asiolite::diagnostics diag;
    auto [ec, n] = co_await conn.async_call([](asiolite::sync_handle&) -> int { throw std::runtime_error("again"); },
                                            diag, asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::user_exception);
    CHECK(diag.message() == "again");

    // An sqlite_error thrown by a sync_handle call keeps its code on the error_code path.
    auto [ec2] = co_await conn.async_call([](asiolite::sync_handle& h) { h.execute("SELECT * FROM nowhere"); },
                                          asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec2 == asiolite::errc::error);

    const auto awaited =
        co_await conn.async_call([](asiolite::sync_handle& h) { return h.query_scalar<int>("SELECT 3"); });
    CHECK(awaited == 3);
  }(db));
}

TEST_CASE("async_call accepts move-only callables and returns copies of what they return") {
  asio::io_context ctx;
  auto db = test::open(ctx, ":memory:");
  auto text = test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<std::string> {
    // Named first: g++ 12 destroys a lambda temporary with non-trivial captures twice
    // inside a co_await expression.
    auto fn = [p = std::make_unique<std::string>("kept")](asiolite::sync_handle&) -> const std::string& { return *p; };
    co_return co_await conn.async_call(std::move(fn));
  }(db));
  CHECK(text == "kept");
}

namespace {

struct stored_person {
  std::int64_t id;
  std::string name;
};

// (Not inside CHECK: g++ 12 evaluates a co_await inside a Catch assertion more than once.)
asio::awaitable<std::int64_t> count_in(asiolite::connection& db, std::string table) {
  co_return co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM " + table);
}

asio::awaitable<bool> in_transaction(asiolite::connection& db) {
  co_return co_await db.async_call([](asiolite::sync_handle& h) { return !sqlite3_get_autocommit(h.native_handle()); });
}

std::int64_t count_rows(asio::io_context& ctx, asiolite::connection& db, std::string table) {
  return test::run(ctx, [](asiolite::connection& conn, std::string table_name) -> asio::awaitable<std::int64_t> {
    co_return co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM " + table_name);
  }(db, std::move(table)));
}

}  // namespace

TEST_CASE("async_execute_many binds every element of a range of tuples, aggregates or values, in one request") {
  test::database fx("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    std::vector<std::tuple<int, std::string>> tuples;
    for (int i = 1; i <= 500; ++i) tuples.emplace_back(i, "t" + std::to_string(i));
    auto r = co_await db.async_execute_many("INSERT INTO t(id, name) VALUES (?, ?)", tuples);
    CHECK(r.changes == 500);
    CHECK(r.elements == 500);
    CHECK(r.last_insert_rowid == 500);
    CHECK(r.total_changes == 500);
    CHECK(!r.failed_element);

    const std::vector<stored_person> people{{1001, "ada"}, {1002, "bob"}};
    r = co_await db.async_execute_many("INSERT INTO t(id, name) VALUES (?, ?)", people);
    CHECK(r.changes == 2);
    CHECK(r.last_insert_rowid == 1002);
    CHECK(r.total_changes == 502);

    const std::vector<std::pair<std::string, int>> renames{{"first", 1}, {"second", 2}};
    r = co_await db.async_execute_many("UPDATE t SET name = ? WHERE id = ?", renames);
    CHECK(r.changes == 2);

    // Single values, for a statement of one parameter; an UPDATE matching nothing adds 0.
    const std::vector<int> ids{3, 4, 99999};
    r = co_await db.async_execute_many("DELETE FROM t WHERE id = ?", ids);
    CHECK(r.changes == 2);
    CHECK(r.elements == 3);

    const auto count = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(count == 500);
    const auto name = co_await db.async_query_scalar<std::string>("SELECT name FROM t WHERE id = 2");
    CHECK(name == "second");
  });
}

TEST_CASE("async_execute_many is all or nothing: the failing element is named and none is applied") {
  test::database fx("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("INSERT INTO t(id, name) VALUES (100, 'taken')");
    const std::vector<stored_person> batch{{1, "a"}, {2, "b"}, {3, "c"}, {4, "taken"}, {5, "e"}};

    asiolite::diagnostics diag;
    auto [ec, r] = co_await db.async_execute_many("INSERT INTO t(id, name) VALUES (?, ?)", batch, diag,
                                                  asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::constraint);
    CHECK(r.failed_element == std::optional<std::size_t>(3));
    CHECK(r.elements == 3);
    CHECK(r.changes == 0);
    CHECK(diag.message().find("element 3: UNIQUE constraint failed: t.name") == 0);
    CHECK(diag.message().find("no element was applied") != std::string::npos);
    const auto count = co_await count_in(db, "t");
    CHECK(count == 1);

    // The co_await path: the same words in sqlite_error.
    std::string what;
    try {
      co_await db.async_execute_many("INSERT INTO t(id, name) VALUES (?, ?)", batch);
    } catch (const asiolite::sqlite_error& e) {
      what = e.what();
    }
    CHECK(what.find("element 3: UNIQUE constraint failed") == 0);

    // The connection is not left inside a transaction.
    const bool open_transaction = co_await in_transaction(db);
    CHECK(!open_transaction);
  });
}

TEST_CASE("inside a transaction, a failing async_execute_many undoes only its own elements") {
  test::database fx("CREATE TABLE t(id INTEGER PRIMARY KEY)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("BEGIN");
    co_await db.async_execute("INSERT INTO t VALUES (1)");
    const std::vector<int> ids{2, 3, 1};
    auto [ec, r] = co_await db.async_execute_many("INSERT INTO t VALUES (?)", ids,
                                                  asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::constraint);
    CHECK(r.failed_element == std::optional<std::size_t>(2));
    // The transaction is still open, with its own row and without the batch's.
    const bool open_transaction = co_await in_transaction(db);
    CHECK(open_transaction);
    const auto count = co_await count_in(db, "t");
    CHECK(count == 1);
    const std::vector<int> more{2, 3};
    const auto r2 = co_await db.async_execute_many("INSERT INTO t VALUES (?)", more);
    CHECK(r2.changes == 2);
    co_await db.async_execute("COMMIT");
    const auto committed = co_await count_in(db, "t");
    CHECK(committed == 3);
  });
}

TEST_CASE("async_execute_many rejects an element of the wrong arity or a value that cannot bind, and names it") {
  test::database fx("CREATE TABLE t(a, b)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    const std::vector<std::tuple<int, int, int>> three{{1, 2, 3}};
    auto [ec, r] = co_await db.async_execute_many("INSERT INTO t VALUES (?, ?)", three, diag,
                                                  asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::parameter_count);
    CHECK(r.failed_element == std::optional<std::size_t>(0));
    CHECK(diag.message().find("element 0: the statement has 2 parameters but 3 arguments were given") == 0);

    const std::vector<std::tuple<int, std::string>> texts{{1, "ok"}, {2, "ok"}, {3, std::string("\xff\xfe")}};
    auto [ec2, r2] = co_await db.async_execute_many("INSERT INTO t VALUES (?, ?)", texts, diag,
                                                    asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec2 == asiolite::errc::invalid_utf8);
    CHECK(r2.failed_element == std::optional<std::size_t>(2));
    CHECK(diag.message().find("element 2: argument 2 is not valid UTF-8") == 0);
    const auto count = co_await count_in(db, "t");
    CHECK(count == 0);

    // A statement that does not prepare names no element.
    auto [ec3, r3] = co_await db.async_execute_many("INSERT INTO nowhere VALUES (?)", texts,
                                                    asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec3 == asiolite::errc::error);
    CHECK(!r3.failed_element);

    // An empty range does nothing, successfully.
    const std::vector<std::tuple<int, int>> none;
    auto empty = co_await db.async_execute_many("INSERT INTO t VALUES (?, ?)", none);
    CHECK(empty.changes == 0);
    CHECK(empty.elements == 0);
    // Also when the elements would be packed (views), and when a packed element has the wrong arity.
    const std::vector<std::tuple<std::string_view, std::string_view>> no_views;
    empty = co_await db.async_execute_many("INSERT INTO t VALUES (?, ?)", no_views);
    CHECK(empty.elements == 0);
    const std::vector<std::tuple<std::string_view>> one_view{{"a"}};
    auto [ec4, r4] = co_await db.async_execute_many("INSERT INTO t VALUES (?, ?)", one_view, diag,
                                                    asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec4 == asiolite::errc::parameter_count);
    CHECK(r4.failed_element == std::optional<std::size_t>(0));
  });
}

TEST_CASE("async_execute_many copies the range before it returns") {
  asio::io_context ctx;
  test::temp_dir dir;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t(x TEXT)");
  }(db));
  asiolite::error_code result = asiolite::make_error_code(asiolite::errc::error);
  std::int64_t changes = 0;
  {
    std::vector<std::string> texts{"a", "b", "c"};
    std::vector<std::tuple<std::string_view>> views{{texts[0]}, {texts[1]}, {texts[2]}};
    db.async_execute_many("INSERT INTO t VALUES (?)", views, [&](asiolite::error_code ec, asiolite::execute_many_result r) {
      result = ec;
      changes = r.changes;
    });
    // A moved vector is taken over; another range, even an rvalue, is copied from.
    // (Not a std::views adaptor: clang 14 cannot compile libstdc++ 12's.)
    std::vector<std::string> moved{"d", "e"};
    db.async_execute_many("INSERT INTO t VALUES (?)", std::move(moved), [](asiolite::error_code, auto) {});
    struct owned {
      std::string x;
    };
    std::vector<owned> moved_aggregates{{"f"}, {"g"}};
    db.async_execute_many("INSERT INTO t VALUES (?)", std::move(moved_aggregates), [](asiolite::error_code, auto) {});
    moved_aggregates.assign(2, owned{"y"});  // moved from: reusable, and nothing the request reads
    db.async_execute_many("INSERT INTO t VALUES (?)", std::list<std::string>{texts[0], texts[2]},
                          [](asiolite::error_code, auto) {});
    texts.assign(3, std::string(100, 'x'));  // the request's copies are unaffected
  }
  ctx.run();
  ctx.restart();
  CHECK(!result);
  CHECK(changes == 3);
  auto all = test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<std::vector<std::string>> {
    co_return co_await conn.async_query<std::string>("SELECT x FROM t ORDER BY rowid");
  }(db));
  CHECK(all == std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "a", "c"});
}

namespace {

// Element i of the packing tests: text and blobs of many sizes (none, empty, small, larger
// than the arena's blocks), so that the copies span several blocks and some get their own.
std::string packed_text(int i) {
  const std::size_t size = i % 1000 == 999 ? 200'000 : static_cast<std::size_t>(i % 300);
  std::string t(size, ' ');
  for (std::size_t k = 0; k < size; ++k) t[k] = static_cast<char>('a' + (static_cast<std::size_t>(i) + k) % 26);
  return t;
}

std::vector<std::uint8_t> packed_bytes(int i) {
  std::size_t size = i % 11 == 0 ? 0 : static_cast<std::size_t>(i * 37 % 500);
  if (i % 1000 == 500) size = 40'000;
  std::vector<std::uint8_t> b(size);
  for (std::size_t k = 0; k < size; ++k) b[k] = static_cast<std::uint8_t>(static_cast<std::size_t>(i) * 7 + k);
  return b;
}

// What element i reads back as: id, c, o, sv, vb, bv.
using packed_row = std::tuple<int, std::optional<std::string>, std::optional<std::string>, std::string,
                              std::vector<std::uint8_t>, std::vector<std::uint8_t>>;

packed_row expected_packed(int i) {
  std::optional<std::string> c, o;
  if (i % 5 != 0) c = packed_text(i % 50);
  if (i % 7 == 1) o = "";
  if (i % 7 > 1) o = packed_text(i + 3);
  return {i, c, o, packed_text(i), packed_bytes(i), packed_bytes(i + 1)};
}

std::vector<packed_row> read_packed(asio::io_context& ctx, asiolite::connection& db) {
  return test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<std::vector<packed_row>> {
    co_return co_await conn.async_query<packed_row>("SELECT id, c, o, sv, vb, bv FROM p ORDER BY id");
  }(db));
}

// Elements made as the range is read, viewing the iterator's own buffers: an input range
// whose elements are values, not references (the request must copy each before the next).
constexpr int made_count = 1200;

class made_elements {
 public:
  using element = std::tuple<int, std::string_view, asiolite::blob_view>;
  explicit made_elements(int count) : count_(count) {}

  class iterator {
   public:
    using value_type = element;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(int i) : i_(i) {}
    element operator*() const {
      text_ = packed_text(i_);
      bytes_ = packed_bytes(i_);
      return {i_, text_, std::as_bytes(std::span(bytes_))};
    }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    void operator++(int) { ++i_; }
    bool operator==(const iterator& o) const { return i_ == o.i_; }

   private:
    int i_ = 0;
    mutable std::string text_;
    mutable std::vector<std::uint8_t> bytes_;
  };

  iterator begin() const { return iterator(0); }
  iterator end() const { return iterator(count_); }

 private:
  int count_;
};

}  // namespace

TEST_CASE("async_execute_many copies text and blobs of every shape, keeping NULL and empty apart") {
  test::database fx("CREATE TABLE p(id INTEGER PRIMARY KEY, c TEXT, o TEXT, sv TEXT, vb BLOB, bv BLOB)");
  constexpr int count = 3000;
  using element = std::tuple<int, const char*, std::optional<std::string_view>, std::string_view,
                             std::vector<std::uint8_t>, asiolite::blob_view>;
  asiolite::error_code result = asiolite::make_error_code(asiolite::errc::error);
  asiolite::execute_many_result r;
  {
    std::vector<std::string> c(50), texts(count), others(count + 3);
    std::vector<std::vector<std::uint8_t>> bytes(count + 1);
    for (int i = 0; i < 50; ++i) c[static_cast<std::size_t>(i)] = packed_text(i);
    for (int i = 0; i < count; ++i) texts[static_cast<std::size_t>(i)] = packed_text(i);
    for (int i = 0; i < count + 3; ++i) others[static_cast<std::size_t>(i)] = packed_text(i);
    for (int i = 0; i <= count; ++i) bytes[static_cast<std::size_t>(i)] = packed_bytes(i);
    std::vector<element> elements;
    for (int i = 0; i < count; ++i) {
      const auto at = [](int k) { return static_cast<std::size_t>(k); };
      std::optional<std::string_view> o;
      if (i % 7 == 1) o = std::string_view();
      if (i % 7 > 1) o = others[at(i + 3)];
      elements.emplace_back(i, i % 5 == 0 ? nullptr : c[at(i % 50)].c_str(), o, texts[at(i)], bytes[at(i)],
                            std::as_bytes(std::span(bytes[at(i + 1)])));
    }
    fx.db.async_execute_many("INSERT INTO p VALUES (?, ?, ?, ?, ?, ?)", elements,
                             [&](asiolite::error_code ec, asiolite::execute_many_result res) {
                               result = ec;
                               r = res;
                             });
    // Everything the elements view is overwritten, then freed, before the request runs.
    for (auto* v : {&c, &texts, &others})
      for (auto& t : *v) t.assign(t.size(), '#');
    for (auto& b : bytes) std::fill(b.begin(), b.end(), std::uint8_t{0xEE});
  }
  fx.ctx.run();
  fx.ctx.restart();
  REQUIRE_FALSE(result);
  CHECK(r.changes == count);

  const auto rows = read_packed(fx.ctx, fx.db);
  REQUIRE(rows.size() == static_cast<std::size_t>(count));
  int wrong = 0;
  for (int i = 0; i < count; ++i)
    if (rows[static_cast<std::size_t>(i)] != expected_packed(i)) ++wrong;
  CHECK(wrong == 0);
  // An empty text or blob stays empty, not NULL, as SQLite itself sees it.
  std::int64_t empty_o = 0, null_o = 0, empty_vb = 0;
  for (int i = 0; i < count; ++i) {
    const auto& [id, c, o, sv, vb, bv] = expected_packed(i);
    empty_o += o && o->empty();
    null_o += !o;
    empty_vb += vb.empty();
  }
  REQUIRE(empty_o > 400);
  REQUIRE(empty_vb > 200);
  fx.run([&](asiolite::connection& db) -> asio::awaitable<void> {
    const auto awaited2 = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM p WHERE o = ''");
    CHECK(awaited2 == empty_o);
    const auto awaited3 = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM p WHERE o IS NULL");
    CHECK(awaited3 == null_o);
    const auto awaited4 = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM p WHERE vb = x''");
    CHECK(awaited4 == empty_vb);
    const auto awaited5 =
        co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM p WHERE typeof(vb) = 'blob'");
    CHECK(awaited5 == count);
    const auto awaited6 = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM p WHERE c IS NULL");
    CHECK(awaited6 == count / 5);
  });
}

TEST_CASE("async_execute_many takes a range that makes its elements as it goes, and a copied deferred call") {
  test::database fx("CREATE TABLE m(id INTEGER PRIMARY KEY, t TEXT, b BLOB)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto r = co_await db.async_execute_many("INSERT INTO m VALUES (?, ?, ?)", made_elements(made_count));
    CHECK(r.changes == made_count);
    // On the worker, the same range binds in place.
    co_await db.async_call([](asiolite::sync_handle& h) {
      h.execute("CREATE TABLE m2(id INTEGER PRIMARY KEY, t TEXT, b BLOB)");
      h.execute_many("INSERT INTO m2 VALUES (?, ?, ?)", made_elements(made_count));
    });
    const auto same = co_await db.async_query_scalar<std::int64_t>(
        "SELECT count(*) FROM m JOIN m2 USING (id) WHERE m.t IS m2.t AND m.b IS m2.b");
    CHECK(same == made_count);
    int wrong = 0;
    for (const auto& [id, t, b] :
         co_await db.async_query<std::tuple<int, std::string, std::vector<std::uint8_t>>>("SELECT * FROM m"))
      if (t != packed_text(id) || b != packed_bytes(id)) ++wrong;
    CHECK(wrong == 0);
  });

  // A deferred operation copied before it runs: each copy has its own copy of the bytes.
  test::database fx2("CREATE TABLE d(t TEXT)");
  std::vector<std::string> texts{"one", std::string(70'000, 'x'), "three"};
  std::vector<std::tuple<std::string_view>> views(texts.begin(), texts.end());
  auto op = fx2.db.async_execute_many("INSERT INTO d VALUES (?)", views, asiolite::compat::deferred);
  auto copy = op;
  texts.clear();
  views.clear();
  int done = 0;
  std::move(op)([&](asiolite::error_code ec, asiolite::execute_many_result r) { done += !ec && r.changes == 3; });
  {
    auto gone = std::move(copy);
    copy = std::move(gone);
  }
  std::move(copy)([&](asiolite::error_code ec, asiolite::execute_many_result r) { done += !ec && r.changes == 3; });
  fx2.ctx.run();
  fx2.ctx.restart();
  CHECK(done == 2);
  fx2.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto awaited7 = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM d WHERE t = 'one'");
    CHECK(awaited7 == 2);
    const auto awaited8 = co_await db.async_query_scalar<std::int64_t>("SELECT sum(length(t)) FROM d");
    CHECK(awaited8 == 2 * (3 + 70'000 + 5));
  });
}

TEST_CASE("cancelling a running async_execute_many rolls back every element") {
  test::temp_dir dir;
  asio::io_context ctx;
  asio::cancellation_signal cancel;
  std::atomic<bool> cancelled{false};
  asiolite::options opts;
  // pause_at(x, n): returns x; at x == n, has the test cancel the request, and waits until it has.
  struct hook {
    asio::io_context* ctx;
    asio::cancellation_signal* cancel;
    std::atomic<bool>* cancelled;
  } h{&ctx, &cancel, &cancelled};
  opts.on_open = [&h](asiolite::sync_handle& s) {
    sqlite3_create_function_v2(
        s.native_handle(), "pause_at", 2, SQLITE_UTF8, &h,
        [](sqlite3_context* c, int, sqlite3_value** v) {
          auto* k = static_cast<hook*>(sqlite3_user_data(c));
          if (sqlite3_value_int64(v[0]) == sqlite3_value_int64(v[1])) {
            asio::post(*k->ctx, [k] {
              k->cancel->emit(asio::cancellation_type::terminal);
              k->cancelled->store(true);
              k->cancelled->notify_all();
            });
            k->cancelled->wait(false);
          }
          sqlite3_result_value(c, v[0]);
        },
        nullptr, nullptr, nullptr);
  };
  auto db = test::open(ctx, dir.db(), opts);
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t(x INTEGER)");
  }(db));

  std::vector<std::tuple<int, int>> elements;
  for (int i = 0; i < 1000; ++i) elements.emplace_back(i, 10);
  asiolite::error_code result;
  asiolite::execute_many_result r;
  db.async_execute_many("INSERT INTO t VALUES (pause_at(?, ?))", elements,
                        asio::bind_cancellation_slot(cancel.slot(), [&](asiolite::error_code ec, auto res) {
                          result = ec;
                          r = res;
                        }));
  ctx.run();
  ctx.restart();
  CHECK(result == asio::error::operation_aborted);
  CHECK(r.changes == 0);
  CHECK(count_rows(ctx, db, "t") == 0);
}

TEST_CASE("a transaction's async_execute_many runs inside it, when SQLite rolls the transaction back, it says so") {
  test::database fx("CREATE TABLE t(id INTEGER PRIMARY KEY)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto tx = co_await db.async_begin();
    co_await tx.async_execute("INSERT INTO t VALUES (1)");
    const std::vector<int> ids{2, 3};
    auto r = co_await tx.async_execute_many("INSERT INTO t VALUES (?)", ids);
    CHECK(r.changes == 2);
    CHECK(r.elements == 2);
    co_await tx.async_rollback();  // undoes the batch with the rest of the transaction
    const auto none = co_await count_in(db, "t");
    CHECK(none == 0);

    // OR ROLLBACK: the failing element ends the whole transaction, its earlier rows with it.
    auto tx2 = co_await db.async_begin();
    co_await tx2.async_execute("INSERT INTO t VALUES (1)");
    const std::vector<int> clash{2, 1, 3};
    asiolite::diagnostics diag;
    auto [ec, r2] = co_await tx2.async_execute_many("INSERT OR ROLLBACK INTO t VALUES (?)", clash, diag,
                                                    asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::constraint);
    CHECK(r2.failed_element == std::optional<std::size_t>(1));
    CHECK(diag.message().find("element 1: ") == 0);
    CHECK(diag.message().find("SQLite rolled the transaction back") != std::string::npos);
    CHECK(!tx2.is_active());
    const auto still_none = co_await count_in(db, "t");
    CHECK(still_none == 0);
  });
}
