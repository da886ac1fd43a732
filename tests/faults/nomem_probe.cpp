// nomem_probe <dir>: installs an allocator that fails SQLite's N-th allocation (counted
// from the moment it is armed), which SQLite accepts only before it initializes, hence a
// program of its own. For each kind of request (an insert, a query, a transaction, a
// prepare, an execute_many) and N = 1, 2, ... up to the request's allocations (a few
// hundred at most): the request fails with errc::nomem or succeeds, nothing crashes, the
// same connection works once the allocator is disarmed, the data is as acknowledged, and
// once every connection is closed SQLite holds no more memory than before (a leak check
// in every build; the ASan build checks the rest of the program's memory).
// Prints its figures; the last line is "nomem_probe: ok ..." when every check passed.
// Started by test_faults.cpp. Every N in the default build, every 3rd under the sanitizers;
// ASIOLITE_STRESS=1: every N there too. NOMEM_PROBE_VERBOSE=1 prints every run.
#include <asiolite.hpp>

#include "../asio_flavour.hpp"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define NOMEM_PROBE_SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define NOMEM_PROBE_SANITIZED 1
#  endif
#endif

// g++ 12 at -O2 inlines Asio's frame allocator (::operator new) into two of the coroutines
// below and then pairs it with the frame's class operator delete: a false
// -Wmismatched-new-delete (the allocator's own delete frees it with ::operator delete).
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

constexpr auto tuple_token = asiolite::compat::as_tuple(asio::use_awaitable);

// ---- the failing allocator

sqlite3_mem_methods default_methods;
std::atomic<bool> armed{false};
std::atomic<bool> persistent{false};
std::atomic<std::uint64_t> since_armed{0};  // allocations since armed
std::atomic<std::uint64_t> fail_at{0};      // 1-based
std::atomic<std::uint64_t> injected{0};

bool fail_this_one() noexcept {
  if (!armed.load(std::memory_order_acquire)) return false;
  const std::uint64_t n = since_armed.fetch_add(1, std::memory_order_acq_rel) + 1;
  const std::uint64_t at = fail_at.load(std::memory_order_relaxed);
  if (n != at && !(persistent.load(std::memory_order_relaxed) && n > at)) return false;
  injected.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

void* failing_malloc(int n) { return fail_this_one() ? nullptr : default_methods.xMalloc(n); }
void* failing_realloc(void* p, int n) { return fail_this_one() ? nullptr : default_methods.xRealloc(p, n); }

void arm(std::uint64_t n, bool keep_failing) {
  since_armed.store(0);
  fail_at.store(n);
  persistent.store(keep_failing);
  armed.store(true, std::memory_order_release);
}
void disarm() { armed.store(false, std::memory_order_release); }

// ---- checks and figures

bool verbose() {
  const char* v = std::getenv("NOMEM_PROBE_VERBOSE");
  return v && *v;
}

bool stress_run() {
  const char* v = std::getenv("ASIOLITE_STRESS");
  return v && *v && std::string_view(v) != "0";
}


std::vector<std::string> problems;
void problem(std::string what) {
  std::printf("problem: %s\n", what.c_str());
  problems.push_back(std::move(what));
}

std::string code_text(asiolite::error_code ec) {
  return std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" + ec.message() + ")";
}

struct figures {
  std::uint64_t clean_allocations = 0;
  std::uint64_t runs = 0;
  std::uint64_t injected = 0;
  std::uint64_t succeeded_despite = 0;  // a failed allocation SQLite coped with
  std::uint64_t nomem = 0;
  std::map<std::string, std::uint64_t> other;  // other codes a request (or a follow-up) gave
};

enum class kind { insert, query, transaction, prepare, execute_many };
constexpr kind all_kinds[] = {kind::insert, kind::query, kind::transaction, kind::prepare, kind::execute_many};

const char* name_of(kind k) {
  switch (k) {
    case kind::insert:
      return "insert";
    case kind::query:
      return "query";

    case kind::transaction:
      return "transaction";
    case kind::prepare:
      return "prepare";
    case kind::execute_many:
      return "execute_many";
  }
  return "?";
}

// What one armed request did.
struct outcome {
  asiolite::error_code ec;            // the first failure, if any
  std::string message;
  std::string step;              // which request failed
  std::int64_t rows_added = 0;   // rows its acknowledged part added
};

// Records a failed step: nomem, with words, is what a failed allocation must give.
void judge_failure(const std::string& where, const outcome& o, figures& f) {
  if (o.ec == asiolite::errc::nomem) {
    ++f.nomem;
  } else {
    ++f.other[code_text(o.ec)];
    problem(where + ": " + o.step + " failed with " + code_text(o.ec) + " '" + o.message + "', not nomem");
  }
  if (o.message.empty()) problem(where + ": " + o.step + " failed without a message");
}

std::string value_of(std::int64_t i) { return "value-" + std::to_string(i) + std::string(80, 'x'); }

asio::awaitable<outcome> run_request(asiolite::connection& db, kind k, std::int64_t next, const std::string& where) {
  outcome o;
  asiolite::diagnostics diag;
  const std::string v1 = value_of(next);
  const std::string v2 = value_of(next + 1);
  switch (k) {
    case kind::insert: {
      auto [ec, r] = co_await db.async_execute("INSERT INTO t(v) VALUES (?)", v1, diag, tuple_token);
      if (!ec) o.rows_added = 1;
      o.ec = ec;
      o.step = "INSERT";
      break;
    }
    case kind::query: {
      auto [ec, rows] = co_await db.async_query("SELECT id, v FROM t ORDER BY id", diag, tuple_token);
      o.ec = ec;
      o.step = "query";
      if (!ec) {
        for (const auto& row : rows) {
          const auto id = row.get<std::int64_t>(0);
          if (row.get<std::string>(1) != value_of(id)) {
            problem(where + ": the query read a wrong value for row " + std::to_string(id));
            break;
          }
        }
      }
      break;
    }
    case kind::transaction: {
      auto [ec_b, tx] = co_await db.async_begin(diag, tuple_token);
      o.ec = ec_b;
      o.step = "BEGIN";
      if (ec_b) break;
      bool ok = true;
      for (const auto* v : {&v1, &v2}) {
        auto [ec, r] = co_await tx.async_execute("INSERT INTO t(v) VALUES (?)", *v, diag, tuple_token);
        if (ec) {
          o.ec = ec;
          o.step = "INSERT in the transaction";
          ok = false;
          break;
        }
      }
      if (ok) {
        auto [ec] = co_await tx.async_commit(diag, tuple_token);
        o.ec = ec;
        o.step = "COMMIT";
        if (!ec) o.rows_added = 2;
      }
      o.message = diag.message();
      if (o.ec && !tx.is_active()) {
        // Ended by SQLite: a commit now must say so.
        asiolite::diagnostics later;
        auto [ec] = co_await tx.async_commit(later, tuple_token);
        if (ec != asiolite::errc::transaction_ended || later.message().empty())
          problem(where + ": a commit of the ended transaction gave " + code_text(ec));
      } else if (o.ec) {
        disarm();  // the rollback is part of the clean-up, not of the request under test
        auto [ec] = co_await tx.async_rollback(diag, tuple_token);
        if (ec) problem(where + ": ROLLBACK after the failure failed: " + diag.message());
      }
      co_return o;
    }
    case kind::prepare: {
      auto [ec, stmt] = co_await db.async_prepare("SELECT v FROM t WHERE id = ?", diag, tuple_token);
      o.ec = ec;
      o.step = "prepare";
      if (ec) break;
      auto [ec_q, v] = co_await stmt.async_query_one<std::string>(next - 1, diag, tuple_token);
      o.ec = ec_q;
      o.step = "the prepared statement's query";
      if (!ec_q && (!v || *v != value_of(next - 1))) problem(where + ": the prepared statement read a wrong value");
      break;
    }
    case kind::execute_many: {
      std::vector<std::string> values = {v1, v2};
      auto [ec, r] = co_await db.async_execute_many("INSERT INTO t(v) VALUES (?)", values, diag, tuple_token);
      o.ec = ec;
      o.step = "execute_many";
      if (!ec) o.rows_added = 2;
      break;
    }
  }
  o.message = diag.message();
  co_return o;
}

// Rows are numbered 1, 2, ... with value_of(id): the table is exactly that.
asio::awaitable<std::int64_t> check_table(asiolite::connection& db, const std::string& where) {
  asiolite::diagnostics diag;
  auto [ec, rows] = co_await db.async_query<std::tuple<std::int64_t, std::string>>("SELECT id, v FROM t ORDER BY id",
                                                                                   diag, tuple_token);
  if (ec) {
    problem(where + ": reading the table after disarming failed: " + diag.message());
    co_return -1;
  }
  std::int64_t expected_id = 1;
  for (const auto& [id, v] : rows) {
    if (id != expected_id || v != value_of(id)) {
      problem(where + ": the table holds an unexpected row " + std::to_string(id));
      break;
    }
    ++expected_id;
  }
  co_return static_cast<std::int64_t>(rows.size());
}

asio::awaitable<void> sweep_kind(std::string dir, kind k, bool keep_failing, std::uint64_t stride, std::uint64_t most,
                                 figures& f) {
  const std::string label = std::string(name_of(k)) + (keep_failing ? " persistent" : " one-shot");
  const std::string path = dir + "/" + name_of(k) + (keep_failing ? "-p" : "-1") + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  asiolite::options o;
  o.statement_cache_capacity = 0;  // every request prepares afresh: the same allocations each time
  o.synchronous = asiolite::synchronous_mode::normal;  // no disk wait per commit (WAL)
  auto db = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path, o);
  co_await db.async_execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  for (std::int64_t i = 1; i <= 5; ++i) {
    const std::string v = value_of(i);
    co_await db.async_execute("INSERT INTO t(id, v) VALUES (?, ?)", i, v);
  }
  std::int64_t rows = 5;

  // A clean run (armed, never failing), after a warm-up, measures the request's allocations.
  for (int pass = 0; pass < 2; ++pass) {
    arm(UINT64_MAX, false);
    const outcome clean = co_await run_request(db, k, rows + 1, label + " clean");
    disarm();
    if (clean.ec) problem(label + ": the clean run failed: " + clean.message);
    rows += clean.rows_added;
    f.clean_allocations = since_armed.load();
  }

  for (std::uint64_t n = 1; n <= most; n += stride) {
    const std::string where = label + " N=" + std::to_string(n);
    const std::uint64_t injected_before = injected.load();
    arm(n, keep_failing);
    const outcome result = co_await run_request(db, k, rows + 1, where);
    disarm();
    ++f.runs;
    const std::uint64_t hits = injected.load() - injected_before;
    f.injected += hits;
    if (result.ec) {
      if (!hits)
        problem(where + ": " + result.step + " failed without a failed allocation: " + result.message);
      else
        judge_failure(where, result, f);
    } else if (hits) {
      ++f.succeeded_despite;
    }
    rows += result.rows_added;
    if (verbose())
      std::printf("  %s: %llu failed allocations, %s %s\n", where.c_str(), static_cast<unsigned long long>(hits),
                  result.ec ? code_text(result.ec).c_str() : "ok", result.message.c_str());

    // Disarmed: nothing is left inside a transaction; the same connection writes and reads,
    // and the table is as acknowledged.
    asiolite::diagnostics diag;
    auto [ec_a, autocommit] = co_await db.async_call(
        [](asiolite::sync_handle& h) { return sqlite3_get_autocommit(h.native_handle()) != 0; }, diag, tuple_token);
    if (ec_a || !autocommit)
      problem(where + ": after the request the connection is still inside a transaction that nothing owns");
    const std::string v = value_of(rows + 1);
    auto [ec_w, r] = co_await db.async_execute("INSERT INTO t(id, v) VALUES (?, ?)", rows + 1, v, diag, tuple_token);
    if (ec_w) problem(where + ": a write after disarming failed: " + diag.message());
    else ++rows;
    const std::int64_t seen = co_await check_table(db, where);
    if (seen != rows) {
      problem(where + ": the table has " + std::to_string(seen) + " rows, " + std::to_string(rows) + " acknowledged");
      rows = seen;
    }
    if (!hits) break;  // the request no longer reaches its N-th allocation: swept
  }
  asiolite::diagnostics diag;
  auto [ec_c] = co_await db.async_close(diag, tuple_token);
  if (ec_c) problem(label + ": close failed: " + diag.message());
  std::printf("nomem_probe: %s: %llu allocations in a clean run\n", label.c_str(),
              static_cast<unsigned long long>(f.clean_allocations));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: nomem_probe <dir> [insert|query|transaction|prepare|execute_many]...\n");
    return 2;
  }
  std::vector<kind> kinds;
  for (int i = 2; i < argc; ++i) {
    bool known = false;
    for (const kind k : all_kinds)
      if (std::string_view(argv[i]) == name_of(k)) {
        kinds.push_back(k);
        known = true;
      }
    if (!known) {
      std::fprintf(stderr, "nomem_probe: unknown request kind %s\n", argv[i]);
      return 2;
    }
  }
  if (kinds.empty()) kinds.assign(std::begin(all_kinds), std::end(all_kinds));
  // Before anything initializes SQLite: later, SQLITE_CONFIG_MALLOC is refused.
  if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &default_methods) != SQLITE_OK) return 3;
  sqlite3_mem_methods failing = default_methods;
  failing.xMalloc = &failing_malloc;
  failing.xRealloc = &failing_realloc;
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &failing) != SQLITE_OK) return 3;
  if (sqlite3_initialize() != SQLITE_OK) return 3;
  const sqlite3_int64 memory_at_start = sqlite3_memory_used();

  const bool stress = stress_run();
#ifdef NOMEM_PROBE_SANITIZED
  const std::uint64_t stride = stress ? 1 : 3;
#else
  const std::uint64_t stride = 1;
#endif
  const std::uint64_t most = stress ? 1000 : 400;

  std::uint64_t runs = 0, total_injected = 0, nomem = 0, coped = 0;
  std::map<std::string, std::uint64_t> other;
  try {
    asio::io_context ctx;
    for (const kind k : kinds) {
      for (const bool keep_failing : {false, true}) {
        figures f;
        std::exception_ptr error;
        asio::co_spawn(ctx, sweep_kind(argv[1], k, keep_failing, stride, most, f),
                       [&](std::exception_ptr e) { error = e; });
        ctx.restart();
        ctx.run();
        if (error) std::rethrow_exception(error);
        std::printf("nomem_probe: %s %s: %llu runs, %llu allocations failed, %llu requests failed with nomem, "
                    "%llu succeeded despite a failed allocation\n",
                    name_of(k), keep_failing ? "persistent" : "one-shot", static_cast<unsigned long long>(f.runs),
                    static_cast<unsigned long long>(f.injected), static_cast<unsigned long long>(f.nomem),
                    static_cast<unsigned long long>(f.succeeded_despite));
        runs += f.runs;
        total_injected += f.injected;
        nomem += f.nomem;
        coped += f.succeeded_despite;
        for (const auto& [code, n] : f.other) other[code] += n;
      }
    }
  } catch (const std::exception& e) {
    problem(std::string("unexpected exception: ") + e.what());
  }

  // Every connection is closed: SQLite must be back to what it held at the start.
  const sqlite3_int64 memory_at_end = sqlite3_memory_used();
  if (memory_at_end != memory_at_start)
    problem("SQLite holds " + std::to_string(memory_at_end - memory_at_start) + " bytes more than at the start");
  for (const auto& [code, n] : other)
    std::printf("nomem_probe: other outcome %s: %llu\n", code.c_str(), static_cast<unsigned long long>(n));
  std::printf("nomem_probe: injected %llu failed allocations over %llu runs (stride %llu): %llu nomem failures, "
              "%llu absorbed by SQLite; SQLite memory at start %lld, at end %lld\n",
              static_cast<unsigned long long>(total_injected), static_cast<unsigned long long>(runs),
              static_cast<unsigned long long>(stride), static_cast<unsigned long long>(nomem),
              static_cast<unsigned long long>(coped), static_cast<long long>(memory_at_start),
              static_cast<long long>(memory_at_end));
  if (!problems.empty() || total_injected == 0) {
    std::printf("nomem_probe: FAILED, %zu problems\n", problems.size());
    return 1;
  }
  std::printf("nomem_probe: ok\n");
  return 0;
}
