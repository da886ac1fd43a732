// The asiolite side: coroutines on an io_context that the benchmark thread runs, each
// awaiting every operation, as an application would.
#include "kv.hpp"
#include "workloads.hpp"

#include <asiolite.hpp>

#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/read_at.hpp>
#include <asio/write_at.hpp>

#include <pthread.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

namespace bench::lite {
namespace {

// W3/W4's result: every column of the point select.
struct kv_value {
  std::string k;
  std::vector<std::byte> v;
  double n;
};

// Runs on the worker: pins it (see bench::placement).
struct pin_fn {
  int cpu;
  void operator()(asiolite::sync_handle&) const { pin_this_thread(cpu); }
};

asio::awaitable<void> open(asiolite::connection& db, std::string path, int worker_cpu) {
  asiolite::options opts;  // named: see the g++ 12 note in the README
  opts.journal = asiolite::journal_mode::wal;
  opts.synchronous = asiolite::synchronous_mode::normal;
  co_await db.async_open(path, opts);
  // Also for -1: a thread starts with the pinning of the one that made it, here the
  // caller's, and the worker may run on any CPU.
  co_await db.async_call(pin_fn{worker_cpu});
}

asio::awaitable<void> close(asiolite::connection& db) { co_await db.async_close(); }

// An io_context run by this thread, and the helpers to run coroutines on it.
class lite_context {
 public:
  lite_context() = default;
  lite_context(const lite_context&) = delete;
  lite_context& operator=(const lite_context&) = delete;

  asio::io_context& ctx() noexcept { return ctx_; }

  /// Runs `a` to its end; rethrows what it threw.
  void run(asio::awaitable<void> a) {
    std::exception_ptr error;
    auto hold = asio::make_work_guard(ctx_);  // see run_clients
    ctx_.restart();
    asio::co_spawn(ctx_, std::move(a), [&](std::exception_ptr e) { error = e; });
    hold.reset();
    ctx_.run();
    ctx_.restart();
    if (error) std::rethrow_exception(error);
  }

  /// `clients` coroutines share `total` operations: each takes the next index, awaits
  /// op.start(i) and adds op.digest(...) to the sum it returns. Timed by `m`.
  template <class Op>
  std::uint64_t run_clients(int clients, std::size_t total, Op& op, meter& m) {
    std::size_t next = 0;
    std::uint64_t sum = 0;
    std::exception_ptr error;
    int running = clients;
    // Work a connection counted on ctx_ for a handler elsewhere (W8b's writer) may end
    // while ctx_ is not running, which stops it: restart it, with work of our own held
    // until the clients hold theirs, or such an end between restart() and co_spawn
    // stops it again and run() returns at once (seen under --busy: one run of W8b timed
    // nothing).
    auto hold = asio::make_work_guard(ctx_);
    ctx_.restart();
    m.start();
    for (int i = 0; i < clients; ++i)
      asio::co_spawn(ctx_, client(op, next, total, sum), [&](std::exception_ptr e) {
        if (e && !error) error = e;
        if (--running == 0) m.stop();  // not when run() returns: other work may still hold ctx_
      });
    hold.reset();
    ctx_.run();
    ctx_.restart();
    if (error) std::rethrow_exception(error);
    return sum;
  }

 private:
  template <class Op>
  static asio::awaitable<void> client(Op& op, std::size_t& next, std::size_t total, std::uint64_t& sum) {
    using result = typename decltype(op.start(0))::value_type;
    while (next < total) {
      const std::size_t i = next++;
      if constexpr (std::is_void_v<result>) {
        co_await op.start(i);
        sum += op.digest(i);
      } else {
        const result r = co_await op.start(i);  // named: see the g++ 12 note in the README
        sum += op.digest(i, r);
      }
    }
  }

  asio::io_context ctx_;
};

// A connection opened on a lite_context, its worker pinned to `worker_cpu` (-1: not
// pinned, whatever this thread is pinned to).
class lite_db : public lite_context {
 public:
  lite_db(const std::filesystem::path& path, int worker_cpu) : db_(ctx()) { run(open(db_, path.string(), worker_cpu)); }
  ~lite_db() {
    try {
      run(close(db_));
    } catch (...) {
    }
  }

  asiolite::connection& db() noexcept { return db_; }

 private:
  asiolite::connection db_;
};

asio::awaitable<void> open_pool(asiolite::pool& p, std::string path, std::size_t readers) {
  asiolite::pool_options po;  // named: see the g++ 12 note in the README
  po.readers = readers;
  po.connection.synchronous = asiolite::synchronous_mode::normal;
  co_await p.async_open(path, po);
}

asio::awaitable<void> close_pool(asiolite::pool& p) { co_await p.async_close(); }

// A pool opened on a lite_context. Its threads are not pinned: a pool is for using
// several CPUs (this thread is unpinned before the pool's workers are made, as they
// start pinned where their maker is).
class lite_pool : public lite_context {
 public:
  lite_pool(const std::filesystem::path& path, std::size_t readers) : pool_(ctx()) {
    pin_this_thread(-1);
    run(open_pool(pool_, path.string(), readers));
  }
  ~lite_pool() {
    try {
      run(close_pool(pool_));
    } catch (...) {
    }
  }

  asiolite::pool& pool() noexcept { return pool_; }

 private:
  asiolite::pool pool_;
};

asio::awaitable<void> insert_rows(asiolite::connection& db, std::size_t count, bool in_transaction,
                                  std::uint64_t& rowids) {
  row_values row;
  if (in_transaction) co_await db.async_execute("BEGIN");
  for (std::size_t i = 1; i <= count; ++i) {
    row.make(static_cast<std::int64_t>(i));
    const asiolite::execute_result r = co_await db.async_execute(insert_sql, row.key(), row.value(), row.n());
    rowids += static_cast<std::uint64_t>(r.last_insert_rowid);
  }
  if (in_transaction) co_await db.async_execute("COMMIT");
}

std::uint64_t insert(const std::filesystem::path& path, std::size_t count, bool in_transaction, int worker_cpu,
                     meter& m) {
  std::uint64_t rowids = 0;
  {
    lite_db l(path, worker_cpu);
    m.start();
    l.run(insert_rows(l.db(), count, in_transaction, rowids));
    m.stop();
  }
  return write_checksum(table_checksum(path), rowids);
}

template <class Db>  // a connection or a pool
struct point_select_op {
  Db& db;
  const std::vector<std::int64_t>& ids;

  auto start(std::size_t i) { return db.template async_query_one<kv_value>(select_sql, ids[i]); }
  std::uint64_t digest(std::size_t i, const std::optional<kv_value>& r) const {
    if (!r) throw std::runtime_error("asiolite: point select found no row");
    return row_digest(ids[i], r->k, r->v, r->n);
  }
};

std::uint64_t point_select_with(int clients, const run_context& c, meter& m) {
  lite_db l(c.read_db, c.where.sqlite_cpu);
  point_select_op<asiolite::connection> op{l.db(), c.ids};
  return l.run_clients(clients, c.ids.size(), op, m);
}

// W6c: autocommit inserts with synchronous=FULL, group commit on, from many coroutines.
struct grouped_insert_op {
  asiolite::connection& db;
  std::uint64_t rowids = 0;

  auto start(std::size_t i) {
    row_values row;
    const auto id = static_cast<std::int64_t>(i + 1);
    row.make(id);
    return db.async_execute(insert_with_id_sql, id, row.key(), row.value(), row.n());  // copied before it returns
  }
  std::uint64_t digest(std::size_t, const asiolite::execute_result& r) {
    rowids += static_cast<std::uint64_t>(r.last_insert_rowid);
    return 0;
  }
};

asio::awaitable<void> open_grouped(asiolite::connection& db, std::string path) {
  asiolite::options opts;  // named: see the g++ 12 note in the README
  opts.journal = asiolite::journal_mode::wal;
  opts.synchronous = asiolite::synchronous_mode::full;
  opts.group_commit = 64;
  co_await db.async_open(path, opts);
}

std::uint64_t pool_read_with(std::size_t readers, const run_context& c, meter& m) {
  lite_pool l(c.read_db, readers);
  point_select_op<asiolite::pool> op{l.pool(), c.ids};
  return l.run_clients(c.cfg.clients, c.ids.size(), op, m);
}

// Runs W1-style transactions (100 inserts in one hop) on a pool's writer from a thread
// of its own, one after another, until destroyed.
class busy_writer {
 public:
  explicit busy_writer(asiolite::pool& p) : pool_(p), guard_(ctx_.get_executor()) {
    ctx_.post([this] { write_next(); });
    thread_ = std::thread([this] {
      pin_this_thread(-1);
      ctx_.run();
    });
  }
  ~busy_writer() {
    stop_ = true;
    guard_.reset();
    thread_.join();
  }
  busy_writer(const busy_writer&) = delete;
  busy_writer& operator=(const busy_writer&) = delete;

  std::size_t transactions() const noexcept { return done_; }
  bool failed() const noexcept { return failed_; }

 private:
  void write_next() {
    if (stop_) return;
    pool_.writer().async_call_in_transaction(
        [](asiolite::sync_handle& h) {
          row_values row;
          for (std::int64_t i = 0; i < 100; ++i) {
            row.make(i);
            h.execute("INSERT INTO writes(k, v, n) VALUES (?, ?, ?)", row.key(), row.value(), row.n());
          }
        },
        asio::bind_executor(ctx_, [this](asiolite::error_code ec) {
          if (ec) {
            failed_ = true;  // reported by the workload, on the benchmark thread
            return;
          }
          ++done_;
          write_next();
        }));
  }

  asiolite::pool& pool_;
  asio::io_context ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::atomic<bool> stop_{false}, failed_{false};
  std::atomic<std::size_t> done_{0};
  std::thread thread_;
};

// W8b: one coroutine's point selects on a pool of one reader, with the writer idle or busy.
std::uint64_t reads_with_writer(bool busy, const run_context& c, meter& m) {
  const auto path = c.dir / (busy ? "w8b-busy.db" : "w8b-idle.db");
  populate_kv(path, c.cfg.n);
  lite_pool l(path, 1);
  l.run([](asiolite::pool& p) -> asio::awaitable<void> {
    co_await p.writer().async_execute("CREATE TABLE writes(k TEXT, v BLOB, n REAL)");
  }(l.pool()));
  std::optional<busy_writer> writer;
  if (busy) {
    writer.emplace(l.pool());
    // Timed from when the writer is committing, not while it starts.
    while (writer->transactions() == 0 && !writer->failed())
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  point_select_op<asiolite::pool> op{l.pool(), c.ids};
  const std::uint64_t sum = l.run_clients(1, c.ids.size(), op, m);
  if (busy && writer->failed()) throw std::runtime_error("W8b: the writer's transaction failed");
  return sum;
}

struct empty_fn {
  void operator()(asiolite::sync_handle&) const noexcept {}
};

struct hop_op {
  asiolite::connection& db;

  auto start(std::size_t) { return db.async_call(empty_fn{}); }
  std::uint64_t digest(std::size_t) const noexcept { return 1; }
};

std::uint64_t hop_with(int clients, const run_context& c, meter& m) {
  lite_db l(c.read_db, c.where.sqlite_cpu);
  hop_op op{l.db()};
  return l.run_clients(clients, c.cfg.n, op, m);
}

// W2's elements: row i is made as the range is read, and its text and blob are views into
// that row, as the raw side binds each row from the buffer it makes it in. The request
// copies them (into one arena) before async_execute_many returns.
class kv_elements {
 public:
  explicit kv_elements(std::size_t count) noexcept : count_(count) {}

  class iterator {
   public:
    using value_type = std::tuple<std::string_view, asiolite::blob_view, double>;
    using difference_type = std::ptrdiff_t;

    iterator() = default;
    explicit iterator(std::size_t i) noexcept : i_(i) {}

    value_type operator*() const noexcept {
      row_.make(static_cast<std::int64_t>(i_));
      return {row_.key(), row_.value(), row_.n()};
    }
    iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    void operator++(int) noexcept { ++i_; }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }

   private:
    std::size_t i_ = 0;
    mutable row_values row_;  // what the last element read points into
  };

  iterator begin() const noexcept { return iterator(1); }
  iterator end() const noexcept { return iterator(count_ + 1); }
  std::size_t size() const noexcept { return count_; }

 private:
  std::size_t count_;
};

asio::awaitable<void> insert_all(asiolite::connection& db, std::size_t count, std::uint64_t& rowids) {
  const kv_elements elements(count);
  auto tx = co_await db.async_begin();
  const asiolite::execute_many_result r = co_await tx.async_execute_many(insert_sql, elements);
  co_await tx.async_commit();
  // One connection inserting into a fresh table: the rowids are the `changes` ones up to
  // the last, which is what the raw side sums one insert at a time.
  const auto last = static_cast<std::uint64_t>(r.last_insert_rowid);
  const auto n = static_cast<std::uint64_t>(r.changes);
  rowids += n * last - n * (n - 1) / 2;
}

// W5b: a cursor, row by row, reading every column in place (views into the batch) as the
// raw side reads them from the statement.
asio::awaitable<void> stream_all(asiolite::connection& db, std::uint64_t& sum) {
  auto cur = co_await db.async_cursor(scan_sql);
  while (auto row = co_await cur.async_next())
    sum += row_digest(row->get<std::int64_t>(0), row->get<std::string_view>(1), row->get<asiolite::blob_view>(2),
                      row->get<double>(3));
}

asio::awaitable<void> query_all(asiolite::connection& db, std::vector<kv_row>& out) {
  out = co_await db.async_query<kv_row>(scan_sql);
}

asio::awaitable<void> register_mix(asiolite::connection& db) {
  co_await db.async_create_function(
      "mix", [](std::int64_t x) { return mix(x); }, asiolite::function_flags::deterministic);
}

asio::awaitable<void> mix_sum(asiolite::connection& db, std::int64_t& out) {
  out = co_await db.async_query_scalar<std::int64_t>(function_sql);
}

// Runs on the worker: the clock of its thread's CPU time.
struct worker_clock_fn {
  clockid_t operator()(asiolite::sync_handle&) const {
    clockid_t clock{};
    if (pthread_getcpuclockid(pthread_self(), &clock) != 0) throw std::runtime_error("pthread_getcpuclockid failed");
    return clock;
  }
};

double cpu_us(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) throw std::runtime_error("clock_gettime on the worker's CPU clock failed");
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// What a connection does before it is left idle: it reads a little (only reads: many
// connections share the file), then tells the CPU clock of its worker.
asio::awaitable<void> read_a_little(asiolite::connection& db, clockid_t& worker_clock) {
  co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM kv");
  co_await db.async_query_one<kv_value>(select_sql, 1);
  worker_clock = co_await db.async_call(worker_clock_fn{});
}

// `count` connections to one file, each with its own worker, not pinned, used a little
// and then left idle, as a program keeps connections open for later. Their workers park,
// and must stay parked.
class idle_connections {
 public:
  idle_connections(const std::filesystem::path& path, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      lite_db& l = connections_.emplace_back(path, -1);
      clockid_t clock{};
      l.run(read_a_little(l.db(), clock));
      clocks_.push_back(clock);
    }
  }

  /// The CPU time their workers have used so far, together.
  double cpu_us() const {
    double sum = 0;
    for (const clockid_t clock : clocks_) sum += lite::cpu_us(clock);
    return sum;
  }

 private:
  std::deque<lite_db> connections_;  // a deque: a lite_db does not move
  std::vector<clockid_t> clocks_;
};

// W10: a slow-query log left on (a trace whose threshold no statement reaches), and a
// watch that counts the rows each transaction wrote.
asio::awaitable<void> trace_slow(asiolite::connection& db, asiolite::subscription& out,
                                 std::chrono::nanoseconds threshold, std::uint64_t& reports) {
  asiolite::trace_options slow;
  slow.threshold = threshold;
  slow.max_pending = 1 << 20;  // a full trace: none lost, each report delivered
  out = co_await db.async_trace([&reports](const asiolite::statement_trace&) { ++reports; }, slow);
}

asio::awaitable<void> watch_all(asiolite::connection& db, std::uint64_t& changes, asiolite::subscription& out) {
  auto count = [&changes](const asiolite::transaction_event& e) { changes += e.changes.size(); };
  out = co_await db.async_watch_transactions(count);
}

}  // namespace

namespace {
std::uint64_t point_select_traced_at(const run_context& c, meter& m, std::chrono::nanoseconds threshold) {
  lite_db l(c.read_db, c.where.sqlite_cpu);
  asiolite::subscription tracing;
  std::uint64_t reports = 0;
  l.run(trace_slow(l.db(), tracing, threshold, reports));
  point_select_op<asiolite::connection> op{l.db(), c.ids};
  const std::uint64_t sum = l.run_clients(1, c.ids.size(), op, m);
  if (threshold == std::chrono::nanoseconds::zero() && reports != c.ids.size())
    throw std::runtime_error("asiolite: the full trace missed statements");
  return sum;
}
}  // namespace

std::uint64_t point_select_traced(const run_context& c, meter& m) {
  return point_select_traced_at(c, m, std::chrono::seconds(1));
}

std::uint64_t point_select_fully_traced(const run_context& c, meter& m) {
  return point_select_traced_at(c, m, std::chrono::nanoseconds::zero());
}

// W10's baselines run in the raw column, whose thread the harness pins where SQLite runs:
// they place themselves as the asiolite column does.
std::uint64_t point_select_untraced(const run_context& c, meter& m) {
  pinned_scope here(c.where.caller_cpu);
  return point_select_with(1, c, m);
}

std::uint64_t insert_tx_unwatched(const run_context& c, meter& m) {
  pinned_scope here(c.where.caller_cpu);
  return insert(c.fresh_db("insert_unwatched-asiolite"), c.cfg.n, true, c.where.sqlite_cpu, m);
}

std::uint64_t insert_tx_watched(const run_context& c, meter& m) {
  const auto path = c.fresh_db("insert_watched-asiolite");
  std::uint64_t rowids = 0, changes = 0;
  {
    lite_db l(path, c.where.sqlite_cpu);
    asiolite::subscription watching;
    l.run(watch_all(l.db(), changes, watching));
    m.start();
    l.run(insert_rows(l.db(), c.cfg.n, true, rowids));
    m.stop();
  }
  if (changes != c.cfg.n) throw std::runtime_error("asiolite: the watch missed changes");
  return write_checksum(table_checksum(path), rowids);
}

std::uint64_t insert_tx(const run_context& c, meter& m) {
  return insert(c.fresh_db("insert_tx-asiolite"), c.cfg.n, true, c.where.sqlite_cpu, m);
}

std::uint64_t insert_many(const run_context& c, meter& m) {
  const auto path = c.fresh_db("insert_many-asiolite");
  std::uint64_t rowids = 0;
  {
    lite_db l(path, c.where.sqlite_cpu);
    m.start();
    l.run(insert_all(l.db(), c.cfg.n, rowids));
    m.stop();
  }
  return write_checksum(table_checksum(path), rowids);
}

std::uint64_t autocommit_insert(const run_context& c, meter& m) {
  return insert(c.fresh_db("autocommit-asiolite"), c.cfg.commits, false, c.where.sqlite_cpu, m);
}

std::uint64_t point_select(const run_context& c, meter& m) { return point_select_with(1, c, m); }

std::uint64_t point_select_concurrent(const run_context& c, meter& m) { return point_select_with(c.cfg.clients, c, m); }

std::uint64_t scan_all(const run_context& c, meter& m) {
  std::vector<kv_row> rows;
  {
    lite_db l(c.read_db, c.where.sqlite_cpu);
    {
      std::vector<kv_row> warm_up;  // untimed, as on the raw side: see raw::scan_all
      l.run(query_all(l.db(), warm_up));
    }
    m.start();
    l.run(query_all(l.db(), rows));
    m.stop();
  }
  std::uint64_t sum = 0;
  for (const kv_row& r : rows) sum += row_digest(r.id, r.k, r.v, r.n);
  return sum;
}

std::uint64_t scan_stream(const run_context& c, meter& m) {
  std::uint64_t sum = 0;
  lite_db l(c.read_db, c.where.sqlite_cpu);
  std::uint64_t warm_up = 0;  // untimed, as on the raw side: see raw::scan_stream
  l.run(stream_all(l.db(), warm_up));
  m.start();
  l.run(stream_all(l.db(), sum));
  m.stop();
  return sum;
}

std::uint64_t scalar_function(const run_context& c, meter& m) {
  lite_db l(c.read_db, c.where.sqlite_cpu);
  l.run(register_mix(l.db()));
  std::int64_t warm_up = 0, sum = 0;  // one untimed query first, as on the raw side
  l.run(mix_sum(l.db(), warm_up));
  m.start();
  l.run(mix_sum(l.db(), sum));
  m.stop();
  return static_cast<std::uint64_t>(sum);
}

std::uint64_t hop(const run_context& c, meter& m) { return hop_with(1, c, m); }

std::uint64_t group_commit(const run_context& c, meter& m) {
  const auto path = c.fresh_db("group_commit-asiolite");
  std::uint64_t rowids = 0;
  {
    lite_context l;
    asiolite::connection db(l.ctx());
    l.run(open_grouped(db, path.string()));
    grouped_insert_op op{db};
    l.run_clients(c.cfg.clients, c.cfg.commits, op, m);
    rowids = op.rowids;
    l.run(close(db));
  }
  return write_checksum(table_checksum(path), rowids);
}

std::uint64_t pool_read_1(const run_context& c, meter& m) { return pool_read_with(1, c, m); }
std::uint64_t pool_read_2(const run_context& c, meter& m) { return pool_read_with(2, c, m); }
std::uint64_t pool_read_4(const run_context& c, meter& m) { return pool_read_with(4, c, m); }
std::uint64_t reads_writer_idle(const run_context& c, meter& m) { return reads_with_writer(false, c, m); }
std::uint64_t reads_writer_busy(const run_context& c, meter& m) { return reads_with_writer(true, c, m); }

std::uint64_t hop_concurrent(const run_context& c, meter& m) { return hop_with(c.cfg.clients, c, m); }

std::uint64_t hop_among_idle(const run_context& c, meter& m) {
  const idle_connections idle(c.read_db, c.cfg.idle_connections);
  // Past their workers' spin before parking (tens of microseconds; see measure_idle).
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return hop_with(1, c, m);
}

idle_cpu measure_idle(const std::filesystem::path& dir, std::size_t count, std::chrono::milliseconds window) {
  const auto path = dir / "idle.db";
  create_kv(path);
  const idle_connections idle(path, count);
  // The last requests have completed: from here on the connections are idle.
  const double t0 = idle.cpu_us();
  std::this_thread::sleep_for(window);
  const double t1 = idle.cpu_us();
  std::this_thread::sleep_for(window);
  const double t2 = idle.cpu_us();
  return {count, t1 - t0, t2 - t1};
}

// ---- W11: moving data

namespace {

asio::awaitable<void> backup_to(asiolite::connection& db, std::string dest) {
  asiolite::backup_options o;  // named: see the g++ 12 note in the README
  o.pages_per_step = 256;      // as the raw side's loop
  co_await db.async_backup(dest, o);
}

asio::awaitable<void> read_blob(asiolite::connection& db, std::size_t chunks, std::uint64_t& sum) {
  asiolite::blob_handle b = co_await db.async_open_blob("blobs", "b", 1);
  std::vector<unsigned char> buf(blob_chunk);
  for (std::size_t i = 0; i < chunks; ++i) {
    co_await asio::async_read_at(b, i * blob_chunk, asio::buffer(buf), asio::use_awaitable);
    sum += chunk_digest(buf.data());
  }
  co_await b.async_close();
}

asio::awaitable<void> write_blob(asiolite::connection& db, std::size_t chunks) {
  asiolite::blob_options rw;
  rw.writable = true;
  asiolite::blob_handle b = co_await db.async_open_blob("blobs", "b", 1, rw);
  std::vector<unsigned char> buf(blob_chunk, 0x5a);
  for (std::size_t i = 0; i < chunks; ++i) {
    const std::uint64_t stamp = i + 1;
    std::memcpy(buf.data(), &stamp, sizeof stamp);
    co_await asio::async_write_at(b, i * blob_chunk, asio::buffer(buf), asio::use_awaitable);
  }
  co_await b.async_close();  // the commit, as the raw side's sqlite3_blob_close
}

// W11's latency: point selects on the source of a backup while it runs, one after
// another, fewer than the backup has steps (so that all of them run beside it): each
// waits behind at most one step (FIFO).
asio::awaitable<void> selects_beside_backup(asiolite::connection& db, const run_context& c, meter& m,
                                            std::uint64_t& selects) {
  bool done = false;
  asio::co_spawn(
      co_await asio::this_coro::executor,
      [](asiolite::connection& conn, std::string dest, bool& finished) -> asio::awaitable<void> {
        co_await backup_to(conn, dest);
        finished = true;
      }(db, (c.dir / "backup-beside.db").string(), done),
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);  // out of the io_context's run: the workload fails
      });
  m.start();
  for (std::size_t i = 0; i < selects_beside_backup_count(c.cfg.n); ++i) {
    co_await db.async_query_scalar<std::int64_t>("SELECT length(b) FROM big WHERE id = ?", c.ids[i]);
    ++selects;
  }
  m.stop();
  while (!done) co_await db.async_execute("SELECT 1");  // the backup's end, before the connection closes
}

}  // namespace

std::uint64_t backup(const run_context& c, meter& m) {
  const auto source = backup_source(c.dir, c.cfg.n);
  const auto dest = c.dir / "backup-asiolite.db";
  {
    lite_db l(source, c.where.sqlite_cpu);
    m.start();
    l.run(backup_to(l.db(), dest.string()));
    m.stop();
  }
  return page_count(dest);
}

std::uint64_t blob_read(const run_context& c, meter& m) {
  lite_db l(blob_source(c.dir, c.cfg.n), c.where.sqlite_cpu);
  std::uint64_t sum = 0;
  m.start();
  l.run(read_blob(l.db(), blob_chunks(c.cfg.n), sum));
  m.stop();
  return sum;
}

std::uint64_t blob_write(const run_context& c, meter& m) {
  const auto path = c.dir / "blob_write-asiolite.db";
  create_blob_target(path, c.cfg.n);
  {
    lite_db l(path, c.where.sqlite_cpu);
    m.start();
    l.run(write_blob(l.db(), blob_chunks(c.cfg.n)));
    m.stop();
  }
  return blob_checksum(path, c.cfg.n);
}

std::uint64_t select_during_backup(const run_context& c, meter& m) {
  std::uint64_t selects = 0;
  lite_db l(backup_source(c.dir, c.cfg.n), c.where.sqlite_cpu);
  l.run(selects_beside_backup(l.db(), c, m, selects));
  return selects;
}

}  // namespace bench::lite
