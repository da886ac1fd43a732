// Turns every ```cpp block of the given Markdown files into C++ that the doc tests
// compile, and the runnable ones into Catch2 test cases that run them.
//
// A block is, by default, a complete flow: the body of a coroutine that has `ex` (an
// executor) in scope, run in a fresh temporary directory (its working directory). An HTML
// comment right before the block, which a reader of the rendered page does not see, can
// say otherwise and give the code the block assumes:
//
//   <!-- doc-test: compile            the body of a coroutine, compiled but not run
//   auto db = ...;                    lines up to "-->": code placed before the block
//   -->
//
// Modes: `run` (the default), `compile`, `top-level` (declarations at the page's scope,
// which the page's later blocks may use, as a reader would assume), `boost` (top-level
// code of a Boost.Asio program: compiled in the Boost flavour's build only). `#line` directives
// make compiler errors point into the Markdown.
//
// Usage: extract_doc_blocks <output.cpp> <root dir> <file.md>...
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

enum class mode { run, compile, top_level, boost };

struct block {
  std::string file;      // as shown in test names: relative to the root
  std::string path;      // as written in #line: absolute
  std::size_t line = 0;  // the line of the opening fence (1-based)
  mode how = mode::run;
  std::size_t given_line = 0;  // the first line of the given code
  std::vector<std::string> given;
  std::vector<std::string> code;
};

[[noreturn]] void fail(const std::string& where, std::size_t line, const std::string& what) {
  std::cerr << where << ':' << line << ": doc test: " << what << '\n';
  std::exit(1);
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

mode parse_mode(const std::string& word, const std::string& file, std::size_t line) {
  if (word.empty() || word == "run") return mode::run;
  if (word == "compile") return mode::compile;
  if (word == "top-level") return mode::top_level;
  if (word == "boost") return mode::boost;
  fail(file, line, "unknown mode '" + word + "' (expected run, compile, top-level or boost)");
}

void read_blocks(const std::filesystem::path& path, const std::string& shown, std::vector<block>& out) {
  std::ifstream in(path);
  if (!in) fail(shown, 0, "cannot read the file");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);

  const std::string directive = "<!-- doc-test:";
  bool pending = false;  // a directive waits for its block
  block next;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string t = trim(lines[i]);
    const std::size_t lineno = i + 1;
    if (starts_with(t, directive)) {
      if (pending) fail(shown, lineno, "a second doc-test comment before the first one's block");
      next = block{};
      next.file = shown;
      next.path = path.string();
      std::string rest = trim(t.substr(directive.size()));
      const bool closed = rest.size() >= 3 && rest.compare(rest.size() - 3, 3, "-->") == 0;
      if (closed) rest = trim(rest.substr(0, rest.size() - 3));
      next.how = parse_mode(rest, shown, lineno);
      if (!closed) {
        next.given_line = lineno + 1;
        for (++i; i < lines.size() && trim(lines[i]) != "-->"; ++i) next.given.push_back(lines[i]);
        if (i == lines.size()) fail(shown, lineno, "the doc-test comment has no closing '-->' line");
      }
      pending = true;
      continue;
    }
    if (starts_with(t, "```")) {
      const std::string lang = trim(t.substr(3));
      const bool cpp = lang == "cpp" || lang == "c++";
      if (!cpp && pending) fail(shown, lineno, "a doc-test comment is followed by a block that is not C++");
      block b = pending ? next : block{};
      pending = false;
      b.file = shown;
      b.path = path.string();
      b.line = lineno;
      std::size_t j = i + 1;
      for (; j < lines.size() && !starts_with(trim(lines[j]), "```"); ++j)
        if (cpp) b.code.push_back(lines[j]);
      if (j == lines.size()) fail(shown, lineno, "the block is never closed");
      if (cpp) out.push_back(std::move(b));
      i = j;
      continue;
    }
    if (pending && !t.empty()) fail(shown, lineno, "a doc-test comment must come right before its ```cpp block");
  }
  if (pending) fail(shown, lines.size(), "a doc-test comment at the end of the file has no block");
}

std::string c_string(const std::string& s) {
  std::string r = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    r += c;
  }
  return r + '"';
}

// The lines of a page, marked as the page's for the compiler; what follows is marked as
// the generated file's again, so that a failing test case reports its own line.
void emit_lines(std::ostringstream& os, const block& b, std::size_t first, const std::vector<std::string>& lines,
                const std::string& output) {
  os << "#line " << first << ' ' << c_string(b.path) << '\n';
  for (const auto& l : lines) os << l << '\n';
  const std::string text = os.str();
  const auto next_line = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 2;
  os << "#line " << next_line << ' ' << c_string(output) << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: extract_doc_blocks <output.cpp> <root dir> <file.md>...\n";
    return 2;
  }
  const std::filesystem::path root = argv[2];
  std::vector<block> blocks;
  for (int i = 3; i < argc; ++i) {
    const std::filesystem::path p = argv[i];
    read_blocks(p, std::filesystem::relative(p, root).generic_string(), blocks);
  }

  std::ostringstream os;
  os << "// Generated from the Markdown files by tests/docs/extract_doc_blocks.cpp: do not edit.\n"
     << "#include \"doc_harness.hpp\"\n";
  std::size_t n = 0, runs = 0, page = 0;
  std::string open_page;
  for (const auto& b : blocks) {
    if (b.file != open_page) {
      if (!open_page.empty()) os << "}  // namespace doc_page_" << page << '\n';
      open_page = b.file;
      os << "\n// " << b.file << "\nnamespace doc_page_" << ++page << " {\n";
    }
    ++n;
    os << "\n// the block at line " << b.line << '\n';
    if (b.how == mode::top_level || b.how == mode::boost) {
      // At the page's own scope: what it declares, the page's later blocks may use.
      if (b.how == mode::boost) os << "#if defined(ASIOLITE_USE_BOOST_ASIO)\n";
      if (!b.given.empty()) emit_lines(os, b, b.given_line, b.given, argv[1]);
      emit_lines(os, b, b.line + 1, b.code, argv[1]);
      if (b.how == mode::boost) os << "#endif\n";
      continue;
    }
    const std::string ns = "block_" + std::to_string(b.line);
    os << "namespace " << ns << " {\n"
       << "asio::awaitable<void> body([[maybe_unused]] asio::any_io_executor ex) {\n";
    if (!b.given.empty()) emit_lines(os, b, b.given_line, b.given, argv[1]);
    os << "{\n";
    emit_lines(os, b, b.line + 1, b.code, argv[1]);
    os << "}\nco_return;\n}\n}  // namespace " << ns << '\n';
    if (b.how == mode::run) {
      ++runs;
      os << "TEST_CASE(" << c_string("docs: " + b.file + ", the block at line " + std::to_string(b.line) + ", runs")
         << ") {\n  asiolite_docs::run_in_temp_dir(&" << ns << "::body);\n}\n";
    }
  }
  if (!open_page.empty()) os << "}  // namespace doc_page_" << page << '\n';
  os << "\n// " << n << " blocks compiled, " << runs << " of them run.\n";

  // Write only when the text changed: an edit of a page's prose runs this again but
  // rebuilds nothing.
  const std::string text = os.str();
  {
    std::ifstream old(argv[1]);
    std::stringstream prev;
    prev << old.rdbuf();
    if (old && prev.str() == text) return 0;
  }
  std::ofstream out(argv[1]);
  out << text;
  if (!out) {
    std::cerr << argv[1] << ": cannot write\n";
    return 1;
  }
  std::cout << "doc blocks: " << n << " compiled, " << runs << " run\n";
  return 0;
}
