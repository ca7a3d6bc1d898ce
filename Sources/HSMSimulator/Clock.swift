import Foundation
import Synchronization

/// The engine's only source of time. Tests inject `ManualClock`; the demo and the server use
/// `SystemClock`, whose durations the latency model scales.
public protocol EngineClock: Sendable {
  func now() -> Date
  /// Whether the engine should run a background task that wakes at deadlines. A manual clock
  /// says no: a test advances it and then runs the engine's due work itself (`runDueWork()`), so
  /// tests are deterministic.
  var drivesTimers: Bool { get }
  /// Suspends until `deadline` or until cancelled.
  func sleep(until deadline: Date) async throws
}

public struct SystemClock: EngineClock {
  public init() {}
  public func now() -> Date { Date() }
  public var drivesTimers: Bool { true }
  public func sleep(until deadline: Date) async throws {
    let seconds = deadline.timeIntervalSinceNow
    if seconds > 0 { try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000)) }
  }
}

/// A clock that moves only when told to.
public final class ManualClock: EngineClock {
  private let current: Mutex<Date>

  public init(start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
    current = Mutex(start)
  }

  public func now() -> Date { current.withLock { $0 } }
  public var drivesTimers: Bool { false }
  public func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }
  public func sleep(until deadline: Date) async throws {
    // Never used by the engine (drivesTimers is false); waits cooperatively if someone does.
    while now() < deadline {
      try Task.checkCancellation()
      await Task.yield()
    }
  }
}
