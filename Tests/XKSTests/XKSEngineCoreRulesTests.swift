import Foundation
import KMSModel
import KeyStoreEngine
import Testing
import XKSClient
import XKSProxy

/// XKS under the engine core's rules: proxy calls happen outside transactions and their outcome
/// commits in one (a failed save rolls back), the read view leaves XKS keys to the actor, and the
/// operations of the full KMS API treat XKS keys as AWS documents.
@Suite(.serialized) struct XKSEngineCoreRulesTests {
  static let endpoint = "https://xks.kmsdash.test"

  struct Persisted {
    let proxy: XKSProxyServer
    let client: XKSHTTPClient
    let clock: ManualClock
    let saved: RecordingStateStore
    let engine: KeyStoreEngine

    func stop() async {
      try? await client.shutdown()
      await proxy.shutdown()
    }
  }

  static func persisted() async throws -> Persisted {
    let core = XKSProxyCore(
      configuration: .demo, ekm: try ExternalKeyManager(configuration: .demo, state: nil))
    let proxy = XKSProxyServer(core: core, tls: nil, threads: 1) { _ in }
    let bound = try await proxy.start(host: "127.0.0.1", port: 0)
    let client = try XKSHTTPClient(routes: [
      "xks.kmsdash.test": URL(string: "http://127.0.0.1:\(bound.port)")!
    ])
    let saved = RecordingStateStore()
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let engine = try await KeyStoreEngine(clock: clock, stateStore: saved)
    await engine.useXKSProxy(client)
    return Persisted(proxy: proxy, client: client, clock: clock, saved: saved, engine: engine)
  }

  static func createRequest(_ name: String) -> CreateCustomKeyStoreRequest {
    CreateCustomKeyStoreRequest(
      customKeyStoreName: name, customKeyStoreType: "EXTERNAL_KEY_STORE", xksProxyUriEndpoint: endpoint,
      xksProxyUriPath: XKSProxyConfiguration.demoUriPath,
      xksProxyAuthenticationCredential: .init(
        accessKeyId: XKSProxyConfiguration.demoAccessKeyId,
        rawSecretAccessKey: XKSProxyConfiguration.demoSecretAccessKey),
      xksProxyConnectivity: "PUBLIC_ENDPOINT")
  }

  static func state(_ engine: KeyStoreEngine, _ id: String) async throws -> ConnectionStateType? {
    try await engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(customKeyStoreId: id))
      .customKeyStores?.first?.connectionState
  }

  /// The proxy answers CreateCustomKeyStore's health check, then the save fails: nothing exists.
  @Test func aFailedSaveAfterTheProxyCallCreatesNothing() async throws {
    let world = try await Self.persisted()
    defer { Task { await world.stop() } }
    world.saved.failNext.withLock { $0 = true }
    await #expect(throws: KMSError.self) {
      try await world.engine.createCustomKeyStore(Self.createRequest("lost"))
    }
    do {
      _ = try await world.engine.createCustomKeyStore(Self.createRequest("lost"))
    } catch {
      Issue.record("the name is free again after the rollback, got \(error)")
    }
    let all = try await world.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest())
    #expect(all.customKeyStores?.map(\.customKeyStoreName) == ["lost"])
  }

  /// The connect outcome commits in its own transaction; when that save fails the store stays
  /// CONNECTING with its attempt due, and the driver's next run asks the proxy again.
  @Test func aFailedSaveOfTheConnectOutcomeIsRetried() async throws {
    let world = try await Self.persisted()
    defer { Task { await world.stop() } }
    let id = try #require(
      try await world.engine.createCustomKeyStore(Self.createRequest("retry")).customKeyStoreId)
    _ = try await world.engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
    world.clock.advance(by: 3600)
    try await world.engine.runDueWork()  // starts the GetHealthStatus call, after its commit
    world.saved.failNext.withLock { $0 = true }
    await world.engine.xksCallsSettled()  // the answer's transaction fails to save
    #expect(try await Self.state(world.engine, id) == .connecting)
    let restarted = try await KeyStoreEngine(clock: world.clock, stateStore: world.saved)
    #expect(try await Self.state(restarted, id) == .connecting)
    try await world.engine.runDueWork()
    await world.engine.xksCallsSettled()
    #expect(try await Self.state(world.engine, id) == .connected)
    let again = try await KeyStoreEngine(clock: world.clock, stateStore: world.saved)
    #expect(try await Self.state(again, id) == .connected)
  }

  /// The hot path's read view declines XKS keys and blobs (they need the proxy); the actor answers.
  @Test func theReadViewLeavesXKSKeysToTheActor() async throws {
    let world = try await EngineXKSTests.world()
    defer { Task { await world.stop() } }
    let id = try await world.createStore()
    _ = try await world.connect(id)
    let key = try await world.createKey(id, "demo-aes-1")
    let plaintext = Data("through the proxy".utf8)
    let declined = KMSError(.kmsInternalException, "Not answered from the read view.")
    #expect(throws: declined) {
      try world.engine.readView.encryptNow(EncryptRequest(keyId: key.keyId, plaintext: plaintext))
    }
    #expect(throws: declined) {
      try world.engine.readView.generateDataKeyNow(
        GenerateDataKeyRequest(keyId: key.keyId, numberOfBytes: 32))
    }
    let blob = try #require(
      try await world.engine.encrypt(EncryptRequest(keyId: key.keyId, plaintext: plaintext)).ciphertextBlob)
    #expect(throws: declined) { try world.engine.readView.decryptNow(DecryptRequest(ciphertextBlob: blob)) }
    #expect(try await world.engine.decrypt(DecryptRequest(ciphertextBlob: blob)).plaintext == plaintext)
  }

  /// Issue 14's operations on an XKS key: no rotation (custom key store), no multi-Region
  /// replica, and a key policy that denies is enforced before the proxy is called.
  @Test func fullAPIOperationsOnXKSKeysFollowAWS() async throws {
    let world = try await EngineXKSTests.world()
    defer { Task { await world.stop() } }
    let id = try await world.createStore()
    _ = try await world.connect(id)
    let key = try await world.createKey(id, "demo-aes-1")
    let unsupported = KMSErrorCode.unsupportedOperationException
    await EngineXKSTests().expectKMSError(unsupported) {
      try await world.engine.enableKeyRotation(EnableKeyRotationRequest(keyId: key.keyId))
    }
    await EngineXKSTests().expectKMSError(unsupported) {
      try await world.engine.rotateKeyOnDemand(RotateKeyOnDemandRequest(keyId: key.keyId))
    }
    await EngineXKSTests().expectKMSError(unsupported) {
      try await world.engine.replicateKey(ReplicateKeyRequest(keyId: key.keyId, replicaRegion: "eu-west-1"))
    }
    await EngineXKSTests().expectKMSError(unsupported) {
      try await world.engine.getKeyRotationStatus(GetKeyRotationStatusRequest(keyId: key.keyId))
    }
    // Tags and aliases work as for any key.
    _ = try await world.engine.tagResource(
      TagResourceRequest(keyId: key.keyId, tags: [Tag(tagKey: "team", tagValue: "xks")]))
    _ = try await world.engine.createAlias(
      CreateAliasRequest(aliasName: "alias/xks-demo", targetKeyId: key.keyId))
    let sealed = try await world.engine.encrypt(
      EncryptRequest(keyId: "alias/xks-demo", plaintext: Data("aliased".utf8)))
    #expect(sealed.keyId == key.arn)
  }
}
