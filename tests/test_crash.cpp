// Crash durability: a child program (crash/crash_child.cpp) writes through asiolite and
// reports each commit once its co_await has returned; the test kills it with SIGKILL at a
// random moment and checks the database with SQLite's C API: it is intact, every
// acknowledged commit is there, and every transaction is all or nothing. With the
// power-cut VFS (crash/powercut_vfs.hpp) in the child, the kill also loses every write
// that was not synced, as a power cut does.
//
// Replay: every failure names its seed; ASIOLITE_CRASH_SEED=<seed> runs the same kill
// schedule (ack counts, delays, payloads) again. ASIOLITE_STRESS=1 runs ten times as many
// rounds: 584 kills instead of 62 (45 under sanitizers). ASIOLITE_CRASH_VERBOSE=1 prints
// every round's figures.
#include "catch.hpp"
#include "test_support.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace {

// How the child writes, and what it is told about its database.
struct config {
  std::string mode;               // autocommit | transaction | many | call | pool | group
  std::string vfs = "-";          // powercut, or - for SQLite's default
  std::string journal = "unset";  // unset | wal | delete
  std::string sync = "unset";     // unset | full | normal | off
  std::string checkpoint = "50";  // wal_autocheckpoint: small, so that rounds checkpoint
};

// When to kill: after this many acknowledgements (-1: without waiting for the open to
// finish), then after this many microseconds more.
struct kill_plan {
  int acks = 0;
  int delay_us = 0;
  std::uint32_t child_seed = 0;
};

struct round_outcome {
  std::string settings;  // "J <journal_mode> S <synchronous>", as the child's connection said
  std::vector<std::pair<std::int64_t, std::int64_t>> acks;  // (tx, rows), in ack order
  bool killed = false;                                      // the child died of our SIGKILL
  std::string trouble;                                      // why not, if not
};

// What the database holds once reopened after the kill.
struct db_check {
  std::string integrity;
  std::map<std::int64_t, std::int64_t> rows_of_tx;  // tx -> rows present
  std::vector<std::int64_t> torn;                   // tx with some of its rows missing
};

std::uint64_t base_seed() {
  if (const char* s = std::getenv("ASIOLITE_CRASH_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

using test::under_sanitizer;

// Rounds of a power-cut test: halved under sanitizers (the SIGKILL test keeps its 24 kills,
// so every build kills at least 45 children), ten times as many with ASIOLITE_STRESS=1.
int scaled(int rounds, bool halve_when_sanitized = true) {
  if (test::stress()) return rounds * 10;
  return under_sanitizer && halve_when_sanitized ? rounds / 2 : rounds;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void exec_or_throw(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string message = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error(std::string(sql) + ": " + message);
  }
}

// The schema, made (and closed, so in the file) before the child starts: the child's first
// commit is then its own, and a simulated power cut cannot take the table away. Without
// fsync: only the child's power cuts are simulated, nothing here needs the disk itself.
void create_schema(const std::string& path, const config& c) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("cannot create " + path);
  try {
    exec_or_throw(db, "PRAGMA synchronous = OFF");
    exec_or_throw(db, c.journal == "delete" ? "PRAGMA journal_mode = DELETE" : "PRAGMA journal_mode = WAL");
    exec_or_throw(db,
                  "CREATE TABLE t(id INTEGER PRIMARY KEY, tx INTEGER NOT NULL, n INTEGER NOT NULL, payload BLOB);"
                  "CREATE INDEX t_tx ON t(tx)");
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  sqlite3_close(db);
}

// Starts the child, reads its lines, kills it as planned, and reads what it wrote before dying.
round_outcome run_child(const std::string& path, const config& c, const kill_plan& plan,
                        const std::filesystem::path& stderr_path) {
  round_outcome out;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");  // only the child's stdout is inherited
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const std::string seed = std::to_string(plan.child_seed);
  std::vector<std::string> args{ASIOLITE_CRASH_CHILD, path, c.mode, c.vfs, c.journal, c.sync, c.checkpoint, seed};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    throw std::runtime_error("posix_spawn failed");
  }

  std::string pending;
  bool sent = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  auto kill_now = [&] {
    if (plan.delay_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(plan.delay_us));
    ::kill(pid, SIGKILL);
    sent = true;
  };
  if (plan.acks < 0) kill_now();
  for (;;) {
    const int ready_acks = static_cast<int>(out.acks.size());
    if (!sent && !out.settings.empty() && ready_acks >= plan.acks) kill_now();
    pollfd pfd{fds[0], POLLIN, 0};
    const int polled = ::poll(&pfd, 1, 1000);
    if (polled == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        out.trouble = "the child wrote nothing for too long";
        ::kill(pid, SIGKILL);
        sent = true;
      }
      continue;
    }
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is gone
    pending.append(buf, static_cast<std::size_t>(n));
    for (std::size_t eol; (eol = pending.find('\n')) != std::string::npos;) {
      const std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 1);
      if (line.rfind("J ", 0) == 0) {
        out.settings = line;
      } else if (line.rfind("T ", 0) == 0) {
        std::istringstream in(line.substr(2));
        std::int64_t tx = 0, rows = 0;
        in >> tx >> rows;
        out.acks.emplace_back(tx, rows);
      }
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.killed = sent && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  if (!out.killed && out.trouble.empty())
    out.trouble = "the child ended before the kill (status " + std::to_string(status) + "): " + read_file(stderr_path);
  return out;
}

db_check check_database(const std::string& path) {
  db_check out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    out.integrity = std::string("open failed: ") + sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  auto each_row = [&](const char* sql, auto&& fn) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
      out.integrity += std::string(" prepare failed: ") + sqlite3_errmsg(db);
      return;
    }
    int rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) fn(st);
    if (rc != SQLITE_DONE) out.integrity += std::string(" step failed: ") + sqlite3_errmsg(db);
    sqlite3_finalize(st);
  };
  std::string integrity;
  each_row("PRAGMA integrity_check", [&](sqlite3_stmt* st) {
    if (!integrity.empty()) integrity += "\n";
    integrity += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  });
  out.integrity = integrity + out.integrity;
  each_row("SELECT tx, count(*), min(n), max(n) FROM t GROUP BY tx", [&](sqlite3_stmt* st) {
    const std::int64_t tx = sqlite3_column_int64(st, 0), count = sqlite3_column_int64(st, 1);
    out.rows_of_tx[tx] = count;
    if (count != sqlite3_column_int64(st, 2) || count != sqlite3_column_int64(st, 3)) out.torn.push_back(tx);
  });
  sqlite3_close(db);
  return out;
}

// Figures over the rounds of one test case.
struct tally {
  int kills = 0;
  std::int64_t acked = 0;             // acknowledged commits
  std::int64_t lost = 0;              // acknowledged commits not in the database after the crash
  std::int64_t survived_unacked = 0;  // commits that were in, without their ack reaching us
  int rounds_with_loss = 0;
  std::int64_t most_lost = 0;   // in one round
  int checkpointed_rounds = 0;  // rounds in which some commit survived (NORMAL: a checkpoint synced it)
};

enum class expect { no_loss, prefix };

// One round: a fresh database, a child killed as planned, and the checks. `expect::no_loss`:
// every acknowledged commit must be there; `expect::prefix`: some may be lost, but what
// survives is the first commits, whole.
void crash_round(const config& c, const kill_plan& plan, const std::string& expected_settings, expect e, tally& t) {
  test::temp_dir dir;
  const std::string path = dir.db();
  create_schema(path, c);
  const round_outcome r = run_child(path, c, plan, dir.path() / "child.stderr");
  INFO("child stderr: " << read_file(dir.path() / "child.stderr"));
  REQUIRE(r.trouble == "");
  REQUIRE(r.killed);
  ++t.kills;
  if (!r.settings.empty()) REQUIRE(r.settings == expected_settings);

  // A power cut loses the shared memory index too; a process crash leaves it to SQLite.
  if (c.vfs != "-") std::filesystem::remove(path + "-shm");
  const db_check d = check_database(path);
  REQUIRE(d.integrity == "ok");
  INFO("transactions with rows missing: " << d.torn.size());
  REQUIRE(d.torn.empty());
  // Transactions are numbered in commit order: the survivors must be 1..k.
  if (!d.rows_of_tx.empty()) {
    CHECK(d.rows_of_tx.begin()->first == 1);
    REQUIRE(d.rows_of_tx.rbegin()->first == static_cast<std::int64_t>(d.rows_of_tx.size()));
  }
  std::int64_t lost = 0, acked_present = 0;
  for (const auto& [tx, rows] : r.acks) {
    const auto it = d.rows_of_tx.find(tx);
    if (it == d.rows_of_tx.end()) {
      ++lost;
      continue;
    }
    ++acked_present;
    INFO("transaction " << tx);
    REQUIRE(it->second == rows);
  }
  t.acked += static_cast<std::int64_t>(r.acks.size());
  t.lost += lost;
  t.survived_unacked += static_cast<std::int64_t>(d.rows_of_tx.size()) - acked_present;
  if (std::getenv("ASIOLITE_CRASH_VERBOSE"))
    std::printf("  %s %s %s: kill after %d acks + %d us: %zu acked, %zu in the database, %lld lost\n", c.mode.c_str(),
                c.journal.c_str(), c.sync.c_str(), plan.acks, plan.delay_us, r.acks.size(), d.rows_of_tx.size(),
                static_cast<long long>(lost));
  if (lost > 0) ++t.rounds_with_loss;
  t.most_lost = std::max(t.most_lost, lost);
  if (!d.rows_of_tx.empty()) ++t.checkpointed_rounds;
  if (e == expect::no_loss) {
    INFO(r.acks.size() << " acknowledged, " << d.rows_of_tx.size() << " transactions in the database");
    REQUIRE(lost == 0);
  }
}

const std::vector<std::string> all_modes{"autocommit", "transaction", "many", "call", "pool", "group"};

// A kill after at most `max_acks` acknowledgements (half as many under sanitizers, where
// every commit is slower).
kill_plan random_plan(std::mt19937_64& rng, int max_acks) {
  if (under_sanitizer) max_acks /= 2;
  kill_plan p;
  // One round in eight kills while the child still opens its database.
  p.acks =
      std::uniform_int_distribution<int>(0, 7)(rng) == 0 ? -1 : std::uniform_int_distribution<int>(0, max_acks)(rng);
  p.delay_us = std::uniform_int_distribution<int>(0, 3000)(rng);
  p.child_seed = static_cast<std::uint32_t>(rng());
  return p;
}

void print_tally(const char* what, const tally& t, std::chrono::steady_clock::duration took) {
  std::printf(
      "%s: %d kills, %lld acknowledged commits, %lld lost (in %d rounds, at most %lld in one), %lld committed "
      "before their ack, %.2f s\n",
      what, t.kills, static_cast<long long>(t.acked), static_cast<long long>(t.lost), t.rounds_with_loss,
      static_cast<long long>(t.most_lost), static_cast<long long>(t.survived_unacked),
      std::chrono::duration<double>(took).count());
}

}  // namespace

TEST_CASE("a process killed at a random moment loses no acknowledged commit, in every write mode and journal",
          "[crash]") {
  const std::uint64_t seed = base_seed();
  INFO("seed " << seed << " (replay: ASIOLITE_CRASH_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  tally t;
  const auto start = std::chrono::steady_clock::now();
  const int rounds = scaled(4, false);
  for (int round = 0; round < rounds; ++round) {
    for (const auto& mode : all_modes) {
      // The defaults (WAL, FULL); a rollback journal; WAL with synchronous NORMAL, which a
      // process crash (unlike a power cut) must not cost a commit either.
      config c{mode};
      if (round % 3 == 1 && mode != "pool") c.journal = "delete";
      if (round % 3 == 2) c.sync = "normal";
      // Few acks: here every commit waits for the real disk's fsyncs (a rollback journal's
      // several per commit: about 14 ms on the CI's VM, against 3 ms with WAL).
      const kill_plan plan = random_plan(rng, c.journal == "delete" ? 8 : 24);
      INFO("round " << round << ", mode " << mode << ", journal " << c.journal << ", synchronous " << c.sync
                    << ", kill after " << plan.acks << " acks + " << plan.delay_us << " us");
      const std::string settings = c.journal == "delete" ? "J delete S 2"
                                   : c.sync == "normal"  ? "J wal S 1"
                                                         : "J wal S 2";
      crash_round(c, plan, settings, expect::no_loss, t);
    }
  }
  print_tally("process crash (SIGKILL): defaults, DELETE journal, WAL + NORMAL", t,
              std::chrono::steady_clock::now() - start);
  CHECK(t.lost == 0);
}

TEST_CASE("a power cut loses no acknowledged commit with the default WAL journal and synchronous FULL", "[crash]") {
  const std::uint64_t seed = base_seed();
  INFO("seed " << seed << " (replay: ASIOLITE_CRASH_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  tally t;
  const auto start = std::chrono::steady_clock::now();
  const int rounds = scaled(12);
  for (int round = 0; round < rounds; ++round) {
    // journal and synchronous unset: asiolite's defaults, which the child's first line shows.
    config c{all_modes[static_cast<std::size_t>(round) % all_modes.size()], "powercut"};
    const kill_plan plan = random_plan(rng, 80);
    INFO("round " << round << ", mode " << c.mode << ", kill after " << plan.acks << " acks + " << plan.delay_us
                  << " us");
    crash_round(c, plan, "J wal S 2", expect::no_loss, t);
  }
  print_tally("power cut, defaults (WAL, synchronous FULL)", t, std::chrono::steady_clock::now() - start);
  CHECK(t.lost == 0);
}

TEST_CASE("a power cut loses no acknowledged commit with a rollback journal and synchronous FULL", "[crash]") {
  const std::uint64_t seed = base_seed();
  INFO("seed " << seed << " (replay: ASIOLITE_CRASH_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  tally t;
  const auto start = std::chrono::steady_clock::now();
  const int rounds = scaled(10);
  const std::vector<std::string> modes{"autocommit", "transaction", "many", "call", "group"};  // a pool needs WAL
  for (int round = 0; round < rounds; ++round) {
    config c{modes[static_cast<std::size_t>(round) % modes.size()], "powercut", "delete", "full"};
    const kill_plan plan = random_plan(rng, 80);
    INFO("round " << round << ", mode " << c.mode << ", kill after " << plan.acks << " acks + " << plan.delay_us
                  << " us");
    crash_round(c, plan, "J delete S 2", expect::no_loss, t);
  }
  print_tally("power cut, DELETE journal, synchronous FULL", t, std::chrono::steady_clock::now() - start);
  CHECK(t.lost == 0);
}

TEST_CASE("a power cut with WAL and synchronous NORMAL keeps the database whole and loses only the last commits",
          "[crash]") {
  const std::uint64_t seed = base_seed();
  INFO("seed " << seed << " (replay: ASIOLITE_CRASH_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  const auto start = std::chrono::steady_clock::now();

  // SQLite's trade-off: the WAL is synced only at checkpoints, so the commits since the last
  // one may be lost. Measured here (checkpoint every 50 pages); only the invariants are
  // asserted: intact, transactions whole, the survivors the first commits.
  tally t;
  const int rounds = scaled(12);
  for (int round = 0; round < rounds; ++round) {
    config c{all_modes[static_cast<std::size_t>(round) % all_modes.size()], "powercut", "wal", "normal"};
    const kill_plan plan = random_plan(rng, 150);
    INFO("round " << round << ", mode " << c.mode << ", kill after " << plan.acks << " acks + " << plan.delay_us
                  << " us");
    crash_round(c, plan, "J wal S 1", expect::prefix, t);
  }
  print_tally("power cut, WAL, synchronous NORMAL", t, std::chrono::steady_clock::now() - start);

  // Without checkpoints nothing is ever synced after the WAL header: every commit
  // acknowledged is lost, and the database is still whole. Certain, so asserted.
  tally none;
  for (const auto& mode : {std::string("autocommit"), std::string("group")}) {
    config c{mode, "powercut", "wal", "normal", "0"};
    kill_plan plan = random_plan(rng, 40);
    plan.acks = std::max(plan.acks, 1);
    INFO("no checkpoint, mode " << mode << ", kill after " << plan.acks << " acks + " << plan.delay_us << " us");
    crash_round(c, plan, "J wal S 1", expect::prefix, none);
  }
  print_tally("power cut, WAL, synchronous NORMAL, no checkpoint", none, std::chrono::steady_clock::now() - start);
  CHECK(none.acked > 0);
  CHECK(none.lost == none.acked);
}

TEST_CASE("the power-cut simulation loses what was never synced, so with synchronous OFF no commit survives",
          "[crash]") {
  // Guards the simulation itself: were the VFS to write through, the tests above could not
  // tell FULL from NORMAL. SQLite never syncs with OFF, so the loss is certain.
  const std::uint64_t seed = base_seed();
  INFO("seed " << seed << " (replay: ASIOLITE_CRASH_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  tally t;
  for (const auto& journal : {std::string("wal"), std::string("delete")}) {
    config c{"transaction", "powercut", journal, "off"};
    kill_plan plan = random_plan(rng, 40);
    plan.acks = std::max(plan.acks, 1);
    INFO("journal " << journal << ", kill after " << plan.acks << " acks + " << plan.delay_us << " us");
    crash_round(c, plan, journal == "wal" ? "J wal S 0" : "J delete S 0", expect::prefix, t);
  }
  CHECK(t.acked > 0);
  CHECK(t.lost == t.acked);
  CHECK(t.checkpointed_rounds == 0);
}
