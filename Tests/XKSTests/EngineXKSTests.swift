import Foundation
import KMSModel
import KeyStoreEngine
import Testing
import XKSClient
import XKSProxy

/// The engine against a real proxy over sockets (plain HTTP on loopback, routed like
/// `kmsdash serve --xks-route`), on a manual clock: connects end CONNECTED or FAILED with the XKS
/// code, Create/Update/CreateKey raise the table's exceptions, crypto is double-encrypted.
@Suite(.serialized) struct EngineXKSTests {
  static let endpoint = "https://xks.kmsdash.test"
  static let credential = XksProxyAuthenticationCredentialType(
    accessKeyId: XKSProxyConfiguration.demoAccessKeyId,
    rawSecretAccessKey: XKSProxyConfiguration.demoSecretAccessKey)
  static let rotated = XKSProxyConfiguration.Credential(
    accessKeyId: "ROTATEDXKSACCESSKEY234567", secretAccessKey: "rotatedSecretKey0123456789abcdefghijklmnopq")

  /// A proxy (demo configuration plus a rotation credential), an engine on a manual clock and
  /// the client that joins them.
  struct World {
    let proxy: XKSProxyServer
    let port: Int
    let clock: ManualClock
    let engine: KeyStoreEngine
    let client: XKSHTTPClient
    var core: XKSProxyCore { proxy.core }

    func stop() async {
      try? await client.shutdown()
      await proxy.shutdown()
    }

    func fault(_ change: (inout XKSProxyFaults) -> Void) throws {
      var patch = XKSProxyFaults()
      change(&patch)
      try core.setFaults(patch)
    }

    func createStore(
      _ name: String = "xks", path: String = XKSProxyConfiguration.demoUriPath,
      credential: XksProxyAuthenticationCredentialType = EngineXKSTests.credential
    ) async throws -> String {
      try #require(
        try await engine.createCustomKeyStore(
          CreateCustomKeyStoreRequest(
            customKeyStoreName: name, customKeyStoreType: "EXTERNAL_KEY_STORE",
            xksProxyUriEndpoint: EngineXKSTests.endpoint,
            xksProxyUriPath: path, xksProxyAuthenticationCredential: credential,
            xksProxyConnectivity: "PUBLIC_ENDPOINT")
        ).customKeyStoreId)
    }

    /// Connect, let the attempt fall due, wait for the health check, and report the entry.
    func connect(_ storeId: String) async throws -> CustomKeyStoresListEntry {
      _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: storeId))
      clock.advance(by: 3600)
      try await engine.runDueWork()
      await engine.xksCallsSettled()
      return try await entry(storeId)
    }

    func disconnect(_ storeId: String) async throws {
      _ = try await engine.disconnectCustomKeyStore(
        DisconnectCustomKeyStoreRequest(customKeyStoreId: storeId))
      clock.advance(by: 3600)
      try await engine.runDueWork()
    }

    func entry(_ storeId: String) async throws -> CustomKeyStoresListEntry {
      try #require(
        try await engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(customKeyStoreId: storeId))
          .customKeyStores?.first)
    }

    func createKey(_ storeId: String, _ xksKeyId: String) async throws -> KeyMetadata {
      try #require(
        try await engine.createKey(
          CreateKeyRequest(origin: "EXTERNAL_KEY_STORE", customKeyStoreId: storeId, xksKeyId: xksKeyId)
        ).keyMetadata)
    }
  }

  static func world(trustCA: Bool = true) async throws -> World {
    var configuration = XKSProxyConfiguration.demo
    configuration.keyStores[0].credentials.append(rotated)
    let core = XKSProxyCore(
      configuration: configuration, ekm: try ExternalKeyManager(configuration: configuration, state: nil))
    let proxy = XKSProxyServer(core: core, tls: nil, threads: 1) { _ in }
    let bound = try await proxy.start(host: "127.0.0.1", port: 0)
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let engine = KeyStoreEngine(configuration: EngineConfiguration(seed: 3), clock: clock)
    let client = try XKSHTTPClient(routes: [
      "xks.kmsdash.test": URL(string: "http://127.0.0.1:\(bound.port)")!
    ])
    await engine.useXKSProxy(client)
    return World(proxy: proxy, port: bound.port, clock: clock, engine: engine, client: client)
  }

  func expectKMSError<T>(
    _ code: KMSErrorCode, message: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
  ) async {
    do {
      _ = try await body()
      Issue.record("expected \(code.rawValue)", sourceLocation: sourceLocation)
    } catch let error as KMSError {
      #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
      if let message { #expect(error.message == message, sourceLocation: sourceLocation) }
    } catch {
      Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
  }

  // MARK: Connect

  @Test func connectReachesConnectedThroughTheProxy() async throws {
    let world = try await Self.world()
    defer { Task { await world.stop() } }
    let id = try await world.createStore()
    let entry = try await world.connect(id)
    #expect(entry.connectionState == .connected)
    #expect(entry.connectionErrorCode == nil)
  }

  @Test func everyConnectFailureHasItsCode() async throws {
    let world = try await Self.world()
    defer { Task { await world.stop() } }
    let id = try await world.createStore()
    let cases: [(String, (inout XKSProxyFaults) -> Void, ConnectionErrorCodeType)] = [
      ("auth", { $0.errorName = "AuthenticationFailedException" }, .invalidCredentials),
      ("denied", { $0.errorName = "AccessDeniedException" }, .xksProxyAccessDenied),
      ("path", { $0.errorName = "InvalidUriPathException" }, .xksProxyInvalidConfiguration),
      ("internal", { $0.errorName = "InternalException" }, .xksProxyInvalidResponse),
      ("dependency", { $0.errorName = "DependencyTimeoutException" }, .xksProxyTimedOut),
      ("throttled", { $0.errorName = "ThrottlingException" }, .xksProxyNotReachable),
      ("html", { $0.malformed = .html }, .xksProxyInvalidResponse),
      ("missing", { $0.malformed = .missingField }, .xksProxyInvalidResponse),
      ("slow", { $0.latencyMilliseconds = 300 }, .xksProxyTimedOut),
      ("ekm", { $0.ekmHealth = .unavailable }, .xksProxyNotReachable),
      ("refused", { $0.refuseConnections = true }, .xksProxyNotReachable),
    ]
    for (name, change, code) in cases {
      try world.fault(change)
      let entry = try await world.connect(id)
      #expect(entry.connectionState == .failed, "\(name)")
      #expect(entry.connectionErrorCode == code, "\(name)")
      world.core.clearFaults()
      try await world.disconnect(id)
    }
    // Degraded members still serve: the store connects.
    try world.fault { $0.ekmHealth = .someDegraded }
    #expect(try await world.connect(id).connectionState == .connected)
  }

  @Test func aFaultSetWhileConnectingCounts() async throws {
    let world = try await Self.world()
    defer { Task { await world.stop() } }
    let id = try await world.createStore()
    _ = try await world.engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
    try world.fault { $0.latencyMilliseconds = 300 }
    world.clock.advance(by: 3600)
    try await world.engine.runDueWork()
    // While the health check runs, the store stays CONNECTING and no due work spins.
    #expect(try await world.entry(id).connectionState == .connecting)
    await world.engine.xksCallsSettled()
    let entry = try await world.entry(id)
    #expect(entry.connectionState == .failed)
    #expect(entry.connectionErrorCode == .xksProxyTimedOut)
  }

  @Test func aDisconnectOvertakesTheHealthCheck() async throws {
    let world = try await Self.world()
    defer { Task { await world.stop() } }
    let id = try await world.createStore()
    _ = try await world.engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
    try world.fault { $0.latencyMilliseconds = 150 }
    world.clock.advance(by: 3600)
    try await world.engine.runDueWork()
    _ = try await world.engine.disconnectCustomKeyStore(DisconnectCustomKeyStoreRequest(customKeyStoreId: id))
    await world.engine.xksCallsSettled()
    #expect(try await world.entry(id).connectionState == .disconnecting)
  }

  @Test func tlsFailureIsInvalidTLSConfiguration() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "xks-engine-tls-\(UUID().uuidString)")
    let certificates = ProxyCertificates(directory: directory.path)
    let leaf = try await certificates.ensure(names: [])
    let core = XKSProxyCore(
      configuration: .demo, ekm: try ExternalKeyManager(configuration: .demo, state: nil))
    let proxy = XKSProxyServer(
      core: core,
      tls: try XKSProxyServer.tlsContext(
        certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM),
      threads: 1
    ) { _ in }
    let bound = try await proxy.start(host: "127.0.0.1", port: 0)
    defer { Task { await proxy.shutdown() } }
    let route = ["xks.kmsdash.test": URL(string: "https://127.0.0.1:\(bound.port)")!]
    // TLS is what is tested, not the 250 ms bound: a loaded machine may take longer to shake hands.
    let trusting = try XKSHTTPClient(routes: route, caFile: certificates.caPath, timeout: .seconds(3))
    let untrusting = try XKSHTTPClient(routes: route, timeout: .seconds(3))
    let clock = ManualClock()
    let engine = KeyStoreEngine(clock: clock)
    await engine.useXKSProxy(trusting)
    let id = try #require(
      try await engine.createCustomKeyStore(
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "tls", customKeyStoreType: "EXTERNAL_KEY_STORE",
          xksProxyUriEndpoint: Self.endpoint,
          xksProxyUriPath: XKSProxyConfiguration.demoUriPath,
          xksProxyAuthenticationCredential: Self.credential,
          xksProxyConnectivity: "PUBLIC_ENDPOINT")
      ).customKeyStoreId)
    await engine.useXKSProxy(untrusting)
    _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
    clock.advance(by: 3600)
    try await engine.runDueWork()
    await engine.xksCallsSettled()
    let entry = try #require(
      try await engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(customKeyStoreId: id))
        .customKeyStores?.first)
    #expect(entry.connectionErrorCode == .xksProxyInvalidTlsConfiguration)
    // Create through an untrusted certificate: the URI is unreachable for KMS.
    await expectKMSError(.xksProxyUriUnreachableException, message: XKSMessages.noTLS) {
      try await engine.createCustomKeyStore(
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "tls2", customKeyStoreType: "EXTERNAL_KEY_STORE",
          xksProxyUriEndpoint: Self.endpoint,
          xksProxyUriPath: "/other/kms/xks/v1", xksProxyAuthenticationCredential: Self.credential,
          xksProxyConnectivity: "PUBLIC_ENDPOINT"))
    }
    try await trusting.shutdown()
    try await untrusting.shutdown()
  }

  @Test func periodicHealthChecksRecordButNeverChangeTheState() async throws {
    let world = try await Self.world()
    defer { Task { await world.stop() } }
    let id = try await world.createStore()
    _ = try await world.connect(id)
    world.clock.advance(by: 301)
    try await world.engine.runDueWork()
    await world.engine.xksCallsSettled()
    let healthy = try #require(await world.engine.xksHealth(customKeyStoreId: id))
    #expect(healthy.failure == nil)
    #expect(healthy.connectOutcome == nil)
    #expect(healthy.checkOperation == "KmsHealthCheck")
    #expect(healthy.ekmFleet.map(\.id) == ["ekm-1", "ekm-2"])
    #expect(healthy.ekmFleet.map(\.healthStatus) == ["ACTIVE", "ACTIVE"])
    #expect(try #require(healthy.latencyMilliseconds) < 250)
    #expect(healthy.credentialSetAt == Date(timeIntervalSince1970: 1_800_000_000))
    let key = try await world.createKey(id, "demo-aes-1")
    try world.fault { $0.ekmHealth = .unavailable }
    world.clock.advance(by: 301)
    try await world.engine.runDueWork()
    await world.engine.xksCallsSettled()
    let down = try #require(await world.engine.xksHealth(customKeyStoreId: id))
    #expect(down.connectOutcome == .xksProxyNotReachable)
    #expect(try #require(down.checkedAt) > #require(healthy.checkedAt))
    #expect(try await world.entry(id).connectionState == .connected)
    // The record is the store's: published in a delta, in the snapshot, and kept over a restart.
    #expect(try await world.engine.fleetSnapshot().xksHealth[id] == down)
    // Failed crypto calls are counted by errorName and reach the record with the next round.
    try world.fault {
      $0.errorName = "ThrottlingException"
      $0.ekmHealth = .active
    }
    await expectKMSError(.kmsInvalidStateException) {
      try await world.engine.encrypt(EncryptRequest(keyId: key.keyId, plaintext: Data("x".utf8)))
    }
    try world.fault { $0.errorName = "" }
    world.clock.advance(by: 301)
    try await world.engine.runDueWork()
    await world.engine.xksCallsSettled()
    let counted = try #require(await world.engine.xksHealth(customKeyStoreId: id))
    #expect(counted.errorCounts["ThrottlingException"] == 1)
  }

  // MARK: Create and Update

  @Test func createAndUpdateCheckTheProxy() async throws {
    let world = try await Self.world()
    defer { Task { await world.stop() } }
    await expectKMSError(
      .xksProxyIncorrectAuthenticationCredentialException, message: XKSMessages.authentication
    ) {
      try await world.createStore(
        "bad-secret",
        credential: .init(
          accessKeyId: XKSProxyConfiguration.demoAccessKeyId,
          rawSecretAccessKey: String(repeating: "x", count: 43)))
    }
    await expectKMSError(.xksProxyInvalidConfigurationException, message: XKSMessages.invalidUriPath) {
      try await world.createStore("bad-path", path: "/wrong/kms/xks/v1")
    }
    try world.fault { $0.malformed = .truncatedJSON }
    await expectKMSError(.xksProxyInvalidResponseException, message: XKSMessages.cannotInterpret) {
      try await world.createStore("malformed")
    }
    world.core.clearFaults()
    try world.fault { $0.errorName = "ValidationException" }
    await expectKMSError(.xksProxyInvalidResponseException) { try await world.createStore("validation") }
    world.core.clearFaults()
    try world.fault { $0.ekmHealth = .unavailable }
    await expectKMSError(.xksProxyUriUnreachableException) { try await world.createStore("ekm") }
    world.core.clearFaults()
    try world.fault { $0.latencyMilliseconds = 300 }
    await expectKMSError(.xksProxyUriUnreachableException, message: XKSMessages.socketTimeout) {
      try await world.createStore("slow")
    }
    world.core.clearFaults()
    try world.fault { $0.errorName = "ThrottlingException" }
    await expectKMSError(.xksProxyUriUnreachableException, message: XKSMessages.throttling) {
      try await world.createStore("throttled")
    }
    world.core.clearFaults()
    // Nothing was created by the failures.
    #expect(
      try await world.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest()).customKeyStores?
        .isEmpty == true)

    // Update: a wrong new credential is refused; the rotation credential is accepted and used.
    let id = try await world.createStore()
    await expectKMSError(.xksProxyIncorrectAuthenticationCredentialException) {
      try await world.engine.updateCustomKeyStore(
        UpdateCustomKeyStoreRequest(
          customKeyStoreId: id,
          xksProxyAuthenticationCredential: .init(
            accessKeyId: "UNKNOWNXKSACCESSKEY23456", rawSecretAccessKey: String(repeating: "u", count: 43))))
    }
    await expectKMSError(.xksProxyInvalidConfigurationException) {
      try await world.engine.updateCustomKeyStore(
        UpdateCustomKeyStoreRequest(customKeyStoreId: id, xksProxyUriPath: "/wrong/kms/xks/v1"))
    }
    _ = try await world.engine.updateCustomKeyStore(
      UpdateCustomKeyStoreRequest(
        customKeyStoreId: id,
        xksProxyAuthenticationCredential: .init(
          accessKeyId: Self.rotated.accessKeyId, rawSecretAccessKey: Self.rotated.secretAccessKey)))
    #expect(try await world.entry(id).xksProxyConfiguration?.accessKeyId == Self.rotated.accessKeyId)
    #expect(try await world.connect(id).connectionState == .connected)
    let key = try await world.createKey(id, "demo-aes-1")
    let sealed = try await world.engine.encrypt(
      EncryptRequest(keyId: key.keyId, plaintext: Data("rotated".utf8)))
    #expect(sealed.ciphertextBlob != nil)
  }

  /// The proxy is called only for a request that passes every other check (KMS's order): with
  /// the proxy refusing connections, the other errors still come first.
  @Test func otherChecksComeBeforeTheProxyCall() async throws {
    let world = try await Self.world()
    defer { Task { await world.stop() } }
    let id = try await world.createStore()
    _ = try await world.connect(id)
    _ = try await world.createKey(id, "demo-aes-1")
    try world.fault { $0.refuseConnections = true }
    await expectKMSError(.customKeyStoreNameInUseException) {
      try await world.createStore("xks", path: "/x/kms/xks/v1")
    }
    await expectKMSError(.xksProxyUriInUseException) { try await world.createStore("second") }
    await expectKMSError(.xksKeyAlreadyInUseException) { try await world.createKey(id, "demo-aes-1") }
    await expectKMSError(.validationException) {
      try await world.engine.updateCustomKeyStore(
        UpdateCustomKeyStoreRequest(customKeyStoreId: id, keyStorePassword: "password1"))
    }
    await expectKMSError(.customKeyStoreInvalidStateException) {
      try await world.engine.updateCustomKeyStore(
        UpdateCustomKeyStoreRequest(customKeyStoreId: id, xksProxyUriEndpoint: "https://other.kmsdash.test"))
    }
    // Then the proxy's own failure.
    await expectKMSError(.xksProxyUriUnreachableException) {
      try await world.createStore("third", path: "/third/kms/xks/v1")
    }
    await expectKMSError(.customKeyStoreInvalidStateException, message: XKSMessages.noTCP) {
      try await world.createKey(id, "demo-aes-2")
    }
    // Nothing of the rehearsals is visible.
    #expect(
      try await world.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest()).customKeyStores?.count
        == 1)
    #expect(try await world.engine.listKeys(ListKeysRequest()).keys?.count == 1)
  }

  // MARK: CreateKey

  @Test func createKeyChecksTheExternalKey() async throws {
    let world = try await Self.world()
    defer { Task { await world.stop() } }
    let id = try await world.createStore()
    #expect(try await world.connect(id).connectionState == .connected)
    let key = try await world.createKey(id, "demo-aes-1")
    #expect(key.origin == .externalKeyStore)
    #expect(key.xksKeyConfiguration?.id == "demo-aes-1")
    #expect(key.keyState == .enabled)
    let described = try await world.engine.describeKey(DescribeKeyRequest(keyId: key.keyId)).keyMetadata
    #expect(described?.xksKeyConfiguration?.id == "demo-aes-1")

    await expectKMSError(.xksKeyAlreadyInUseException) { try await world.createKey(id, "demo-aes-1") }
    for external in ["demo-encrypt-only", "demo-decrypt-only", "demo-no-usage"] {
      await expectKMSError(.xksKeyInvalidConfigurationException, message: XKSMessages.keyUsage) {
        try await world.createKey(id, external)
      }
    }
    await expectKMSError(.xksKeyInvalidConfigurationException, message: XKSMessages.keyNotEnabled) {
      try await world.createKey(id, "demo-disabled")
    }
    await expectKMSError(.xksKeyNotFoundException, message: XKSMessages.keyNotFound) {
      try await world.createKey(id, "no-such-key")
    }
    let faults: [((inout XKSProxyFaults) -> Void, KMSErrorCode)] = [
      ({ $0.errorName = "AccessDeniedException" }, .kmsInvalidStateException),
      ({ $0.errorName = "UnsupportedOperationException" }, .xksKeyInvalidResponseException),
      ({ $0.errorName = "InvalidStateException" }, .xksKeyInvalidConfigurationException),
      ({ $0.errorName = "AuthenticationFailedException" }, .customKeyStoreInvalidStateException),
      ({ $0.errorName = "InternalException" }, .customKeyStoreInvalidStateException),
      ({ $0.latencyMilliseconds = 300 }, .customKeyStoreInvalidStateException),
      ({ $0.malformed = .wrongTypes }, .customKeyStoreInvalidStateException),
    ]
    for (change, code) in faults {
      try world.fault(change)
      await expectKMSError(code) { try await world.createKey(id, "demo-aes-2") }
      world.core.clearFaults()
    }
    // A store that is not CONNECTED refuses before any proxy call.
    try await world.disconnect(id)
    try world.fault { $0.refuseConnections = true }
    await expectKMSError(.customKeyStoreInvalidStateException) { try await world.createKey(id, "demo-aes-2") }
  }

  // MARK: Cryptography

  @Test func doubleEncryptionRoundTrips() async throws {
    let world = try await Self.world()
    defer { Task { await world.stop() } }
    let id = try await world.createStore()
    _ = try await world.connect(id)
    let key = try await world.createKey(id, "demo-aes-1")
    let second = try await world.createKey(id, "demo-aes-2")
    let context = ["purpose": "test", "tenant": "a"]
    let engine = world.engine
    let sealed = try #require(
      try await engine.encrypt(
        EncryptRequest(keyId: key.keyId, plaintext: Data("hello".utf8), encryptionContext: context)
      )
      .ciphertextBlob)
    let opened = try await engine.decrypt(DecryptRequest(ciphertextBlob: sealed, encryptionContext: context))
    #expect(opened.plaintext == Data("hello".utf8))
    #expect(opened.keyId == key.arn)
    // The encryption context is bound: a different one fails as KMS reports proxy failures.
    await expectKMSError(.kmsInvalidStateException, message: XKSMessages.invalidCiphertext) {
      try await engine.decrypt(
        DecryptRequest(ciphertextBlob: sealed, encryptionContext: ["purpose": "other"]))
    }
    await expectKMSError(.incorrectKeyException) {
      try await engine.decrypt(
        DecryptRequest(ciphertextBlob: sealed, encryptionContext: context, keyId: second.keyId))
    }
    // GenerateDataKey and WithoutPlaintext.
    let dataKey = try await engine.generateDataKey(
      GenerateDataKeyRequest(keyId: key.keyId, keySpec: "AES_256"))
    let reopened = try await engine.decrypt(DecryptRequest(ciphertextBlob: dataKey.ciphertextBlob!))
    #expect(reopened.plaintext == dataKey.plaintext)
    #expect(dataKey.plaintext?.count == 32)
    let without = try await engine.generateDataKeyWithoutPlaintext(
      GenerateDataKeyWithoutPlaintextRequest(keyId: key.keyId, numberOfBytes: 64))
    #expect(
      try await engine.decrypt(DecryptRequest(ciphertextBlob: without.ciphertextBlob!)).plaintext?.count == 64
    )
    // ReEncrypt from one XKS key to another, and to a KMS key, and back.
    let local = try #require(try await engine.createKey(CreateKeyRequest()).keyMetadata)
    let moved = try await engine.reEncrypt(
      ReEncryptRequest(
        ciphertextBlob: sealed, sourceEncryptionContext: context, destinationKeyId: second.keyId,
        destinationEncryptionContext: ["x": "y"]))
    #expect(moved.sourceKeyId == key.arn && moved.keyId == second.arn)
    let toLocal = try await engine.reEncrypt(
      ReEncryptRequest(
        ciphertextBlob: moved.ciphertextBlob!, sourceEncryptionContext: ["x": "y"],
        destinationKeyId: local.keyId))
    let back = try await engine.reEncrypt(
      ReEncryptRequest(ciphertextBlob: toLocal.ciphertextBlob!, destinationKeyId: key.keyId))
    #expect(
      try await engine.decrypt(DecryptRequest(ciphertextBlob: back.ciphertextBlob!)).plaintext
        == Data("hello".utf8))
    // A tampered blob.
    var tampered = sealed
    tampered[tampered.count - 1] ^= 1
    await expectKMSError(.kmsInvalidStateException, message: XKSMessages.invalidCiphertext) {
      try await engine.decrypt(DecryptRequest(ciphertextBlob: tampered, encryptionContext: context))
    }
  }

  @Test func aDeadProxyLeavesTheStoreConnectedAndCryptoFails() async throws {
    let world = try await Self.world()
    defer { Task { await world.stop() } }
    let id = try await world.createStore()
    _ = try await world.connect(id)
    let key = try await world.createKey(id, "demo-aes-1")
    let sealed = try #require(
      try await world.engine.encrypt(EncryptRequest(keyId: key.keyId, plaintext: Data("x".utf8)))
        .ciphertextBlob)
    let cases: [((inout XKSProxyFaults) -> Void, String)] = [
      ({ $0.refuseConnections = true }, XKSMessages.noTCP),
      ({ $0.latencyMilliseconds = 300 }, XKSMessages.socketTimeout),
      ({ $0.disabledKeys = ["demo-aes-1"] }, XKSMessages.keyNotEnabled),
      ({ $0.errorName = "KeyNotFoundException" }, XKSMessages.keyNotFound),
      ({ $0.errorName = "AccessDeniedException" }, XKSMessages.accessDenied),
      ({ $0.errorName = "ThrottlingException" }, XKSMessages.throttling),
      ({ $0.errorName = "InternalException" }, XKSMessages.internalFailure),
      ({ $0.malformed = .wrongTagLength }, XKSMessages.cannotInterpret),
    ]
    for (change, message) in cases {
      try world.fault(change)
      await expectKMSError(.kmsInvalidStateException, message: message) {
        try await world.engine.encrypt(EncryptRequest(keyId: key.keyId, plaintext: Data("x".utf8)))
      }
      if message != XKSMessages.cannotInterpret {
        await expectKMSError(.kmsInvalidStateException, message: message) {
          try await world.engine.decrypt(DecryptRequest(ciphertextBlob: sealed))
        }
      }
      world.core.clearFaults()
    }
    #expect(try await world.entry(id).connectionState == .connected)
    // A disconnected store: the key is Unavailable with the XKS wording.
    try await world.disconnect(id)
    await expectKMSError(.kmsInvalidStateException, message: XKSMessages.notConnected) {
      try await world.engine.encrypt(EncryptRequest(keyId: key.keyId, plaintext: Data("x".utf8)))
    }
  }
}
