// Fault injection. A test VFS (faults/fault_vfs.hpp) fails the K-th xWrite, xSync, xRead
// or xTruncate of a workload with an I/O error or a full disk, for every K the workload
// reaches; for each K: the request that met the fault fails with a clear error, no other
// request fails, the same connection works again once the fault clears, the data
// acknowledged before is all there after reopening (integrity_check ok), and a
// transaction that SQLite rolled back says so. Out-of-memory failures are swept by a
// separate program (faults/nomem_probe.cpp), which must install its allocator before
// SQLite initializes.
//
// CI runs every K once, one-shot and persistent faults in turn (every 4th K under the
// sanitizers); ASIOLITE_STRESS=1 runs every K both ways, and the out-of-memory sweep over
// every N under the sanitizers too. ASIOLITE_FAULTS_VERBOSE=1 prints every request's outcome.
#include "catch.hpp"
#include "faults/fault_vfs.hpp"
#include "test_support.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <sys/wait.h>

namespace {

using test::tuple_token;

// ASIOLITE_FAULTS_VERBOSE=1: every judged request's outcome on stdout.
bool verbose() {
  static const bool on = [] {
    const char* v = std::getenv("ASIOLITE_FAULTS_VERBOSE");
    return v && *v && std::string_view(v) != "0";
  }();
  return on;
}

using test::under_sanitizer;

using test::contains;

// A row's payload follows from its tag, so the content of every row can be checked.
std::string payload_of(const std::string& tag) {
  const std::size_t size = tag.rfind("filler-", 0) == 0 ? 3000 : 200;  // fillers span overflow pages
  std::string p;
  while (p.size() < size) p += tag + '.';
  p.resize(size);
  return p;
}

// ---- what a sweep checks, and what it saw

enum class property : std::size_t {
  fails_clearly,        // the request that met the fault fails with its code and words
  only_faulted_fail,    // a request that met no fault succeeds
  usable_after,         // once the fault clears, the same connection writes, reads, closes
  data_intact,          // acknowledged data is all there, failed requests all or nothing
  transaction_reports,  // a transaction SQLite rolled back reports it; a commit then fails
  reaches_every_k,      // each K below the clean run's count injects a fault (the sweep covers the workload)
};
constexpr std::size_t property_count = 6;
constexpr std::array<const char*, property_count> property_names = {
    "the faulted request fails clearly", "only faulted requests fail", "the connection is usable after",
    "acknowledged data is intact",       "the transaction reports it",  "the sweep reaches every K"};

struct findings {
  std::array<std::vector<std::string>, property_count> problems;
  std::uint64_t runs = 0;
  std::uint64_t injected = 0;            // calls failed on purpose
  std::uint64_t requests = 0;            // requests judged while a fault was armed
  std::uint64_t faulted_failed = 0;      // met a fault and failed
  std::uint64_t faulted_succeeded = 0;   // met a fault, SQLite coped, and succeeded
  std::uint64_t exact_code = 0;          // failed with exactly the injected extended code
  std::uint64_t tx_rolled_back = 0;      // a statement's fault ended the transaction
  std::uint64_t tx_kept = 0;             // SQLite undid only the statement
  std::uint64_t commit_failed = 0;
  std::uint64_t failed_but_applied = 0;  // a failed request whose effect is there after reopening
  std::map<std::string, std::uint64_t> codes;  // the codes faulted requests failed with
  std::set<std::string> applied_cases;         // which failed requests turned out applied

  void add(property p, std::string what) { problems[static_cast<std::size_t>(p)].push_back(std::move(what)); }
};

struct fault_kind {
  faults::file_op op;
  int code;
  const char* code_name;
};

struct scenario {
  fault_kind kind;
  std::uint64_t k;
  bool persistent;
};

std::string code_text(asiolite::error_code ec) {
  std::ostringstream s;
  s << ec.category().name() << ':' << ec.value();
  if (ec.category() == asiolite::error_category()) s << " (" << ec.message() << ')';
  return s.str();
}

// One request's effect on the table: rows it inserts (by tag) and rows it deletes.
struct effect_record {
  std::string step;
  std::vector<std::string> inserted;
  std::vector<std::string> deleted;
  bool acknowledged;
};

// One run of the workload against one copy of the database.
struct run_context {
  faults::fault_vfs& vfs;
  std::optional<scenario> fault;
  findings& found;
  std::string where;               // names the run in every problem
  std::vector<effect_record> log;  // every request with an effect, acknowledged or not
  std::set<std::string> visible;   // the rows acknowledged effects leave

  // Judges a request's outcome: `hits` faults were injected while it ran.
  // `may_cope`: SQLite may meet this fault and still succeed (said where it is passed).
  void judge(const std::string& step, std::uint64_t hits, asiolite::error_code ec, const asiolite::diagnostics& d,
             bool may_cope = false) {
    ++found.requests;
    const std::string at = where + ", " + step + ": ";
    if (verbose())
      std::printf("[faults] %s%llu faults, %s %s\n", at.c_str(), static_cast<unsigned long long>(hits),
                  ec ? code_text(ec).c_str() : "ok", d.message().c_str());
    if (!ec) {
      // SQLite copes with none of these faults silently: a request that met one fails.
      if (hits) {
        ++found.faulted_succeeded;
        if (!may_cope) found.add(property::fails_clearly, at + "met " + std::to_string(hits) + " faults and succeeded");
      }
      return;
    }
    if (!hits || !fault) {
      found.add(property::only_faulted_fail, at + "failed without meeting a fault: " + code_text(ec) + ": " + d.message());
      return;
    }
    ++found.faulted_failed;
    ++found.codes[code_text(ec)];
    if (ec.value() == fault->kind.code) ++found.exact_code;
    // SQLite passes the VFS's extended code through: the code says which operation failed.
    const bool full = fault->kind.code == SQLITE_FULL;
    const bool family = ec.category() == asiolite::error_category() && ec.value() == fault->kind.code &&
                        (full ? ec == asiolite::errc::full : ec == asiolite::errc::ioerr);
    const bool words = contains(d.message(), full ? "full" : "I/O error");
    if (!family || !words)
      found.add(property::fails_clearly, at + "failed with " + code_text(ec) + ", message '" + d.message() +
                                             "' (expected " + fault->kind.code_name + ")");
  }
};

asio::awaitable<void> insert_step(asiolite::connection& db, run_context& c, std::string tag) {
  asiolite::diagnostics diag;
  const std::string payload = payload_of(tag);
  const std::uint64_t before = c.vfs.injected();
  auto [ec, r] = co_await db.async_execute("INSERT INTO t(tag, payload) VALUES (?, ?)", tag, payload, diag, tuple_token);
  c.judge("autocommit insert " + tag, c.vfs.injected() - before, ec, diag);
  c.log.push_back({"insert " + tag, {tag}, {}, !ec});
  if (!ec) c.visible.insert(tag);
}

asio::awaitable<void> delete_fillers_step(asiolite::connection& db, run_context& c,
                                          const std::vector<std::string>& fillers) {
  asiolite::diagnostics diag;
  const std::uint64_t before = c.vfs.injected();
  auto [ec, r] = co_await db.async_execute("DELETE FROM t WHERE tag LIKE 'filler-%'", diag, tuple_token);
  c.judge("autocommit delete of the fillers", c.vfs.injected() - before, ec, diag);
  c.log.push_back({"delete fillers", {}, fillers, !ec});
  if (!ec)
    for (const auto& f : fillers) c.visible.erase(f);
}

// BEGIN, an insert of two rows and two of one row, COMMIT; a statement that fails ends
// the attempt. (On a full disk SQLite undoes only a statement that may change several
// rows, which keeps a statement journal, and keeps the transaction: the two-row insert,
// first, so that it is the one to write the journal.)
asio::awaitable<void> transaction_step(asiolite::connection& db, run_context& c) {
  asiolite::diagnostics diag;
  std::uint64_t before = c.vfs.injected();
  auto [begin_ec, tx] = co_await db.async_begin(diag, tuple_token);
  c.judge("BEGIN", c.vfs.injected() - before, begin_ec, diag);
  if (begin_ec) co_return;

  std::vector<std::string> tags;
  bool statement_failed = false;
  for (int i = 0; i < 3 && !statement_failed; ++i) {
    const std::string tag = "tx-" + std::to_string(i == 0 ? 0 : i + 1);
    const std::string payload = payload_of(tag);
    tags.push_back(tag);
    before = c.vfs.injected();
    asiolite::error_code ec;
    if (i > 0) {
      auto [e, r] = co_await tx.async_execute("INSERT INTO t(tag, payload) VALUES (?, ?)", tag, payload, diag, tuple_token);
      ec = e;
    } else {
      const std::string tag2 = "tx-1";
      const std::string payload2 = payload_of(tag2);
      tags.push_back(tag2);
      auto [e, r] = co_await tx.async_execute("INSERT INTO t(tag, payload) VALUES (?, ?), (?, ?)", tag, payload, tag2,
                                              payload2, diag, tuple_token);
      ec = e;
    }
    c.judge("insert " + tag + " in a transaction", c.vfs.injected() - before, ec, diag);
    if (!ec) continue;
    statement_failed = true;
    if (tx.is_active()) {
      // SQLite undid the statement only: it must really still be inside the transaction.
      ++c.found.tx_kept;
      asiolite::diagnostics d;
      auto [ec_a, autocommit] = co_await tx.async_call(
          [](asiolite::sync_handle& h) { return sqlite3_get_autocommit(h.native_handle()) != 0; }, d, tuple_token);
      if (ec_a || autocommit)
        c.found.add(property::transaction_reports,
                    c.where + ": the transaction reports itself open but SQLite has ended it: " + d.message());
    } else {
      ++c.found.tx_rolled_back;
      if (!contains(diag.message(), "rolled the transaction back"))
        c.found.add(property::transaction_reports,
                    c.where + ": the statement that ended the transaction does not say so: '" + diag.message() + "'");
    }
  }

  bool committed = false;
  if (!statement_failed) {
    before = c.vfs.injected();
    auto [ec] = co_await tx.async_commit(diag, tuple_token);
    c.judge("COMMIT", c.vfs.injected() - before, ec, diag);
    committed = !ec;
    if (ec) ++c.found.commit_failed;
  }
  if (!committed && !tx.is_active()) {
    // Ended by SQLite: a (further) commit must say so, not run outside any transaction.
    asiolite::diagnostics later;
    auto [ec] = co_await tx.async_commit(later, tuple_token);
    if (ec != asiolite::errc::transaction_ended || later.message().empty())
      c.found.add(property::transaction_reports, c.where + ": a commit of the ended transaction gave " + code_text(ec) +
                                                     " '" + later.message() + "'");
  } else if (!committed) {
    before = c.vfs.injected();
    auto [ec] = co_await tx.async_rollback(diag, tuple_token);
    c.judge("ROLLBACK after a failure", c.vfs.injected() - before, ec, diag);
  }
  c.log.push_back({"transaction", tags, {}, committed});
  if (committed) c.visible.insert(tags.begin(), tags.end());
  {
    auto done = std::move(tx);  // whatever happened, the connection is released here
  }

  // The handle's view must be SQLite's: the connection is out of any transaction now.
  before = c.vfs.injected();
  auto [ec, autocommit] = co_await db.async_call(
      [](asiolite::sync_handle& h) { return sqlite3_get_autocommit(h.native_handle()) != 0; }, diag, tuple_token);
  c.judge("autocommit check", c.vfs.injected() - before, ec, diag);
  if (!ec && !autocommit)
    c.found.add(property::transaction_reports, c.where + ": the transaction has ended but SQLite is still inside one");
}

asio::awaitable<void> execute_many_step(asiolite::connection& db, run_context& c) {
  std::vector<std::tuple<std::string, std::string>> elements;
  std::vector<std::string> tags;
  for (int i = 0; i < 4; ++i) {
    tags.push_back("many-" + std::to_string(i));
    elements.emplace_back(tags.back(), payload_of(tags.back()));
  }
  asiolite::diagnostics diag;
  const std::uint64_t before = c.vfs.injected();
  auto [ec, r] = co_await db.async_execute_many("INSERT INTO t(tag, payload) VALUES (?, ?)", elements, diag, tuple_token);
  c.judge("execute_many", c.vfs.injected() - before, ec, diag);
  c.log.push_back({"execute_many", tags, {}, !ec});
  if (!ec) c.visible.insert(tags.begin(), tags.end());
}

// Checks rows read back: every acknowledged effect is there, and each failed request is
// either wholly there or wholly absent; no other row, every payload right.
void check_rows(run_context& c, const std::vector<std::tuple<std::string, std::string>>& rows, const std::string& what,
                bool count_figures = false) {
  std::set<std::string> present;
  for (const auto& row : rows) {
    const std::string& tag = std::get<0>(row);
    if (!present.insert(tag).second) c.found.add(property::data_intact, c.where + ", " + what + ": row " + tag + " twice");
    if (std::get<1>(row) != payload_of(tag))
      c.found.add(property::data_intact, c.where + ", " + what + ": row " + tag + " has the wrong payload");
  }
  std::set<std::string> expected = c.visible;
  for (const auto& e : c.log) {
    if (e.acknowledged) continue;
    // A failed request: each of its rows as it was before it, or all of them changed.
    std::size_t changed = 0;
    for (const auto& t : e.inserted) changed += present.count(t);
    for (const auto& t : e.deleted) changed += 1 - present.count(t);
    const std::size_t total = e.inserted.size() + e.deleted.size();
    if (changed == 0) continue;
    if (changed != total) {
      c.found.add(property::data_intact, c.where + ", " + what + ": the failed request '" + e.step + "' is partly applied");
    } else {
      // SQLite may report an error after its commit is done (in rollback-journal mode the
      // file is truncated after the journal is gone): no promise is broken, but say so.
      if (count_figures) ++c.found.failed_but_applied;
      if (count_figures && c.fault)
        c.found.applied_cases.insert(std::string(faults::name_of(c.fault->kind.op)) + "->" + c.fault->kind.code_name +
                                     ": " + e.step);
    }
    for (const auto& t : e.inserted) expected.insert(t);
    for (const auto& t : e.deleted) expected.erase(t);
  }
  if (present != expected) {
    std::string diff;
    for (const auto& t : expected)
      if (!present.count(t)) diff += " missing " + t;
    for (const auto& t : present)
      if (!expected.count(t)) diff += " unexpected " + t;
    c.found.add(property::data_intact, c.where + ", " + what + ":" + diff);
  }
}


asio::awaitable<void> query_step(asiolite::connection& db, run_context& c) {
  asiolite::diagnostics diag;
  const std::uint64_t before = c.vfs.injected();
  auto [ec, rows] = co_await db.async_query<std::tuple<std::string, std::string>>("SELECT tag, payload FROM t", diag,
                                                                                  tuple_token);
  c.judge("query", c.vfs.injected() - before, ec, diag);
  if (!ec) check_rows(c, rows, "the query");
}

asio::awaitable<void> checkpoint_step(asiolite::connection& db, run_context& c) {
  asiolite::diagnostics diag;
  const std::uint64_t before = c.vfs.injected();
  auto [ec, result] = co_await db.async_query<std::tuple<std::int64_t, std::int64_t, std::int64_t>>(
      "PRAGMA wal_checkpoint(TRUNCATE)", diag, tuple_token);
  // A connection whose every read failed has not opened its WAL: SQLite then tries to, with
  // its error ignored, and reports a checkpoint of nothing (log and checkpointed -1).
  const bool did_nothing = !ec && result.size() == 1 && std::get<1>(result.front()) == -1;
  c.judge("checkpoint", c.vfs.injected() - before, ec, diag, did_nothing);
}

// The workload, run while the fault is armed.
asio::awaitable<void> workload(asiolite::connection& db, run_context& c, bool wal, const std::vector<std::string>& fillers) {
  for (int i = 0; i < 3; ++i) co_await insert_step(db, c, "auto-" + std::to_string(i));
  co_await delete_fillers_step(db, c, fillers);  // frees pages: auto_vacuum truncates the file
  co_await transaction_step(db, c);
  co_await execute_many_step(db, c);
  co_await query_step(db, c);
  if (wal) co_await checkpoint_step(db, c);
}

// After the fault clears: the same connection writes, reads back and closes.
asio::awaitable<void> after_fault(asiolite::connection& db, run_context& c) {
  asiolite::diagnostics diag;
  const std::string tag = "after";
  const std::string payload = payload_of(tag);
  auto [ec, r] = co_await db.async_execute("INSERT INTO t(tag, payload) VALUES (?, ?)", tag, payload, diag, tuple_token);
  if (ec) c.found.add(property::usable_after, c.where + ": a write after the fault cleared failed: " + diag.message());
  c.log.push_back({"insert after", {tag}, {}, !ec});
  if (!ec) c.visible.insert(tag);

  auto [ec_read, back] =
      co_await db.async_query<std::tuple<std::string, std::string>>("SELECT tag, payload FROM t", diag, tuple_token);
  if (ec_read) {
    c.found.add(property::usable_after, c.where + ": a read after the fault cleared failed: " + diag.message());
  } else {
    check_rows(c, back, "read after the fault cleared");
  }
  auto [ec_close] = co_await db.async_close(diag, tuple_token);
  if (ec_close) c.found.add(property::usable_after, c.where + ": the close after the fault cleared failed: " + diag.message());
}

// Reopened through the default VFS: integrity_check, then every row.
asio::awaitable<void> verify_reopened(std::string path, asiolite::journal_mode mode, run_context& c) {
  asiolite::options o;
  o.journal = mode;
  asiolite::diagnostics diag;
  auto [ec_open, db] =
      co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path, o, diag, tuple_token);
  if (ec_open) {
    c.found.add(property::data_intact, c.where + ": reopening failed: " + diag.message());
    co_return;
  }
  auto [ec_check, verdict] = co_await db.async_query<std::string>("PRAGMA integrity_check", diag, tuple_token);
  if (ec_check || verdict != std::vector<std::string>{"ok"})
    c.found.add(property::data_intact, c.where + ": integrity_check: " +
                                           (ec_check ? diag.message() : verdict.empty() ? "" : verdict.front()));
  auto [ec_rows, rows] =
      co_await db.async_query<std::tuple<std::string, std::string>>("SELECT tag, payload FROM t", diag, tuple_token);
  auto [ec_count, count] = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM t", diag, tuple_token);
  if (ec_rows || ec_count) {
    c.found.add(property::data_intact, c.where + ": reading after reopening failed: " + diag.message());
  } else {
    if (count != static_cast<std::int64_t>(rows.size()))
      c.found.add(property::data_intact, c.where + ": count(*) disagrees with the rows read");
    check_rows(c, rows, "after reopening", true);
  }
  co_await db.async_close(diag, tuple_token);
}

const std::vector<std::string> filler_tags = [] {
  std::vector<std::string> v;
  for (int i = 0; i < 6; ++i) v.push_back("filler-" + std::to_string(i));
  return v;
}();
const std::vector<std::string> base_tags = {"base-0", "base-1", "base-2"};

// The starting database, copied for each run: rollback-journal mode (a run may switch its
// copy to WAL), auto_vacuum on (set before the first table), rows to keep and fillers.
asio::awaitable<void> make_template(std::string path) {
  asiolite::options o;
  o.journal = asiolite::journal_mode::delete_;
  o.pragmas = {"auto_vacuum = FULL"};
  auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path, o);
  co_await db.async_execute("CREATE TABLE t(id INTEGER PRIMARY KEY, tag TEXT NOT NULL UNIQUE, payload TEXT NOT NULL)");
  std::vector<std::tuple<std::string, std::string>> rows;
  for (const auto& tag : base_tags) rows.emplace_back(tag, payload_of(tag));
  for (const auto& tag : filler_tags) rows.emplace_back(tag, payload_of(tag));
  co_await db.async_execute_many("INSERT INTO t(tag, payload) VALUES (?, ?)", rows);
  const auto vacuum = co_await db.async_query_scalar<std::int64_t>("PRAGMA auto_vacuum");
  if (vacuum != 1) throw std::runtime_error("auto_vacuum did not take");
  co_await db.async_close();
}

void remove_database(const std::string& path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// One run: a fresh copy of the template, the workload under `fault` (none: a clean run),
// the checks after it. Returns how many calls of each operation the workload made.
std::array<std::uint64_t, faults::file_op_count> run_once(asio::io_context& ctx, const std::string& template_path,
                                                          const std::string& path, faults::fault_vfs& vfs,
                                                          asiolite::journal_mode mode, const std::string& mode_name,
                                                          std::optional<scenario> fault, findings& found) {
  remove_database(path);
  std::filesystem::copy_file(template_path, path);
  const bool wal = mode == asiolite::journal_mode::wal;

  run_context c{vfs, fault, found, mode_name, {}, {}};
  if (fault)
    c.where += std::string(" ") + faults::name_of(fault->kind.op) + "->" + fault->kind.code_name +
               " K=" + std::to_string(fault->k) + (fault->persistent ? " persistent" : " one-shot");
  else
    c.where += " clean run";
  for (const auto& tag : base_tags) c.visible.insert(tag);
  for (const auto& tag : filler_tags) c.visible.insert(tag);
  ++found.runs;

  asiolite::options o;
  o.vfs = vfs.name();
  o.journal = mode;
  o.synchronous = asiolite::synchronous_mode::full;  // every commit syncs, in WAL mode too
  asiolite::connection db = test::open(ctx, path, o);

  std::array<std::uint64_t, faults::file_op_count> calls{};
  for (std::size_t i = 0; i < faults::file_op_count; ++i) calls[i] = vfs.calls(static_cast<faults::file_op>(i));
  const std::uint64_t injected_before = vfs.injected();
  if (fault) vfs.arm(fault->kind.op, fault->kind.code, fault->k, fault->persistent);
  test::run(ctx, workload(db, c, wal, filler_tags));
  vfs.clear();
  for (std::size_t i = 0; i < faults::file_op_count; ++i)
    calls[i] = vfs.calls(static_cast<faults::file_op>(i)) - calls[i];
  found.injected += vfs.injected() - injected_before;

  test::run(ctx, after_fault(db, c));
  test::run(ctx, verify_reopened(path, mode, c));
  return calls;
}

const std::array<fault_kind, 5> fault_kinds = {{
    {faults::file_op::write, SQLITE_IOERR_WRITE, "SQLITE_IOERR_WRITE"},
    {faults::file_op::write, SQLITE_FULL, "SQLITE_FULL"},
    {faults::file_op::sync, SQLITE_IOERR_FSYNC, "SQLITE_IOERR_FSYNC"},
    {faults::file_op::read, SQLITE_IOERR_READ, "SQLITE_IOERR_READ"},
    {faults::file_op::truncate, SQLITE_IOERR_TRUNCATE, "SQLITE_IOERR_TRUNCATE"},
}};

// Sweeps every fault kind over K = 0..N (N: the clean run's calls), and reports.
findings sweep(asiolite::journal_mode mode, const std::string& mode_name) {
  findings found;
  test::temp_dir dir;
  asio::io_context ctx;
  const std::string template_path = dir.db("template.db");
  const std::string path = dir.db("run.db");
  test::run(ctx, make_template(template_path));
  faults::fault_vfs vfs("asiolite_faults_" + mode_name, false);

  const auto clean = run_once(ctx, template_path, path, vfs, mode, mode_name, std::nullopt, found);
  const bool stress = test::stress();
  // CI: one run per K (every 4th under the sanitizers), one-shot and persistent in turn.
  const std::uint64_t stride = stress ? 1 : under_sanitizer ? 4 : 1;
  std::ostringstream calls_text;
  for (const auto& kind : fault_kinds) {
    const std::uint64_t n = clean[static_cast<std::size_t>(kind.op)];
    if (kind.code != SQLITE_FULL) calls_text << ' ' << faults::name_of(kind.op) << '=' << n;
    std::uint64_t turn = 0;
    for (std::uint64_t k = 0; k < n; k += stride, ++turn) {
      for (bool persistent : {false, true}) {
        if (!stress && persistent != (turn % 2 == 1)) continue;
        const std::uint64_t before = vfs.injected();
        run_once(ctx, template_path, path, vfs, mode, mode_name, scenario{kind, k, persistent}, found);
        if (vfs.injected() == before)
          found.add(property::reaches_every_k, mode_name + " " + faults::name_of(kind.op) + " K=" + std::to_string(k) +
                                                   ": no fault was injected (the workload's calls vary between runs)");
      }
    }
    // K = N: armed, but the workload never gets there: everything succeeds.
    run_once(ctx, template_path, path, vfs, mode, mode_name, scenario{kind, n, true}, found);
  }

  std::printf("[faults] %s: clean run's calls:%s; %llu runs, %llu faults injected, %llu requests; "
              "%llu failed on a fault (%llu with exactly the injected code), %llu met a fault and succeeded; "
              "transactions: %llu rolled back by a statement's fault, %llu kept, %llu commits failed\n",
              mode_name.c_str(), calls_text.str().c_str(), static_cast<unsigned long long>(found.runs),
              static_cast<unsigned long long>(found.injected), static_cast<unsigned long long>(found.requests),
              static_cast<unsigned long long>(found.faulted_failed), static_cast<unsigned long long>(found.exact_code),
              static_cast<unsigned long long>(found.faulted_succeeded),
              static_cast<unsigned long long>(found.tx_rolled_back), static_cast<unsigned long long>(found.tx_kept),
              static_cast<unsigned long long>(found.commit_failed));
  std::printf("[faults] %s:   %llu failed requests found applied afterwards\n", mode_name.c_str(),
              static_cast<unsigned long long>(found.failed_but_applied));
  for (const auto& what : found.applied_cases) std::printf("[faults] %s:     %s\n", mode_name.c_str(), what.c_str());
  for (const auto& [code, n] : found.codes)
    std::printf("[faults] %s:   failed with %s: %llu\n", mode_name.c_str(), code.c_str(), static_cast<unsigned long long>(n));
  std::fflush(stdout);
  return found;
}

void check_findings(const findings& found) {
  CHECK(found.injected > 0);
  CHECK(found.faulted_failed > 0);
  for (std::size_t p = 0; p < property_count; ++p) {
    const auto& list = found.problems[p];
    std::string shown;
    for (std::size_t i = 0; i < list.size() && i < 8; ++i) shown += "\n  " + list[i];
    INFO(property_names[p] << ": " << list.size() << " violations" << shown);
    CHECK(list.empty());
  }
}

// Runs nomem_probe on the request kinds named, and checks what it says.
void run_nomem_probe(const std::string& kinds) {
  test::temp_dir dir;
  const std::string command = std::string(ASIOLITE_NOMEM_PROBE) + " '" + dir.path().string() + "' " + kinds + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  std::fputs(output.c_str(), stdout);
  INFO(output);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(contains(output, "nomem_probe: ok"));
  CHECK_FALSE(contains(output, "nomem_probe: injected 0 "));
}

}  // namespace

TEST_CASE("every I/O error and full disk in rollback-journal mode fails only its request, which says so, and loses nothing",
          "[faults]") {
  check_findings(sweep(asiolite::journal_mode::delete_, "delete"));
}

TEST_CASE("every I/O error and full disk in WAL mode fails only its request, which says so, and loses nothing",
          "[faults]") {
  check_findings(sweep(asiolite::journal_mode::wal, "wal"));
}

TEST_CASE("every failed SQLite allocation fails its request with nomem, leaks nothing, and the connection recovers",
          "[faults]") {
  run_nomem_probe("insert query transaction prepare");
}

// When the RELEASE that commits execute_many fails for lack of memory and its ROLLBACK
// fails too, the connection stayed inside a transaction that nothing owned, and later
// acknowledged writes were lost at close.
TEST_CASE("a failed allocation in execute_many leaves no transaction open behind it", "[faults]") {
  run_nomem_probe("execute_many");
}

namespace {
// Stands in for a clean-up that cannot run (out of memory, an I/O error): SQLite refuses
// the RELEASE that would commit, and every ROLLBACK, while `denying` is set.
std::atomic<bool> denying{false};
int deny_end(void*, int action, const char* what, const char*, const char*, const char*) {
  if (!denying.load()) return SQLITE_OK;
  if (action == SQLITE_SAVEPOINT && what && std::string_view(what) == "RELEASE") return SQLITE_DENY;
  if (action == SQLITE_TRANSACTION && what && std::string_view(what) == "ROLLBACK") return SQLITE_DENY;
  return SQLITE_OK;
}
}  // namespace

TEST_CASE("a clean-up ROLLBACK that fails is retried before the next request, which never runs in its transaction",
          "[faults]") {
  test::temp_dir dir;
  asio::io_context ctx;
  {
    auto db = test::open(ctx, dir.db());
    test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<void> {
      co_await c.async_execute("CREATE TABLE t(x UNIQUE)");
      co_await c.async_call([](asiolite::sync_handle& h) { sqlite3_set_authorizer(h.native_handle(), deny_end, nullptr); });
      denying = true;
      asiolite::diagnostics diag;
      const std::vector<int> xs{1, 2};
      auto [ec, r] = co_await c.async_execute_many("INSERT INTO t VALUES (?)", xs, diag, tuple_token);
      CHECK(ec == asiolite::errc::auth);
      CHECK(contains(diag.message(), "no element was applied"));
      // Still refused: the request fails unrun, rather than running inside that transaction.
      auto [ec2, r2] = co_await c.async_execute("INSERT INTO t VALUES (41)", diag, tuple_token);
      CHECK(ec2 == asiolite::errc::auth);
      CHECK(contains(diag.message(), "could not be rolled back"));
      denying = false;
      // The next one ends that transaction first: 1 and 2 were never applied, 42 is committed.
      co_await c.async_execute("INSERT INTO t VALUES (42)");
      co_await c.async_execute_many("INSERT INTO t VALUES (?)", xs);
      co_await c.async_close();
    }(db));
  }
  auto again = test::open(ctx, dir.db());
  const auto xs = test::run(ctx, [](asiolite::connection& c) -> asio::awaitable<std::vector<int>> {
    co_return co_await c.async_query<int>("SELECT x FROM t ORDER BY x");
  }(again));
  CHECK(xs == std::vector<int>{1, 2, 42});
}
