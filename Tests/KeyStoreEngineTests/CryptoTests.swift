import Foundation
import HSMSimulator
import KMSModel
import KeyStoreEngine
import Testing

/// kms-spec §5.3, §5.5, §5.6: cryptography with custom-store keys.
@Suite struct CryptoTests {
  /// A connected store with one enabled key.
  func keyed(_ f: Fixture) async throws -> (store: String, cluster: String, key: KeyMetadata) {
    let (store, cluster) = try await f.connectedStore()
    return (store, cluster, try await f.createKey(in: store))
  }

  @Test func roundTripWithAndWithoutKeyId() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let arn = try #require(key.arn)
    let encrypted = try await f.engine.encrypt(
      EncryptRequest(keyId: key.keyId, plaintext: Data("hello".utf8)))
    #expect(encrypted.keyId == arn)
    #expect(encrypted.encryptionAlgorithm == .symmetricDefault)
    let blob = try #require(encrypted.ciphertextBlob)
    #expect(!blob.isEmpty && blob.count <= 6144)
    for keyId in [nil, key.keyId, arn] {
      let decrypted = try await f.decrypt(blob, keyId: keyId)
      #expect(decrypted.plaintext == Data("hello".utf8))
      #expect(decrypted.keyId == arn)
      #expect(decrypted.encryptionAlgorithm == .symmetricDefault)
    }
  }

  @Test func encryptByArnAndAlias() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    _ = try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/crypto", targetKeyId: key.keyId))
    for reference in [
      try #require(key.arn), "alias/crypto", "arn:aws:kms:us-east-1:111122223333:alias/crypto",
    ] {
      let blob = try await f.encrypt(reference, "via \(reference)")
      #expect(try await f.decrypt(blob).plaintext == Data("via \(reference)".utf8))
      #expect(try await f.decrypt(blob, keyId: "alias/crypto").plaintext == Data("via \(reference)".utf8))
    }
  }

  @Test func encryptionIsRandomized() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let a = try await f.encrypt(key.keyId, "same")
    let b = try await f.encrypt(key.keyId, "same")
    #expect(a != b)
  }

  @Test(arguments: [1, 100, 4096])
  func plaintextSizes(size: Int) async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let plaintext = Data((0..<size).map { UInt8($0 % 251) })
    let blob = try #require(
      try await f.engine.encrypt(EncryptRequest(keyId: key.keyId, plaintext: plaintext)).ciphertextBlob)
    #expect(blob.count <= 6144)
    #expect(try await f.decrypt(blob).plaintext == plaintext)
  }

  @Test func encryptionContextMustMatch() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let context = ["purpose": "test", "tenant": "42"]
    let blob = try await f.encrypt(key.keyId, "ctx", context: context)
    // Order does not matter; the exact map does.
    #expect(
      try await f.decrypt(blob, context: ["tenant": "42", "purpose": "test"]).plaintext == Data("ctx".utf8))
    let wrongContexts: [[String: String]?] = [
      nil, [:], ["purpose": "test"], ["purpose": "test", "tenant": "43"],
      ["purpose": "test", "tenant": "42", "x": "y"],
    ]
    for wrong in wrongContexts {
      await expectError(.invalidCiphertextException) { try await f.decrypt(blob, context: wrong) }
    }
    let plain = try await f.encrypt(key.keyId, "no ctx")
    await expectError(.invalidCiphertextException) { try await f.decrypt(plain, context: ["a": "b"]) }
  }

  /// Altering any single byte — header, IV, body or tag — gives InvalidCiphertextException.
  @Test func everyTamperedByteIsRejected() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let blob = try await f.encrypt(key.keyId, "tamper-evident payload")
    var failures: [Int] = []
    for index in blob.indices {
      var tampered = blob
      tampered[index] ^= 0x01
      do {
        _ = try await f.decrypt(tampered)
        failures.append(index)
      } catch let error as KMSError {
        if error.code != .invalidCiphertextException { failures.append(index) }
      }
    }
    #expect(
      failures.isEmpty,
      "bytes whose alteration was not InvalidCiphertextException: \(failures) of \(blob.count)")
  }

  @Test func tamperedRegions() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let blob = try await f.encrypt(key.keyId, "0123456789abcdef0123456789abcdef")
    // First byte (header), the byte 12+16 before the end lies in the IV or body, the last is the tag.
    for index in [0, blob.count / 2, blob.count - 17, blob.count - 1] {
      var tampered = blob
      tampered[index] = ~tampered[index]
      await expectError(.invalidCiphertextException) { try await f.decrypt(tampered) }
      await expectError(.invalidCiphertextException) { try await f.decrypt(tampered, keyId: key.keyId) }
    }
    await expectError(.invalidCiphertextException) { try await f.decrypt(blob.dropLast()) }
    await expectError(.invalidCiphertextException) { try await f.decrypt(blob + Data([0])) }
    await expectError(.invalidCiphertextException) { try await f.decrypt(Data(blob.prefix(10))) }
  }

  @Test func garbageAndForeignCiphertext() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    var generator = SeededRandom(seed: 99)
    for length in [1, 16, 64, 200] {
      let garbage = Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
      await expectError(.invalidCiphertextException) { try await f.decrypt(garbage) }
    }
    // A blob made by another engine: same format, unknown key.
    let other = Fixture(seed: 12_345)
    let (_, _, foreignKey) = try await keyed(other)
    let foreign = try await other.encrypt(foreignKey.keyId, "not yours")
    await expectError(.invalidCiphertextException) { try await f.decrypt(foreign) }
    _ = key
  }

  @Test func wrongKeyIdIsIncorrectKey() async throws {
    let f = Fixture()
    let (store, _, key) = try await keyed(f)
    let other = try await f.createKey(in: store)
    let blob = try await f.encrypt(key.keyId, "mine")
    await expectError(.incorrectKeyException) { try await f.decrypt(blob, keyId: other.keyId) }
    let otherArn = try #require(other.arn)
    await expectError(.incorrectKeyException) { try await f.decrypt(blob, keyId: otherArn) }
  }

  @Test func disabledKey() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let arn = try #require(key.arn)
    let blob = try await f.encrypt(key.keyId)
    _ = try await f.engine.disableKey(DisableKeyRequest(keyId: key.keyId))
    await expectError(.disabledException, message: "\(arn) is disabled.") { try await f.encrypt(key.keyId) }
    await expectError(.disabledException, message: "\(arn) is disabled.") { try await f.decrypt(blob) }
    await expectError(.disabledException) {
      try await f.engine.generateDataKey(GenerateDataKeyRequest(keyId: key.keyId, keySpec: "AES_256"))
    }
    await expectError(.disabledException) {
      try await f.engine.generateDataKeyWithoutPlaintext(
        GenerateDataKeyWithoutPlaintextRequest(keyId: key.keyId, keySpec: "AES_256"))
    }
    _ = try await f.engine.enableKey(EnableKeyRequest(keyId: key.keyId))
    #expect(try await f.decrypt(blob).plaintext == Data("secret".utf8))
  }

  @Test(arguments: [StoreStateSetup.disconnected, .connecting, .disconnecting, .failed])
  func unavailableKey(setup: StoreStateSetup) async throws {
    let f = Fixture()
    let cluster = try await f.cluster()
    let store = try await f.createStore("s", cluster: cluster)
    try await f.connectAndSettle(store)
    let key = try await f.createKey(in: store)
    let arn = try #require(key.arn)
    let blob = try await f.encrypt(key.keyId)
    switch setup {
    case .disconnecting:
      try await f.disconnect(store)
    case .disconnected:
      try await f.disconnectAndSettle(store)
    case .connecting:
      try await f.disconnectAndSettle(store)
      try await f.connect(store)
    case .failed:
      try await f.disconnectAndSettle(store)
      try await f.connect(store)
      try await f.fault(.kmsuserLoggedIn, on: cluster)
      try await f.settle()
    case .connected:
      break
    }
    try await f.expectState(store, setup.state, errorCode: setup == .failed ? .userLoggedIn : nil)
    let unavailable = "\(arn) is unavailable."
    await expectError(.kmsInvalidStateException, message: unavailable) { try await f.encrypt(key.keyId) }
    await expectError(.kmsInvalidStateException, message: unavailable) { try await f.decrypt(blob) }
    await expectError(.kmsInvalidStateException, message: unavailable) {
      try await f.engine.generateDataKey(GenerateDataKeyRequest(keyId: key.keyId, keySpec: "AES_256"))
    }
    await expectError(.kmsInvalidStateException, message: unavailable) {
      try await f.engine.generateDataKeyWithoutPlaintext(
        GenerateDataKeyWithoutPlaintextRequest(keyId: key.keyId, numberOfBytes: 32))
    }
    await expectError(.kmsInvalidStateException) {
      try await f.engine.reEncrypt(ReEncryptRequest(ciphertextBlob: blob, destinationKeyId: key.keyId))
    }
  }

  @Test func pendingDeletionKey() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let arn = try #require(key.arn)
    let blob = try await f.encrypt(key.keyId)
    _ = try await f.engine.scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: key.keyId))
    let pending = "\(arn) is pending deletion."
    await expectError(.kmsInvalidStateException, message: pending) { try await f.encrypt(key.keyId) }
    await expectError(.kmsInvalidStateException, message: pending) { try await f.decrypt(blob) }
    await expectError(.kmsInvalidStateException, message: pending) {
      try await f.engine.generateDataKey(GenerateDataKeyRequest(keyId: key.keyId, numberOfBytes: 16))
    }
  }

  @Test func pendingDeletionWinsOverUnavailable() async throws {
    let f = Fixture()
    let (store, _, key) = try await keyed(f)
    let arn = try #require(key.arn)
    _ = try await f.engine.scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: key.keyId))
    try await f.disconnectAndSettle(store)
    await expectError(.kmsInvalidStateException, message: "\(arn) is pending deletion.") {
      try await f.encrypt(key.keyId)
    }
  }

  @Test func unknownKey() async throws {
    let f = Fixture()
    let unknown = "11111111-2222-4333-8444-555555555555"
    await expectError(
      .notFoundException, message: "Key 'arn:aws:kms:us-east-1:111122223333:key/\(unknown)' does not exist"
    ) { try await f.encrypt(unknown) }
    await expectError(.notFoundException) { try await f.encrypt("alias/none") }
    await expectError(.notFoundException) {
      try await f.engine.generateDataKey(GenerateDataKeyRequest(keyId: unknown, keySpec: "AES_256"))
    }
  }

  @Test func deletedKeyCiphertext() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let blob = try await f.encrypt(key.keyId)
    _ = try await f.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: key.keyId, pendingWindowInDays: 7))
    try await f.advance(by: 8 * 86_400)
    // The key no longer exists: the blob cannot be decrypted (AWS: NotFound or InvalidCiphertext).
    do {
      _ = try await f.decrypt(blob)
      Issue.record("decrypt with a deleted key succeeded")
    } catch let error as KMSError {
      #expect([KMSErrorCode.notFoundException, .invalidCiphertextException].contains(error.code), "\(error)")
    }
  }

  @Test func connectedStoreWithoutActiveHsms() async throws {
    let f = Fixture()
    let (store, cluster, key) = try await keyed(f)
    let blob = try await f.encrypt(key.keyId)
    try await f.deleteAllHsms(cluster)
    await expectError(.kmsInvalidStateException) { try await f.encrypt(key.keyId) }
    await expectError(.kmsInvalidStateException) { try await f.decrypt(blob) }
    await expectError(.kmsInvalidStateException) {
      try await f.engine.generateDataKey(GenerateDataKeyRequest(keyId: key.keyId, keySpec: "AES_256"))
    }
    // The store and the key state are unchanged (§3.2, §5.4).
    try await f.expectState(store, .connected)
    #expect(try await f.keyState(key.keyId) == .enabled)
    // One HSM back is enough for cryptography.
    _ = try await f.engine.createHsm(CreateHsmRequest(clusterId: cluster, availabilityZone: "us-east-1a"))
    try await f.settle()
    #expect(try await f.decrypt(blob).plaintext == Data("secret".utf8))
  }

  @Test(arguments: [SimulatorFault.networkErrors, .clusterDeleted])
  func connectedStoreWithUnreachableCluster(fault: SimulatorFault) async throws {
    let f = Fixture()
    let (store, cluster, key) = try await keyed(f)
    try await f.fault(fault, on: cluster)
    await expectError(.kmsInvalidStateException) { try await f.encrypt(key.keyId) }
    try await f.expectState(store, .connected)
    try await f.fault(fault, false, on: cluster)
    _ = try await f.encrypt(key.keyId)
  }

  @Test func reEncrypt() async throws {
    let f = Fixture()
    let (store, _, source) = try await keyed(f)
    let destination = try await f.createKey(in: store)
    let blob = try await f.encrypt(source.keyId, "move me", context: ["a": "1"])
    let response = try await f.engine.reEncrypt(
      ReEncryptRequest(
        ciphertextBlob: blob, sourceEncryptionContext: ["a": "1"], destinationKeyId: destination.keyId,
        destinationEncryptionContext: ["b": "2"]))
    #expect(response.sourceKeyId == source.arn)
    #expect(response.keyId == destination.arn)
    let moved = try #require(response.ciphertextBlob)
    let decrypted = try await f.decrypt(moved, context: ["b": "2"])
    #expect(decrypted.plaintext == Data("move me".utf8))
    #expect(decrypted.keyId == destination.arn)
    await expectError(.incorrectKeyException) { try await f.decrypt(moved, keyId: source.keyId) }
    // Wrong source context, wrong source key.
    await expectError(.invalidCiphertextException) {
      try await f.engine.reEncrypt(
        ReEncryptRequest(ciphertextBlob: blob, destinationKeyId: destination.keyId))
    }
    await expectError(.incorrectKeyException) {
      try await f.engine.reEncrypt(
        ReEncryptRequest(
          ciphertextBlob: blob, sourceEncryptionContext: ["a": "1"], sourceKeyId: destination.keyId,
          destinationKeyId: destination.keyId))
    }
  }

  @Test func reEncryptToADisabledKey() async throws {
    let f = Fixture()
    let (store, _, source) = try await keyed(f)
    let destination = try await f.createKey(in: store)
    _ = try await f.engine.disableKey(DisableKeyRequest(keyId: destination.keyId))
    let blob = try await f.encrypt(source.keyId)
    await expectError(.disabledException) {
      try await f.engine.reEncrypt(
        ReEncryptRequest(ciphertextBlob: blob, destinationKeyId: destination.keyId))
    }
  }

  @Test func reEncryptAcrossStores() async throws {
    let f = Fixture()
    let (_, _, source) = try await keyed(f)
    let (otherStore, _) = try await f.connectedStore("other")
    let destination = try await f.createKey(in: otherStore)
    let blob = try await f.encrypt(source.keyId, "across")
    let moved = try #require(
      try await f.engine.reEncrypt(
        ReEncryptRequest(ciphertextBlob: blob, destinationKeyId: destination.keyId)
      )
      .ciphertextBlob)
    #expect(try await f.decrypt(moved).plaintext == Data("across".utf8))
  }

  @Test(arguments: [("AES_256", 32), ("AES_128", 16)])
  func generateDataKeyBySpec(spec: String, length: Int) async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let response = try await f.engine.generateDataKey(
      GenerateDataKeyRequest(keyId: key.keyId, encryptionContext: ["k": "v"], keySpec: spec))
    let plaintext = try #require(response.plaintext)
    #expect(plaintext.count == length)
    #expect(response.keyId == key.arn)
    let blob = try #require(response.ciphertextBlob)
    #expect(try await f.decrypt(blob, context: ["k": "v"]).plaintext == plaintext)
    await expectError(.invalidCiphertextException) { try await f.decrypt(blob) }
  }

  @Test(arguments: [1, 64, 1024])
  func generateDataKeyByLength(length: Int) async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let response = try await f.engine.generateDataKey(
      GenerateDataKeyRequest(keyId: key.keyId, numberOfBytes: length))
    let plaintext = try #require(response.plaintext)
    #expect(plaintext.count == length)
    #expect(try await f.decrypt(try #require(response.ciphertextBlob)).plaintext == plaintext)
  }

  @Test func generateDataKeyWithoutPlaintext() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let response = try await f.engine.generateDataKeyWithoutPlaintext(
      GenerateDataKeyWithoutPlaintextRequest(keyId: key.keyId, keySpec: "AES_256"))
    #expect(response.keyId == key.arn)
    let blob = try #require(response.ciphertextBlob)
    let decrypted = try await f.decrypt(blob)
    #expect(decrypted.plaintext?.count == 32)
  }

  @Test func dataKeysDiffer() async throws {
    let f = Fixture()
    let (_, _, key) = try await keyed(f)
    let a = try await f.engine.generateDataKey(GenerateDataKeyRequest(keyId: key.keyId, keySpec: "AES_256"))
    let b = try await f.engine.generateDataKey(GenerateDataKeyRequest(keyId: key.keyId, keySpec: "AES_256"))
    #expect(a.plaintext != b.plaintext)
  }

  @Test func ciphertextSurvivesDisconnectAndReconnect() async throws {
    let f = Fixture()
    let (store, _, key) = try await keyed(f)
    let blob = try await f.encrypt(key.keyId, "durable")
    try await f.disconnectAndSettle(store)
    try await f.connectAndSettle(store)
    #expect(try await f.decrypt(blob).plaintext == Data("durable".utf8))
  }

  @Test func keysOfOneStoreCannotReadAnothersCiphertext() async throws {
    let f = Fixture()
    let (_, _, a) = try await keyed(f)
    let (storeB, _) = try await f.connectedStore("b")
    let b = try await f.createKey(in: storeB)
    let blob = try await f.encrypt(a.keyId)
    await expectError(.incorrectKeyException) { try await f.decrypt(blob, keyId: b.keyId) }
    // Decrypt by the blob still works while only store A is connected.
    try await f.disconnectAndSettle(storeB)
    #expect(try await f.decrypt(blob).plaintext == Data("secret".utf8))
  }
}
