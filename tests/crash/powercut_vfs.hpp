// A test VFS that simulates a power cut: it wraps the default (unix) VFS and keeps every
// write that has not been synced in this process's memory, writing it to the real file only
// on xSync. A SIGKILL of the process then loses exactly what a power cut would lose: the
// unsynced writes. Used by crash_child.cpp; the checks run in the parent with the real VFS.
//
// Simplifications, kinder than a real disk: file creation and deletion reach the directory
// at once (as if every directory operation were synced; so a rollback journal deleted at
// commit never comes back, which with synchronous FULL rather than EXTRA a real power cut may
// do), and unsynced writes are lost whole (no torn pages, no partly kept writes). xSync does not call fsync: what is on the real
// file survives the kill of this process, which is all the simulation needs. A file's whole
// content is copied into memory at its first unsynced write: fine for test databases.
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace powercut {

// What one file path holds that the real file does not (yet): shared by every handle on the
// path in this process (a pool's readers read the writer's unsynced WAL frames, as they
// would read the page cache).
struct file_state {
  bool dirty = false;
  std::vector<unsigned char> image;                              // the whole file as written
  std::vector<std::pair<sqlite3_int64, sqlite3_int64>> written;  // (offset, length) since sync
};

struct registry {
  std::mutex mutex;
  std::map<std::string, file_state> files;
  sqlite3_vfs* real = nullptr;
  sqlite3_vfs vfs{};
  sqlite3_io_methods methods{};
  std::string name;
};

inline registry& reg() {
  static registry r;
  return r;
}

struct file {
  sqlite3_file base;   // must be first: SQLite sees this
  sqlite3_file* real;  // the unix VFS's file, allocated just after this struct
  file_state* state;   // null for files without a name (temporary files): passed through
};

inline sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<file*>(f)->real; }

// Loads the real file into the image the first time a handle changes the path's content.
inline int make_dirty(sqlite3_file* real, file_state& s) {
  if (s.dirty) return SQLITE_OK;
  sqlite3_int64 size = 0;
  int rc = real->pMethods->xFileSize(real, &size);
  if (rc != SQLITE_OK) return rc;
  s.image.assign(static_cast<std::size_t>(size), 0);
  if (size > 0) {
    rc = real->pMethods->xRead(real, s.image.data(), static_cast<int>(size), 0);
    if (rc != SQLITE_OK) return rc;
  }
  s.written.clear();
  s.dirty = true;
  return SQLITE_OK;
}

inline int x_close(sqlite3_file* f) {
  // Closing does not sync: what a closed file left unsynced stays pending (kept by path).
  sqlite3_file* real = real_of(f);
  const int rc = real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
  f->pMethods = nullptr;
  return rc;
}

inline int x_read(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  file* p = reinterpret_cast<file*>(f);
  if (p->state) {
    std::lock_guard lock(reg().mutex);
    file_state& s = *p->state;
    if (s.dirty) {
      const auto size = static_cast<sqlite3_int64>(s.image.size());
      const sqlite3_int64 available = std::clamp<sqlite3_int64>(size - offset, 0, amount);
      if (available > 0) std::memcpy(out, s.image.data() + offset, static_cast<std::size_t>(available));
      if (available < amount) {
        std::memset(static_cast<unsigned char*>(out) + available, 0, static_cast<std::size_t>(amount - available));
        return SQLITE_IOERR_SHORT_READ;
      }
      return SQLITE_OK;
    }
  }
  return p->real->pMethods->xRead(p->real, out, amount, offset);
}

inline int x_write(sqlite3_file* f, const void* in, int amount, sqlite3_int64 offset) {
  file* p = reinterpret_cast<file*>(f);
  if (!p->state) return p->real->pMethods->xWrite(p->real, in, amount, offset);
  std::lock_guard lock(reg().mutex);
  file_state& s = *p->state;
  if (const int rc = make_dirty(p->real, s); rc != SQLITE_OK) return rc;
  const auto end = static_cast<std::size_t>(offset + amount);
  if (s.image.size() < end) s.image.resize(end, 0);
  std::memcpy(s.image.data() + offset, in, static_cast<std::size_t>(amount));
  s.written.emplace_back(offset, amount);
  return SQLITE_OK;
}

inline int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  file* p = reinterpret_cast<file*>(f);
  if (!p->state) return p->real->pMethods->xTruncate(p->real, size);
  std::lock_guard lock(reg().mutex);
  file_state& s = *p->state;
  if (const int rc = make_dirty(p->real, s); rc != SQLITE_OK) return rc;
  s.image.resize(static_cast<std::size_t>(size), 0);
  return SQLITE_OK;
}

// The only way data reaches the real file: what was written since the last sync goes out.
inline int x_sync(sqlite3_file* f, int) {
  file* p = reinterpret_cast<file*>(f);
  if (!p->state) return SQLITE_OK;
  std::lock_guard lock(reg().mutex);
  file_state& s = *p->state;
  if (!s.dirty) return SQLITE_OK;
  sqlite3_file* real = p->real;
  const auto size = static_cast<sqlite3_int64>(s.image.size());
  for (const auto& [offset, length] : s.written) {
    const sqlite3_int64 n = std::min(length, size - offset);  // a later truncate may cut it
    if (n <= 0) continue;
    if (const int rc = real->pMethods->xWrite(real, s.image.data() + offset, static_cast<int>(n), offset);
        rc != SQLITE_OK)
      return rc;
  }
  sqlite3_int64 real_size = 0;
  if (const int rc = real->pMethods->xFileSize(real, &real_size); rc != SQLITE_OK) return rc;
  if (real_size != size)
    if (const int rc = real->pMethods->xTruncate(real, size); rc != SQLITE_OK) return rc;
  s = file_state{};
  return SQLITE_OK;
}

inline int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  file* p = reinterpret_cast<file*>(f);
  if (p->state) {
    std::lock_guard lock(reg().mutex);
    if (p->state->dirty) {
      *size = static_cast<sqlite3_int64>(p->state->image.size());
      return SQLITE_OK;
    }
  }
  return p->real->pMethods->xFileSize(p->real, size);
}

inline int x_lock(sqlite3_file* f, int level) { return real_of(f)->pMethods->xLock(real_of(f), level); }
inline int x_unlock(sqlite3_file* f, int level) { return real_of(f)->pMethods->xUnlock(real_of(f), level); }
inline int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
inline int x_file_control(sqlite3_file* f, int op, void* arg) {
  // A size hint would make the unix VFS grow the real file behind the image's back.
  if (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE) return SQLITE_NOTFOUND;
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
inline int x_sector_size(sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
inline int x_device_characteristics(sqlite3_file* f) {
  // Never claim that writes reach the disk in order or atomically: SQLite would skip syncs.
  const int all = real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
  return all & ~(SQLITE_IOCAP_SEQUENTIAL | SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_ATOMIC512 | SQLITE_IOCAP_ATOMIC1K |
                 SQLITE_IOCAP_ATOMIC2K | SQLITE_IOCAP_ATOMIC4K | SQLITE_IOCAP_ATOMIC8K | SQLITE_IOCAP_ATOMIC16K |
                 SQLITE_IOCAP_ATOMIC32K | SQLITE_IOCAP_ATOMIC64K | SQLITE_IOCAP_BATCH_ATOMIC);
}
// The WAL index (-shm) is shared memory, not file data: it goes straight to the real VFS
// (and the parent deletes the -shm file before it reopens, as a power cut would lose it).
inline int x_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return real_of(f)->pMethods->xShmMap(real_of(f), page, size, extend, out);
}
inline int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
inline void x_shm_barrier(sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
inline int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}

inline int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  registry& r = reg();
  file* p = reinterpret_cast<file*>(f);
  p->real = reinterpret_cast<sqlite3_file*>(p + 1);
  p->state = nullptr;
  f->pMethods = nullptr;
  const int rc = r.real->xOpen(r.real, name, p->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  if (name) {
    std::lock_guard lock(r.mutex);
    p->state = &r.files[name];
  }
  f->pMethods = &r.methods;
  return SQLITE_OK;
}

inline int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  registry& r = reg();
  {
    std::lock_guard lock(r.mutex);
    if (auto it = r.files.find(name); it != r.files.end()) it->second = file_state{};
  }
  return r.real->xDelete(r.real, name, sync_dir);
}

/// Registers the VFS under `name` (not as the default). Call once, before opening.
inline void register_vfs(const std::string& name) {
  registry& r = reg();
  r.real = sqlite3_vfs_find(nullptr);
  r.name = name;
  r.vfs = *r.real;  // the other methods (names, access, randomness, time) are the unix VFS's
  r.vfs.pNext = nullptr;
  r.vfs.zName = r.name.c_str();
  r.vfs.szOsFile = static_cast<int>(sizeof(file)) + r.real->szOsFile;
  r.vfs.xOpen = x_open;
  r.vfs.xDelete = x_delete;
  // Version 2: shared memory for WAL, but no xFetch, so SQLite never reads through a
  // memory map of the real file (which would bypass the unsynced writes).
  r.methods.iVersion = 2;
  r.methods.xClose = x_close;
  r.methods.xRead = x_read;
  r.methods.xWrite = x_write;
  r.methods.xTruncate = x_truncate;
  r.methods.xSync = x_sync;
  r.methods.xFileSize = x_file_size;
  r.methods.xLock = x_lock;
  r.methods.xUnlock = x_unlock;
  r.methods.xCheckReservedLock = x_check_reserved_lock;
  r.methods.xFileControl = x_file_control;
  r.methods.xSectorSize = x_sector_size;
  r.methods.xDeviceCharacteristics = x_device_characteristics;
  r.methods.xShmMap = x_shm_map;
  r.methods.xShmLock = x_shm_lock;
  r.methods.xShmBarrier = x_shm_barrier;
  r.methods.xShmUnmap = x_shm_unmap;
  sqlite3_vfs_register(&r.vfs, 0);
}

}  // namespace powercut
