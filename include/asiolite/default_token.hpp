// The completion token an asiolite initiating function uses when given none.
#pragma once

#include <asiolite/config.hpp>

namespace asiolite {

/// `co_await db.async_x(...)` inside an asio::awaitable<> throws sqlite_error on failure.
/// (Before Asio 1.31 asio::default_completion_token_t is void, so every initiating
/// function names this one explicitly.)
using default_token_t = asio::use_awaitable_t<>;

}  // namespace asiolite
