import Foundation
import HTTPTypes
import KMSModel
import KeyStoreEngine
import Logging
import NIOCore
import Synchronization
import Testing

@testable import KMSServer

/// Issue 9: an empty or blank identifier sent on the wire is answered in AWS's words and never
/// reaches a backend. The engine's external key store talks to a proxy that records every call
/// naming an external key; a valid request is the control that it is reached at all.
@Suite struct IdentifierWireTests {
  /// An XKS proxy that is healthy, knows every key as an enabled AES_256 key, and records the
  /// external key ID of each call that names one.
  final class RecordingProxy: XKSProxyCalling {
    let keyCalls = Mutex<[String]>([])

    func getHealthStatus(_ target: XKSProxyTarget, metadata: XKSRequestMetadata) async throws(XKSCallFailure)
      -> XKSHealthResponse
    {
      XKSHealthResponse(
        xksProxyFleetSize: 1, xksProxyVendor: "test", xksProxyModel: "recording", ekmVendor: "test",
        ekmFleetDetails: [XKSEkmFleetMember(id: "ekm-1", model: "test", healthStatus: "ACTIVE")])
    }

    func getKeyMetadata(_ target: XKSProxyTarget, keyId: XKSKeyID, metadata: XKSRequestMetadata)
      async throws(XKSCallFailure) -> XKSKeyMetadataResponse
    {
      keyCalls.withLock { $0.append("metadata \(keyId)") }
      return XKSKeyMetadataResponse(
        keySpec: "AES_256", keyUsage: ["ENCRYPT", "DECRYPT"], keyStatus: "ENABLED")
    }

    func encrypt(_ target: XKSProxyTarget, keyId: XKSKeyID, request: XKSEncryptRequest)
      async throws(XKSCallFailure) -> XKSEncryptResponse
    {
      keyCalls.withLock { $0.append("encrypt \(keyId)") }
      throw .timedOut
    }

    func decrypt(_ target: XKSProxyTarget, keyId: XKSKeyID, request: XKSDecryptRequest)
      async throws(XKSCallFailure) -> XKSDecryptResponse
    {
      keyCalls.withLock { $0.append("decrypt \(keyId)") }
      throw .timedOut
    }
  }

  let proxy = RecordingProxy()
  let engine = KeyStoreEngine(configuration: EngineConfiguration(seed: 9))
  let handler: KMSRequestHandler

  init() {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    handler = KMSRequestHandler(
      options: KMSServerOptions(authentication: .disabled),
      backends: SingleBackendProvider(engine), logger: logger)
  }

  func send(_ operation: String, _ body: [String: Any]) async throws -> (status: Int, body: [String: Any]) {
    var fields = HTTPFields()
    fields.append(HTTPField(name: .contentType, value: "application/x-amz-json-1.1"))
    fields.append(HTTPField(name: HTTPField.Name("X-Amz-Target")!, value: "TrentService.\(operation)"))
    let data = try JSONSerialization.data(withJSONObject: body)
    let response = await handler.handle(
      method: "POST", path: "/", query: "", authority: "127.0.0.1", headers: fields,
      body: ByteBuffer(bytes: data))
    let object = try #require(
      JSONSerialization.jsonObject(with: Data(response.bodyText.utf8)) as? [String: Any],
      "\(response.bodyText)")
    return (response.status, object)
  }

  func expectError(
    _ operation: String, _ body: [String: Any], _ type: String, _ message: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) async throws {
    let answer = try await send(operation, body)
    #expect(answer.status == 400, sourceLocation: sourceLocation)
    #expect(answer.body["__type"] as? String == type, "\(answer.body)", sourceLocation: sourceLocation)
    #expect(answer.body["message"] as? String == message, sourceLocation: sourceLocation)
  }

  /// A CONNECTED external key store behind the recording proxy.
  func connectedStore() async throws -> String {
    await engine.useXKSProxy(proxy)
    let created = try await engine.createCustomKeyStore(
      CreateCustomKeyStoreRequest(
        customKeyStoreName: "recorded", customKeyStoreType: "EXTERNAL_KEY_STORE",
        xksProxyUriEndpoint: "https://xks.example.test", xksProxyUriPath: "/kms/xks/v1",
        xksProxyAuthenticationCredential: XksProxyAuthenticationCredentialType(
          accessKeyId: "ABCDEFGHIJKLMNOPQRST", rawSecretAccessKey: String(repeating: "s", count: 43)),
        xksProxyConnectivity: "PUBLIC_ENDPOINT"))
    let storeId = try #require(created.customKeyStoreId)
    _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: storeId))
    try await engine.completePendingTransitions()
    await engine.xksCallsSettled()
    let entry = try await engine.describeCustomKeyStores(
      DescribeCustomKeyStoresRequest(customKeyStoreId: storeId))
    try #require(entry.customKeyStores?.first?.connectionState == .connected, "\(entry)")
    return storeId
  }

  @Test func emptyAndBlankIdentifiersNeverReachTheProxy() async throws {
    let storeId = try await connectedStore()
    let lengthOne = "failed to satisfy constraint: Member must have length greater than or equal to 1"

    try await expectError(
      "Encrypt", ["KeyId": "", "Plaintext": "eA=="], "ValidationException",
      "1 validation error detected: Value '' at 'keyId' \(lengthOne)")
    try await expectError(
      "Encrypt", ["Plaintext": "eA=="], "ValidationException",
      "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    )
    try await expectError(
      "Encrypt", ["KeyId": "  ", "Plaintext": "eA=="], "NotFoundException", "Invalid keyId '  '")
    try await expectError(
      "Decrypt", ["KeyId": " ", "CiphertextBlob": "eA=="], "NotFoundException", "Invalid keyId ' '")
    try await expectError(
      "ConnectCustomKeyStore", ["CustomKeyStoreId": ""], "ValidationException",
      "1 validation error detected: Value '' at 'customKeyStoreId' \(lengthOne)")
    let blankStore = try await send("ConnectCustomKeyStore", ["CustomKeyStoreId": "\t"])
    #expect(blankStore.body["__type"] as? String == "CustomKeyStoreNotFoundException", "\(blankStore.body)")
    try await expectError(
      "CreateKey", ["Origin": "EXTERNAL_KEY_STORE", "CustomKeyStoreId": storeId, "XksKeyId": ""],
      "ValidationException",
      "2 validation errors detected: Value '' at 'xksKeyId' \(lengthOne); Value '' at 'xksKeyId' failed to "
        + "satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9-_.]+$")
    let blankKeyInStore = try await send(
      "CreateKey", ["Origin": "EXTERNAL_KEY_STORE", "CustomKeyStoreId": " ", "XksKeyId": "ext-1"])
    #expect(blankKeyInStore.body["__type"] as? String == "CustomKeyStoreNotFoundException")
    #expect(proxy.keyCalls.withLock { $0 } == [])

    // The control: a valid external key ID does reach the proxy, exactly as sent.
    let created = try await send(
      "CreateKey", ["Origin": "EXTERNAL_KEY_STORE", "CustomKeyStoreId": storeId, "XksKeyId": "ext-1"])
    #expect(created.status == 200, "\(created.body)")
    #expect(proxy.keyCalls.withLock { $0 } == ["metadata ext-1"])
  }
}
