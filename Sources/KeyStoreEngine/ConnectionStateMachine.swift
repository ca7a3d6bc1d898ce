import KMSModel

/// The `ConnectionState` of one custom key store as a value (kms-spec §3.2). Each event is a
/// mutating function that returns what the engine must do; the engine only executes actions.
/// No clock, no actor: every transition is unit-testable.
public struct ConnectionStateMachine: Sendable, Equatable, Codable {
  public private(set) var state: ConnectionStateType
  /// Present exactly when `state == .failed`.
  public private(set) var errorCode: ConnectionErrorCodeType?

  /// A new store starts DISCONNECTED with no error code.
  public init() {
    state = .disconnected
    errorCode = nil
  }

  /// Restores a persisted machine; refuses combinations the machine cannot reach.
  public init?(state: ConnectionStateType, errorCode: ConnectionErrorCodeType?) {
    guard (state == .failed) == (errorCode != nil) else { return nil }
    self.state = state
    self.errorCode = errorCode
  }

  public enum Action: Sendable, Equatable {
    /// Start the background connect; its outcome comes back as `connectFinished`.
    case startConnecting
    /// Start the background disconnect; it comes back as `disconnectFinished`.
    case startDisconnecting
    /// Nothing to do (e.g. connect on a CONNECTED store, or a stale timer).
    case none
    /// The operation may proceed (update, delete).
    case proceed
    /// Answer the caller with this error; the state did not change.
    case refuse(KMSError)
  }

  /// Keys in the store are usable only while CONNECTED (kms-spec §5.4).
  public var keysUsable: Bool { state == .connected }
  public var isTransient: Bool { state == .connecting || state == .disconnecting }

  /// ConnectCustomKeyStore. `quickFailure` is what the cluster check found (evaluated only from
  /// DISCONNECTED, after the state check, as KMS does).
  public mutating func connect(storeId: String, quickFailure: KMSError?) -> Action {
    switch state {
    case .disconnected:
      if let quickFailure { return .refuse(quickFailure) }
      state = .connecting
      return .startConnecting
    case .connecting, .connected:
      return .none  // allowed by the model; we change nothing (open point 10.3)
    case .failed:
      return .refuse(
        Self.invalidState(
          storeId, state,
          "A custom key store in the FAILED state must be disconnected before it can be connected again."))
    case .disconnecting:
      return .refuse(
        Self.invalidState(storeId, state, "Wait until it is DISCONNECTED, then connect it."))
    }
  }

  /// The background connect finished: nil is success, otherwise the failure code.
  public mutating func connectFinished(_ failure: ConnectionErrorCodeType?) -> Action {
    guard state == .connecting else { return .none }  // a disconnect overtook it
    if let failure {
      state = .failed
      errorCode = failure
    } else {
      state = .connected
    }
    return .proceed
  }

  /// DisconnectCustomKeyStore: allowed from CONNECTED, CONNECTING and FAILED; clears the code.
  public mutating func disconnect(storeId: String) -> Action {
    switch state {
    case .connected, .connecting, .failed:
      state = .disconnecting
      errorCode = nil
      return .startDisconnecting
    case .disconnected:
      return .refuse(Self.invalidState(storeId, state, "It is already disconnected."))
    case .disconnecting:
      return .refuse(Self.invalidState(storeId, state, "A disconnect is already in progress."))
    }
  }

  public mutating func disconnectFinished() -> Action {
    guard state == .disconnecting else { return .none }
    state = .disconnected
    return .proceed
  }

  /// UpdateCustomKeyStore. Some properties need DISCONNECTED; the rest CONNECTED or DISCONNECTED.
  public func update(storeId: String, requiresDisconnected: Bool) -> Action {
    switch state {
    case .disconnected:
      return .proceed
    case .connected where !requiresDisconnected:
      return .proceed
    case .connected:
      return .refuse(
        Self.invalidState(storeId, state, "Disconnect the custom key store before changing this property."))
    case .failed:
      return .refuse(
        Self.invalidState(
          storeId, state, "A FAILED custom key store must be disconnected before it can be updated."))
    case .connecting, .disconnecting:
      return .refuse(Self.invalidState(storeId, state, "Wait until the transition completes."))
    }
  }

  /// DeleteCustomKeyStore needs DISCONNECTED.
  public func delete(storeId: String) -> Action {
    state == .disconnected
      ? .proceed
      : .refuse(Self.invalidState(storeId, state, "Disconnect the custom key store before deleting it."))
  }

  static func invalidState(_ storeId: String, _ state: ConnectionStateType, _ advice: String) -> KMSError {
    KMSError(
      .customKeyStoreInvalidStateException,
      "Custom key store \(storeId) is in the \(state.rawValue) state. \(advice)")
  }
}
