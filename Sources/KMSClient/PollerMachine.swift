import Foundation

/// The remote poller's loop as a value, in the style of SwiftNIO's state machines: a struct with
/// an enum state; each event is a mutating func that returns what the poller must do. The poller
/// actor switches over every result and only executes it (start or cancel the loop, sleep on the
/// injected clock, wake the sleeper, finish the subscribers). No clock and no task in here.
///
/// The loop refreshes, then sleeps for the delay the refresh chose (the interval, shorter while
/// something is transient, longer after failures). An action that changed the fleet wakes it at
/// once; if it arrives during a refresh, one more refresh follows that one without sleeping (the
/// running refresh may have read the fleet before the action).
public struct PollerMachine: Sendable, Equatable {
  public enum State: Sendable, Equatable {
    /// No subscriber: nothing polls (a snapshot request still refreshes on demand).
    case idle
    /// The loop is refreshing; `wakeRequested` when an action asked for another refresh meanwhile.
    case refreshing(wakeRequested: Bool)
    /// The loop waits for its next refresh.
    case sleeping(Duration)
    /// Shut down: nothing polls again and every stream is finished.
    case stopped
  }

  public enum Subscribed: Sendable, Equatable {
    /// The first subscriber: start the loop (it refreshes at once).
    case startLoop
    case alreadyPolling
    /// Shut down: finish the new stream at once.
    case finishStream
  }

  public enum RefreshFinished: Sendable, Equatable {
    /// Sleep this long, then tell `sleepEnded()`.
    case sleep(Duration)
    /// An action asked for a refresh during this one: refresh again now.
    case refreshAgain
    /// The loop was cancelled meanwhile (no subscriber left, or shut down): end it.
    case exitLoop
  }

  public enum SleepEnded: Sendable, Equatable {
    case refresh
    case exitLoop
  }

  public enum Wake: Sendable, Equatable {
    /// Cancel the loop's sleep: it refreshes at once.
    case wakeSleeper
    /// A refresh is running; another follows it.
    case refreshQueued
    /// Nothing polls: the next snapshot request or subscriber refreshes anyway.
    case nothingToWake
  }

  public enum Unsubscribed: Sendable, Equatable {
    /// The last subscriber left: cancel the loop.
    case cancelLoop
    /// No loop runs.
    case noLoop
  }

  public enum Stop: Sendable, Equatable {
    /// Cancel the loop (and its sleep) and finish every stream.
    case cancelLoopAndFinish
    /// No loop: finish every stream.
    case finish
    case alreadyStopped
  }

  public private(set) var state: State

  public init(state: State = .idle) { self.state = state }

  public mutating func subscribed() -> Subscribed {
    switch state {
    case .idle:
      state = .refreshing(wakeRequested: false)
      return .startLoop
    case .refreshing, .sleeping:
      return .alreadyPolling
    case .stopped:
      return .finishStream
    }
  }

  /// The loop's refresh ended and chose `delay` before the next one.
  public mutating func refreshFinished(delay: Duration) -> RefreshFinished {
    switch state {
    case .refreshing(wakeRequested: false):
      state = .sleeping(delay)
      return .sleep(delay)
    case .refreshing(wakeRequested: true):
      state = .refreshing(wakeRequested: false)
      return .refreshAgain
    case .sleeping(let current):
      // Only the loop refreshes in this state, and it is asleep (cannot happen): keep sleeping.
      return .sleep(current)
    case .idle, .stopped:
      return .exitLoop
    }
  }

  /// The loop's sleep ended: its time passed, or a wake cancelled it.
  public mutating func sleepEnded() -> SleepEnded {
    switch state {
    case .sleeping:
      state = .refreshing(wakeRequested: false)
      return .refresh
    case .refreshing:
      // A wake moved the loop on already.
      return .refresh
    case .idle, .stopped:
      return .exitLoop
    }
  }

  /// An action changed the fleet: refresh as soon as possible.
  public mutating func wakeRequested() -> Wake {
    switch state {
    case .sleeping:
      state = .refreshing(wakeRequested: false)
      return .wakeSleeper
    case .refreshing:
      state = .refreshing(wakeRequested: true)
      return .refreshQueued
    case .idle, .stopped:
      return .nothingToWake
    }
  }

  /// The last subscriber's stream ended.
  public mutating func lastSubscriberLeft() -> Unsubscribed {
    switch state {
    case .refreshing, .sleeping:
      state = .idle
      return .cancelLoop
    case .idle, .stopped:
      return .noLoop
    }
  }

  public mutating func stop() -> Stop {
    switch state {
    case .refreshing, .sleeping:
      state = .stopped
      return .cancelLoopAndFinish
    case .idle:
      state = .stopped
      return .finish
    case .stopped:
      return .alreadyStopped
    }
  }
}
