import Foundation
import HSMSimulator
import KMSModel
import KeyStoreEngine
import Testing

/// kms-spec §2.1, §2.2, §2.5, §5.1 and §5.3: the XKS rows the engine supports (uniqueness,
/// update rules, keys). The engine simulates no proxy, so proxy reachability rows are not covered.
@Suite struct ExternalKeyStoreTests {
  static let credential = XksProxyAuthenticationCredentialType(
    accessKeyId: "ABCDEFGHIJKLMNOPQRST", rawSecretAccessKey: "SecretKeyThatIsLongEnoughToPassTheModel1234/+=")

  func xksRequest(
    _ name: String, endpoint: String = "https://xks.example.com", path: String = "/kms/xks/v1",
    vpcService: String? = nil
  ) -> CreateCustomKeyStoreRequest {
    CreateCustomKeyStoreRequest(
      customKeyStoreName: name, customKeyStoreType: "EXTERNAL_KEY_STORE", xksProxyUriEndpoint: endpoint,
      xksProxyUriPath: path, xksProxyVpcEndpointServiceName: vpcService,
      xksProxyAuthenticationCredential: Self.credential,
      xksProxyConnectivity: vpcService == nil ? "PUBLIC_ENDPOINT" : "VPC_ENDPOINT_SERVICE")
  }

  func createXks(_ f: Fixture, _ request: CreateCustomKeyStoreRequest) async throws -> String {
    try #require(try await f.engine.createCustomKeyStore(request).customKeyStoreId)
  }

  @Test func publicStoreIsDescribedWithoutSecrets() async throws {
    let f = Fixture()
    let id = try await createXks(f, xksRequest("xks"))
    #expect(id.wholeMatch(of: storeIdPattern) != nil)
    let entry = try await f.entry(id)
    #expect(entry.customKeyStoreType == .externalKeyStore)
    #expect(entry.connectionState == .disconnected)
    #expect(entry.cloudHsmClusterId == nil)
    #expect(entry.trustAnchorCertificate == nil)
    let configuration = try #require(entry.xksProxyConfiguration)
    #expect(configuration.connectivity == .publicEndpoint)
    #expect(configuration.accessKeyId == Self.credential.accessKeyId)
    #expect(configuration.uriEndpoint == "https://xks.example.com")
    #expect(configuration.uriPath == "/kms/xks/v1")
    #expect(configuration.vpcEndpointServiceName == nil)
    #expect(configuration.vpcEndpointServiceOwner == nil)
    let json = String(decoding: try WireJSON.encoder().encode(entry), as: UTF8.self)
    #expect(!json.contains(Self.credential.rawSecretAccessKey))
    #expect(!json.contains("RawSecretAccessKey"))
  }

  @Test func vpcStoreOwnerDefaultsToTheAccount() async throws {
    let f = Fixture()
    let id = try await createXks(
      f, xksRequest("vpc", vpcService: "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"))
    let configuration = try #require(try await f.entry(id).xksProxyConfiguration)
    #expect(configuration.connectivity == .vpcEndpointService)
    #expect(configuration.vpcEndpointServiceName == "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0")
    #expect(configuration.vpcEndpointServiceOwner == "111122223333")
  }

  @Test func missingOrForeignMembersAreValidationException() async throws {
    let f = Fixture()
    var missing = xksRequest("x")
    missing.xksProxyUriPath = nil
    await expectError(.validationException) { try await f.engine.createCustomKeyStore(missing) }
    var withCloudHsm = xksRequest("x")
    withCloudHsm.keyStorePassword = demoPassword
    await expectError(.validationException) { try await f.engine.createCustomKeyStore(withCloudHsm) }
    let cluster = try await f.cluster()
    var cloudHsmWithXks = CreateCustomKeyStoreRequest(
      customKeyStoreName: "c", cloudHsmClusterId: cluster, trustAnchorCertificate: trustAnchorA,
      keyStorePassword: demoPassword)
    cloudHsmWithXks.xksProxyUriPath = "/kms/xks/v1"
    await expectError(.validationException) { try await f.engine.createCustomKeyStore(cloudHsmWithXks) }
    #expect(try await f.allStores().isEmpty)
  }

  @Test func uriInUse() async throws {
    let f = Fixture()
    _ = try await createXks(f, xksRequest("a"))
    await expectError(.xksProxyUriInUseException) { try await createXks(f, xksRequest("b")) }
    // Same public endpoint, another path: allowed.
    _ = try await createXks(f, xksRequest("c", path: "/tenant-2/kms/xks/v1"))
  }

  @Test func endpointOfAVpcStoreIsInUse() async throws {
    let f = Fixture()
    _ = try await createXks(
      f,
      xksRequest(
        "vpc", endpoint: "https://private.example.com",
        vpcService: "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"))
    await expectError(.xksProxyUriEndpointInUseException) {
      try await createXks(
        f, xksRequest("public", endpoint: "https://private.example.com", path: "/other/kms/xks/v1"))
    }
  }

  @Test func vpcEndpointServiceInUse() async throws {
    let f = Fixture()
    let service = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
    _ = try await createXks(f, xksRequest("a", endpoint: "https://a.example.com", vpcService: service))
    await expectError(.xksProxyVpcEndpointServiceInUseException) {
      try await createXks(f, xksRequest("b", endpoint: "https://b.example.com", vpcService: service))
    }
  }

  @Test func nameAndQuotaApplyAcrossTypes() async throws {
    let f = Fixture(storeQuota: 2)
    _ = try await f.newStore("shared")
    await expectError(.customKeyStoreNameInUseException) { try await createXks(f, xksRequest("shared")) }
    _ = try await createXks(f, xksRequest("xks"))
    await expectError(.limitExceededException) {
      try await createXks(f, xksRequest("third", endpoint: "https://third.example.com"))
    }
  }

  @Test func connectDisconnect() async throws {
    let f = Fixture()
    let id = try await createXks(f, xksRequest("x"))
    try await f.connect(id)
    try await f.expectState(id, .connecting)
    try await f.settle()
    try await f.expectState(id, .connected)
    try await f.disconnectAndSettle(id)
  }

  @Test func updateRules() async throws {
    let f = Fixture()
    let id = try await createXks(f, xksRequest("x"))
    try await f.connectAndSettle(id)
    // Path, credential and name: CONNECTED or DISCONNECTED.
    try await f.update(
      UpdateCustomKeyStoreRequest(customKeyStoreId: id, xksProxyUriPath: "/v2path/kms/xks/v2"))
    try await f.update(
      UpdateCustomKeyStoreRequest(customKeyStoreId: id, xksProxyAuthenticationCredential: Self.credential))
    try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: id, newCustomKeyStoreName: "renamed"))
    #expect(try await f.entry(id).xksProxyConfiguration?.uriPath == "/v2path/kms/xks/v2")
    // Endpoint and connectivity: DISCONNECTED only.
    await expectError(.customKeyStoreInvalidStateException) {
      try await f.update(
        UpdateCustomKeyStoreRequest(customKeyStoreId: id, xksProxyUriEndpoint: "https://new.example.com"))
    }
    await expectError(.customKeyStoreInvalidStateException) {
      try await f.update(
        UpdateCustomKeyStoreRequest(customKeyStoreId: id, xksProxyConnectivity: "PUBLIC_ENDPOINT"))
    }
    // CloudHSM members on an XKS store.
    await expectError(.validationException) {
      try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: id, keyStorePassword: demoPassword))
    }
    try await f.disconnectAndSettle(id)
    try await f.update(
      UpdateCustomKeyStoreRequest(customKeyStoreId: id, xksProxyUriEndpoint: "https://new.example.com"))
    #expect(try await f.entry(id).xksProxyConfiguration?.uriEndpoint == "https://new.example.com")
  }

  @Test func xksMembersOnACloudHsmStore() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    await expectError(.validationException) {
      try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, xksProxyUriPath: "/kms/xks/v1"))
    }
  }

  @Test func keysInAnExternalStore() async throws {
    let f = Fixture()
    let id = try await createXks(f, xksRequest("x"))
    try await f.connectAndSettle(id)
    let response = try await f.engine.createKey(
      CreateKeyRequest(origin: "EXTERNAL_KEY_STORE", customKeyStoreId: id, xksKeyId: "external-key-1"))
    let key = try #require(response.keyMetadata)
    #expect(key.origin == .externalKeyStore)
    #expect(key.customKeyStoreId == id)
    #expect(key.cloudHsmClusterId == nil)
    #expect(key.xksKeyConfiguration?.id == "external-key-1")
    #expect(key.keyState == .enabled)
    await expectError(.xksKeyAlreadyInUseException) {
      try await f.engine.createKey(
        CreateKeyRequest(origin: "EXTERNAL_KEY_STORE", customKeyStoreId: id, xksKeyId: "external-key-1"))
    }
    await expectError(.validationException) {
      try await f.engine.createKey(CreateKeyRequest(origin: "EXTERNAL_KEY_STORE", customKeyStoreId: id))
    }
    await expectError(.unsupportedOperationException) {
      try await f.engine.createKey(
        CreateKeyRequest(origin: "AWS_CLOUDHSM", customKeyStoreId: id, xksKeyId: "k2"))
    }
    let blob = try await f.encrypt(key.keyId, "external")
    #expect(try await f.decrypt(blob).plaintext == Data("external".utf8))
    try await f.disconnect(id)
    #expect(try await f.keyState(key.keyId) == .unavailable)
    await expectError(.kmsInvalidStateException) { try await f.encrypt(key.keyId) }
  }

  @Test func xksKeyIdOnACloudHsmStoreIsRefused() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    await expectError(.unsupportedOperationException) {
      try await f.engine.createKey(
        CreateKeyRequest(origin: "AWS_CLOUDHSM", customKeyStoreId: store, xksKeyId: "k"))
    }
  }

  @Test func generateRandomIsUnsupportedForExternalStores() async throws {
    let f = Fixture()
    let id = try await createXks(f, xksRequest("x"))
    try await f.connectAndSettle(id)
    await expectError(.unsupportedOperationException) {
      try await f.engine.generateRandom(GenerateRandomRequest(numberOfBytes: 16, customKeyStoreId: id))
    }
  }

  @Test func xksStoreCannotBeDeletedWithKeys() async throws {
    let f = Fixture()
    let id = try await createXks(f, xksRequest("x"))
    try await f.connectAndSettle(id)
    _ = try await f.engine.createKey(
      CreateKeyRequest(origin: "EXTERNAL_KEY_STORE", customKeyStoreId: id, xksKeyId: "e1"))
    try await f.disconnectAndSettle(id)
    await expectError(.customKeyStoreHasCMKsException) { try await f.delete(id) }
  }
}
