// The one way into the handles' private parts, for the library's own code: jobs make the
// handles they deliver (transaction, savepoint, cursor, prepared_statement), and the
// initiating functions ask a handle where its requests go.
#pragma once

#include <utility>

namespace asiolite::detail {

struct access {
  /// A handle made with its private constructor.
  template <class Handle, class... Args>
  static Handle construct(Args&&... args) {
    return Handle(std::forward<Args>(args)...);
  }

  /// Where `handle` sends its requests: its detail::request_target.
  template <class Handle>
  static auto target(const Handle& handle) {
    return handle.request_target();
  }
};

}  // namespace asiolite::detail
