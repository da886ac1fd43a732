// Many rows in, many rows out: a bulk insert in one hop, a prepared statement run many
// times, a cursor that streams a large result in batches, and your own code on the worker.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

struct reading {
  std::int64_t sensor;
  double value;
};

asio::awaitable<void> bulk(asiolite::connection& db) {
  // Bulk: one statement, every element of a range bound to it, in one hop. Tuples...
  const std::vector<std::tuple<std::int64_t, std::string>> sensors{{1, "north"}, {2, "south"}, {3, "east"}};
  auto added = co_await db.async_execute_many("INSERT INTO sensors(id, name) VALUES (?, ?)", sensors);
  std::printf("%lld sensors\n", static_cast<long long>(added.changes));

  // ... or plain aggregates. Inside a transaction, so that the rows commit together with
  // whatever else the transaction does.
  std::vector<reading> readings;
  for (int i = 0; i < 100000; ++i) readings.push_back({1 + i % 3, i * 0.25});
  auto tx = co_await db.async_begin();
  auto r = co_await tx.async_execute_many("INSERT INTO readings(sensor, value) VALUES (?, ?)", std::move(readings));
  co_await tx.async_commit();
  std::printf("%lld readings, last rowid %lld\n", static_cast<long long>(r.changes),
              static_cast<long long>(r.last_insert_rowid));

  // All or nothing: a failing element is named, and no element of the call is applied.
  const std::vector<std::tuple<std::int64_t, std::string>> clash{{4, "west"}, {5, "north"}};
  asiolite::diagnostics diag;
  auto [ec, failed] = co_await db.async_execute_many("INSERT INTO sensors(id, name) VALUES (?, ?)", clash, diag,
                                                     asiolite::compat::as_tuple(asio::use_awaitable));
  std::printf("expected failure at element %zu: %s\n", failed.failed_element.value_or(0), diag.message().c_str());
  auto sensor_count = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM sensors");
  if (sensor_count != 3) throw std::logic_error("a failed execute_many must apply nothing");

  // Views work too (text as std::string_view, blobs as std::span<const std::byte>): the
  // call copies their bytes into one buffer of its own before it returns, so what they
  // point into may change or go away as soon as the call has been made.
  std::string line = "up down";
  const std::vector<std::tuple<std::int64_t, std::string_view>> more{{6, std::string_view(line).substr(0, 2)},
                                                                      {7, std::string_view(line).substr(3)}};
  auto copied = co_await db.async_execute_many("INSERT INTO sensors(id, name) VALUES (?, ?)", more);
  line.clear();
  std::printf("%lld more sensors, named from views\n", static_cast<long long>(copied.changes));
}

asio::awaitable<void> prepared(asiolite::connection& db) {
  // A prepared statement: prepared once on the worker, run many times.
  auto by_name = co_await db.async_prepare("SELECT id FROM sensors WHERE name = ?");
  for (const char* name : {"north", "east", "nowhere"}) {
    auto id = co_await by_name.async_query_one<std::int64_t>(name);
    std::printf("%s -> %s\n", name, id ? std::to_string(*id).c_str() : "none");
  }
}

asio::awaitable<void> stream(asiolite::connection& db) {
  // A cursor: the rows arrive in batches (one hop each, the next one read ahead), so
  // memory stays bounded by the batch size however large the result.
  asiolite::cursor_options opts;  // named: see the g++ 12 note in the README
  opts.batch_size = 1000;
  auto cur = co_await db.async_cursor<reading>(opts, "SELECT sensor, value FROM readings ORDER BY rowid");
  double total = 0;
  std::int64_t rows = 0;
  while (auto one = co_await cur.async_next()) {
    total += one->value;
    ++rows;
  }
  std::printf("streamed %lld readings, sum %.2f\n", static_cast<long long>(rows), total);

  // Untyped rows, a batch at a time: the cheapest way through a large result.
  auto per_sensor = co_await db.async_cursor("SELECT sensor, count(*) AS n FROM readings GROUP BY sensor");
  for (;;) {
    asiolite::rows batch = co_await per_sensor.async_next_batch();
    if (batch.empty()) break;
    for (asiolite::row row : batch)
      std::printf("sensor %lld: %lld readings\n", static_cast<long long>(row.get<std::int64_t>("sensor")),
                  static_cast<long long>(row.get<std::int64_t>("n")));
  }
}

asio::awaitable<void> on_worker(asiolite::connection& db) {
  // Your own synchronous code on the worker thread, in one hop.
  auto above = co_await db.async_call([](asiolite::sync_handle& h) {
    auto count_above = h.prepare("SELECT count(*) FROM readings WHERE value > ?");
    std::vector<std::int64_t> out;
    for (double limit : {100.0, 10000.0, 20000.0}) out.push_back(count_above.query_scalar<std::int64_t>(limit));
    return out;
  });
  std::printf("above 100: %lld, above 10000: %lld, above 20000: %lld\n", static_cast<long long>(above[0]),
              static_cast<long long>(above[1]), static_cast<long long>(above[2]));
}

asio::awaitable<void> demo(std::string path) {
  auto ex = co_await asio::this_coro::executor;
  auto db = co_await asiolite::connection::async_open(ex, path);
  // Several statements, one hop.
  co_await db.async_execute_script(
      "CREATE TABLE sensors(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
      "CREATE TABLE readings(sensor INTEGER NOT NULL REFERENCES sensors(id), value REAL NOT NULL);");
  co_await bulk(db);
  co_await prepared(db);
  co_await stream(db);
  co_await on_worker(db);
  co_await db.async_close();
}

int main() {
  const auto path = (std::filesystem::temp_directory_path() / "asiolite-bulk-and-stream.db").string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  asio::io_context ctx;
  asio::co_spawn(ctx, demo(path), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ctx.run();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}
