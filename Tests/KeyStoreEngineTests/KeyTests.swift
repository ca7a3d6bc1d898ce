import Foundation
import HSMSimulator
import KMSModel
import KeyStoreEngine
import Testing

/// kms-spec §5.1 CreateKey in a custom key store, §5.2 metadata.
@Suite struct CreateKeyTests {
  @Test func metadataOfANewKey() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.connectedStore()
    let key = try await f.createKey(in: store, description: "first")
    #expect(key.keyId.wholeMatch(of: keyIdPattern) != nil, "\(key.keyId)")
    #expect(key.arn == "arn:aws:kms:us-east-1:111122223333:key/\(key.keyId)")
    #expect(key.awsAccountId == "111122223333")
    #expect(key.keyState == .enabled)
    #expect(key.enabled == true)
    #expect(key.origin == .awsCloudhsm)
    #expect(key.customKeyStoreId == store)
    #expect(key.cloudHsmClusterId == cluster)
    #expect(key.keyManager == .customer)
    #expect(key.keySpec == .symmetricDefault)
    #expect(key.customerMasterKeySpec == .symmetricDefault)
    #expect(key.keyUsage == .encryptDecrypt)
    #expect(key.encryptionAlgorithms == [.symmetricDefault])
    #expect(key.multiRegion == false)
    #expect(key.description == "first")
    #expect(key.creationDate == f.clock.now())
    #expect(key.deletionDate == nil)
    #expect(key.expirationModel == nil)
    #expect(key.validTo == nil)
    #expect(key.xksKeyConfiguration == nil)
    #expect(try await f.key(key.keyId) == key)
  }

  @Test(arguments: [StoreStateSetup.disconnected, .connecting, .disconnecting, .failed])
  func storeMustBeConnected(setup: StoreStateSetup) async throws {
    let f = Fixture()
    let (store, _) = try await setup.make(f)
    await expectError(.customKeyStoreInvalidStateException) { try await f.createKey(in: store) }
    #expect(try await f.allKeys().isEmpty)
  }

  @Test func unknownStore() async throws {
    let f = Fixture()
    await expectError(.customKeyStoreNotFoundException) { try await f.createKey(in: "cks-0123456789abcdef0") }
  }

  @Test func needsTwoActiveHsmsInTwoZones() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.connectedStore()
    try await f.deleteHsms(cluster, keeping: 1)
    await expectError(.cloudHsmClusterInvalidConfigurationException) { try await f.createKey(in: store) }
    // The store stays CONNECTED (no automatic transitions).
    try await f.expectState(store, .connected)
    #expect(try await f.allKeys().isEmpty)
    _ = try await f.engine.createHsm(CreateHsmRequest(clusterId: cluster, availabilityZone: "us-east-1b"))
    try await f.settle()
    _ = try await f.createKey(in: store)
  }

  @Test func twoHsmsInOneZoneIsNotEnough() async throws {
    let f = Fixture()
    let cluster = try await f.cluster(zones: ["us-east-1a", "us-east-1b"], hsmsPerZone: 2)
    let store = try await f.createStore("s", cluster: cluster)
    try await f.connectAndSettle(store)
    for hsm in try await f.hsms(cluster) where hsm.availabilityZone == "us-east-1b" {
      try await f.engine.setHsmFailed(clusterId: cluster, hsmId: hsm.hsmId, failed: true)
    }
    await expectError(.cloudHsmClusterInvalidConfigurationException) { try await f.createKey(in: store) }
  }

  @Test(arguments: [
    CreateKeyRequest(keySpec: "RSA_2048", origin: "AWS_CLOUDHSM"),
    CreateKeyRequest(keySpec: "HMAC_256", origin: "AWS_CLOUDHSM"),
    CreateKeyRequest(customerMasterKeySpec: "ECC_NIST_P256", origin: "AWS_CLOUDHSM"),
    CreateKeyRequest(keyUsage: "SIGN_VERIFY", origin: "AWS_CLOUDHSM"),
    CreateKeyRequest(keyUsage: "GENERATE_VERIFY_MAC", origin: "AWS_CLOUDHSM"),
    CreateKeyRequest(origin: "AWS_CLOUDHSM", multiRegion: true),
    CreateKeyRequest(origin: "AWS_KMS"),
    CreateKeyRequest(origin: "EXTERNAL"),
    CreateKeyRequest(origin: "EXTERNAL_KEY_STORE"),
  ])
  func disallowedKeyPropertiesAreUnsupported(template: CreateKeyRequest) async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    var request = template
    request.customKeyStoreId = store
    await expectError(.unsupportedOperationException) { try await f.engine.createKey(request) }
    #expect(try await f.allKeys().isEmpty)
  }

  @Test func explicitDefaultsAreAccepted() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let response = try await f.engine.createKey(
      CreateKeyRequest(
        keyUsage: "ENCRYPT_DECRYPT", keySpec: "SYMMETRIC_DEFAULT", origin: "AWS_CLOUDHSM",
        customKeyStoreId: store,
        multiRegion: false))
    #expect(response.keyMetadata?.keyState == .enabled)
  }
}

/// kms-spec §5.4: the effective key state is derived from the store state, never stored.
@Suite struct KeyStateDerivationTests {
  /// A store with an enabled key, a disabled key and a key pending deletion, then moved to `setup`.
  func keysIn(_ setup: StoreStateSetup, _ f: Fixture) async throws -> (store: String, keys: [String: String])
  {
    let cluster = try await f.cluster()
    let store = try await f.createStore("s", cluster: cluster)
    try await f.connectAndSettle(store)
    let enabled = try await f.createKey(in: store).keyId
    let disabled = try await f.createKey(in: store).keyId
    let pending = try await f.createKey(in: store).keyId
    _ = try await f.engine.disableKey(DisableKeyRequest(keyId: disabled))
    _ = try await f.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: pending, pendingWindowInDays: 30))
    switch setup {
    case .connected:
      break
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
      try await f.fault(.subnetFull, on: cluster)
      try await f.settle()
    }
    try await f.expectState(
      store, setup.state, errorCode: setup == .failed ? .insufficientFreeAddressesInSubnet : nil)
    return (store, ["enabled": enabled, "disabled": disabled, "pending": pending])
  }

  @Test(arguments: StoreStateSetup.allCases)
  func effectiveKeyState(setup: StoreStateSetup) async throws {
    let f = Fixture()
    let (_, keys) = try await keysIn(setup, f)
    let enabled = try await f.key(keys["enabled"]!)
    let disabled = try await f.key(keys["disabled"]!)
    let pending = try await f.key(keys["pending"]!)
    if setup == .connected {
      #expect(enabled.keyState == .enabled)
      #expect(disabled.keyState == .disabled)
    } else {
      #expect(enabled.keyState == .unavailable)
      #expect(disabled.keyState == .unavailable)
    }
    // PendingDeletion wins even when the store is not connected.
    #expect(pending.keyState == .pendingDeletion)
    #expect(pending.deletionDate != nil)
    // `Enabled` is true exactly when KeyState is Enabled.
    for key in [enabled, disabled, pending] {
      #expect(key.enabled == (key.keyState == .enabled), "\(key.keyId) \(String(describing: key.keyState))")
    }
  }

  @Test func reconnectRestoresTheStoredStates() async throws {
    let f = Fixture()
    let (store, keys) = try await keysIn(.disconnected, f)
    try await f.connectAndSettle(store)
    #expect(try await f.keyState(keys["enabled"]!) == .enabled)
    #expect(try await f.keyState(keys["disabled"]!) == .disabled)
    #expect(try await f.keyState(keys["pending"]!) == .pendingDeletion)
  }

  @Test func disconnectMakesKeysUnavailableAtOnce() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store).keyId
    try await f.disconnect(store)
    #expect(try await f.keyState(key) == .unavailable)
    #expect(try await f.key(key).enabled == false)
  }

  @Test func enableAndDisableOnUnavailableKeysTakeEffectOnReconnect() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let a = try await f.createKey(in: store).keyId
    let b = try await f.createKey(in: store).keyId
    _ = try await f.engine.disableKey(DisableKeyRequest(keyId: b))
    try await f.disconnectAndSettle(store)
    _ = try await f.engine.disableKey(DisableKeyRequest(keyId: a))
    _ = try await f.engine.enableKey(EnableKeyRequest(keyId: b))
    #expect(try await f.keyState(a) == .unavailable)
    #expect(try await f.keyState(b) == .unavailable)
    try await f.connectAndSettle(store)
    #expect(try await f.keyState(a) == .disabled)
    #expect(try await f.keyState(b) == .enabled)
  }

  @Test func enableDisableWhileConnected() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store).keyId
    _ = try await f.engine.disableKey(DisableKeyRequest(keyId: key))
    #expect(try await f.key(key).enabled == false)
    #expect(try await f.keyState(key) == .disabled)
    _ = try await f.engine.disableKey(DisableKeyRequest(keyId: key))
    #expect(try await f.keyState(key) == .disabled)
    _ = try await f.engine.enableKey(EnableKeyRequest(keyId: key))
    #expect(try await f.keyState(key) == .enabled)
    #expect(try await f.key(key).enabled == true)
  }

  @Test func enableDisablePendingDeletionIsInvalidState() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    _ = try await f.engine.scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: key.keyId))
    await expectError(.kmsInvalidStateException) {
      try await f.engine.enableKey(EnableKeyRequest(keyId: key.keyId))
    }
    await expectError(.kmsInvalidStateException) {
      try await f.engine.disableKey(DisableKeyRequest(keyId: key.keyId))
    }
    #expect(try await f.keyState(key.keyId) == .pendingDeletion)
  }

  @Test func scheduleAndCancelOnUnavailableKey() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store).keyId
    try await f.disconnectAndSettle(store)
    let scheduled = try await f.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: key, pendingWindowInDays: 10))
    #expect(scheduled.keyState == .pendingDeletion)
    #expect(scheduled.pendingWindowInDays == 10)
    #expect(scheduled.deletionDate == f.clock.now().addingTimeInterval(10 * 86_400))
    let metadata = try await f.key(key)
    #expect(metadata.keyState == .pendingDeletion)
    #expect(metadata.deletionDate == scheduled.deletionDate)
    #expect(metadata.enabled == false)
    // CancelKeyDeletion works without reconnecting; the key shows Unavailable until reconnect.
    _ = try await f.engine.cancelKeyDeletion(CancelKeyDeletionRequest(keyId: key))
    #expect(try await f.keyState(key) == .unavailable)
    #expect(try await f.key(key).deletionDate == nil)
    try await f.connectAndSettle(store)
    // A cancelled key is Disabled, as in ordinary KMS.
    #expect(try await f.keyState(key) == .disabled)
  }

  @Test func defaultWaitingPeriodIsThirtyDays() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store).keyId
    let scheduled = try await f.engine.scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: key))
    #expect(scheduled.pendingWindowInDays == 30)
    #expect(scheduled.deletionDate == f.clock.now().addingTimeInterval(30 * 86_400))
    try await f.advance(by: 30 * 86_400 - 60)
    #expect(try await f.keyState(key) == .pendingDeletion)
    try await f.advance(by: 120)
    await expectError(.notFoundException) { try await f.key(key) }
    #expect(try await f.allKeys().isEmpty)
  }

  @Test func cancelOnKeyNotPendingDeletion() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    let arn = try #require(key.arn)
    await expectError(.kmsInvalidStateException, message: "\(arn) is not pending deletion.") {
      try await f.engine.cancelKeyDeletion(CancelKeyDeletionRequest(keyId: key.keyId))
    }
  }

  @Test func scheduleTwiceIsInvalidState() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store).keyId
    _ = try await f.engine.scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: key))
    await expectError(.kmsInvalidStateException) {
      try await f.engine.scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: key))
    }
  }

  @Test func keyManagementOnUnknownKeys() async throws {
    let f = Fixture()
    let unknown = "11111111-2222-4333-8444-555555555555"
    await expectError(.notFoundException) { try await f.key(unknown) }
    await expectError(.notFoundException) { try await f.engine.enableKey(EnableKeyRequest(keyId: unknown)) }
    await expectError(.notFoundException) { try await f.engine.disableKey(DisableKeyRequest(keyId: unknown)) }
    await expectError(.notFoundException) {
      try await f.engine.scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: unknown))
    }
    await expectError(.notFoundException) {
      try await f.engine.cancelKeyDeletion(CancelKeyDeletionRequest(keyId: unknown))
    }
  }

  @Test func describeKeyByArnAndAlias() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    _ = try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/by-name", targetKeyId: key.keyId))
    #expect(try await f.key(try #require(key.arn)).keyId == key.keyId)
    #expect(try await f.key("alias/by-name").keyId == key.keyId)
    #expect(try await f.key("arn:aws:kms:us-east-1:111122223333:alias/by-name").keyId == key.keyId)
    await expectError(.notFoundException) { try await f.key("alias/missing") }
  }

  @Test func keyDeletionWhileStoreDisconnected() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store).keyId
    _ = try await f.engine.scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: key, pendingWindowInDays: 7))
    try await f.disconnectAndSettle(store)
    try await f.advance(by: 8 * 86_400)
    await expectError(.notFoundException) { try await f.key(key) }
  }
}

/// Aliases (CreateAlias, DeleteAlias, ListAliases).
@Suite struct AliasTests {
  @Test func createListDelete() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    _ = try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/app", targetKeyId: key.keyId))
    let listed = try await f.engine.listAliases(ListAliasesRequest())
    let entry = try #require(listed.aliases?.first { $0.aliasName == "alias/app" })
    #expect(entry.targetKeyId == key.keyId)
    #expect(entry.aliasArn == "arn:aws:kms:us-east-1:111122223333:alias/app")
    _ = try await f.engine.deleteAlias(DeleteAliasRequest(aliasName: "alias/app"))
    let after = try await f.engine.listAliases(ListAliasesRequest())
    #expect(after.aliases?.contains { $0.aliasName == "alias/app" } != true)
  }

  @Test func aliasByArnAsTarget() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    _ = try await f.engine.createAlias(
      CreateAliasRequest(aliasName: "alias/arn", targetKeyId: try #require(key.arn)))
    let listed = try await f.engine.listAliases(ListAliasesRequest(keyId: key.keyId))
    #expect(listed.aliases?.map(\.aliasName) == ["alias/arn"])
  }

  @Test func duplicateAliasAlreadyExists() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let a = try await f.createKey(in: store)
    let b = try await f.createKey(in: store)
    _ = try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/dup", targetKeyId: a.keyId))
    await expectError(.alreadyExistsException) {
      try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/dup", targetKeyId: b.keyId))
    }
    #expect(try await f.key("alias/dup").keyId == a.keyId)
  }

  @Test func unknownTargetOrAlias() async throws {
    let f = Fixture()
    await expectError(.notFoundException) {
      try await f.engine.createAlias(
        CreateAliasRequest(aliasName: "alias/x", targetKeyId: "11111111-2222-4333-8444-555555555555"))
    }
    await expectError(.notFoundException) {
      try await f.engine.deleteAlias(DeleteAliasRequest(aliasName: "alias/never"))
    }
  }

  @Test func invalidAliasNames() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    await expectError(.invalidAliasNameException) {
      try await f.engine.createAlias(
        CreateAliasRequest(aliasName: "alias/aws/reserved", targetKeyId: key.keyId))
    }
    await expectError(.validationException) {
      try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/bad name", targetKeyId: key.keyId))
    }
  }

  @Test func aliasesWorkOnUnavailableKeys() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    try await f.disconnectAndSettle(store)
    _ = try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/offline", targetKeyId: key.keyId))
    #expect(try await f.key("alias/offline").keyState == .unavailable)
    _ = try await f.engine.deleteAlias(DeleteAliasRequest(aliasName: "alias/offline"))
  }

  @Test func listAliasesByKeyAndPaging() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let a = try await f.createKey(in: store)
    let b = try await f.createKey(in: store)
    for index in 0..<5 {
      _ = try await f.engine.createAlias(
        CreateAliasRequest(aliasName: "alias/a\(index)", targetKeyId: a.keyId))
    }
    _ = try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/b", targetKeyId: b.keyId))
    let forA = try await f.engine.listAliases(ListAliasesRequest(keyId: a.keyId))
    #expect(Set(forA.aliases?.compactMap(\.aliasName) ?? []) == Set((0..<5).map { "alias/a\($0)" }))
    var seen: [String] = []
    var marker: String?
    var pages = 0
    repeat {
      let page = try await f.engine.listAliases(ListAliasesRequest(keyId: a.keyId, limit: 2, marker: marker))
      #expect((page.aliases?.count ?? 0) <= 2)
      seen += page.aliases?.compactMap(\.aliasName) ?? []
      if page.truncated == true {
        let next = try #require(page.nextMarker)
        marker = next
      } else {
        marker = nil
      }
      pages += 1
    } while marker != nil && pages < 10
    #expect(seen.sorted() == (0..<5).map { "alias/a\($0)" })
    await expectError(.invalidMarkerException) {
      try await f.engine.listAliases(ListAliasesRequest(limit: 1, marker: "bogus"))
    }
  }

  @Test func deletedKeyTakesItsAliasesAlong() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    _ = try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/gone", targetKeyId: key.keyId))
    _ = try await f.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: key.keyId, pendingWindowInDays: 7))
    try await f.advance(by: 8 * 86_400)
    let listed = try await f.engine.listAliases(ListAliasesRequest())
    #expect(listed.aliases?.contains { $0.aliasName == "alias/gone" } != true)
  }
}

/// ListKeys paging.
@Suite struct ListKeysTests {
  @Test(arguments: [1, 2, 3, 5, 100])
  func pagingReturnsEveryKeyOnce(limit: Int) async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    var ids: [String] = []
    for _ in 0..<5 { ids.append(try await f.createKey(in: store).keyId) }
    let listed = try await f.allKeys(limit: limit)
    #expect(listed.compactMap(\.keyId).sorted() == ids.sorted())
    #expect(Set(listed.compactMap(\.keyId)).count == listed.count)
    for entry in listed {
      #expect(entry.keyArn == "arn:aws:kms:us-east-1:111122223333:key/\(entry.keyId ?? "")")
    }
  }

  @Test func keysOfDisconnectedStoresAreListed() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store).keyId
    try await f.disconnectAndSettle(store)
    #expect(try await f.allKeys().compactMap(\.keyId).contains(key))
  }

  @Test func badMarker() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    for _ in 0..<3 { _ = try await f.createKey(in: store) }
    await expectError(.invalidMarkerException) {
      try await f.engine.listKeys(ListKeysRequest(limit: 1, marker: "not-a-marker"))
    }
  }
}

/// kms-spec §5.3 GenerateRandom with a CustomKeyStoreId.
@Suite struct GenerateRandomTests {
  @Test(arguments: [1, 32, 1024])
  func connectedStoreGivesTheRequestedLength(count: Int) async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let response = try await f.engine.generateRandom(
      GenerateRandomRequest(numberOfBytes: count, customKeyStoreId: store))
    #expect(response.plaintext?.count == count)
  }

  @Test func randomBytesDiffer() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let a = try await f.engine.generateRandom(
      GenerateRandomRequest(numberOfBytes: 32, customKeyStoreId: store))
    let b = try await f.engine.generateRandom(
      GenerateRandomRequest(numberOfBytes: 32, customKeyStoreId: store))
    #expect(a.plaintext != b.plaintext)
  }

  @Test func withoutStore() async throws {
    let f = Fixture()
    let response = try await f.engine.generateRandom(GenerateRandomRequest(numberOfBytes: 16))
    #expect(response.plaintext?.count == 16)
  }

  @Test(arguments: [StoreStateSetup.disconnected, .connecting, .disconnecting, .failed])
  func notConnectedIsInvalidState(setup: StoreStateSetup) async throws {
    let f = Fixture()
    let (store, _) = try await setup.make(f)
    await expectError(.customKeyStoreInvalidStateException) {
      try await f.engine.generateRandom(GenerateRandomRequest(numberOfBytes: 32, customKeyStoreId: store))
    }
  }

  @Test func unknownStore() async throws {
    let f = Fixture()
    await expectError(.customKeyStoreNotFoundException) {
      try await f.engine.generateRandom(
        GenerateRandomRequest(numberOfBytes: 32, customKeyStoreId: "cks-0123456789abcdef0"))
    }
  }

  @Test(arguments: [0, 1025, -1])
  func numberOfBytesOutOfRange(count: Int) async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    await expectError(.validationException, messageContains: "'numberOfBytes'") {
      try await f.engine.generateRandom(GenerateRandomRequest(numberOfBytes: count, customKeyStoreId: store))
    }
  }
}
