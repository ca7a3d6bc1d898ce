import Foundation
import HSMSimulator
import KMSModel
import KeyStoreEngine
import Testing

/// kms-spec §2.3 ConnectCustomKeyStore, §2.4 DisconnectCustomKeyStore, §3.2 transitions.
@Suite struct ConnectTests {
  @Test func connectGoesThroughConnectingToConnected() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    try await f.connect(store)
    try await f.expectState(store, .connecting)
    try await f.settle()
    try await f.expectState(store, .connected)
  }

  @Test func connectTakesTheDemoLatency() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    try await f.connect(store)
    try await f.advance(by: 1)
    try await f.expectState(store, .connecting)
    try await f.advance(by: 10)
    try await f.expectState(store, .connected)
  }

  @Test func unknownStore() async throws {
    let f = Fixture()
    await expectError(.customKeyStoreNotFoundException) { try await f.connect("cks-0123456789abcdef0") }
    await expectError(.customKeyStoreNotFoundException) { try await f.disconnect("cks-0123456789abcdef0") }
  }

  @Test func connectOnConnectedChangesNothing() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let before = try await f.entry(store)
    try await f.connect(store)
    try await f.expectState(store, .connected)
    try await f.settle()
    #expect(try await f.entry(store) == before)
  }

  @Test func connectOnConnectingChangesNothing() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    try await f.connect(store)
    try await f.connect(store)
    try await f.expectState(store, .connecting)
    try await f.settle()
    try await f.expectState(store, .connected)
  }

  @Test func connectOnFailedIsInvalidState() async throws {
    let f = Fixture()
    let (store, _) = try await f.failedStore(.internalError)
    await expectError(.customKeyStoreInvalidStateException) { try await f.connect(store) }
    try await f.expectState(store, .failed, errorCode: .internalError)
  }

  @Test func connectOnDisconnectingIsInvalidState() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    try await f.disconnect(store)
    try await f.expectState(store, .disconnecting)
    await expectError(.customKeyStoreInvalidStateException) { try await f.connect(store) }
    try await f.expectState(store, .disconnecting)
    try await f.settle()
    try await f.expectState(store, .disconnected)
  }

  // MARK: Quick failures: an exception, and the store stays DISCONNECTED without a code.

  @Test func quickFailureClusterNotActive() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.fault(.clusterNotActive, on: cluster)
    await expectError(.cloudHsmClusterNotActiveException) { try await f.connect(store) }
    try await f.expectState(store, .disconnected)
    try await f.settle()
    try await f.expectState(store, .disconnected)
  }

  @Test func quickFailureNoActiveHsm() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.deleteAllHsms(cluster)
    await expectError(.cloudHsmClusterInvalidConfigurationException) { try await f.connect(store) }
    try await f.expectState(store, .disconnected)
    try await f.settle()
    try await f.expectState(store, .disconnected)
  }

  @Test func quickFailureAllHsmsFailed() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    for hsm in try await f.hsms(cluster) {
      try await f.engine.setHsmFailed(clusterId: cluster, hsmId: hsm.hsmId, failed: true)
    }
    await expectError(.cloudHsmClusterInvalidConfigurationException) { try await f.connect(store) }
    try await f.expectState(store, .disconnected)
  }

  @Test func quickFailureSecurityGroup() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.fault(.securityGroupMisconfigured, on: cluster)
    await expectError(.cloudHsmClusterInvalidConfigurationException) { try await f.connect(store) }
    try await f.expectState(store, .disconnected)
  }

  @Test func connectNeedsOnlyOneActiveHsm() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.deleteHsms(cluster, keeping: 1)
    try await f.connectAndSettle(store)
    try await f.expectState(store, .connected)
  }

  // MARK: Every CloudHSM ConnectionErrorCode, by a fault set while CONNECTING (§3.4).

  static let faultCodes: [(SimulatorFault, ConnectionErrorCodeType)] = [
    (.clusterDeleted, .clusterNotFound),
    (.internalError, .internalError),
    (.networkErrors, .networkErrors),
    (.subnetDeleted, .subnetNotFound),
    (.subnetFull, .insufficientFreeAddressesInSubnet),
    (.kmsuserMissing, .userNotFound),
    (.kmsuserLockedOut, .userLockedOut),
    (.kmsuserLoggedIn, .userLoggedIn),
    (.kmsuserPasswordChanged, .invalidCredentials),
  ]

  @Test(arguments: faultCodes)
  func faultWhileConnectingFails(fault: SimulatorFault, code: ConnectionErrorCodeType) async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.connect(store)
    try await f.expectState(store, .connecting)
    try await f.fault(fault, on: cluster)
    try await f.expectState(store, .connecting)
    try await f.settle()
    try await f.expectState(store, .failed, errorCode: code)
  }

  @Test func noActiveHsmWhileConnectingIsInsufficientHsms() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.connect(store)
    try await f.deleteAllHsms(cluster)
    try await f.settle()
    try await f.expectState(store, .failed, errorCode: .insufficientCloudhsmHsms)
  }

  @Test func failedHsmsWhileConnectingIsInsufficientHsms() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.connect(store)
    for hsm in try await f.hsms(cluster) {
      try await f.engine.setHsmFailed(clusterId: cluster, hsmId: hsm.hsmId, failed: true)
    }
    try await f.settle()
    try await f.expectState(store, .failed, errorCode: .insufficientCloudhsmHsms)
  }

  @Test func wrongPasswordIsInvalidCredentials() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore(password: "WrongPassw0rd")
    try await f.connectAndSettle(store)
    try await f.expectState(store, .failed, errorCode: .invalidCredentials)
  }

  /// An administrator sets a new kmsuser password in the cluster: KMS still has the old one, so
  /// the next connect fails with INVALID_CREDENTIALS (and counts towards the lockout) until
  /// UpdateCustomKeyStore tells it the new one.
  @Test func aNewKmsuserPasswordInTheClusterIsInvalidCredentialsUntilKMSKnowsIt() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.engine.setKmsuserPassword("N3w-Passw0rd", clusterId: cluster)
    #expect(try await f.engine.predictConnectOutcome(customKeyStoreId: store) == .fails(.invalidCredentials))
    try await f.connectAndSettle(store)
    try await f.expectState(store, .failed, errorCode: .invalidCredentials)
    try await f.disconnectAndSettle(store)
    try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, keyStorePassword: "N3w-Passw0rd"))
    #expect(try await f.engine.predictConnectOutcome(customKeyStoreId: store) == .connects)
    try await f.connectAndSettle(store)
    try await f.expectState(store, .connected)
    let events = try await f.engine.fleetSnapshot().events
    #expect(
      events.contains { $0.kind == .kmsuserPasswordSet && $0.summary == "kmsuser password set in \(cluster)" }
    )
    #expect(!events.contains { $0.summary.contains("N3w-Passw0rd") })
  }

  /// The remedy for USER_LOCKED_OUT: a new password in the cluster unlocks kmsuser (the lockout
  /// counter and the KMSUSER_LOCKED_OUT fault), then UpdateCustomKeyStore, then connect.
  @Test func aNewKmsuserPasswordUnlocksALockedOutKmsuser() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore(password: "WrongPassw0rd")
    for _ in 0..<3 {
      try await f.connectAndSettle(store)
      try await f.disconnectAndSettle(store)
    }
    try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, keyStorePassword: demoPassword))
    try await f.connectAndSettle(store)
    try await f.expectState(store, .failed, errorCode: .userLockedOut)
    try await f.disconnectAndSettle(store)
    try await f.fault(.kmsuserLockedOut, on: cluster)
    try await f.engine.setKmsuserPassword("Unl0cked-pw", clusterId: cluster)
    #expect(try await f.engine.faults(clusterId: cluster).isEmpty)
    // KMS still has the old (demo) password: not locked out any more, but not the right one.
    try await f.connectAndSettle(store)
    try await f.expectState(store, .failed, errorCode: .invalidCredentials)
    try await f.disconnectAndSettle(store)
    try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, keyStorePassword: "Unl0cked-pw"))
    try await f.connectAndSettle(store)
    try await f.expectState(store, .connected)
  }

  @Test func settingTheKmsuserPasswordRefusesBadInput() async throws {
    let f = Fixture()
    let (_, cluster) = try await f.newStore()
    await #expect(
      throws: KMSError(
        .cloudHsmInvalidRequestException, "The kmsuser password must have 7 to 32 characters (it has 3).")
    ) {
      try await f.engine.setKmsuserPassword("abc", clusterId: cluster)
    }
    await #expect(throws: KMSError(.cloudHsmResourceNotFoundException, "Cluster cluster-nope not found.")) {
      try await f.engine.setKmsuserPassword("Passw0rd!", clusterId: "cluster-nope")
    }
    let bare = try await f.cluster(kmsuserPassword: nil)
    await #expect(
      throws: KMSError(
        .cloudHsmResourceNotFoundException, "Cluster \(bare) has no kmsuser crypto user to change.")
    ) {
      try await f.engine.setKmsuserPassword("Passw0rd!", clusterId: bare)
    }
  }

  @Test func clusterWithoutKmsuserIsUserNotFound() async throws {
    let f = Fixture()
    let cluster = try await f.cluster(kmsuserPassword: nil)
    let store = try await f.createStore("s", cluster: cluster)
    try await f.connectAndSettle(store)
    try await f.expectState(store, .failed, errorCode: .userNotFound)
  }

  @Test func clusterDeletedBeforeConnectFailsWithClusterNotFound() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.fault(.clusterDeleted, on: cluster)
    try await f.connect(store)
    try await f.settle()
    try await f.expectState(store, .failed, errorCode: .clusterNotFound)
  }

  @Test func threeFailedLoginsLockKmsuserOut() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore(password: "WrongPassw0rd")
    for _ in 0..<3 {
      try await f.connectAndSettle(store)
      try await f.expectState(store, .failed, errorCode: .invalidCredentials)
      try await f.disconnectAndSettle(store)
    }
    // Even the right password cannot log in a locked-out user.
    try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, keyStorePassword: demoPassword))
    try await f.connectAndSettle(store)
    try await f.expectState(store, .failed, errorCode: .userLockedOut)
  }

  /// The documented precedence, first match wins: set every fault, then clear them one by one.
  @Test func connectionErrorPrecedence() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore(password: "WrongPassw0rd")
    let ordered: [(SimulatorFault?, ConnectionErrorCodeType)] = [
      (.clusterDeleted, .clusterNotFound),
      (.internalError, .internalError),
      (.networkErrors, .networkErrors),
      (.subnetDeleted, .subnetNotFound),
      (.subnetFull, .insufficientFreeAddressesInSubnet),
      (nil, .insufficientCloudhsmHsms),  // all HSMs failed
      (.kmsuserMissing, .userNotFound),
      (.kmsuserLockedOut, .userLockedOut),
      (.kmsuserLoggedIn, .userLoggedIn),
      (nil, .invalidCredentials),  // wrong KeyStorePassword, never reached the lockout
    ]
    var remaining = ordered
    while !remaining.isEmpty {
      try await f.connect(store)
      // Apply every remaining fault while CONNECTING (HSMs first: a deleted cluster has none).
      let failHsms = remaining.contains { $0.1 == .insufficientCloudhsmHsms }
      if failHsms {
        for hsm in try await f.hsms(cluster) {
          try await f.engine.setHsmFailed(clusterId: cluster, hsmId: hsm.hsmId, failed: true)
        }
      }
      for case (let fault?, _) in remaining { try await f.fault(fault, on: cluster) }
      try await f.settle()
      let expected = remaining[0].1
      try await f.expectState(store, .failed, errorCode: expected)
      // Clear everything for the next round (the lockout counter only moves on a real login).
      for case (let fault?, _) in remaining { try await f.fault(fault, false, on: cluster) }
      if failHsms {
        for hsm in try await f.hsms(cluster) {
          try await f.engine.setHsmFailed(clusterId: cluster, hsmId: hsm.hsmId, failed: false)
        }
      }
      try await f.disconnectAndSettle(store)
      remaining.removeFirst()
    }
  }

  @Test(arguments: faultCodes.map(\.0))
  func clearingTheFaultBeforeCompletionConnects(fault: SimulatorFault) async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.connect(store)
    try await f.fault(fault, on: cluster)
    try await f.fault(fault, false, on: cluster)
    try await f.settle()
    try await f.expectState(store, .connected)
  }

  @Test func faultSetAfterConnectedDoesNotChangeTheState() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.connectedStore()
    try await f.deleteAllHsms(cluster)
    for fault in SimulatorFault.allCases { try await f.fault(fault, on: cluster) }
    try await f.settle()
    // No automatic transitions out of CONNECTED (§3.2).
    try await f.expectState(store, .connected)
  }

  @Test func reconnectAfterPasswordRotationWorks() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    // KMS rotated the kmsuser password on connect and knows the new one.
    for _ in 0..<2 {
      try await f.disconnectAndSettle(store)
      try await f.connectAndSettle(store)
      try await f.expectState(store, .connected)
    }
  }

  @Test func predictConnectOutcome() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    #expect(try await f.engine.predictConnectOutcome(customKeyStoreId: store) == .connects)
    try await f.fault(.kmsuserLoggedIn, on: cluster)
    #expect(try await f.engine.predictConnectOutcome(customKeyStoreId: store) == .fails(.userLoggedIn))
    try await f.fault(.clusterNotActive, on: cluster)
    let refused = try await f.engine.predictConnectOutcome(customKeyStoreId: store)
    guard case .refused(let code, _) = refused else {
      Issue.record("expected refused, got \(refused)")
      return
    }
    #expect(code == .cloudHsmClusterNotActiveException)
    try await f.fault(.clusterNotActive, false, on: cluster)
    try await f.fault(.kmsuserLoggedIn, false, on: cluster)
    try await f.connect(store)
    #expect(try await f.engine.predictConnectOutcome(customKeyStoreId: store) == .noChange(.connecting))
    // Prediction has no side effects.
    try await f.settle()
    try await f.expectState(store, .connected)
  }

  /// A FAILED store must be disconnected before it connects: the prediction is for that connect.
  @Test func predictionForAFailedStoreIsTheConnectAfterTheDisconnect() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.fault(.kmsuserLockedOut, on: cluster)
    try await f.connectAndSettle(store)
    try await f.expectState(store, .failed, errorCode: .userLockedOut)
    #expect(try await f.engine.predictConnectOutcome(customKeyStoreId: store) == .fails(.userLockedOut))
    try await f.fault(.kmsuserLockedOut, false, on: cluster)
    #expect(try await f.engine.predictConnectOutcome(customKeyStoreId: store) == .connects)
    try await f.fault(.clusterNotActive, on: cluster)
    guard case .refused(let code, _) = try await f.engine.predictConnectOutcome(customKeyStoreId: store)
    else {
      Issue.record("expected refused")
      return
    }
    #expect(code == .cloudHsmClusterNotActiveException)
    try await f.expectState(store, .failed, errorCode: .userLockedOut)  // predicting changes nothing
  }
}

@Suite struct DisconnectTests {
  @Test func disconnectConnectedGoesThroughDisconnecting() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    try await f.disconnect(store)
    try await f.expectState(store, .disconnecting)
    try await f.settle()
    try await f.expectState(store, .disconnected)
  }

  @Test func disconnectConnectingStopsTheConnect() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    try await f.connect(store)
    try await f.disconnect(store)
    try await f.expectState(store, .disconnecting)
    try await f.settle()
    try await f.expectState(store, .disconnected)
    // The abandoned connect must not complete later.
    try await f.settle()
    try await f.expectState(store, .disconnected)
  }

  @Test func disconnectFailedClearsTheErrorCode() async throws {
    let f = Fixture()
    let (store, _) = try await f.failedStore(.kmsuserLoggedIn)
    try await f.expectState(store, .failed, errorCode: .userLoggedIn)
    try await f.disconnect(store)
    // FAILED → DISCONNECTING (decision on open point 10.4); the code is gone at once.
    try await f.expectState(store, .disconnecting)
    try await f.settle()
    try await f.expectState(store, .disconnected)
  }

  @Test func disconnectDisconnectedIsInvalidState() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    await expectError(.customKeyStoreInvalidStateException) { try await f.disconnect(store) }
    try await f.expectState(store, .disconnected)
  }

  @Test func disconnectDisconnectingIsInvalidState() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    try await f.disconnect(store)
    await expectError(.customKeyStoreInvalidStateException) { try await f.disconnect(store) }
    try await f.expectState(store, .disconnecting)
  }

  @Test func fixFlowAfterFailure() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore(password: "WrongPassw0rd")
    try await f.connectAndSettle(store)
    try await f.expectState(store, .failed, errorCode: .invalidCredentials)
    // disconnect → correct the cause → connect (§3.4).
    try await f.disconnectAndSettle(store)
    try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, keyStorePassword: demoPassword))
    try await f.connectAndSettle(store)
    try await f.expectState(store, .connected)
  }

  @Test func failedStoreReconnectsAfterDisconnect() async throws {
    let f = Fixture()
    let (store, _) = try await f.failedStore(.networkErrors)
    try await f.disconnectAndSettle(store)
    try await f.connectAndSettle(store)
    try await f.expectState(store, .connected)
  }

  @Test func stateChangesAreIndependentPerStore() async throws {
    let f = Fixture()
    let (a, _) = try await f.newStore("a")
    let (b, clusterB) = try await f.newStore("b")
    try await f.connect(a)
    try await f.connect(b)
    try await f.fault(.networkErrors, on: clusterB)
    try await f.settle()
    try await f.expectState(a, .connected)
    try await f.expectState(b, .failed, errorCode: .networkErrors)
  }
}
