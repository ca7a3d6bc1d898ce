import Foundation
import KMSModel
import NIOSSL
import Testing
import XKSClient
import XKSProxy

/// The engine's client against the proxy over real sockets: TLS startup with the generated CA,
/// and every outcome KMS tells apart (each errorName, malformed answers, timeouts, resets,
/// refused connections, untrusted, expired and wrong-name certificates).
@Suite(.serialized) struct ClientOverSocketsTests {
  struct Running {
    let server: XKSProxyServer
    let port: Int
    let certificates: ProxyCertificates?
    var core: XKSProxyCore { server.core }
  }

  static func start(tls: Bool) async throws -> Running {
    let ekm = try ExternalKeyManager(configuration: .demo, state: nil)
    let core = XKSProxyCore(configuration: .demo, ekm: ekm)
    var context: NIOSSLContext?
    var certificates: ProxyCertificates?
    if tls {
      let made = ProxyCertificates(
        directory: FileManager.default.temporaryDirectory.appendingPathComponent(
          "xks-tls-\(UUID().uuidString)"
        ).path)
      let leaf = try await made.ensure(names: [])
      context = try XKSProxyServer.tlsContext(
        certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
      certificates = made
    }
    let server = XKSProxyServer(core: core, tls: context, threads: 1) { _ in }
    if let certificates {
      core.observeCertificateFault { kind in
        Task {
          var leaf = try await certificates.faulty(kind, names: [])
          if leaf == nil { leaf = try await certificates.ensure(names: []) }
          guard let leaf else { return }
          server.replaceTLSContext(
            try XKSProxyServer.tlsContext(
              certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM))
        }
      }
    }
    let bound = try await server.start(host: "127.0.0.1", port: 0)
    return Running(server: server, port: bound.port, certificates: certificates)
  }

  static let target = XKSProxyTarget(
    uriEndpoint: "https://xks.kmsdash.test", uriPath: XKSProxyConfiguration.demoUriPath,
    accessKeyId: XKSProxyConfiguration.demoAccessKeyId,
    secretAccessKey: XKSProxyConfiguration.demoSecretAccessKey,
    region: "us-east-1")

  /// A client with a generous bound (a loaded machine must not turn answers into timeouts);
  /// the test of the bound itself uses KMS's 250 ms.
  static func client(
    _ running: Running, scheme: String, trust: Bool = true, timeout: Duration = .seconds(2)
  ) throws -> XKSHTTPClient {
    try XKSHTTPClient(
      routes: ["xks.kmsdash.test": URL(string: "\(scheme)://127.0.0.1:\(running.port)")!],
      caFile: trust ? running.certificates?.caPath : nil, timeout: timeout)
  }

  static let metadata = XKSRequestMetadata(
    awsPrincipalArn: "arn:aws:iam::111122223333:root", kmsKeyArn: "arn:aws:kms:us-east-1:111122223333:key/k",
    kmsOperation: "Encrypt", kmsRequestId: "req-1")

  func expectFailure(
    _ expected: (XKSCallFailure) -> Bool, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws(XKSCallFailure) -> some Any
  ) async {
    do {
      _ = try await body()
      Issue.record("expected a failure", sourceLocation: sourceLocation)
    } catch {
      #expect(expected(error), "\(error)", sourceLocation: sourceLocation)
    }
  }

  @Test func tlsStartupAndRoundTrip() async throws {
    let running = try await Self.start(tls: true)
    defer { Task { await running.server.shutdown() } }
    #expect(FileManager.default.fileExists(atPath: running.certificates!.caPath))
    let client = try Self.client(running, scheme: "https")
    let health = try await client.getHealthStatus(
      Self.target, metadata: .init(kmsOperation: "ConnectCustomKeyStore", kmsRequestId: "r"))
    #expect(health.ekmFleetDetails?.count == 2)
    let metadata = try await client.getKeyMetadata(Self.target, keyId: "demo-aes-1", metadata: Self.metadata)
    #expect(metadata.keyUsage == ["ENCRYPT", "DECRYPT"])
    let sealed = try await client.encrypt(
      Self.target, keyId: "demo-aes-1",
      request: XKSEncryptRequest(
        requestMetadata: Self.metadata, plaintext: Data("hello".utf8).base64EncodedString(),
        additionalAuthenticatedData: Data("aad".utf8).base64EncodedString(),
        ciphertextDataIntegrityValueAlgorithm: "SHA_256"))
    let opened = try await client.decrypt(
      Self.target, keyId: "demo-aes-1",
      request: XKSDecryptRequest(
        requestMetadata: Self.metadata, ciphertext: sealed.ciphertext,
        ciphertextMetadata: sealed.ciphertextMetadata,
        additionalAuthenticatedData: Data("aad".utf8).base64EncodedString(),
        initializationVector: sealed.initializationVector, authenticationTag: sealed.authenticationTag))
    #expect(opened.plaintext == Data("hello".utf8).base64EncodedString())
    try await client.shutdown()
  }

  @Test func tlsFailuresAreTLS() async throws {
    let running = try await Self.start(tls: true)
    defer { Task { await running.server.shutdown() } }
    let untrusting = try Self.client(running, scheme: "https", trust: false)
    await expectFailure({ if case .tlsFailure = $0 { true } else { false } }) {
      () async throws(XKSCallFailure) in try await untrusting.getHealthStatus(Self.target, metadata: .init())
    }
    try await untrusting.shutdown()
    let plainToTLS = try Self.client(running, scheme: "http")
    await expectFailure({ $0 != .timedOut && !(String(describing: $0).isEmpty) }) {
      () async throws(XKSCallFailure) in try await plainToTLS.getHealthStatus(Self.target, metadata: .init())
    }
    try await plainToTLS.shutdown()
    for kind in [XKSProxyFaults.Certificate.expired, .wrongName] {
      var patch = XKSProxyFaults()
      patch.certificate = kind
      try running.core.setFaults(patch)
      try await Task.sleep(for: .milliseconds(300))  // the certificate is swapped in the background
      let client = try Self.client(running, scheme: "https")
      await expectFailure({ if case .tlsFailure = $0 { true } else { false } }) {
        () async throws(XKSCallFailure) in try await client.getHealthStatus(Self.target, metadata: .init())
      }
      try await client.shutdown()
    }
    running.core.clearFaults()
    try await Task.sleep(for: .milliseconds(300))
    let healed = try Self.client(running, scheme: "https")
    _ = try await healed.getHealthStatus(Self.target, metadata: .init())
    try await healed.shutdown()
  }

  @Test func everyProxyErrorAndMalformedAnswer() async throws {
    let running = try await Self.start(tls: false)
    defer { Task { await running.server.shutdown() } }
    let client = try Self.client(running, scheme: "http")
    for name in XKSErrorName.allCases {
      var patch = XKSProxyFaults()
      patch.errorName = name.rawValue
      try running.core.setFaults(patch)
      await expectFailure({ $0 == .proxyError(name) }) { () async throws(XKSCallFailure) in
        try await client.getKeyMetadata(Self.target, keyId: "demo-aes-1", metadata: Self.metadata)
      }
    }
    running.core.clearFaults()
    for kind in XKSProxyFaults.Malformed.allCases {
      var patch = XKSProxyFaults()
      patch.malformed = kind
      try running.core.setFaults(patch)
      await expectFailure({ if case .malformedResponse = $0 { true } else { false } }) {
        () async throws(XKSCallFailure) in
        try await client.encrypt(
          Self.target, keyId: "demo-aes-1",
          request: XKSEncryptRequest(
            requestMetadata: Self.metadata, plaintext: Data("x".utf8).base64EncodedString()))
      }
    }
    running.core.clearFaults()
    // A wrong credential is AuthenticationFailedException; an unknown path InvalidUriPathException.
    var wrong = Self.target
    wrong.secretAccessKey = String(repeating: "w", count: 43)
    await expectFailure({ $0 == .proxyError(.authenticationFailedException) }) {
      () async throws(XKSCallFailure) in
      try await client.getHealthStatus(wrong, metadata: .init())
    }
    var path = Self.target
    path.uriPath = "/nope/kms/xks/v1"
    await expectFailure({ $0 == .proxyError(.invalidUriPathException) }) { () async throws(XKSCallFailure) in
      try await client.getHealthStatus(path, metadata: .init())
    }
    try await client.shutdown()
  }

  @Test func timeoutsResetsAndRefusals() async throws {
    let running = try await Self.start(tls: false)
    defer { Task { await running.server.shutdown() } }
    let client = try Self.client(running, scheme: "http", timeout: XKSHTTPClient.kmsTimeout)
    var patch = XKSProxyFaults()
    patch.latencyMilliseconds = 300
    try running.core.setFaults(patch)
    let started = ContinuousClock.now
    await expectFailure({ $0 == .timedOut }) { () async throws(XKSCallFailure) in
      try await client.getHealthStatus(Self.target, metadata: .init())
    }
    // Ends, and not after a hang: the 250 ms bound plus the scheduling of a loaded 2-core
    // machine running the whole suite (the bound itself is checked by the timeout cases).
    #expect(ContinuousClock.now - started < .seconds(10))
    running.core.clearFaults()
    patch = XKSProxyFaults()
    patch.refuseConnections = true
    try running.core.setFaults(patch)
    await expectFailure({ if case .notReachable = $0 { true } else { false } }) {
      () async throws(XKSCallFailure) in
      try await client.getHealthStatus(Self.target, metadata: .init())
    }
    running.core.clearFaults()
    patch = XKSProxyFaults()
    patch.resetMidResponse = true
    try running.core.setFaults(patch)
    await expectFailure({ $0 != .timedOut }) { () async throws(XKSCallFailure) in
      try await client.getHealthStatus(Self.target, metadata: .init())
    }
    running.core.clearFaults()
    _ = try await client.getHealthStatus(Self.target, metadata: .init())
    try await client.shutdown()
    // Nothing listens: the connection is refused.
    let port = running.port
    await running.server.shutdown()
    let nobody = try XKSHTTPClient(routes: ["xks.kmsdash.test": URL(string: "http://127.0.0.1:\(port)")!])
    await expectFailure({ if case .notReachable = $0 { true } else { false } }) {
      () async throws(XKSCallFailure) in
      try await nobody.getHealthStatus(Self.target, metadata: .init())
    }
    try await nobody.shutdown()
  }
}
