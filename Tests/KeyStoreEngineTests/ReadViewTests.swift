import Foundation
import HSMSimulator
import KMSModel
import Testing

@testable import KeyStoreEngine

/// The read view answers DescribeKey, Encrypt, Decrypt, GenerateDataKey and GenerateRandom from
/// any thread without an actor hop; it must always agree with the actor's own answers.
@Suite struct ReadViewTests {
  /// Every identifier a request could name: key IDs, key ARNs, alias names and ARNs, and junk.
  static func references(_ engine: KeyStoreEngine) async throws -> [String] {
    let keys = try await engine.listKeys(.init(limit: 1000)).keys ?? []
    let aliases = try await engine.listAliases(.init(limit: 100)).aliases ?? []
    return keys.flatMap { [$0.keyId!, $0.keyArn!] } + aliases.flatMap { [$0.aliasName!, $0.aliasArn!] } + [
      "alias/none", "arn:aws:kms:us-east-1:111122223333:alias/none", "00000000-0000-0000-0000-000000000000",
      "not-a-key", "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000000",
      "arn:aws:kms:us-east-1:111122223333:thing/x",
    ]
  }

  static func storeIds(_ engine: KeyStoreEngine) async throws -> [String?] {
    let stores = try await engine.describeCustomKeyStores(.init(limit: 1000)).customKeyStores ?? []
    return [nil, "cks-00000000000000000"] + stores.map(\.customKeyStoreId)
  }

  /// Both answers: equal values, or equal errors.
  static func agree<T: Equatable>(
    _ actor: () async throws(KMSError) -> T, _ view: () throws(KMSError) -> T,
    sourceLocation: SourceLocation = #_sourceLocation
  ) async {
    let expected: Result<T, KMSError>
    do { expected = .success(try await actor()) } catch { expected = .failure(error) }
    let actual: Result<T, KMSError>
    do { actual = .success(try view()) } catch { actual = .failure(error) }
    #expect(actual == expected, sourceLocation: sourceLocation)
  }

  /// Compares every hot read on every reference and store, and decrypts across the two paths.
  static func expectAgreement(_ engine: KeyStoreEngine, sourceLocation: SourceLocation = #_sourceLocation)
    async throws
  {
    let view = engine.readView
    let plaintext = Data("read view".utf8)
    for reference in try await references(engine) {
      await agree(
        { () throws(KMSError) in try await engine.describeKey(.init(keyId: reference)) },
        { () throws(KMSError) in try view.describeKeyNow(.init(keyId: reference)) },
        sourceLocation: sourceLocation)
      // Ciphertexts differ (random nonce): compare what is deterministic, then decrypt across.
      for context in [nil, ["purpose": "test"]] as [[String: String]?] {
        let request = EncryptRequest(keyId: reference, plaintext: plaintext, encryptionContext: context)
        await agree(
          { () throws(KMSError) in try await engine.encrypt(request).keyId },
          { () throws(KMSError) in try view.encryptNow(request).keyId }, sourceLocation: sourceLocation)
        if let fromView = try? view.encryptNow(request).ciphertextBlob {
          let decrypt = DecryptRequest(ciphertextBlob: fromView, encryptionContext: context)
          await agree(
            { () throws(KMSError) in try await engine.decrypt(decrypt) },
            { () throws(KMSError) in try view.decryptNow(decrypt) }, sourceLocation: sourceLocation)
          let wrongContext = DecryptRequest(ciphertextBlob: fromView, encryptionContext: ["other": "x"])
          await agree(
            { () throws(KMSError) in try await engine.decrypt(wrongContext) },
            { () throws(KMSError) in try view.decryptNow(wrongContext) }, sourceLocation: sourceLocation)
        }
        if let fromActor = try? await engine.encrypt(request).ciphertextBlob {
          for keyId in [nil, reference, "alias/none"] {
            let decrypt = DecryptRequest(ciphertextBlob: fromActor, encryptionContext: context, keyId: keyId)
            await agree(
              { () throws(KMSError) in try await engine.decrypt(decrypt) },
              { () throws(KMSError) in try view.decryptNow(decrypt) }, sourceLocation: sourceLocation)
          }
        }
      }
      let dataKey = GenerateDataKeyRequest(keyId: reference, keySpec: "AES_256")
      await agree(
        { () throws(KMSError) in try await engine.generateDataKey(dataKey).keyId },
        { () throws(KMSError) in try view.generateDataKeyNow(dataKey).keyId }, sourceLocation: sourceLocation)
      if let generated = try? view.generateDataKeyNow(dataKey) {
        #expect(generated.plaintext?.count == 32, sourceLocation: sourceLocation)
        let opened = try await engine.decrypt(DecryptRequest(ciphertextBlob: generated.ciphertextBlob))
        #expect(opened.plaintext == generated.plaintext, sourceLocation: sourceLocation)
      }
    }
    let junk = DecryptRequest(ciphertextBlob: Data(repeating: 7, count: 40))
    await agree(
      { () throws(KMSError) in try await engine.decrypt(junk) },
      { () throws(KMSError) in try view.decryptNow(junk) }, sourceLocation: sourceLocation)
    for storeId in try await storeIds(engine) {
      let request = GenerateRandomRequest(numberOfBytes: 16, customKeyStoreId: storeId)
      await agree(
        { () throws(KMSError) in try await engine.generateRandom(request).plaintext?.count },
        { () throws(KMSError) in try view.generateRandomNow(request).plaintext?.count },
        sourceLocation: sourceLocation)
    }
  }

  /// Keys the view is not built for (asymmetric, HMAC, imported and pending import, rotated, a
  /// custom key policy): it either answers exactly as the actor or declines (throws), so the
  /// server takes the actor's path. It never answers differently.
  @Test func otherKindsOfKeyAreAnsweredExactlyOrDeclined() async throws {
    let engine = KeyStoreEngine(clock: ManualClock())
    try await engine.load(.demo)
    func create(_ request: CreateKeyRequest) async throws -> String {
      try #require(try await engine.createKey(request).keyMetadata?.keyId)
    }
    let rsa = try await create(.init(keyUsage: "ENCRYPT_DECRYPT", keySpec: "RSA_2048"))
    let hmac = try await create(.init(keyUsage: "GENERATE_VERIFY_MAC", keySpec: "HMAC_256"))
    let pendingImport = try await create(.init(origin: "EXTERNAL"))
    let rotated = try await create(.init())
    _ = try await engine.rotateKeyOnDemand(.init(keyId: rotated))
    let withPolicy = try await create(.init())
    let policy = try await engine.getKeyPolicy(.init(keyId: withPolicy)).policy ?? ""
    _ = try await engine.putKeyPolicy(.init(keyId: withPolicy, policyName: "default", policy: policy + " "))
    let view = engine.readView
    for key in [rsa, hmac, pendingImport, rotated, withPolicy] {
      if let described = try? view.describeKeyNow(.init(keyId: key)) {
        #expect(described == (try await engine.describeKey(.init(keyId: key))), "DescribeKey \(key)")
      }
      #expect(throws: KMSError.self, "Encrypt \(key) must be declined") {
        _ = try view.encryptNow(.init(keyId: key, plaintext: Data("x".utf8)))
      }
      #expect(throws: KMSError.self, "GenerateDataKey \(key) must be declined") {
        _ = try view.generateDataKeyNow(.init(keyId: key, keySpec: "AES_256"))
      }
    }
    #expect(throws: KMSError.self, "a custom key policy is the actor's to evaluate") {
      _ = try view.describeKeyNow(.init(keyId: withPolicy))
    }
    // Grant tokens are the actor's to check too.
    let plain = try await create(.init())
    #expect(throws: KMSError.self) {
      _ = try view.encryptNow(.init(keyId: plain, plaintext: Data("x".utf8), grantTokens: ["token"]))
    }
    _ = try view.encryptNow(.init(keyId: plain, plaintext: Data("x".utf8)))
  }

  @Test func agreesWithTheActorOnTheDemoFleetInEveryState() async throws {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let engine = KeyStoreEngine(configuration: .init(), clock: clock)
    try await engine.load(.demo)
    try await Self.expectAgreement(engine)

    // Disable one key, schedule another for deletion, alias a third, cut a cluster off.
    let keys = try #require(try await engine.listKeys(.init(limit: 1000)).keys)
    #expect(keys.count >= 3)
    _ = try await engine.disableKey(.init(keyId: keys[0].keyId!))
    _ = try await engine.scheduleKeyDeletion(.init(keyId: keys[1].keyId!, pendingWindowInDays: 7))
    _ = try await engine.createAlias(.init(aliasName: "alias/read-view", targetKeyId: keys[2].keyId!))
    try await Self.expectAgreement(engine)

    let stores = try #require(try await engine.describeCustomKeyStores(.init(limit: 1000)).customKeyStores)
    for store in stores where store.connectionState == .connected {
      if let cluster = store.cloudHsmClusterId {
        try await engine.setFault(.networkErrors, enabled: true, clusterId: cluster)
      }
    }
    try await Self.expectAgreement(engine)
    for store in stores where store.connectionState == .connected {
      _ = try await engine.disconnectCustomKeyStore(.init(customKeyStoreId: store.customKeyStoreId!))
    }
    try await Self.expectAgreement(engine)  // DISCONNECTING
    clock.advance(by: 3600)
    try await engine.runDueWork()
    try await Self.expectAgreement(engine)  // DISCONNECTED: keys Unavailable
    _ = try await engine.deleteAlias(.init(aliasName: "alias/read-view"))
    try await Self.expectAgreement(engine)
  }

  @Test func aFailedSaveLeavesTheViewOnTheLastCommit() async throws {
    let saved = MemoryStateStore()
    let engine = try await KeyStoreEngine(clock: ManualClock(), stateStore: saved)
    try await engine.load(.demo)
    let keys = try #require(try await engine.listKeys(.init(limit: 1000)).keys)
    let keyId = try #require(keys.first?.keyId)
    let commits = engine.readView.commitsApplied

    saved.failNext.withLock { $0 = true }
    await #expect(throws: KMSError.self) { _ = try await engine.disableKey(.init(keyId: keyId)) }
    #expect(engine.readView.commitsApplied == commits)
    #expect(try engine.readView.describeKeyNow(.init(keyId: keyId)).keyMetadata?.enabled == true)
    try await Self.expectAgreement(engine)

    saved.failNext.withLock { $0 = true }
    await #expect(throws: KMSError.self) {
      _ = try await engine.createKey(.init(origin: "AWS_CLOUDHSM", customKeyStoreId: "cks-0de30000000000001"))
    }
    #expect(try await engine.listKeys(.init(limit: 1000)).keys?.count == keys.count)
    try await Self.expectAgreement(engine)

    saved.failNext.withLock { $0 = true }
    await #expect(throws: KMSError.self) {
      _ = try await engine.createAlias(.init(aliasName: "alias/never", targetKeyId: keyId))
    }
    #expect(throws: KMSError.self) { try engine.readView.describeKeyNow(.init(keyId: "alias/never")) }
    try await Self.expectAgreement(engine)

    // The same changes, saved this time, are visible at once.
    _ = try await engine.disableKey(.init(keyId: keyId))
    #expect(engine.readView.commitsApplied == commits + 1)
    #expect(try engine.readView.describeKeyNow(.init(keyId: keyId)).keyMetadata?.enabled == false)
    let created = try await engine.createKey(
      .init(origin: "AWS_CLOUDHSM", customKeyStoreId: "cks-0de30000000000001"))
    let newKey = try #require(created.keyMetadata?.keyId)
    #expect(try engine.readView.encryptNow(.init(keyId: newKey, plaintext: Data([1]))).keyId != nil)
    try await Self.expectAgreement(engine)
  }

  @Test func aResumedEngineStartsWithAFullView() async throws {
    let saved = MemoryStateStore()
    do {
      let engine = try await KeyStoreEngine(clock: ManualClock(), stateStore: saved)
      try await engine.load(.demo)
      _ = try await engine.createAlias(
        .init(
          aliasName: "alias/kept",
          targetKeyId: try #require(try await engine.listKeys(.init()).keys?.first?.keyId)))
    }
    let resumed = try await KeyStoreEngine(clock: ManualClock(), stateStore: saved)
    #expect(try resumed.readView.describeKeyNow(.init(keyId: "alias/kept")).keyMetadata != nil)
    try await Self.expectAgreement(resumed)
  }

  @Test func readsFromManyThreadsWhileTheEngineCommits() async throws {
    let engine = KeyStoreEngine(configuration: .init(), clock: ManualClock())
    try await engine.load(.demo)
    let keyId = try #require(try await engine.listKeys(.init()).keys?.first?.keyId)
    let view = engine.readView
    await withTaskGroup(of: Void.self) { group in
      for _ in 0..<4 {
        group.addTask {
          for _ in 0..<2000 {
            // Every answer is one of the two committed states, never anything in between.
            let enabled = try? view.describeKeyNow(.init(keyId: keyId)).keyMetadata?.enabled
            #expect(enabled == true || enabled == false)
          }
        }
      }
      group.addTask {
        for round in 0..<50 {
          if round.isMultiple(of: 2) {
            _ = try? await engine.disableKey(.init(keyId: keyId))
          } else {
            _ = try? await engine.enableKey(.init(keyId: keyId))
          }
        }
      }
    }
    try await Self.expectAgreement(engine)
  }
}
