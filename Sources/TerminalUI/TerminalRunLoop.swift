import CNcursesw
import Glibc
import Synchronization

/// The dedicated terminal thread. It is the `SerialExecutor` of `@TerminalActor` and blocks in
/// `poll(2)` on an eventfd (new actor jobs) plus any watched file descriptors (stdin, the signal
/// self-pipe). There is no timer: when nothing happens, the thread makes no wakeups.
public final class TerminalRunLoop: SerialExecutor, @unchecked Sendable {
  /// Readiness reported for a watched descriptor.
  public struct Readiness: Sendable, Hashable {
    public var readable: Bool
    /// POLLHUP, POLLERR or POLLNVAL: the descriptor is finished; the watch is removed.
    public var hangUp: Bool
  }

  public static let shared = TerminalRunLoop()

  private let jobs = Mutex<[UnownedJob]>([])
  private let wakeFD: Int32
  private let threadID = Atomic<UInt>(0)
  // Only touched on the loop thread.
  private var watchers: [(fd: Int32, handler: @TerminalActor (Readiness) -> Void)] = []
  /// Wakeups of the loop thread (poll returns), for measurements and tests.
  private let wakeupCount = Atomic<Int>(0)

  private init() {
    wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
    precondition(wakeFD >= 0, "eventfd failed")
    let box = Unmanaged.passRetained(self).toOpaque()
    var tid = pthread_t()
    let rc = pthread_create(
      &tid, nil,
      { arg in
        let loop = Unmanaged<TerminalRunLoop>.fromOpaque(arg!).takeRetainedValue()
        loop.run()
        return nil
      }, box)
    precondition(rc == 0, "pthread_create failed")
    pthread_detach(tid)
  }

  /// How many times the loop thread returned from `poll`.
  public var wakeups: Int { wakeupCount.load(ordering: .relaxed) }

  public func enqueue(_ job: consuming ExecutorJob) {
    let unownedJob = UnownedJob(job)
    let wasEmpty = jobs.withLock { queue in
      let empty = queue.isEmpty
      queue.append(unownedJob)
      return empty
    }
    if wasEmpty {
      var one: UInt64 = 1
      _ = write(wakeFD, &one, 8)
    }
  }

  public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
    UnownedSerialExecutor(ordinary: self)
  }

  public var isOnLoopThread: Bool {
    let id = threadID.load(ordering: .acquiring)
    return id != 0 && pthread_equal(pthread_self(), pthread_t(id)) != 0
  }

  public func checkIsolated() {
    precondition(isOnLoopThread, "not on the terminal thread")
  }

  /// Calls `handler` on the loop thread whenever `fd` is readable or hung up. Must be called on
  /// the terminal thread.
  @TerminalActor
  public func watch(fd: Int32, handler: @escaping @TerminalActor (Readiness) -> Void) {
    watchers.append((fd, handler))
  }

  /// Stops watching `fd`.
  @TerminalActor
  public func unwatch(fd: Int32) {
    watchers.removeAll { $0.fd == fd }
  }

  private func run() {
    threadID.store(UInt(pthread_self()), ordering: .releasing)
    var fds: [pollfd] = []
    while true {
      var counter: UInt64 = 0
      _ = read(wakeFD, &counter, 8)
      let batch = jobs.withLock { queue -> [UnownedJob] in
        let b = queue
        queue.removeAll(keepingCapacity: true)
        return b
      }
      for job in batch { job.runSynchronously(on: asUnownedSerialExecutor()) }
      if !batch.isEmpty { continue }  // jobs may have queued more jobs or changed watchers

      fds.removeAll(keepingCapacity: true)
      fds.append(pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0))
      for w in watchers { fds.append(pollfd(fd: w.fd, events: Int16(POLLIN), revents: 0)) }
      let n = poll(&fds, nfds_t(fds.count), -1)
      wakeupCount.add(1, ordering: .relaxed)
      if n <= 0 { continue }  // EINTR
      let ready = fds.dropFirst().filter { $0.revents != 0 }
      for p in ready {
        let hup = p.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
        let readiness = Readiness(readable: p.revents & Int16(POLLIN) != 0, hangUp: hup)
        guard let w = watchers.first(where: { $0.fd == p.fd }) else { continue }
        if hup { watchers.removeAll { $0.fd == p.fd } }
        TerminalActor.assumeIsolated { w.handler(readiness) }
      }
    }
  }
}

/// The global actor of everything that touches the terminal: its executor is the terminal
/// thread (`TerminalRunLoop`).
@globalActor
public actor TerminalActor {
  public static let shared = TerminalActor()

  public nonisolated var unownedExecutor: UnownedSerialExecutor {
    TerminalRunLoop.shared.asUnownedSerialExecutor()
  }

  /// Runs `operation` synchronously, asserting that the caller is on the terminal thread (like
  /// `MainActor.assumeIsolated`).
  public static func assumeIsolated<T>(_ operation: @TerminalActor () -> T) -> T {
    TerminalRunLoop.shared.checkIsolated()
    return withoutActuallyEscaping(operation) { op in
      unsafeBitCast(op, to: (() -> T).self)()
    }
  }
}
