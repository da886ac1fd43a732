// What a cursor's requests do on the worker: open it (with its first batch), and fetch a
// batch for a caller who found none at hand. (The job contract is in job.hpp.)
#pragma once

#include <asiolite/detail/access.hpp>
#include <asiolite/detail/cursor_state.hpp>
#include <asiolite/detail/request_target.hpp>

#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace asiolite {
template <class T>
class cursor;
}

namespace asiolite::detail {

template <class T>
class cursor_open_job : public handle_delivery<cursor<T>, cursor_state<T>> {
  using base = handle_delivery<cursor<T>, cursor_state<T>>;
  using base::state_;
  using base::target_;

 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type = cursor<T>;

  cursor_open_job(request_target target, std::shared_ptr<cursor_state<T>> state)
      : base(std::move(target), std::move(state)) {}

  /// Routed by a pool: the reader it runs on, which the cursor then reads on.
  void bind_reader(const request_target& reader) {
    target_ = reader;
    state_->bind(reader.impl.get());
  }

  void operator()(database& s, failure& f) {
    if (state_->open(s, f)) this->made();
  }

  result_type take_result(const failure& f) { return this->deliver(f); }

  std::string_view sql() const noexcept { return state_->sql(); }
};

/// A caller found no rows at hand: this request delivers the next batch (Batch), or its
/// first row.
template <class T, bool Batch>
class cursor_fetch_job {
  using state_type = cursor_state<T>;

 public:
  static constexpr request_kind kind = request_kind::statement;
  using result_type =
      std::conditional_t<Batch, typename state_type::batch_type, std::optional<typename state_type::value_type>>;

  explicit cursor_fetch_job(std::shared_ptr<state_type> state) noexcept : state_(std::move(state)) {}

  void operator()(database& s, failure& f) {
    ran_ = true;
    outcome_ = state_->fetch(s);
    // A failure with no rows before it fails this request; a cancellation does, whatever
    // it cut short.
    auto& e = outcome_.error;
    if (e && (state_type::size(outcome_.rows) == 0 || e.code == errc::interrupt)) f = std::exchange(e, failure{});
  }

  result_type take_result(const failure& f) {
    if (f) {
      state_->fail(f);
      if (!ran_) state_->cancel_read_ahead();
      return result_type();
    }
    state_->accept(std::move(outcome_));
    if constexpr (Batch)
      return state_->take_batch();
    else
      return state_->take_next();
  }

  std::string_view sql() const noexcept { return state_->sql(); }

 private:
  std::shared_ptr<state_type> state_;
  typename state_type::outcome outcome_;
  bool ran_ = false;
};

}  // namespace asiolite::detail
