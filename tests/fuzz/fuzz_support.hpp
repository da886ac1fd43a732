// What the three libFuzzer targets share: one in-memory connection per process, opened
// before the first input, a way to run one input's coroutine to its end, and the check
// (and reset) that every input leaves the connection usable.
#pragma once

#include <asiolite.hpp>

#include "../asio_flavour.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace fuzz {

// Errors arrive as values, never as exceptions: a failing input is a result, not a crash.
inline constexpr auto tuple_token = asiolite::compat::as_tuple(asio::use_awaitable);

// Messages quote fuzzed bytes: NULs and other unprintable bytes are shown as \xNN.
[[noreturn]] inline void fail(const std::string& what) {
  std::string shown;
  for (char c : what) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f) {
      shown += c;
    } else {
      char esc[5];
      std::snprintf(esc, sizeof esc, "\\x%02x", b);
      shown += esc;
    }
  }
  std::fprintf(stderr, "asiolite fuzz check failed: %s\n", shown.c_str());
  std::fflush(stderr);
  std::abort();
}

inline void require(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

// True while the harness itself runs SQL (setup, reset): the authorizer lets it do
// what fuzzed SQL may not. Read and written on the worker thread only.
inline bool trusted = false;

// Pragmas that only report on the schema: allowed with an argument (others may set state).
inline bool reporting_pragma(std::string_view name) {
  for (std::string_view p : {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                             "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check"})
    if (name == p) return true;
  return false;
}

// Fuzzed SQL may do anything to the schema and data (they are re-created after each
// input), but nothing whose effect outlives the reset or leaves this process's sandbox:
// no files (ATTACH, VACUUM INTO: also stopped by SQLITE_LIMIT_ATTACHED = 0), no pragma
// that sets a value (a lower hard_heap_limit or query_only would fail every later input),
// no extension loading (also off by default in SQLite).
inline int authorize(void*, int action, const char* arg1, const char* arg2, const char*, const char*) {
  if (trusted) return SQLITE_OK;
  switch (action) {
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      return SQLITE_DENY;
    case SQLITE_PRAGMA:
      return arg2 == nullptr || (arg1 && reporting_pragma(arg1)) ? SQLITE_OK : SQLITE_DENY;
    case SQLITE_FUNCTION:
      return arg2 && std::string_view(arg2) == "load_extension" ? SQLITE_DENY : SQLITE_OK;
    default:
      return SQLITE_OK;
  }
}

// A small schema for fuzzed SQL to find: every storage class, a view, an index, a foreign key.
inline constexpr const char* schema_sql =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB);"
    "INSERT INTO t VALUES (1, 42, 1.5, 'ada', x'00ff'), (2, -9223372036854775808, -0.0, '', x''),"
    " (3, NULL, 1e308, 'gr' || char(226) || 'ce', NULL), (4, 9223372036854775807, 0.1, 'x', x'41');"
    "CREATE TABLE u(k TEXT PRIMARY KEY, v ANY, t_id INTEGER REFERENCES t(id));"
    "INSERT INTO u VALUES ('a', 1, 1), ('b', 'two', 2), ('c', NULL, NULL);"
    "CREATE INDEX u_v ON u(v);"
    "CREATE VIEW tv AS SELECT id, s FROM t;";

inline void exec_trusted(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = std::string("harness SQL '") + sql + "' failed: " + (message ? message : "?");
    sqlite3_free(message);
    fail(text);
  }
}

// The database back to its first state: no transaction, no temp objects, the schema
// and rows above. Runs on the worker, through the raw handle, so that none of these
// statements is prepared under the trusted authorizer into the library's cache.
inline void reset_database(sqlite3* db) {
  trusted = true;
  if (!sqlite3_get_autocommit(db)) exec_trusted(db, "ROLLBACK");
  exec_trusted(db, "PRAGMA foreign_keys = OFF");
  // Temp objects first (VACUUM below resets only main).
  for (;;) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT type, name FROM temp.sqlite_schema WHERE type IN ('table', 'view') "
                           "AND name NOT LIKE 'sqlite_%' LIMIT 1",
                           -1, &stmt, nullptr) != SQLITE_OK)
      fail(std::string("listing temp objects: ") + sqlite3_errmsg(db));
    std::string drop;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const std::string type = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      const std::string name(reinterpret_cast<const char*>(sqlite3_column_blob(stmt, 1)),
                             static_cast<std::size_t>(sqlite3_column_bytes(stmt, 1)));
      char* quoted = sqlite3_mprintf("DROP %s temp.\"%w\"", type == "view" ? "VIEW" : "TABLE", name.c_str());
      drop = quoted;
      sqlite3_free(quoted);
    }
    sqlite3_finalize(stmt);
    if (drop.empty()) break;
    exec_trusted(db, drop.c_str());
  }
  // SQLite's documented way to empty a database, whatever the fuzzed SQL did to it.
  // (VACUUM attaches its copy internally: it needs one attachment for the moment.)
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 1);
  sqlite3_db_config(db, SQLITE_DBCONFIG_RESET_DATABASE, 1, nullptr);
  exec_trusted(db, "VACUUM");
  sqlite3_db_config(db, SQLITE_DBCONFIG_RESET_DATABASE, 0, nullptr);
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
  exec_trusted(db, schema_sql);
  exec_trusted(db, "PRAGMA foreign_keys = ON");
  trusted = false;
}

struct harness {
  asio::io_context ctx;
  std::optional<asiolite::connection> db;
};

// Runs one coroutine on the harness's io_context to its end. An exception escaping it
// is a failure: every operation here uses as_tuple, so none should throw.
inline void run(harness& h, asio::awaitable<void> aw) {
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(h.ctx, std::move(aw), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  h.ctx.restart();
  h.ctx.run();
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      fail(std::string("an exception escaped the input's coroutine: ") + e.what());
    } catch (...) {
      fail("a non-standard exception escaped the input's coroutine");
    }
  }
  require(done, "the input's coroutine never finished (the io_context ran out of work first)");
}

// The process's one connection: in memory, statements stopped after 200 ms (fuzzed SQL
// may loop forever: WITH RECURSIVE, huge joins), values capped at 100 kB (randomblob(1e9)),
// SQLite's own heap capped, the authorizer above.
inline harness& get() {
  static harness* h = [] {
    auto* made = new harness;  // never destroyed: libFuzzer may exit from any thread
    sqlite3_hard_heap_limit64(512ll << 20);
    asiolite::options opts;
    opts.in_memory = true;
    opts.statement_timeout = std::chrono::milliseconds(200);
    opts.cursor_batch_size = 4;
    opts.on_open = [](asiolite::sync_handle& handle) {
      sqlite3* db = handle.native_handle();
      sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
      sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 100000);
      sqlite3_set_authorizer(db, authorize, nullptr);
      reset_database(db);
    };
    run(*made, [](harness& hh, asiolite::options o) -> asio::awaitable<void> {
      auto [ec, db] = co_await asiolite::connection::async_open(hh.ctx, "fuzz", o, tuple_token);
      require(!ec, "opening the in-memory database failed: " + ec.message());
      hh.db.emplace(std::move(db));
    }(*made, std::move(opts)));
    return made;
  }();
  return *h;
}

// After every input: the connection must still answer a fixed query correctly (abort
// otherwise); then, when the input may have changed the database, it is reset.
inline void after_input(harness& h, bool reset) {
  run(h, [](asiolite::connection& db, bool do_reset) -> asio::awaitable<void> {
    auto [ec, v] = co_await db.async_query_scalar<std::int64_t>("SELECT ?1 + 1", std::int64_t{41}, tuple_token);
    require(!ec, "the check query failed after the input: " + ec.message());
    require(v == 42, "the check query returned " + std::to_string(v));
    auto [ec2, text] = co_await db.async_query_one<std::tuple<std::string, std::optional<double>>>(
        "SELECT 'still ' || 'here', NULL", tuple_token);
    require(!ec2 && text && std::get<0>(*text) == "still here" && !std::get<1>(*text),
            "the second check query failed after the input: " + ec2.message());
    if (do_reset) {
      auto [ec3] = co_await db.async_call([](asiolite::sync_handle& handle) { reset_database(handle.native_handle()); },
                                          tuple_token);
      require(!ec3, "resetting the database failed: " + ec3.message());
    }
  }(*h.db, reset));
}

// An error an operation reported must be a real one: set, and with a message.
inline void check_error(const asiolite::error_code& ec, const char* form) {
  if (!ec) return;
  require(!ec.message().empty(), std::string(form) + ": an error without a message");
}

}  // namespace fuzz
