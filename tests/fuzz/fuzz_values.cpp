// libFuzzer target: bound values and typed decoding. The input picks a C++ argument (every
// bindable type, edge integers, any double or float bit pattern, any bytes as text or
// blob), how it is bound (positional, ?NNN, :name @name $name, asiolite::named; through
// a request or on the worker through sync_handle) and which C++ types read it back.
// An oracle written here from docs/values.md, independently of include/, says what
// each step must give: the exact value, or exactly which error.
#include "fuzz_support.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace {

using asiolite::column_type;
using asiolite::errc;

// ---- what SQLite holds, and the oracle's own UTF-8 check (decodes code points)

struct stored {
  column_type type = column_type::null;
  std::int64_t integer = 0;
  double real = 0;
  std::string bytes;
};

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n;
    std::uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3fu);
    }
    const std::uint32_t smallest = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
    if (cp < smallest || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

// ---- values described as text, so that expected and actual compare exactly

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string real_text(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", d);
  return buf;
}

std::string describe_stored(const stored& s) {
  switch (s.type) {
    case column_type::integer:
      return "integer:" + std::to_string(s.integer);
    case column_type::real:
      return "real:" + real_text(s.real);
    case column_type::text:
      return "text:" + hex(s.bytes);
    case column_type::blob:
      return "blob:" + hex(s.bytes);
    default:
      return "null";
  }
}

template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;

template <class T>
inline constexpr bool is_integer_v = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <class T>
inline constexpr bool is_bytes_v = std::is_same_v<T, std::vector<std::byte>> ||
    std::is_same_v<T, std::vector<std::uint8_t>> || std::is_same_v<T, asiolite::blob_view>;

template <class T>
std::string describe(const T& v) {
  if constexpr (is_optional_v<T>) {
    return v ? "some:" + describe(*v) : std::string("nullopt");
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "bool:1" : "bool:0";
  } else if constexpr (is_integer_v<T>) {
    return "int:" + std::to_string(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    return "real:" + real_text(static_cast<double>(v));
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
    return "text:" + hex(v);
  } else if constexpr (is_bytes_v<T>) {
    return "bytes:" + hex(std::string_view(reinterpret_cast<const char*>(v.data()), v.size()));
  } else {
    static_assert(std::is_same_v<T, asiolite::field_view>);
    stored s;
    s.type = v.type();
    if (s.type == column_type::integer) s.integer = v.integer();
    if (s.type == column_type::real) s.real = v.real();
    if (s.type == column_type::text) s.bytes = std::string(v.text());
    if (s.type == column_type::blob)
      s.bytes = std::string(reinterpret_cast<const char*>(v.bytes().data()), v.bytes().size());
    return "field:" + describe_stored(s);
  }
}

struct outcome {
  asiolite::error_code ec;
  std::string value;  // when !ec
};

std::string describe(const outcome& o) { return o.ec ? "error '" + o.ec.message() + "'" : o.value; }

outcome error(errc e) { return {make_error_code(e), {}}; }

// ---- the oracle: docs/values.md's decoding table

template <class T>
outcome expect_read(const stored& s) {
  if constexpr (is_optional_v<T>) {
    if (s.type == column_type::null) return {{}, "nullopt"};
    outcome o = expect_read<typename T::value_type>(s);
    if (!o.ec) o.value = "some:" + o.value;
    return o;
  } else if constexpr (std::is_same_v<T, asiolite::field_view>) {
    return {{}, "field:" + describe_stored(s)};
  } else {
    if (s.type == column_type::null) return error(errc::unexpected_null);
    if constexpr (std::is_same_v<T, bool>) {
      if (s.type != column_type::integer) return error(errc::type_mismatch);
      if (s.integer != 0 && s.integer != 1) return error(errc::out_of_range);
      return {{}, s.integer ? "bool:1" : "bool:0"};
    } else if constexpr (is_integer_v<T>) {
      // In T's range, compared in a type that holds every int64 and uint64.
      using wide = __int128;
      wide v;
      if (s.type == column_type::integer) {
        v = s.integer;
      } else if (s.type == column_type::real) {
        if (std::isinf(s.real)) return error(errc::out_of_range);
        if (std::trunc(s.real) != s.real) return error(errc::type_mismatch);
        // A REAL beyond the 64-bit integers is out of range for every integer type.
        if (std::fabs(s.real) >= 18446744073709551616.0) return error(errc::out_of_range);
        v = static_cast<wide>(s.real);
      } else {
        return error(errc::type_mismatch);
      }
      if (v < static_cast<wide>(std::numeric_limits<T>::min()) || v > static_cast<wide>(std::numeric_limits<T>::max()))
        return error(errc::out_of_range);
      return {{}, "int:" + std::to_string(static_cast<T>(v))};
    } else if constexpr (std::is_floating_point_v<T>) {
      if (s.type == column_type::integer) {
        // Exactly representable in T, checked with long double (64-bit mantissa here).
        const T converted = static_cast<T>(s.integer);
        if (static_cast<long double>(converted) != static_cast<long double>(s.integer)) return error(errc::out_of_range);
        return {{}, "real:" + real_text(static_cast<double>(converted))};
      }
      if (s.type != column_type::real) return error(errc::type_mismatch);
      if constexpr (std::is_same_v<T, float>) {
        if (std::isfinite(s.real) && std::fabs(s.real) > static_cast<double>(std::numeric_limits<float>::max()))
          return error(errc::out_of_range);
        return {{}, "real:" + real_text(static_cast<double>(static_cast<float>(s.real)))};
      } else {
        return {{}, "real:" + real_text(s.real)};
      }
    } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
      if (s.type != column_type::text) return error(errc::type_mismatch);
      if (!valid_utf8(s.bytes)) return error(errc::invalid_utf8);
      return {{}, "text:" + hex(s.bytes)};
    } else {
      static_assert(is_bytes_v<T>);
      if (s.type != column_type::text && s.type != column_type::blob) return error(errc::type_mismatch);
      return {{}, "bytes:" + hex(s.bytes)};
    }
  }
}

void compare(const outcome& got, const outcome& want, const std::string& what) {
  const bool same = got.ec ? got.ec == want.ec : !want.ec && got.value == want.value;
  if (!same) fuzz::fail(what + ": got " + describe(got) + ", expected " + describe(want));
}

// ---- reading back

template <class... Ts>
struct type_list {};

using owning_types =
    type_list<bool, std::int8_t, std::uint8_t, std::int16_t, std::uint16_t, std::int32_t, std::uint32_t, std::int64_t,
              std::uint64_t, double, float, std::string, std::vector<std::byte>, std::vector<std::uint8_t>,
              std::optional<bool>, std::optional<std::int8_t>, std::optional<std::uint8_t>, std::optional<std::int16_t>,
              std::optional<std::uint16_t>, std::optional<std::int32_t>, std::optional<std::uint32_t>,
              std::optional<std::int64_t>, std::optional<std::uint64_t>, std::optional<double>, std::optional<float>,
              std::optional<std::string>, std::optional<std::vector<std::byte>>,
              std::optional<std::vector<std::uint8_t>>>;
using view_types = type_list<std::string_view, asiolite::blob_view, asiolite::field_view,
                             std::optional<std::string_view>, std::optional<asiolite::blob_view>>;

template <class T>
void check_row_get(const asiolite::row& r, const stored& s, const char* by) {
  outcome got;
  try {
    got.value = describe(r.get<T>(0));
  } catch (const asiolite::sqlite_error& e) {
    got.ec = e.code();
  }
  compare(got, expect_read<T>(s), std::string("row::get<") + asiolite::detail::type_name<T>().data() + "> " + by);
}

template <class... Ts>
void check_row_all(type_list<Ts...>, const asiolite::row& r, const stored& s, const char* by) {
  (check_row_get<Ts>(r, s, by), ...);
}

template <class T>
asio::awaitable<void> check_typed(asiolite::connection& db, const stored& s) {
  const std::string what = std::string("async_query_scalar<") + asiolite::detail::type_name<T>().data() + ">";
  auto [ec, v] = co_await db.async_query_scalar<T>("SELECT x FROM v WHERE id = 1", fuzz::tuple_token);
  compare(ec ? outcome{ec, {}} : outcome{{}, describe(v)}, expect_read<T>(s), what);
  // The same through a one-field aggregate row, in a tuple with the value's type name.
  auto [ec2, t] = co_await db.async_query_one<std::tuple<T, std::string>>("SELECT x, typeof(x) FROM v WHERE id = 1",
                                                                          fuzz::tuple_token);
  outcome want = expect_read<T>(s);
  if (!ec2) fuzz::require(t.has_value(), what + ": async_query_one found no row");
  compare(ec2 ? outcome{ec2, {}} : outcome{{}, describe(std::get<0>(*t))}, want, "async_query_one<tuple<T, string>>");
}

// On the worker. (A function pointer rather than a lambda per type: one async_call for
// every T, which the fuzzer does not need compiled once per type.)
template <class T>
outcome read_on_worker(asiolite::sync_handle& h) {
  try {
    return outcome{{}, describe(h.query_scalar<T>("SELECT x FROM v WHERE id = 1"))};
  } catch (const asiolite::sqlite_error& e) {
    return outcome{e.code(), {}};
  }
}

template <class T>
asio::awaitable<void> check_sync(asiolite::connection& db, const stored& s) {
  outcome (*const read)(asiolite::sync_handle&) = &read_on_worker<T>;
  auto [ec, got] = co_await db.async_call(read, fuzz::tuple_token);
  fuzz::require(!ec, "async_call failed: " + ec.message());
  compare(got, expect_read<T>(s), std::string("sync_handle::query_scalar<") + asiolite::detail::type_name<T>().data() + ">");
}

template <class... Ts>
constexpr auto typed_table(type_list<Ts...>) {
  return std::array<asio::awaitable<void> (*)(asiolite::connection&, const stored&), sizeof...(Ts)>{&check_typed<Ts>...};
}
template <class... Ts>
constexpr auto sync_table(type_list<Ts...>) {
  return std::array<asio::awaitable<void> (*)(asiolite::connection&, const stored&), sizeof...(Ts)>{&check_sync<Ts>...};
}

// ---- binding

// How the argument is bound: the parameter's spelling in the SQL, and whether (and by
// which name) the argument is an asiolite::named.
struct binding {
  std::string parameter;             // "?", "?1", "?3", ":v", "@v", "$v"
  std::optional<std::string> name;   // for asiolite::named
  bool on_worker = false;            // bound by sync_handle (no copy) instead of a request
};

// The error the binding itself must give, before the value is looked at, if any.
std::optional<errc> expect_binding_error(const binding& b) {
  const std::string& p = b.parameter;
  if (p == "?3") return errc::parameter_count;  // three parameters, one argument
  if (!b.name) return std::nullopt;             // by position: any parameter has one
  const std::string& n = *b.name;
  const bool prefixed = !n.empty() && (n[0] == ':' || n[0] == '@' || n[0] == '$');
  const bool found = prefixed ? n == p : (":" + n == p || "@" + n == p || "$" + n == p);
  if (!found) return errc::unknown_parameter;
  return std::nullopt;
}

// Binds the argument make_arg() makes, as `b` says, by writing it to v's row 1: the only
// step that depends on the argument's type (the checks of what it stored do not).
template <class MakeArg>
asio::awaitable<asiolite::error_code> bind_value(asiolite::connection& db, MakeArg& make_arg, const binding& b,
                                                 const std::string& sql) {
  if (b.on_worker) {
    // (A std::function: one async_call for every argument type.)
    std::function<void(asiolite::sync_handle&)> bind = [&](asiolite::sync_handle& h) {
      if (b.name)
        h.execute(sql, asiolite::named(*b.name, make_arg()));
      else
        h.execute(sql, make_arg());
    };
    auto [call_ec] = co_await db.async_call(std::move(bind), fuzz::tuple_token);
    co_return call_ec;
  }
  if (b.name) {
    auto [e, r] = co_await db.async_execute(sql, asiolite::named(*b.name, make_arg()), fuzz::tuple_token);
    co_return e;
  }
  auto [e, r] = co_await db.async_execute(sql, make_arg(), fuzz::tuple_token);
  co_return e;
}

// What binding gave (ec) against what it must have: the error, or the value stored, read
// back every way asiolite offers.
asio::awaitable<void> check_stored(asiolite::connection& db, const binding& b, asiolite::error_code ec,
                                   const std::optional<stored>& want_stored, std::optional<errc> want_value_error,
                                   std::array<std::uint8_t, 4> picks) {
  std::optional<errc> want_error = expect_binding_error(b);
  if (!want_error) want_error = want_value_error;
  const std::string what = "binding to " + b.parameter + (b.name ? " by the name '" + hex(*b.name) + "'" : "") +
                           (b.on_worker ? " on the worker" : "");
  if (want_error) {
    if (ec != make_error_code(*want_error))
      fuzz::fail(what + ": got '" + ec.message() + "', expected '" + make_error_code(*want_error).message() + "'");
    co_return;
  }
  if (ec) fuzz::fail(what + ": failed with '" + ec.message() + "', expected to store " + describe_stored(*want_stored));
  const stored& s = *want_stored;

  // What SQLite stored: its type name and the value, read every way a row offers.
  auto [qec, rs] = co_await db.async_query("SELECT x, typeof(x) FROM v WHERE id = 1", fuzz::tuple_token);
  fuzz::require(!qec && rs.size() == 1, "reading the stored value back failed: " + qec.message());
  const asiolite::row r = rs[0];
  static constexpr const char* type_names[] = {"integer", "real", "text", "blob", "null"};
  const char* want_type = s.type == column_type::integer ? type_names[0]
                          : s.type == column_type::real  ? type_names[1]
                          : s.type == column_type::text  ? type_names[2]
                          : s.type == column_type::blob  ? type_names[3]
                                                         : type_names[4];
  fuzz::require(r.get<std::string>(1) == want_type,
                what + ": stored as " + r.get<std::string>(1) + ", expected " + want_type);
  check_row_all(owning_types{}, r, s, "by index");
  check_row_all(view_types{}, r, s, "by index");
  {
    outcome got;
    try {
      got.value = describe(r.get<asiolite::field_view>("x"));
    } catch (const asiolite::sqlite_error& e) {
      got.ec = e.code();
    }
    compare(got, expect_read<asiolite::field_view>(s), "row::get<field_view>(\"x\")");
  }

  // Typed reads, straight from the statement: types the input picks.
  static constexpr auto typed = typed_table(owning_types{});
  static constexpr auto on_worker = sync_table(owning_types{});
  co_await typed[picks[0] % typed.size()](db, s);
  co_await typed[picks[1] % typed.size()](db, s);
  co_await on_worker[picks[2] % on_worker.size()](db, s);
}

template <class MakeArg>
asio::awaitable<void> bind_and_read(asiolite::connection& db, MakeArg make_arg, binding b,
                                    std::optional<stored> want_stored, std::optional<errc> want_value_error,
                                    std::array<std::uint8_t, 4> picks) {
  const std::string sql = "REPLACE INTO v(id, x) VALUES (1, " + b.parameter + ")";
  const asiolite::error_code ec = co_await bind_value(db, make_arg, b, sql);
  co_await check_stored(db, b, ec, want_stored, want_value_error, picks);
}

// ---- arguments from the input

template <class T>
T edge_integer(FuzzedDataProvider& in) {
  using limits = std::numeric_limits<T>;
  // Edges of every width, and of the doubles' exact integers (2^53).
  static constexpr std::int64_t edges[] = {0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769,
                                           65535, 65536, 2147483647, 2147483648, -2147483648ll, -2147483649ll,
                                           4294967295ll, 4294967296ll, 9007199254740992ll, 9007199254740993ll,
                                           -9007199254740993ll, 16777217};
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return limits::min() + static_cast<T>(in.ConsumeIntegralInRange<int>(0, 2));
    case 1:
      return limits::max() - static_cast<T>(in.ConsumeIntegralInRange<int>(0, 2));
    case 2: {
      const std::int64_t e = edges[in.ConsumeIntegralInRange<std::size_t>(0, std::size(edges) - 1)];
      return static_cast<T>(e);  // wraps for narrow types: still an edge of some kind
    }
    default:
      return in.ConsumeIntegral<T>();
  }
}

template <class F>
F any_floating(FuzzedDataProvider& in) {
  using bits_t = std::conditional_t<sizeof(F) == 8, std::uint64_t, std::uint32_t>;
  static constexpr double edges[] = {0.0, -0.0, 1.5, 2.0, 0.1, 9007199254740992.0, 9007199254740993.0,
                                     9223372036854775808.0, -9223372036854775808.0, 18446744073709551616.0,
                                     1e308, 3.4028234663852886e38, 3.4028235677973366e38, 16777217.0,
                                     -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(), 4.9e-324};
  if (in.ConsumeBool()) return static_cast<F>(edges[in.ConsumeIntegralInRange<std::size_t>(0, std::size(edges) - 1)]);
  const bits_t bits = in.ConsumeIntegral<bits_t>();  // any pattern: NaNs, infinities, subnormals
  F v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

stored integer_stored(std::int64_t v) {
  stored s;
  s.type = column_type::integer;
  s.integer = v;
  return s;
}
stored real_stored(double v) {
  stored s;
  s.type = column_type::real;
  s.real = v;
  return s;
}
stored bytes_stored(column_type t, std::string_view bytes) {
  stored s;
  s.type = t;
  s.bytes = std::string(bytes);
  return s;
}

// A fixed-size char array, possibly without a NUL: text up to its first NUL, never beyond.
struct char_array {
  char chars[6];
};

asio::awaitable<void> run_input(asiolite::connection& db, FuzzedDataProvider& in) {
  static constexpr const char* parameters[] = {"?", "?1", "?3", ":v", "@v", "$v"};
  static constexpr const char* names[] = {"v", ":v", "@v", "$v", "V", "", "w", "?1"};
  binding b;
  b.parameter = parameters[in.ConsumeIntegralInRange<std::size_t>(0, std::size(parameters) - 1)];
  if (in.ConsumeBool()) b.name = names[in.ConsumeIntegralInRange<std::size_t>(0, std::size(names) - 1)];
  b.on_worker = in.ConsumeBool();
  std::array<std::uint8_t, 4> picks{};
  for (auto& p : picks) p = in.ConsumeIntegral<std::uint8_t>();
  const int kind = in.ConsumeIntegralInRange<int>(0, 27);

  // Each case: the argument (made fresh for every use), what SQLite must then hold, or
  // which error the value itself must give.
  auto integer_case = [&]<class T>(std::type_identity<T>) -> asio::awaitable<void> {
    const T v = edge_integer<T>(in);
    if constexpr (std::is_unsigned_v<T> && sizeof(T) == 8) {
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        co_return co_await bind_and_read(db, [v] { return v; }, b, std::nullopt, errc::out_of_range, picks);
    }
    co_await bind_and_read(db, [v] { return v; }, b, integer_stored(static_cast<std::int64_t>(v)), std::nullopt, picks);
  };
  auto floating_case = [&]<class F>(std::type_identity<F>) -> asio::awaitable<void> {
    const F v = any_floating<F>(in);
    if (std::isnan(v))
      co_await bind_and_read(db, [v] { return v; }, b, std::nullopt, errc::out_of_range, picks);
    else
      co_await bind_and_read(db, [v] { return v; }, b, real_stored(static_cast<double>(v)), std::nullopt, picks);
  };
  const std::string bytes = in.ConsumeRandomLengthString(300);
  const std::optional<errc> text_error = valid_utf8(bytes) ? std::nullopt : std::optional<errc>(errc::invalid_utf8);
  const std::optional<stored> text_stored =
      text_error ? std::nullopt : std::optional<stored>(bytes_stored(column_type::text, bytes));
  const stored blob_stored = bytes_stored(column_type::blob, bytes);
  const std::span<const std::byte> byte_span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
  const std::span<const std::uint8_t> u8_span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());

  switch (kind) {
    case 0: {
      const bool v = in.ConsumeBool();
      co_await bind_and_read(db, [v] { return v; }, b, integer_stored(v ? 1 : 0), std::nullopt, picks);
      break;
    }
    case 1: co_await integer_case(std::type_identity<std::int8_t>{}); break;
    case 2: co_await integer_case(std::type_identity<std::uint8_t>{}); break;
    case 3: co_await integer_case(std::type_identity<std::int16_t>{}); break;
    case 4: co_await integer_case(std::type_identity<std::uint16_t>{}); break;
    case 5: co_await integer_case(std::type_identity<std::int32_t>{}); break;
    case 6: co_await integer_case(std::type_identity<std::uint32_t>{}); break;
    case 7: co_await integer_case(std::type_identity<std::int64_t>{}); break;
    case 8: co_await integer_case(std::type_identity<std::uint64_t>{}); break;
    case 9: co_await integer_case(std::type_identity<long long>{}); break;
    case 10: co_await integer_case(std::type_identity<unsigned long long>{}); break;
    case 11: co_await floating_case(std::type_identity<double>{}); break;
    case 12: co_await floating_case(std::type_identity<float>{}); break;
    case 13:
      co_await bind_and_read(db, [&] { return bytes; }, b, text_stored, text_error, picks);
      break;
    case 14:
      co_await bind_and_read(db, [&] { return std::string_view(bytes); }, b, text_stored, text_error, picks);
      break;
    case 15: {
      // A C string ends at its first NUL.
      const std::string_view until_nul(bytes.c_str());
      const bool ok = valid_utf8(until_nul);
      co_await bind_and_read(db, [&] { return bytes.c_str(); }, b,
                             ok ? std::optional<stored>(bytes_stored(column_type::text, until_nul)) : std::nullopt,
                             ok ? std::nullopt : std::optional<errc>(errc::invalid_utf8), picks);
      break;
    }
    case 16: {
      char_array a{};
      std::memcpy(a.chars, bytes.data(), std::min(bytes.size(), sizeof a.chars));
      const std::string_view text(a.chars, strnlen(a.chars, sizeof a.chars));
      const bool ok = valid_utf8(text);
      co_await bind_and_read(db, [&]() -> const char(&)[6] { return a.chars; }, b,
                             ok ? std::optional<stored>(bytes_stored(column_type::text, text)) : std::nullopt,
                             ok ? std::nullopt : std::optional<errc>(errc::invalid_utf8), picks);
      break;
    }
    case 17:
      co_await bind_and_read(db, [&] { return std::vector<std::byte>(byte_span.begin(), byte_span.end()); }, b,
                             blob_stored, std::nullopt, picks);
      break;
    case 18:
      co_await bind_and_read(db, [&] { return std::vector<std::uint8_t>(u8_span.begin(), u8_span.end()); }, b,
                             blob_stored, std::nullopt, picks);
      break;
    case 19:
      co_await bind_and_read(db, [&] { return byte_span; }, b, blob_stored, std::nullopt, picks);
      break;
    case 20:
      co_await bind_and_read(db, [&] { return u8_span; }, b, blob_stored, std::nullopt, picks);
      break;
    case 21:
      co_await bind_and_read(db, [] { return nullptr; }, b, stored{}, std::nullopt, picks);
      break;
    case 22:
      co_await bind_and_read(db, [] { return std::nullopt; }, b, stored{}, std::nullopt, picks);
      break;
    case 23:
      co_await bind_and_read(db, [] { return static_cast<const char*>(nullptr); }, b, stored{}, std::nullopt, picks);
      break;
    case 24: {
      const bool engaged = in.ConsumeBool();
      const std::int64_t v = edge_integer<std::int64_t>(in);
      co_await bind_and_read(
          db, [engaged, v] { return engaged ? std::optional<std::int64_t>(v) : std::nullopt; }, b,
          engaged ? integer_stored(v) : stored{}, std::nullopt, picks);
      break;
    }
    case 25: {
      const bool engaged = in.ConsumeBool();
      co_await bind_and_read(
          db, [&] { return engaged ? std::optional<std::string>(bytes) : std::nullopt; }, b,
          engaged ? text_stored : std::optional<stored>(stored{}), engaged ? text_error : std::nullopt, picks);
      break;
    }
    case 26: {
      const bool engaged = in.ConsumeBool();
      const double v = any_floating<double>(in);
      const bool nan = engaged && std::isnan(v);
      co_await bind_and_read(
          db, [engaged, v] { return engaged ? std::optional<double>(v) : std::nullopt; }, b,
          nan ? std::nullopt : std::optional<stored>(engaged ? real_stored(v) : stored{}),
          nan ? std::optional<errc>(errc::out_of_range) : std::nullopt, picks);
      break;
    }
    default: {
      const bool engaged = in.ConsumeBool();
      co_await bind_and_read(
          db, [&] { return engaged ? std::optional<asiolite::blob>(asiolite::blob(byte_span.begin(), byte_span.end())) : std::nullopt; },
          b, engaged ? blob_stored : stored{}, std::nullopt, picks);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto& h = fuzz::get();
  // The table every input writes its value to: no declared type, so no affinity
  // changes what is stored (created by the harness, as it is not fuzzed SQL).
  fuzz::run(h, [](asiolite::connection& db) -> asio::awaitable<void> {
    auto [ec] = co_await db.async_call(
        [](asiolite::sync_handle& handle) {
          fuzz::trusted = true;
          fuzz::exec_trusted(handle.native_handle(), "CREATE TABLE v(id INTEGER PRIMARY KEY, x)");
          fuzz::trusted = false;
        },
        fuzz::tuple_token);
    fuzz::require(!ec, "creating the table v failed: " + ec.message());
  }(*h.db));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& h = fuzz::get();
  FuzzedDataProvider in(data, size);
  fuzz::run(h, run_input(*h.db, in));
  fuzz::after_input(h, false);
  return 0;
}
