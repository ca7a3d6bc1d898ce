import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// An exclusive advisory lock (`flock`) on a sibling lock file, held until `release()` or deinit.
/// The lock file records the holder's pid so a refusal can name it. `flock` locks belong to an
/// open file description: a second open of the same file, even in the same process, is refused.
final class FileLock: @unchecked Sendable {
  let path: String
  private let lock = NSLock()
  private var fd: Int32

  /// Takes the lock at `lockPath`, or throws `alreadyInUse` naming `statePath`.
  init(lockPath: String, statePath: String) throws(StorageError) {
    path = lockPath
    let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw .io(path: lockPath, detail: "cannot open the lock file: \(posixMessage(errno))")
    }
    // A child process forked by this one (or by another kmsdash) keeps a copy of a released
    // lock's descriptor until it execs; retry briefly before calling the file busy.
    var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
    var code = locked ? 0 : errno
    for _ in 0..<40 where !locked && code == EWOULDBLOCK {
      usleep(10_000)
      locked = flock(fd, LOCK_EX | LOCK_NB) == 0
      code = locked ? 0 : errno
    }
    if !locked {
      let holder = code == EWOULDBLOCK ? Self.readPid(fd) : nil
      close(fd)
      if code == EWOULDBLOCK {
        throw .alreadyInUse(path: statePath, pid: holder)
      }
      throw .io(path: lockPath, detail: "cannot lock: \(posixMessage(code))")
    }
    // Record who holds it; best effort, the lock itself is what counts.
    let pid = "\(getpid())\n"
    _ = ftruncate(fd, 0)
    _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    self.fd = fd
  }

  deinit { release() }

  /// Drops the lock; idempotent.
  func release() {
    lock.lock()
    defer { lock.unlock() }
    guard fd >= 0 else { return }
    // Leave the file in place: unlinking it would race with a process about to lock it.
    _ = ftruncate(fd, 0)
    close(fd)
    fd = -1
  }

  private static func readPid(_ fd: Int32) -> Int32? {
    var buffer = [UInt8](repeating: 0, count: 32)
    let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    guard count > 0 else { return nil }
    let text = String(decoding: buffer[0..<count], as: UTF8.self)
    return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
  }
}

func posixMessage(_ code: Int32) -> String {
  String(cString: strerror(code))
}

/// `open(2)` and `close(2)` under names that members called `open`/`close` cannot shadow.
func openFile(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
  open(path, flags, mode)
}

func closeFile(_ fd: Int32) {
  _ = close(fd)
}
