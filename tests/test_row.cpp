// row.hpp and field_view.hpp: the rows of an untyped query, one row, one value.
#include "catch.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace {

// The contents of table `people`, as a test reads them back.
constexpr const char* people_schema =
    "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, score REAL, avatar BLOB);"
    "INSERT INTO people VALUES (1, 'ada', 'ada@example.com', 9.5, x'00ff10');"
    "INSERT INTO people VALUES (2, 'bob', NULL, NULL, NULL);"
    "INSERT INTO people VALUES (3, 'cy', 'cy@example.com', -1.25, x'');";

// Runs a query on a fresh database holding `people`, returns its rows (the connection is closed).
asiolite::rows query(const std::string& sql) {
  test::temp_dir dir;
  asio::io_context ctx;
  return test::run(ctx, [](std::string path, std::string statement) -> asio::awaitable<asiolite::rows> {
    auto ex = co_await asio::this_coro::executor;
    auto db = co_await asiolite::connection::async_open(ex, path);
    co_await db.async_execute_script(people_schema);
    asiolite::rows rows = co_await db.async_query(statement);
    co_await db.async_close();
    co_return rows;
  }(dir.db(), sql));
}

// The error code of the sqlite_error that `f` throws; an empty code if it throws nothing.
template <class F>
asiolite::error_code error_of(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const asiolite::sqlite_error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return {};
}

using test::contains;

struct row_person {
  std::int64_t id;
  std::string name;
  std::optional<std::string> email;
  std::optional<double> score;
  std::optional<asiolite::blob> avatar;
};

struct row_person_view {
  std::int64_t id;
  std::string_view name;
  asiolite::field_view email;
};

using test::bytes_of;

}  // namespace

// ---- column names

TEST_CASE("rows report their column names in select order, using aliases and expression text") {
  const auto rows = query("SELECT id, name AS who, id * 2, email FROM people ORDER BY id");
  CHECK(rows.column_count() == 4);
  const auto names = rows.column_names();
  REQUIRE(names.size() == 4);
  CHECK(names[0] == "id");
  CHECK(names[1] == "who");
  CHECK(names[2] == "id * 2");
  CHECK(names[3] == "email");
  REQUIRE(rows.size() == 3);
  const asiolite::row r = rows[1];
  CHECK(r.size() == 4);
  CHECK(r.column_count() == 4);
  CHECK(r.column_name(0) == "id");
  CHECK(r.column_name(1) == "who");
  CHECK(r.column_name(3) == "email");
  CHECK_THROWS_AS(r.column_name(4), std::out_of_range);
}

TEST_CASE("an empty result still carries its column names") {
  const auto rows = query("SELECT id, name AS who FROM people WHERE id > 100");
  CHECK(rows.empty());
  CHECK(rows.size() == 0);
  CHECK(rows.begin() == rows.end());
  CHECK(rows.column_count() == 2);
  REQUIRE(rows.column_names().size() == 2);
  CHECK(rows.column_names()[0] == "id");
  CHECK(rows.column_names()[1] == "who");
  CHECK(rows.as<std::tuple<std::int64_t, std::string>>().empty());
}

TEST_CASE("a statement that returns no columns gives empty rows with no column names") {
  const auto rows = query("UPDATE people SET score = 0 WHERE id = 1");
  CHECK(rows.empty());
  CHECK(rows.size() == 0);
  CHECK(rows.column_count() == 0);
}

// ---- iteration

TEST_CASE("rows iterate in result order, by range-for and as a random-access range") {
  const auto rows = query("SELECT id, name FROM people ORDER BY id DESC");
  REQUIRE(rows.size() == 3);
  CHECK_FALSE(rows.empty());

  std::vector<std::int64_t> ids;
  for (asiolite::row r : rows) ids.push_back(r.get<std::int64_t>(0));
  CHECK(ids == std::vector<std::int64_t>{3, 2, 1});

  CHECK(std::random_access_iterator<asiolite::rows::iterator>);
  CHECK(std::ranges::random_access_range<const asiolite::rows>);
  CHECK(std::ranges::sized_range<const asiolite::rows>);

  auto it = rows.begin();
  CHECK(rows.end() - rows.begin() == 3);
  CHECK(std::distance(rows.begin(), rows.end()) == 3);
  CHECK((*it).get<std::string>(1) == "cy");
  CHECK(it[2].get<std::string>(1) == "ada");
  CHECK((*(it + 1)).get<std::string>(1) == "bob");
  CHECK((*(1 + it)).get<std::string>(1) == "bob");
  ++it;
  CHECK((*it).get<std::int64_t>(0) == 2);
  auto old = it++;
  CHECK((*old).get<std::int64_t>(0) == 2);
  CHECK((*it).get<std::int64_t>(0) == 1);
  --it;
  CHECK((*it).get<std::int64_t>(0) == 2);
  it += 1;
  CHECK(it == rows.end() - 1);
  it -= 2;
  CHECK(it == rows.begin());
  CHECK(rows.begin() < rows.end());
  CHECK(rows.end() > rows.begin() + 2);

  // Algorithms see the same rows.
  std::vector<std::string> names;
  std::transform(rows.begin(), rows.end(), std::back_inserter(names),
                 [](asiolite::row r) { return r.get<std::string>("name"); });
  CHECK(names == std::vector<std::string>{"cy", "bob", "ada"});
  const auto bob = std::find_if(rows.begin(), rows.end(), [](asiolite::row r) { return r.get<int>("id") == 2; });
  CHECK(bob - rows.begin() == 1);
}

TEST_CASE("rows::at checks the row index, operator[] does not need to") {
  const auto rows = query("SELECT id FROM people ORDER BY id");
  REQUIRE(rows.size() == 3);
  CHECK(rows.at(0).get<int>(0) == 1);
  CHECK(rows.at(2).get<int>(0) == 3);
  CHECK(rows[1].get<int>(0) == 2);
  CHECK_THROWS_AS(rows.at(3), std::out_of_range);
  CHECK_THROWS_AS(rows.at(static_cast<std::size_t>(-1)), std::out_of_range);
}

TEST_CASE("many rows of varying sizes keep each value in its own place") {
  test::temp_dir dir;
  asio::io_context ctx;
  const auto rows = test::run(ctx, [](std::string path) -> asio::awaitable<asiolite::rows> {
    auto ex = co_await asio::this_coro::executor;
    auto db = co_await asiolite::connection::async_open(ex, path);
    co_return co_await db.async_query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999) "
        "SELECT i, replace(hex(zeroblob(i % 37)), '00', 'x'), CASE WHEN i % 5 = 0 THEN NULL ELSE zeroblob(i % 11) END, "
        "i * 0.5 "
        "FROM n");
  }(dir.db()));
  REQUIRE(rows.size() == 1000);
  std::size_t i = 0;
  bool all_match = true;
  for (asiolite::row r : rows) {
    const auto n = static_cast<std::int64_t>(i);
    const bool ok = r.get<std::int64_t>(0) == n && r.get<std::string_view>(1) == std::string(i % 37, 'x') &&
                    (i % 5 == 0 ? r.at(2).is_null() : r.get<asiolite::blob>(2) == asiolite::blob(i % 11)) &&
                    r.get<double>(3) == static_cast<double>(n) * 0.5;
    if (!ok) {
      all_match = false;
      FAIL_CHECK("row " << i << " does not hold its own values");
    }
    ++i;
  }
  CHECK(i == 1000);
  CHECK(all_match);
}

// ---- access by index and by name

TEST_CASE("row.get<T> reads a column by index or by name, converting by the value rules") {
  const auto rows = query("SELECT id, name, email, score, avatar FROM people ORDER BY id");
  REQUIRE(rows.size() == 3);
  const asiolite::row ada = rows[0];
  CHECK(ada.get<std::int64_t>(0) == 1);
  CHECK(ada.get<int>("id") == 1);
  CHECK(ada.get<std::uint8_t>("id") == 1);
  CHECK(ada.get<double>("id") == 1.0);
  CHECK(ada.get<std::string>(1) == "ada");
  CHECK(ada.get<std::string>("name") == "ada");
  CHECK(ada.get<std::string_view>("name") == "ada");
  CHECK(ada.get<std::optional<std::string>>("email") == "ada@example.com");
  CHECK(ada.get<double>("score") == 9.5);
  CHECK(ada.get<float>("score") == 9.5f);
  CHECK(ada.get<asiolite::blob>("avatar") == bytes_of({0x00, 0xff, 0x10}));
  CHECK(ada.get<std::vector<std::uint8_t>>(4) == std::vector<std::uint8_t>{0x00, 0xff, 0x10});
  const auto avatar = ada.get<asiolite::blob_view>("avatar");
  REQUIRE(avatar.size() == 3);
  CHECK(avatar[1] == std::byte{0xff});
  CHECK(ada.get<asiolite::field_view>("score").real() == 9.5);

  const asiolite::row bob = rows[1];
  CHECK(bob.get<std::optional<std::string>>("email") == std::nullopt);
  CHECK(bob.get<std::optional<double>>("score") == std::nullopt);
  CHECK(bob.get<std::optional<asiolite::blob>>("avatar") == std::nullopt);
  CHECK(bob.get<asiolite::field_view>("email").is_null());

  const asiolite::row cy = rows[2];
  CHECK(cy.get<double>(3) == -1.25);
  const auto empty_avatar = cy.get<std::optional<asiolite::blob>>("avatar");
  REQUIRE(empty_avatar.has_value());
  CHECK(empty_avatar->empty());
}

TEST_CASE("row.at and operator[] give field_views by index and by name") {
  const auto rows = query("SELECT id, name, email FROM people WHERE id = 1");
  REQUIRE(rows.size() == 1);
  const asiolite::row r = rows[0];
  CHECK(r.at(0).integer() == 1);
  CHECK(r[0].integer() == 1);
  CHECK(r.at("name").text() == "ada");
  CHECK(r["name"].text() == "ada");
  CHECK(r[std::string_view("email")].text() == "ada@example.com");
  CHECK(r[std::string("email")].type() == asiolite::column_type::text);
}

TEST_CASE("a column index past the end throws sqlite_error with SQLITE_RANGE") {
  const auto rows = query("SELECT id, name FROM people WHERE id = 1");
  REQUIRE(rows.size() == 1);
  const asiolite::row r = rows[0];

  std::string message;
  const auto ec = error_of([&] { static_cast<void>(r.at(2)); }, &message);
  CHECK(ec.value() == SQLITE_RANGE);
  CHECK(ec == asiolite::errc::range);
  CHECK(ec.category() == asiolite::error_category());
  CHECK(contains(message, "2"));
  CHECK(error_of([&] { static_cast<void>(r[5]); }).value() == SQLITE_RANGE);
  CHECK(error_of([&] { static_cast<void>(r.get<std::int64_t>(2)); }).value() == SQLITE_RANGE);
  CHECK(error_of([&] { static_cast<void>(r.get<std::optional<std::string>>(99)); }).value() == SQLITE_RANGE);
  CHECK(error_of([&] { static_cast<void>(r.at(static_cast<std::size_t>(-1))); }).value() == SQLITE_RANGE);
  CHECK_THROWS_AS(r.at(2), asiolite::sqlite_error);
  CHECK_THROWS_AS(r.at(2), std::system_error);
}

TEST_CASE("an unknown column name throws sqlite_error with SQLITE_RANGE naming the column") {
  const auto rows = query("SELECT id, name AS who FROM people WHERE id = 1");
  REQUIRE(rows.size() == 1);
  const asiolite::row r = rows[0];

  std::string message;
  const auto ec = error_of([&] { static_cast<void>(r.at("nope")); }, &message);
  CHECK(ec.value() == SQLITE_RANGE);
  CHECK(ec == asiolite::errc::range);
  CHECK(contains(message, "nope"));
  // The original column name is hidden by its alias; lookup is exact and case-sensitive.
  CHECK(error_of([&] { static_cast<void>(r["name"]); }).value() == SQLITE_RANGE);
  CHECK(error_of([&] { static_cast<void>(r.get<std::string>("WHO")); }).value() == SQLITE_RANGE);
  CHECK(error_of([&] { static_cast<void>(r.get<std::string>("")); }).value() == SQLITE_RANGE);
  CHECK(r.get<std::string>("who") == "ada");
}

TEST_CASE("by name, the first of several columns with the same name is found") {
  const auto rows = query("SELECT 1 AS a, 2 AS a, 3 AS b");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].get<int>("a") == 1);
  CHECK(rows[0].get<int>(1) == 2);
  CHECK(rows[0].get<int>("b") == 3);
}

TEST_CASE("column names with non-ASCII characters and spaces are found by name") {
  const auto rows = query("SELECT 7 AS \"na\xc3\xafve column\"");
  REQUIRE(rows.size() == 1);
  CHECK(rows.column_names()[0] == "na\xc3\xafve column");
  CHECK(rows[0].get<int>("na\xc3\xafve column") == 7);
}

TEST_CASE("row.get reports conversion failures as sqlite_error with the library's code") {
  const auto rows = query("SELECT name, email, id, score, CAST(x'ff' AS TEXT) AS bad FROM people WHERE id = 2");
  REQUIRE(rows.size() == 1);
  const asiolite::row r = rows[0];
  std::string message;
  CHECK(error_of([&] { static_cast<void>(r.get<int>("name")); }, &message) == asiolite::errc::type_mismatch);
  CHECK(contains(message, "name"));
  CHECK(contains(message, "TEXT"));
  CHECK(error_of([&] { static_cast<void>(r.get<std::string>("email")); }) == asiolite::errc::unexpected_null);
  CHECK(error_of([&] { static_cast<void>(r.get<double>(3)); }) == asiolite::errc::unexpected_null);
  CHECK(error_of([&] { static_cast<void>(r.get<bool>("id")); }) == asiolite::errc::out_of_range);
  CHECK(error_of([&] { static_cast<void>(r.get<std::string>("id")); }) == asiolite::errc::type_mismatch);
  CHECK(error_of([&] { static_cast<void>(r.get<std::string>("bad")); }) == asiolite::errc::invalid_utf8);
  CHECK(error_of([&] { static_cast<void>(r.get<std::string_view>("bad")); }) == asiolite::errc::invalid_utf8);
  // The raw view and the blob conversion still see the bytes.
  CHECK(r.at("bad").type() == asiolite::column_type::text);
  CHECK(r.at("bad").text() == "\xff");
  CHECK(r.get<asiolite::blob>("bad") == bytes_of({0xff}));
}

// ---- field_view

TEST_CASE("field_view reports each storage class with its raw value") {
  const auto rows = query("SELECT 42, -0.5, 'text', x'0102', NULL");
  REQUIRE(rows.size() == 1);
  const asiolite::row r = rows[0];

  const auto i = r.at(0);
  CHECK(i.type() == asiolite::column_type::integer);
  CHECK_FALSE(i.is_null());
  CHECK(i.integer() == 42);

  const auto d = r.at(1);
  CHECK(d.type() == asiolite::column_type::real);
  CHECK(d.real() == -0.5);

  const auto t = r.at(2);
  CHECK(t.type() == asiolite::column_type::text);
  CHECK(t.text() == "text");

  const auto b = r.at(3);
  CHECK(b.type() == asiolite::column_type::blob);
  REQUIRE(b.bytes().size() == 2);
  CHECK(b.bytes()[0] == std::byte{1});
  CHECK(b.bytes()[1] == std::byte{2});

  const auto n = r.at(4);
  CHECK(n.type() == asiolite::column_type::null);
  CHECK(n.is_null());
  CHECK(asiolite::field_view().is_null());

  CHECK(asiolite::to_string(i.type()) == "INTEGER");
  CHECK(asiolite::to_string(d.type()) == "REAL");
  CHECK(asiolite::to_string(t.type()) == "TEXT");
  CHECK(asiolite::to_string(b.type()) == "BLOB");
  CHECK(asiolite::to_string(n.type()) == "NULL");
  CHECK(static_cast<int>(asiolite::column_type::integer) == SQLITE_INTEGER);
  CHECK(static_cast<int>(asiolite::column_type::real) == SQLITE_FLOAT);
  CHECK(static_cast<int>(asiolite::column_type::text) == SQLITE_TEXT);
  CHECK(static_cast<int>(asiolite::column_type::blob) == SQLITE_BLOB);
  CHECK(static_cast<int>(asiolite::column_type::null) == SQLITE_NULL);
}

TEST_CASE("text and blob views keep embedded NUL bytes and stay valid while the rows live") {
  const auto rows =
      query("SELECT CAST(x'610062' AS TEXT), x'000100', '', x'' UNION ALL SELECT 'second', x'ff', 'z', x'00'");
  REQUIRE(rows.size() == 2);
  // Take every view first, then check them all: reading later rows must not move earlier bytes.
  const auto t0 = rows[0].at(0).text();
  const auto b0 = rows[0].at(1).bytes();
  const auto e0 = rows[0].get<std::string_view>(2);
  const auto eb0 = rows[0].get<asiolite::blob_view>(3);
  const auto t1 = rows[1].get<std::string_view>(0);
  const auto b1 = rows[1].get<asiolite::blob_view>(1);

  CHECK(t0 == std::string_view("a\0b", 3));
  CHECK(t0.size() == 3);
  REQUIRE(b0.size() == 3);
  CHECK(b0[0] == std::byte{0});
  CHECK(b0[1] == std::byte{1});
  CHECK(b0[2] == std::byte{0});
  CHECK(e0.empty());
  CHECK(rows[0].at(2).type() == asiolite::column_type::text);
  CHECK(eb0.empty());
  CHECK(rows[0].at(3).type() == asiolite::column_type::blob);
  CHECK(t1 == "second");
  REQUIRE(b1.size() == 1);
  CHECK(b1[0] == std::byte{0xff});
  CHECK(rows[0].get<std::string>(0) == std::string("a\0b", 3));
}

TEST_CASE("NULL reads as nullopt into std::optional and as a null field_view, and fails into anything else") {
  const auto rows = query("SELECT NULL AS n");
  REQUIRE(rows.size() == 1);
  const asiolite::row r = rows[0];
  CHECK(r.at("n").is_null());
  CHECK(r.get<std::optional<std::int64_t>>("n") == std::nullopt);
  CHECK(r.get<std::optional<bool>>("n") == std::nullopt);
  CHECK(r.get<std::optional<std::string_view>>("n") == std::nullopt);
  CHECK(r.get<std::optional<asiolite::blob_view>>("n") == std::nullopt);
  CHECK(error_of([&] { static_cast<void>(r.get<std::int64_t>("n")); }) == asiolite::errc::unexpected_null);
  CHECK(error_of([&] { static_cast<void>(r.get<asiolite::blob>("n")); }) == asiolite::errc::unexpected_null);
  CHECK(error_of([&] { static_cast<void>(r.get<std::string_view>("n")); }) == asiolite::errc::unexpected_null);
  CHECK(error_of([&] { static_cast<void>(r.as<std::tuple<std::int64_t>>()); }) == asiolite::errc::unexpected_null);
  CHECK(r.as<std::tuple<std::optional<std::int64_t>>>() == std::tuple<std::optional<std::int64_t>>{});
}

// ---- whole rows as records

TEST_CASE("row.as<T> reads a whole row into a tuple, a plain aggregate or a single field") {
  const auto rows = query("SELECT id, name, email, score, avatar FROM people ORDER BY id");
  REQUIRE(rows.size() == 3);

  using record = std::tuple<std::int64_t, std::string, std::optional<std::string>, std::optional<double>,
                            std::optional<asiolite::blob>>;
  CHECK(rows[0].as<record>() == record{1, "ada", "ada@example.com", 9.5, bytes_of({0x00, 0xff, 0x10})});
  CHECK(rows[1].as<record>() == record{2, "bob", std::nullopt, std::nullopt, std::nullopt});

  const auto cy = rows[2].as<row_person>();
  CHECK(cy.id == 3);
  CHECK(cy.name == "cy");
  CHECK(cy.email == "cy@example.com");
  CHECK(cy.score == -1.25);
  REQUIRE(cy.avatar.has_value());
  CHECK(cy.avatar->empty());

  const auto one = query("SELECT name FROM people WHERE id = 2");
  REQUIRE(one.size() == 1);
  CHECK(one[0].as<std::string>() == "bob");
}

TEST_CASE("rows.as<T> converts every row, in order") {
  const auto rows = query("SELECT id, name, email, score, avatar FROM people ORDER BY id");
  const auto people = rows.as<row_person>();
  REQUIRE(people.size() == 3);
  CHECK(people[0].name == "ada");
  CHECK(people[1].name == "bob");
  CHECK_FALSE(people[1].email.has_value());
  CHECK(people[2].name == "cy");

  const auto ids = query("SELECT id FROM people ORDER BY id").as<std::int64_t>();
  CHECK(ids == std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("row.as<T> may read views into the rows, which typed queries cannot") {
  const auto rows = query("SELECT id, name, email FROM people ORDER BY id");
  REQUIRE(rows.size() == 3);
  const auto bob = rows[1].as<row_person_view>();
  CHECK(bob.id == 2);
  CHECK(bob.name == "bob");
  CHECK(bob.email.is_null());
  const auto ada = rows[0].as<std::tuple<std::int64_t, std::string_view, asiolite::field_view>>();
  CHECK(std::get<1>(ada) == "ada");
  CHECK(std::get<2>(ada).text() == "ada@example.com");
}

TEST_CASE("row.as<T> with the wrong number of columns throws sqlite_error column_count") {
  const auto rows = query("SELECT id, name, email FROM people ORDER BY id");
  REQUIRE(rows.size() == 3);
  std::string message;
  CHECK(error_of([&] { static_cast<void>(rows[0].as<std::tuple<std::int64_t, std::string>>()); }, &message) ==
        asiolite::errc::column_count);
  CHECK(contains(message, "3"));
  CHECK(error_of([&] { static_cast<void>(rows[0].as<row_person>()); }) == asiolite::errc::column_count);
  CHECK(error_of([&] { static_cast<void>(rows[0].as<std::int64_t>()); }) == asiolite::errc::column_count);
  CHECK(error_of([&] { static_cast<void>(rows.as<std::tuple<std::int64_t, std::string>>()); }) ==
        asiolite::errc::column_count);
  // A type mismatch in any field fails the whole row.
  CHECK(error_of([&] { static_cast<void>(rows[1].as<std::tuple<std::int64_t, std::string, std::string>>()); }) ==
        asiolite::errc::unexpected_null);
}

// ---- ownership

TEST_CASE("rows own their values: a copy outlives the original and the connection") {
  std::optional<asiolite::rows> original = query("SELECT id, name, avatar FROM people ORDER BY id");
  asiolite::rows copy = *original;
  original.reset();
  REQUIRE(copy.size() == 3);
  CHECK(copy.column_names()[1] == "name");
  CHECK(copy[0].get<std::string_view>("name") == "ada");
  CHECK(copy[0].get<asiolite::blob>("avatar") == bytes_of({0x00, 0xff, 0x10}));
  CHECK(copy[2].get<std::string>(1) == "cy");

  const asiolite::rows moved = std::move(copy);
  CHECK(moved.size() == 3);
  CHECK(moved[1].get<std::string>("name") == "bob");
}
