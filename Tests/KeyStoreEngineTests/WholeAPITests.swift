import Foundation
import HSMSimulator
import KMSModel
import Testing
import _CryptoExtras

@testable import KeyStoreEngine

// Issue 14 at the engine: tags, key policies, grants, rotation, imported key material,
// multi-Region keys and reset, with their exact exceptions. For every kind of new state, a save
// that fails leaves the engine exactly as it was, and a restart from the saved records keeps it.

/// An engine that saves to a `MemoryStateStore`, on a manual clock, and can be restarted from it.
struct SavedEngine {
  let clock: ManualClock
  let saved: MemoryStateStore
  var engine: KeyStoreEngine
  let region: String

  init(region: String = "us-east-1", clock: ManualClock = ManualClock()) async throws {
    self.clock = clock
    self.region = region
    saved = MemoryStateStore()
    engine = try await KeyStoreEngine(
      configuration: EngineConfiguration(region: region), clock: clock, stateStore: saved)
  }

  /// A second engine resumed from what the first one saved (the first one "crashed").
  func restarted() async throws -> KeyStoreEngine {
    try await KeyStoreEngine(
      configuration: EngineConfiguration(region: region), clock: clock, stateStore: saved)
  }

  /// Makes the next save fail, runs `mutate`, and expects it to fail with KMSInternalException
  /// while `observe` sees exactly what it saw before.
  func expectFailedSaveChangesNothing<T: Equatable>(
    _ what: String, observe: (KeyStoreEngine) async throws -> T,
    sourceLocation: SourceLocation = #_sourceLocation, _ mutate: () async throws -> Void
  ) async throws {
    let before = try await observe(engine)
    let writes = saved.applied.withLock { $0 }
    saved.failNext.withLock { $0 = true }
    await expectError(.kmsInternalException, messageContains: "not made", sourceLocation: sourceLocation) {
      try await mutate()
    }
    #expect(
      saved.failures.withLock { $0 } > 0, "\(what): no save was attempted", sourceLocation: sourceLocation)
    saved.failNext.withLock { $0 = false }
    #expect(
      saved.applied.withLock { $0 } == writes, "\(what) saved something", sourceLocation: sourceLocation)
    #expect(
      try await observe(engine) == before, "\(what) left something behind", sourceLocation: sourceLocation)
  }

  /// Expects a restarted engine to observe what this one does.
  func expectRestartKeeps<T: Equatable>(
    _ what: String, observe: (KeyStoreEngine) async throws -> T,
    sourceLocation: SourceLocation = #_sourceLocation
  ) async throws {
    let now = try await observe(engine)
    let reopened = try await restarted()
    #expect(
      try await observe(reopened) == now, "\(what) was not kept across a restart",
      sourceLocation: sourceLocation)
  }
}

/// Everything the issue-14 reads say about one key.
struct KeyView: Equatable {
  var metadata: KeyMetadata?
  var tags: [KMSModel.Tag]
  var policy: String?
  var grants: [GrantListEntry]
  var rotation: GetKeyRotationStatusResponse?
  var rotations: [RotationsListEntry]
}

func view(_ engine: KeyStoreEngine, _ keyId: String) async throws -> KeyView {
  KeyView(
    metadata: try await engine.describeKey(DescribeKeyRequest(keyId: keyId)).keyMetadata,
    tags: try await engine.listResourceTags(ListResourceTagsRequest(keyId: keyId)).tags ?? [],
    policy: try await engine.getKeyPolicy(GetKeyPolicyRequest(keyId: keyId)).policy,
    grants: try await engine.listGrants(ListGrantsRequest(keyId: keyId)).grants ?? [],
    rotation: try? await engine.getKeyRotationStatus(GetKeyRotationStatusRequest(keyId: keyId)),
    rotations: (try? await engine.listKeyRotations(
      ListKeyRotationsRequest(keyId: keyId, includeKeyMaterial: "ALL_KEY_MATERIAL")))?.rotations ?? [])
}

let rootArn = "arn:aws:iam::111122223333:root"
let aliceArn = "arn:aws:iam::111122223333:user/alice"
let adminArn = "arn:aws:iam::111122223333:user/admin"

func policy(_ statements: [[String: Any]]) -> String {
  let data = try! JSONSerialization.data(
    withJSONObject: ["Version": "2012-10-17", "Statement": statements], options: [.sortedKeys])
  return String(decoding: data, as: UTF8.self)
}

func allow(_ principal: String, _ actions: Any = "kms:*") -> [String: Any] {
  ["Effect": "Allow", "Principal": ["AWS": principal], "Action": actions, "Resource": "*"]
}

func deny(_ principal: String, _ actions: Any) -> [String: Any] {
  ["Effect": "Deny", "Principal": ["AWS": principal], "Action": actions, "Resource": "*"]
}

func asCaller<T>(_ principal: String, _ body: () async throws -> T) async rethrows -> T {
  try await CallerIdentity.$principal.withValue(principal) { try await body() }
}

extension KeyStoreEngine {
  func newKey(
    spec: String? = nil, usage: String? = nil, origin: String? = nil, policy: String? = nil,
    bypass: Bool? = nil, tags: [KMSModel.Tag]? = nil, multiRegion: Bool? = nil
  ) async throws -> String {
    let response = try await createKey(
      CreateKeyRequest(
        policy: policy, keyUsage: usage, keySpec: spec, origin: origin,
        bypassPolicyLockoutSafetyCheck: bypass,
        tags: tags, multiRegion: multiRegion))
    return try #require(response.keyMetadata?.keyId)
  }

  func state(_ keyId: String) async throws -> KeyState? {
    try describeKey(DescribeKeyRequest(keyId: keyId)).keyMetadata?.keyState
  }

  func seal(_ keyId: String, _ text: String = "secret") async throws -> Data {
    try #require(
      try await encrypt(EncryptRequest(keyId: keyId, plaintext: Data(text.utf8))).ciphertextBlob)
  }

  func open(_ blob: Data) async throws -> String {
    String(
      decoding: try #require(try await decrypt(DecryptRequest(ciphertextBlob: blob)).plaintext), as: UTF8.self
    )
  }
}

// MARK: - Tags

@Suite struct TagTests {
  @Test func tagsAreCheckedAsKMSChecksThem() async throws {
    let f = try await SavedEngine()
    let e = f.engine
    let key = try await e.newKey(tags: [KMSModel.Tag(tagKey: "team", tagValue: "qa")])
    _ = try await e.tagResource(
      TagResourceRequest(
        keyId: key,
        tags: [KMSModel.Tag(tagKey: "team", tagValue: "red"), KMSModel.Tag(tagKey: "env", tagValue: "")]))
    #expect(
      try await view(e, key).tags == [
        KMSModel.Tag(tagKey: "team", tagValue: "red"), KMSModel.Tag(tagKey: "env", tagValue: ""),
      ])
    _ = try await e.untagResource(UntagResourceRequest(keyId: key, tagKeys: ["team", "absent"]))
    #expect(try await view(e, key).tags == [KMSModel.Tag(tagKey: "env", tagValue: "")])

    await expectError(.tagException, messageContains: "aws:") {
      try await e.tagResource(
        TagResourceRequest(keyId: key, tags: [KMSModel.Tag(tagKey: "aws:owner", tagValue: "x")]))
    }
    await expectError(.tagException, messageContains: "Duplicate tag keys") {
      try await e.tagResource(
        TagResourceRequest(
          keyId: key,
          tags: [KMSModel.Tag(tagKey: "a", tagValue: "1"), KMSModel.Tag(tagKey: "a", tagValue: "2")]))
    }
    let fifty = (0..<50).map { KMSModel.Tag(tagKey: "k\($0)", tagValue: "v") }
    await expectError(.limitExceededException) {
      try await e.tagResource(TagResourceRequest(keyId: key, tags: fifty))  // 50 new + "env"
    }
    await expectError(.tagException) {
      try await e.newKey(tags: [KMSModel.Tag(tagKey: "AWS:x", tagValue: "")])
    }
    await expectError(.notFoundException) {
      try await e.tagResource(
        TagResourceRequest(keyId: "alias/x", tags: [KMSModel.Tag(tagKey: "a", tagValue: "")]))
    }
    _ = try await e.scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: key, pendingWindowInDays: 7))
    await expectError(.kmsInvalidStateException, messageContains: "pending deletion") {
      try await e.tagResource(TagResourceRequest(keyId: key, tags: [KMSModel.Tag(tagKey: "a", tagValue: "")]))
    }
    // Listing still works on a key pending deletion.
    #expect(try await e.listResourceTags(ListResourceTagsRequest(keyId: key)).tags?.count == 1)
  }

  @Test func tagsRollBackOnAFailedSaveAndSurviveARestart() async throws {
    let f = try await SavedEngine()
    let key = try await f.engine.newKey(tags: [KMSModel.Tag(tagKey: "team", tagValue: "qa")])
    let observe = { (e: KeyStoreEngine) in try await view(e, key) }
    try await f.expectFailedSaveChangesNothing("TagResource", observe: observe) {
      _ = try await f.engine.tagResource(
        TagResourceRequest(keyId: key, tags: [KMSModel.Tag(tagKey: "env", tagValue: "x")]))
    }
    try await f.expectFailedSaveChangesNothing("UntagResource", observe: observe) {
      _ = try await f.engine.untagResource(UntagResourceRequest(keyId: key, tagKeys: ["team"]))
    }
    let keys = { (e: KeyStoreEngine) in try await e.listKeys(ListKeysRequest()).keys ?? [] }
    try await f.expectFailedSaveChangesNothing("CreateKey with tags", observe: keys) {
      _ = try await f.engine.newKey(tags: [KMSModel.Tag(tagKey: "a", tagValue: "b")])
    }
    _ = try await f.engine.tagResource(
      TagResourceRequest(keyId: key, tags: [KMSModel.Tag(tagKey: "env", tagValue: "x")]))
    try await f.expectRestartKeeps("tags", observe: observe)
    #expect(try await view(f.restarted(), key).tags.count == 2)
  }
}

extension TagTests {
  @Test func theDashboardSeesTagsOfCustomStoreKeysInSnapshotsAndDeltas() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store).keyId
    #expect(try await f.engine.fleetSnapshot().keyDetails[key] == nil)
    let stream = await f.engine.changes()
    var iterator = stream.makeAsyncIterator()
    _ = try await f.engine.tagResource(
      TagResourceRequest(keyId: key, tags: [KMSModel.Tag(tagKey: "team", tagValue: "qa")]))
    let delta = try #require(await iterator.next())
    #expect(delta.keys.map(\.keyId) == [key])
    #expect(delta.keyDetails[key] == KeyDetails(tags: [KMSModel.Tag(tagKey: "team", tagValue: "qa")]))
    let snapshot = try await f.engine.fleetSnapshot()
    #expect(snapshot.keyDetails[key] == KeyDetails(tags: [KMSModel.Tag(tagKey: "team", tagValue: "qa")]))
    #expect(snapshot.keys.first { $0.keyId == key }?.keySpec == .symmetricDefault)
    _ = try await f.engine.untagResource(UntagResourceRequest(keyId: key, tagKeys: ["team"]))
    #expect(try await f.engine.fleetSnapshot().keyDetails[key] == nil)
    let cleared = try #require(await iterator.next())
    #expect(cleared.keys.map(\.keyId) == [key] && cleared.keyDetails.isEmpty)
  }
}

extension TagTests {
  /// The dashboard's all-keys view: keys outside custom key stores (RSA, HMAC, symmetric) are in
  /// the snapshot and travel in deltas with their spec, usage, rotation and tags, as do their
  /// aliases and their removal.
  @Test func keysOutsideCustomStoresAreInSnapshotsAndDeltas() async throws {
    let f = Fixture()
    let stream = await f.engine.changes()
    var iterator = stream.makeAsyncIterator()
    let rsa = try #require(
      try await f.engine.createKey(CreateKeyRequest(keyUsage: "SIGN_VERIFY", keySpec: "RSA_2048")).keyMetadata
    )
    let created = try #require(await iterator.next())
    #expect(created.keys.map(\.keyId) == [rsa.keyId])
    #expect(created.keys.first?.keySpec == .rsa2048 && created.keys.first?.keyUsage == .signVerify)
    #expect(created.keys.first?.customKeyStoreId == nil)
    let hmac = try #require(
      try await f.engine.createKey(CreateKeyRequest(keyUsage: "GENERATE_VERIFY_MAC", keySpec: "HMAC_256"))
        .keyMetadata)
    _ = try #require(await iterator.next())
    let symmetric = try #require(try await f.engine.createKey(CreateKeyRequest()).keyMetadata)
    _ = try #require(await iterator.next())
    _ = try await f.engine.enableKeyRotation(EnableKeyRotationRequest(keyId: symmetric.keyId))
    let rotated = try #require(await iterator.next())
    #expect(rotated.keyDetails[symmetric.keyId]?.rotationEnabled == true)
    _ = try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/mac", targetKeyId: hmac.keyId))
    let aliased = try #require(await iterator.next())
    #expect(aliased.aliases.map(\.aliasName) == ["alias/mac"])
    let snapshot = try await f.engine.fleetSnapshot()
    let ids = Set(snapshot.keys.map(\.keyId))
    #expect(ids.isSuperset(of: [rsa.keyId, hmac.keyId, symmetric.keyId]))
    #expect(snapshot.keys.first { $0.keyId == hmac.keyId }?.keySpec == .hmac256)
    #expect(snapshot.aliases(forKey: hmac.keyId) == ["alias/mac"])
    #expect(snapshot.keyDetails[symmetric.keyId]?.rotationEnabled == true)
    #expect(snapshot.keyDetails[rsa.keyId] == nil)  // not rotatable, no tags: nothing to show
    _ = try await f.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: rsa.keyId, pendingWindowInDays: 7))
    let pending = try #require(await iterator.next())
    #expect(pending.keys.first { $0.keyId == rsa.keyId }?.keyState == .pendingDeletion)
  }
}

// MARK: - Key policies

@Suite struct PolicyTests {
  @Test func policiesAreCheckedAndEnforced() async throws {
    let f = try await SavedEngine()
    let e = f.engine
    let key = try await e.newKey()
    let original = try #require(try await view(e, key).policy)
    #expect(original.contains("\"AWS\" : \"\(rootArn)\""))
    #expect(try await e.listKeyPolicies(ListKeyPoliciesRequest(keyId: key)).policyNames == ["default"])
    await expectError(.notFoundException) {
      try await e.getKeyPolicy(GetKeyPolicyRequest(keyId: key, policyName: "other"))
    }
    await expectError(.malformedPolicyDocumentException) {
      try await e.putKeyPolicy(PutKeyPolicyRequest(keyId: key, policy: "{not json"))
    }
    await expectError(.malformedPolicyDocumentException, messageContains: "invalid principals") {
      try await e.putKeyPolicy(PutKeyPolicyRequest(keyId: key, policy: policy([allow("bob")])))
    }
    // The lockout safety check: a policy that would lock the caller out of PutKeyPolicy.
    let onlyAdmin = policy([allow(adminArn)])
    await expectError(.malformedPolicyDocumentException, messageContains: "will not allow you") {
      try await e.putKeyPolicy(PutKeyPolicyRequest(keyId: key, policy: onlyAdmin))
    }
    await expectError(.malformedPolicyDocumentException) { try await e.newKey(policy: onlyAdmin) }
    #expect(try await view(e, key).policy == original)

    // Alice is denied Encrypt explicitly; the rest of the account is still allowed.
    let denyAlice = policy([allow(rootArn), deny(aliceArn, ["kms:Encrypt"])])
    _ = try await e.putKeyPolicy(PutKeyPolicyRequest(keyId: key, policy: denyAlice))
    await expectError(.accessDeniedException, messageContains: "with an explicit deny") {
      try await asCaller(aliceArn) { try await e.seal(key) }
    }
    let blob = try await e.seal(key)
    #expect(try await asCaller(aliceArn) { try await e.open(blob) } == "secret")

    // With the bypass, the caller may lock itself out: then the root is refused everything.
    _ = try await e.putKeyPolicy(
      PutKeyPolicyRequest(keyId: key, policy: onlyAdmin, bypassPolicyLockoutSafetyCheck: true))
    await expectError(
      .accessDeniedException, messageContains: "no resource-based policy allows the kms:DescribeKey"
    ) {
      try await e.describeKey(DescribeKeyRequest(keyId: key))
    }
    #expect(try await asCaller(adminArn) { try await view(e, key).policy } == onlyAdmin)
  }

  @Test func policiesRollBackOnAFailedSaveAndSurviveARestart() async throws {
    let f = try await SavedEngine()
    let key = try await f.engine.newKey(policy: policy([allow(rootArn)]))
    let observe = { (e: KeyStoreEngine) in try await view(e, key) }
    let denyAlice = policy([allow(rootArn), deny(aliceArn, "kms:*")])
    try await f.expectFailedSaveChangesNothing("PutKeyPolicy", observe: observe) {
      _ = try await f.engine.putKeyPolicy(PutKeyPolicyRequest(keyId: key, policy: denyAlice))
    }
    _ = try await f.engine.putKeyPolicy(PutKeyPolicyRequest(keyId: key, policy: denyAlice))
    try await f.expectRestartKeeps("key policy", observe: observe)
    let reopened = try await f.restarted()
    await expectError(.accessDeniedException) {
      try await asCaller(aliceArn) { try await reopened.describeKey(DescribeKeyRequest(keyId: key)) }
    }
  }
}

// MARK: - Grants

@Suite struct GrantTests {
  /// A key only the admin may use through its policy (created with the lockout bypass).
  func adminKey(_ e: KeyStoreEngine, spec: String? = nil, usage: String? = nil) async throws -> String {
    try await e.newKey(spec: spec, usage: usage, policy: policy([allow(adminArn)]), bypass: true)
  }

  @Test func grantsLetTheirGranteeInAndAreRetiredAndRevoked() async throws {
    let f = try await SavedEngine()
    let e = f.engine
    let key = try await adminKey(e)
    await expectError(.accessDeniedException) { try await asCaller(aliceArn) { try await e.seal(key) } }
    let grant = try await asCaller(adminArn) {
      try await e.createGrant(
        CreateGrantRequest(
          keyId: key, granteePrincipal: aliceArn, retiringPrincipal: adminArn,
          operations: ["Encrypt", "Decrypt"],
          name: "alice-crypto"))
    }
    let grantId = try #require(grant.grantId)
    let token = try #require(grant.grantToken)
    let blob = try await asCaller(aliceArn) { try await e.seal(key) }
    #expect(try await asCaller(aliceArn) { try await e.open(blob) } == "secret")
    await expectError(.accessDeniedException) {
      try await asCaller(aliceArn) {
        try await e.generateDataKey(GenerateDataKeyRequest(keyId: key, keySpec: "AES_256"))
      }
    }
    // The same name and parameters give the same grant back.
    let again = try await asCaller(adminArn) {
      try await e.createGrant(
        CreateGrantRequest(
          keyId: key, granteePrincipal: aliceArn, retiringPrincipal: adminArn,
          operations: ["Decrypt", "Encrypt"],
          name: "alice-crypto"))
    }
    #expect(again.grantId == grantId)
    let listed = try await asCaller(adminArn) {
      try await e.listGrants(ListGrantsRequest(keyId: key)).grants ?? []
    }
    #expect(listed.map(\.grantId) == [grantId])
    #expect(listed.first?.operations == [.encrypt, .decrypt])
    let retirable = try await e.listRetirableGrants(ListRetirableGrantsRequest(retiringPrincipal: adminArn))
    #expect(retirable.grants?.map(\.grantId) == [grantId])

    // Operation and constraint checks, DryRun.
    await expectError(.validationException, messageContains: "Sign is not valid") {
      try await asCaller(adminArn) {
        try await e.createGrant(
          CreateGrantRequest(keyId: key, granteePrincipal: aliceArn, operations: ["Sign"]))
      }
    }
    await expectError(.validationException) {
      try await asCaller(adminArn) {
        try await e.createGrant(
          CreateGrantRequest(keyId: key, granteePrincipal: aliceArn, operations: ["Fly"]))
      }
    }
    let signing = try await adminKey(e, spec: "ECC_NIST_P256", usage: "SIGN_VERIFY")
    await expectError(.validationException, messageContains: "grant constraints") {
      try await asCaller(adminArn) {
        try await e.createGrant(
          CreateGrantRequest(
            keyId: signing, granteePrincipal: aliceArn, operations: ["Sign"],
            constraints: GrantConstraints(encryptionContextSubset: ["a": "b"])))
      }
    }
    await expectError(.dryRunOperationException) {
      try await asCaller(adminArn) {
        try await e.createGrant(
          CreateGrantRequest(keyId: key, granteePrincipal: adminArn, operations: ["Encrypt"], dryRun: true))
      }
    }
    #expect(
      try await asCaller(adminArn) { try await e.listGrants(ListGrantsRequest(keyId: key)).grants?.count }
        == 1)

    // Grant tokens: a malformed one is refused; a retired grant's token authorizes nothing.
    await expectError(.invalidGrantTokenException) {
      try await e.describeKey(DescribeKeyRequest(keyId: key, grantTokens: ["not-a-token"]))
    }
    await expectError(.invalidGrantTokenException) {
      try await e.retireGrant(RetireGrantRequest(grantToken: "nope"))
    }
    await expectError(.invalidGrantIdException) {
      try await e.retireGrant(
        RetireGrantRequest(grantToken: token, grantId: String(repeating: "0", count: 64)))
    }
    _ = try await e.retireGrant(RetireGrantRequest(grantToken: token))
    await expectError(.notFoundException) { try await e.retireGrant(RetireGrantRequest(grantToken: token)) }
    await expectError(.accessDeniedException) { try await asCaller(aliceArn) { try await e.seal(key) } }

    // RevokeGrant by the key's administrator.
    let second = try await asCaller(adminArn) {
      try await e.createGrant(
        CreateGrantRequest(keyId: key, granteePrincipal: aliceArn, operations: ["Encrypt"]))
    }
    _ = try await asCaller(adminArn) {
      try await e.revokeGrant(RevokeGrantRequest(keyId: key, grantId: try #require(second.grantId)))
    }
    await expectError(.notFoundException) {
      try await asCaller(adminArn) {
        try await e.revokeGrant(RevokeGrantRequest(keyId: key, grantId: second.grantId!))
      }
    }
    await expectError(.accessDeniedException) { try await asCaller(aliceArn) { try await e.seal(key) } }
  }

  @Test func onlyTheAccountTheRetiringPrincipalOrAPermittedGranteeRetiresAGrant() async throws {
    let f = try await SavedEngine()
    let e = f.engine
    let key = try await adminKey(e)
    let bobArn = "arn:aws:iam::111122223333:role/bob"
    func grant(retiring: String?, operations: [String]) async throws -> CreateGrantResponse {
      try await asCaller(adminArn) {
        try await e.createGrant(
          CreateGrantRequest(
            keyId: key, granteePrincipal: aliceArn, retiringPrincipal: retiring, operations: operations))
      }
    }
    func count() async throws -> Int {
      try await asCaller(adminArn) {
        try await e.listGrants(ListGrantsRequest(keyId: key)).grants?.count ?? 0
      }
    }
    // Retiring principal bob: alice (the grantee, without RetireGrant) and the key's administrator
    // (allowed kms:* by the key policy, but not named by the grant) are refused; bob retires it.
    let first = try await grant(retiring: bobArn, operations: ["Encrypt"])
    let token = try #require(first.grantToken)
    for caller in [aliceArn, adminArn] {
      await expectError(.accessDeniedException, messageContains: "kms:RetireGrant") {
        try await asCaller(caller) { try await e.retireGrant(RetireGrantRequest(grantToken: token)) }
      }
    }
    await expectError(.accessDeniedException) {
      try await asCaller(aliceArn) {
        try await e.retireGrant(RetireGrantRequest(keyId: key, grantId: first.grantId))
      }
    }
    #expect(try await count() == 1)
    _ = try await asCaller(bobArn) { try await e.retireGrant(RetireGrantRequest(grantToken: token)) }
    #expect(try await count() == 0)
    // A grantee whose grant includes RetireGrant retires it itself.
    let second = try await grant(retiring: nil, operations: ["Encrypt", "RetireGrant"])
    _ = try await asCaller(aliceArn) {
      try await e.retireGrant(RetireGrantRequest(keyId: key, grantId: second.grantId))
    }
    #expect(try await count() == 0)
    // The account root (the caller without a mapped access key) retires any grant of its account.
    let third = try await grant(retiring: bobArn, operations: ["Decrypt"])
    _ = try await e.retireGrant(RetireGrantRequest(grantToken: third.grantToken))
    #expect(try await count() == 0)
  }

  @Test func grantsRollBackOnAFailedSaveAndSurviveARestart() async throws {
    let f = try await SavedEngine()
    let key = try await adminKey(f.engine)
    let observe = { (e: KeyStoreEngine) in try await asCaller(adminArn) { try await view(e, key) } }
    let request = CreateGrantRequest(keyId: key, granteePrincipal: aliceArn, operations: ["Encrypt"])
    try await f.expectFailedSaveChangesNothing("CreateGrant", observe: observe) {
      _ = try await asCaller(adminArn) { try await f.engine.createGrant(request) }
    }
    // The grant ID drawn for the failed call is drawn again: the random state was rolled back too.
    let first = try await asCaller(adminArn) { try await f.engine.createGrant(request) }
    let token = try #require(first.grantToken)
    try await f.expectRestartKeeps("grant", observe: observe)
    let reopened = try await f.restarted()
    _ = try await asCaller(aliceArn) { try await reopened.seal(key) }

    try await f.expectFailedSaveChangesNothing("RetireGrant", observe: observe) {
      _ = try await f.engine.retireGrant(RetireGrantRequest(grantToken: token))
    }
    try await f.expectFailedSaveChangesNothing("RevokeGrant", observe: observe) {
      _ = try await asCaller(adminArn) {
        try await f.engine.revokeGrant(RevokeGrantRequest(keyId: key, grantId: first.grantId!))
      }
    }
    _ = try await f.engine.retireGrant(RetireGrantRequest(grantToken: token))
    try await f.expectRestartKeeps("retired grant", observe: observe)
    await expectError(.accessDeniedException) {
      try await asCaller(aliceArn) { try await f.restarted().seal(key) }
    }
  }
}

// MARK: - Rotation

@Suite struct RotationTests {
  static let day: TimeInterval = 86_400

  @Test func automaticRotationRunsOnTheClockAndOldCiphertextStillDecrypts() async throws {
    let f = try await SavedEngine()
    let e = f.engine
    let key = try await e.newKey()
    await expectError(.validationException) {
      try await e.enableKeyRotation(EnableKeyRotationRequest(keyId: key, rotationPeriodInDays: 89))
    }
    let enabledAt = f.clock.now()
    _ = try await e.enableKeyRotation(EnableKeyRotationRequest(keyId: key, rotationPeriodInDays: 90))
    let status = try await e.getKeyRotationStatus(GetKeyRotationStatusRequest(keyId: key))
    #expect(status.keyRotationEnabled == true)
    #expect(status.rotationPeriodInDays == 90)
    #expect(status.nextRotationDate == enabledAt + 90 * Self.day)
    let before = try await e.seal(key, "before")
    let firstMaterial = try await view(e, key).metadata?.currentKeyMaterialId

    try await advance(f.clock, e, by: 90 * Self.day - 1)
    #expect(try await view(e, key).rotations.count == 1)  // the original material only
    try await advance(f.clock, e, by: 1)
    let rotated = try await view(e, key)
    #expect(rotated.rotations.count == 2)
    #expect(rotated.rotations.last?.rotationType == .automatic)
    #expect(rotated.rotations.last?.rotationDate == enabledAt + 90 * Self.day)
    #expect(rotated.rotations.map(\.keyMaterialState) == [.nonCurrent, .current])
    #expect(rotated.rotation?.nextRotationDate == enabledAt + 180 * Self.day)
    #expect(rotated.metadata?.currentKeyMaterialId != firstMaterial)
    let rotationsOnly = try await e.listKeyRotations(ListKeyRotationsRequest(keyId: key))
    #expect(rotationsOnly.rotations?.count == 1)
    #expect(try await e.open(before) == "before")
    let after = try await e.seal(key, "after")
    #expect(try await e.open(after) == "after")

    _ = try await e.disableKeyRotation(DisableKeyRotationRequest(keyId: key))
    try await advance(f.clock, e, by: 400 * Self.day)
    #expect(try await view(e, key).rotations.count == 2)
    #expect(
      try await e.getKeyRotationStatus(GetKeyRotationStatusRequest(keyId: key)).keyRotationEnabled == false)
  }

  @Test func onDemandRotationAndWhatCannotRotate() async throws {
    let f = try await SavedEngine()
    let e = f.engine
    let key = try await e.newKey()
    let blob = try await e.seal(key)
    for _ in 0..<10 { _ = try await e.rotateKeyOnDemand(RotateKeyOnDemandRequest(keyId: key)) }
    await expectError(.limitExceededException, messageContains: "maximum of 10 on-demand rotations") {
      try await e.rotateKeyOnDemand(RotateKeyOnDemandRequest(keyId: key))
    }
    let rotations = try await view(e, key).rotations
    #expect(rotations.count == 11)
    #expect(rotations.dropFirst().allSatisfy { $0.rotationType == .onDemand })
    #expect(try await e.open(blob) == "secret")

    let hmac = try await e.newKey(spec: "HMAC_256", usage: "GENERATE_VERIFY_MAC")
    await expectError(.unsupportedOperationException, messageContains: "Only symmetric encryption KMS keys") {
      try await e.enableKeyRotation(EnableKeyRotationRequest(keyId: hmac))
    }
    await expectError(.unsupportedOperationException) {
      try await e.rotateKeyOnDemand(RotateKeyOnDemandRequest(keyId: hmac))
    }
    let external = try await e.newKey(origin: "EXTERNAL")
    await expectError(.unsupportedOperationException, messageContains: "imported key material") {
      try await e.enableKeyRotation(EnableKeyRotationRequest(keyId: external))
    }
    let disabled = try await e.newKey()
    _ = try await e.disableKey(DisableKeyRequest(keyId: disabled))
    await expectError(.disabledException) {
      try await e.enableKeyRotation(EnableKeyRotationRequest(keyId: disabled))
    }
    _ = try await e.scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: disabled, pendingWindowInDays: 7))
    await expectError(.kmsInvalidStateException) {
      try await e.getKeyRotationStatus(GetKeyRotationStatusRequest(keyId: disabled))
    }
  }

  @Test func keysInCustomKeyStoresRefuseRotation() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store).keyId
    await expectError(.unsupportedOperationException, messageContains: "custom key store") {
      try await f.engine.enableKeyRotation(EnableKeyRotationRequest(keyId: key))
    }
    await expectError(.unsupportedOperationException, messageContains: "custom key store") {
      try await f.engine.rotateKeyOnDemand(RotateKeyOnDemandRequest(keyId: key))
    }
    await expectError(.unsupportedOperationException) {
      try await f.engine.getKeyRotationStatus(GetKeyRotationStatusRequest(keyId: key))
    }
  }

  @Test func rotationRollsBackOnAFailedSaveAndSurvivesARestart() async throws {
    let f = try await SavedEngine()
    let key = try await f.engine.newKey()
    let observe = { (e: KeyStoreEngine) in try await view(e, key) }
    try await f.expectFailedSaveChangesNothing("EnableKeyRotation", observe: observe) {
      _ = try await f.engine.enableKeyRotation(EnableKeyRotationRequest(keyId: key, rotationPeriodInDays: 90))
    }
    try await f.expectFailedSaveChangesNothing("RotateKeyOnDemand", observe: observe) {
      _ = try await f.engine.rotateKeyOnDemand(RotateKeyOnDemandRequest(keyId: key))
    }
    let before = try await f.engine.seal(key, "v1")
    _ = try await f.engine.enableKeyRotation(EnableKeyRotationRequest(keyId: key, rotationPeriodInDays: 90))
    _ = try await f.engine.rotateKeyOnDemand(RotateKeyOnDemandRequest(keyId: key))
    let middle = try await f.engine.seal(key, "v2")

    // The automatic rotation falls due, but its save fails: it is not kept, and runs when retried.
    f.clock.advance(by: 90 * Self.day)
    try await f.expectFailedSaveChangesNothing("automatic rotation", observe: observe) {
      try await f.engine.runDueWork()
    }
    f.clock.advance(by: 1)
    try await f.engine.runDueWork()
    #expect(try await view(f.engine, key).rotations.map(\.rotationType) == [nil, .onDemand, .automatic])
    try await f.expectRestartKeeps("rotation settings and material versions", observe: observe)

    // After a restart every version still decrypts, and the next automatic rotation still comes.
    let reopened = try await f.restarted()
    #expect(try await reopened.open(before) == "v1")
    #expect(try await reopened.open(middle) == "v2")
    try await advance(f.clock, reopened, by: 90 * Self.day)
    #expect(try await view(reopened, key).rotations.count == 4)
  }
}

// MARK: - Imported key material

@Suite struct ImportTests {
  /// Wraps `material` for `keyId` with the public key of fresh import parameters
  /// (RSAES_OAEP_SHA_256, RSA_2048), as a client does.
  static func wrap(_ e: KeyStoreEngine, _ keyId: String, _ material: Data) async throws -> (
    token: Data, wrapped: Data
  ) {
    let parameters = try await e.getParametersForImport(
      GetParametersForImportRequest(
        keyId: keyId, wrappingAlgorithm: "RSAES_OAEP_SHA_256", wrappingKeySpec: "RSA_2048"))
    let publicKey = try _RSA.Encryption.PublicKey(derRepresentation: try #require(parameters.publicKey))
    return (
      try #require(parameters.importToken), try publicKey.encrypt(material, padding: .PKCS1_OAEP_SHA256)
    )
  }

  static func material(_ byte: UInt8) -> Data { Data(repeating: byte, count: 32) }

  @Test func importExpiryAndReimportOnTheClock() async throws {
    let f = try await SavedEngine()
    let e = f.engine
    let key = try await e.newKey(origin: "EXTERNAL")
    #expect(try await e.state(key) == .pendingImport)
    await expectError(.kmsInvalidStateException, messageContains: "pending import") { try await e.seal(key) }
    await expectError(.unsupportedOperationException, messageContains: "Origin EXTERNAL") {
      try await e.getParametersForImport(
        GetParametersForImportRequest(
          keyId: try await e.newKey(), wrappingAlgorithm: "RSAES_OAEP_SHA_256", wrappingKeySpec: "RSA_2048"))
    }
    let (token, wrapped) = try await Self.wrap(e, key, Self.material(1))
    await expectError(.invalidImportTokenException) {
      try await e.importKeyMaterial(
        ImportKeyMaterialRequest(keyId: key, importToken: Data("forged".utf8), encryptedKeyMaterial: wrapped))
    }
    await expectError(.validationException, messageContains: "ValidTo is required") {
      try await e.importKeyMaterial(
        ImportKeyMaterialRequest(
          keyId: key, importToken: token, encryptedKeyMaterial: wrapped,
          expirationModel: "KEY_MATERIAL_EXPIRES"))
    }
    let validTo = f.clock.now() + 3600
    _ = try await e.importKeyMaterial(
      ImportKeyMaterialRequest(
        keyId: key, importToken: token, encryptedKeyMaterial: wrapped, validTo: validTo,
        expirationModel: "KEY_MATERIAL_EXPIRES"))
    let metadata = try #require(try await e.describeKey(DescribeKeyRequest(keyId: key)).keyMetadata)
    #expect(metadata.keyState == .enabled)
    #expect(metadata.expirationModel == .keyMaterialExpires)
    #expect(metadata.validTo == validTo)
    let blob = try await e.seal(key)

    // Other material is refused; the same material again is accepted.
    let other = try await Self.wrap(e, key, Self.material(2))
    await expectError(.incorrectKeyMaterialException) {
      try await e.importKeyMaterial(
        ImportKeyMaterialRequest(keyId: key, importToken: other.token, encryptedKeyMaterial: other.wrapped))
    }

    // The material expires on the clock: the key is PendingImport until it is imported again.
    try await advance(f.clock, e, by: 3599)
    #expect(try await e.state(key) == .enabled)
    try await advance(f.clock, e, by: 1)
    #expect(try await e.state(key) == .pendingImport)
    #expect(try await e.describeKey(DescribeKeyRequest(keyId: key)).keyMetadata?.validTo == nil)
    await expectError(.kmsInvalidStateException) { try await e.open(blob) }
    await expectError(.kmsInvalidStateException, messageContains: "pending import") {
      try await e.deleteImportedKeyMaterial(DeleteImportedKeyMaterialRequest(keyId: key))
    }

    // Import parameters are valid for 24 hours.
    let stale = try await Self.wrap(e, key, Self.material(1))
    try await advance(f.clock, e, by: 86_400 + 1)
    await expectError(.expiredImportTokenException) {
      try await e.importKeyMaterial(
        ImportKeyMaterialRequest(keyId: key, importToken: stale.token, encryptedKeyMaterial: stale.wrapped))
    }
    let fresh = try await Self.wrap(e, key, Self.material(1))
    _ = try await e.importKeyMaterial(
      ImportKeyMaterialRequest(keyId: key, importToken: fresh.token, encryptedKeyMaterial: fresh.wrapped))
    #expect(try await e.state(key) == .enabled)
    #expect(try await e.open(blob) == "secret")

    _ = try await e.deleteImportedKeyMaterial(DeleteImportedKeyMaterialRequest(keyId: key))
    #expect(try await e.state(key) == .pendingImport)
  }

  @Test func importRollsBackOnAFailedSaveAndSurvivesARestart() async throws {
    let f = try await SavedEngine()
    let key = try await f.engine.newKey(origin: "EXTERNAL")
    let observe = { (e: KeyStoreEngine) in try await view(e, key) }
    try await f.expectFailedSaveChangesNothing("GetParametersForImport", observe: observe) {
      _ = try await Self.wrap(f.engine, key, Self.material(1))
    }
    let (token, wrapped) = try await Self.wrap(f.engine, key, Self.material(1))
    let validTo = f.clock.now() + 7200
    let request = ImportKeyMaterialRequest(
      keyId: key, importToken: token, encryptedKeyMaterial: wrapped, validTo: validTo,
      expirationModel: "KEY_MATERIAL_EXPIRES")
    try await f.expectFailedSaveChangesNothing("ImportKeyMaterial", observe: observe) {
      _ = try await f.engine.importKeyMaterial(request)
    }
    #expect(try await f.engine.state(key) == .pendingImport)
    _ = try await f.engine.importKeyMaterial(request)
    let blob = try await f.engine.seal(key)
    try await f.expectRestartKeeps("imported key material", observe: observe)
    #expect(try await f.restarted().open(blob) == "secret")

    try await f.expectFailedSaveChangesNothing("DeleteImportedKeyMaterial", observe: observe) {
      _ = try await f.engine.deleteImportedKeyMaterial(DeleteImportedKeyMaterialRequest(keyId: key))
    }
    // The expiry falls due; a failed save keeps the material; after a restart it still expires.
    f.clock.advance(by: 7200)
    try await f.expectFailedSaveChangesNothing("material expiry", observe: observe) {
      try await f.engine.runDueWork()
    }
    let reopened = try await f.restarted()
    #expect(try await reopened.state(key) == .enabled)
    try await reopened.runDueWork()
    #expect(try await reopened.state(key) == .pendingImport)
    #expect(try await view(f.restarted(), key) == view(reopened, key))
  }
}

// MARK: - Multi-Region keys

/// The Regions of one process, as `kmsdash serve` keeps them.
final class TestRegions: RegionPeers {
  let engines: [String: KeyStoreEngine]
  init(_ engines: [String: KeyStoreEngine]) { self.engines = engines }
  func engine(forRegion region: String) async throws -> KeyStoreEngine {
    guard let engine = engines[region] else {
      throw KMSError(.unsupportedOperationException, "no engine for \(region)")
    }
    return engine
  }
}

@Suite struct MultiRegionTests {
  /// Three Regions on one clock, each saving to its own store.
  static func regions() async throws -> (east: SavedEngine, west: SavedEngine, south: SavedEngine) {
    let clock = ManualClock()
    let east = try await SavedEngine(region: "us-east-1", clock: clock)
    let west = try await SavedEngine(region: "eu-west-1", clock: clock)
    let south = try await SavedEngine(region: "ap-south-1", clock: clock)
    let peers = TestRegions(["us-east-1": east.engine, "eu-west-1": west.engine, "ap-south-1": south.engine])
    for region in [east, west, south] { await region.engine.setRegionPeers(peers) }
    return (east, west, south)
  }

  static func configuration(_ e: KeyStoreEngine, _ key: String) async throws -> MultiRegionConfiguration? {
    try await e.describeKey(DescribeKeyRequest(keyId: key)).keyMetadata?.multiRegionConfiguration
  }

  static func replicaRegions(_ e: KeyStoreEngine, _ key: String) async throws -> [String] {
    try await configuration(e, key)?.replicaKeys?.compactMap(\.region) ?? []
  }

  @Test func replicateUpdatePrimaryAndTheirErrors() async throws {
    let (east, west, _) = try await Self.regions()
    let key = try await east.engine.newKey(multiRegion: true)
    #expect(key.hasPrefix("mrk-"))
    let response = try await east.engine.replicateKey(
      ReplicateKeyRequest(
        keyId: key, replicaRegion: "eu-west-1", tags: [KMSModel.Tag(tagKey: "copy", tagValue: "1")]))
    #expect(response.replicaKeyMetadata?.multiRegionConfiguration?.multiRegionKeyType == .replica)
    #expect(response.replicaTags == [KMSModel.Tag(tagKey: "copy", tagValue: "1")])
    #expect(try await Self.replicaRegions(east.engine, key) == ["eu-west-1"])
    let blob = try await east.engine.seal(key)
    #expect(try await west.engine.open(blob) == "secret")

    await expectError(.alreadyExistsException) {
      try await east.engine.replicateKey(ReplicateKeyRequest(keyId: key, replicaRegion: "eu-west-1"))
    }
    await expectError(.unsupportedOperationException, messageContains: "is a replica key") {
      try await west.engine.replicateKey(ReplicateKeyRequest(keyId: key, replicaRegion: "ap-south-1"))
    }
    await expectError(.unsupportedOperationException, messageContains: "not a multi-Region key") {
      try await east.engine.replicateKey(
        ReplicateKeyRequest(keyId: try await east.engine.newKey(), replicaRegion: "eu-west-1"))
    }
    await expectError(.validationException) {
      try await east.engine.replicateKey(ReplicateKeyRequest(keyId: key, replicaRegion: "mars"))
    }
    await expectError(.validationException, messageContains: "not a valid AWS Region") {
      try await east.engine.replicateKey(ReplicateKeyRequest(keyId: key, replicaRegion: "abc-def-1"))
    }
    await expectError(.unsupportedOperationException, messageContains: "replica key") {
      try await west.engine.rotateKeyOnDemand(RotateKeyOnDemandRequest(keyId: key))
    }
    await expectError(.notFoundException, messageContains: "no replica in ap-south-1") {
      try await east.engine.updatePrimaryRegion(
        UpdatePrimaryRegionRequest(keyId: key, primaryRegion: "ap-south-1"))
    }
    _ = try await east.engine.updatePrimaryRegion(
      UpdatePrimaryRegionRequest(keyId: key, primaryRegion: "eu-west-1"))
    #expect(try await Self.configuration(west.engine, key)?.multiRegionKeyType == .primary)
    #expect(try await Self.configuration(east.engine, key)?.multiRegionKeyType == .replica)
    #expect(try await Self.replicaRegions(west.engine, key) == ["us-east-1"])

    let alone = KeyStoreEngine(clock: ManualClock())
    let lonely = try await alone.newKey(multiRegion: true)
    await expectError(.unsupportedOperationException, messageContains: "needs several Regions") {
      try await alone.replicateKey(ReplicateKeyRequest(keyId: lonely, replicaRegion: "eu-west-1"))
    }
  }

  @Test func aPrimaryWithReplicasWaitsInPendingReplicaDeletion() async throws {
    let (east, west, south) = try await Self.regions()
    let key = try await east.engine.newKey(multiRegion: true)
    _ = try await east.engine.replicateKey(ReplicateKeyRequest(keyId: key, replicaRegion: "eu-west-1"))
    _ = try await east.engine.replicateKey(ReplicateKeyRequest(keyId: key, replicaRegion: "ap-south-1"))
    #expect(try await Self.replicaRegions(south.engine, key) == ["ap-south-1", "eu-west-1"])

    let scheduled = try await east.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: key, pendingWindowInDays: 7))
    #expect(scheduled.keyState == .pendingReplicaDeletion)
    #expect(scheduled.deletionDate == nil)
    #expect(scheduled.pendingWindowInDays == 7)
    let metadata = try #require(try await east.engine.describeKey(DescribeKeyRequest(keyId: key)).keyMetadata)
    #expect(metadata.keyState == .pendingReplicaDeletion)
    #expect(metadata.deletionDate == nil)
    #expect(metadata.pendingDeletionWindowInDays == 7)
    #expect(metadata.enabled == false)
    await expectError(.kmsInvalidStateException, messageContains: "pending replica deletion") {
      try await east.engine.seal(key)
    }
    await expectError(.kmsInvalidStateException, messageContains: "pending replica deletion") {
      try await east.engine.scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: key))
    }
    await expectError(.kmsInvalidStateException) {
      try await east.engine.replicateKey(ReplicateKeyRequest(keyId: key, replicaRegion: "us-west-2"))
    }
    // CancelKeyDeletion works on it (the key comes back Disabled); then it is scheduled again.
    _ = try await east.engine.cancelKeyDeletion(CancelKeyDeletionRequest(keyId: key))
    #expect(try await east.engine.state(key) == .disabled)
    _ = try await east.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: key, pendingWindowInDays: 7))
    // Waiting for replicas is not a due date: time alone does not delete the primary.
    try await advance(east.clock, east.engine, by: 60 * 86_400)
    #expect(try await east.engine.state(key) == .pendingReplicaDeletion)

    // Deleting one replica takes it off every remaining copy's replica list.
    _ = try await west.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: key, pendingWindowInDays: 7))
    #expect(try await Self.replicaRegions(east.engine, key) == ["ap-south-1", "eu-west-1"])
    try await advance(west.clock, west.engine, by: 7 * 86_400)
    await expectError(.notFoundException) {
      try await west.engine.describeKey(DescribeKeyRequest(keyId: key))
    }
    #expect(try await Self.replicaRegions(east.engine, key) == ["ap-south-1"])
    #expect(try await Self.replicaRegions(south.engine, key) == ["ap-south-1"])
    #expect(try await east.engine.state(key) == .pendingReplicaDeletion)

    // The last replica gone, the primary's waiting period starts.
    _ = try await south.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: key, pendingWindowInDays: 10))
    try await advance(south.clock, south.engine, by: 10 * 86_400)
    let primary = try #require(try await east.engine.describeKey(DescribeKeyRequest(keyId: key)).keyMetadata)
    #expect(primary.keyState == .pendingDeletion)
    #expect(primary.deletionDate == south.clock.now() + 7 * 86_400)
    #expect(primary.pendingDeletionWindowInDays == nil)
    #expect(primary.multiRegionConfiguration?.replicaKeys == [])
    try await advance(east.clock, east.engine, by: 7 * 86_400)
    await expectError(.notFoundException) {
      try await east.engine.describeKey(DescribeKeyRequest(keyId: key))
    }
  }

  @Test func multiRegionStateRollsBackOnAFailedSaveAndSurvivesARestart() async throws {
    let (east, west, _) = try await Self.regions()
    let key = try await east.engine.newKey(multiRegion: true)
    let observeEast = { (e: KeyStoreEngine) in try await view(e, key) }
    // The replica's Region cannot save: no replica, and the primary lists none.
    let westKeys = try await west.engine.listKeys(ListKeysRequest()).keys ?? []
    west.saved.failNext.withLock { $0 = true }
    await expectError(.kmsInternalException) {
      try await east.engine.replicateKey(ReplicateKeyRequest(keyId: key, replicaRegion: "eu-west-1"))
    }
    #expect(try await west.engine.listKeys(ListKeysRequest()).keys ?? [] == westKeys)
    #expect(try await Self.replicaRegions(east.engine, key) == [])

    _ = try await east.engine.replicateKey(ReplicateKeyRequest(keyId: key, replicaRegion: "eu-west-1"))
    try await east.expectFailedSaveChangesNothing("ScheduleKeyDeletion of a primary", observe: observeEast) {
      _ = try await east.engine.scheduleKeyDeletion(
        ScheduleKeyDeletionRequest(keyId: key, pendingWindowInDays: 7))
    }
    _ = try await east.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: key, pendingWindowInDays: 7))
    try await east.expectRestartKeeps("PendingReplicaDeletion", observe: observeEast)
    try await west.expectRestartKeeps("replica", observe: { e in try await view(e, key) })
    #expect(try await east.restarted().state(key) == .pendingReplicaDeletion)
    #expect(
      try await west.restarted().describeKey(DescribeKeyRequest(keyId: key)).keyMetadata?
        .multiRegionConfiguration?.multiRegionKeyType == .replica)

    // The primary cannot save the replica's deletion: the notice is kept and delivered later.
    _ = try await west.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: key, pendingWindowInDays: 7))
    west.clock.advance(by: 7 * 86_400)
    east.saved.failNext.withLock { $0 = true }
    try await west.engine.runDueWork()
    await expectError(.notFoundException) {
      try await west.engine.describeKey(DescribeKeyRequest(keyId: key))
    }
    #expect(try await east.engine.state(key) == .pendingReplicaDeletion)
    #expect(try await Self.replicaRegions(east.engine, key) == ["eu-west-1"])
    try await west.engine.runDueWork()  // the driver's next turn
    #expect(try await east.engine.state(key) == .pendingDeletion)
    #expect(try await Self.replicaRegions(east.engine, key) == [])
    try await east.expectRestartKeeps("the primary's deletion date", observe: observeEast)
  }
}

// MARK: - Reset

@Suite struct ResetTests {
  struct Fleet: Equatable {
    var stores: [CustomKeyStoresListEntry]
    var keys: [KeyListEntry]
    var aliases: [AliasListEntry]
    var clusters: [Cluster]
    var customStoreKeys: [KeyMetadata]
  }

  static func fleet(_ e: KeyStoreEngine) async throws -> Fleet {
    let snapshot = try await e.fleetSnapshot()
    return Fleet(
      stores: snapshot.stores, keys: try await e.listKeys(ListKeysRequest(limit: 1000)).keys ?? [],
      aliases: try await e.listAliases(ListAliasesRequest(limit: 100)).aliases ?? [],
      clusters: snapshot.clusters, customStoreKeys: snapshot.keys)
  }

  @Test func resetReturnsToTheScenarioAsAFreshStartHasIt() async throws {
    let f = try await SavedEngine()
    try await f.engine.load(.demo)
    let fresh = KeyStoreEngine(clock: f.clock)
    try await fresh.load(.demo)
    let seeded = try await Self.fleet(fresh)
    #expect(try await Self.fleet(f.engine) == seeded)

    let key = try await f.engine.newKey(
      spec: "RSA_2048", usage: "SIGN_VERIFY", tags: [KMSModel.Tag(tagKey: "a", tagValue: "b")])
    _ = try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/extra", targetKeyId: key))
    _ = try await f.engine.disconnectCustomKeyStore(
      DisconnectCustomKeyStoreRequest(customKeyStoreId: "cks-0de30000000000001"))
    try await f.engine.setFault(.networkErrors, enabled: true, clusterId: "cluster-sparefree6q")
    #expect(try await Self.fleet(f.engine) != seeded)

    let observe = { (e: KeyStoreEngine) in try await Self.fleet(e) }
    let changed = try await Self.fleet(f.engine)
    try await f.expectFailedSaveChangesNothing("Reset", observe: observe) {
      try await f.engine.reset(to: .demo)
    }
    #expect(try await f.engine.faults(clusterId: "cluster-sparefree6q") == [.networkErrors])

    // One save for the whole reset.
    let writes = f.saved.applied.withLock { $0 }
    try await f.engine.reset(to: .demo)
    #expect(f.saved.applied.withLock { $0 } == writes + 1)
    #expect(try await Self.fleet(f.engine) == seeded)
    #expect(try await Self.fleet(f.engine) != changed)
    #expect(try await f.engine.faults(clusterId: "cluster-sparefree6q") == [])
    await expectError(.notFoundException) { try await f.engine.describeKey(DescribeKeyRequest(keyId: key)) }
    try await f.expectRestartKeeps("the reset fleet", observe: observe)

    // The seeded CONNECTING store still finishes on the clock, as after a fresh start.
    try await advance(f.clock, f.engine, by: settleTime)
    try await advance(f.clock, fresh, by: settleTime)
    #expect(try await Self.fleet(f.engine) == Self.fleet(fresh))
  }

  @Test func aResetWhoseScenarioNoLongerLoadsChangesNothing() async throws {
    let f = try await SavedEngine()
    try await f.engine.load(.demo)
    let before = try await Self.fleet(f.engine)
    var broken = Scenario.demo
    broken.stores.append(broken.stores[0])  // the same store ID twice
    await expectError(.kmsInternalException, messageContains: "could not seed the scenario") {
      try await f.engine.reset(to: broken)
    }
    #expect(try await Self.fleet(f.engine) == before)
    #expect(try await Self.fleet(f.restarted()) == before)
  }
}

// MARK: - GetKeyLastUsage

@Suite struct KeyLastUsageTests {
  static func last(_ e: KeyStoreEngine, _ key: String) async throws -> GetKeyLastUsageResponse {
    try await e.getKeyLastUsage(GetKeyLastUsageRequest(keyId: key))
  }

  @Test func successfulCryptographicOperationsAreRecordedInMemoryFailuresAndDryRunsAreNot() async throws {
    let f = try await SavedEngine()
    let e = f.engine
    let started = f.clock.now()
    f.clock.advance(by: 60)
    let key = try await e.newKey()
    let created = try await e.describeKey(DescribeKeyRequest(keyId: key)).keyMetadata?.creationDate
    var answer = try await Self.last(e, key)
    #expect(answer.keyLastUsage == nil)
    #expect(answer.trackingStartDate == started)
    #expect(answer.keyCreationDate == created)
    #expect(answer.keyId?.hasSuffix(":key/\(key)") == true)

    // A DryRun and a failure use nothing.
    await expectError(.dryRunOperationException) {
      try await e.encrypt(EncryptRequest(keyId: key, plaintext: Data("x".utf8), dryRun: true))
    }
    await expectError(.invalidKeyUsageException) {
      try await e.encrypt(
        EncryptRequest(keyId: key, plaintext: Data("x".utf8), encryptionAlgorithm: "RSAES_OAEP_SHA_256"))
    }
    #expect(try await Self.last(e, key).keyLastUsage == nil)

    f.clock.advance(by: 5)
    let blob = try await e.seal(key)
    #expect(
      try await Self.last(e, key).keyLastUsage
        == KeyLastUsageData(operation: .encrypt, timestamp: f.clock.now()))
    f.clock.advance(by: 5)
    // The hot path (on the event loop, without the actor) records too.
    _ = try e.decryptNow(DecryptRequest(ciphertextBlob: blob))
    #expect(
      try await Self.last(e, key).keyLastUsage
        == KeyLastUsageData(operation: .decrypt, timestamp: f.clock.now()))

    let signing = try await e.newKey(spec: "ECC_NIST_P256", usage: "SIGN_VERIFY")
    f.clock.advance(by: 5)
    let signature = try #require(
      try await e.sign(
        SignRequest(keyId: signing, message: Data("m".utf8), signingAlgorithm: "ECDSA_SHA_256")
      )
      .signature)
    #expect(try await Self.last(e, signing).keyLastUsage?.operation == .sign)
    f.clock.advance(by: 5)
    await expectError(.kmsInvalidSignatureException) {
      try await e.verify(
        VerifyRequest(
          keyId: signing, message: Data("n".utf8), signature: signature, signingAlgorithm: "ECDSA_SHA_256"))
    }
    #expect(try await Self.last(e, signing).keyLastUsage?.operation == .sign)  // a failed Verify is no use
    _ = try await e.verify(
      VerifyRequest(
        keyId: signing, message: Data("m".utf8), signature: signature, signingAlgorithm: "ECDSA_SHA_256"))
    #expect(
      try await Self.last(e, signing).keyLastUsage
        == KeyLastUsageData(operation: .verify, timestamp: f.clock.now()))
    // Untouched keys stay unused; GetKeyLastUsage itself is no use.
    #expect(try await Self.last(e, key).keyLastUsage?.operation == .decrypt)

    // Reads never write: nothing was saved for any of it, and a restart begins a new tracking period.
    let reopened = try await f.restarted()
    answer = try await Self.last(reopened, key)
    #expect(answer.keyLastUsage == nil)
    #expect(answer.trackingStartDate == f.clock.now())
  }

  @Test func aResetStartsANewTrackingPeriod() async throws {
    let f = try await SavedEngine()
    let e = f.engine
    try await e.load(.demo)
    let key = try await e.newKey(spec: "HMAC_256", usage: "GENERATE_VERIFY_MAC")
    _ = try await e.generateMac(
      GenerateMacRequest(message: Data("m".utf8), keyId: key, macAlgorithm: "HMAC_SHA_256"))
    #expect(try await Self.last(e, key).keyLastUsage?.operation == .generateMac)
    f.clock.advance(by: 30)
    try await e.reset(to: .demo)
    let again = try await e.newKey(spec: "HMAC_256", usage: "GENERATE_VERIFY_MAC")
    #expect(again == key)  // a reset repeats the IDs of a fresh start: the old use must not show
    let answer = try await Self.last(e, again)
    #expect(answer.keyLastUsage == nil)
    #expect(answer.trackingStartDate == f.clock.now())
  }
}
