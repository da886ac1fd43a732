// The raw side: what a C programmer writes with the SQLite API on one thread.
#include "kv.hpp"
#include "workloads.hpp"

#include <deque>
#include <thread>
#include <vector>

namespace bench::raw {
namespace {

std::uint64_t insert_rows(const std::filesystem::path& path, std::size_t count, bool in_transaction, meter& m) {
  std::uint64_t rowids = 0;
  {
    raw_db db(path);
    raw_statement insert(db, insert_sql);
    row_values row;
    m.start();
    if (in_transaction) db.exec("BEGIN");
    for (std::size_t i = 1; i <= count; ++i) {
      row.make(static_cast<std::int64_t>(i));
      sqlite3_stmt* s = insert.get();
      sqlite3_bind_text(s, 1, row.key().data(), static_cast<int>(row.key().size()), SQLITE_STATIC);
      sqlite3_bind_blob(s, 2, row.value().data(), static_cast<int>(row.value().size()), SQLITE_STATIC);
      sqlite3_bind_double(s, 3, row.n());
      if (sqlite3_step(s) != SQLITE_DONE) db.fail("insert");
      rowids += static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db.get()));
      sqlite3_reset(s);
    }
    if (in_transaction) db.exec("COMMIT");
    m.stop();
  }
  return write_checksum(table_checksum(path), rowids);
}

// The digest of the current row of a statement whose columns are (id,) k, v, n.
std::uint64_t digest(sqlite3_stmt* s, std::int64_t id, int first) {
  const auto* k = reinterpret_cast<const char*>(sqlite3_column_text(s, first));
  const auto k_size = static_cast<std::size_t>(sqlite3_column_bytes(s, first));
  const auto* v = static_cast<const std::byte*>(sqlite3_column_blob(s, first + 1));
  const auto v_size = static_cast<std::size_t>(sqlite3_column_bytes(s, first + 1));
  return row_digest(id, {k, k_size}, {v, v_size}, sqlite3_column_double(s, first + 2));
}

}  // namespace

std::uint64_t insert_tx(const run_context& c, meter& m) {
  return insert_rows(c.fresh_db("insert_tx-raw"), c.cfg.n, true, m);
}

std::uint64_t insert_many(const run_context& c, meter& m) {
  return insert_rows(c.fresh_db("insert_many-raw"), c.cfg.n, true, m);
}

std::uint64_t autocommit_insert_full(const run_context& c, meter& m) {
  const auto path = c.fresh_db("group_commit-raw");
  std::uint64_t rowids = 0;
  {
    raw_db db(path);
    db.exec("PRAGMA synchronous=FULL");
    raw_statement insert(db, insert_with_id_sql);
    row_values row;
    m.start();
    for (std::size_t i = 1; i <= c.cfg.commits; ++i) {
      row.make(static_cast<std::int64_t>(i));
      sqlite3_stmt* s = insert.get();
      sqlite3_bind_int64(s, 1, static_cast<std::int64_t>(i));
      sqlite3_bind_text(s, 2, row.key().data(), static_cast<int>(row.key().size()), SQLITE_STATIC);
      sqlite3_bind_blob(s, 3, row.value().data(), static_cast<int>(row.value().size()), SQLITE_STATIC);
      sqlite3_bind_double(s, 4, row.n());
      if (sqlite3_step(s) != SQLITE_DONE) db.fail("insert");
      rowids += static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db.get()));
      sqlite3_reset(s);
    }
    m.stop();
  }
  return write_checksum(table_checksum(path), rowids);
}

std::uint64_t autocommit_insert(const run_context& c, meter& m) {
  return insert_rows(c.fresh_db("autocommit-raw"), c.cfg.commits, false, m);
}

std::uint64_t point_select(const run_context& c, meter& m) {
  raw_db db(c.read_db);
  raw_statement select(db, select_sql);
  sqlite3_stmt* s = select.get();
  std::uint64_t sum = 0;
  m.start();
  for (const std::int64_t id : c.ids) {
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) != SQLITE_ROW) db.fail("point select");
    sum += digest(s, id, 0);
    sqlite3_reset(s);
  }
  m.stop();
  return sum;
}

// W3's selects on `threads` threads, each with its own connection (W8a's raw side).
static std::uint64_t point_select_on_threads(const run_context& c, meter& m, std::size_t threads) {
  std::deque<raw_db> dbs;
  std::deque<raw_statement> selects;
  for (std::size_t t = 0; t < threads; ++t) {
    dbs.emplace_back(c.read_db);
    selects.emplace_back(dbs.back(), select_sql);
  }
  std::vector<std::uint64_t> sums(threads, 0);
  std::vector<std::thread> running;
  m.start();
  for (std::size_t t = 0; t < threads; ++t)
    running.emplace_back([&, t] {
      pin_this_thread(-1);  // a thread starts pinned where its maker is: let each have a CPU
      sqlite3_stmt* s = selects[t].get();
      // Thread t takes every threads-th select, so each meets the same mix of rows.
      for (std::size_t i = t; i < c.ids.size(); i += threads) {
        sqlite3_bind_int64(s, 1, c.ids[i]);
        if (sqlite3_step(s) != SQLITE_ROW) dbs[t].fail("point select");
        sums[t] += digest(s, c.ids[i], 0);
        sqlite3_reset(s);
      }
    });
  for (auto& t : running) t.join();
  m.stop();
  std::uint64_t sum = 0;
  for (auto v : sums) sum += v;
  return sum;
}

// Every row of `s` into `rows`; SQLITE_DONE at the end unless a step failed.
int read_all(sqlite3_stmt* s, std::vector<kv_row>& rows) {
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const auto* k = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    const auto k_size = static_cast<std::size_t>(sqlite3_column_bytes(s, 1));
    const auto* v = static_cast<const std::byte*>(sqlite3_column_blob(s, 2));
    const auto v_size = static_cast<std::size_t>(sqlite3_column_bytes(s, 2));
    rows.push_back(kv_row{sqlite3_column_int64(s, 0), std::string(k, k_size), std::vector<std::byte>(v, v + v_size),
                          sqlite3_column_double(s, 3)});
  }
  sqlite3_reset(s);
  return rc;
}

std::uint64_t point_select_2_threads(const run_context& c, meter& m) { return point_select_on_threads(c, m, 2); }

std::uint64_t scan_all(const run_context& c, meter& m) {
  raw_db db(c.read_db);
  raw_statement scan(db, scan_sql);
  sqlite3_stmt* s = scan.get();
  // One untimed scan first, on each side. The rows are allocated by the thread that reads
  // them: here the caller, in asiolite the connection's worker. Without it the timed scan
  // pays for page faults in whichever malloc arena the workloads before it left cold, and
  // the ratio moved between 1.1x and 1.3x with the order of the workloads.
  {
    std::vector<kv_row> warm_up;
    if (read_all(s, warm_up) != SQLITE_DONE) db.fail("scan");
  }
  std::vector<kv_row> rows;
  m.start();
  const int rc = read_all(s, rows);
  m.stop();
  if (rc != SQLITE_DONE) db.fail("scan");
  std::uint64_t sum = 0;
  for (const kv_row& r : rows) sum += row_digest(r.id, r.k, r.v, r.n);
  return sum;
}

// Every row's digest, summed.
int stream_rows(sqlite3_stmt* s, std::uint64_t& sum) {
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) sum += digest(s, sqlite3_column_int64(s, 0), 1);
  sqlite3_reset(s);
  return rc;
}

std::uint64_t scan_stream(const run_context& c, meter& m) {
  raw_db db(c.read_db);
  raw_statement scan(db, scan_sql);
  sqlite3_stmt* s = scan.get();
  // One untimed scan first, as in scan_all: SQLite's page cache is allocated by the thread
  // that reads, and asiolite's worker is a new thread with a malloc arena of its own.
  std::uint64_t warm_up = 0;
  if (stream_rows(s, warm_up) != SQLITE_DONE) db.fail("scan");
  std::uint64_t sum = 0;
  m.start();
  const int rc = stream_rows(s, sum);
  m.stop();
  if (rc != SQLITE_DONE) db.fail("scan");
  return sum;
}

void mix_function(sqlite3_context* ctx, int, sqlite3_value** argv) {
  sqlite3_result_int64(ctx, mix(sqlite3_value_int64(argv[0])));
}

std::uint64_t scalar_function(const run_context& c, meter& m) {
  raw_db db(c.read_db);
  if (sqlite3_create_function_v2(db.get(), "mix", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, &mix_function,
                                 nullptr, nullptr, nullptr) != SQLITE_OK)
    db.fail("create_function");
  raw_statement query(db, function_sql);
  sqlite3_stmt* s = query.get();
  const auto sum = [&] {
    if (sqlite3_step(s) != SQLITE_ROW) db.fail("mix");
    const std::int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return v;
  };
  sum();  // untimed, as in scan_all
  m.start();
  const std::int64_t v = sum();
  m.stop();
  return static_cast<std::uint64_t>(v);
}

// W11: SQLite's online backup, 256 pages per step, the loop a program would write.
std::uint64_t backup(const run_context& c, meter& m) {
  const auto source_path = backup_source(c.dir, c.cfg.n);
  const auto dest_path = c.dir / "backup-raw.db";
  {
    raw_db source(source_path);
    sqlite3* dest = nullptr;
    if (sqlite3_open_v2(dest_path.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
      source.fail("open the backup's destination");
    m.start();
    sqlite3_backup* b = sqlite3_backup_init(dest, "main", source.get(), "main");
    int rc = SQLITE_OK;
    while (b && (rc = sqlite3_backup_step(b, 256)) == SQLITE_OK) {
    }
    const int finished = sqlite3_backup_finish(b);
    m.stop();
    sqlite3_close(dest);
    if (!b || rc != SQLITE_DONE || finished != SQLITE_OK) source.fail("backup");
  }
  return page_count(dest_path);
}

// W11: a blob read 64 KiB at a time (sqlite3_blob_read), into one buffer.
std::uint64_t blob_read(const run_context& c, meter& m) {
  raw_db db(blob_source(c.dir, c.cfg.n));
  std::vector<unsigned char> buf(blob_chunk);
  std::uint64_t sum = 0;
  m.start();
  sqlite3_blob* b = nullptr;
  if (sqlite3_blob_open(db.get(), "main", "blobs", "b", 1, 0, &b) != SQLITE_OK) db.fail("blob_open");
  for (std::size_t i = 0; i < blob_chunks(c.cfg.n); ++i) {
    if (sqlite3_blob_read(b, buf.data(), static_cast<int>(blob_chunk), static_cast<int>(i * blob_chunk)) != SQLITE_OK)
      db.fail("blob_read");
    sum += chunk_digest(buf.data());
  }
  sqlite3_blob_close(b);
  m.stop();
  return sum;
}

// W11: a zeroblob written 64 KiB at a time (sqlite3_blob_write), then closed: the commit.
std::uint64_t blob_write(const run_context& c, meter& m) {
  const auto path = c.dir / "blob_write-raw.db";
  create_blob_target(path, c.cfg.n);
  {
    raw_db db(path);
    std::vector<unsigned char> buf(blob_chunk, 0x5a);
    m.start();
    sqlite3_blob* b = nullptr;
    if (sqlite3_blob_open(db.get(), "main", "blobs", "b", 1, 1, &b) != SQLITE_OK) db.fail("blob_open");
    for (std::size_t i = 0; i < blob_chunks(c.cfg.n); ++i) {
      const std::uint64_t stamp = i + 1;
      std::memcpy(buf.data(), &stamp, sizeof stamp);
      if (sqlite3_blob_write(b, buf.data(), static_cast<int>(blob_chunk), static_cast<int>(i * blob_chunk)) !=
          SQLITE_OK)
        db.fail("blob_write");
    }
    if (sqlite3_blob_close(b) != SQLITE_OK) db.fail("blob_close");
    m.stop();
  }
  return blob_checksum(path, c.cfg.n);
}

}  // namespace bench::raw
