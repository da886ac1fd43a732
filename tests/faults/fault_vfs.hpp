// A test VFS that wraps SQLite's default one and fails chosen file operations: the K-th
// call of xWrite, xSync, xRead or xTruncate (counted over every file the VFS opened:
// database, journal, WAL) returns an error code instead of reaching the disk, once or
// on every later call until cleared. Used by test_faults.cpp.
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace faults {

/// The file operations a fault can hit.
enum class file_op : std::size_t { write, sync, read, truncate };
inline constexpr std::size_t file_op_count = 4;

inline const char* name_of(file_op op) noexcept {
  switch (op) {
    case file_op::write:
      return "xWrite";
    case file_op::sync:
      return "xSync";
    case file_op::read:
      return "xRead";
    case file_op::truncate:
      return "xTruncate";
  }
  return "?";
}

/// The extended I/O error code the unix VFS itself returns when the operation fails.
inline int ioerr_code_of(file_op op) noexcept {
  switch (op) {
    case file_op::write:
      return SQLITE_IOERR_WRITE;
    case file_op::sync:
      return SQLITE_IOERR_FSYNC;
    case file_op::read:
      return SQLITE_IOERR_READ;
    case file_op::truncate:
      return SQLITE_IOERR_TRUNCATE;
  }
  return SQLITE_IOERR;
}

/// Registered under `name` for its lifetime (never as the default VFS); a connection uses
/// it through options::vfs. Arm and clear from any thread; the counters are atomics.
/// With `flush_to_disk` false, a successful xSync returns without asking the kernel to
/// flush (SQLite sees the same success): a sweep of hundreds of runs then takes no disk
/// waits. Durability across power loss is not what these tests look at.
class fault_vfs {
 public:
  explicit fault_vfs(std::string name, bool flush_to_disk = true) : name_(std::move(name)), flush_(flush_to_disk) {
    base_ = sqlite3_vfs_find(nullptr);
    if (!base_) throw std::runtime_error("no default VFS");
    vfs_.iVersion = std::min(base_->iVersion, 3);
    vfs_.szOsFile = static_cast<int>(sizeof(file)) + base_->szOsFile;
    vfs_.mxPathname = base_->mxPathname;
    vfs_.zName = name_.c_str();
    vfs_.pAppData = this;
    vfs_.xOpen = &open;
    vfs_.xDelete = [](sqlite3_vfs* v, const char* path, int dir_sync) { return base(v)->xDelete(base(v), path, dir_sync); };
    vfs_.xAccess = [](sqlite3_vfs* v, const char* path, int flags, int* out) {
      return base(v)->xAccess(base(v), path, flags, out);
    };
    vfs_.xFullPathname = [](sqlite3_vfs* v, const char* path, int n, char* out) {
      return base(v)->xFullPathname(base(v), path, n, out);
    };
    vfs_.xDlOpen = [](sqlite3_vfs* v, const char* path) { return base(v)->xDlOpen(base(v), path); };
    vfs_.xDlError = [](sqlite3_vfs* v, int n, char* out) { base(v)->xDlError(base(v), n, out); };
    vfs_.xDlSym = [](sqlite3_vfs* v, void* h, const char* sym) { return base(v)->xDlSym(base(v), h, sym); };
    vfs_.xDlClose = [](sqlite3_vfs* v, void* h) { base(v)->xDlClose(base(v), h); };
    vfs_.xRandomness = [](sqlite3_vfs* v, int n, char* out) { return base(v)->xRandomness(base(v), n, out); };
    vfs_.xSleep = [](sqlite3_vfs* v, int us) { return base(v)->xSleep(base(v), us); };
    vfs_.xCurrentTime = [](sqlite3_vfs* v, double* out) { return base(v)->xCurrentTime(base(v), out); };
    vfs_.xGetLastError = [](sqlite3_vfs* v, int n, char* out) { return base(v)->xGetLastError(base(v), n, out); };
    if (vfs_.iVersion >= 2)
      vfs_.xCurrentTimeInt64 = [](sqlite3_vfs* v, sqlite3_int64* out) { return base(v)->xCurrentTimeInt64(base(v), out); };
    if (vfs_.iVersion >= 3) {
      vfs_.xSetSystemCall = [](sqlite3_vfs* v, const char* n, sqlite3_syscall_ptr p) {
        return base(v)->xSetSystemCall(base(v), n, p);
      };
      vfs_.xGetSystemCall = [](sqlite3_vfs* v, const char* n) { return base(v)->xGetSystemCall(base(v), n); };
      vfs_.xNextSystemCall = [](sqlite3_vfs* v, const char* n) { return base(v)->xNextSystemCall(base(v), n); };
    }
    if (const int rc = sqlite3_vfs_register(&vfs_, 0); rc != SQLITE_OK)
      throw std::runtime_error("sqlite3_vfs_register failed: " + std::string(sqlite3_errstr(rc)));
  }
  fault_vfs(const fault_vfs&) = delete;
  fault_vfs& operator=(const fault_vfs&) = delete;
  ~fault_vfs() { sqlite3_vfs_unregister(&vfs_); }

  const std::string& name() const noexcept { return name_; }

  /// From now on, the `after`-th call of `op` (0: the very next one) fails with `code`;
  /// a persistent fault also fails every later call of `op` until clear().
  void arm(file_op op, int code, std::uint64_t after, bool persistent) noexcept {
    clear();
    target_.store(op, std::memory_order_relaxed);
    code_.store(code, std::memory_order_relaxed);
    persistent_.store(persistent, std::memory_order_relaxed);
    trigger_.store(calls(op) + after, std::memory_order_relaxed);
    armed_.store(true, std::memory_order_release);
  }

  /// No call fails any more; the counters keep counting.
  void clear() noexcept { armed_.store(false, std::memory_order_release); }

  /// Calls of `op` since this VFS was registered (failed ones included).
  std::uint64_t calls(file_op op) const noexcept { return calls_[index(op)].load(std::memory_order_acquire); }

  /// Calls that were failed on purpose since this VFS was registered.
  std::uint64_t injected() const noexcept { return injected_.load(std::memory_order_acquire); }

 private:
  // One open file: ours, followed in the same allocation by the wrapped VFS's.
  struct file {
    sqlite3_file base;
    fault_vfs* owner;
    sqlite3_file* real() noexcept { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };
  static_assert(sizeof(file) % alignof(std::max_align_t) == 0, "the wrapped file follows ours, aligned");

  static std::size_t index(file_op op) noexcept { return static_cast<std::size_t>(op); }
  static sqlite3_vfs* base(sqlite3_vfs* v) noexcept { return static_cast<fault_vfs*>(v->pAppData)->base_; }
  static file& self(sqlite3_file* f) noexcept { return *reinterpret_cast<file*>(f); }
  static sqlite3_file* real(sqlite3_file* f) noexcept { return self(f).real(); }
  static const sqlite3_io_methods& real_methods(sqlite3_file* f) noexcept { return *real(f)->pMethods; }

  // Counts the call; the error code to return instead of doing it, or SQLITE_OK.
  int fault_for(file_op op) noexcept {
    const std::uint64_t n = calls_[index(op)].fetch_add(1, std::memory_order_acq_rel);
    if (!armed_.load(std::memory_order_acquire) || target_.load(std::memory_order_relaxed) != op) return SQLITE_OK;
    const std::uint64_t at = trigger_.load(std::memory_order_relaxed);
    if (n != at && !(persistent_.load(std::memory_order_relaxed) && n > at)) return SQLITE_OK;
    injected_.fetch_add(1, std::memory_order_acq_rel);
    return code_.load(std::memory_order_relaxed);
  }

  static int open(sqlite3_vfs* v, const char* path, sqlite3_file* f, int flags, int* out_flags) {
    auto* owner = static_cast<fault_vfs*>(v->pAppData);
    file& ours = self(f);
    ours.owner = owner;
    ours.base.pMethods = nullptr;
    sqlite3_file* inner = ours.real();
    inner->pMethods = nullptr;
    const int rc = owner->base_->xOpen(owner->base_, path, inner, flags, out_flags);
    if (rc != SQLITE_OK) {
      // SQLite closes a file whose open failed only if pMethods is set: ours stays null.
      if (inner->pMethods) inner->pMethods->xClose(inner);
      return rc;
    }
    ours.base.pMethods = &methods_for(inner->pMethods->iVersion);
    return SQLITE_OK;
  }

  // The same forwarding table, in the wrapped file's version (SQLite looks at iVersion
  // before using the later members).
  static const sqlite3_io_methods& methods_for(int version) noexcept {
    static const std::array<sqlite3_io_methods, 3> tables = [] {
      std::array<sqlite3_io_methods, 3> t{};
      for (int v = 1; v <= 3; ++v) t[static_cast<std::size_t>(v - 1)] = make_methods(v);
      return t;
    }();
    return tables[static_cast<std::size_t>(std::clamp(version, 1, 3) - 1)];
  }

  static sqlite3_io_methods make_methods(int version) noexcept {
    sqlite3_io_methods m{};
    m.iVersion = version;
    m.xClose = [](sqlite3_file* f) { return real_methods(f).xClose(real(f)); };
    m.xRead = [](sqlite3_file* f, void* out, int n, sqlite3_int64 at) {
      if (const int rc = self(f).owner->fault_for(file_op::read)) return rc;
      return real_methods(f).xRead(real(f), out, n, at);
    };
    m.xWrite = [](sqlite3_file* f, const void* in, int n, sqlite3_int64 at) {
      if (const int rc = self(f).owner->fault_for(file_op::write)) return rc;
      return real_methods(f).xWrite(real(f), in, n, at);
    };
    m.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
      if (const int rc = self(f).owner->fault_for(file_op::truncate)) return rc;
      return real_methods(f).xTruncate(real(f), size);
    };
    m.xSync = [](sqlite3_file* f, int flags) {
      if (const int rc = self(f).owner->fault_for(file_op::sync)) return rc;
      if (!self(f).owner->flush_) return SQLITE_OK;
      return real_methods(f).xSync(real(f), flags);
    };
    m.xFileSize = [](sqlite3_file* f, sqlite3_int64* out) { return real_methods(f).xFileSize(real(f), out); };
    m.xLock = [](sqlite3_file* f, int level) { return real_methods(f).xLock(real(f), level); };
    m.xUnlock = [](sqlite3_file* f, int level) { return real_methods(f).xUnlock(real(f), level); };
    m.xCheckReservedLock = [](sqlite3_file* f, int* out) { return real_methods(f).xCheckReservedLock(real(f), out); };
    m.xFileControl = [](sqlite3_file* f, int op, void* arg) { return real_methods(f).xFileControl(real(f), op, arg); };
    m.xSectorSize = [](sqlite3_file* f) { return real_methods(f).xSectorSize(real(f)); };
    m.xDeviceCharacteristics = [](sqlite3_file* f) { return real_methods(f).xDeviceCharacteristics(real(f)); };
    if (version >= 2) {
      m.xShmMap = [](sqlite3_file* f, int region, int size, int extend, void volatile** out) {
        return real_methods(f).xShmMap(real(f), region, size, extend, out);
      };
      m.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
        return real_methods(f).xShmLock(real(f), offset, n, flags);
      };
      m.xShmBarrier = [](sqlite3_file* f) { real_methods(f).xShmBarrier(real(f)); };
      m.xShmUnmap = [](sqlite3_file* f, int del) { return real_methods(f).xShmUnmap(real(f), del); };
    }
    if (version >= 3) {
      m.xFetch = [](sqlite3_file* f, sqlite3_int64 at, int n, void** out) {
        return real_methods(f).xFetch(real(f), at, n, out);
      };
      m.xUnfetch = [](sqlite3_file* f, sqlite3_int64 at, void* p) { return real_methods(f).xUnfetch(real(f), at, p); };
    }
    return m;
  }

  std::string name_;
  bool flush_;
  sqlite3_vfs* base_ = nullptr;
  sqlite3_vfs vfs_{};
  std::array<std::atomic<std::uint64_t>, file_op_count> calls_{};
  std::atomic<std::uint64_t> injected_{0};
  std::atomic<bool> armed_{false};
  std::atomic<file_op> target_{file_op::write};
  std::atomic<int> code_{SQLITE_OK};
  std::atomic<bool> persistent_{false};
  std::atomic<std::uint64_t> trigger_{0};
};

}  // namespace faults
