// What a prepared statement's requests do on the worker: prepare it, and run it. (The Job
// contract is in job.hpp.)
#pragma once

#include <asiolite/detail/database.hpp>
#include <asiolite/detail/held_statement.hpp>
#include <asiolite/detail/jobs.hpp>
#include <asiolite/detail/request_target.hpp>

#include <memory>
#include <string_view>
#include <tuple>
#include <utility>

namespace asiolite {
class prepared_statement;
}

namespace asiolite::detail {

class prepare_job : public handle_delivery<prepared_statement, held_statement> {
 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = prepared_statement;

  prepare_job(request_target target, std::shared_ptr<held_statement> state)
      : handle_delivery(std::move(target), std::move(state)) {}

  /// Routed by a pool: the reader it runs on, which the prepared statement then runs on.
  void bind_reader(const request_target& reader) { target_ = reader; }

  void operator()(database& s, failure& f) {
    auto stmt = s.prepare_owned(state_->sql(), f);
    if (!stmt) return;
    state_->hold(std::move(stmt), s.held());
    made();
  }

  result_type take_result(const failure& f);  // impl/prepared_statement.hpp: the handle is complete there

  std::string_view sql() const noexcept { return state_->sql(); }
};

/// One run of a prepared statement, with its own copies of the arguments.
template <class Form, class... P>
class prepared_job {
 public:
  static constexpr request_kind kind = request_kind::statement;
  static constexpr bool groupable = requires { Form::groupable; };
  using result_type = typename Form::result_type;

  prepared_job(std::shared_ptr<held_statement> state, std::tuple<P...> params)
      : state_(std::move(state)), params_(std::move(params)) {}

  void operator()(database& s, failure& f) {
    sqlite3_stmt* stmt = state_->statement();
    if (!stmt) {
      f.set(errc::closed, "the connection was closed (a prepared statement cannot outlive its connection)");
      return;
    }
    const statement_source source(stmt, state_->sql());
    std::apply([&](const P&... p) { outcome_.run(s, source, f, p...); }, params_);
  }
  result_type take_result(const failure& f) { return outcome_.take(f); }
  std::string_view sql() const noexcept { return state_ ? std::string_view(state_->sql()) : std::string_view(); }

 private:
  std::shared_ptr<held_statement> state_;
  std::tuple<P...> params_;
  form_result<Form> outcome_;
};

}  // namespace asiolite::detail
