import Foundation
import KMSModel

/// The `ConnectionState` of one custom key store as a value (kms-spec §3.2), in the style of
/// SwiftNIO's state machines: the state carries what belongs to it (when it began, when a
/// transition in flight is due, the error code of `FAILED`), each event is a mutating function
/// that returns its own result enum, and the engine switches over results exhaustively and only
/// executes them (schedule, record the event, save, publish). No clock, no actor.
public struct ConnectionStateMachine: Sendable, Equatable {
  public enum State: Sendable, Equatable {
    case disconnected(since: Date)
    /// A connect is in flight; its attempt is due at `until`.
    case connecting(since: Date, until: Date)
    case connected(since: Date)
    /// A disconnect is in flight; it completes at `until`.
    case disconnecting(since: Date, until: Date)
    case failed(ConnectionErrorCodeType, since: Date)
  }

  public private(set) var state: State

  /// A new store starts DISCONNECTED.
  public init(createdAt: Date) { state = .disconnected(since: createdAt) }

  public init(state: State) { self.state = state }

  // MARK: What the state says

  public var connectionState: ConnectionStateType {
    switch state {
    case .disconnected: .disconnected
    case .connecting: .connecting
    case .connected: .connected
    case .disconnecting: .disconnecting
    case .failed: .failed
    }
  }

  /// Present exactly when the state is `FAILED`.
  public var errorCode: ConnectionErrorCodeType? {
    if case .failed(let code, _) = state { return code }
    return nil
  }

  /// When the store entered its current state.
  public var since: Date {
    switch state {
    case .disconnected(let since), .connecting(let since, _), .connected(let since),
      .disconnecting(let since, _), .failed(_, let since):
      since
    }
  }

  /// When the transition in flight is due; nil when none is.
  public var dueAt: Date? {
    switch state {
    case .connecting(_, let until), .disconnecting(_, let until): until
    case .disconnected, .connected, .failed: nil
    }
  }

  /// Keys in the store are usable only while CONNECTED (kms-spec §5.4).
  public var keysUsable: Bool { connectionState == .connected }
  public var isTransient: Bool { dueAt != nil }

  // MARK: ConnectCustomKeyStore

  public enum ConnectResult: Sendable, Equatable {
    /// Accepted: the store is CONNECTING; run the attempt at this moment.
    case scheduleAttempt(at: Date)
    /// Already CONNECTING or CONNECTED: allowed by the model, nothing changes (open point 10.3).
    case noChange
    /// Answer the caller with this error; the state did not change.
    case refuse(KMSError)
  }

  /// `quickFailure` is what the cluster check found; it counts only from DISCONNECTED, after the
  /// state check, as KMS does.
  public mutating func connect(storeId: String, now: Date, duration: TimeInterval, quickFailure: KMSError?)
    -> ConnectResult
  {
    switch state {
    case .disconnected:
      if let quickFailure { return .refuse(quickFailure) }
      let due = now + duration
      state = .connecting(since: now, until: due)
      return .scheduleAttempt(at: due)
    case .connecting, .connected:
      return .noChange
    case .failed:
      return .refuse(
        Self.invalidState(
          storeId, .failed,
          "A custom key store in the FAILED state must be disconnected before it can be connected again."))
    case .disconnecting:
      return .refuse(
        Self.invalidState(storeId, .disconnecting, "Wait until it is DISCONNECTED, then connect it."))
    }
  }

  // MARK: DisconnectCustomKeyStore

  public enum DisconnectResult: Sendable, Equatable {
    /// Accepted: the store is DISCONNECTING; complete it at this moment.
    case scheduleCompletion(at: Date)
    case refuse(KMSError)
  }

  /// Allowed from CONNECTED, CONNECTING (the attempt is abandoned) and FAILED (the code clears).
  public mutating func disconnect(storeId: String, now: Date, duration: TimeInterval) -> DisconnectResult {
    switch state {
    case .connected, .connecting, .failed:
      let due = now + duration
      state = .disconnecting(since: now, until: due)
      return .scheduleCompletion(at: due)
    case .disconnected:
      return .refuse(Self.invalidState(storeId, .disconnected, "It is already disconnected."))
    case .disconnecting:
      return .refuse(Self.invalidState(storeId, .disconnecting, "A disconnect is already in progress."))
    }
  }

  // MARK: The clock reached a deadline

  public enum DueResult: Sendable, Equatable {
    /// The connect attempt is due: evaluate the cluster and report it with `attemptFinished`.
    case runConnectAttempt
    /// The disconnect completed: the store is DISCONNECTED.
    case disconnected
    /// The transition in flight is due later.
    case notYet(until: Date)
    /// Nothing is in flight (a stale timer).
    case nothingInFlight
  }

  public mutating func deadlineReached(now: Date) -> DueResult {
    switch state {
    case .connecting(_, let until):
      return until <= now ? .runConnectAttempt : .notYet(until: until)
    case .disconnecting(_, let until):
      guard until <= now else { return .notYet(until: until) }
      state = .disconnected(since: until)
      return .disconnected
    case .disconnected, .connected, .failed:
      return .nothingInFlight
    }
  }

  public enum AttemptResult: Sendable, Equatable {
    case connected
    case failed(ConnectionErrorCodeType)
    /// The store is no longer CONNECTING (a disconnect overtook it): the attempt is discarded.
    case discarded
  }

  /// The connect attempt ended: nil is success, otherwise the failure code. `at` is its due time.
  public mutating func attemptFinished(_ failure: ConnectionErrorCodeType?, at date: Date) -> AttemptResult {
    guard case .connecting = state else { return .discarded }
    if let failure {
      state = .failed(failure, since: date)
      return .failed(failure)
    }
    state = .connected(since: date)
    return .connected
  }

  /// Brings a transition in flight due now (seeding a scenario "as if the time had passed").
  public mutating func expedite(now: Date) {
    switch state {
    case .connecting(let since, let until) where until > now: state = .connecting(since: since, until: now)
    case .disconnecting(let since, let until) where until > now:
      state = .disconnecting(since: since, until: now)
    default: break
    }
  }

  /// Resuming after a restart: a transition in flight keeps the time it had left when the state
  /// was last saved.
  public mutating func resume(savedAt: Date, now: Date) {
    switch state {
    case .connecting(let since, let until):
      state = .connecting(since: since, until: now + max(0, until.timeIntervalSince(savedAt)))
    case .disconnecting(let since, let until):
      state = .disconnecting(since: since, until: now + max(0, until.timeIntervalSince(savedAt)))
    case .disconnected, .connected, .failed:
      break
    }
  }

  // MARK: Update and delete

  public enum Permission: Sendable, Equatable {
    case proceed
    case refuse(KMSError)
  }

  /// UpdateCustomKeyStore. Some properties need DISCONNECTED; the rest CONNECTED or DISCONNECTED.
  public func update(storeId: String, requiresDisconnected: Bool) -> Permission {
    switch state {
    case .disconnected:
      return .proceed
    case .connected where !requiresDisconnected:
      return .proceed
    case .connected:
      return .refuse(
        Self.invalidState(
          storeId, .connected, "Disconnect the custom key store before changing this property."))
    case .failed:
      return .refuse(
        Self.invalidState(
          storeId, .failed, "A FAILED custom key store must be disconnected before it can be updated."))
    case .connecting, .disconnecting:
      return .refuse(Self.invalidState(storeId, connectionState, "Wait until the transition completes."))
    }
  }

  /// DeleteCustomKeyStore needs DISCONNECTED.
  public func delete(storeId: String) -> Permission {
    if case .disconnected = state { return .proceed }
    return .refuse(
      Self.invalidState(storeId, connectionState, "Disconnect the custom key store before deleting it."))
  }

  static func invalidState(_ storeId: String, _ state: ConnectionStateType, _ advice: String) -> KMSError {
    KMSError(
      .customKeyStoreInvalidStateException,
      "Custom key store \(storeId) is in the \(state.rawValue) state. \(advice)")
  }
}

/// The saved form, unchanged from earlier versions of the state file: the state name, the error
/// code, when it began and the transition in flight.
struct SavedConnection: Codable, Equatable {
  struct Machine: Codable, Equatable {
    var state: ConnectionStateType
    var errorCode: ConnectionErrorCodeType?
  }

  struct Pending: Codable, Equatable {
    enum Kind: String, Codable { case connect, disconnect }
    var kind: Kind
    var dueAt: Date
  }

  var machine: Machine
  var stateSince: Date
  var pending: Pending?

  init(machine: Machine, stateSince: Date, pending: Pending?) {
    self.machine = machine
    self.stateSince = stateSince
    self.pending = pending
  }

  init(_ machine: ConnectionStateMachine) {
    self.machine = Machine(state: machine.connectionState, errorCode: machine.errorCode)
    stateSince = machine.since
    switch machine.state {
    case .connecting(_, let until): pending = Pending(kind: .connect, dueAt: until)
    case .disconnecting(_, let until): pending = Pending(kind: .disconnect, dueAt: until)
    case .disconnected, .connected, .failed: pending = nil
    }
  }

  /// nil for a combination the machine cannot reach.
  var restored: ConnectionStateMachine? {
    switch (machine.state, machine.errorCode, pending?.kind) {
    case (.disconnected, nil, nil): ConnectionStateMachine(state: .disconnected(since: stateSince))
    case (.connected, nil, nil): ConnectionStateMachine(state: .connected(since: stateSince))
    case (.failed, let code?, nil): ConnectionStateMachine(state: .failed(code, since: stateSince))
    case (.connecting, nil, .connect):
      ConnectionStateMachine(state: .connecting(since: stateSince, until: pending!.dueAt))
    case (.disconnecting, nil, .disconnect):
      ConnectionStateMachine(state: .disconnecting(since: stateSince, until: pending!.dueAt))
    default: nil
    }
  }
}
