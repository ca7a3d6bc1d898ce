import Foundation
import KMSModel
import KeyStoreEngine
import NIOSSL
import Testing
import XKSClient
import XKSProxy

/// The TLS identities between the engine and a proxy over real sockets: the proxy certificate's
/// `notAfter` recorded as KMS's `XksProxyCertificateDaysToExpire`, and mTLS (the proxy requires
/// a client certificate of its CA with the right name; the engine presents one).
@Suite(.serialized) struct XKSTLSIdentityTests {
  static let endpoint = "https://xks.kmsdash.test"
  static let credential = XksProxyAuthenticationCredentialType(
    accessKeyId: XKSProxyConfiguration.demoAccessKeyId,
    rawSecretAccessKey: XKSProxyConfiguration.demoSecretAccessKey)

  static func directory(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
  }

  /// A TLS proxy serving `leaf` (from `certificates`' CA), optionally requiring mTLS.
  static func proxy(
    _ certificates: ProxyCertificates, _ leaf: ProxyCertificates.Leaf,
    clientAuthentication: XKSClientAuthentication? = nil
  ) async throws -> (XKSProxyServer, URL) {
    let core = XKSProxyCore(
      configuration: .demo, ekm: try ExternalKeyManager(configuration: .demo, state: nil))
    let server = XKSProxyServer(
      core: core,
      tls: try XKSProxyServer.tlsContext(
        certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM,
        clientAuthentication: clientAuthentication),
      clientAuthentication: clientAuthentication, threads: 1
    ) { _ in }
    core.observeCertificateFault { kind in
      Task {
        let next = try await certificates.faulty(kind, names: []) ?? leaf
        server.replaceTLSContext(
          try XKSProxyServer.tlsContext(
            certificatePEM: next.certificatePEM, privateKeyPEM: next.privateKeyPEM,
            clientAuthentication: clientAuthentication))
      }
    }
    let bound = try await server.start(host: "127.0.0.1", port: 0)
    return (server, URL(string: "https://127.0.0.1:\(bound.port)")!)
  }

  /// An engine on a manual clock and a client routed to `url`, trusting `caFile` (TLS is tested
  /// here, not the 250 ms bound: a loaded machine may shake hands slowly).
  static func engine(
    routedTo url: URL, caFile: String, identity: (certificatePath: String, keyPath: String)? = nil
  ) throws -> (KeyStoreEngine, ManualClock, XKSHTTPClient) {
    let client = try XKSHTTPClient(
      routes: ["xks.kmsdash.test": url], caFile: caFile,
      clientIdentity: identity.map {
        XKSHTTPClient.ClientIdentity(certificatePath: $0.certificatePath, keyPath: $0.keyPath)
      }, timeout: .seconds(3))
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    return (KeyStoreEngine(clock: clock), clock, client)
  }

  static func createStore(
    _ engine: KeyStoreEngine, _ name: String, path: String = XKSProxyConfiguration.demoUriPath
  ) async throws -> String {
    try #require(
      try await engine.createCustomKeyStore(
        CreateCustomKeyStoreRequest(
          customKeyStoreName: name, customKeyStoreType: "EXTERNAL_KEY_STORE", xksProxyUriEndpoint: endpoint,
          xksProxyUriPath: path, xksProxyAuthenticationCredential: credential,
          xksProxyConnectivity: "PUBLIC_ENDPOINT")
      ).customKeyStoreId)
  }

  static func connect(_ engine: KeyStoreEngine, _ clock: ManualClock, _ id: String) async throws
    -> CustomKeyStoresListEntry
  {
    _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
    clock.advance(by: 3600)
    try await engine.runDueWork()
    await engine.xksCallsSettled()
    return try #require(
      try await engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(customKeyStoreId: id))
        .customKeyStores?.first)
  }

  // MARK: XksProxyCertificateDaysToExpire

  @Test func theProxyCertificatesExpiryIsRecordedByConnectAndHealthChecks() async throws {
    let certificates = ProxyCertificates(directory: Self.directory("xks-cert-days"))
    _ = try await certificates.ensure(names: [])
    // Certificates are dated to the second: compare whole seconds.
    let in12Days = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 12 * 86_400).rounded(.down))
    let leaf = try await certificates.leaf(names: [], notAfter: in12Days)
    let (server, url) = try await Self.proxy(certificates, leaf)
    defer { Task { await server.shutdown() } }
    let (engine, clock, client) = try Self.engine(routedTo: url, caFile: certificates.caPath)
    await engine.useXKSProxy(client)
    let id = try await Self.createStore(engine, "cert-days")
    #expect(await engine.xksHealth(customKeyStoreId: id)?.certificateNotAfter == nil)
    #expect(try await Self.connect(engine, clock, id).connectionState == .connected)
    let connected = try #require(await engine.xksHealth(customKeyStoreId: id))
    #expect(connected.certificateNotAfter == in12Days)
    // The proxy renews its certificate: the next periodic KmsHealthCheck records the new date.
    let in40Days = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 40 * 86_400).rounded(.down))
    let renewed = try await certificates.leaf(names: [], notAfter: in40Days)
    server.replaceTLSContext(
      try XKSProxyServer.tlsContext(
        certificatePEM: renewed.certificatePEM, privateKeyPEM: renewed.privateKeyPEM))
    clock.advance(by: 301)
    try await engine.runDueWork()
    await engine.xksCallsSettled()
    let checked = try #require(await engine.xksHealth(customKeyStoreId: id))
    #expect(checked.checkOperation == "KmsHealthCheck")
    #expect(checked.certificateNotAfter == in40Days)
    #expect(try await engine.fleetSnapshot().xksHealth[id]?.certificateNotAfter == in40Days)
    try await client.shutdown()
  }

  @Test func anExpiredCertificateStillFailsTheConnectAndRecordsNoDate() async throws {
    let certificates = ProxyCertificates(directory: Self.directory("xks-cert-expired"))
    let leaf = try await certificates.ensure(names: [])
    let (server, url) = try await Self.proxy(certificates, leaf)
    defer { Task { await server.shutdown() } }
    let (engine, clock, client) = try Self.engine(routedTo: url, caFile: certificates.caPath)
    await engine.useXKSProxy(client)
    let id = try await Self.createStore(engine, "cert-expired")
    // What the EXPIRED_CERTIFICATE fault does, done here at once: serve an expired certificate.
    let expired = try #require(try await certificates.faulty(.expired, names: []))
    server.replaceTLSContext(
      try XKSProxyServer.tlsContext(
        certificatePEM: expired.certificatePEM, privateKeyPEM: expired.privateKeyPEM))
    let entry = try await Self.connect(engine, clock, id)
    #expect(entry.connectionState == .failed)
    #expect(entry.connectionErrorCode == .xksProxyInvalidTlsConfiguration)
    #expect(await engine.xksHealth(customKeyStoreId: id)?.certificateNotAfter == nil)
    try await client.shutdown()
  }

  @Test func plainHTTPAndInProcessProxiesShowNoCertificate() async throws {
    let core = XKSProxyCore(
      configuration: .demo, ekm: try ExternalKeyManager(configuration: .demo, state: nil))
    let target = XKSProxyTarget(
      uriEndpoint: "https://embedded.kmsdash.test", uriPath: XKSProxyConfiguration.demoUriPath,
      accessKeyId: XKSProxyConfiguration.demoAccessKeyId,
      secretAccessKey: XKSProxyConfiguration.demoSecretAccessKey, region: "us-east-1")
    let inProcess = try XKSHTTPClient(inProcess: ["embedded.kmsdash.test": core])
    #expect(await inProcess.serverCertificateNotAfter(target) == nil)
    let http = try XKSHTTPClient(routes: ["embedded.kmsdash.test": URL(string: "http://127.0.0.1:9")!])
    #expect(await http.serverCertificateNotAfter(target) == nil)
    try await inProcess.shutdown()
    try await http.shutdown()
  }

  // MARK: mTLS

  /// A proxy requiring client certificates of the KMS client CA named `cks.kms.us-east-1…`, and
  /// engines presenting the right certificate, none, another name, or one of another CA.
  @Test func mutualTLSAdmitsOnlyTheNamedClientCertificate() async throws {
    let serverCertificates = ProxyCertificates(directory: Self.directory("xks-mtls-server"))
    let leaf = try await serverCertificates.ensure(names: [])
    let kmsCertificates = ProxyCertificates(directory: Self.directory("xks-mtls-kms"))
    let kms = try await kmsCertificates.ensureClient(commonName: "cks.kms.us-east-1.amazonaws.com")
    let otherName = try await kmsCertificates.ensureClient(commonName: "someone-else.example.com")
    let strangerCertificates = ProxyCertificates(directory: Self.directory("xks-mtls-stranger"))
    let stranger = try await strangerCertificates.ensureClient(commonName: "cks.kms.us-east-1.amazonaws.com")
    // The same name again keeps the same files (generated once, beside the state).
    #expect(try await kmsCertificates.ensureClient(commonName: "cks.kms.us-east-1.amazonaws.com") == kms)
    let authentication = try XKSClientAuthentication(
      caFile: kmsCertificates.caPath, subject: "cks.kms.us-east-1.amazonaws.com")
    let (server, url) = try await Self.proxy(serverCertificates, leaf, clientAuthentication: authentication)
    defer { Task { await server.shutdown() } }

    func engine(_ identity: (certificatePath: String, keyPath: String)?) throws -> (
      KeyStoreEngine, ManualClock, XKSHTTPClient
    ) {
      try Self.engine(routedTo: url, caFile: serverCertificates.caPath, identity: identity)
    }

    // The right certificate: created, connected, and a key double-encrypts through the proxy.
    let (good, goodClock, goodClient) = try engine(kms)
    await good.useXKSProxy(goodClient)
    let id = try await Self.createStore(good, "mtls")
    #expect(try await Self.connect(good, goodClock, id).connectionState == .connected)
    let key = try #require(
      try await good.createKey(
        CreateKeyRequest(origin: "EXTERNAL_KEY_STORE", customKeyStoreId: id, xksKeyId: "demo-aes-1")
      ).keyMetadata)
    let sealed = try await good.encrypt(EncryptRequest(keyId: key.keyId, plaintext: Data("mtls".utf8)))
    let opened = try await good.decrypt(DecryptRequest(ciphertextBlob: sealed.ciphertextBlob))
    #expect(opened.plaintext == Data("mtls".utf8))
    #expect(await good.xksHealth(customKeyStoreId: id)?.certificateNotAfter != nil)
    try await goodClient.shutdown()

    // No certificate, another name, another CA: the handshake fails, as KMS reports a TLS failure.
    let (_, _, creator) = try engine(kms)
    for (label, identity) in [("none", nil), ("other name", otherName), ("other CA", stranger)] {
      let (bad, badClock, badClient) = try engine(identity)
      // Created through a client the proxy admits, then connected through this one.
      await bad.useXKSProxy(creator)
      let badId = try await Self.createStore(bad, "mtls-\(label.replacingOccurrences(of: " ", with: "-"))")
      await bad.useXKSProxy(badClient)
      let entry = try await Self.connect(bad, badClock, badId)
      #expect(entry.connectionState == .failed, "\(label)")
      #expect(entry.connectionErrorCode == .xksProxyInvalidTlsConfiguration, "\(label)")
      do {
        // Another URI path (the first is in use): TLS fails before any path is looked at.
        _ = try await Self.createStore(
          bad, "mtls-again-\(label.replacingOccurrences(of: " ", with: "-"))", path: "/other/kms/xks/v1")
        Issue.record("\(label): CreateCustomKeyStore passed without a valid client certificate")
      } catch let error as KMSError {
        #expect(error.code == .xksProxyUriUnreachableException, "\(label): \(error)")
        #expect(error.message == XKSMessages.noTLS, "\(label)")
      }
      try await badClient.shutdown()
    }
    try await creator.shutdown()
  }
}
