import Foundation
import HSMSimulator
import KMSModel
import KeyStoreEngine
import Testing

/// Every invalid request is an AWS error, never a crash: through the engine's own entry points.
@Suite struct BadInputTests {
  @Test func emptyStoreIdIsValidationExceptionWithTheAWSText() async throws {
    let f = Fixture()
    let text =
      "1 validation error detected: Value '' at 'customKeyStoreId' failed to satisfy constraint: "
      + "Member must have length greater than or equal to 1"
    await expectError(.validationException, message: text) { try await f.connect("") }
    await expectError(.validationException, message: text) { try await f.disconnect("") }
    await expectError(.validationException, message: text) { try await f.delete("") }
    await expectError(.validationException, message: text) {
      try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: "", newCustomKeyStoreName: "x"))
    }
    await expectError(.validationException, message: text) {
      try await f.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(customKeyStoreId: ""))
    }
  }

  @Test func oversizeStoreId() async throws {
    let f = Fixture()
    let id = String(repeating: "c", count: 65)
    await expectError(
      .validationException,
      message:
        "1 validation error detected: Value '\(id)' at 'customKeyStoreId' failed to satisfy constraint: "
        + "Member must have length less than or equal to 64"
    ) { try await f.connect(id) }
  }

  @Test func createWithBadMembers() async throws {
    let f = Fixture()
    let cluster = try await f.cluster()
    let cases: [(CreateCustomKeyStoreRequest, String)] = [
      (
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "", cloudHsmClusterId: cluster, trustAnchorCertificate: trustAnchorA,
          keyStorePassword: demoPassword),
        "1 validation error detected: Value '' at 'customKeyStoreName' failed to satisfy constraint: "
          + "Member must have length greater than or equal to 1"
      ),
      (
        CreateCustomKeyStoreRequest(
          customKeyStoreName: String(repeating: "n", count: 257), cloudHsmClusterId: cluster,
          trustAnchorCertificate: trustAnchorA, keyStorePassword: demoPassword),
        "Member must have length less than or equal to 256"
      ),
      (
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "s", cloudHsmClusterId: "cluster-1a23b4cdefg",
          trustAnchorCertificate: trustAnchorA,
          keyStorePassword: demoPassword),
        "1 validation error detected: Value 'cluster-1a23b4cdefg' at 'cloudHsmClusterId' failed to satisfy "
          + "constraint: Member must satisfy regular expression pattern: cluster-[2-7a-zA-Z]{11,16}"
      ),
      (
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "s", cloudHsmClusterId: cluster, trustAnchorCertificate: trustAnchorA,
          keyStorePassword: "short"),
        "1 validation error detected: Value at 'keyStorePassword' failed to satisfy constraint: "
          + "Member must have length greater than or equal to 7"
      ),
      (
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "s", cloudHsmClusterId: cluster, trustAnchorCertificate: trustAnchorA,
          keyStorePassword: demoPassword, customKeyStoreType: "CLOUDHSM"),
        "1 validation error detected: Value 'CLOUDHSM' at 'customKeyStoreType' failed to satisfy constraint: "
          + "Member must satisfy enum value set: [AWS_CLOUDHSM, EXTERNAL_KEY_STORE]"
      ),
      (
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "s", cloudHsmClusterId: cluster,
          trustAnchorCertificate: String(repeating: "a", count: 5001), keyStorePassword: demoPassword),
        "Member must have length less than or equal to 5000"
      ),
    ]
    for (request, text) in cases {
      await expectError(.validationException, messageContains: text) {
        try await f.engine.createCustomKeyStore(request)
      }
    }
    #expect(try await f.allStores().isEmpty)
  }

  @Test func describeBadLimitAndMarker() async throws {
    let f = Fixture()
    await expectError(
      .validationException,
      message: "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
        + "Member must have value greater than or equal to 1"
    ) { try await f.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(limit: 0)) }
    await expectError(.validationException) {
      try await f.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(limit: 1001))
    }
    await expectError(.validationException) {
      try await f.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(marker: ""))
    }
    await expectError(.validationException) {
      try await f.engine.listKeys(ListKeysRequest(limit: 0))
    }
  }

  @Test func updateWithBadMembers() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    await expectError(.validationException, messageContains: "'newCustomKeyStoreName'") {
      try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, newCustomKeyStoreName: ""))
    }
    await expectError(.validationException, messageContains: "Value at 'keyStorePassword'") {
      try await f.update(
        UpdateCustomKeyStoreRequest(
          customKeyStoreId: store, keyStorePassword: String(repeating: "p", count: 33)))
    }
    await expectError(.validationException, messageContains: "'cloudHsmClusterId'") {
      try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, cloudHsmClusterId: "cluster-x"))
    }
    #expect(try await f.entry(store).customKeyStoreName == "store")
  }

  @Test func keyRequestsWithBadMembers() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    await expectError(
      .validationException,
      message: "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: "
        + "Member must have length greater than or equal to 1"
    ) { try await f.engine.describeKey(DescribeKeyRequest(keyId: "")) }
    await expectError(.validationException) { try await f.engine.enableKey(EnableKeyRequest(keyId: "")) }
    await expectError(.validationException) {
      try await f.engine.createKey(
        CreateKeyRequest(keyUsage: "ENCRYPT", origin: "AWS_CLOUDHSM", customKeyStoreId: store))
    }
    await expectError(.validationException) {
      try await f.engine.createKey(CreateKeyRequest(origin: "HSM", customKeyStoreId: store))
    }
    await expectError(.validationException) {
      try await f.engine.createKey(CreateKeyRequest(origin: "AWS_CLOUDHSM", customKeyStoreId: ""))
    }
    await expectError(.validationException, messageContains: "Value at 'plaintext'") {
      try await f.engine.encrypt(EncryptRequest(keyId: key.keyId, plaintext: Data()))
    }
    await expectError(.validationException) {
      try await f.engine.encrypt(EncryptRequest(keyId: key.keyId, plaintext: Data(count: 4097)))
    }
    await expectError(.validationException) {
      try await f.engine.decrypt(DecryptRequest(ciphertextBlob: Data()))
    }
    await expectError(.validationException) {
      try await f.engine.generateDataKey(GenerateDataKeyRequest(keyId: key.keyId, keySpec: "AES_512"))
    }
    await expectError(.validationException) {
      try await f.engine.generateDataKey(GenerateDataKeyRequest(keyId: key.keyId, numberOfBytes: 1025))
    }
    await expectError(.validationException) {
      try await f.engine.scheduleKeyDeletion(
        ScheduleKeyDeletionRequest(keyId: key.keyId, pendingWindowInDays: 0))
    }
    // Nothing changed.
    #expect(try await f.keyState(key.keyId) == .enabled)
  }

  @Test func unknownIdsEverywhere() async throws {
    let f = Fixture()
    let unknownStore = "cks-0123456789abcdef0"
    await expectError(.customKeyStoreNotFoundException) { try await f.connect(unknownStore) }
    await expectError(.customKeyStoreNotFoundException) { try await f.disconnect(unknownStore) }
    await expectError(.customKeyStoreNotFoundException) { try await f.delete(unknownStore) }
    await expectError(.customKeyStoreNotFoundException) {
      try await f.update(
        UpdateCustomKeyStoreRequest(customKeyStoreId: unknownStore, newCustomKeyStoreName: "n"))
    }
    await expectError(.customKeyStoreNotFoundException) { try await f.createKey(in: unknownStore) }
    await expectError(.customKeyStoreNotFoundException) {
      try await f.engine.predictConnectOutcome(customKeyStoreId: unknownStore)
    }
    // Not ID-shaped at all: still the AWS not-found error, not a crash.
    await expectError(.customKeyStoreNotFoundException) { try await f.connect("hello world") }
    await expectError(.notFoundException) { try await f.key("not-a-key") }
    await expectError(.notFoundException) { try await f.key("arn:aws:kms:us-east-1:111122223333:key/nope") }
  }

  @Test func simulatorControlsWithUnknownIds() async throws {
    let f = Fixture()
    let cluster = try await f.cluster()
    await expectError(.cloudHsmResourceNotFoundException) {
      try await f.engine.setFault(.networkErrors, enabled: true, clusterId: "cluster-zzzzzzzzzzz")
    }
    await expectError(.cloudHsmResourceNotFoundException) {
      try await f.engine.deleteHsm(DeleteHsmRequest(clusterId: cluster, hsmId: "hsm-zzzzzzzzzzz"))
    }
    await expectError(.cloudHsmResourceNotFoundException) {
      try await f.engine.setHsmFailed(clusterId: cluster, hsmId: "hsm-zzzzzzzzzzz", failed: true)
    }
    await expectError(.cloudHsmInvalidRequestException) {
      try await f.engine.createHsm(CreateHsmRequest(clusterId: cluster, availabilityZone: "eu-west-9z"))
    }
  }

  @Test func addClusterRejectsBadSpecs() async throws {
    let f = Fixture()
    let id = try await f.engine.addCluster(
      ClusterSpec(id: "cluster-abcdefghijk", trustAnchorPEM: trustAnchorA))
    #expect(id == "cluster-abcdefghijk")
    await expectError(.cloudHsmInvalidRequestException) {
      try await f.engine.addCluster(ClusterSpec(id: "cluster-abcdefghijk", trustAnchorPEM: trustAnchorA))
    }
    await expectError(.cloudHsmInvalidRequestException) {
      try await f.engine.addCluster(ClusterSpec(id: "cluster-1", trustAnchorPEM: trustAnchorA))
    }
    await expectError(.cloudHsmInvalidRequestException) {
      try await f.engine.addCluster(ClusterSpec(availabilityZones: [], trustAnchorPEM: trustAnchorA))
    }
  }

  @Test func hostileNamesAreStoredVerbatim() async throws {
    let f = Fixture()
    let name = "\u{1B}[31mred\u{07} \u{202E}evil 🔐"
    let cluster = try await f.cluster()
    let store = try await f.createStore(name, cluster: cluster)
    #expect(try await f.entry(store).customKeyStoreName == name)
  }
}
