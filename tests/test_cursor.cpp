// cursor.hpp: query results streamed in batches, read ahead, interleaved with other
// requests. Catch2's macros are not thread-safe: checks run on the test's thread only
// (SQL functions and handlers on other threads count in atomics). And never around a
// co_await: g++ 12 evaluates a co_await inside a Catch assertion more than once.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using test::item;

using test::tuple_token;

// A table of `n` rows (id 1..n, name "n<id>"), in one request.
std::string numbers(int n) {
  return "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT);"
         "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < " +
         std::to_string(n) + ") INSERT INTO t SELECT i, 'n' || i FROM c;";
}

/// SQL functions for tests: tick(x) counts the rows the worker has stepped; started(x)
/// tells the test that a statement is running.
struct probes {
  std::atomic<int> ticks{0};
  std::atomic<bool> started{false};

  asiolite::options options() {
    asiolite::options o;
    o.on_open = [this](asiolite::sync_handle& h) {
      auto fn = [](sqlite3_context* c, int, sqlite3_value** v) {
        auto* p = static_cast<probes*>(sqlite3_user_data(c));
        p->ticks.fetch_add(1);
        if (!p->started.exchange(true)) p->started.notify_all();
        sqlite3_result_value(c, v[0]);
      };
      sqlite3_create_function_v2(h.native_handle(), "tick", 1, SQLITE_UTF8, this, fn, nullptr, nullptr, nullptr);
    };
    return o;
  }
};

// The statements the connection holds, or only those part way through (stepped, not reset).
asio::awaitable<int> statements(asiolite::connection& db, bool busy_only = false) {
  co_return co_await db.async_call([busy_only](asiolite::sync_handle& h) {
    int n = 0;
    for (sqlite3_stmt* s = sqlite3_next_stmt(h.native_handle(), nullptr); s;
         s = sqlite3_next_stmt(h.native_handle(), s))
      if (!busy_only || sqlite3_stmt_busy(s)) ++n;
    return n;
  });
}

asio::awaitable<int> busy_statements(asiolite::connection& db) { return statements(db, true); }

// A request that completes after everything queued before it: once it has, any
// read-ahead queued earlier has run.
asio::awaitable<void> round_trip(asiolite::connection& db) { co_await db.async_execute("SELECT 1"); }

}  // namespace

TEST_CASE("a cursor delivers every row of a large result, in order") {
  test::database fx(numbers(10000));
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    // Typed, one row at a time.
    asiolite::cursor_options small;
    small.batch_size = 100;
    auto typed = co_await db.async_cursor<item>(small, "SELECT id, name FROM t WHERE id > ? ORDER BY id", 0);
    std::int64_t expected = 1;
    bool in_order = true;
    while (auto it = co_await typed.async_next()) {
      in_order = in_order && it->id == expected && it->name == "n" + std::to_string(expected);
      ++expected;
    }
    CHECK(in_order);
    CHECK(expected == 10001);
    // The end is sticky.
    auto after_end = co_await typed.async_next();
    CHECK(!after_end);

    // Untyped rows, with the connection's default batch size.
    auto untyped = co_await db.async_cursor("SELECT id, name FROM t ORDER BY id");
    std::int64_t sum = 0, count = 0;
    std::string last;
    while (auto row = co_await untyped.async_next()) {
      sum += row->get<std::int64_t>(0);
      last = row->get<std::string>("name");
      ++count;
    }
    CHECK(count == 10000);
    CHECK(sum == 10000LL * 10001 / 2);
    CHECK(last == "n10000");

    // Tuples, a batch at a time: no batch larger than asked.
    asiolite::cursor_options batches;
    batches.batch_size = 333;
    auto tuples = co_await db.async_cursor<std::tuple<std::int64_t, std::string>>(batches, "SELECT id, name FROM t");
    std::size_t total = 0, largest = 0, calls = 0;
    for (;;) {
      auto batch = co_await tuples.async_next_batch();
      if (batch.empty()) break;
      total += batch.size();
      largest = std::max(largest, batch.size());
      ++calls;
    }
    CHECK(total == 10000);
    CHECK(largest == 333);
    CHECK(calls == (10000 + 332) / 333);
  });
}

TEST_CASE("batches that reuse the storage of earlier ones hold only their own rows, whatever their sizes") {
  // Row i: a value whose type and size change from row to row (NULL, integer, real, text
  // and blobs from empty to several KiB), so that each batch fills storage left by a
  // batch of other sizes.
  test::database fx(
      "CREATE TABLE v(id INTEGER PRIMARY KEY, x);"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 600)"
      " INSERT INTO v SELECT i, CASE i % 5"
      "   WHEN 0 THEN NULL WHEN 1 THEN i WHEN 2 THEN i * 0.5"
      "   WHEN 3 THEN substr(hex(zeroblob((i * 37) % 3000)), 1, (i * 37) % 3000) || i"
      "   ELSE zeroblob((i * 53) % 5000) END FROM c;");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    // What row i holds, as the test reads it back: a description of its value.
    const auto expected = [](std::int64_t i) -> std::string {
      switch (i % 5) {
        case 0:
          return "null";
        case 1:
          return "int " + std::to_string(i);
        case 2:
          return "real " + std::to_string(static_cast<double>(i) * 0.5);
        case 3:
          return "text " + std::string(static_cast<std::size_t>((i * 37) % 3000), '0') + std::to_string(i);
        default:
          return "blob " + std::to_string((i * 53) % 5000);
      }
    };
    const auto describe = [](asiolite::field_view f) -> std::string {
      switch (f.type()) {
        case asiolite::column_type::null:
          return "null";
        case asiolite::column_type::integer:
          return "int " + std::to_string(f.integer());
        case asiolite::column_type::real:
          return "real " + std::to_string(f.real());
        case asiolite::column_type::text:
          return "text " + std::string(f.text());
        case asiolite::column_type::blob: {
          const auto b = f.bytes();
          const bool zeros = std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
          return zeros ? "blob " + std::to_string(b.size()) : "blob with stray bytes";
        }
      }
      return "?";
    };
    for (const std::size_t batch : {std::size_t{1}, std::size_t{7}, std::size_t{64}}) {
      asiolite::cursor_options opts;
      opts.batch_size = batch;
      // Row by row, and, every third batch, the rest of a batch at once.
      auto cur = co_await db.async_cursor(opts, "SELECT id, x FROM v ORDER BY id");
      std::int64_t next = 1;
      std::vector<std::int64_t> wrong;
      for (int call = 0;; ++call) {
        if (call % 3 == 2) {
          const asiolite::rows rest = co_await cur.async_next_batch();
          if (rest.empty()) break;
          for (const asiolite::row r : rest) {
            if (r.get<std::int64_t>(0) != next || describe(r[1]) != expected(next)) wrong.push_back(next);
            ++next;
          }
          continue;
        }
        auto r = co_await cur.async_next();
        if (!r) break;
        if (r->get<std::int64_t>(0) != next || describe((*r)[1]) != expected(next)) wrong.push_back(next);
        ++next;
      }
      CHECK(wrong.empty());
      CHECK(next == 601);

      // Typed rows, whose strings are moved out of the batch.
      auto typed = co_await db.async_cursor<std::tuple<std::int64_t, std::optional<std::string>>>(
          opts, "SELECT id, CASE WHEN id % 5 = 3 THEN x END FROM v ORDER BY id");
      std::int64_t typed_next = 1;
      std::vector<std::int64_t> typed_wrong;
      while (auto t = co_await typed.async_next()) {
        const auto& [id, text] = *t;
        const bool right = id == typed_next && (id % 5 == 3 ? text && "text " + *text == expected(id) : !text);
        if (!right) typed_wrong.push_back(typed_next);
        ++typed_next;
      }
      CHECK(typed_wrong.empty());
      CHECK(typed_next == 601);
    }
  });
}

TEST_CASE("async_next_batch delivers the rest of a partly read batch, then whole batches") {
  test::database fx(numbers(10));
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::cursor_options opts;
    opts.batch_size = 4;
    auto cur = co_await db.async_cursor(opts, "SELECT id FROM t ORDER BY id");
    auto first = co_await cur.async_next();
    CHECK(first->get<int>(0) == 1);
    auto rest = co_await cur.async_next_batch();
    CHECK(rest.size() == 3);
    CHECK(rest.column_names()[0] == "id");
    CHECK(rest[0].get<int>(0) == 2);
    CHECK(rest[2].get<int>(0) == 4);
    auto next = co_await cur.async_next_batch();
    CHECK(next.size() == 4);
    CHECK(next[0].get<int>(0) == 5);
    auto fifth = co_await cur.async_next();  // row 9
    CHECK(fifth->get<int>(0) == 9);
    auto last = co_await cur.async_next_batch();
    CHECK(last.size() == 1);
    CHECK(last[0].get<int>(0) == 10);
    auto end = co_await cur.async_next_batch();
    CHECK(end.empty());

    // Typed batches are vectors.
    auto typed = co_await db.async_cursor<int>(opts, "SELECT id FROM t ORDER BY id");
    auto one = co_await typed.async_next();
    auto three = co_await typed.async_next_batch();
    CHECK(one == 1);
    CHECK(three == std::vector<int>{2, 3, 4});
  });
}

TEST_CASE("rows read ahead are delivered while the worker is busy with something else") {
  test::database fx(numbers(20));
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::cursor_options opts;
    opts.batch_size = 5;
    auto cur = co_await db.async_cursor<int>(opts, "SELECT id FROM t ORDER BY id");
    co_await round_trip(db);  // the second batch has been read ahead by now
    test::worker_block block;
    block.hold(db);
    // Ten rows without the worker: the first batch, and the one read ahead.
    std::vector<int> got;
    for (int i = 0; i < 10; ++i) {
      auto v = co_await cur.async_next();
      got.push_back(v.value_or(-1));
    }
    CHECK(got == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    block.release();
    std::size_t rest = 0;
    while (co_await cur.async_next()) ++rest;
    CHECK(rest == 10);
  });
}

TEST_CASE("a cursor reads at most one batch ahead") {
  probes p;
  test::database fx(numbers(1000), p.options());
  fx.run([&p](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::cursor_options opts;
    opts.batch_size = 10;
    auto cur = co_await db.async_cursor<int>(opts, "SELECT tick(id) FROM t");
    co_await round_trip(db);
    const int after_open = p.ticks.load();
    CHECK(after_open == 20);  // the first batch, and the next one read ahead
    for (int i = 0; i < 10; ++i) co_await cur.async_next();
    co_await round_trip(db);
    const int after_first_batch = p.ticks.load();
    CHECK(after_first_batch == 20);  // nothing more until the caller takes the batch ahead
    co_await cur.async_next();       // row 11: takes it, and reads the third ahead
    co_await round_trip(db);
    const int after_second = p.ticks.load();
    CHECK(after_second == 30);
  });
}

TEST_CASE("typed cursors deliver the rows before a row that does not convert, then fail for good") {
  test::database fx("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2), (NULL), (4);");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    for (std::size_t batch : {10u, 2u, 1u}) {
      asiolite::cursor_options opts;
      opts.batch_size = batch;
      auto cur = co_await db.async_cursor<std::int64_t>(opts, "SELECT x FROM t ORDER BY rowid");
      auto a = co_await cur.async_next();
      auto b = co_await cur.async_next();
      CHECK(a == 1);
      CHECK(b == 2);
      asiolite::diagnostics diag;
      auto [ec, c] = co_await cur.async_next(diag, tuple_token);
      CHECK(ec == asiolite::errc::unexpected_null);
      CHECK(diag.message().find("column 0 ('x')") == 0);
      CHECK(diag.sql() == "SELECT x FROM t ORDER BY rowid");
      auto [again, d] = co_await cur.async_next(tuple_token);
      CHECK(again == asiolite::errc::unexpected_null);
      auto [batch_too, e] = co_await cur.async_next_batch(tuple_token);
      CHECK(batch_too == asiolite::errc::unexpected_null);
    }
    // The co_await path throws sqlite_error.
    auto cur = co_await db.async_cursor<std::int64_t>("SELECT x FROM t ORDER BY rowid");
    std::string what;
    try {
      while (co_await cur.async_next()) {
      }
    } catch (const asiolite::sqlite_error& e) {
      what = e.what();
    }
    CHECK(what.find("cannot read NULL as int64") != std::string::npos);
  });
}

TEST_CASE("a query that fails at once fails async_cursor") {
  test::database fx("CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 2);");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto [no_table, c1] = co_await db.async_cursor("SELECT * FROM nowhere", tuple_token);
    CHECK(no_table == asiolite::errc::error);
    auto [arity, c2] = co_await db.async_cursor("SELECT * FROM t WHERE a = ?", 1, 2, tuple_token);
    CHECK(arity == asiolite::errc::parameter_count);
    auto [columns, c3] = co_await db.async_cursor<std::int64_t>("SELECT a, b FROM t", tuple_token);
    CHECK(columns == asiolite::errc::column_count);
    auto [two, c4] = co_await db.async_cursor("SELECT 1; SELECT 2", tuple_token);
    CHECK(two == asiolite::errc::multiple_statements);
    // What a failed async_cursor delivers is an empty cursor.
    auto [empty, r] = co_await c1.async_next(tuple_token);
    CHECK(empty == asiolite::errc::closed);
    // Nothing was left half-stepped.
    const int busy = co_await busy_statements(db);
    CHECK(busy == 0);
  });
}

TEST_CASE("a cursor over no rows ends at once and gives its statement back") {
  test::database fx("CREATE TABLE t(x)");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto cur = co_await db.async_cursor("SELECT x FROM t");
    const int busy = co_await busy_statements(db);
    CHECK(busy == 0);
    auto row = co_await cur.async_next();
    CHECK(!row);
    auto batch = co_await cur.async_next_batch();
    CHECK(batch.empty());
  });
}

TEST_CASE("other requests run between a cursor's batches, in FIFO order") {
  test::database fx(numbers(10) + "CREATE TABLE other(x);");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::cursor_options opts;
    opts.batch_size = 2;
    auto cur = co_await db.async_cursor<int>(opts, "SELECT id FROM t ORDER BY id");
    co_await round_trip(db);
    auto b1 = co_await cur.async_next_batch();  // in hand
    CHECK(b1 == std::vector<int>{1, 2});

    // With the worker blocked: take the batch read ahead, which queues the third's read
    // ahead behind the block. Then queue an insert, the cursor's next batch, a count. They
    // complete in that order; the batch is the one read ahead before the insert.
    test::worker_block block;
    block.hold(db);
    block.wait_entered();
    auto b2 = co_await cur.async_next_batch();
    CHECK(b2 == std::vector<int>{3, 4});
    std::vector<std::string> order;
    std::vector<int> b3;
    std::int64_t counted = -1;
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    int pending = 3;
    auto done = [&](const char* what) {
      order.push_back(what);
      if (--pending == 0) all_done.cancel();
    };
    db.async_execute("INSERT INTO other VALUES (1)",
                     [&](asiolite::error_code, asiolite::execute_result) { done("insert"); });
    cur.async_next_batch([&](asiolite::error_code, std::vector<int> b) {
      b3 = std::move(b);
      done("batch");
    });
    db.async_query_scalar<std::int64_t>("SELECT count(*) FROM other", [&](asiolite::error_code, std::int64_t n) {
      counted = n;
      done("count");
    });
    block.release();
    co_await all_done.async_wait(tuple_token);
    CHECK(order == std::vector<std::string>{"insert", "batch", "count"});
    CHECK(b3 == std::vector<int>{5, 6});
    CHECK(counted == 1);
    std::size_t rest = 0;
    while (co_await cur.async_next()) ++rest;
    CHECK(rest == 4);
  });
}

TEST_CASE("cursors and other requests share one connection from a multi-threaded io_context") {
  test::temp_dir dir;
  asio::io_context ctx(4);
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute_script(numbers(1000) + "CREATE TABLE other(who, n);");
  }(db));

  constexpr int readers = 6, writers = 6, writes = 40;
  std::atomic<int> complete_reads{0}, writes_done{0}, failures{0};
  for (int r = 0; r < readers; ++r)
    asio::co_spawn(
        ctx,
        [](asiolite::connection& conn, std::size_t batch, std::atomic<int>& complete) -> asio::awaitable<void> {
          asiolite::cursor_options opts;
          opts.batch_size = batch;
          auto cur = co_await conn.async_cursor<std::int64_t>(opts, "SELECT id FROM t ORDER BY id");
          std::int64_t expected = 1;
          while (auto id = co_await cur.async_next()) {
            if (*id != expected) co_return;
            ++expected;
          }
          if (expected == 1001) ++complete;
        }(db, static_cast<std::size_t>(7 + r * 13), complete_reads),
        [&](std::exception_ptr e) {
          if (e) ++failures;
        });
  for (int w = 0; w < writers; ++w)
    asio::co_spawn(
        ctx,
        [](asiolite::connection& conn, int who, std::atomic<int>& done) -> asio::awaitable<void> {
          for (int i = 0; i < writes; ++i) {
            co_await conn.async_execute("INSERT INTO other VALUES (?, ?)", who, i);
            ++done;
          }
        }(db, w, writes_done),
        [&](std::exception_ptr e) {
          if (e) ++failures;
        });
  test::run_on_threads(ctx, 4);
  ctx.restart();
  CHECK(failures == 0);
  CHECK(complete_reads == readers);
  CHECK(writes_done == writers * writes);
}

TEST_CASE("cancelling a queued batch request removes it, and the cursor is over") {
  test::database fx(numbers(10));
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::cursor_options opts;
    opts.batch_size = 2;
    auto cur = co_await db.async_cursor<int>(opts, "SELECT id FROM t ORDER BY id");
    co_await round_trip(db);
    co_await cur.async_next_batch();  // in hand
    co_await cur.async_next_batch();  // read ahead; reads the third ahead
    co_await round_trip(db);          // which has run now
    test::worker_block block;
    block.hold(db);
    block.wait_entered();
    auto b3 = co_await cur.async_next_batch();  // at hand; reads the fourth ahead, queued behind the block
    CHECK(b3 == std::vector<int>{5, 6});

    // The next call must wait for the fourth: its request queues behind the read-ahead.
    asio::cancellation_signal cancel;
    asio::post(co_await asio::this_coro::executor, [&] { cancel.emit(asio::cancellation_type::terminal); });
    auto [ec, b4] = co_await cur.async_next_batch(asio::bind_cancellation_slot(cancel.slot(), tuple_token));
    CHECK(ec == asio::error::operation_aborted);
    CHECK(b4.empty());
    block.release();

    auto [later, v] = co_await cur.async_next(tuple_token);
    CHECK(later == asio::error::operation_aborted);
    // The connection goes on.
    auto n = co_await db.async_query_scalar<int>("SELECT count(*) FROM t");
    CHECK(n == 10);
  });
}

TEST_CASE("cancelling a batch request interrupts the read-ahead it waits for, if running") {
  probes p;
  test::database fx("", p.options());
  fx.run([&p](asiolite::connection& db) -> asio::awaitable<void> {
    // One row at once, then a search that never ends.
    asiolite::cursor_options opts;
    opts.batch_size = 1;
    auto cur = co_await db.async_cursor<std::int64_t>(opts,
                                                      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                                                      "SELECT x FROM c WHERE x = 1 OR tick(x) < 0");
    auto first = co_await cur.async_next();
    CHECK(first == 1);
    p.started.wait(false);  // the read-ahead is running

    asio::cancellation_signal cancel;
    asio::post(co_await asio::this_coro::executor, [&] { cancel.emit(asio::cancellation_type::terminal); });
    auto [ec, v] = co_await cur.async_next(asio::bind_cancellation_slot(cancel.slot(), tuple_token));
    CHECK(ec == asio::error::operation_aborted);
    // The worker is free again: the endless statement was interrupted, and reset.
    auto answer = co_await db.async_query_scalar<int>("SELECT 42");
    CHECK(answer == 42);
    const int busy = co_await busy_statements(db);
    CHECK(busy == 0);
    auto [later, w] = co_await cur.async_next(tuple_token);
    CHECK(later == asio::error::operation_aborted);
  });
}

TEST_CASE("cancelling async_cursor while its first batch runs interrupts it") {
  probes p;
  test::database fx("", p.options());
  fx.run([&p](asiolite::connection& db) -> asio::awaitable<void> {
    asio::cancellation_signal cancel;
    // Runs once the coroutine is suspended on async_cursor: waits (briefly blocking this
    // thread, not the worker) until the statement runs, then cancels it.
    asio::post(co_await asio::this_coro::executor, [&] {
      p.started.wait(false);
      cancel.emit(asio::cancellation_type::terminal);
    });
    auto [ec, cur] = co_await db.async_cursor<std::int64_t>(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c WHERE tick(x) < 0",
        asio::bind_cancellation_slot(cancel.slot(), tuple_token));
    CHECK(ec == asio::error::operation_aborted);
    const int busy = co_await busy_statements(db);
    CHECK(busy == 0);
    auto [empty, v] = co_await cur.async_next(tuple_token);
    CHECK(empty == asiolite::errc::closed);
  });
}

TEST_CASE("a cursor used after its connection closed fails with errc::closed") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn, std::string path) -> asio::awaitable<void> {
    co_await conn.async_execute_script(numbers(10));
    asiolite::cursor_options opts;
    opts.batch_size = 3;
    auto cur = co_await conn.async_cursor<int>(opts, "SELECT id FROM t ORDER BY id");
    auto first = co_await cur.async_next();
    CHECK(first == 1);
    co_await conn.async_close();
    asiolite::diagnostics diag;
    auto [ec, v] = co_await cur.async_next(diag, tuple_token);  // rows 2 and 3 were at hand: dropped
    CHECK(ec == asiolite::errc::closed);
    CHECK(diag.message().find("cannot outlive its connection") != std::string::npos);

    // Opened again, the connection is not the cursor's any more.
    co_await conn.async_open(path);
    auto [again, w] = co_await cur.async_next_batch(tuple_token);
    CHECK(again == asiolite::errc::closed);
    co_await conn.async_close();
  }(db, dir.db()));
}

TEST_CASE("a cursor outliving its connection handle fails with errc::closed before its end") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  auto cur = test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<asiolite::cursor<int>> {
    co_await conn.async_execute_script(numbers(100));
    asiolite::cursor_options opts;
    opts.batch_size = 1;
    co_return co_await conn.async_cursor<int>(opts, "SELECT id FROM t ORDER BY id");
  }(db));
  db = asiolite::connection();  // closes once what is queued has run
  auto [got, ec] =
      test::run(ctx, [](asiolite::cursor<int>& reading) -> asio::awaitable<std::tuple<int, asiolite::error_code>> {
        int rows_read = 0;
        for (;;) {
          auto [next_ec, v] = co_await reading.async_next(tuple_token);
          if (next_ec || !v) co_return std::tuple(rows_read, next_ec);
          ++rows_read;
        }
      }(cur));
  CHECK(ec == asiolite::errc::closed);
  CHECK(got <= 2);  // at most the row in hand and the one read ahead
}

TEST_CASE("destroying a cursor part way gives its statement back, closing finalizes live cursors' statements") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute_script(numbers(100));
    const int before = co_await statements(conn);
    asiolite::cursor_options opts;
    opts.batch_size = 10;
    {
      auto a = co_await conn.async_cursor<int>(opts, "SELECT id FROM t");
      // Same SQL while `a` holds the cached statement: a second one, for this cursor only.
      auto b = co_await conn.async_cursor<int>(opts, "SELECT id FROM t");
      const int two = co_await statements(conn);
      CHECK(two == before + 2);
      const int busy = co_await busy_statements(conn);
      CHECK(busy == 2);
    }  // both destroyed part way: release queued
    const int busy_after = co_await busy_statements(conn);
    CHECK(busy_after == 0);
    const int kept = co_await statements(conn);
    CHECK(kept == before + 1);  // the cached one stays cached; the other is finalized

    // Moving assigns away the old cursor too.
    auto c = co_await conn.async_cursor<int>(opts, "SELECT id FROM t");
    auto d = co_await conn.async_cursor<int>(opts, "SELECT id FROM t WHERE id > 50");
    c = std::move(d);
    const int busy_one = co_await busy_statements(conn);
    CHECK(busy_one == 1);
    auto first = co_await c.async_next();
    CHECK(first == 51);

    // Live cursors and a prepared statement at close: their statements are finalized
    // before the database closes (else SQLite would keep it open, and its WAL file).
    auto live = co_await conn.async_cursor<int>(opts, "SELECT id FROM t ORDER BY id DESC");
    auto prepared = co_await conn.async_prepare("SELECT name FROM t WHERE id = ?");
    co_await conn.async_close();
  }(db));
  CHECK(!std::filesystem::exists(dir.db() + "-wal"));
}

TEST_CASE("a cursor's completions run on the handler's executor, never on the worker") {
  test::database fx(numbers(50));
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto strand = asio::make_strand(co_await asio::this_coro::executor);
    asiolite::cursor_options opts;
    opts.batch_size = 4;
    // Callbacks bound to a strand run inside it, whether the row was at hand or fetched.
    auto cur2 = co_await db.async_cursor<int>(opts, "SELECT id FROM t");
    asio::steady_timer done(strand, asio::steady_timer::time_point::max());
    std::function<void()> next;
    int rows = 0, on_strand = 0;
    next = [&] {
      cur2.async_next(asio::bind_executor(strand, [&](asiolite::error_code ec, std::optional<int> v) {
        if (strand.running_in_this_thread()) ++on_strand;
        if (ec || !v) {
          done.cancel();
          return;
        }
        ++rows;
        next();
      }));
    };
    next();
    co_await done.async_wait(tuple_token);
    CHECK(rows == 50);
    CHECK(on_strand == 51);
  });
}

TEST_CASE("empty cursors fail with errc::closed") {
  asio::io_context ctx;
  test::run(ctx, []() -> asio::awaitable<void> {
    asiolite::cursor<> none;
    auto [ec, row] = co_await none.async_next(tuple_token);
    CHECK(ec == asiolite::errc::closed);
    asiolite::cursor<int> moved_from;
    auto taken = std::move(moved_from);
    auto [ec2, batch] = co_await moved_from.async_next_batch(tuple_token);
    CHECK(ec2 == asiolite::errc::closed);
  }());
}

TEST_CASE("a cursor made in a transaction reads inside it, ahead of waiting requests, and ends with it") {
  test::database fx(numbers(10));
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto tx = co_await db.async_begin();
    co_await tx.async_execute("INSERT INTO t VALUES (11, 'n11')");

    // Queued while the transaction holds the connection: waits for it to end.
    bool outside_done = false;
    std::int64_t outside_count = -1;
    db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t", [&](asiolite::error_code, std::int64_t n) {
      outside_done = true;
      outside_count = n;
    });

    // The transaction's cursor carries its lease: its batches run, and see the insert.
    asiolite::cursor_options opts;
    opts.batch_size = 3;
    auto all = co_await tx.async_cursor<int>(opts, "SELECT id FROM t ORDER BY id");
    std::vector<int> ids;
    bool waited = true;
    for (;;) {
      auto batch = co_await all.async_next_batch();
      waited = waited && !outside_done;
      if (batch.empty()) break;
      ids.insert(ids.end(), batch.begin(), batch.end());
    }
    CHECK(waited);
    CHECK(ids.size() == 11);
    CHECK(ids.back() == 11);

    // A cursor still open when the transaction commits: what was fetched arrives, then
    // the next batch fails as the transaction's statements do.
    opts.batch_size = 2;
    auto part = co_await tx.async_cursor<int>(opts, "SELECT id FROM t ORDER BY id");
    auto first = co_await part.async_next_batch();  // in hand; the next one is read ahead
    CHECK(first == std::vector<int>{1, 2});
    co_await tx.async_commit();  // FIFO: after the read-ahead
    CHECK(!tx.is_active());
    auto ahead = co_await part.async_next_batch();
    CHECK(ahead == std::vector<int>{3, 4});
    auto [ended, rest] = co_await part.async_next_batch(tuple_token);
    CHECK(ended == asiolite::errc::transaction_ended);
    CHECK(rest.empty());

    co_await round_trip(db);
    CHECK(outside_done);
    CHECK(outside_count == 11);
    // The connection's own cursors go on as usual.
    auto after = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(after == 11);
  });
}

TEST_CASE("a cursor destroyed inside a rolled back transaction lets go of its statement") {
  test::database fx(numbers(100));
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    {
      auto tx = co_await db.async_begin();
      asiolite::cursor_options opts;
      opts.batch_size = 5;
      {
        auto cur = co_await tx.async_cursor<int>(opts, "SELECT id FROM t");
        auto first = co_await cur.async_next();
        CHECK(first == 1);
      }  // part way: its release waits for the transaction (which holds the connection)
      co_await tx.async_execute("DELETE FROM t");
      co_await tx.async_rollback();
    }
    const int busy = co_await busy_statements(db);
    CHECK(busy == 0);
    auto n = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(n == 100);
  });
}

TEST_CASE("a cursor of an empty transaction fails with errc::closed") {
  test::database fx(numbers(1));
  fx.run([](asiolite::connection&) -> asio::awaitable<void> {
    asiolite::transaction none;
    auto [ec, cur] = co_await none.async_cursor("SELECT id FROM t", tuple_token);
    CHECK(ec == asiolite::errc::closed);
    auto [ec2, row] = co_await cur.async_next(tuple_token);
    CHECK(ec2 == asiolite::errc::closed);
  });
}

TEST_CASE("connection::cancel does not cancel the release of a destroyed cursor's statement") {
  test::database fx(numbers(100));
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::cursor_options opts;
    opts.batch_size = 5;
    auto cur = co_await db.async_cursor<int>(opts, "SELECT id FROM t");
    co_await round_trip(db);
    test::worker_block block;
    block.hold(db);
    block.wait_entered();
    cur = asiolite::cursor<int>();  // queues the release behind the block
    db.cancel();                    // removes what is queued, but not that
    block.release();
    const int busy = co_await busy_statements(db);
    CHECK(busy == 0);
  });
}

TEST_CASE("co_await async_next takes rows at hand without yielding, and fails as every co_await does") {
  test::database fx(numbers(100));
  // (The lambda outlives the coroutine: fx.run runs it to its end.)
  fx.run([path = fx.dir.db()](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::cursor_options opts;
    opts.batch_size = 8;
    auto cur = co_await db.async_cursor<int>(opts, "SELECT id FROM t ORDER BY id");
    // A handler posted now runs only when the coroutine next suspends: not between the
    // rows of the batch at hand.
    int posted_ran_after = -1;
    int rows = 0;
    asio::post(co_await asio::this_coro::executor, [&] { posted_ran_after = rows; });
    asiolite::diagnostics diag;
    for (int i = 0; i < 8; ++i) {
      auto v = co_await cur.async_next(diag);
      CHECK(v == i + 1);
      CHECK(diag.message().empty());
      ++rows;
    }
    CHECK(posted_ran_after == -1);
    auto rest = co_await cur.async_next_batch(diag);  // the read-ahead, or a request for it
    CHECK(rest.size() == 8);
    CHECK(rest.front() == 9);
    // Yield through a post from this thread: it queues behind the handler above. (A
    // round trip to the worker would not do: its completion, posted from the worker,
    // may overtake a handler this thread posted while still running.)
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    CHECK(posted_ran_after == 8);

    // Failures of a call that needs no request throw sqlite_error and fill diagnostics.
    co_await db.async_close();
    asiolite::error_code code;
    try {
      co_await cur.async_next(diag);
    } catch (const asiolite::sqlite_error& e) {
      code = e.code();
    }
    CHECK(code == asiolite::errc::closed);
    CHECK(diag.message().find("cannot outlive its connection") != std::string::npos);
    asiolite::cursor<int> empty;
    code = {};
    try {
      co_await empty.async_next_batch();
    } catch (const asiolite::sqlite_error& e) {
      code = e.code();
    }
    CHECK(code == asiolite::errc::closed);
    co_await db.async_open(path);  // fx.run closes it again
  });
}

TEST_CASE("a callback for a row at hand is posted, never called inside async_next") {
  test::database fx(numbers(5));
  auto cur = test::run(fx.ctx, [](asiolite::connection& db) -> asio::awaitable<asiolite::cursor<int>> {
    co_return co_await db.async_cursor<int>("SELECT id FROM t ORDER BY id");
  }(fx.db));
  int called = 0;
  bool inside = true;
  cur.async_next([&](asiolite::error_code ec, std::optional<int> v) {
    if (!ec && v == 1) ++called;
    if (!inside) ++called;
  });
  inside = false;
  CHECK(called == 0);
  fx.ctx.run();
  fx.ctx.restart();
  CHECK(called == 2);
  fx.run([](asiolite::connection&) -> asio::awaitable<void> { co_return; });
}

namespace {

// The size of every batch async_next_batch delivers, to the end.
template <class T>
asio::awaitable<std::vector<std::size_t>> batch_sizes(asiolite::cursor<T>& cur) {
  std::vector<std::size_t> sizes;
  for (;;) {
    auto batch = co_await cur.async_next_batch();
    if (batch.empty()) break;
    sizes.push_back(batch.size());
  }
  co_return sizes;
}

}  // namespace

TEST_CASE("options::cursor_batch_size sizes the batches of cursors made without a batch size") {
  asiolite::options opts;
  opts.cursor_batch_size = 7;
  test::database fx(numbers(30), opts);
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const std::vector<std::size_t> sevens = {7, 7, 7, 7, 2};

    auto untyped = co_await db.async_cursor("SELECT id FROM t ORDER BY id");
    const auto untyped_sizes = co_await batch_sizes(untyped);
    CHECK(untyped_sizes == sevens);

    auto typed = co_await db.async_cursor<int>("SELECT id FROM t ORDER BY id");
    const auto first = co_await typed.async_next_batch();
    CHECK(first == std::vector<int>{1, 2, 3, 4, 5, 6, 7});
    const auto typed_sizes = co_await batch_sizes(typed);
    CHECK(typed_sizes == std::vector<std::size_t>{7, 7, 7, 2});

    // cursor_options::batch_size 0 means the same.
    asiolite::cursor_options zero;
    zero.batch_size = 0;
    auto defaulted = co_await db.async_cursor<int>(zero, "SELECT id FROM t ORDER BY id");
    const auto defaulted_sizes = co_await batch_sizes(defaulted);
    CHECK(defaulted_sizes == sevens);

    // And so does a cursor made in a transaction.
    auto tx = co_await db.async_begin();
    auto in_tx = co_await tx.async_cursor<int>("SELECT id FROM t ORDER BY id");
    const auto in_tx_sizes = co_await batch_sizes(in_tx);
    CHECK(in_tx_sizes == sevens);
    co_await tx.async_commit();
  });
}

TEST_CASE("cursor_options::batch_size overrides options::cursor_batch_size") {
  asiolite::options opts;
  opts.cursor_batch_size = 7;
  test::database fx(numbers(30), opts);
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::cursor_options four;
    four.batch_size = 4;
    auto cur = co_await db.async_cursor<int>(four, "SELECT id FROM t ORDER BY id");
    std::vector<int> ids;
    std::vector<std::size_t> sizes;
    for (;;) {
      auto batch = co_await cur.async_next_batch();
      if (batch.empty()) break;
      sizes.push_back(batch.size());
      ids.insert(ids.end(), batch.begin(), batch.end());
    }
    CHECK(sizes == std::vector<std::size_t>{4, 4, 4, 4, 4, 4, 4, 2});
    CHECK(ids.size() == 30);
    CHECK(std::is_sorted(ids.begin(), ids.end()));
    CHECK(ids.front() == 1);
    CHECK(ids.back() == 30);
  });
}

TEST_CASE("options::cursor_batch_size defaults to 256") {
  test::database fx(numbers(600));
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto cur = co_await db.async_cursor<int>("SELECT id FROM t");
    const auto sizes = co_await batch_sizes(cur);
    CHECK(sizes == std::vector<std::size_t>{256, 256, 88});
  });
}

TEST_CASE("options::cursor_batch_size 0 fails the open with invalid_option, and 1 delivers one row per batch") {
  // Were 0 taken as it is, a batch would hold no row and read as the end: rows would be lost.
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options zero;
  zero.cursor_batch_size = 0;
  test::run(ctx, [](std::string path, asiolite::options opts) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [ec, db] =
        co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path, opts, diag, tuple_token);
    CHECK(ec == asiolite::errc::invalid_option);
    CHECK(diag.message() == "options::cursor_batch_size is 0: a cursor fetches at least one row at a time");
    CHECK_FALSE(db.is_open());
  }(dir.db(), zero));

  asiolite::options opts;
  opts.cursor_batch_size = 1;
  test::database fx(numbers(5), opts);
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    auto cur = co_await db.async_cursor<int>("SELECT id FROM t ORDER BY id");
    std::vector<int> ids;
    std::vector<std::size_t> sizes;
    for (;;) {
      auto batch = co_await cur.async_next_batch();
      if (batch.empty()) break;
      sizes.push_back(batch.size());
      ids.insert(ids.end(), batch.begin(), batch.end());
    }
    CHECK(ids == std::vector<int>{1, 2, 3, 4, 5});
    CHECK(sizes == std::vector<std::size_t>{1, 1, 1, 1, 1});
  });
}

TEST_CASE("a cursor from a failed async_cursor completes a callback's calls with closed on the connection's executor") {
  // cursor.hpp: "An empty cursor (moved from, or from a failed async_cursor): its calls
  // complete with errc::closed"; a handler without an executor of its own runs on the
  // connection's.
  test::database fx("");
  auto failed = test::run(fx.ctx, [](asiolite::connection& db) -> asio::awaitable<asiolite::cursor<int>> {
    auto [ec, cur] = co_await db.async_cursor<int>("SELECT x FROM no_such_table", tuple_token);
    CHECK(ec == asiolite::errc::error);
    co_return std::move(cur);
  }(fx.db));
  std::optional<asiolite::error_code> got;
  std::string thrown;
  try {
    failed.async_next([&got](asiolite::error_code ec, std::optional<int>) { got = ec; });
  } catch (const std::exception& e) {
    thrown = e.what();  // e.g. asio's "bad executor": there was no executor to complete on
  }
  fx.ctx.run();
  fx.ctx.restart();
  CHECK(thrown.empty());
  CHECK(got == asiolite::errc::closed);
}
