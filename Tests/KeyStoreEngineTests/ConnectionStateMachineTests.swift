import KMSModel
import KeyStoreEngine
import Testing

/// kms-spec §3.2: the pure state machine, every state × every event. No clock, no actor.
@Suite struct ConnectionStateMachineTests {
  static let storeId = "cks-1234567890abcdef0"
  static let quickFailure = KMSError(.cloudHsmClusterNotActiveException, "The cluster is not active.")

  enum Event: CaseIterable, Sendable, CustomTestStringConvertible {
    case connect, connectWithQuickFailure, connectSucceeded, connectFailed, disconnect, disconnectFinished
    case updateAnyState, updateNeedsDisconnected, delete

    var testDescription: String { "\(self)" }
  }

  enum Outcome: Equatable {
    case startConnecting, startDisconnecting, none, proceed
    /// Refused with CustomKeyStoreInvalidStateException.
    case invalidState
    /// Refused with the quick failure passed in.
    case quickFailure
  }

  /// A machine in `state`, reached through events from a new machine (FAILED carries USER_LOCKED_OUT).
  static func machine(in state: ConnectionStateType) -> ConnectionStateMachine {
    var machine = ConnectionStateMachine()
    switch state {
    case .disconnected:
      break
    case .connecting:
      _ = machine.connect(storeId: storeId, quickFailure: nil)
    case .connected:
      _ = machine.connect(storeId: storeId, quickFailure: nil)
      _ = machine.connectFinished(nil)
    case .failed:
      _ = machine.connect(storeId: storeId, quickFailure: nil)
      _ = machine.connectFinished(.userLockedOut)
    case .disconnecting:
      _ = machine.connect(storeId: storeId, quickFailure: nil)
      _ = machine.connectFinished(nil)
      _ = machine.disconnect(storeId: storeId)
    }
    return machine
  }

  /// The expected result of each event in each state: (state after, outcome).
  static func expected(_ state: ConnectionStateType, _ event: Event) -> (ConnectionStateType, Outcome) {
    switch (event, state) {
    case (.connect, .disconnected): (.connecting, .startConnecting)
    case (.connect, .connecting), (.connect, .connected): (state, .none)
    case (.connect, .failed), (.connect, .disconnecting): (state, .invalidState)

    case (.connectWithQuickFailure, .disconnected): (.disconnected, .quickFailure)
    case (.connectWithQuickFailure, .connecting), (.connectWithQuickFailure, .connected): (state, .none)
    // The state check comes before the cluster check.
    case (.connectWithQuickFailure, .failed), (.connectWithQuickFailure, .disconnecting):
      (state, .invalidState)

    case (.connectSucceeded, .connecting): (.connected, .proceed)
    case (.connectSucceeded, _): (state, .none)
    case (.connectFailed, .connecting): (.failed, .proceed)
    case (.connectFailed, _): (state, .none)

    case (.disconnect, .connected), (.disconnect, .connecting), (.disconnect, .failed):
      (.disconnecting, .startDisconnecting)
    case (.disconnect, .disconnected), (.disconnect, .disconnecting): (state, .invalidState)

    case (.disconnectFinished, .disconnecting): (.disconnected, .proceed)
    case (.disconnectFinished, _): (state, .none)

    case (.updateAnyState, .connected), (.updateAnyState, .disconnected): (state, .proceed)
    case (.updateAnyState, _): (state, .invalidState)
    case (.updateNeedsDisconnected, .disconnected): (state, .proceed)
    case (.updateNeedsDisconnected, _): (state, .invalidState)

    case (.delete, .disconnected): (state, .proceed)
    case (.delete, _): (state, .invalidState)
    }
  }

  static func apply(_ event: Event, to machine: inout ConnectionStateMachine) -> ConnectionStateMachine.Action
  {
    switch event {
    case .connect: machine.connect(storeId: storeId, quickFailure: nil)
    case .connectWithQuickFailure: machine.connect(storeId: storeId, quickFailure: quickFailure)
    case .connectSucceeded: machine.connectFinished(nil)
    case .connectFailed: machine.connectFinished(.subnetNotFound)
    case .disconnect: machine.disconnect(storeId: storeId)
    case .disconnectFinished: machine.disconnectFinished()
    case .updateAnyState: machine.update(storeId: storeId, requiresDisconnected: false)
    case .updateNeedsDisconnected: machine.update(storeId: storeId, requiresDisconnected: true)
    case .delete: machine.delete(storeId: storeId)
    }
  }

  @Test(arguments: ConnectionStateType.allCases, Event.allCases)
  func everyStateTimesEveryEvent(state: ConnectionStateType, event: Event) {
    var machine = Self.machine(in: state)
    #expect(machine.state == state)
    let before = machine
    let action = Self.apply(event, to: &machine)
    let (expectedState, expectedOutcome) = Self.expected(state, event)

    #expect(machine.state == expectedState)
    // ConnectionErrorCode is present exactly when FAILED.
    #expect((machine.errorCode != nil) == (machine.state == .failed))
    if expectedState == state {
      // Unchanged state keeps its code; a refused event changes nothing at all.
      if expectedOutcome == .invalidState || expectedOutcome == .quickFailure || expectedOutcome == .none {
        #expect(machine == before)
      }
    }
    if event == .connectFailed && state == .connecting {
      #expect(machine.errorCode == .subnetNotFound)
    }

    switch expectedOutcome {
    case .startConnecting: #expect(action == .startConnecting)
    case .startDisconnecting: #expect(action == .startDisconnecting)
    case .none: #expect(action == .none)
    case .proceed: #expect(action == .proceed)
    case .quickFailure: #expect(action == .refuse(Self.quickFailure))
    case .invalidState:
      guard case .refuse(let error) = action else {
        Issue.record("expected a refusal, got \(action)")
        return
      }
      #expect(error.code == .customKeyStoreInvalidStateException)
      #expect(error.message.contains(Self.storeId))
      #expect(error.message.contains(state.rawValue))
    }
  }

  @Test func newMachineIsDisconnectedWithoutCode() {
    let machine = ConnectionStateMachine()
    #expect(machine.state == .disconnected)
    #expect(machine.errorCode == nil)
    #expect(!machine.keysUsable)
    #expect(!machine.isTransient)
  }

  @Test func disconnectFromFailedClearsTheCode() {
    var machine = Self.machine(in: .failed)
    #expect(machine.errorCode == .userLockedOut)
    #expect(machine.disconnect(storeId: Self.storeId) == .startDisconnecting)
    #expect(machine.state == .disconnecting)
    #expect(machine.errorCode == nil)
    #expect(machine.disconnectFinished() == .proceed)
    #expect(machine == ConnectionStateMachine())
  }

  @Test func staleConnectCompletionAfterDisconnectIsIgnored() {
    var machine = Self.machine(in: .connecting)
    #expect(machine.disconnect(storeId: Self.storeId) == .startDisconnecting)
    #expect(machine.connectFinished(nil) == .none)
    #expect(machine.state == .disconnecting)
    #expect(machine.connectFinished(.networkErrors) == .none)
    #expect(machine.errorCode == nil)
    #expect(machine.disconnectFinished() == .proceed)
    #expect(machine.state == .disconnected)
  }

  @Test func keysUsableOnlyWhenConnected() {
    for state in ConnectionStateType.allCases {
      let machine = Self.machine(in: state)
      #expect(machine.keysUsable == (state == .connected))
      #expect(machine.isTransient == (state == .connecting || state == .disconnecting))
    }
  }

  @Test(arguments: ConnectionStateType.allCases)
  func restoringAPersistedMachine(state: ConnectionStateType) {
    for code in [nil] + ConnectionErrorCodeType.allCases.map(Optional.some) {
      let restored = ConnectionStateMachine(state: state, errorCode: code)
      if (state == .failed) == (code != nil) {
        #expect(restored?.state == state)
        #expect(restored?.errorCode == code)
      } else {
        #expect(restored == nil, "\(state) with \(String(describing: code)) must be refused")
      }
    }
    if state != .failed {
      #expect(ConnectionStateMachine(state: state, errorCode: nil) == Self.machine(in: state))
    }
  }

  @Test func fullCycleAndEveryCode() {
    for code in ConnectionErrorCodeType.allCases {
      var machine = ConnectionStateMachine()
      #expect(machine.connect(storeId: Self.storeId, quickFailure: nil) == .startConnecting)
      #expect(machine.connectFinished(code) == .proceed)
      #expect(machine.state == .failed)
      #expect(machine.errorCode == code)
      #expect(machine.connect(storeId: Self.storeId, quickFailure: nil) != .startConnecting)
      #expect(machine.disconnect(storeId: Self.storeId) == .startDisconnecting)
      #expect(machine.disconnectFinished() == .proceed)
      #expect(machine.connect(storeId: Self.storeId, quickFailure: nil) == .startConnecting)
      #expect(machine.connectFinished(nil) == .proceed)
      #expect(machine.state == .connected)
      #expect(machine.errorCode == nil)
    }
  }
}
