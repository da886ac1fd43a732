// The Job contract: what one request does on the worker, and what it hands to the caller.
// Every asynchronous operation is a job started through detail::start_request
// (request_target.hpp); adding an operation means writing a job that meets this concept.
#pragma once

#include <asiolite/detail/failure.hpp>
#include <asiolite/detail/request.hpp>

#include <concepts>
#include <string_view>
#include <type_traits>

namespace asiolite::detail {

/// A job:
/// - `static constexpr request_kind kind`: how the queue treats it (request.hpp);
/// - `using result_type`: what the completion delivers after the error (void: nothing);
/// - `void operator()(database&, failure&)`: runs on the worker, records a failure in the
///   failure (or throws: the exception becomes the outcome); keeps its result inside;
/// - `result_type take_result()` or `take_result(const failure&)`: hands the result over
///   on the caller's side, also when the job failed or never ran (the failure says so);
///   not needed when result_type is void;
/// - `sql() const`: the SQL text, for diagnostics (empty when there is none).
/// Optional: `static constexpr bool interruptible = false` for a job that must run to its
/// end once started (COMMIT), and `lease_to_begin()` for a job that starts a transaction
/// (its lease then holds the connection; see operation's constructor). A job that makes
/// a handle tied to its connection (a cursor, a prepared statement) has
/// `bind_reader(const request_target&)`: a pool calls it with the reader it routed the job
/// to, before the request is made (pool_core.hpp); `static constexpr bool holds_reader`
/// marks a job that holds that reader for itself (a read transaction's BEGIN), which then
/// gets the hold through `take_hold`. `static constexpr bool groupable = true` marks an
/// autocommit write that group commit may run with others in one transaction.
template <class J>
concept job = std::move_constructible<J> && requires(J& j, const J& cj, database& s, failure& f) {
  { J::kind } -> std::convertible_to<request_kind>;
  typename J::result_type;
  { j(s, f) } -> std::same_as<void>;
  { cj.sql() } -> std::convertible_to<std::string_view>;
} &&(
    std::is_void_v<typename J::result_type> ||
    requires(J & j, const failure& f) {
      { j.take_result(f) } -> std::same_as<typename J::result_type>;
    } ||
    requires(J & j) {
      { j.take_result() } -> std::same_as<typename J::result_type>;
    });

}  // namespace asiolite::detail
