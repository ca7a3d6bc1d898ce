import Foundation
import Synchronization

/// A `Clock` that moves only when a test advances it. Sleepers resume, in deadline order, once the
/// clock has been advanced to their deadline; a sleeper whose deadline has passed when it starts
/// returns at once; cancelling a sleeper ends its sleep with `CancellationError`.
final class TestClock: Clock, Sendable {
  struct Instant: InstantProtocol {
    var offset: Duration

    func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
    func duration(to other: Instant) -> Duration { other.offset - offset }
    static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
  }

  private struct Sleeper {
    var id: UInt64
    var deadline: Instant
    var continuation: CheckedContinuation<Void, any Error>
  }

  private struct State {
    var now = Instant(offset: .zero)
    var nextId: UInt64 = 0
    var sleepers: [Sleeper] = []
    /// Sleeps cancelled before they were registered.
    var cancelled: Set<UInt64> = []
  }

  private let state = Mutex(State())
  /// Called whenever a sleeper starts waiting (tests wake on it instead of polling).
  private let onSleep: @Sendable () -> Void

  init(onSleep: @escaping @Sendable () -> Void = {}) {
    self.onSleep = onSleep
  }

  var now: Instant { state.withLock { $0.now } }
  var minimumResolution: Duration { .zero }

  /// How many sleepers wait.
  var sleeperCount: Int { state.withLock { $0.sleepers.count } }

  /// The earliest deadline of a waiting sleeper.
  var nextDeadline: Instant? { state.withLock { $0.sleepers.map(\.deadline).min() } }

  func sleep(until deadline: Instant, tolerance: Duration?) async throws {
    let id = state.withLock { state in
      state.nextId += 1
      return state.nextId
    }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let outcome: Result<Void, any Error>? = state.withLock { state in
          if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
          if deadline <= state.now { return .success(()) }
          state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
          return nil
        }
        if let outcome {
          continuation.resume(with: outcome)
        } else {
          onSleep()
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

  /// Moves the clock forward and resumes every sleeper whose deadline has come.
  func advance(by duration: Duration) {
    advance(to: now.advanced(by: duration))
  }

  func advance(to instant: Instant) {
    let due = state.withLock { state -> [Sleeper] in
      state.now = max(state.now, instant)
      let now = state.now
      let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
      state.sleepers.removeAll { $0.deadline <= now }
      return due
    }
    for sleeper in due { sleeper.continuation.resume() }
  }
}
