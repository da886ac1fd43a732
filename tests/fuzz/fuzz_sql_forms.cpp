// libFuzzer target: arbitrary SQL text through every statement form of a connection.
// Input: byte 0 picks the form, byte 1 the arguments bound (none, an integer, a text,
// both), the rest is the SQL text (any bytes: invalid UTF-8, NULs). Each input must
// complete (an error is a fine result) and leave the connection answering; the
// database is reset after every input.
#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace {

struct record {
  std::optional<double> real;
  std::optional<asiolite::blob> bytes;
  std::optional<std::int64_t> integer;
};

using pair_row = std::tuple<std::optional<std::int64_t>, std::optional<std::string>>;

// Reads every cell of `rows` in every way a `row` offers; errors must be sqlite_errors.
void read_all(const asiolite::rows& rs) {
  fuzz::require(static_cast<std::size_t>(rs.end() - rs.begin()) == rs.size(), "rows: size and iterators disagree");
  std::size_t seen = 0;
  for (asiolite::row r : rs) {
    ++seen;
    fuzz::require(r.size() == rs.column_count(), "row: a row's size differs from the column count");
    for (std::size_t i = 0; i < r.size(); ++i) {
      const asiolite::field_view f = r[i];
      const std::string_view name = r.column_name(i);
      try {
        (void)r.get<std::optional<std::int64_t>>(i);
      } catch (const asiolite::sqlite_error&) {
      }
      try {
        (void)r.get<std::optional<std::string>>(i);
      } catch (const asiolite::sqlite_error&) {
      }
      try {
        (void)r.get<double>(i);
      } catch (const asiolite::sqlite_error&) {
      }
      try {
        (void)r.get<asiolite::blob_view>(i);
      } catch (const asiolite::sqlite_error&) {
      }
      // By name: the first column of that name, whose type may differ from this one's.
      try {
        (void)r.get<asiolite::field_view>(name);
      } catch (const asiolite::sqlite_error&) {
        fuzz::fail("row: a column's own name is not found");
      }
      if (f.type() == asiolite::column_type::text || f.type() == asiolite::column_type::blob)
        fuzz::require(r.get<asiolite::blob_view>(i).size() == f.bytes().size(), "row: blob_view size");
    }
    try {
      (void)r.as<pair_row>();
    } catch (const asiolite::sqlite_error&) {
    }
    try {
      (void)r.at(r.size());
      fuzz::fail("row: at(size()) did not throw");
    } catch (const asiolite::sqlite_error&) {
    }
  }
  fuzz::require(seen == rs.size(), "rows: iteration saw a different number of rows");
}

// Positional arguments picked by the input; most SQL has no parameter, which is then a
// parameter_count error, as it should be.
template <class Fn>
auto with_args(unsigned pick, Fn&& fn) {
  switch (pick % 4) {
    case 0:
      return fn();
    case 1:
      return fn(std::int64_t{7});
    case 2:
      return fn(std::string("x\xc3\xa9"));
    default:
      return fn(std::int64_t{-1}, std::string_view("two"));
  }
}

asio::awaitable<void> run_form(asiolite::connection& db, unsigned form, unsigned args, std::string sql) {
  asiolite::diagnostics diag;
  switch (form % 11) {
    case 0: {
      auto [ec, r] = co_await with_args(args, [&](auto... a) { return db.async_execute(sql, a..., diag, fuzz::tuple_token); });
      fuzz::check_error(ec, "async_execute");
      if (!ec) fuzz::require(r.changes >= 0 && r.total_changes >= r.changes, "execute_result counters");
      break;
    }
    case 1: {
      auto [ec, rs] = co_await with_args(args, [&](auto... a) { return db.async_query(sql, a..., fuzz::tuple_token); });
      fuzz::check_error(ec, "async_query<rows>");
      if (!ec) read_all(rs);
      break;
    }
    case 2: {
      auto [ec, v] = co_await with_args(args, [&](auto... a) { return db.async_query<pair_row>(sql, a..., fuzz::tuple_token); });
      fuzz::check_error(ec, "async_query<tuple>");
      break;
    }
    case 3: {
      auto [ec, v] = co_await with_args(args, [&](auto... a) { return db.async_query<record>(sql, a..., fuzz::tuple_token); });
      fuzz::check_error(ec, "async_query<aggregate>");
      break;
    }
    case 4: {
      auto [ec, v] = co_await with_args(
          args, [&](auto... a) { return db.async_query_one<std::optional<std::string>>(sql, a..., fuzz::tuple_token); });
      fuzz::check_error(ec, "async_query_one");
      break;
    }
    case 5: {
      auto [ec, v] = co_await with_args(
          args, [&](auto... a) { return db.async_query_scalar<std::int64_t>(sql, a..., diag, fuzz::tuple_token); });
      fuzz::check_error(ec, "async_query_scalar");
      auto [ec2, w] = co_await with_args(
          args, [&](auto... a) { return db.async_query_scalar<std::optional<asiolite::blob>>(sql, a..., fuzz::tuple_token); });
      fuzz::check_error(ec2, "async_query_scalar<optional>");
      fuzz::require(ec2 != asiolite::errc::no_rows, "async_query_scalar<optional>: no_rows");
      break;
    }
    case 6: {
      auto [ec] = co_await db.async_execute_script(sql, diag, fuzz::tuple_token);
      fuzz::check_error(ec, "async_execute_script");
      break;
    }
    case 7: {
      // Elements of one, two or three values, so that statements with that many
      // parameters run; the others fail with parameter_count.
      std::vector<std::tuple<std::int64_t, std::optional<std::string>>> two{{1, "a"}, {2, std::nullopt}, {3, "c"}};
      std::vector<std::int64_t> one{5, 6};
      std::vector<std::tuple<double, asiolite::blob, std::nullptr_t>> three{
          {0.5, asiolite::blob{std::byte{1}}, nullptr}};
      if (args % 3 == 0) {
        auto [ec, r] = co_await db.async_execute_many(sql, std::move(two), diag, fuzz::tuple_token);
        fuzz::check_error(ec, "async_execute_many");
        if (!ec) fuzz::require(r.elements == 3, "async_execute_many: not every element ran");
      } else if (args % 3 == 1) {
        auto [ec, r] = co_await db.async_execute_many(sql, one, fuzz::tuple_token);
        fuzz::check_error(ec, "async_execute_many");
        if (!ec) fuzz::require(r.elements == 2, "async_execute_many: not every element ran");
      } else {
        auto [ec, r] = co_await db.async_execute_many(sql, std::move(three), fuzz::tuple_token);
        fuzz::check_error(ec, "async_execute_many");
        if (!ec) fuzz::require(r.elements == 1, "async_execute_many: not every element ran");
      }
      break;
    }
    case 8: {
      // A cursor over rows, read a row at a time, at most 40 rows (a recursive query may
      // return rows without end, each batch well within the statement timeout).
      asiolite::cursor_options copts;
      copts.batch_size = 1 + args % 5;
      auto [ec, cur] = co_await with_args(args, [&](auto... a) { return db.async_cursor(copts, sql, a..., fuzz::tuple_token); });
      fuzz::check_error(ec, "async_cursor<rows>");
      if (ec) break;
      for (int i = 0; i < 40; ++i) {
        auto [ec2, r] = co_await cur.async_next(fuzz::tuple_token);
        fuzz::check_error(ec2, "cursor::async_next");
        if (ec2 || !r) break;
        for (std::size_t c = 0; c < r->size(); ++c) (void)(*r)[c].type();
      }
      break;
    }
    case 9: {
      // A typed cursor, by batches, dropped before its end.
      auto [ec, cur] = co_await with_args(args, [&](auto... a) { return db.async_cursor<pair_row>(sql, a..., fuzz::tuple_token); });
      fuzz::check_error(ec, "async_cursor<tuple>");
      if (ec) break;
      for (int i = 0; i < 5; ++i) {
        auto [ec2, batch] = co_await cur.async_next_batch(fuzz::tuple_token);
        fuzz::check_error(ec2, "cursor::async_next_batch");
        if (ec2 || batch.empty()) break;
      }
      break;
    }
    default: {
      // Prepared once, run in every form it has.
      // Not a structured binding: clang 14 cannot capture one in the lambdas below.
      auto prepared = co_await db.async_prepare(sql, diag, fuzz::tuple_token);
      const asiolite::error_code ec = std::get<0>(prepared);
      asiolite::prepared_statement& ps = std::get<1>(prepared);
      fuzz::check_error(ec, "async_prepare");
      if (ec) break;
      fuzz::require(!ps.sql().empty(), "prepared_statement: empty sql()");
      auto [e1, r1] = co_await with_args(args, [&](auto... a) { return ps.async_execute(a..., fuzz::tuple_token); });
      fuzz::check_error(e1, "prepared async_execute");
      auto [e2, r2] = co_await with_args(args, [&](auto... a) { return ps.async_query(a..., fuzz::tuple_token); });
      fuzz::check_error(e2, "prepared async_query");
      if (!e2) read_all(r2);
      auto [e3, r3] = co_await with_args(args, [&](auto... a) { return ps.async_query_one<pair_row>(a..., fuzz::tuple_token); });
      fuzz::check_error(e3, "prepared async_query_one");
      auto [e4, r4] =
          co_await with_args(args, [&](auto... a) { return ps.async_query_scalar<std::optional<double>>(a..., fuzz::tuple_token); });
      fuzz::check_error(e4, "prepared async_query_scalar");
      std::vector<std::int64_t> one{1, 2, 3};
      auto [e5, r5] = co_await ps.async_execute_many(one, fuzz::tuple_token);
      fuzz::check_error(e5, "prepared async_execute_many");
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  auto& h = fuzz::get();
  std::string sql(reinterpret_cast<const char*>(data) + 2, size - 2);
  fuzz::run(h, run_form(*h.db, data[0], data[1], std::move(sql)));
  fuzz::after_input(h, true);
  return 0;
}
