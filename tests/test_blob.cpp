// connection::async_open_blob (incremental blob I/O as an Asio random-access device), and
// async_serialize / async_deserialize (a database as bytes and back).
#include "catch.hpp"
#include "test_support.hpp"

#include "asio_flavour.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using test::tuple_token;

/// Byte i of the test pattern for row `seed`: every byte known, none repeating soon.
std::byte pattern(std::size_t i, int seed) {
  return static_cast<std::byte>((i * 131 + i / 251 + static_cast<std::size_t>(seed) * 7) & 0xff);
}

std::vector<std::byte> pattern_bytes(std::size_t from, std::size_t n, int seed) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = pattern(from + i, seed);
  return out;
}

constexpr const char* files_schema = "CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT, data BLOB)";

// Fills the blob with the pattern, `chunk` bytes per asio::async_write_at.
asio::awaitable<void> fill_blob(asiolite::blob_handle& b, std::size_t chunk, int seed) {
  for (std::uint64_t at = 0; at < b.size(); at += chunk) {
    const auto piece = pattern_bytes(at, std::min<std::size_t>(chunk, b.size() - at), seed);
    const std::size_t n = co_await asio::async_write_at(b, at, asio::buffer(piece), asio::use_awaitable);
    REQUIRE(n == piece.size());
  }
}

// Reads the whole blob back through one buffer of `chunk` bytes; true if it holds the pattern.
asio::awaitable<bool> holds_pattern(asiolite::blob_handle& b, std::size_t chunk, int seed) {
  std::vector<std::byte> buf(chunk);
  std::uint64_t at = 0;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_at(b, at, asio::buffer(buf), tuple_token);
    for (std::size_t i = 0; i < n; ++i)
      if (buf[i] != pattern(at + i, seed)) co_return false;
    at += n;
    if (ec == asio::error::eof) break;
    if (ec) throw std::system_error(ec);
  }
  co_return at == b.size();
}

asio::awaitable<void> stream_in_and_out(asiolite::connection& db) {
  constexpr std::size_t size = 8 << 20;
  co_await db.async_execute("INSERT INTO files (id, name, data) VALUES (1, 'big', zeroblob(?))",
                            static_cast<std::int64_t>(size));
  sqlite3_memory_highwater(1);
  const std::int64_t used_before = sqlite3_memory_used();
  {
    asiolite::blob_options w;
    w.writable = true;
    auto b = co_await db.async_open_blob("files", "data", 1, w);
    CHECK(b.size() == size);
    CHECK(b.writable());
    CHECK(b.rowid() == 1);
    co_await fill_blob(b, 100'000, 1);
    co_await b.async_close();
  }
  auto r = co_await db.async_open_blob("files", "data", 1);
  CHECK_FALSE(r.writable());
  const bool same = co_await holds_pattern(r, 65'536, 1);
  CHECK(same);
  // Reads and writes go straight between SQLite's pages and the caller's buffers: SQLite
  // never held the 8 MB value whole (its page cache stays at its 2 MB default).
  const std::int64_t peak = sqlite3_memory_highwater(0) - used_before;
  CHECK(peak < static_cast<std::int64_t>(size / 2));
  co_await r.async_close();
  // The SQL side sees what was written.
  const auto tail = co_await db.async_query_scalar<asiolite::blob>("SELECT substr(data, ?, 5) FROM files WHERE id = 1",
                                                                   static_cast<std::int64_t>(size - 4));
  CHECK(tail == pattern_bytes(size - 5, 5, 1));
}

asio::awaitable<void> read_some_reads_what_is_there(asiolite::connection& db) {
  co_await db.async_execute("INSERT INTO files (id, data) VALUES (1, x'00010203040506070809')");
  auto b = co_await db.async_open_blob("files", "data", 1);
  std::vector<std::byte> two_parts_a(3), two_parts_b(20);
  const std::vector<asio::mutable_buffer> parts{asio::buffer(two_parts_a), asio::buffer(two_parts_b)};
  const std::size_t n = co_await b.async_read_some_at(4, parts, asio::use_awaitable);
  CHECK(n == 6);  // three into the first buffer, the three left into the second
  CHECK(two_parts_a == test::bytes_of({4, 5, 6}));
  CHECK(std::vector<std::byte>(two_parts_b.begin(), two_parts_b.begin() + 3) == test::bytes_of({7, 8, 9}));
  std::vector<std::byte> none;
  const std::size_t zero = co_await b.async_read_some_at(100, asio::buffer(none), asio::use_awaitable);
  CHECK(zero == 0);  // an empty buffer reads nothing, wherever it points
  std::vector<std::byte> buf(4);
  auto [ec, got] = co_await b.async_read_some_at(10, asio::buffer(buf), tuple_token);
  CHECK(ec == asio::error::eof);
  CHECK(got == 0);
  // TEXT opens too: its bytes.
  co_await db.async_execute("INSERT INTO files (id, data) VALUES (2, 'hello')");
  co_await b.async_reopen(2);
  CHECK(b.size() == 5);
  CHECK(b.rowid() == 2);
  std::string text(5, '\0');
  co_await asio::async_read_at(b, 0, asio::buffer(text), asio::use_awaitable);
  CHECK(text == "hello");
}

asio::awaitable<void> bad_writes_and_expiry(asiolite::connection& db) {
  co_await db.async_execute("INSERT INTO files (id, data) VALUES (1, x'0102030405'), (2, x'AABB')");
  asiolite::blob_options w;
  w.writable = true;
  auto b = co_await db.async_open_blob("files", "data", 1, w);
  asiolite::diagnostics diag;
  const auto six = test::bytes_of({9, 9, 9, 9, 9, 9});
  auto [past, written] = co_await b.async_write_some_at(0, asio::buffer(six), diag, tuple_token);
  CHECK(past == asiolite::errc::past_blob_end);
  CHECK(written == 0);
  CHECK(test::contains(diag.message(), "nothing was written"));
  auto [beyond, none] = co_await b.async_write_some_at(6, asio::buffer(six.data(), 1), tuple_token);
  CHECK(beyond == asiolite::errc::past_blob_end);
  CHECK(none == 0);
  const auto two = test::bytes_of({7, 8});
  const std::size_t fits = co_await b.async_write_some_at(3, asio::buffer(two), asio::use_awaitable);
  CHECK(fits == 2);
  co_await b.async_close();
  const auto after = co_await db.async_query_scalar<asiolite::blob>("SELECT data FROM files WHERE id = 1");
  CHECK(after == test::bytes_of({1, 2, 3, 7, 8}));  // the refused writes left no trace

  // Read-only.
  auto r = co_await db.async_open_blob("files", "data", 2);
  auto [ro, ro_n] = co_await r.async_write_some_at(0, asio::buffer(two), tuple_token);
  CHECK(ro == asiolite::errc::readonly);
  CHECK(ro_n == 0);

  // The row changes under it: expired, until reopened.
  co_await db.async_execute("UPDATE files SET data = x'CCDDEE' WHERE id = 2");
  std::vector<std::byte> buf(2);
  auto [expired, n] = co_await r.async_read_some_at(0, asio::buffer(buf), diag, tuple_token);
  CHECK(expired == asiolite::errc::abort);
  CHECK(n == 0);
  CHECK(test::contains(diag.message(), "expired"));
  co_await r.async_reopen(2);
  CHECK(r.size() == 3);
  co_await asio::async_read_at(r, 1, asio::buffer(buf), asio::use_awaitable);
  CHECK(buf == test::bytes_of({0xDD, 0xEE}));
  // A row that is not there: SQLite's error, and the blob stays expired.
  auto [missing] = co_await r.async_reopen(42, diag, tuple_token);
  CHECK(missing == asiolite::errc::error);
  CHECK(test::contains(diag.message(), "no such rowid: 42"));
  auto [still, zero] = co_await r.async_read_some_at(0, asio::buffer(buf), tuple_token);
  CHECK(still == asiolite::errc::abort);
  CHECK(zero == 0);
  // SQLite's reopen cannot revive a blob a read found expired; asiolite's opens it afresh.
  co_await r.async_reopen(1);
  CHECK(r.size() == 5);
  co_await asio::async_read_at(r, 3, asio::buffer(buf), asio::use_awaitable);
  CHECK(buf == test::bytes_of({7, 8}));
}

asio::awaitable<void> bad_opens(asiolite::connection& db) {
  co_await db.async_execute("INSERT INTO files (id, name, data) VALUES (1, 'n', x'01'), (3, 'i', 5)");
  asiolite::diagnostics diag;
  auto [no_table, t] = co_await db.async_open_blob("nope", "data", 1, diag, tuple_token);
  CHECK(no_table == asiolite::errc::error);
  CHECK(test::contains(diag.message(), "no such table"));
  std::vector<std::byte> buf(1);
  auto [empty, n] = co_await t.async_read_some_at(0, asio::buffer(buf), tuple_token);
  CHECK(empty == asiolite::errc::closed);  // a failed open gives an empty handle
  CHECK(n == 0);
  auto [no_column, c] = co_await db.async_open_blob("files", "nope", 1, diag, tuple_token);
  CHECK(no_column == asiolite::errc::error);
  CHECK(test::contains(diag.message(), "no such column"));
  auto [no_row, r] = co_await db.async_open_blob("files", "data", 2, diag, tuple_token);
  CHECK(no_row == asiolite::errc::error);
  CHECK(test::contains(diag.message(), "no such rowid: 2"));
  auto [integer, i] = co_await db.async_open_blob("files", "data", 3, diag, tuple_token);
  CHECK(integer == asiolite::errc::error);
  CHECK(test::contains(diag.message(), "cannot open value of type integer"));
  asiolite::blob_options attached;
  attached.database = "other";
  auto [no_db, d] = co_await db.async_open_blob("files", "data", 1, attached, diag, tuple_token);
  CHECK(no_db == asiolite::errc::error);
  const std::string nul("fi\0les", 6);
  auto [nul_name, nn] = co_await db.async_open_blob(nul, "data", 1, diag, tuple_token);
  CHECK(nul_name == asiolite::errc::embedded_nul);
  // Nothing of it touched the row.
  const auto data = co_await db.async_query_scalar<asiolite::blob>("SELECT data FROM files WHERE id = 1");
  CHECK(data == test::bytes_of({1}));
}

}  // namespace

TEST_CASE("blob: asio::async_write_at and async_read_at stream an 8 MB value in pieces, in bounded memory") {
  test::database d(files_schema);
  d.run(stream_in_and_out);
}

TEST_CASE("blob: read_some reads what the value holds, across buffers, and reports the end") {
  test::database d(files_schema);
  d.run(read_some_reads_what_is_there);
}

TEST_CASE("blob: writes past the end or to a read-only blob write nothing, and a changed row expires it") {
  test::database d(files_schema);
  d.run(bad_writes_and_expiry);
}

TEST_CASE("blob: a missing table, column or row, or a non-blob value fails with SQLite's message") {
  test::database d(files_schema);
  d.run(bad_opens);
}

namespace {

asio::awaitable<void> dropped_blob_commits(asiolite::connection& db, std::string path) {
  co_await db.async_execute("INSERT INTO files (id, data) VALUES (1, zeroblob(4))");
  const auto bytes = test::bytes_of({1, 2, 3, 4});
  {
    asiolite::blob_options w;
    w.writable = true;
    auto b = co_await db.async_open_blob("files", "data", 1, w);
    co_await asio::async_write_at(b, 0, asio::buffer(bytes), asio::use_awaitable);
    // While it is open the write lock is held: another connection cannot write.
    asiolite::options no_wait;
    no_wait.busy_timeout = std::chrono::milliseconds(0);
    auto other = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path, no_wait);
    auto [busy, r] = co_await other.async_execute("INSERT INTO files (id) VALUES (2)", tuple_token);
    CHECK(busy == asiolite::errc::busy);
    co_await other.async_close();
  }  // dropped: closed on the worker, ahead of the next request
  auto other = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, path);
  co_await db.async_execute("SELECT 1");
  const auto seen = co_await other.async_query_scalar<asiolite::blob>("SELECT data FROM files WHERE id = 1");
  CHECK(seen == bytes);                                               // committed at the close
  co_await other.async_execute("INSERT INTO files (id) VALUES (2)");  // the lock is free
  co_await other.async_close();
}

asio::awaitable<void> closed_blobs_say_so(asiolite::connection& db) {
  co_await db.async_execute("INSERT INTO files (id, data) VALUES (1, x'0102')");
  auto b = co_await db.async_open_blob("files", "data", 1);
  co_await b.async_close();
  std::vector<std::byte> buf(1);
  asiolite::diagnostics diag;
  auto [closed, n] = co_await b.async_read_some_at(0, asio::buffer(buf), diag, tuple_token);
  CHECK(closed == asiolite::errc::closed);
  CHECK(n == 0);
  auto [again] = co_await b.async_close(tuple_token);
  CHECK(again == asiolite::errc::closed);
  // Moved from: empty, with the executor kept.
  auto c = co_await db.async_open_blob("files", "data", 1);
  asiolite::blob_handle moved = std::move(c);
  CHECK(moved.size() == 2);
  CHECK(c.size() == 0);  // NOLINT(bugprone-use-after-move): what a moved-from handle reports
  auto [empty, m] = co_await c.async_read_some_at(0, asio::buffer(buf), tuple_token);
  CHECK(empty == asiolite::errc::closed);
  CHECK(m == 0);
  // The connection closes with a blob open: the blob is closed with it.
  co_await db.async_close();
  auto [gone, k] = co_await moved.async_read_some_at(0, asio::buffer(buf), diag, tuple_token);
  CHECK(gone == asiolite::errc::closed);
  CHECK(k == 0);
  CHECK(test::contains(diag.message(), "not open"));
}

// Each coroutine writes its own row's value in 4 KB pieces, then reads it back.
asio::awaitable<void> own_row(asiolite::connection& db, int id, int& good) {
  asiolite::blob_options w;
  w.writable = true;
  auto b = co_await db.async_open_blob("files", "data", id, w);
  co_await fill_blob(b, 4096, id);
  const bool same = co_await holds_pattern(b, 3000, id);
  co_await b.async_close();
  if (same) ++good;
}

}  // namespace

TEST_CASE("blob: a dropped writable blob commits, and holds the write lock while open") {
  test::database d(files_schema);
  const std::string path = d.dir.db();
  test::run(d.ctx, dropped_blob_commits(d.db, path));
}

TEST_CASE("blob: after async_close, a move, or its connection's close, operations fail with errc::closed") {
  test::database d(files_schema);
  test::run(d.ctx, closed_blobs_say_so(d.db));
}

TEST_CASE("blob: 16 coroutines on 4 threads stream their own rows through one connection") {
  test::database d(files_schema);
  test::run(d.ctx, [](asiolite::connection& db) -> asio::awaitable<void> {
    for (int id = 1; id <= 16; ++id)
      co_await db.async_execute("INSERT INTO files (id, data) VALUES (?, zeroblob(?))", id, 50'000 + id);
  }(d.db));
  asio::strand<asio::io_context::executor_type> strand(d.ctx.get_executor());
  int good = 0;  // touched on the strand only
  for (int id = 1; id <= 16; ++id) asio::co_spawn(strand, own_row(d.db, id, good), asio::detached);
  test::run_on_threads(d.ctx, 4);
  CHECK(good == 16);
  test::run(d.ctx, [](asiolite::connection& db) -> asio::awaitable<void> {
    const auto total = co_await db.async_query_scalar<std::int64_t>("SELECT sum(length(data)) FROM files");
    CHECK(total == 16 * 50'000 + 136);
    co_await db.async_close();
  }(d.db));
}

TEST_CASE("blob: a cancelled async_read_at stops half way with operation_aborted, and the blob stays usable") {
  test::database d(files_schema);
  test::run(d.ctx, [](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("INSERT INTO files (id, data) VALUES (1, zeroblob(1000000))");
  }(d.db));
  auto b = test::run(d.ctx, [](asiolite::connection& db) -> asio::awaitable<asiolite::blob_handle> {
    co_return co_await db.async_open_blob("files", "data", 1);
  }(d.db));
  std::vector<std::byte> buf(1000000);
  asio::cancellation_signal cancel;
  asiolite::error_code ec;
  std::size_t n = 0;
  bool done = false;
  // Cancelled from inside the read, once its third 64 KB piece is in (the completion
  // condition runs between pieces): half way, whatever the timing.
  constexpr std::size_t piece = 65536;
  auto cancel_after_three = [&cancel](const asiolite::error_code& e, std::size_t transferred) -> std::size_t {
    if (e) return 0;
    if (transferred >= 3 * piece) cancel.emit(asio::cancellation_type::terminal);
    return piece;
  };
  asio::async_read_at(b, 0, asio::buffer(buf), cancel_after_three,
                      asio::bind_cancellation_slot(cancel.slot(), [&](asiolite::error_code e, std::size_t got) {
                        ec = e;
                        n = got;
                        done = true;
                      }));
  d.ctx.restart();
  d.ctx.run();
  CHECK(done);
  CHECK(ec == asio::error::operation_aborted);
  CHECK(n == 3 * piece);
  test::run(d.ctx, [](asiolite::blob_handle& h, asiolite::connection& db) -> asio::awaitable<void> {
    std::vector<std::byte> small(10);
    const std::size_t got = co_await asio::async_read_at(h, 999'990, asio::buffer(small), asio::use_awaitable);
    CHECK(got == 10);
    co_await h.async_close();
    co_await db.async_close();
  }(b, d.db));
}

namespace {

asio::awaitable<void> image_round_trip(asiolite::connection& db, std::string dir) {
  co_await db.async_execute_script(
      "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, b BLOB);"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
      "INSERT INTO t (name, b) SELECT 'row ' || i, randomblob(100) FROM n;");
  std::vector<std::byte> image = co_await db.async_serialize();
  CHECK(image.size() % 4096 == 0);
  const std::string header(reinterpret_cast<const char*>(image.data()), 15);
  CHECK(header == "SQLite format 3");
  CHECK(image[18] == std::byte{2});  // the file's image: a WAL database

  auto ex = co_await asio::this_coro::executor;
  auto mem = co_await asiolite::connection::async_open(ex, ":memory:");
  // The bytes are copied before the initiating function returns: the buffer may go.
  auto loading = mem.async_deserialize(image, asiolite::compat::as_tuple(asio::use_awaitable));
  const std::vector<std::byte> kept = std::exchange(image, std::vector<std::byte>(image.size(), std::byte{0x55}));
  auto [loaded] = co_await std::move(loading);
  CHECK_FALSE(loaded);
  const auto original = co_await db.async_query<test::item>("SELECT id, name FROM t ORDER BY id");
  const auto copy = co_await mem.async_query<test::item>("SELECT id, name FROM t ORDER BY id");
  REQUIRE(copy.size() == 500);
  CHECK(copy.back().name == original.back().name);
  const auto same_blobs = co_await mem.async_query_scalar<std::int64_t>("SELECT sum(length(b)) FROM t");
  CHECK(same_blobs == 500 * 100);
  // It grows as it is written (resizeable), and serializes again.
  co_await mem.async_execute(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
      "INSERT INTO t (name, b) SELECT 'more', zeroblob(1000) FROM n");
  const auto again = co_await mem.async_serialize();
  CHECK(again.size() > kept.size());

  // An attached database by name, and a name that is not there.
  co_await db.async_execute("ATTACH ? AS aux", dir + "/aux.db");
  co_await db.async_execute("CREATE TABLE aux.x (v)");
  co_await db.async_execute("INSERT INTO aux.x VALUES (42)");
  const auto aux = co_await db.async_serialize("aux");
  co_await mem.async_execute("ATTACH ':memory:' AS other");
  co_await mem.async_deserialize(aux, "other");
  const auto v = co_await mem.async_query_scalar<std::int64_t>("SELECT v FROM other.x");
  CHECK(v == 42);
  asiolite::diagnostics diag;
  auto [nope, none] = co_await db.async_serialize("nope", diag, tuple_token);
  CHECK(nope == asiolite::errc::error);
  CHECK(none.empty());
  CHECK(test::contains(diag.message(), "no database named nope"));

  // A database of no pages: no bytes, and no bytes load as an empty database.
  auto fresh = co_await asiolite::connection::async_open(ex, ":memory:");
  const auto nothing = co_await fresh.async_serialize();
  CHECK(nothing.empty());
  co_await mem.async_deserialize(nothing);
  const auto tables = co_await mem.async_query_scalar<std::int64_t>("SELECT count(*) FROM sqlite_schema");
  CHECK(tables == 0);
  co_await fresh.async_close();
  co_await mem.async_close();
}

asio::awaitable<void> not_a_database(asiolite::connection& mem) {
  co_await mem.async_execute("CREATE TABLE keep (v)");
  co_await mem.async_execute("INSERT INTO keep VALUES ('still here')");
  const auto good = co_await mem.async_serialize();
  asiolite::diagnostics diag;

  std::vector<std::byte> text(4096, std::byte{'x'});
  auto [garbage] = co_await mem.async_deserialize(text, diag, tuple_token);
  CHECK(garbage == asiolite::errc::notadb);
  CHECK(test::contains(diag.message(), "do not begin with SQLite's header"));

  std::vector<std::byte> torn(good.begin(), good.begin() + 1000);
  auto [partial] = co_await mem.async_deserialize(torn, diag, tuple_token);
  CHECK(partial == asiolite::errc::notadb);
  CHECK(test::contains(diag.message(), "not whole pages"));

  std::vector<std::byte> scrambled = good;  // the header intact, the schema page not
  for (std::size_t i = 100; i < scrambled.size(); ++i) scrambled[i] = std::byte{0xA5};
  auto [bad_page] = co_await mem.async_deserialize(scrambled, diag, tuple_token);
  CHECK(bad_page);
  CHECK(test::contains(diag.message(), "is unchanged"));

  std::vector<std::byte> odd_page = good;
  odd_page[16] = std::byte{0x03};  // a page size of 768 + ...: not a power of two
  auto [page_size] = co_await mem.async_deserialize(odd_page, diag, tuple_token);
  CHECK(page_size == asiolite::errc::notadb);

  const std::vector<std::byte> empty_name_holder = good;
  auto [nul] = co_await mem.async_deserialize(empty_name_holder, std::string_view("ma\0in", 5), diag, tuple_token);
  CHECK(nul == asiolite::errc::embedded_nul);

  // After all of it, the database is what it was.
  const auto kept = co_await mem.async_query_scalar<std::string>("SELECT v FROM keep");
  CHECK(kept == "still here");
  co_await mem.async_close();
}

}  // namespace

TEST_CASE("serialize: a WAL file database as bytes, loaded into an in-memory one, attached ones by name") {
  test::database d("");
  const std::string dir = d.dir.path().string();
  test::run(d.ctx, image_round_trip(d.db, dir));
}

TEST_CASE("deserialize: bytes that are not a database fail clearly and leave the database as it was") {
  asio::io_context ctx;
  auto mem = test::open(ctx, ":memory:");
  test::run(ctx, not_a_database(mem));
}

TEST_CASE("serialize: a pool serializes from a reader's snapshot while the writer holds a transaction") {
  test::temp_dir dir;
  asio::io_context ctx;
  test::run(ctx, [](std::string path) -> asio::awaitable<void> {
    auto p = co_await test::open_pool(path, 1);
    co_await p.writer().async_execute("CREATE TABLE t (v)");
    co_await p.writer().async_execute("INSERT INTO t VALUES (1)");
    auto tx = co_await p.writer().async_begin();
    co_await tx.async_execute("INSERT INTO t VALUES (2)");
    const auto image = co_await p.async_serialize();
    co_await tx.async_commit();
    auto mem = co_await asiolite::connection::async_open(co_await asio::this_coro::executor, ":memory:");
    co_await mem.async_deserialize(image);
    const auto rows = co_await mem.async_query_scalar<std::int64_t>("SELECT count(*) FROM t");
    CHECK(rows == 1);  // the committed state, not the writer's open transaction
    co_await mem.async_close();
    co_await p.async_close();
  }(dir.db()));
}
