// Binding C++ arguments and decoding results, through async_execute and the queries:
// every bindable type, every way to name a parameter, exact round trips, typed results.
#include "catch.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

// Awaits first, then checks: keeps the suspension out of Catch's assertion machinery
// (whose handler would otherwise live across it).
#define AWAIT_CHECK_EQ(awaited, expected) \
  do {                                    \
    const auto got_ = co_await (awaited); \
    CHECK(got_ == (expected));            \
  } while (false)

namespace {

// A fresh database with a table v(x) whose column has no type: values keep their storage class.
struct values_db : test::database {
  values_db() : database("CREATE TABLE v(x)") {}
};

using test::tuple_token;

// Inserts one value as a new row of v; returns its rowid.
template <class V>
asio::awaitable<std::int64_t> put(asiolite::connection& db, V value) {
  const auto r = co_await db.async_execute("INSERT INTO v(x) VALUES (?)", std::move(value));
  co_return r.last_insert_rowid;
}

// Reads row `id` of v as T.
template <class T>
asio::awaitable<T> get(asiolite::connection& db, std::int64_t id) {
  co_return co_await db.async_query_scalar<T>("SELECT x FROM v WHERE rowid = ?", id);
}

// SQLite's storage class of row `id` of v: "integer", "real", "text", "blob" or "null".
asio::awaitable<std::string> type_of(asiolite::connection& db, std::int64_t id) {
  co_return co_await db.async_query_scalar<std::string>("SELECT typeof(x) FROM v WHERE rowid = ?", id);
}

// length() in bytes of row `id` of v (SQLite counts characters for text, so cast to blob).
asio::awaitable<std::int64_t> byte_length(asiolite::connection& db, std::int64_t id) {
  co_return co_await db.async_query_scalar<std::int64_t>("SELECT length(CAST(x AS BLOB)) FROM v WHERE rowid = ?", id);
}

using test::bytes_of;

// Stores min, 0 and max of T (capped at INT64_MAX), reads each back as T and as int64.
template <class T>
asio::awaitable<void> check_integer_extremes(asiolite::connection& db, const char* name) {
  T high = std::numeric_limits<T>::max();
  if constexpr (std::is_unsigned_v<T> && sizeof(T) == 8)
    high = static_cast<T>(std::numeric_limits<std::int64_t>::max());
  for (T value : {std::numeric_limits<T>::min(), T{0}, T{1}, high}) {
    const auto id = co_await put(db, value);
    const auto type = co_await type_of(db, id);
    const auto back = co_await get<T>(db, id);
    const auto wide = co_await get<std::int64_t>(db, id);
    INFO(name << " value " << std::to_string(value));
    CHECK(type == "integer");
    CHECK(back == value);
    if constexpr (std::is_signed_v<T>)
      CHECK(wide == static_cast<std::int64_t>(value));
    else
      CHECK(static_cast<std::uint64_t>(wide) == static_cast<std::uint64_t>(value));
  }
}

}  // namespace

// ---- binding, type by type

TEST_CASE("bool binds as INTEGER 1 or 0 and reads back as bool and as integer") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto yes = co_await put(db, true);
    const auto no = co_await put(db, false);
    AWAIT_CHECK_EQ(type_of(db, yes), "integer");
    AWAIT_CHECK_EQ(get<std::int64_t>(db, yes), 1);
    AWAIT_CHECK_EQ(get<std::int64_t>(db, no), 0);
    AWAIT_CHECK_EQ(get<bool>(db, yes), true);
    AWAIT_CHECK_EQ(get<bool>(db, no), false);
  });
}

TEST_CASE("every integer width, signed and unsigned, round-trips its extremes exactly as INTEGER") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await check_integer_extremes<std::int8_t>(db, "std::int8_t");
    co_await check_integer_extremes<std::uint8_t>(db, "std::uint8_t");
    co_await check_integer_extremes<std::int16_t>(db, "std::int16_t");
    co_await check_integer_extremes<std::uint16_t>(db, "std::uint16_t");
    co_await check_integer_extremes<std::int32_t>(db, "std::int32_t");
    co_await check_integer_extremes<std::uint32_t>(db, "std::uint32_t");
    co_await check_integer_extremes<std::int64_t>(db, "std::int64_t");
    co_await check_integer_extremes<std::uint64_t>(db, "std::uint64_t");
    co_await check_integer_extremes<short>(db, "short");
    co_await check_integer_extremes<long>(db, "long");
    co_await check_integer_extremes<long long>(db, "long long");
    co_await check_integer_extremes<unsigned long>(db, "unsigned long");
    co_await check_integer_extremes<unsigned long long>(db, "unsigned long long");
  });
}

TEST_CASE("int64 minimum and maximum are stored as those exact integers, not rounded through double") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto lo = co_await put(db, std::numeric_limits<std::int64_t>::min());
    const auto hi = co_await put(db, std::numeric_limits<std::int64_t>::max());
    // SQLite's own view of the values, as text, shows no rounding.
    const auto lo_text =
        co_await db.async_query_scalar<std::string>("SELECT CAST(x AS TEXT) FROM v WHERE rowid = ?", lo);
    const auto hi_text =
        co_await db.async_query_scalar<std::string>("SELECT CAST(x AS TEXT) FROM v WHERE rowid = ?", hi);
    CHECK(lo_text == "-9223372036854775808");
    CHECK(hi_text == "9223372036854775807");
    const auto is_max =
        co_await db.async_query_scalar<bool>("SELECT x = 9223372036854775807 FROM v WHERE rowid = ?", hi);
    CHECK(is_max);
    // And an unsigned 64-bit argument equal to INT64_MAX is accepted.
    const auto u = co_await put(db, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    AWAIT_CHECK_EQ(get<std::uint64_t>(db, u), 9223372036854775807ull);
  });
}

TEST_CASE("doubles round-trip bit for bit, including extremes, denormals and infinities") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const double values[] = {0.1,
                             -2.5,
                             1.0 / 3.0,
                             3.141592653589793,
                             1e-300,
                             std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::lowest(),
                             std::numeric_limits<double>::min(),
                             std::numeric_limits<double>::denorm_min(),
                             std::numeric_limits<double>::epsilon(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             9007199254740993.0};
    for (double value : values) {
      const auto id = co_await put(db, value);
      const auto type = co_await type_of(db, id);
      const auto back = co_await get<double>(db, id);
      INFO("value " << value);
      CHECK(type == "real");
      CHECK(std::memcmp(&back, &value, sizeof value) == 0);
    }
  });
}

TEST_CASE("float binds as REAL and reads back as the same float, and as its exact double") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    for (float value : {0.1f, -3.75f, 1e30f, std::numeric_limits<float>::max(),
                        std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::infinity()}) {
      const auto id = co_await put(db, value);
      const auto type = co_await type_of(db, id);
      const auto as_float = co_await get<float>(db, id);
      const auto as_double = co_await get<double>(db, id);
      INFO("value " << value);
      CHECK(type == "real");
      CHECK(as_float == value);
      CHECK(as_double == static_cast<double>(value));
    }
  });
}

TEST_CASE("every text argument kind binds as TEXT with the same bytes") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const std::string s = "std::string";
    const std::string_view sv = "string_view";
    const char* cp = "const char*";
    char mutable_array[] = "char array";
    char* p = mutable_array;

    const auto id_s = co_await put(db, s);
    const auto id_sv = co_await put(db, sv);
    const auto id_cp = co_await put(db, cp);
    const auto id_p = co_await put(db, p);
    // Arrays and string literals straight to async_execute (not decayed by a helper).
    const auto r_array = co_await db.async_execute("INSERT INTO v(x) VALUES (?)", mutable_array);
    const auto r_literal = co_await db.async_execute("INSERT INTO v(x) VALUES (?)", "literal");

    AWAIT_CHECK_EQ(get<std::string>(db, id_s), "std::string");
    AWAIT_CHECK_EQ(get<std::string>(db, id_sv), "string_view");
    AWAIT_CHECK_EQ(get<std::string>(db, id_cp), "const char*");
    AWAIT_CHECK_EQ(get<std::string>(db, id_p), "char array");
    AWAIT_CHECK_EQ(get<std::string>(db, r_array.last_insert_rowid), "char array");
    AWAIT_CHECK_EQ(get<std::string>(db, r_literal.last_insert_rowid), "literal");
    const auto types = co_await db.async_query<std::string>("SELECT DISTINCT typeof(x) FROM v");
    CHECK(types == std::vector<std::string>{"text"});
    const auto lengths = co_await db.async_query<std::int64_t>("SELECT length(x) FROM v ORDER BY rowid");
    CHECK(lengths == std::vector<std::int64_t>{11, 11, 11, 10, 10, 7});
  });
}

TEST_CASE("UTF-8 text with multi-byte characters round-trips unchanged") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const std::string text = "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8e\x89";  // "héllo 世界 🎉"
    const auto id = co_await put(db, text);
    AWAIT_CHECK_EQ(get<std::string>(db, id), text);
    // SQLite sees characters, not bytes: the text was bound as UTF-8.
    const auto chars = co_await db.async_query_scalar<std::int64_t>("SELECT length(x) FROM v WHERE rowid = ?", id);
    CHECK(chars == 10);
  });
}

TEST_CASE("a null const char* binds NULL, an empty string binds empty TEXT") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const char* null_text = nullptr;
    const auto id_null = co_await put(db, null_text);
    AWAIT_CHECK_EQ(type_of(db, id_null), "null");
    AWAIT_CHECK_EQ(get<std::optional<std::string>>(db, id_null), std::nullopt);

    char* null_mutable = nullptr;
    const auto id_null2 = co_await put(db, null_mutable);
    AWAIT_CHECK_EQ(type_of(db, id_null2), "null");

    const auto id_empty_string = co_await put(db, std::string());
    const auto id_empty_view = co_await put(db, std::string_view());  // data() is a null pointer
    const auto id_empty_cstr = co_await put(db, "");
    for (auto id : {id_empty_string, id_empty_view, id_empty_cstr}) {
      const auto type = co_await type_of(db, id);
      const auto value = co_await get<std::optional<std::string>>(db, id);
      INFO("rowid " << id);
      CHECK(type == "text");
      CHECK(value == std::string());
    }
  });
}

TEST_CASE("every blob argument kind binds as BLOB with the same bytes") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const asiolite::blob expected = bytes_of({0, 1, 0x7f, 0x80, 0xff, 0});
    std::vector<std::uint8_t> u8{0, 1, 0x7f, 0x80, 0xff, 0};
    asiolite::blob mutable_bytes = expected;

    const auto id_blob = co_await put(db, expected);
    const auto id_u8 = co_await put(db, u8);
    const auto id_view = co_await put(db, std::span<const std::byte>(expected));
    const auto id_blob_view = co_await put(db, asiolite::blob_view(expected));
    const auto id_span = co_await put(db, std::span<std::byte>(mutable_bytes));
    const auto id_u8_span = co_await put(db, std::span<const std::uint8_t>(u8));
    const auto id_u8_mspan = co_await put(db, std::span<std::uint8_t>(u8));

    for (auto id : {id_blob, id_u8, id_view, id_blob_view, id_span, id_u8_span, id_u8_mspan}) {
      const auto type = co_await type_of(db, id);
      const auto as_blob = co_await get<asiolite::blob>(db, id);
      const auto as_u8 = co_await get<std::vector<std::uint8_t>>(db, id);
      INFO("rowid " << id);
      CHECK(type == "blob");
      CHECK(as_blob == expected);
      CHECK(as_u8 == u8);
    }
  });
}

TEST_CASE("an empty blob binds as a zero-length BLOB, never as NULL") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const asiolite::blob empty;
    const std::vector<std::uint8_t> empty_u8;
    const std::optional<asiolite::blob> empty_optional = asiolite::blob();
    const auto id1 = co_await put(db, empty);
    const auto id2 = co_await put(db, empty_u8);
    const auto id3 = co_await put(db, asiolite::blob_view());  // null data pointer
    const auto id4 = co_await put(db, empty_optional);
    for (auto id : {id1, id2, id3, id4}) {
      const auto type = co_await type_of(db, id);
      const auto len = co_await byte_length(db, id);
      const auto value = co_await get<std::optional<asiolite::blob>>(db, id);
      INFO("rowid " << id);
      CHECK(type == "blob");
      CHECK(len == 0);
      REQUIRE(value.has_value());
      CHECK(value->empty());
    }
    // x IS NULL must not match any of them.
    const auto nulls = co_await db.async_query_scalar<std::int64_t>("SELECT count(*) FROM v WHERE x IS NULL");
    CHECK(nulls == 0);
  });
}

TEST_CASE("nullptr, std::nullopt and an empty std::optional bind NULL, a full optional binds its value") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    std::vector<std::int64_t> ids_null;
    ids_null.push_back(co_await put(db, nullptr));
    ids_null.push_back(co_await put(db, std::nullopt));
    ids_null.push_back(co_await put(db, std::optional<int>()));
    ids_null.push_back(co_await put(db, std::optional<double>()));
    ids_null.push_back(co_await put(db, std::optional<std::string>()));
    ids_null.push_back(co_await put(db, std::optional<std::string_view>()));
    ids_null.push_back(co_await put(db, std::optional<asiolite::blob>()));
    ids_null.push_back(co_await put(db, std::optional<bool>()));
    for (auto id : ids_null) {
      const auto type = co_await type_of(db, id);
      INFO("rowid " << id);
      CHECK(type == "null");
    }

    const auto i = co_await put(db, std::optional<int>(7));
    const auto d = co_await put(db, std::optional<double>(2.5));
    const auto s = co_await put(db, std::optional<std::string>("text"));
    const auto sv = co_await put(db, std::optional<std::string_view>("view"));
    const std::optional<asiolite::blob> some_bytes = bytes_of({1, 2});
    const auto b = co_await put(db, some_bytes);
    const auto yes = co_await put(db, std::optional<bool>(true));
    AWAIT_CHECK_EQ(type_of(db, i), "integer");
    AWAIT_CHECK_EQ(get<int>(db, i), 7);
    AWAIT_CHECK_EQ(type_of(db, d), "real");
    AWAIT_CHECK_EQ(get<double>(db, d), 2.5);
    AWAIT_CHECK_EQ(get<std::string>(db, s), "text");
    AWAIT_CHECK_EQ(get<std::string>(db, sv), "view");
    AWAIT_CHECK_EQ(type_of(db, b), "blob");
    AWAIT_CHECK_EQ(get<asiolite::blob>(db, b), bytes_of({1, 2}));
    AWAIT_CHECK_EQ(get<bool>(db, yes), true);
  });
}

TEST_CASE("text and blobs with embedded NUL bytes round-trip whole") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const std::string text("a\0b\0\0c", 6);
    const asiolite::blob bytes = bytes_of({0, 0, 'x', 0, 0xff, 0});
    const auto id_text = co_await put(db, text);
    const auto id_view = co_await put(db, std::string_view(text));
    const auto id_blob = co_await put(db, bytes);

    AWAIT_CHECK_EQ(type_of(db, id_text), "text");
    AWAIT_CHECK_EQ(byte_length(db, id_text), 6);
    AWAIT_CHECK_EQ(get<std::string>(db, id_text), text);
    AWAIT_CHECK_EQ(get<std::string>(db, id_view), text);
    AWAIT_CHECK_EQ(byte_length(db, id_blob), 6);
    AWAIT_CHECK_EQ(get<asiolite::blob>(db, id_blob), bytes);

    const asiolite::rows rows = co_await db.async_query("SELECT x FROM v WHERE rowid = ?", id_text);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].at(0).text() == std::string_view(text));
  });
}

TEST_CASE("a 1 MiB blob and a 1 MiB text round-trip byte for byte") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    asiolite::blob big(1 << 20);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>((i * 131 + i / 251) & 0xff);
    std::string big_text(1 << 20, 'a');
    for (std::size_t i = 0; i < big_text.size(); ++i) big_text[i] = static_cast<char>('a' + i % 26);

    const auto id_blob = co_await put(db, big);
    const auto id_text = co_await put(db, big_text);
    AWAIT_CHECK_EQ(byte_length(db, id_blob), (1 << 20));
    const auto back = co_await get<asiolite::blob>(db, id_blob);
    CHECK(back == big);
    const auto back_text = co_await get<std::string>(db, id_text);
    CHECK(back_text == big_text);

    const asiolite::rows rows = co_await db.async_query("SELECT x FROM v ORDER BY rowid");
    REQUIRE(rows.size() == 2);
    const auto view = rows[0].get<asiolite::blob_view>(0);
    CHECK(view.size() == big.size());
    CHECK(std::equal(view.begin(), view.end(), big.begin(), big.end()));
    CHECK(rows[1].get<std::string_view>(0) == big_text);
  });
}

TEST_CASE("view arguments are copied when the operation is created, so the caller may reuse the buffer") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    std::string text = "original";
    asiolite::blob bytes = bytes_of({1, 2, 3});
    auto op = db.async_execute("INSERT INTO v(x) VALUES (?), (?)", std::string_view(text), asiolite::blob_view(bytes));
    text.assign("CHANGED!");
    bytes.assign(3, std::byte{9});
    co_await std::move(op);
    const asiolite::rows rows = co_await db.async_query("SELECT x FROM v ORDER BY rowid");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].get<std::string>(0) == "original");
    CHECK(rows[1].get<asiolite::blob>(0) == bytes_of({1, 2, 3}));
  });
}

// ---- parameters: positions and names

TEST_CASE("positional ? parameters take the arguments in order") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto r = co_await db.async_execute("INSERT INTO v(x) VALUES (?), (?), (?)", 1, "two", 3.5);
    CHECK(r.changes == 3);
    const asiolite::rows rows = co_await db.async_query("SELECT x FROM v ORDER BY rowid");
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].get<int>(0) == 1);
    CHECK(rows[1].get<std::string>(0) == "two");
    CHECK(rows[2].get<double>(0) == 3.5);

    using triple = std::tuple<std::int64_t, std::string, std::int64_t>;
    const auto one = co_await db.async_query_one<triple>("SELECT ?, ?, ?", 10, "mid", -10);
    CHECK(one == triple{10, "mid", -10});
  });
}

TEST_CASE("?NNN parameters bind argument NNN, whatever their order and repetition in the SQL") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto reversed = co_await db.async_query_scalar<std::string>("SELECT ?2 || ?1", "a", "b");
    CHECK(reversed == "ba");
    const auto repeated = co_await db.async_query_scalar<std::int64_t>("SELECT ?1 * 100 + ?1", 7);
    CHECK(repeated == 707);
    // ?3 alone makes a statement with three parameters: every one needs an argument.
    const auto third = co_await db.async_query_scalar<std::string>("SELECT ?3", "first", "second", "third");
    CHECK(third == "third");
  });
}

TEST_CASE("named(\"name\", v) binds :name, @name and $name, with or without the prefix") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto colon = co_await db.async_query_scalar<int>("SELECT :n", asiolite::named("n", 1));
    const auto colon_prefixed = co_await db.async_query_scalar<int>("SELECT :n", asiolite::named(":n", 2));
    const auto at = co_await db.async_query_scalar<int>("SELECT @n", asiolite::named("n", 3));
    const auto at_prefixed = co_await db.async_query_scalar<int>("SELECT @n", asiolite::named("@n", 4));
    const auto dollar = co_await db.async_query_scalar<int>("SELECT $n", asiolite::named("n", 5));
    const auto dollar_prefixed = co_await db.async_query_scalar<int>("SELECT $n", asiolite::named("$n", 6));
    CHECK(colon == 1);
    CHECK(colon_prefixed == 2);
    CHECK(at == 3);
    CHECK(at_prefixed == 4);
    CHECK(dollar == 5);
    CHECK(dollar_prefixed == 6);
  });
}

TEST_CASE("named arguments may come in any order, and a name used twice in the SQL takes one argument") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    using pair = std::tuple<std::string, std::int64_t>;
    const auto one = co_await db.async_query_one<pair>("SELECT :name, :age", asiolite::named("age", 36),
                                                       asiolite::named("name", "ada"));
    CHECK(one == pair{"ada", 36});
    const auto twice = co_await db.async_query_scalar<std::int64_t>("SELECT :a + :a * 10", asiolite::named("a", 4));
    CHECK(twice == 44);
    // A prefixed name only matches that prefix: :x and @x are different parameters.
    const auto both = co_await db.async_query_one<std::tuple<int, int>>("SELECT :x, @x", asiolite::named("@x", 2),
                                                                        asiolite::named(":x", 1));
    CHECK(both == std::tuple<int, int>{1, 2});
    // Unprefixed, ':' is tried before '@'.
    const auto first = co_await db.async_query_one<std::tuple<int, int>>("SELECT :x, @x", asiolite::named("x", 1),
                                                                         asiolite::named("@x", 2));
    CHECK(first == std::tuple<int, int>{1, 2});
  });
}

TEST_CASE("named arguments accept every bindable type, including NULLs, optionals and blobs") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const std::string owned = "owned";
    const asiolite::blob dead = bytes_of({0xde, 0xad});
    const auto r = co_await db.async_execute(
        "INSERT INTO v(x) VALUES (:a), (:b), (:c), (:d), (:e), (:f), (:g)", asiolite::named("a", owned),
        asiolite::named("b", std::string_view("view")), asiolite::named("c", nullptr),
        asiolite::named("d", std::optional<int>()), asiolite::named("e", std::optional<int>(5)),
        asiolite::named("f", dead), asiolite::named("g", 1.25));
    CHECK(r.changes == 7);
    const asiolite::rows rows = co_await db.async_query("SELECT x, typeof(x) FROM v ORDER BY rowid");
    REQUIRE(rows.size() == 7);
    CHECK(rows[0].get<std::string>(0) == "owned");
    CHECK(rows[1].get<std::string>(0) == "view");
    CHECK(rows[2].get<std::string>(1) == "null");
    CHECK(rows[3].get<std::string>(1) == "null");
    CHECK(rows[4].get<int>(0) == 5);
    CHECK(rows[5].get<asiolite::blob>(0) == bytes_of({0xde, 0xad}));
    CHECK(rows[6].get<double>(0) == 1.25);
  });
}

TEST_CASE("positional arguments fill ?1, ?2, ... in order, alongside named ones") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    using triple = std::tuple<std::string, std::string, std::string>;
    const auto r1 =
        co_await db.async_query_one<triple>("SELECT ?1, ?2, :tail", "one", "two", asiolite::named("tail", "three"));
    CHECK(r1 == triple{"one", "two", "three"});
    // The named argument may come first: positions count positional arguments only.
    const auto r2 =
        co_await db.async_query_one<triple>("SELECT ?1, ?2, :tail", asiolite::named("tail", "three"), "one", "two");
    CHECK(r2 == triple{"one", "two", "three"});
  });
}

TEST_CASE("statements with more than 64 parameters bind every one, by position and by name") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    // "SELECT ?65 + ?1 * 1000 + :x * 1000000": 65 positional parameters, then :x as the 66th.
    auto run = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return db.async_query_scalar<std::int64_t>("SELECT ?65 + ?1 * 1000 + :x * 1000000",
                                                 static_cast<std::int64_t>(I + 1)..., asiolite::named("x", 7));
    };
    auto op = run(std::make_index_sequence<65>{});
    const auto v = co_await std::move(op);
    CHECK(v == 7001065);
  });
}

// ---- decoding into typed results

TEST_CASE("async_query<T> reads every row as a scalar, a tuple or a plain aggregate") {
  struct person {
    std::int64_t id;
    std::string name;
    std::optional<std::string> email;
    std::optional<double> score;
    asiolite::blob avatar;
    bool active;
  };
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute_script(
        "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT, email TEXT, score REAL, avatar BLOB, active INTEGER);"
        "INSERT INTO p VALUES (1, 'ada', 'ada@example.com', 9.5, x'0102', 1);"
        "INSERT INTO p VALUES (2, 'bob', NULL, NULL, x'', 0);");

    const auto ids = co_await db.async_query<std::int64_t>("SELECT id FROM p ORDER BY id");
    CHECK(ids == std::vector<std::int64_t>{1, 2});

    const auto names = co_await db.async_query<std::optional<std::string>>("SELECT email FROM p ORDER BY id");
    CHECK(names == std::vector<std::optional<std::string>>{"ada@example.com", std::nullopt});

    using record = std::tuple<std::int64_t, std::string, std::optional<std::string>, std::optional<double>>;
    const auto tuples = co_await db.async_query<record>("SELECT id, name, email, score FROM p ORDER BY id");
    REQUIRE(tuples.size() == 2);
    CHECK(tuples[0] == record{1, "ada", "ada@example.com", 9.5});
    CHECK(tuples[1] == record{2, "bob", std::nullopt, std::nullopt});

    const auto people =
        co_await db.async_query<person>("SELECT id, name, email, score, avatar, active FROM p ORDER BY id");
    REQUIRE(people.size() == 2);
    CHECK(people[0].id == 1);
    CHECK(people[0].name == "ada");
    CHECK(people[0].email == "ada@example.com");
    CHECK(people[0].score == 9.5);
    CHECK(people[0].avatar == bytes_of({1, 2}));
    CHECK(people[0].active);
    CHECK(people[1].id == 2);
    CHECK(people[1].name == "bob");
    CHECK_FALSE(people[1].email.has_value());
    CHECK_FALSE(people[1].score.has_value());
    CHECK(people[1].avatar.empty());
    CHECK_FALSE(people[1].active);

    const auto none = co_await db.async_query<person>("SELECT id, name, email, score, avatar, active FROM p WHERE 0");
    CHECK(none.empty());
  });
}

TEST_CASE("async_query_one gives nullopt for no row, the row for one, and too_many_rows for two") {
  struct item {
    std::int64_t id;
    std::optional<std::string> label;
  };
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    co_await db.async_execute("INSERT INTO v(x) VALUES (1), (2)");
    const auto none = co_await db.async_query_one<std::int64_t>("SELECT x FROM v WHERE x > 5");
    CHECK_FALSE(none.has_value());
    const auto one = co_await db.async_query_one<std::int64_t>("SELECT x FROM v WHERE x = ?", 2);
    CHECK(one == 2);
    const auto agg = co_await db.async_query_one<item>("SELECT x, NULL FROM v WHERE x = 1");
    REQUIRE(agg.has_value());
    CHECK(agg->id == 1);
    CHECK_FALSE(agg->label.has_value());

    auto [ec, two] = co_await db.async_query_one<std::int64_t>("SELECT x FROM v", tuple_token);
    CHECK(ec == asiolite::errc::too_many_rows);
    CHECK(ec.value() == static_cast<int>(asiolite::errc::too_many_rows));
    CHECK_FALSE(two.has_value());
  });
}

TEST_CASE("async_query_scalar gives the value, no_rows for an empty result, nullopt into std::optional") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto n = co_await db.async_query_scalar<std::int64_t>("SELECT 6 * 7");
    CHECK(n == 42);

    auto [ec, v] = co_await db.async_query_scalar<std::int64_t>("SELECT x FROM v", tuple_token);
    CHECK(ec == asiolite::errc::no_rows);

    const auto missing = co_await db.async_query_scalar<std::optional<std::int64_t>>("SELECT x FROM v");
    CHECK_FALSE(missing.has_value());
    const auto null_value = co_await db.async_query_scalar<std::optional<std::int64_t>>("SELECT NULL");
    CHECK_FALSE(null_value.has_value());
    const auto present = co_await db.async_query_scalar<std::optional<std::int64_t>>("SELECT 5");
    CHECK(present == 5);

    co_await db.async_execute("INSERT INTO v(x) VALUES (1), (2)");
    auto [ec2, v2] = co_await db.async_query_scalar<std::int64_t>("SELECT x FROM v", tuple_token);
    CHECK(ec2 == asiolite::errc::too_many_rows);
    auto [ec3, v3] = co_await db.async_query_scalar<std::optional<std::int64_t>>("SELECT x FROM v", tuple_token);
    CHECK(ec3 == asiolite::errc::too_many_rows);
  });
}

TEST_CASE("decoding converts only without loss: integral REAL to integers, exact INTEGER to double, TEXT to bytes") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    AWAIT_CHECK_EQ(db.async_query_scalar<int>("SELECT 2.0"), 2);
    AWAIT_CHECK_EQ(db.async_query_scalar<std::int64_t>("SELECT -9223372036854775808.0"),
                   std::numeric_limits<std::int64_t>::min());
    AWAIT_CHECK_EQ(db.async_query_scalar<std::uint8_t>("SELECT 255.0"), 255);
    AWAIT_CHECK_EQ(db.async_query_scalar<double>("SELECT 9007199254740992"), 9007199254740992.0);
    AWAIT_CHECK_EQ(db.async_query_scalar<double>("SELECT -9223372036854775807 - 1"), -9223372036854775808.0);
    AWAIT_CHECK_EQ(db.async_query_scalar<float>("SELECT 3"), 3.0f);
    AWAIT_CHECK_EQ(db.async_query_scalar<float>("SELECT 16777216"), 16777216.0f);
    // 2^63 and above: no int64_t holds it, uint64_t does.
    AWAIT_CHECK_EQ(db.async_query_scalar<std::uint64_t>("SELECT 9223372036854775808.0"), 9223372036854775808u);
    AWAIT_CHECK_EQ(db.async_query_scalar<std::uint64_t>("SELECT 18446744073709549568.0"), 18446744073709549568u);

    const auto text_bytes = co_await db.async_query_scalar<asiolite::blob>("SELECT 'AB'");
    CHECK(text_bytes == bytes_of({'A', 'B'}));
    const auto text_u8 = co_await db.async_query_scalar<std::vector<std::uint8_t>>("SELECT 'AB'");
    CHECK(text_u8 == std::vector<std::uint8_t>{'A', 'B'});

    // Lossy or foreign conversions are refused.
    auto [e1, d1] = co_await db.async_query_scalar<double>("SELECT 9007199254740993", tuple_token);
    CHECK(e1 == asiolite::errc::out_of_range);
    auto [e2, d2] = co_await db.async_query_scalar<double>("SELECT 9223372036854775807", tuple_token);
    CHECK(e2 == asiolite::errc::out_of_range);
    auto [e3, f3] = co_await db.async_query_scalar<float>("SELECT 1e300", tuple_token);
    CHECK(e3 == asiolite::errc::out_of_range);
    auto [e4, i4] = co_await db.async_query_scalar<std::int64_t>("SELECT 9223372036854775808.0", tuple_token);
    CHECK(e4 == asiolite::errc::out_of_range);
    auto [e5, s5] = co_await db.async_query_scalar<std::string>("SELECT 42", tuple_token);
    CHECK(e5 == asiolite::errc::type_mismatch);
    auto [e6, s6] = co_await db.async_query_scalar<std::string>("SELECT x'41'", tuple_token);
    CHECK(e6 == asiolite::errc::type_mismatch);
    auto [e7, i7] = co_await db.async_query_scalar<int>("SELECT '42'", tuple_token);
    CHECK(e7 == asiolite::errc::type_mismatch);
    auto [e8, b8] = co_await db.async_query_scalar<asiolite::blob>("SELECT 42", tuple_token);
    CHECK(e8 == asiolite::errc::type_mismatch);
    auto [e9, d9] = co_await db.async_query_scalar<double>("SELECT 'x'", tuple_token);
    CHECK(e9 == asiolite::errc::type_mismatch);
    // Rounded into a float, these integers would change: 16777217 -> 16777216.
    auto [e10, f10] = co_await db.async_query_scalar<float>("SELECT 16777217", tuple_token);
    CHECK(e10 == asiolite::errc::out_of_range);
    auto [e11, f11] = co_await db.async_query_scalar<float>("SELECT 4294967295", tuple_token);
    CHECK(e11 == asiolite::errc::out_of_range);
    auto [e12, u12] = co_await db.async_query_scalar<std::uint64_t>("SELECT 18446744073709551616.0", tuple_token);
    CHECK(e12 == asiolite::errc::out_of_range);
  });
}

TEST_CASE("bool reads only INTEGER 0 or 1: other integers are out of range, other types mismatch") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    AWAIT_CHECK_EQ(db.async_query_scalar<bool>("SELECT 1"), true);
    AWAIT_CHECK_EQ(db.async_query_scalar<bool>("SELECT 0"), false);
    auto [e1, b1] = co_await db.async_query_scalar<bool>("SELECT 2", tuple_token);
    CHECK(e1 == asiolite::errc::out_of_range);
    auto [e2, b2] = co_await db.async_query_scalar<bool>("SELECT -1", tuple_token);
    CHECK(e2 == asiolite::errc::out_of_range);
    auto [e3, b3] = co_await db.async_query_scalar<bool>("SELECT 1.0", tuple_token);
    CHECK(e3 == asiolite::errc::type_mismatch);
    auto [e4, b4] = co_await db.async_query_scalar<bool>("SELECT 'true'", tuple_token);
    CHECK(e4 == asiolite::errc::type_mismatch);
  });
}

TEST_CASE("each integer width accepts exactly its own range when decoding") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const auto ok8 =
        co_await db.async_query_one<std::tuple<std::int8_t, std::int8_t, std::uint8_t>>("SELECT -128, 127, 255");
    CHECK(ok8 == std::tuple<std::int8_t, std::int8_t, std::uint8_t>{-128, 127, 255});
    const auto ok16 = co_await db.async_query_one<std::tuple<std::int16_t, std::int16_t, std::uint16_t>>(
        "SELECT -32768, 32767, 65535");
    CHECK(ok16 == std::tuple<std::int16_t, std::int16_t, std::uint16_t>{-32768, 32767, 65535});
    const auto ok32 = co_await db.async_query_one<std::tuple<std::int32_t, std::int32_t, std::uint32_t>>(
        "SELECT -2147483648, 2147483647, 4294967295");
    CHECK(ok32 == std::tuple<std::int32_t, std::int32_t, std::uint32_t>{std::numeric_limits<std::int32_t>::min(),
                                                                        2147483647, 4294967295u});

    auto [a, va] = co_await db.async_query_scalar<std::int8_t>("SELECT -129", tuple_token);
    CHECK(a == asiolite::errc::out_of_range);
    auto [b, vb] = co_await db.async_query_scalar<std::uint8_t>("SELECT 256", tuple_token);
    CHECK(b == asiolite::errc::out_of_range);
    auto [c, vc] = co_await db.async_query_scalar<std::int16_t>("SELECT 32768", tuple_token);
    CHECK(c == asiolite::errc::out_of_range);
    auto [d, vd] = co_await db.async_query_scalar<std::uint16_t>("SELECT 65536", tuple_token);
    CHECK(d == asiolite::errc::out_of_range);
    auto [e, ve] = co_await db.async_query_scalar<std::int32_t>("SELECT 2147483648", tuple_token);
    CHECK(e == asiolite::errc::out_of_range);
    auto [f, vf] = co_await db.async_query_scalar<std::uint32_t>("SELECT 4294967296", tuple_token);
    CHECK(f == asiolite::errc::out_of_range);
    auto [g, vg] = co_await db.async_query_scalar<std::uint64_t>("SELECT -1", tuple_token);
    CHECK(g == asiolite::errc::out_of_range);
  });
}

TEST_CASE("a plain aggregate of 32 members, the most supported, reads every column into its own member") {
  struct wide {
    int c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15;
    int c16, c17, c18, c19, c20, c21, c22, c23, c24, c25, c26, c27, c28, c29, c30, c31;
  };
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    std::string sql = "SELECT 0";
    for (int i = 1; i < 32; ++i) sql += ", " + std::to_string(i * 3);
    const auto rows = co_await db.async_query<wide>(sql);
    REQUIRE(rows.size() == 1);
    const wide& w = rows[0];
    const int got[] = {w.c0,  w.c1,  w.c2,  w.c3,  w.c4,  w.c5,  w.c6,  w.c7,  w.c8,  w.c9,  w.c10,
                       w.c11, w.c12, w.c13, w.c14, w.c15, w.c16, w.c17, w.c18, w.c19, w.c20, w.c21,
                       w.c22, w.c23, w.c24, w.c25, w.c26, w.c27, w.c28, w.c29, w.c30, w.c31};
    for (int i = 0; i < 32; ++i) {
      INFO("member " << i);
      CHECK(got[i] == i * 3);
    }
    auto [ec, none] = co_await db.async_query_one<wide>("SELECT 1, 2", tuple_token);
    CHECK(ec == asiolite::errc::column_count);
  });
}

TEST_CASE("a char array binds up to its first NUL and never reads past its end") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    const char unterminated[3] = {'a', 'b', 'c'};
    const char early_nul[6] = {'x', 'y', '\0', 'z', 'z', '\0'};
    co_await db.async_execute("INSERT INTO v(rowid, x) VALUES (1, ?), (2, ?)", unterminated, early_nul);
    AWAIT_CHECK_EQ(get<std::string>(db, 1), std::string("abc"));
    AWAIT_CHECK_EQ(get<std::string>(db, 2), std::string("xy"));
    // The same by name (named() used to decay the array to a pointer and read on past it).
    co_await db.async_execute("INSERT INTO v(rowid, x) VALUES (3, :a), (4, :b)", asiolite::named("a", unterminated),
                              asiolite::named("b", early_nul));
    AWAIT_CHECK_EQ(get<std::string>(db, 3), std::string("abc"));
    AWAIT_CHECK_EQ(get<std::string>(db, 4), std::string("xy"));
  });
}

TEST_CASE("a parameter name holding a NUL matches no parameter, rather than the name before the NUL") {
  values_db t;
  t.run([](asiolite::connection& db) -> asio::awaitable<void> {
    using namespace std::string_view_literals;
    asiolite::diagnostics diag;
    auto [ec, r] = co_await db.async_execute("INSERT INTO v(x) VALUES (@x)", asiolite::named("@x\0junk"sv, 1), diag,
                                             tuple_token);
    CHECK(ec == asiolite::errc::unknown_parameter);
    AWAIT_CHECK_EQ(db.async_query_scalar<std::int64_t>("SELECT count(*) FROM v"), 0);
  });
}

// ---- one-row results made on the caller's thread (detail/kept_record.hpp): the worker checks
// the row and keeps its bytes in the request; the caller's thread makes the strings and vectors.

namespace {

struct wide_row {
  std::int64_t id;
  std::string text;
  std::optional<std::string> maybe_text;
  asiolite::blob bytes;
  std::vector<std::uint8_t> octets;
  std::optional<asiolite::blob> maybe_bytes;
  double n;
  bool operator==(const wide_row&) const = default;
};

constexpr const char* wide_select = "SELECT id, t, mt, b, o, mb, n FROM w WHERE id = ?";

std::string text_of(std::size_t size, char c) { return std::string(size, c); }
asiolite::blob blob_of(std::size_t size, int seed) {
  asiolite::blob b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::byte>((i * 7 + static_cast<std::size_t>(seed)) & 0xff);
  return b;
}

struct text_and_bytes {
  std::string t;
  asiolite::blob b;
};

// How an error came out: its code and words.
struct bind_outcome {
  asiolite::error_code code;
  std::string message;
};

// What `fn` (a synchronous query) threw, or nothing.
template <class Fn>
bind_outcome outcome_of(Fn fn) {
  try {
    fn();
  } catch (const asiolite::sqlite_error& e) {
    return {e.code(), e.get_diagnostics().message()};
  }
  return {};
}

}  // namespace

TEST_CASE("one-row results with text and blobs of every size are the same awaited, prepared and on the worker") {
  // The worker keeps up to 256 bytes of a row in the request and reads larger rows into
  // the result itself: sizes on both sides of that, and every field shape.
  const std::vector<std::size_t> sizes = {0, 1, 15, 16, 100, 127, 128, 200, 255, 256, 257, 300, 5000};
  test::database t("CREATE TABLE w(id INTEGER PRIMARY KEY, t TEXT, mt TEXT, b BLOB, o BLOB, mb BLOB, n REAL)");
  t.run([&](asiolite::connection& db) -> asio::awaitable<void> {
    std::vector<wide_row> expected;
    std::int64_t id = 0;
    for (const std::size_t text_size : sizes) {
      for (const std::size_t blob_size : {std::size_t{0}, std::size_t{1}, std::size_t{90}, std::size_t{200}}) {
        ++id;
        wide_row r{id,
                   text_of(text_size, static_cast<char>('a' + id % 26)),
                   id % 3 == 0 ? std::nullopt : std::optional<std::string>(text_of(blob_size, 'z')),
                   blob_of(blob_size, static_cast<int>(id)),
                   {},
                   id % 2 == 0 ? std::nullopt : std::optional<asiolite::blob>(blob_of(text_size % 64, 3)),
                   static_cast<double>(id) / 4};
        for (const std::byte b : blob_of(text_size % 40, 9)) r.octets.push_back(static_cast<std::uint8_t>(b));
        co_await db.async_execute("INSERT INTO w VALUES (?, ?, ?, ?, ?, ?, ?)", r.id, r.text, r.maybe_text, r.bytes,
                                  r.octets, r.maybe_bytes, r.n);
        expected.push_back(std::move(r));
      }
    }
    auto prepared = co_await db.async_prepare(wide_select);
    auto prepared_text = co_await db.async_prepare("SELECT t FROM w WHERE id = ?");
    std::size_t mismatches = 0;
    for (const wide_row& want : expected) {
      const auto awaited = co_await db.async_query_one<wide_row>(wide_select, want.id);
      const auto as_tuple = co_await db.async_query_one<
          std::tuple<std::int64_t, std::string, std::optional<std::string>, asiolite::blob, std::vector<std::uint8_t>,
                     std::optional<asiolite::blob>, double>>(wide_select, want.id);
      const auto from_prepared = co_await prepared.async_query_one<wide_row>(want.id);
      const auto text = co_await db.async_query_scalar<std::string>("SELECT t FROM w WHERE id = ?", want.id);
      const auto text_prepared = co_await prepared_text.async_query_scalar<std::string>(want.id);
      const auto maybe = co_await db.async_query_scalar<std::optional<std::string>>("SELECT mt FROM w WHERE id = ?",
                                                                                    want.id);
      const auto bytes = co_await db.async_query_one<asiolite::blob>("SELECT b FROM w WHERE id = ?", want.id);
      const auto on_worker = co_await db.async_call([id = want.id](asiolite::sync_handle& h) {
        return h.query_one<wide_row>(wide_select, id);
      });
      const bool same = awaited == want && from_prepared == want && on_worker == want && as_tuple.has_value() &&
                        std::get<1>(*as_tuple) == want.text && std::get<3>(*as_tuple) == want.bytes &&
                        std::get<5>(*as_tuple) == want.maybe_bytes && text == want.text &&
                        text_prepared == want.text && maybe == want.maybe_text && bytes == want.bytes;
      if (!same) ++mismatches;
    }
    CHECK(mismatches == 0);
    CHECK(expected.size() == sizes.size() * 4);
  });
}

TEST_CASE("a one-row result that does not convert fails awaited with the code and words it has on the worker") {
  // Each case: the SQL, then how query_one<text_and_bytes> and query_scalar<std::string> end.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"SELECT t, b FROM w WHERE id = 1", "SELECT t FROM w WHERE id = 1"},      // INTEGER as std::string
      {"SELECT t, b FROM w WHERE id = 2", "SELECT t FROM w WHERE id = 2"},      // NULL into a std::string
      {"SELECT t, b FROM w WHERE id = 4", "SELECT t FROM w WHERE id = 4"},      // invalid UTF-8
      {"SELECT t, b, id FROM w WHERE id = 3", "SELECT t, b FROM w WHERE id = 3"},  // column count
      {"SELECT 'x', b FROM w WHERE id IN (3, 4)", "SELECT 'x' FROM w"},          // too many rows
      {"SELECT t, b FROM w WHERE id = 9", "SELECT t FROM w WHERE id = 9"},      // none: nullopt, then no_rows
  };
  test::database t("CREATE TABLE w(id INTEGER PRIMARY KEY, t, b)");
  t.run([&](asiolite::connection& db) -> asio::awaitable<void> {
    const asiolite::blob not_utf8 = bytes_of({'a', 0xff});
    co_await db.async_execute("INSERT INTO w VALUES (1, 42, x'01'), (2, NULL, NULL), (3, 'ok', x'02'), (4, ?, x'03')",
                              not_utf8);
    co_await db.async_execute("UPDATE w SET t = CAST(t AS TEXT) WHERE id = 4");  // invalid UTF-8 stored as TEXT
    std::vector<bind_outcome> awaited, on_worker;
    std::vector<bool> awaited_empty;
    for (const auto& [one_sql, scalar_sql] : cases) {
      asiolite::diagnostics diag;
      auto [e1, one] = co_await db.async_query_one<text_and_bytes>(one_sql, diag, tuple_token);
      awaited.push_back({e1, e1 ? diag.message() : std::string()});
      awaited_empty.push_back(!one.has_value());
      auto [e2, scalar] = co_await db.async_query_scalar<std::string>(scalar_sql, diag, tuple_token);
      awaited.push_back({e2, e2 ? diag.message() : std::string()});
      awaited_empty.push_back(scalar.empty());
      on_worker.push_back(co_await db.async_call(
          [&sql = one_sql](asiolite::sync_handle& h) { return outcome_of([&] { h.query_one<text_and_bytes>(sql); }); }));
      on_worker.push_back(co_await db.async_call(
          [&sql = scalar_sql](asiolite::sync_handle& h) { return outcome_of([&] { h.query_scalar<std::string>(sql); }); }));
    }
    REQUIRE(awaited.size() == on_worker.size());
    for (std::size_t i = 0; i < awaited.size(); ++i) {
      CAPTURE(i);
      CHECK(awaited[i].code == on_worker[i].code);
      CHECK(awaited[i].message == on_worker[i].message);
      CHECK(awaited_empty[i]);
    }
    CHECK(awaited[0].code == asiolite::errc::type_mismatch);
    CHECK(awaited[0].message.find("cannot read INTEGER as std::string") != std::string::npos);
    CHECK(awaited[2].code == asiolite::errc::unexpected_null);
    CHECK(awaited[4].code == asiolite::errc::invalid_utf8);
    CHECK(awaited[6].code == asiolite::errc::column_count);
    CHECK(awaited[7].code == asiolite::errc::column_count);
    CHECK(awaited[8].code == asiolite::errc::too_many_rows);
    CHECK(awaited[9].code == asiolite::errc::too_many_rows);
    CHECK_FALSE(awaited[10].code);
    CHECK(awaited[11].code == asiolite::errc::no_rows);
    co_return;
  });
}
