// options.hpp: what async_open configures, and the statement cache it sizes.
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <tuple>

namespace {

using namespace std::chrono_literals;

std::string pragma_text(asio::io_context& ctx, asiolite::connection& db, const std::string& name) {
  return test::run(ctx, [](asiolite::connection& conn, std::string sql) -> asio::awaitable<std::string> {
    auto r = co_await conn.async_query(sql);
    co_return r.empty()
        ? std::string()
        : std::string(r[0].at(0).type() == asiolite::column_type::text ? r[0].get<std::string>(0)
                                                                       : std::to_string(r[0].get<std::int64_t>(0)));
  }(db, "PRAGMA " + name));
}

asiolite::error_code open_error(asio::io_context& ctx, const std::string& path, const asiolite::options& opts,
                           asiolite::diagnostics& diag) {
  asiolite::connection db(ctx);
  asiolite::error_code result;
  db.async_open(path, opts, diag, [&](asiolite::error_code ec) { result = ec; });
  ctx.run();
  ctx.restart();
  return result;
}

// Counts how many times SQLite compiles a SELECT: the authorizer runs only while a
// statement is being prepared, never when a prepared one is run again.
struct prepare_counter {
  std::atomic<int> selects{0};

  static int on_authorize(void* self, int action, const char*, const char*, const char*, const char*) {
    if (action == SQLITE_SELECT) static_cast<prepare_counter*>(self)->selects++;
    return SQLITE_OK;
  }

  asiolite::options options(std::size_t cache_capacity) {
    asiolite::options opts;
    opts.statement_cache_capacity = cache_capacity;
    opts.on_open = [this](asiolite::sync_handle& h) {
      sqlite3_set_authorizer(h.native_handle(), &prepare_counter::on_authorize, this);
    };
    return opts;
  }
};

}  // namespace

TEST_CASE("a file database opens with WAL and foreign keys on") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  CHECK(pragma_text(ctx, db, "journal_mode") == "wal");
  CHECK(pragma_text(ctx, db, "foreign_keys") == "1");
  CHECK(pragma_text(ctx, db, "synchronous") == "2");  // SQLite's default, FULL
}

TEST_CASE("foreign keys are enforced by default") {
  test::temp_dir dir;
  asio::io_context ctx;
  auto db = test::open(ctx, dir.db());
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute_script(
        "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
        "CREATE TABLE child(parent_id INTEGER REFERENCES parent(id));");
    auto [ec, r] =
        co_await conn.async_execute("INSERT INTO child VALUES (42)", asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::constraint);
    CHECK(ec.value() == SQLITE_CONSTRAINT_FOREIGNKEY);
  }(db));
}

TEST_CASE("journal mode, synchronous, foreign keys and extra pragmas are applied") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options opts;
  opts.journal = asiolite::journal_mode::truncate;
  opts.synchronous = asiolite::synchronous_mode::normal;
  opts.busy_timeout = 1500ms;
  opts.foreign_keys = false;
  opts.pragmas = {"cache_size = -4000", "user_version = 7"};
  auto db = test::open(ctx, dir.db(), opts);
  CHECK(pragma_text(ctx, db, "journal_mode") == "truncate");
  CHECK(pragma_text(ctx, db, "synchronous") == "1");
  CHECK(pragma_text(ctx, db, "foreign_keys") == "0");
  CHECK(pragma_text(ctx, db, "cache_size") == "-4000");
  CHECK(pragma_text(ctx, db, "user_version") == "7");
}

TEST_CASE("a bad extra pragma fails the open with SQLite's message and the pragma") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options opts;
  opts.pragmas = {"cache_size = = 3"};
  asiolite::diagnostics diag;
  auto ec = open_error(ctx, dir.db(), opts, diag);
  CHECK(ec == asiolite::errc::error);
  CHECK(diag.message().find("syntax error") != std::string::npos);
  CHECK(diag.message().find("PRAGMA cache_size = = 3") != std::string::npos);

  opts.pragmas = {"user_version = 1; DROP TABLE x"};
  ec = open_error(ctx, dir.db(), opts, diag);
  CHECK(ec == asiolite::errc::multiple_statements);
}

TEST_CASE("an in-memory database is private to its connection") {
  asio::io_context ctx;
  asiolite::options opts;
  opts.in_memory = true;
  auto a = test::open(ctx, "shared-name", opts);
  auto b = test::open(ctx, ":memory:");
  test::run(ctx, [](asiolite::connection& first, asiolite::connection& second) -> asio::awaitable<void> {
    co_await first.async_execute("CREATE TABLE t(x)");
    co_await first.async_execute("INSERT INTO t VALUES (1)");
    const auto awaited = co_await first.async_query_scalar<int>("SELECT count(*) FROM t");
    CHECK(awaited == 1);
    auto [ec, n] = co_await second.async_query_scalar<int>("SELECT count(*) FROM t",
                                                           asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::error);  // no such table
  }(a, b));
  CHECK(pragma_text(ctx, a, "journal_mode") == "memory");
}

TEST_CASE("read_only refuses writes, read_write and read_only refuse a missing file") {
  test::temp_dir dir;
  asio::io_context ctx;
  {
    auto db = test::open(ctx, dir.db());
    test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
      co_await conn.async_execute("CREATE TABLE t(x)");
    }(db));
  }
  asiolite::options ro;
  ro.mode = asiolite::open_mode::read_only;
  auto db = test::open(ctx, dir.db(), ro);
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    const auto awaited2 = co_await conn.async_query_scalar<int>("SELECT count(*) FROM t");
    CHECK(awaited2 == 0);
    asiolite::diagnostics diag;
    auto [ec, r] =
        co_await conn.async_execute("INSERT INTO t VALUES (1)", diag, asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::readonly);
    CHECK(diag.message().find("readonly") != std::string::npos);
  }(db));

  asiolite::diagnostics diag;
  asiolite::options rw;
  rw.mode = asiolite::open_mode::read_write;
  CHECK(open_error(ctx, dir.db("missing.db"), rw, diag) == asiolite::errc::cantopen);
  CHECK(diag.message().find("missing.db") != std::string::npos);
  CHECK(open_error(ctx, dir.db("missing.db"), ro, diag) == asiolite::errc::cantopen);
  CHECK_FALSE(std::filesystem::exists(dir.db("missing.db")));
}

TEST_CASE("file: URIs are understood") {
  test::temp_dir dir;
  asio::io_context ctx;
  { test::open(ctx, dir.db()); }  // creates the file
  auto db = test::open(ctx, "file:" + dir.db() + "?mode=ro");
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    auto [ec, r] = co_await conn.async_execute("CREATE TABLE t(x)", asiolite::compat::as_tuple(asio::use_awaitable));
    CHECK(ec == asiolite::errc::readonly);
  }(db));
}

TEST_CASE("a named VFS is used, and an unknown one fails the open") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options opts;
  opts.vfs = "unix-dotfile";
  opts.journal = asiolite::journal_mode::delete_;  // WAL needs shared memory, which unix-dotfile lacks
  auto db = test::open(ctx, dir.db(), opts);
  CHECK(pragma_text(ctx, db, "journal_mode") == "delete");

  opts.vfs = "no-such-vfs";
  asiolite::diagnostics diag;
  auto ec = open_error(ctx, dir.db("other.db"), opts, diag);
  CHECK(ec);
  CHECK_FALSE(diag.message().empty());
}

TEST_CASE("an explicit journal mode that SQLite cannot set fails the open") {
  asio::io_context ctx;
  asiolite::options opts;
  opts.in_memory = true;
  opts.journal = asiolite::journal_mode::wal;  // an in-memory database cannot use WAL
  asiolite::diagnostics diag;
  auto ec = open_error(ctx, ":memory:", opts, diag);
  CHECK(ec == asiolite::errc::error);
  CHECK(diag.message().find("journal_mode") != std::string::npos);
}

TEST_CASE("running the same SQL again reuses its prepared statement") {
  test::temp_dir dir;
  asio::io_context ctx;
  prepare_counter counter;
  auto db = test::open(ctx, dir.db(), counter.options(100));
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t(x)");
    for (int i = 0; i < 20; ++i) co_await conn.async_query_scalar<int>("SELECT count(*) FROM t WHERE x <> ?", i);
  }(db));
  CHECK(counter.selects == 1);
}

TEST_CASE("the statement cache evicts the least recently used statement beyond its capacity") {
  test::temp_dir dir;
  asio::io_context ctx;
  prepare_counter counter;
  auto db = test::open(ctx, dir.db(), counter.options(2));
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    co_await conn.async_execute("CREATE TABLE t(x)");
    co_await conn.async_query("SELECT 1 FROM t");  // prepared: 1
    co_await conn.async_query("SELECT 2 FROM t");  // prepared: 2
    co_await conn.async_query("SELECT 1 FROM t");  // cached; now most recent
    co_await conn.async_query("SELECT 3 FROM t");  // prepared: 3, evicts "SELECT 2"
    co_await conn.async_query("SELECT 1 FROM t");  // still cached
    co_await conn.async_query("SELECT 2 FROM t");  // prepared again: 4
  }(db));
  CHECK(counter.selects == 4);
}

TEST_CASE("a statement cache of capacity 0 prepares every time") {
  test::temp_dir dir;
  asio::io_context ctx;
  prepare_counter counter;
  auto db = test::open(ctx, dir.db(), counter.options(0));
  test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
    for (int i = 0; i < 5; ++i) co_await conn.async_query_scalar<int>("SELECT 1");
  }(db));
  CHECK(counter.selects == 5);
}

TEST_CASE("busy_timeout makes a writer wait for another connection's lock, 0 fails at once") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options patient, impatient;
  patient.busy_timeout = 10s;
  impatient.busy_timeout = 0ms;
  auto holder = test::open(ctx, dir.db());
  auto waiter = test::open(ctx, dir.db(), patient);
  auto quitter = test::open(ctx, dir.db(), impatient);
  test::run(ctx,
            [](asiolite::connection& holding, asiolite::connection& waiting,
               asiolite::connection& quitting) -> asio::awaitable<void> {
              co_await holding.async_execute("CREATE TABLE t(x)");
              auto tx = co_await holding.async_begin();
              auto [ec, r] = co_await quitting.async_execute("INSERT INTO t VALUES (1)",
                                                             asiolite::compat::as_tuple(asio::use_awaitable));
              CHECK(ec == asiolite::errc::busy);

              // The holder commits a little later; the patient writer gets the lock then.
              asio::co_spawn(
                  co_await asio::this_coro::executor,
                  [&tx]() -> asio::awaitable<void> {
                    asio::steady_timer t(co_await asio::this_coro::executor, 30ms);
                    co_await t.async_wait(asio::use_awaitable);
                    co_await tx.async_commit();
                  },
                  asio::detached);
              auto [ec2, r2] = co_await waiting.async_execute("INSERT INTO t VALUES (2)",
                                                              asiolite::compat::as_tuple(asio::use_awaitable));
              CHECK_FALSE(ec2);
              CHECK(r2.changes == 1);
            }(holder, waiter, quitter));
}

// Switching a database to WAL reads it, then writes it: SQLite then reports a writer's lock
// as SQLITE_BUSY without asking the busy handler. The open must still wait busy_timeout.
TEST_CASE("an open that switches a database to WAL waits busy_timeout for another connection's write") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options rollback, patient, impatient;
  rollback.journal = asiolite::journal_mode::delete_;
  patient.busy_timeout = 10s;  // and WAL, the default for a file
  impatient.busy_timeout = 0ms;
  const std::string path = dir.db();
  auto holder = test::open(ctx, path, rollback);
  auto [quit_ec, message, opened_mode, rows] = test::run(
      ctx,
      [](asiolite::connection& holding, std::string file, asiolite::options waiting_options,
         asiolite::options quitting_options)
          -> asio::awaitable<std::tuple<asiolite::error_code, std::string, std::string, std::int64_t>> {
        co_await holding.async_execute("CREATE TABLE t(x)");
        auto tx = co_await holding.async_begin();
        co_await tx.async_execute("INSERT INTO t VALUES (1)");
        auto ex = co_await asio::this_coro::executor;

        asiolite::diagnostics diag;
        auto [ec, quitter] = co_await asiolite::connection::async_open(ex, file, quitting_options, diag,
                                                                       asiolite::compat::as_tuple(asio::use_awaitable));

        // The holder commits a little later; the patient open switches the file to WAL then.
        asio::co_spawn(
            ex,
            [&tx]() -> asio::awaitable<void> {
              asio::steady_timer t(co_await asio::this_coro::executor, 30ms);
              co_await t.async_wait(asio::use_awaitable);
              co_await tx.async_commit();
            },
            asio::detached);
        auto waiter = co_await asiolite::connection::async_open(ex, file, waiting_options, asio::use_awaitable);
        auto mode = co_await waiter.async_query("PRAGMA journal_mode");
        auto count = co_await waiter.async_query("SELECT count(*) FROM t");
        co_return std::make_tuple(ec, diag.message(), mode[0].get<std::string>(0), count[0].get<std::int64_t>(0));
      }(holder, path, patient, impatient));
  CHECK(quit_ec == asiolite::errc::busy);
  CHECK_THAT(message, Catch::Matchers::Contains("journal_mode = wal"));
  CHECK(opened_mode == "wal");
  CHECK(rows == 1);  // the holder's write is there, committed
}

TEST_CASE("with spin_wait 0 and the default, concurrent coroutines on a 4-thread io_context get their results") {
  const std::chrono::microseconds spins[] = {std::chrono::microseconds(0), asiolite::options().spin_wait};
  CHECK(spins[1] == std::chrono::microseconds(50));  // the documented default
  for (const auto spin : spins) {
    INFO("spin_wait: " << spin.count() << " us");
    test::temp_dir dir;
    asio::io_context ctx(4);
    asiolite::options opts;
    opts.spin_wait = spin;
    auto db = test::open(ctx, dir.db(), opts);
    test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<void> {
      co_await conn.async_execute("CREATE TABLE t(c INTEGER, i INTEGER, v TEXT)");
    }(db));

    // Each coroutine inserts its rows one after another and reads each back: every result
    // must be its own, and its rows must be there in the order it wrote them.
    constexpr int coroutines = 64, each = 40;
    std::atomic<int> wrong{0}, finished{0};
    for (int c = 0; c < coroutines; ++c)
      asio::co_spawn(
          ctx,
          [&db, &wrong, &finished, c]() -> asio::awaitable<void> {
            for (int i = 0; i < each; ++i) {
              const std::string v = std::to_string(c) + "/" + std::to_string(i);
              const auto r = co_await db.async_execute("INSERT INTO t VALUES (?, ?, ?)", c, i, v);
              const auto back = co_await db.async_query_one<std::tuple<std::int64_t, std::int64_t, std::string>>(
                  "SELECT c, i, v FROM t WHERE rowid = ?", r.last_insert_rowid);
              const auto mine = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t WHERE c = ?", c);
              if (r.changes != 1 || !back || *back != std::make_tuple(std::int64_t{c}, std::int64_t{i}, v) ||
                  mine != i + 1)
                ++wrong;
            }
            ++finished;
          },
          asio::detached);
    test::run_on_threads(ctx, 4);
    CHECK(finished == coroutines);
    CHECK(wrong == 0);

    // One coroutine alone, each request awaited before the next: the path on which the
    // caller may spin for its result.
    const int alone_wrong = test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<int> {
      int bad = 0;
      for (int i = 0; i < 500; ++i) {
        const auto v = co_await conn.async_query_scalar<std::int64_t>("SELECT ? * 2", i);
        const auto s = co_await conn.async_query_one<std::string>("SELECT 'n' || ?", i);
        if (v != 2 * i || s != "n" + std::to_string(i)) ++bad;
      }
      co_return bad;
    }(db));
    CHECK(alone_wrong == 0);

    // Callbacks submitted in one burst run in submission order.
    constexpr int burst = 500;
    std::atomic<int> burst_failed{0};
    for (int k = 0; k < burst; ++k)
      db.async_execute("INSERT INTO t VALUES (-1, ?, 'burst')", k, [&burst_failed](asiolite::error_code ec, auto) {
        if (ec) ++burst_failed;
      });
    test::run_on_threads(ctx, 4);
    CHECK(burst_failed == 0);
    using counts = std::tuple<std::int64_t, std::int64_t, std::int64_t>;
    const auto stats = test::run(ctx, [](asiolite::connection& conn) -> asio::awaitable<counts> {
      const auto rows = co_await conn.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
      // Rows of one writer whose rowids run against the order it wrote them in.
      const auto out_of_order = co_await conn.async_query_scalar<std::int64_t>(
          "SELECT count(*) FROM t a JOIN t b ON a.c = b.c AND a.i < b.i AND a.rowid > b.rowid");
      const auto distinct =
          co_await conn.async_query_scalar<std::int64_t>("SELECT count(DISTINCT v) FROM t WHERE c >= 0");
      co_return std::make_tuple(rows, out_of_order, distinct);
    }(db));
    CHECK(std::get<0>(stats) == coroutines * each + burst);
    CHECK(std::get<1>(stats) == 0);
    CHECK(std::get<2>(stats) == coroutines * each);
  }
}

TEST_CASE("limits set at open bound what a statement may do, and change at run time") {
  asiolite::options opts;
  opts.limits = {{asiolite::limit::length, 1000}, {asiolite::limit::variable_number, 3}};
  test::database fx("", opts);
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto length_limit = co_await db.async_get_limit(asiolite::limit::length);
    CHECK(length_limit == 1000);
    const auto variable_limit = co_await db.async_get_limit(asiolite::limit::variable_number);
    CHECK(variable_limit == 3);
    asiolite::diagnostics diag;
    auto [big, b] = co_await db.async_query_scalar<asiolite::blob>("SELECT zeroblob(2000)", diag, test::tuple_token);
    CHECK(big == asiolite::errc::toobig);
    auto [params, p] = co_await db.async_query_scalar<std::int64_t>("SELECT ?4", diag, test::tuple_token);
    CHECK(params == asiolite::errc::error);
    CHECK(test::contains(diag.message(), "between ?1 and ?3"));

    // Raised at run time: the next statements may do more.
    const int length_before = co_await db.async_set_limit(asiolite::limit::length, 5000);
    CHECK(length_before == 1000);
    const auto blob = co_await db.async_query_scalar<asiolite::blob>("SELECT zeroblob(2000)");
    CHECK(blob.size() == 2000);

    // A bad value or category fails clearly and changes nothing.
    auto [negative, n] = co_await db.async_set_limit(asiolite::limit::length, -1, diag, test::tuple_token);
    CHECK(negative == asiolite::errc::invalid_option);
    CHECK(diag.message() == "the new limit: the value is negative (-1)");
    auto [bogus, g] = co_await db.async_get_limit(static_cast<asiolite::limit>(42), diag, test::tuple_token);
    CHECK(bogus == asiolite::errc::invalid_option);
    CHECK(diag.message() == "the limit: 42 is not a limit (0 to 11)");
    const auto length_now = co_await db.async_get_limit(asiolite::limit::length);
    CHECK(length_now == 5000);

    // The same from the worker.
    auto from_worker = co_await db.async_call([](asiolite::sync_handle& h) {
      const int before = h.set_limit(asiolite::limit::column, 10);
      bool refused = false;
      try {
        h.set_limit(asiolite::limit::column, -5);
      } catch (const asiolite::sqlite_error& e) {
        refused = e.code() == asiolite::errc::invalid_option;
      }
      return std::tuple(before > 10, h.get_limit(asiolite::limit::column), refused);
    });
    CHECK(from_worker == std::tuple(true, 10, true));
    auto [columns, c] =
        co_await db.async_execute("CREATE TABLE wide(a, b, c, d, e, f, g, h, i, j, k)", diag, test::tuple_token);
    CHECK(columns == asiolite::errc::error);
    CHECK(test::contains(diag.message(), "too many columns"));
  });
}

TEST_CASE("a limit that SQLite cannot take fails the open, naming it") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::options opts;
  opts.limits = {{asiolite::limit::length, 1000}, {asiolite::limit::attached, -2}};
  asiolite::diagnostics diag;
  CHECK(open_error(ctx, dir.db(), opts, diag) == asiolite::errc::invalid_option);
  CHECK(diag.message() == "options::limits[1]: the value is negative (-2)");
  opts.limits = {{static_cast<asiolite::limit>(-1), 3}};
  CHECK(open_error(ctx, dir.db(), opts, diag) == asiolite::errc::invalid_option);
  CHECK(diag.message() == "options::limits[0]: -1 is not a limit (0 to 11)");
  // Above SQLite's compiled-in maximum: lowered to it.
  opts.limits = {{asiolite::limit::attached, 1000}};
  auto db = test::open(ctx, dir.db(), opts);
  CHECK(test::run(ctx, db.async_get_limit(asiolite::limit::attached, asio::use_awaitable)) == 10);
}

TEST_CASE("limits of the options apply to every connection of a pool") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::pool_options po;
  po.readers = 2;
  po.connection.limits = {{asiolite::limit::length, 100}};
  test::run(ctx, [](asio::any_io_executor ex, std::string path, asiolite::pool_options o) -> asio::awaitable<void> {
    auto db = co_await asiolite::pool::async_open(ex, path, o);
    asiolite::diagnostics diag;
    auto [w, a] =
        co_await db.writer().async_query_scalar<asiolite::blob>("SELECT zeroblob(200)", diag, test::tuple_token);
    CHECK(w == asiolite::errc::toobig);
    auto rt = co_await db.async_begin_read();  // holds one reader; the next read takes the other
    auto [r1, b] = co_await rt.async_query_scalar<asiolite::blob>("SELECT zeroblob(200)", diag, test::tuple_token);
    auto [r2, c] = co_await db.async_query_scalar<asiolite::blob>("SELECT zeroblob(200)", diag, test::tuple_token);
    CHECK(r1 == asiolite::errc::toobig);
    CHECK(r2 == asiolite::errc::toobig);
    co_await rt.async_commit();
    co_await db.async_close();
  }(ctx.get_executor(), dir.db(), po));
}

namespace {

// SELECT load_extension(...): SQL's own way to load, which must stay refused.
std::string sql_load_extension() { return std::string("SELECT load_extension('") + ASIOLITE_TEST_EXTENSION + "')"; }

}  // namespace

TEST_CASE("an extension loads with loading enabled for that call only, never for SQL") {
  test::database fx("");
  fx.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::diagnostics diag;
    auto [before, b] =
        co_await db.async_query_scalar<std::optional<std::int64_t>>(sql_load_extension(), diag, test::tuple_token);
    CHECK(before == asiolite::errc::error);
    CHECK(diag.message() == "not authorized");

    co_await db.async_load_extension(ASIOLITE_TEST_EXTENSION);
    const auto answer = co_await db.async_query_scalar<std::int64_t>("SELECT answer()");
    CHECK(answer == 42);
    auto [after, a] =
        co_await db.async_query_scalar<std::optional<std::int64_t>>(sql_load_extension(), diag, test::tuple_token);
    CHECK(after == asiolite::errc::error);
    CHECK(diag.message() == "not authorized");

    // Another entry point, from the worker, and the failures: a clear error each.
    auto from_worker = co_await db.async_call([](asiolite::sync_handle& h) {
      // With the C API's loading turned off, it is on for that call only.
      const auto c_api_loading = [&h] {
        int on = -1;
        sqlite3_db_config(h.native_handle(), SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, -1, &on);
        return on;
      };
      sqlite3_db_config(h.native_handle(), SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
      h.load_extension(ASIOLITE_TEST_EXTENSION, "asiolite_test_seven_init");
      std::string missing_entry = c_api_loading() == 0 ? "off after" : "left on";
      try {
        h.load_extension(ASIOLITE_TEST_EXTENSION, "no_such_init");
      } catch (const asiolite::sqlite_error& e) {
        missing_entry += " | " + e.get_diagnostics().message();
      }
      missing_entry += c_api_loading() == 0 ? " | off after" : " | left on";
      return missing_entry;
    });
    INFO(from_worker);
    CHECK(from_worker.starts_with("off after | could not load the extension"));
    CHECK(from_worker.ends_with("no_such_init | off after"));
    const auto seven = co_await db.async_query_scalar<std::int64_t>("SELECT seven()");
    CHECK(seven == 7);
    auto [missing] = co_await db.async_load_extension("/nonexistent/libnothing.so", diag, test::tuple_token);
    CHECK(missing == asiolite::errc::error);
    CHECK(test::contains(diag.message(), "could not load the extension /nonexistent/libnothing.so: "));
    auto [nul] = co_await db.async_load_extension(std::string_view("a\0b", 3), diag, test::tuple_token);
    CHECK(nul == asiolite::errc::embedded_nul);
    // Failed loads leave loading as refused as before.
    auto [still, s] =
        co_await db.async_query_scalar<std::optional<std::int64_t>>(sql_load_extension(), diag, test::tuple_token);
    CHECK(still == asiolite::errc::error);
    CHECK(diag.message() == "not authorized");
  });
}

TEST_CASE("options::extensions loads on every connection of a pool, and one that does not load fails the open") {
  test::temp_dir dir;
  asio::io_context ctx;
  asiolite::pool_options po;
  po.readers = 2;
  po.connection.extensions = {{ASIOLITE_TEST_EXTENSION, ""}, {ASIOLITE_TEST_EXTENSION, "asiolite_test_seven_init"}};
  test::run(ctx, [](asio::any_io_executor ex, std::string path, asiolite::pool_options o) -> asio::awaitable<void> {
    auto db = co_await asiolite::pool::async_open(ex, path, o);
    const auto on_writer = co_await db.writer().async_query_scalar<std::int64_t>("SELECT answer() + seven()");
    CHECK(on_writer == 49);
    auto rt = co_await db.async_begin_read();  // holds one reader; the next read takes the other
    const auto on_held = co_await rt.async_query_scalar<std::int64_t>("SELECT answer() + seven()");
    const auto on_other = co_await db.async_query_scalar<std::int64_t>("SELECT answer() + seven()");
    CHECK(on_held == 49);
    CHECK(on_other == 49);
    co_await rt.async_commit();
    co_await db.async_close();
  }(ctx.get_executor(), dir.db(), po));

  asiolite::options opts;
  opts.extensions = {{"/nonexistent/libnothing.so", ""}};
  asiolite::diagnostics diag;
  CHECK(open_error(ctx, dir.db(), opts, diag) == asiolite::errc::error);
  CHECK(test::contains(diag.message(), "could not load the extension /nonexistent/libnothing.so: "));
}
