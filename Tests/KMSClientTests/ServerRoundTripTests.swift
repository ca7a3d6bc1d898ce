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
    credentials: AWSCredentials? = Self.credentials,
    _ body: @Sendable (KMSHTTPClient, KeyStoreEngine) async throws -> Void
  ) async throws {
    let engine = KeyStoreEngine(configuration: EngineConfiguration(timeScale: 50))
    try await engine.load(Scenario.demo)
    var logger = Logger(label: "kmsclient-test")
    logger.logLevel = .critical
    let handler = KMSRequestHandler(
      options: KMSServerOptions(authentication: .sigV4(SigV4Verifier(credentials: [Self.credentials]))),
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
