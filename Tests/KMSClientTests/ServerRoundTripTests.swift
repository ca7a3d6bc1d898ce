import AWSSigV4
import Foundation
import KMSModel
import KMSServer
import KeyStoreEngine
import Logging
import Testing

@testable import KMSClient

/// The client over real HTTP (AsyncHTTPClient) against the real server (KMSServer, Hummingbird,
/// SigV4 verification on) and engine with the demo fleet, on an ephemeral port.
@Suite(.serialized) struct ServerRoundTripTests {
  static let credentials = AWSCredentials(
    accessKeyId: "AKIDROUNDTRIP", secretAccessKey: "roundTripSecret", sessionToken: "roundTripToken")

  /// Runs `body` with a client connected to a fresh server.
  func withServer(
    credentials: AWSCredentials? = Self.credentials, serverClockAhead: TimeInterval = 0,
    _ body: @Sendable (KMSHTTPClient, KeyStoreEngine) async throws -> Void
  ) async throws {
    let engine = KeyStoreEngine(configuration: EngineConfiguration(timeScale: 50))
    try await engine.load(Scenario.demo)
    var logger = Logger(label: "kmsclient-test")
    logger.logLevel = .critical
    let handler = KMSRequestHandler(
      options: KMSServerOptions(
        authentication: .sigV4(SigV4Verifier(credentials: [Self.credentials])),
        now: { Date().addingTimeInterval(serverClockAhead) }),
      backends: SingleBackendProvider(engine), logger: logger)
    let server = KMSHTTPServer(host: "127.0.0.1", port: 0, handler: handler, logger: logger)
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let serverTask = Task {
      try await server.run { _, port in continuation.yield(port) }
    }
    defer { serverTask.cancel() }
    var iterator = ports.makeAsyncIterator()
    let port = try #require(await iterator.next())
    let client = KMSHTTPClient(
      configuration: .init(
        endpoint: URL(string: "http://127.0.0.1:\(port)")!, region: "us-east-1", credentials: credentials,
        // A safety net, not a measure: a loaded CI machine can take seconds to answer.
        timeout: .seconds(30),
        polling: PollingOptions(interval: .milliseconds(200), transientInterval: .milliseconds(100))))
    try await body(client, engine)
    await client.shutdown()
  }

  @Test func operationsSimulatorAndPollingOverHTTP() async throws {
    try await withServer { client, engine in
      // Plain KMS calls, signed with a session token.
      let stores = try await client.describeCustomKeyStores(DescribeCustomKeyStoresRequest())
      #expect(stores.customKeyStores?.count == 6)
      // Errors keep their AWS code and carry the request ID.
      let missing = await #expect(throws: KMSError.self) {
        _ = try await client.connectCustomKeyStore(
          ConnectCustomKeyStoreRequest(customKeyStoreId: "cks-00000000000000099"))
      }
      #expect(missing?.code == .customKeyStoreNotFoundException)
      #expect(missing?.message.contains("Request ID: ") == true)
      let invalid = await #expect(throws: KMSError.self) {
        _ = try await client.describeKey(DescribeKeyRequest(keyId: ""))
      }
      #expect(invalid?.code == .validationException)

      // The simulator target and CloudHSM (signing name cloudhsm).
      #expect(try await client.isSimulator())
      let clusters = try await client.describeClusters(DescribeClustersRequest())
      #expect(clusters.clusters?.isEmpty == false)
      try await client.setFault(.kmsuserLockedOut, enabled: true, clusterId: "cluster-analyticsdr")
      #expect(try await client.faults(clusterId: "cluster-analyticsdr") == [.kmsuserLockedOut])
      #expect(
        try await client.predictConnectOutcome(customKeyStoreId: "cks-0de30000000000002")
          == .fails(.userLockedOut))
      try await client.setFault(.kmsuserLockedOut, enabled: false, clusterId: "cluster-analyticsdr")

      // Polling: the snapshot matches the engine's, and a connect is seen without asking.
      let changes = await client.changes()
      var iterator = changes.makeAsyncIterator()
      _ = await iterator.next()
      let remote = try await client.fleetSnapshot()
      let local = try await engine.fleetSnapshot()
      #expect(remote.stores.map(\.customKeyStoreId) == local.stores.map(\.customKeyStoreId))
      // The demo's staging store finishes connecting on the real clock, maybe between the two
      // reads: every store that is settled in both views must agree.
      let remoteStates = Dictionary(
        uniqueKeysWithValues: remote.stores.map { ($0.customKeyStoreId ?? "", $0.connectionState) })
      let transient: Set<ConnectionStateType?> = [.connecting, .disconnecting]
      for store in local.stores where !transient.contains(store.connectionState) {
        let seen = remoteStates[store.customKeyStoreId ?? ""] ?? nil
        if !transient.contains(seen) { #expect(seen == store.connectionState) }
      }
      #expect(Set(remote.keys.map(\.keyId)) == Set(local.keys.map(\.keyId)))
      #expect(Set(remote.aliases.compactMap(\.aliasName)) == Set(local.aliases.compactMap(\.aliasName)))
      #expect(
        Set(remote.clusters.compactMap(\.clusterId)).isSubset(of: Set(local.clusters.compactMap(\.clusterId)))
      )
      #expect(remote.backend?.isSimulator == true)
      #expect(remote.accountId == "111122223333")

      _ = try await engine.connectCustomKeyStore(
        ConnectCustomKeyStoreRequest(customKeyStoreId: "cks-0de30000000000002"))
      var seen: [ConnectionStateType] = []
      let deadline = ContinuousClock.now + .seconds(30)
      while seen.last != .connected, ContinuousClock.now < deadline {
        guard await iterator.next() != nil else { break }
        let state = try await client.fleetSnapshot().stores.first {
          $0.customKeyStoreId == "cks-0de30000000000002"
        }?
        .connectionState
        if let state, state != seen.last { seen.append(state) }
      }
      #expect(seen.last == .connected)
      let events = try await client.fleetSnapshot().events
      #expect(events.contains { $0.kind == .connectionStateChanged && $0.connectionState == .connected })
    }
  }

  /// `KmsdashSimulator.SetKmsuserPassword` over HTTP: the cluster's kmsuser gets the new password
  /// (KMS's stale one now predicts INVALID_CREDENTIALS), a locked-out kmsuser is unlocked, and a
  /// too-short password is a ValidationException that does not quote it.
  @Test func setKmsuserPasswordOverHTTP() async throws {
    try await withServer { client, engine in
      let store = "cks-0de30000000000002"  // analytics-dr, DISCONNECTED
      let cluster = "cluster-analyticsdr"
      try await client.setFault(.kmsuserLockedOut, enabled: true, clusterId: cluster)
      #expect(try await client.predictConnectOutcome(customKeyStoreId: store) == .fails(.userLockedOut))
      try await client.setKmsuserPassword("N3w-Passw0rd", clusterId: cluster)
      #expect(try await client.faults(clusterId: cluster).isEmpty)
      #expect(try await client.predictConnectOutcome(customKeyStoreId: store) == .fails(.invalidCredentials))
      _ = try await client.updateCustomKeyStore(
        UpdateCustomKeyStoreRequest(customKeyStoreId: store, keyStorePassword: "N3w-Passw0rd"))
      #expect(try await client.predictConnectOutcome(customKeyStoreId: store) == .connects)
      let short = await #expect(throws: KMSError.self) {
        try await client.setKmsuserPassword("abc", clusterId: cluster)
      }
      #expect(short?.code == .validationException)
      #expect(short?.message.contains("abc") == false)
      let unknown = await #expect(throws: KMSError.self) {
        try await client.setKmsuserPassword("Passw0rd!", clusterId: "cluster-nope")
      }
      #expect(unknown?.code == .cloudHsmResourceNotFoundException)
      #expect(try await engine.fleetSnapshot().events.contains { $0.kind == .kmsuserPasswordSet })
    }
  }

  /// The dashboard's actions (`FleetActions`) over HTTP: every one reaches the engine, and the
  /// client's change stream shows the result without a reload being asked for.
  @Test func dashboardActionsOverHTTP() async throws {
    let anchor = try String(
      contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("assets/certs/customerCA.crt"), encoding: .utf8)
    try await withServer { client, engine in
      let actions: any DashboardBackend = client
      var changes = await client.changes().makeAsyncIterator()
      _ = await changes.next()
      /// Waits (on the client's change stream) until its snapshot satisfies `done`.
      func eventually(_ what: String, _ done: (FleetSnapshot) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
          if done(try await client.fleetSnapshot()) { return }
          guard await changes.next() != nil else { break }
        }
        Issue.record("the client never saw: \(what)")
      }
      let first = try await actions.createStore(
        name: "http-store", cluster: "cluster-sparefree6q", trustAnchor: anchor, password: "Passw0rd!")
      try await actions.updateStore(first, newName: "http-store-2", password: "Passw0rd!2")
      try await eventually("the renamed store") {
        $0.store(id: first.rawValue)?.customKeyStoreName == "http-store-2"
      }
      try await actions.deleteStore(first)
      try await eventually("the store deleted") { $0.store(id: first.rawValue) == nil }
      let wrongAnchor = await #expect(throws: KMSError.self) {
        _ = try await actions.createStore(
          name: "x", cluster: "cluster-sparefree6q",
          trustAnchor: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
          password: "Passw0rd!")
      }
      #expect(wrongAnchor?.code == .incorrectTrustAnchorException)

      let store = try await actions.createStore(
        name: "http-store", cluster: "cluster-sparefree6q", trustAnchor: anchor, password: "DemoPassw0rd")
      try await actions.connect(store)
      try await eventually("the store CONNECTED") {
        $0.store(id: store.rawValue)?.connectionState == .connected
      }
      let key = try await actions.createKey(in: store, description: "over HTTP")
      try await actions.createAlias("alias/http/key", for: key)
      try await actions.disable(key)
      try await eventually("the key Disabled with its alias") {
        $0.key(id: key.rawValue)?.keyState == .disabled
          && $0.aliases(forKey: key.rawValue) == ["alias/http/key"]
      }
      let deletion = try await actions.scheduleDeletion(key, pendingWindowInDays: 7)
      #expect(deletion != nil)
      try await eventually("the key PendingDeletion") {
        $0.key(id: key.rawValue)?.keyState == .pendingDeletion
      }
      try await actions.cancelDeletion(key)
      try await actions.deleteAlias("alias/http/key")
      try await eventually("the key Disabled without its alias") {
        $0.key(id: key.rawValue)?.keyState == .disabled && $0.aliases(forKey: key.rawValue).isEmpty
      }
      let local = try await engine.fleetSnapshot()
      #expect(local.key(id: key.rawValue)?.description == "over HTTP")
      let blocked = await #expect(throws: KMSError.self) { try await actions.deleteStore(store) }
      #expect(blocked?.code == .customKeyStoreInvalidStateException)
    }
  }

  @Test func wrongSecretIsRejectedWithTheAWSCode() async throws {
    let wrong = AWSCredentials(
      accessKeyId: Self.credentials.accessKeyId, secretAccessKey: "nope",
      sessionToken: Self.credentials.sessionToken)
    try await withServer(credentials: wrong) { client, _ in
      let error = await #expect(throws: KMSError.self) {
        _ = try await client.listKeys(ListKeysRequest())
      }
      #expect(error?.code == .invalidSignatureException)
    }
  }

  /// This machine's clock 20 minutes behind the endpoint's: the refresh fails with AWS's words,
  /// and the line the header shows says to fix the clock.
  @Test func aClockSkewIsAReadableFailureThatSaysToFixTheClock() async throws {
    try await withServer(serverClockAhead: 20 * 60) { client, _ in
      let error = await #expect(throws: KMSError.self) { _ = try await client.fleetSnapshot() }
      #expect(error?.code == .invalidSignatureException)
      #expect(error?.message.hasPrefix("Signature expired: ") == true)
      let line = FleetPoller.describe(try #require(error))
      #expect(line.hasPrefix("InvalidSignatureException: Signature expired: "))
      #expect(
        line.hasSuffix(
          "(this machine's clock is off: correct it; AWS accepts signatures at most 5 minutes away)"))
      #expect(FleetPoller.health(of: try #require(error)) == .accessDenied)
    }
  }

  @Test func unreachableEndpointIsATransportError() async throws {
    let client = KMSHTTPClient(
      configuration: .init(
        endpoint: URL(string: "http://127.0.0.1:9")!, region: "us-east-1", credentials: nil,
        timeout: .seconds(3)))
    let error = await #expect(throws: KMSTransportError.self) {
      _ = try await client.listKeys(ListKeysRequest())
    }
    #expect(error?.kind == .connectionFailed || error?.kind == .timedOut)
    #expect(error?.description.contains("127.0.0.1:9") == true)
  }
}
