import Foundation

// The runtime's coalescing decisions as values, in the style of SwiftNIO's state machines: a
// struct with an enum state; each event is a mutating func that returns what the runtime must do.
// The runtime switches over every result and only executes it (spawn a load, schedule a frame,
// start or cancel the animation ticker). No clock and no task in here: every state × event is a
// unit test.

/// Loading the fleet snapshot: at most one load in flight; requests while one runs coalesce into
/// one more load after it (its answer may predate what prompted the request).
public struct LoadMachine: Sendable, Equatable {
  public enum State: Sendable, Equatable {
    case idle
    case loading
    /// Loading, and another load was asked for meanwhile.
    case loadingThenReload
    /// The dashboard quits: nothing is loaded or delivered any more.
    case stopped
  }

  public enum Request: Sendable, Equatable {
    /// Start a load now.
    case startLoad
    /// A load is running; one more follows it.
    case coalesced
    case ignore
  }

  public enum Finished: Sendable, Equatable {
    /// Hand the result to `update`.
    case deliver
    /// Hand the result to `update`, then start the load that was asked for meanwhile.
    case deliverAndStartLoad
    /// The dashboard quits: drop the result.
    case discard
  }

  public enum Stop: Sendable, Equatable {
    case stopped
    case alreadyStopped
  }

  public private(set) var state: State

  public init(state: State = .idle) { self.state = state }

  public mutating func loadRequested() -> Request {
    switch state {
    case .idle:
      state = .loading
      return .startLoad
    case .loading, .loadingThenReload:
      state = .loadingThenReload
      return .coalesced
    case .stopped:
      return .ignore
    }
  }

  public mutating func loadFinished() -> Finished {
    switch state {
    case .loading:
      state = .idle
      return .deliver
    case .loadingThenReload:
      state = .loading
      return .deliverAndStartLoad
    case .idle:
      // No load was in flight (cannot happen in the runtime): the answer is still the newest.
      return .deliver
    case .stopped:
      return .discard
    }
  }

  public mutating func stop() -> Stop {
    switch state {
    case .idle, .loading, .loadingThenReload:
      state = .stopped
      return .stopped
    case .stopped:
      return .alreadyStopped
    }
  }
}

/// Frame pacing: a change asks for a frame; frames are at least `interval` apart (60 fps), and a
/// burst of changes before the frame is drawn coalesces into that one frame. An identical frame
/// writes nothing and does not count as drawn.
public struct FrameMachine: Sendable, Equatable {
  public static let interval = Duration.milliseconds(16)

  public enum State: Sendable, Equatable {
    /// No frame scheduled; `lastDrawn` is when the last frame was written (time on the
    /// runtime's clock, since its start).
    case idle(lastDrawn: Duration?)
    /// A frame is scheduled.
    case scheduled(lastDrawn: Duration?)
    case stopped
  }

  public enum Request: Sendable, Equatable {
    /// Render after this wait (zero: on the next turn of the terminal thread, after the jobs
    /// already queued, so a burst of messages makes one frame).
    case schedule(after: Duration)
    case alreadyScheduled
    case ignore
  }

  public enum Due: Sendable, Equatable {
    case render
    /// Nothing was scheduled, or the dashboard quits.
    case ignore
  }

  public enum Rendered: Sendable, Equatable {
    /// Send the frame to the terminal.
    case write
    /// The frame equals the one on screen: write nothing.
    case skip
  }

  public private(set) var state: State

  public init(state: State = .idle(lastDrawn: nil)) { self.state = state }

  public mutating func frameRequested(now: Duration) -> Request {
    switch state {
    case .idle(let last):
      state = .scheduled(lastDrawn: last)
      guard let last else { return .schedule(after: .zero) }
      return .schedule(after: max(.zero, last + Self.interval - now))
    case .scheduled:
      return .alreadyScheduled
    case .stopped:
      return .ignore
    }
  }

  public mutating func frameDue() -> Due {
    switch state {
    case .scheduled(let last):
      state = .idle(lastDrawn: last)
      return .render
    case .idle, .stopped:
      return .ignore
    }
  }

  /// The frame was rendered at `now`; `identical` when it equals the frame on screen.
  public mutating func frameRendered(identical: Bool, now: Duration) -> Rendered {
    switch state {
    case .idle:
      if identical { return .skip }
      state = .idle(lastDrawn: now)
      return .write
    case .scheduled:
      // Rendered while the next frame is already scheduled (cannot happen in the runtime): the
      // scheduled frame keeps its turn.
      if identical { return .skip }
      state = .scheduled(lastDrawn: now)
      return .write
    case .stopped:
      return .skip
    }
  }

  public enum Stop: Sendable, Equatable {
    /// A frame may still be scheduled: when it comes due, it renders nothing.
    case stopped
    case alreadyStopped
  }

  public mutating func stop() -> Stop {
    switch state {
    case .idle, .scheduled:
      state = .stopped
      return .stopped
    case .stopped:
      return .alreadyStopped
    }
  }
}

/// The animation tick: 10 Hz while something animates (a transient store, a highlight), no timer
/// at all otherwise.
public struct TickMachine: Sendable, Equatable {
  public static let interval = Duration.milliseconds(100)

  public enum State: Sendable, Equatable {
    case idle
    case ticking
    case stopped
  }

  public enum Change: Sendable, Equatable {
    case startTicker
    case cancelTicker
    case keep
  }

  public private(set) var state: State

  public init(state: State = .idle) { self.state = state }

  /// After every message: does anything on screen animate?
  public mutating func animationNeeded(_ needed: Bool) -> Change {
    switch (state, needed) {
    case (.idle, true):
      state = .ticking
      return .startTicker
    case (.ticking, false):
      state = .idle
      return .cancelTicker
    case (.idle, false), (.ticking, true), (.stopped, _):
      return .keep
    }
  }

  public mutating func stop() -> Change {
    switch state {
    case .ticking:
      state = .stopped
      return .cancelTicker
    case .idle:
      state = .stopped
      return .keep
    case .stopped:
      return .keep
    }
  }
}
