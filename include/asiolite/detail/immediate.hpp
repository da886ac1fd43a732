// Completing an operation that needs no request: a cursor delivering a row it already
// holds. Posted like every completion (never inline), without a trip to the worker.
#pragma once

#include <asiolite/config.hpp>
#include <asiolite/detail/failure.hpp>
#include <asiolite/error.hpp>

#include <exception>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace asiolite::detail {

/// The first completion argument for `f`, as the operation's Error type wants it; fills
/// the caller's diagnostics (cleared on success), as a request's completion does.
template <class Error>
Error make_completion_error(const failure& f, std::string_view sql, diagnostics* diag) {
  if (!f) {
    if (diag) diag->clear();
    return Error{};
  }
  diagnostics d(f.message, std::string(sql));
  if (diag) *diag = d;
  if constexpr (std::is_same_v<Error, std::exception_ptr>)
    return f.exception ? f.exception : std::make_exception_ptr(sqlite_error(f.code, std::move(d)));
  else
    return f.code;
}

/// Posts handler(error, values...) to the handler's executor (or `fallback`), allocating
/// with the handler's allocator.
template <class Handler, class Error, class... Values>
void post_completion(Handler&& handler, const asio::any_io_executor& fallback, Error error, Values... values) {
  auto ex = asio::get_associated_executor(handler, fallback);
  auto alloc = asio::get_associated_allocator(handler, asio::recycling_allocator<void>());
  asio::post(std::move(ex),
             asio::bind_allocator(std::move(alloc), [h = std::forward<Handler>(handler), e = std::move(error),
                                                     ... v = std::move(values)]() mutable {
               std::move(h)(std::move(e), std::move(v)...);
             }));
}

}  // namespace asiolite::detail
