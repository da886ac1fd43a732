// What every block of the documentation may assume, and how a runnable block is run.
// Included first by the file extract_doc_blocks generates.
#pragma once

#include "catch.hpp"
#include "test_support.hpp"

#include "../asio_flavour.hpp"
#include <asiolite.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

// The documentation writes durations as 5s and 100ms.
using namespace std::chrono_literals;

namespace asiolite_docs {

/// Runs body(ex) on a fresh io_context with a fresh temporary directory as the working
/// directory, so a block's "app.db" is its own; rethrows what the block throws.
inline void run_in_temp_dir(asio::awaitable<void> (*body)(asio::any_io_executor)) {
  test::temp_dir dir;
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  struct restore {
    std::filesystem::path to;
    ~restore() { std::filesystem::current_path(to); }
  } back{previous};
  asio::io_context ctx;
  test::run(ctx, body(ctx.get_executor()));
}

}  // namespace asiolite_docs
