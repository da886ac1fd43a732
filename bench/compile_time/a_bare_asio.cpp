// (a) The floor: a coroutine that hands work to a std::thread and resumes on its own
// executor when the thread is done, with bare Asio; what any asynchronous SQLite call
// must compile at the least.
#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

template <class Token>
auto async_on_thread(asio::any_io_executor ex, Token&& token) {
  return asio::async_initiate<Token, void(std::error_code, std::vector<std::tuple<int, std::string>>)>(
      [ex](auto handler) {
        auto work = asio::make_work_guard(ex);
        std::thread([h = std::move(handler), work = std::move(work)]() mutable {
          std::vector<std::tuple<int, std::string>> rows{{1, "one"}};
          auto home = work.get_executor();
          asio::dispatch(home, [h = std::move(h), rows = std::move(rows)]() mutable {
            std::move(h)(std::error_code{}, std::move(rows));
          });
        }).detach();
      },
      token);
}

asio::awaitable<void> run() {
  auto ex = co_await asio::this_coro::executor;
  auto rows = co_await async_on_thread(ex, asio::use_awaitable);
  (void)rows;
}

int main() {
  asio::io_context ctx;
  asio::co_spawn(ctx, run(), asio::detached);
  ctx.run();
}
