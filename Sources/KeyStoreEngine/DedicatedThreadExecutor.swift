import Foundation

/// A serial executor with a thread of its own. The engine actor runs on one, so its durable
/// writes (SQLite with `synchronous=FULL`, an fsync per commit) block that thread and never a
/// thread of Swift's cooperative pool, which has only two on a two-core machine.
final class DedicatedThreadExecutor: SerialExecutor, @unchecked Sendable {
  private let queue = JobQueue()

  init(name: String) {
    let queue = self.queue
    let executor = UnownedSerialExecutor(ordinary: self)
    let thread = Thread {
      // Captures the queue and an unowned reference only: the thread ends when the executor goes.
      while let batch = queue.next() {
        for job in batch { job.runSynchronously(on: executor) }
      }
    }
    thread.name = name
    thread.start()
  }

  deinit { queue.close() }

  func enqueue(_ job: consuming ExecutorJob) {
    queue.push(UnownedJob(job))
  }

  func asUnownedSerialExecutor() -> UnownedSerialExecutor {
    UnownedSerialExecutor(ordinary: self)
  }
}

/// Jobs waiting for the executor's thread, in order.
private final class JobQueue: @unchecked Sendable {
  private let condition = NSCondition()
  private var jobs: [UnownedJob] = []
  private var closed = false

  func push(_ job: UnownedJob) {
    condition.lock()
    jobs.append(job)
    condition.signal()
    condition.unlock()
  }

  func close() {
    condition.lock()
    closed = true
    condition.signal()
    condition.unlock()
  }

  /// Every job queued so far, waiting for one; nil once closed and drained.
  func next() -> [UnownedJob]? {
    condition.lock()
    defer { condition.unlock() }
    while jobs.isEmpty && !closed { condition.wait() }
    if jobs.isEmpty { return nil }
    defer { jobs = [] }
    return jobs
  }
}
