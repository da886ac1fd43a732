// How the worker reports a failed request: a code, words, and (for user code) the exception.
#pragma once

#include <asiolite/error.hpp>

#include <exception>
#include <string>
#include <string_view>
#include <system_error>

namespace asiolite::detail {

struct failure {
  error_code code;
  std::string message;
  std::exception_ptr exception;  // set when user code threw: rethrown as is on the co_await path

  explicit operator bool() const noexcept { return static_cast<bool>(code); }

  void set(error_code ec, std::string msg) {
    code = ec;
    message = std::move(msg);
  }
  void set(errc e, std::string msg) { set(make_error_code(e), std::move(msg)); }

  // Keeps what user code threw; an sqlite_error keeps its own code and message.
  void set_current_exception() noexcept {
    exception = std::current_exception();
    try {
      throw;
    } catch (const sqlite_error& e) {
      code = e.code();
      message = e.get_diagnostics().message();
    } catch (const std::system_error& e) {
      code = e.code();
      message = e.what();
    } catch (const std::exception& e) {
      code = make_error_code(errc::user_exception);
      message = e.what();
    } catch (...) {
      code = make_error_code(errc::user_exception);
      message = "unknown exception";
    }
  }

  void clear() noexcept {
    code.clear();
    message.clear();
    exception = nullptr;
  }
};

/// Text SQLite's C functions take up to a NUL (a name, a path): one holding a NUL fails
/// with errc::embedded_nul, "<what> holds a NUL character", rather than being cut short.
inline bool check_no_nul(std::string_view text, std::string_view what, failure& f) {
  if (text.find('\0') == std::string_view::npos) return true;
  f.set(errc::embedded_nul, std::string(what) + " holds a NUL character");
  return false;
}

}  // namespace asiolite::detail
