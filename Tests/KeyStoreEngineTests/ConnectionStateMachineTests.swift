import Foundation
import KMSModel
import KeyStoreEngine
import Testing

/// kms-spec §3.2: the pure state machine, every state × every event, with the result each event
/// returns. No clock, no actor: moments are plain dates.
@Suite struct ConnectionStateMachineTests {
  static let storeId = "cks-1234567890abcdef0"
  static let quickFailure = KMSError(.cloudHsmClusterNotActiveException, "The cluster is not active.")
  static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
  /// When each event happens; transitions take `duration`.
  static let now = t0 + 100
  static let duration: TimeInterval = 4

  enum Event: CaseIterable, Sendable, CustomTestStringConvertible {
    case connect, connectWithQuickFailure, deadlineNotYet, deadlineReached
    case attemptSucceeded, attemptFailed, disconnect, updateAnyState, updateNeedsDisconnected, delete

    var testDescription: String { "\(self)" }
  }

  /// A machine in `state`, reached through events from a new machine (FAILED carries
  /// USER_LOCKED_OUT). Transitions began at t0 + 10 and are due at t0 + 14.
  static func machine(in state: ConnectionStateType) -> ConnectionStateMachine {
    var machine = ConnectionStateMachine(createdAt: t0)
    let start = t0 + 10
    func connect() {
      _ = machine.connect(storeId: storeId, now: start, duration: duration, quickFailure: nil)
    }
    switch state {
    case .disconnected:
      break
    case .connecting:
      connect()
    case .connected:
      connect()
      _ = machine.attemptFinished(nil, at: start + duration)
    case .failed:
      connect()
      _ = machine.attemptFinished(.userLockedOut, at: start + duration)
    case .disconnecting:
      connect()
      _ = machine.attemptFinished(nil, at: start + duration)
      _ = machine.disconnect(storeId: storeId, now: start, duration: duration)
    }
    return machine
  }

  /// What each event returns, as text, and the state after it. "refused" is
  /// CustomKeyStoreInvalidStateException naming the store and its state.
  static func expected(_ state: ConnectionStateType, _ event: Event) -> (ConnectionStateType, String) {
    let due = "\(now + duration)"
    switch (event, state) {
    case (.connect, .disconnected): return (.connecting, "scheduleAttempt(\(due))")
    case (.connect, .connecting), (.connect, .connected): return (state, "noChange")
    case (.connect, .failed), (.connect, .disconnecting): return (state, "refused")

    case (.connectWithQuickFailure, .disconnected): return (.disconnected, "quickFailure")
    case (.connectWithQuickFailure, .connecting), (.connectWithQuickFailure, .connected):
      return (state, "noChange")
    // The state check comes before the cluster check.
    case (.connectWithQuickFailure, .failed), (.connectWithQuickFailure, .disconnecting):
      return (state, "refused")

    case (.deadlineNotYet, .connecting), (.deadlineNotYet, .disconnecting):
      return (state, "notYet(\(t0 + 10 + duration))")
    case (.deadlineNotYet, _): return (state, "nothingInFlight")
    case (.deadlineReached, .connecting): return (.connecting, "runConnectAttempt")
    case (.deadlineReached, .disconnecting): return (.disconnected, "disconnected")
    case (.deadlineReached, _): return (state, "nothingInFlight")

    case (.attemptSucceeded, .connecting): return (.connected, "connected")
    case (.attemptSucceeded, _): return (state, "discarded")
    case (.attemptFailed, .connecting): return (.failed, "failed(SUBNET_NOT_FOUND)")
    case (.attemptFailed, _): return (state, "discarded")

    case (.disconnect, .connected), (.disconnect, .connecting), (.disconnect, .failed):
      return (.disconnecting, "scheduleCompletion(\(due))")
    case (.disconnect, .disconnected), (.disconnect, .disconnecting): return (state, "refused")

    case (.updateAnyState, .connected), (.updateAnyState, .disconnected): return (state, "proceed")
    case (.updateAnyState, _): return (state, "refused")
    case (.updateNeedsDisconnected, .disconnected): return (state, "proceed")
    case (.updateNeedsDisconnected, _): return (state, "refused")

    case (.delete, .disconnected): return (state, "proceed")
    case (.delete, _): return (state, "refused")
    }
  }

  /// Applies the event and describes its result in the words of `expected`.
  static func apply(_ event: Event, to machine: inout ConnectionStateMachine) -> String {
    func refusal(_ error: KMSError) -> String {
      if error == quickFailure { return "quickFailure" }
      let named = error.message.contains(storeId) && error.message.contains(machine.connectionState.rawValue)
      return error.code == .customKeyStoreInvalidStateException && named ? "refused" : "wrong error: \(error)"
    }
    switch event {
    case .connect, .connectWithQuickFailure:
      let quick = event == .connect ? nil : quickFailure
      switch machine.connect(storeId: storeId, now: now, duration: duration, quickFailure: quick) {
      case .scheduleAttempt(let at): return "scheduleAttempt(\(at))"
      case .noChange: return "noChange"
      case .refuse(let error): return refusal(error)
      }
    case .deadlineNotYet, .deadlineReached:
      let moment = event == .deadlineReached ? t0 + 10 + duration : t0 + 11
      switch machine.deadlineReached(now: moment) {
      case .runConnectAttempt: return "runConnectAttempt"
      case .disconnected: return "disconnected"
      case .notYet(let until): return "notYet(\(until))"
      case .nothingInFlight: return "nothingInFlight"
      }
    case .attemptSucceeded, .attemptFailed:
      let failure: ConnectionErrorCodeType? = event == .attemptSucceeded ? nil : .subnetNotFound
      switch machine.attemptFinished(failure, at: now) {
      case .connected: return "connected"
      case .failed(let code): return "failed(\(code.rawValue))"
      case .discarded: return "discarded"
      }
    case .disconnect:
      switch machine.disconnect(storeId: storeId, now: now, duration: duration) {
      case .scheduleCompletion(let at): return "scheduleCompletion(\(at))"
      case .refuse(let error): return refusal(error)
      }
    case .updateAnyState, .updateNeedsDisconnected, .delete:
      let permission =
        switch event {
        case .updateAnyState: machine.update(storeId: storeId, requiresDisconnected: false)
        case .updateNeedsDisconnected: machine.update(storeId: storeId, requiresDisconnected: true)
        default: machine.delete(storeId: storeId)
        }
      switch permission {
      case .proceed: return "proceed"
      case .refuse(let error): return refusal(error)
      }
    }
  }

  @Test(arguments: ConnectionStateType.allCases, Event.allCases)
  func everyStateTimesEveryEvent(state: ConnectionStateType, event: Event) {
    var machine = Self.machine(in: state)
    #expect(machine.connectionState == state)
    let before = machine
    let result = Self.apply(event, to: &machine)
    let (expectedState, expectedResult) = Self.expected(state, event)

    #expect(result == expectedResult)
    #expect(machine.connectionState == expectedState)
    // ConnectionErrorCode is present exactly when FAILED; a deadline exactly while transient.
    #expect((machine.errorCode != nil) == (machine.connectionState == .failed))
    #expect(
      (machine.dueAt != nil)
        == (machine.connectionState == .connecting || machine.connectionState == .disconnecting))
    // An event that is refused, or changes nothing, leaves the machine exactly as it was.
    if [
      "refused", "quickFailure", "noChange", "nothingInFlight", "discarded", "runConnectAttempt", "proceed",
    ]
    .contains(result) || result.hasPrefix("notYet") {
      #expect(machine == before)
    }
    // A new state begins when the event happened (or, for a completed disconnect, when it was due).
    if expectedState != state {
      let began = event == .deadlineReached ? Self.t0 + 10 + Self.duration : Self.now
      #expect(machine.since == began)
    }
  }

  @Test func newMachineIsDisconnectedWithoutCode() {
    let machine = ConnectionStateMachine(createdAt: Self.t0)
    #expect(machine.state == .disconnected(since: Self.t0))
    #expect(machine.errorCode == nil)
    #expect(machine.dueAt == nil)
    #expect(!machine.keysUsable)
    #expect(!machine.isTransient)
  }

  @Test func disconnectFromFailedClearsTheCode() {
    var machine = Self.machine(in: .failed)
    #expect(machine.errorCode == .userLockedOut)
    #expect(
      machine.disconnect(storeId: Self.storeId, now: Self.now, duration: 2)
        == .scheduleCompletion(at: Self.now + 2))
    #expect(machine.state == .disconnecting(since: Self.now, until: Self.now + 2))
    #expect(machine.errorCode == nil)
    #expect(machine.deadlineReached(now: Self.now + 2) == .disconnected)
    #expect(machine.state == .disconnected(since: Self.now + 2))
  }

  @Test func anAttemptOvertakenByADisconnectIsDiscarded() {
    var machine = Self.machine(in: .connecting)
    _ = machine.disconnect(storeId: Self.storeId, now: Self.now, duration: 3)
    #expect(machine.attemptFinished(nil, at: Self.now + 1) == .discarded)
    #expect(machine.attemptFinished(.networkErrors, at: Self.now + 1) == .discarded)
    #expect(machine.connectionState == .disconnecting)
    #expect(machine.errorCode == nil)
    #expect(machine.deadlineReached(now: Self.now + 3) == .disconnected)
  }

  @Test func keysUsableOnlyWhenConnected() {
    for state in ConnectionStateType.allCases {
      let machine = Self.machine(in: state)
      #expect(machine.keysUsable == (state == .connected))
      #expect(machine.isTransient == (state == .connecting || state == .disconnecting))
    }
  }

  @Test func resumingKeepsTheTimeThatWasLeft() {
    var machine = Self.machine(in: .connecting)  // due at t0 + 14
    machine.resume(savedAt: Self.t0 + 12, now: Self.t0 + 1000)
    #expect(machine.dueAt == Self.t0 + 1002)
    #expect(machine.since == Self.t0 + 10)
    var overdue = Self.machine(in: .disconnecting)
    overdue.resume(savedAt: Self.t0 + 20, now: Self.t0 + 1000)
    #expect(overdue.dueAt == Self.t0 + 1000)
    var settled = Self.machine(in: .failed)
    settled.resume(savedAt: Self.t0, now: Self.t0 + 1000)
    #expect(settled == Self.machine(in: .failed))
  }

  @Test func expediteBringsTheDeadlineToNow() {
    var machine = Self.machine(in: .connecting)
    machine.expedite(now: Self.t0 + 11)
    #expect(machine.deadlineReached(now: Self.t0 + 11) == .runConnectAttempt)
  }

  @Test func fullCycleAndEveryCode() {
    for code in ConnectionErrorCodeType.allCases {
      var machine = ConnectionStateMachine(createdAt: Self.t0)
      var now = Self.t0
      func connect() -> ConnectionStateMachine.ConnectResult {
        machine.connect(storeId: Self.storeId, now: now, duration: 1, quickFailure: nil)
      }
      #expect(connect() == .scheduleAttempt(at: now + 1))
      now += 1
      #expect(machine.deadlineReached(now: now) == .runConnectAttempt)
      #expect(machine.attemptFinished(code, at: now) == .failed(code))
      #expect(machine.state == .failed(code, since: now))
      guard case .refuse = connect() else {
        Issue.record("connect from FAILED must be refused")
        continue
      }
      #expect(
        machine.disconnect(storeId: Self.storeId, now: now, duration: 1) == .scheduleCompletion(at: now + 1))
      now += 1
      #expect(machine.deadlineReached(now: now) == .disconnected)
      #expect(connect() == .scheduleAttempt(at: now + 1))
      #expect(machine.deadlineReached(now: now + 1) == .runConnectAttempt)
      #expect(machine.attemptFinished(nil, at: now + 1) == .connected)
      #expect(machine.state == .connected(since: now + 1))
      #expect(machine.errorCode == nil)
    }
  }
}
