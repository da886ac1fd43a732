// A program that opens one database and prints why it could not: what a user whose
// process lacks a permission sees. test_error.cpp runs it as an unprivileged user, since
// the test process may run as root, for whom no permission is ever missing.
// Usage: open_probe [--as-uid N] <path>. With --as-uid, a probe started as root first
// becomes user and group N (while it has no other thread). Prints the failure's message;
// exits 0 if the open failed, 1 if it succeeded, 2 on bad usage, 3 if it could not drop
// its privileges.
#include <asiolite.hpp>

#include "asio_flavour.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#include <grp.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--as-uid") {
    const auto id = static_cast<uid_t>(std::strtoul(argv[2], nullptr, 10));
    if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setgid(id) != 0 || setuid(id) != 0)) return 3;
    argv += 2;
    argc -= 2;
  }
  if (argc != 2) return 2;
  asio::io_context ctx;
  asiolite::error_code ec;
  asiolite::diagnostics diag;
  asio::co_spawn(
      ctx,
      [](std::string path, asiolite::error_code& out, asiolite::diagnostics& d) -> asio::awaitable<void> {
        asiolite::connection db(co_await asio::this_coro::executor);
        asiolite::options opts;
        auto [e] = co_await db.async_open(path, opts, d, asiolite::compat::as_tuple(asio::use_awaitable));
        out = e;
      }(argv[1], ec, diag),
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ctx.run();
  std::printf("%s\n", diag.message().c_str());
  return ec ? 0 : 1;
}
