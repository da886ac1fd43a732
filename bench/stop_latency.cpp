// How soon a cancellation or a statement timeout can stop SQLite, and what checking for
// one costs. asiolite checks from SQLite's progress handler, every `period` virtual
// machine steps: a stop waits at most for the longest gap between two calls, and every
// call costs a little. Raw SQLite only, so the figures are SQLite's and the handler's.
//
//   asiolite_stop_latency [rows]      (default 1000000)
//
// Prints, for each query: its time without a handler, with one every 100, 1000 and 10000
// steps (the cost), and the longest gap between two calls at each period (the bound).
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

// What asiolite's handler does on every call (detail/database.hpp, should_stop): a flag
// and, with a statement timeout, the clock. Records the longest gap between calls.
struct probe {
  std::atomic<bool> stop{false};
  clock_type::time_point deadline = clock_type::time_point::max();
  clock_type::time_point last{};
  clock_type::duration longest{};
  bool timing = false;  // record the gaps (a clock read each call: only for the gap runs)

  static int on_progress(void* self) {
    auto& p = *static_cast<probe*>(self);
    if (p.stop.load(std::memory_order_relaxed)) return 1;
    const auto now = clock_type::now();  // as with a statement timeout set
    if (now >= p.deadline) return 1;
    if (p.timing) {
      p.longest = std::max(p.longest, now - p.last);
      p.last = now;
    }
    return 0;
  }
};

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "%s: %s\n", sql.c_str(), err ? err : "?");
    std::exit(1);
  }
}

// Runs `sql` to its end; returns the wall time.
double run_ms(sqlite3* db, const std::string& sql) {
  const auto start = clock_type::now();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "%s: %s\n", sql.c_str(), sqlite3_errmsg(db));
    std::exit(1);
  }
  while (sqlite3_step(stmt) == SQLITE_ROW) {
  }
  sqlite3_finalize(stmt);
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const long rows = argc > 1 ? std::atol(argv[1]) : 1000000;
  if (rows < 1000) {
    std::fprintf(stderr, "rows: expected a number >= 1000\n");
    return 2;
  }
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER, s TEXT)");
  exec(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < " + std::to_string(rows) +
               ") INSERT INTO t SELECT i, (i * 7919) % 1000003, hex(randomblob(8)) FROM c");

  struct query {
    const char* name;
    std::string sql;
  };
  const std::vector<query> queries = {
      {"scan: sum over every row", "SELECT sum(x) FROM t"},
      {"sort: ORDER BY an unindexed column", "SELECT id FROM t ORDER BY s LIMIT 1"},
      {"group by", "SELECT x % 1000, count(*) FROM t GROUP BY 1"},
      {"one big function call: randomblob(64 MB)", "SELECT length(randomblob(67108864))"},
      {"index build", "CREATE INDEX IF NOT EXISTS tx ON t(x, s)"},
  };
  const int periods[] = {100, 1000, 10000};

  std::printf("rows: %ld\n%-42s %11s %26s %26s %26s\n", rows, "query", "no handler", "every 100: time/gap", "every 1000: time/gap", "every 10000: time/gap");
  for (const auto& q : queries) {
    std::vector<double> bare;
    sqlite3_progress_handler(db, 0, nullptr, nullptr);
    for (int i = 0; i < 5; ++i) {
      if (q.sql.rfind("CREATE INDEX", 0) == 0) exec(db, "DROP INDEX IF EXISTS tx");
      bare.push_back(run_ms(db, q.sql));
    }
    std::printf("%-42s %8.2f ms", q.name, median(bare));
    for (const int period : periods) {
      probe p;
      sqlite3_progress_handler(db, period, &probe::on_progress, &p);
      std::vector<double> timed;
      for (int i = 0; i < 5; ++i) {
        if (q.sql.rfind("CREATE INDEX", 0) == 0) exec(db, "DROP INDEX IF EXISTS tx");
        timed.push_back(run_ms(db, q.sql));
      }
      p.timing = true;
      p.last = clock_type::now();
      if (q.sql.rfind("CREATE INDEX", 0) == 0) exec(db, "DROP INDEX IF EXISTS tx");
      run_ms(db, q.sql);
      p.longest = std::max(p.longest, clock_type::now() - p.last);  // from the last call to the end
      const double gap = std::chrono::duration<double, std::milli>(p.longest).count();
      std::printf("   %7.2f ms / %7.3f ms", median(timed), gap);
    }
    std::printf("\n");
  }

  // Preparing runs no virtual machine step: nothing can stop it. How long is a long one?
  const std::string big = "SELECT length('" + std::string(10'000'000, 'a') + "')";
  std::vector<double> prep;
  for (int i = 0; i < 5; ++i) {
    const auto start = clock_type::now();
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, big.c_str(), static_cast<int>(big.size()), &stmt, nullptr);
    sqlite3_finalize(stmt);
    prep.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - start).count());
  }
  std::printf("prepare of 10 MB of SQL (cannot be stopped): %.2f ms\n", median(prep));
  sqlite3_close(db);
  return 0;
}
