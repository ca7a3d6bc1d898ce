import Synchronization

/// Time that moves only when a test moves it: the one implementation behind every test clock
/// (the engine's `EngineClock`, the poller's `PollingClock`, the dashboard's `Clock`), so each of
/// them is a thin adapter over the same sleepers and the same wake-up rules.
///
/// A sleep lasts until the time is advanced to its deadline (sleepers wake in deadline order) or
/// until its task is cancelled (`CancellationError`); a deadline already passed returns at once.
/// Each requested sleep is recorded, and `sleeper()` returns once something sleeps, so a test steps
/// a loop without waiting for real time.
public final class VirtualTime: Sendable {
  private struct Sleeper {
    var id: UInt64
    var deadline: Duration
    var continuation: CheckedContinuation<Void, any Error>
  }

  private struct State {
    var now: Duration = .zero
    var nextId: UInt64 = 0
    var sleepers: [Sleeper] = []
    /// Sleeps cancelled before they were registered.
    var cancelled: Set<UInt64> = []
    /// Tests waiting in `sleeper()`.
    var waiters: [CheckedContinuation<Void, Never>] = []
    /// Every sleep asked for, as a duration from the moment it was asked.
    var requested: [Duration] = []
  }

  private let state = Mutex(State())
  private let onSleep: @Sendable () -> Void

  /// `onSleep` runs whenever a sleeper starts waiting (tests wake on it instead of polling).
  public init(onSleep: @escaping @Sendable () -> Void = {}) {
    self.onSleep = onSleep
  }

  /// Time since the start.
  public var now: Duration { state.withLock { $0.now } }
  public var sleeperCount: Int { state.withLock { $0.sleepers.count } }
  /// The earliest deadline of a waiting sleeper.
  public var nextDeadline: Duration? { state.withLock { $0.sleepers.map(\.deadline).min() } }
  /// Every sleep asked for so far, as durations.
  public var requestedSleeps: [Duration] { state.withLock { $0.requested } }

  /// Sleeps for `duration` from now (the deadline is taken with the sleeper registered).
  public func sleep(for duration: Duration) async throws {
    try await sleep { now in now + duration }
  }

  public func sleep(until deadline: Duration) async throws {
    try await sleep { _ in deadline }
  }

  private func sleep(deadline: @escaping @Sendable (Duration) -> Duration) async throws {
    let id = state.withLock { state in
      state.nextId += 1
      return state.nextId
    }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let (outcome, waiters) = state.withLock {
          state -> (Result<Void, any Error>?, [CheckedContinuation<Void, Never>]) in
          if state.cancelled.remove(id) != nil { return (.failure(CancellationError()), []) }
          let until = deadline(state.now)
          state.requested.append(until - state.now)
          if until <= state.now { return (.success(()), []) }
          state.sleepers.append(Sleeper(id: id, deadline: until, continuation: continuation))
          defer { state.waiters = [] }
          return (nil, state.waiters)
        }
        if let outcome {
          continuation.resume(with: outcome)
        } else {
          onSleep()
          for waiter in waiters { waiter.resume() }
        }
      }
    } onCancel: {
      let sleeper = state.withLock { state -> Sleeper? in
        guard let at = state.sleepers.firstIndex(where: { $0.id == id }) else {
          state.cancelled.insert(id)
          return nil
        }
        return state.sleepers.remove(at: at)
      }
      sleeper?.continuation.resume(throwing: CancellationError())
    }
  }

  /// Moves time forward and wakes every sleeper whose deadline has come, earliest first.
  public func advance(by duration: Duration) {
    advance(to: now + duration)
  }

  public func advance(to instant: Duration) {
    let due = state.withLock { state -> [Sleeper] in
      state.now = max(state.now, instant)
      let now = state.now
      let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
      state.sleepers.removeAll { $0.deadline <= now }
      return due
    }
    for sleeper in due { sleeper.continuation.resume() }
  }

  /// Returns once something sleeps.
  public func sleeper() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let ready = state.withLock { state -> Bool in
        if !state.sleepers.isEmpty { return true }
        state.waiters.append(continuation)
        return false
      }
      if ready { continuation.resume() }
    }
  }
}

extension Duration {
  /// Whole and fractional seconds, for adapters that speak `TimeInterval`.
  public var seconds: Double {
    let parts = components
    return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
  }

  public static func interval(_ seconds: Double) -> Duration {
    .nanoseconds(Int64((seconds * 1e9).rounded()))
  }
}
