// Out-of-line bodies of blob_handle.hpp.
#pragma once

#include <asiolite/detail/blob_jobs.hpp>

#include <utility>

namespace asiolite {

namespace detail {
inline blob_handle open_blob_job::take_result(const failure& f) { return deliver(f); }
}  // namespace detail

inline std::uint64_t blob_handle::size() const noexcept { return state_ ? state_->size() : 0; }

inline std::int64_t blob_handle::rowid() const noexcept { return state_ ? state_->rowid() : 0; }

inline bool blob_handle::writable() const noexcept { return state_ && state_->writable(); }

template <class MutableBufferSequence, class... Trailing>
auto blob_handle::async_read_some_at(std::uint64_t offset, const MutableBufferSequence& buffers,
                                     Trailing&&... trailing) {
  return detail::async_request(target_, detail::blob_read_job<MutableBufferSequence>(state_, offset, buffers),
                               std::forward<Trailing>(trailing)...);
}

template <class ConstBufferSequence, class... Trailing>
auto blob_handle::async_write_some_at(std::uint64_t offset, const ConstBufferSequence& buffers,
                                      Trailing&&... trailing) {
  return detail::async_request(target_, detail::blob_write_job<ConstBufferSequence>(state_, offset, buffers),
                               std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto blob_handle::async_reopen(std::int64_t rowid, Trailing&&... trailing) {
  return detail::async_request(target_, detail::blob_reopen_job(state_, rowid), std::forward<Trailing>(trailing)...);
}

template <class... Trailing>
auto blob_handle::async_close(Trailing&&... trailing) {
  return detail::async_request(target_, detail::blob_close_job(state_), std::forward<Trailing>(trailing)...);
}

}  // namespace asiolite
