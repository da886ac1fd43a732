// libFuzzer target: parameter names and UTF-8. The input builds
//   SELECT '<any bytes>', <param>, <param>, ...
// where each <param> is ?, ?NNN, :name, @name or $name with any bytes as the name, and
// binds up to three text arguments (any bytes), each by position or by a name that is
// a parameter's own, that name without its prefix, with bytes added (a NUL too), with
// another prefix, or arbitrary. A raw sqlite3 handle of the harness's own says what the
// statement's parameters are; the rules of docs/values.md then say which error the
// request must give, or which value each column must hold.
#include "fuzz_support.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using asiolite::errc;

struct arg_spec {
  bool by_name = false;
  std::string name;
  std::string value;
};

// The oracle's own UTF-8 check: decodes each code point (RFC 3629).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 9;
    if (n == 9 || s.size() - i <= n) return false;
    std::uint32_t cp = n == 0 ? c : c & (0x7fu >> (n + 1));
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3fu);
    }
    const std::uint32_t smallest = n == 0 ? 0 : n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
    if (cp < smallest || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

// ---- the reference: the same SQL on a raw handle

struct reference {
  int prepare_rc = SQLITE_OK;
  bool has_statement = false;
  int parameter_count = 0;
  std::vector<std::optional<std::string>> names;  // [1..count], by SQLite; nullopt for "?"
  bool single_row = false;                        // exactly one row, 1 + parameters columns
  std::string literal;                            // column 0's bytes, when single_row
  std::vector<int> column_parameter;              // for each later column, its parameter index
};

sqlite3* reference_db() {
  static sqlite3* db = [] {
    sqlite3* d = nullptr;
    if (sqlite3_open(":memory:", &d) != SQLITE_OK) fuzz::fail("opening the reference database failed");
    // As the harness's database: the same tables, the same refusals.
    fuzz::exec_trusted(d, fuzz::schema_sql);
    sqlite3_set_authorizer(d, fuzz::authorize, nullptr);
    return d;
  }();
  return db;
}

reference describe_sql(const std::string& sql, std::size_t tokens) {
  reference ref;
  sqlite3* db = reference_db();
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  ref.prepare_rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, &tail);
  if (ref.prepare_rc != SQLITE_OK || !stmt) return ref;
  ref.has_statement = true;
  // Anything but blanks and comments after the statement: a second one (or an error).
  sqlite3_stmt* next = nullptr;
  const char* rest = nullptr;
  const char* end = sql.data() + sql.size();
  while (tail != end) {
    const int rc = sqlite3_prepare_v2(db, tail, static_cast<int>(end - tail), &next, &rest);
    if (rc != SQLITE_OK || next) {
      sqlite3_finalize(next);
      ref.has_statement = false;  // the library must refuse this text
      ref.prepare_rc = SQLITE_MISUSE;
      sqlite3_finalize(stmt);
      return ref;
    }
    if (rest == tail) break;
    tail = rest;
  }
  ref.parameter_count = sqlite3_bind_parameter_count(stmt);
  ref.names.resize(static_cast<std::size_t>(ref.parameter_count) + 1);
  for (int i = 1; i <= ref.parameter_count; ++i) {
    if (const char* n = sqlite3_bind_parameter_name(stmt, i)) ref.names[static_cast<std::size_t>(i)] = std::string(n);
    // Each parameter gets a marker naming its index: a column that is exactly one
    // marker is that parameter (an expression around it would change it).
    const std::string marker = "\x01#" + std::to_string(i);
    sqlite3_bind_text(stmt, i, marker.data(), static_cast<int>(marker.size()), SQLITE_TRANSIENT);
  }
  if (sqlite3_column_count(stmt) == static_cast<int>(tokens) + 1 && sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, 0));
    ref.literal.assign(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0)));
    ref.single_row = sqlite3_column_type(stmt, 0) == SQLITE_TEXT;
    for (std::size_t c = 1; c <= tokens; ++c) {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(stmt, static_cast<int>(c)));
      const std::string text = t ? t : "";
      int index = 0;
      for (int i = 1; i <= ref.parameter_count; ++i)
        if (text == "\x01#" + std::to_string(i)) index = i;
      if (sqlite3_column_type(stmt, static_cast<int>(c)) != SQLITE_TEXT || index == 0) ref.single_row = false;
      ref.column_parameter.push_back(index);
    }
    if (sqlite3_step(stmt) != SQLITE_DONE) ref.single_row = false;
  }
  sqlite3_finalize(stmt);
  return ref;
}

// Where a named argument goes by the documented rule: a name with its prefix is looked
// up as it is, one without gets ':', '@', '$' in that order. 0: nowhere. Names compare
// as whole byte strings.
int named_index(const reference& ref, const std::string& name) {
  auto find = [&](const std::string& full) {
    for (int i = 1; i <= ref.parameter_count; ++i)
      if (ref.names[static_cast<std::size_t>(i)] == full) return i;
    return 0;
  };
  if (!name.empty() && (name[0] == ':' || name[0] == '@' || name[0] == '$')) return find(name);
  for (char prefix : {':', '@', '$'})
    if (int i = find(std::string(1, prefix) + name)) return i;
  return 0;
}

struct expectation {
  std::optional<errc> error;   // when the arguments must be refused
  std::vector<int> argument;   // else: for each parameter index, the argument bound to it
};

expectation expect_binding(const reference& ref, const std::vector<arg_spec>& args) {
  expectation e;
  if (static_cast<int>(args.size()) != ref.parameter_count) {
    e.error = errc::parameter_count;
    return e;
  }
  e.argument.assign(static_cast<std::size_t>(ref.parameter_count) + 1, -1);
  int position = 0;
  for (std::size_t a = 0; a < args.size(); ++a) {
    int index;
    if (args[a].by_name) {
      index = named_index(ref, args[a].name);
      if (index == 0) {
        e.error = errc::unknown_parameter;
        return e;
      }
    } else {
      index = ++position;
    }
    if (e.argument[static_cast<std::size_t>(index)] != -1) {
      e.error = errc::parameter_count;  // bound twice
      return e;
    }
    if (!valid_utf8(args[a].value)) {
      e.error = errc::invalid_utf8;
      return e;
    }
    e.argument[static_cast<std::size_t>(index)] = static_cast<int>(a);
  }
  return e;
}

// ---- the request, with each argument positional or named (Mask bit I: argument I by name)

template <bool ByName>
auto make_arg(const arg_spec& a) {
  if constexpr (ByName)
    return asiolite::named(a.name, a.value);
  else
    return a.value;
}

using result = std::tuple<asiolite::error_code, asiolite::rows>;
using query_fn = asio::awaitable<result> (*)(asiolite::connection&, const std::string&, const std::vector<arg_spec>&, bool);

template <std::size_t K, unsigned Mask>
asio::awaitable<result> query_with(asiolite::connection& db, const std::string& sql, const std::vector<arg_spec>& a,
                                   bool prepared) {
  if (prepared) {
    // Not a structured binding: clang 14 cannot capture one in the lambda below.
    auto made = co_await db.async_prepare(sql, fuzz::tuple_token);
    if (std::get<0>(made)) co_return result{std::get<0>(made), {}};
    asiolite::prepared_statement& ps = std::get<1>(made);
    co_return co_await [&]<std::size_t... I>(std::index_sequence<I...>) {
      return ps.async_query(make_arg<((Mask >> I) & 1u) != 0>(a[I])..., fuzz::tuple_token);
    }(std::make_index_sequence<K>{});
  }
  co_return co_await [&]<std::size_t... I>(std::index_sequence<I...>) {
    return db.async_query(sql, make_arg<((Mask >> I) & 1u) != 0>(a[I])..., fuzz::tuple_token);
  }(std::make_index_sequence<K>{});
}

template <std::size_t K, unsigned... Masks>
constexpr std::array<query_fn, sizeof...(Masks)> table_for(std::integer_sequence<unsigned, Masks...>) {
  return {&query_with<K, Masks>...};
}

// One entry per argument count 0..3 and per mix of positional and named.
query_fn pick_query(std::size_t count, unsigned mask) {
  static constexpr auto t0 = table_for<0>(std::make_integer_sequence<unsigned, 1>{});
  static constexpr auto t1 = table_for<1>(std::make_integer_sequence<unsigned, 2>{});
  static constexpr auto t2 = table_for<2>(std::make_integer_sequence<unsigned, 4>{});
  static constexpr auto t3 = table_for<3>(std::make_integer_sequence<unsigned, 8>{});
  switch (count) {
    case 0: return t0[0];
    case 1: return t1[mask & 1u];
    case 2: return t2[mask & 3u];
    default: return t3[mask & 7u];
  }
}

std::string quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

void check_row(const asiolite::row& r, const reference& ref, const expectation& want, const std::vector<arg_spec>& args,
               std::size_t tokens, const std::string& where);

asio::awaitable<void> run_input(asiolite::connection& db, FuzzedDataProvider& in) {
  // The statement.
  const std::size_t tokens = in.ConsumeIntegralInRange<std::size_t>(0, 4);
  std::vector<std::string> parameter_tokens;
  std::string sql = "SELECT " + quote(in.ConsumeRandomLengthString(40));
  for (std::size_t i = 0; i < tokens; ++i) {
    static constexpr char prefixes[] = {'?', ':', '@', '$'};
    std::string token(1, prefixes[in.ConsumeIntegralInRange<std::size_t>(0, 3)]);
    token += in.ConsumeRandomLengthString(12);
    parameter_tokens.push_back(token);
    sql += ", " + token;
  }
  // SQLite would stop reading at a NUL: the library refuses such text (errc::embedded_nul).
  const bool holds_nul = sql.find('\0') != std::string::npos;
  const reference ref = holds_nul ? reference{} : describe_sql(sql, tokens);

  // The arguments.
  const std::size_t count = in.ConsumeIntegralInRange<std::size_t>(0, 3);
  std::vector<arg_spec> args(count);
  unsigned mask = 0;
  for (std::size_t a = 0; a < count; ++a) {
    arg_spec& spec = args[a];
    spec.by_name = in.ConsumeBool();
    if (spec.by_name) {
      mask |= 1u << a;
      // Start from one of the statement's own names, if it has any, and perhaps alter it.
      std::string base;
      if (ref.parameter_count > 0) {
        const auto& n = ref.names[in.ConsumeIntegralInRange<std::size_t>(1, static_cast<std::size_t>(ref.parameter_count))];
        base = n.value_or("?");
      }
      switch (in.ConsumeIntegralInRange<int>(0, 5)) {
        case 0: spec.name = base; break;
        case 1: spec.name = base.empty() ? base : base.substr(1); break;  // without its prefix
        case 2: spec.name = base + std::string(1, '\0') + in.ConsumeRandomLengthString(4); break;
        case 3: spec.name = base + in.ConsumeRandomLengthString(4); break;
        case 4: spec.name = (base.empty() ? std::string("@") : "@" + base.substr(1)); break;  // another prefix
        default: spec.name = in.ConsumeRandomLengthString(12); break;
      }
    }
    spec.value = in.ConsumeRandomLengthString(24);
  }
  const bool prepared = in.ConsumeBool();

  auto [ec, rs] = co_await pick_query(count, mask)(db, sql, args, prepared);
  std::string where = "SQL [" + sql + "] with " + std::to_string(count) + " argument(s):";
  for (const arg_spec& a : args) where += a.by_name ? " named [" + a.name + "]" : std::string(" by position");

  if (holds_nul) {
    if (ec != errc::embedded_nul) fuzz::fail(where + ": got '" + ec.message() + "', expected embedded_nul");
    co_return;
  }
  if (!ref.has_statement) {
    fuzz::require(ec.operator bool(), where + ": the library accepted SQL that does not hold exactly one statement");
    co_return;
  }
  const expectation want = expect_binding(ref, args);
  if (want.error) {
    if (ec != make_error_code(*want.error))
      fuzz::fail(where + ": got '" + ec.message() + "', expected '" + make_error_code(*want.error).message() + "'");
    co_return;
  }
  // A statement that runs may still fail as SQL (a division, a function's error): the
  // reference then gave no single row, and the library must not report one either.
  if (!ref.single_row) co_return;
  if (ec) fuzz::fail(where + ": failed with '" + ec.message() + "'");
  fuzz::require(rs.size() == 1 && rs.column_count() == tokens + 1, where + ": not one row of the expected columns");
  try {
    check_row(rs[0], ref, want, args, tokens, where);
  } catch (const asiolite::sqlite_error& e) {
    fuzz::fail(where + ": reading the row failed: " + e.what());
  }
}

void check_row(const asiolite::row& r, const reference& ref, const expectation& want, const std::vector<arg_spec>& args,
               std::size_t tokens, const std::string& where) {
  const asiolite::blob_view literal = r.get<asiolite::blob_view>(0);
  fuzz::require(std::string_view(reinterpret_cast<const char*>(literal.data()), literal.size()) == ref.literal,
                where + ": the literal's bytes changed");
  try {
    fuzz::require(r.get<std::string>(0) == ref.literal && valid_utf8(ref.literal),
                  where + ": the literal read as std::string differs");
  } catch (const asiolite::sqlite_error& e) {
    fuzz::require(e.code() == errc::invalid_utf8 && !valid_utf8(ref.literal),
                  where + ": reading the literal as std::string failed with '" + e.code().message() + "'");
  }
  for (std::size_t c = 0; c < tokens; ++c) {
    const int index = ref.column_parameter[c];
    const std::string& value = args[static_cast<std::size_t>(want.argument[static_cast<std::size_t>(index)])].value;
    fuzz::require(r.get<std::string>(c + 1) == value,
                  where + ": column " + std::to_string(c + 1) + " (parameter " + std::to_string(index) +
                      ") does not hold its argument");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::get();
  (void)reference_db();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& h = fuzz::get();
  FuzzedDataProvider in(data, size);
  fuzz::run(h, run_input(*h.db, in));
  fuzz::after_input(h, false);
  return 0;
}
