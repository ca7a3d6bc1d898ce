import AWSSigV4
import Foundation
import KMSModel
import KMSServer
import KeyStoreEngine
import Logging
import Testing
import XKSClient
import XKSProxy

@testable import KMSClient

/// What `kmsdash --endpoint URL` against `kmsdash serve` shows and toggles of an external key
/// store, over sockets: a TLS `kmsdash xks-proxy` (certificate expiring in 20 days), the engine
/// talking to it through a route, the KMS server, and the remote dashboard's client
/// (`KMSHTTPClient`: polled health, `KmsdashSimulator.*XksProxyFault*`).
@Suite(.serialized) struct RemoteXKSTests {
  static let credential = XksProxyAuthenticationCredentialType(
    accessKeyId: XKSProxyConfiguration.demoAccessKeyId,
    rawSecretAccessKey: XKSProxyConfiguration.demoSecretAccessKey)

  @Test func theRemoteClientSeesTheHealthAndTogglesTheFaultsOfAKmsdashProxy() async throws {
    let certificates = ProxyCertificates(
      directory: FileManager.default.temporaryDirectory.appendingPathComponent(
        "xks-remote-\(UUID().uuidString)"
      ).path)
    _ = try await certificates.ensure(names: [])
    let in20Days = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 20 * 86_400).rounded(.down))
    let leaf = try await certificates.leaf(names: [], notAfter: in20Days)
    let core = XKSProxyCore(
      configuration: .demo, ekm: try ExternalKeyManager(configuration: .demo, state: nil))
    let proxy = XKSProxyServer(
      core: core,
      tls: try XKSProxyServer.tlsContext(
        certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM),
      threads: 1
    ) { _ in }
    core.observeCertificateFault { kind in
      Task {
        let next = try await certificates.faulty(kind, names: []) ?? leaf
        proxy.replaceTLSContext(
          try XKSProxyServer.tlsContext(
            certificatePEM: next.certificatePEM, privateKeyPEM: next.privateKeyPEM))
      }
    }
    let proxyPort = try await proxy.start(host: "127.0.0.1", port: 0).port
    defer { Task { await proxy.shutdown() } }

    // The KMS server in front of an engine on a manual clock.
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let engine = KeyStoreEngine(clock: clock)
    var logger = Logger(label: "xks-remote-test")
    logger.logLevel = .critical
    let server = KMSHTTPServer(
      host: "127.0.0.1", port: 0,
      handler: KMSRequestHandler(
        options: KMSServerOptions(authentication: .disabled), backends: SingleBackendProvider(engine),
        logger: logger),
      logger: logger)
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let serverTask = Task { try await server.run { _, port in continuation.yield(port) } }
    defer { serverTask.cancel() }
    var iterator = ports.makeAsyncIterator()
    let kmsPort = try #require(await iterator.next())

    // Routes as `kmsdash serve --xks-route`: the kmsdash proxy, and a "proxy" that is not one
    // (the KMS server itself, which has no /kmsdash/faults).
    let routes = [
      "xks.kmsdash.test": URL(string: "https://127.0.0.1:\(proxyPort)")!,
      "other.kmsdash.test": URL(string: "http://127.0.0.1:\(kmsPort)")!,
    ]
    let xksClient = try XKSHTTPClient(routes: routes, caFile: certificates.caPath, timeout: .seconds(3))
    await engine.useXKSProxy(xksClient)
    await engine.useXKSFaultControl(
      RoutedXKSProxyControl(routes: routes, caFile: certificates.caPath, clientIdentity: nil))

    let client = KMSHTTPClient(
      configuration: .init(
        endpoint: URL(string: "http://127.0.0.1:\(kmsPort)")!, region: "us-east-1",
        credentials: AWSCredentials(accessKeyId: "AKIDXKSREMOTE", secretAccessKey: "unused"),
        timeout: .seconds(30), polling: PollingOptions(interval: .seconds(3600))))
    defer { Task { await client.shutdown() } }
    func create(_ name: String, _ endpoint: String) async throws -> String {
      try #require(
        try await client.createCustomKeyStore(
          CreateCustomKeyStoreRequest(
            customKeyStoreName: name, customKeyStoreType: "EXTERNAL_KEY_STORE", xksProxyUriEndpoint: endpoint,
            xksProxyUriPath: XKSProxyConfiguration.demoUriPath,
            xksProxyAuthenticationCredential: Self.credential,
            xksProxyConnectivity: "PUBLIC_ENDPOINT")
        ).customKeyStoreId)
    }
    func runDueWork(advancing seconds: TimeInterval) async throws {
      clock.advance(by: seconds)
      try await engine.runDueWork()
      await engine.xksCallsSettled()
    }
    func remoteHealth(_ id: String) async throws -> XKSStoreHealth {
      _ = await client.poller.refreshOnce()
      return try #require(try await client.fleetSnapshot().xksHealth[id])
    }

    let id = try await create("xks-remote", "https://xks.kmsdash.test")
    _ = try await client.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
    try await runDueWork(advancing: 3600)

    // The same record the embedded dashboard shows, through DescribeXksHealth and the poller.
    let connected = try await remoteHealth(id)
    #expect(connected == (await engine.xksHealth(customKeyStoreId: id)))
    #expect(connected.checkOperation == "ConnectCustomKeyStore")
    #expect(connected.proxyVendor == XKSProxyCore.vendor)
    #expect(connected.ekmFleet.map(\.healthStatus) == ["ACTIVE", "ACTIVE"])
    #expect(connected.certificateNotAfter == in20Days)
    #expect(connected.credentialSetAt == Date(timeIntervalSince1970: 1_800_000_000))
    #expect(try #require(connected.latencyMilliseconds) >= 0)

    // The QA panel's faults, set on the kmsdash proxy through serve.
    #expect(try await client.xksFaults(customKeyStoreId: id) == [])
    try await client.setXKSFault(XKSQAFault.ekmUnavailable, enabled: true, customKeyStoreId: id)
    #expect(core.faults.ekmHealth == .unavailable)
    try await client.setXKSFault(XKSQAFault.throttling, enabled: true, customKeyStoreId: id)
    #expect(
      try await client.xksFaults(customKeyStoreId: id) == Set<XKSQAFault>([.ekmUnavailable, .throttling]))
    try await client.setXKSFault(XKSQAFault.throttling, enabled: false, customKeyStoreId: id)
    // The next periodic KmsHealthCheck sees the fleet down; the remote record follows.
    try await runDueWork(advancing: 301)
    let down = try await remoteHealth(id)
    #expect(down.checkOperation == "KmsHealthCheck")
    #expect(down.ekmFleet.map(\.healthStatus) == ["UNAVAILABLE", "UNAVAILABLE"])
    #expect(down.connectOutcome == .xksProxyNotReachable)
    // A certificate fault is set, seen and cleared through the control endpoint even though the
    // proxy's certificate then fails verification.
    try await client.setXKSFault(XKSQAFault.expiredCertificate, enabled: true, customKeyStoreId: id)
    #expect(
      try await client.xksFaults(customKeyStoreId: id)
        == Set<XKSQAFault>([.ekmUnavailable, .expiredCertificate]))
    try await client.setXKSFault(XKSQAFault.expiredCertificate, enabled: false, customKeyStoreId: id)
    try await client.setXKSFault(XKSQAFault.ekmUnavailable, enabled: false, customKeyStoreId: id)
    #expect(try await client.xksFaults(customKeyStoreId: id) == [])
    #expect(core.faults == XKSProxyFaults())

    // A proxy that is not kmsdash's: the panel says so. (Created while the engine calls no proxy.)
    await engine.useXKSProxy(nil)
    let other = try await create("xks-other", "https://other.kmsdash.test")
    await engine.useXKSProxy(xksClient)
    let refused = await #expect(throws: KMSError.self) {
      _ = try await client.xksFaults(customKeyStoreId: other)
    }
    #expect(refused?.code == .unsupportedOperationException)
    #expect(refused?.message.contains("is not a kmsdash xks-proxy") == true, "\(String(describing: refused))")
    // Not an external key store, or no such store: the engine says which.
    let missing = await #expect(throws: KMSError.self) {
      _ = try await client.xksHealth(customKeyStoreIds: ["cks-00000000000000099"])
    }
    #expect(missing?.code == .customKeyStoreNotFoundException)
    try await xksClient.shutdown()
  }
}
