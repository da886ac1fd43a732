// SQL functions and collations written in C++: a deterministic slug() used by a
// generated column and an index, a variadic join_nonempty(), a collation that sorts
// version strings by their numbers, an aggregate that joins a group's texts (also a
// window function), and what a failing function does to its statement. Then hooks: a
// cache that forgets the rows each committed transaction wrote, a commit filter that
// refuses commits while the catalogue is frozen, and a trace of the statements run.
#include <asiolite.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>

namespace {

// "Hello, World!" -> "hello-world"
std::string slug(std::string_view title) {
  std::string out;
  for (char c : title) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// Any number of arguments: the non-empty texts, joined by ", ".
std::string join_nonempty(asiolite::function_args args) {
  std::string out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].is_null()) continue;
    const auto text = args.get<std::string_view>(i);  // throws (fails the statement) if not text
    if (text.empty()) continue;
    if (!out.empty()) out += ", ";
    out += text;
  }
  return out;
}

// "1.10" after "1.9": compares the dot-separated numbers one by one.
int by_version(std::string_view a, std::string_view b) {
  auto next = [](std::string_view& s) {
    std::uint64_t n = 0;
    while (!s.empty() && s.front() != '.') {
      n = n * 10 + static_cast<std::uint64_t>(s.front() - '0');
      s.remove_prefix(1);
    }
    if (!s.empty()) s.remove_prefix(1);
    return n;
  };
  while (!a.empty() || !b.empty()) {
    const auto x = next(a), y = next(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// An aggregate's state: the texts of one group (or window frame), joined by " / " in
// the order the rows come. With inverse() and value() it is also a window function:
// inverse() drops the oldest text when a row leaves the frame.
struct path_of {
  std::deque<std::string> parts;
  void step(std::string_view part) { parts.emplace_back(part); }
  void inverse(std::string_view) { parts.pop_front(); }
  std::string value() const {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : " / ") + p;
    return out;
  }
  std::string finalize() const { return value(); }
};

asio::awaitable<void> run(std::string path) {
  auto ex = co_await asio::this_coro::executor;
  auto db = co_await asiolite::connection::async_open(ex, path);

  // Deterministic: SQLite may use it in a generated column and an index.
  co_await db.async_create_function("slug", &slug, asiolite::function_flags::deterministic);
  co_await db.async_create_function("join_nonempty", &join_nonempty);
  co_await db.async_create_collation("version", &by_version);
  co_await db.async_create_aggregate("path_of", [] { return path_of{}; });

  co_await db.async_execute_script(
      "CREATE TABLE releases(version TEXT, title TEXT, url TEXT GENERATED ALWAYS AS (slug(title)));"
      "CREATE INDEX releases_url ON releases(slug(title));");
  for (const char* v : {"1.9", "1.10", "1.2", "2.0"}) {
    const std::string title = "Release " + std::string(v) + ": faster, safer!";
    co_await db.async_execute("INSERT INTO releases(version, title) VALUES (?, ?)", v, title);
  }

  std::printf("releases, newest first:\n");
  const auto releases = co_await db.async_query<std::tuple<std::string, std::string>>(
      "SELECT version, url FROM releases ORDER BY version COLLATE version DESC");
  for (const auto& [version, url] : releases) std::printf("  %-5s %s\n", version.c_str(), url.c_str());

  const auto joined = co_await db.async_query_scalar<std::string>("SELECT join_nonempty('a', NULL, '', 'b', 'c')");
  std::printf("join_nonempty: %s\n", joined.c_str());

  // As an aggregate: every version, oldest first (the rows come in the subquery's
  // order). As a window: each release with the one before it.
  const auto all = co_await db.async_query_scalar<std::string>(
      "SELECT path_of(version) FROM (SELECT version FROM releases ORDER BY version COLLATE version)");
  std::printf("every version: %s\n", all.c_str());
  const auto pairs = co_await db.async_query<std::string>(
      "SELECT path_of(version) OVER (ORDER BY version COLLATE version ROWS 1 PRECEDING) FROM releases "
      "ORDER BY version COLLATE version");
  for (const auto& p : pairs) std::printf("  upgrade: %s\n", p.c_str());

  // A function that fails fails its statement, with a message naming it; the
  // connection goes on.
  try {
    co_await db.async_query_scalar<std::string>("SELECT join_nonempty('a', 42)");
  } catch (const asiolite::sqlite_error& e) {
    std::printf("as expected: %s\n", e.what());
  }

  // Hooks. Every transaction that ends comes to this executor (never the worker), with
  // the rows it wrote: a cache of urls by rowid forgets those a commit changed.
  std::map<std::int64_t, std::string> url_cache;
  for (const auto& [rowid, url] :
       co_await db.async_query<std::tuple<std::int64_t, std::string>>("SELECT rowid, url FROM releases"))
    url_cache[rowid] = url;
  // The events come to this executor on their own path, not with the completions: the
  // timer wakes the end of this function once both expected events have been handled.
  asio::steady_timer both_seen(ex, asio::steady_timer::time_point::max());
  int events = 0;
  auto forget_changed = [&url_cache, &events, &both_seen](const asiolite::transaction_event& e) {
    if (++events == 2) both_seen.cancel();
    const bool committed = e.outcome == asiolite::transaction_outcome::committed;
    std::printf("transaction %s, %zu row(s) written\n", committed ? "committed" : "rolled back", e.changes.size());
    if (!committed) return;
    for (const asiolite::change& c : e.changes)
      if (c.table == "releases") url_cache.erase(c.rowid);
  };
  auto watching = co_await db.async_watch_transactions(forget_changed);

  // A commit filter runs on the worker just before each commit: false turns it into a
  // rollback. Here, no commits while the catalogue is frozen.
  auto frozen = std::make_shared<std::atomic<bool>>(false);
  auto not_frozen = [frozen] { return !frozen->load(); };
  co_await db.async_set_commit_filter_on_worker(not_frozen);

  // A trace reports each statement once it has ended: its SQL, rows, changes, time
  // queued and running (with trace_options::threshold, only the slow ones).
  auto print_statement = [](const asiolite::statement_trace& t) {
    std::printf("statement: %.*s (%llu row(s) read, %lld written%s)\n", static_cast<int>(t.sql.size()), t.sql.data(),
                static_cast<unsigned long long>(t.rows), static_cast<long long>(t.changes), t.error ? ", failed" : "");
  };
  auto tracing = co_await db.async_trace(print_statement);

  co_await db.async_execute("UPDATE releases SET title = 'Release 2.0: the big one' WHERE version = '2.0'");
  frozen->store(true);
  try {
    co_await db.async_execute("DELETE FROM releases");
  } catch (const asiolite::sqlite_error& e) {
    std::printf("while frozen: %s\n", e.what());
  }
  const auto left = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM releases");
  std::printf("releases left: %lld\n", static_cast<long long>(left));

  tracing.unsubscribe();

  // The update committed, the delete was rolled back: wait for both events.
  if (events < 2) {
    asiolite::error_code woken;
    co_await both_seen.async_wait(asio::redirect_error(asio::use_awaitable, woken));
  }
  std::printf("cached urls: %zu of %lld\n", url_cache.size(), static_cast<long long>(left));
  co_await db.async_close();
}

}  // namespace

int main() {
  const auto path = (std::filesystem::temp_directory_path() / "asiolite_functions_and_hooks_example.db").string();
  std::filesystem::remove(path);
  asio::io_context ctx;
  std::exception_ptr failed;
  asio::co_spawn(ctx, run(path), [&](std::exception_ptr e) { failed = e; });
  ctx.run();
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  if (failed) {
    try {
      std::rethrow_exception(failed);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "functions_and_hooks: %s\n", e.what());
    }
    return 1;
  }
  return 0;
}
