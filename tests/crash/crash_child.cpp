// The program test_crash.cpp kills: it writes through asiolite's public API in one mode
// and, once a co_await that acknowledges a commit has returned, writes "T <tx> <rows>" to
// stdout (one write(2) per line: nothing buffered is lost by the kill). Every row carries
// its transaction number (tx) and the number of rows that transaction wrote (n), so the
// parent can check each transaction is all or nothing without knowing the modes' plans.
//
// crash_child <db> <mode> <vfs> <journal> <synchronous> <wal_autocheckpoint> <seed>
//   mode: autocommit | transaction | many | call | pool | group
//   vfs: powercut (tests/crash/powercut_vfs.hpp) or - (SQLite's default)
//   journal: unset | wal | delete      synchronous: unset | full | normal | off
//   wal_autocheckpoint: pages, or - to leave SQLite's
// First line: "J <journal_mode> S <synchronous>" as the open connection reports them.
#include "powercut_vfs.hpp"

#include <asiolite.hpp>

#include "../asio_flavour.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

constexpr const char* insert_sql = "INSERT INTO t(tx, n, payload) VALUES (?, ?, randomblob(?))";
// Enough transactions that the parent always kills first; a bound if it never does.
constexpr std::int64_t last_tx = 200000;

struct plan {
  std::string path, mode;
  asiolite::options opts;
  std::mt19937 rng;

  // Payloads from a few hundred bytes to more than a page, so that pages fill, overflow
  // pages appear, and the WAL reaches its checkpoints.
  std::int64_t payload() { return std::uniform_int_distribution<std::int64_t>(100, 6000)(rng); }
  std::int64_t rows() { return std::uniform_int_distribution<std::int64_t>(2, 7)(rng); }
};

void say(const std::string& line) {
  const std::string out = line + "\n";
  if (::write(STDOUT_FILENO, out.data(), out.size()) != static_cast<ssize_t>(out.size())) std::_Exit(4);
}

void ack(std::int64_t tx, std::int64_t rows) { say("T " + std::to_string(tx) + " " + std::to_string(rows)); }

void fail(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "crash_child: %s\n", ex.what());
  }
  std::_Exit(3);
}

asio::awaitable<void> report_settings(asiolite::connection& db) {
  const auto journal = co_await db.async_query_scalar<std::string>("PRAGMA journal_mode");
  const auto sync = co_await db.async_query_scalar<std::int64_t>("PRAGMA synchronous");
  say("J " + journal + " S " + std::to_string(sync));
}

asio::awaitable<void> autocommit(asiolite::connection& db, plan& p) {
  for (std::int64_t tx = 1; tx <= last_tx; ++tx) {
    co_await db.async_execute(insert_sql, tx, std::int64_t{1}, p.payload());
    ack(tx, 1);
  }
}

asio::awaitable<void> transactions(asiolite::connection& db, plan& p) {
  for (std::int64_t tx = 1; tx <= last_tx; ++tx) {
    const std::int64_t rows = p.rows();
    auto t = co_await db.async_begin();
    for (std::int64_t i = 0; i < rows; ++i) co_await t.async_execute(insert_sql, tx, rows, p.payload());
    co_await t.async_commit();
    ack(tx, rows);
  }
}

std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> elements(plan& p, std::int64_t tx,
                                                                           std::int64_t rows) {
  std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> out;
  for (std::int64_t i = 0; i < rows; ++i) out.emplace_back(tx, rows, p.payload());
  return out;
}

asio::awaitable<void> many(asiolite::connection& db, plan& p) {
  for (std::int64_t tx = 1; tx <= last_tx; ++tx) {
    const std::int64_t rows = p.rows();
    auto batch = elements(p, tx, rows);
    co_await db.async_execute_many(insert_sql, std::move(batch));
    ack(tx, rows);
  }
}

// Transactions run by code on the worker: BEGIN and COMMIT by hand in async_call, and
// async_call_in_transaction, in turn.
asio::awaitable<void> calls(asiolite::connection& db, plan& p) {
  for (std::int64_t tx = 1; tx <= last_tx; ++tx) {
    const std::int64_t rows = p.rows();
    auto batch = elements(p, tx, rows);
    if (tx % 2 == 0) {
      // Named first: g++ 12 destroys twice a lambda capturing by value inside co_await.
      auto by_hand = [batch](asiolite::sync_handle& h) {
        h.execute("BEGIN IMMEDIATE");
        for (const auto& [t, n, size] : batch) h.execute(insert_sql, t, n, size);
        h.execute("COMMIT");
      };
      co_await db.async_call(std::move(by_hand));
    } else {
      auto body = [batch](asiolite::sync_handle& h) {
        for (const auto& [t, n, size] : batch) h.execute(insert_sql, t, n, size);
      };
      co_await db.async_call_in_transaction(std::move(body));
    }
    ack(tx, rows);
  }
}

// Through a pool's writer, autocommit and transactions in turn, while a reader reads.
asio::awaitable<void> through_pool(const std::string& path, plan& p) {
  const auto ex = co_await asio::this_coro::executor;
  asiolite::pool_options po;
  po.readers = 1;
  po.connection = p.opts;
  auto pl = co_await asiolite::pool::async_open(ex, path, po);
  co_await report_settings(pl.writer());
  asio::co_spawn(
      ex,
      [](asiolite::pool& readers) -> asio::awaitable<void> {
        for (;;) co_await readers.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
      }(pl),
      fail);
  for (std::int64_t tx = 1; tx <= last_tx; ++tx) {
    if (tx % 2 == 1) {
      co_await pl.writer().async_execute(insert_sql, tx, std::int64_t{1}, p.payload());
      ack(tx, 1);
    } else {
      const std::int64_t rows = p.rows();
      auto t = co_await pl.writer().async_begin();
      for (std::int64_t i = 0; i < rows; ++i) co_await t.async_execute(insert_sql, tx, rows, p.payload());
      co_await t.async_commit();
      ack(tx, rows);
    }
  }
  std::_Exit(0);
}

// Group commit: several coroutines keep autocommit writes in flight at once. A write takes
// its number and is queued with no suspension in between, so numbers follow queue order,
// which is commit order.
asio::awaitable<void> grouped(asiolite::connection& db, plan& p, std::int64_t& next) {
  while (next < last_tx) {
    const std::int64_t tx = ++next;
    if (tx % 3 == 0) {
      const std::int64_t rows = p.rows();
      auto batch = elements(p, tx, rows);
      co_await db.async_execute_many(insert_sql, std::move(batch));
      ack(tx, rows);
    } else {
      co_await db.async_execute(insert_sql, tx, std::int64_t{1}, p.payload());
      ack(tx, 1);
    }
  }
}

asio::awaitable<void> run(plan& p) {
  const auto ex = co_await asio::this_coro::executor;
  if (p.mode == "pool") co_await through_pool(p.path, p);
  if (p.mode == "group") p.opts.group_commit = 16;
  auto db = co_await asiolite::connection::async_open(ex, p.path, p.opts);
  co_await report_settings(db);
  if (p.mode == "autocommit") co_await autocommit(db, p);
  if (p.mode == "transaction") co_await transactions(db, p);
  if (p.mode == "many") co_await many(db, p);
  if (p.mode == "call") co_await calls(db, p);
  if (p.mode == "group") {
    std::int64_t next = 0;
    asio::steady_timer forever(ex, asio::steady_timer::time_point::max());
    for (int i = 0; i < 8; ++i) asio::co_spawn(ex, grouped(db, p, next), fail);
    co_await forever.async_wait(asiolite::compat::as_tuple(asio::use_awaitable));
  }
  std::fprintf(stderr, "crash_child: unknown mode %s, or never killed\n", p.mode.c_str());
  std::_Exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: crash_child <db> <mode> <vfs> <journal> <synchronous> <wal_autocheckpoint> <seed>\n");
    return 2;
  }
  plan p{argv[1], argv[2], {}, std::mt19937(static_cast<std::uint32_t>(std::strtoul(argv[7], nullptr, 10)))};
  const std::string vfs = argv[3], journal = argv[4], sync = argv[5], checkpoint = argv[6];
  if (vfs != "-") {
    powercut::register_vfs(vfs);
    p.opts.vfs = vfs;
  }
  if (journal == "wal") p.opts.journal = asiolite::journal_mode::wal;
  if (journal == "delete") p.opts.journal = asiolite::journal_mode::delete_;
  if (sync == "full") p.opts.synchronous = asiolite::synchronous_mode::full;
  if (sync == "normal") p.opts.synchronous = asiolite::synchronous_mode::normal;
  if (sync == "off") p.opts.synchronous = asiolite::synchronous_mode::off;
  if (checkpoint != "-") p.opts.pragmas.push_back("wal_autocheckpoint = " + checkpoint);

  asio::io_context ctx;
  asio::co_spawn(ctx, run(p), fail);
  ctx.run();
  return 0;
}
