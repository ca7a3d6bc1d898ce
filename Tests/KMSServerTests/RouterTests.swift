import AWSSigV4
import Foundation
import HTTPTypes
import KMSModel
import Logging
import NIOCore
import Testing

@testable import KMSServer

/// In-process tests of the AWS JSON 1.1 front door: no socket, a fake backend.
@Suite struct RouterTests {
  static let credentials = AWSCredentials(
    accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
  static let now = AmzDate.parse("20240102T030405Z")!

  let backend = FakeBackend()
  let provider: RecordingProvider
  let handler: KMSRequestHandler
  let openHandler: KMSRequestHandler

  init() {
    provider = RecordingProvider(backend)
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    handler = KMSRequestHandler(
      options: KMSServerOptions(
        authentication: .sigV4(SigV4Verifier(credentials: [Self.credentials])), now: { Self.now }),
      backends: provider, logger: logger)
    openHandler = KMSRequestHandler(
      options: KMSServerOptions(authentication: .disabled, defaultRegion: "eu-central-1"),
      backends: provider, logger: logger)
  }

  /// Sends a request signed like botocore (unless `sign` is false).
  func send(
    _ target: String?, _ body: String, region: String = "us-east-1", service: String = "kms",
    sign: Bool = true, method: String = "POST", path: String = "/",
    contentType: String? = "application/x-amz-json-1.1", via: KMSRequestHandler? = nil,
    bodyTooLarge: Bool = false
  ) async -> WireResponse {
    var headers: [(name: String, value: String)] = []
    if let contentType { headers.append((name: "Content-Type", value: contentType)) }
    if let target { headers.append((name: "X-Amz-Target", value: target)) }
    if sign {
      headers = SigV4Signer(credentials: Self.credentials, region: region, service: service).sign(
        method: method, host: "127.0.0.1:4599", headers: headers, body: Array(body.utf8), date: Self.now
      ).headers.filter { $0.name != "Host" }
    }
    var fields = HTTPFields()
    for header in headers {
      fields.append(HTTPField(name: HTTPField.Name(header.name)!, value: header.value))
    }
    return await (via ?? handler).handle(
      method: method, path: path, query: "", authority: "127.0.0.1:4599", headers: fields,
      body: bodyTooLarge ? nil : ByteBuffer(string: body))
  }

  func json(_ response: WireResponse) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(response.bodyText.utf8)) as? [String: Any])
  }

  func expectError(
    _ response: WireResponse, _ type: String, status: Int = 400, messageKey: String = "message",
    contains fragment: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    #expect(response.status == status, sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/x-amz-json-1.1", sourceLocation: sourceLocation)
    #expect(response.headers[HTTPField.Name("x-amzn-RequestId")!] != nil, sourceLocation: sourceLocation)
    let body = try json(response)
    #expect(body["__type"] as? String == type, "\(response.bodyText)", sourceLocation: sourceLocation)
    let message = body[messageKey] as? String
    #expect(message != nil, "\(response.bodyText)", sourceLocation: sourceLocation)
    if let fragment {
      #expect(message?.contains(fragment) == true, "\(response.bodyText)", sourceLocation: sourceLocation)
    }
  }

  @Test func signedRequestReachesTheBackendWithTheScopeRegion() async throws {
    let response = await send("TrentService.DescribeCustomKeyStores", "{}", region: "eu-west-3")
    #expect(response.status == 200)
    #expect(response.headers[.contentType] == "application/x-amz-json-1.1")
    let requestId = try #require(response.headers[HTTPField.Name("x-amzn-RequestId")!])
    #expect(UUID(uuidString: requestId) != nil)
    let body = try json(response)
    let stores = try #require(body["CustomKeyStores"] as? [[String: Any]])
    #expect(stores.first?["CustomKeyStoreId"] as? String == "cks-1234567890abcdef0")
    #expect(stores.first?["CreationDate"] as? Double == 1_499_288_695.918)
    #expect(body["Truncated"] as? Bool == false)
    #expect(body["NextMarker"] == nil, "absent members are left out, not null")
    #expect(provider.regions == ["eu-west-3"])
  }

  @Test func emptyOutputIsAnEmptyObjectAndEmptyBodyIsAccepted() async throws {
    let response = await send("TrentService.ConnectCustomKeyStore", #"{"CustomKeyStoreId":"cks-1"}"#)
    #expect(response.status == 200)
    #expect(response.bodyText == "{}")
    let list = await send("TrentService.ListKeys", "")
    #expect(list.status == 200)
  }

  @Test func blobsAreBase64() async throws {
    let response = await send(
      "TrentService.Encrypt", #"{"KeyId":"alias/x","Plaintext":"aGVsbG8="}"#)
    #expect(response.status == 200)
    #expect(try json(response)["CiphertextBlob"] as? String == Data("olleh".utf8).base64EncodedString())
    let bad = await send("TrentService.Encrypt", #"{"KeyId":"alias/x","Plaintext":"not base64!"}"#)
    try expectError(bad, "SerializationException", contains: "Plaintext")
  }

  @Test func everyImplementedOperationIsRouted() async throws {
    #expect(
      Set(KMSOperation.allCases.map { "TrentService.\($0.rawValue)" }).isSubset(of: Set(operationTable.keys)))
    #expect(
      Set(CloudHSMOperation.allCases.map { "BaldrApiService.\($0.rawValue)" }).isSubset(
        of: Set(operationTable.keys)))
    #expect(
      Set(SimulatorOperation.allCases.map { "KmsdashSimulator.\($0.rawValue)" }).isSubset(
        of: Set(operationTable.keys)))
  }

  @Test func unknownOperations() async throws {
    try expectError(await send("TrentService.Frobnicate", "{}"), "UnknownOperationException")
    try expectError(await send("SomethingElse.DescribeKey", "{}"), "UnknownOperationException")
    try expectError(await send(nil, "{}"), "UnknownOperationException")
  }

  @Test func malformedJSONAndWrongTypesAreSerializationExceptions() async throws {
    let target = "TrentService.DescribeCustomKeyStores"
    try expectError(await send(target, "{not json"), "SerializationException")
    try expectError(await send(target, "[]"), "SerializationException")
    try expectError(await send(target, "\"x\""), "SerializationException")
    try expectError(await send(target, #"{"Limit":"ten"}"#), "SerializationException", contains: "Limit")
    try expectError(await send(target, #"{"CustomKeyStoreId":5}"#), "SerializationException")
    try expectError(
      await send("TrentService.Encrypt", #"{"KeyId":"k","Plaintext":"aGk=","EncryptionContext":[1]}"#),
      "SerializationException")
  }

  /// Foundation's decoder would accept these; AWS does not.
  @Test func trailingCommasAndDuplicateMembersAreSerializationExceptions() async throws {
    let target = "TrentService.DescribeCustomKeyStores"
    try expectError(
      await send(target, #"{"Limit":5,}"#), "SerializationException", contains: "not valid JSON")
    try expectError(
      await send(target, #"{"Limit":5,"Limit":6}"#), "SerializationException", contains: "duplicate")
    try expectError(
      await send(target, #"{"Limit":5,"\u004cimit":6}"#), "SerializationException", contains: "duplicate")
    try expectError(
      await send("TrentService.CreateKey", #"{"Tags":[{"TagKey":"a","TagValue":"b"},]}"#),
      "SerializationException")
    try expectError(await send(target, #"{"Limit":05}"#), "SerializationException")
    try expectError(await send(target, #"{"Limit":5} x"#), "SerializationException")
    try expectError(await send(target, String(repeating: "[", count: 100_000)), "SerializationException")
    // Still fine: whitespace, escapes, nested values and an empty body.
    let ok = await send(target, " {\n\t\"Limit\" : 5 , \"Marker\":null } ")
    #expect(ok.status == 200, "\(ok.bodyText)")
  }

  @Test func validationExceptionsUseAWSWording() async throws {
    let missing = await send("TrentService.DisconnectCustomKeyStore", "{}")
    try expectError(missing, "ValidationException")
    #expect(
      try json(missing)["message"] as? String
        == "1 validation error detected: Value null at 'customKeyStoreId' failed to satisfy constraint: "
        + "Member must not be null")
    let empty = await send("TrentService.DisconnectCustomKeyStore", #"{"CustomKeyStoreId":""}"#)
    #expect(
      try json(empty)["message"] as? String
        == "1 validation error detected: Value '' at 'customKeyStoreId' failed to satisfy constraint: "
        + "Member must have length greater than or equal to 1")
    let long = String(repeating: "a", count: 65)
    let tooLong = await send("TrentService.DisconnectCustomKeyStore", #"{"CustomKeyStoreId":"\#(long)"}"#)
    #expect(
      try json(tooLong)["message"] as? String
        == "1 validation error detected: Value '\(long)' at 'customKeyStoreId' failed to satisfy constraint: "
        + "Member must have length less than or equal to 64")
    let calls = await backend.calls
    #expect(calls.isEmpty, "invalid requests never reach the backend")
  }

  @Test func transportErrorsAreAWSShaped() async throws {
    try expectError(
      await send("TrentService.ListKeys", "{}", method: "GET"), "MethodNotAllowedException", status: 405)
    try expectError(
      await send("TrentService.ListKeys", "{}", path: "/index.html"), "UnknownOperationException", status: 404
    )
    try expectError(
      await send("TrentService.ListKeys", "{}", contentType: "text/html"), "UnsupportedMediaTypeException",
      status: 415)
    try expectError(
      await send("TrentService.ListKeys", "{}", contentType: nil), "UnsupportedMediaTypeException",
      status: 415)
    try expectError(
      await send("TrentService.ListKeys", "{}", bodyTooLarge: true), "RequestEntityTooLargeException",
      status: 413)
    #expect(
      await send("TrentService.ListKeys", "{}", contentType: "application/x-amz-json-1.1; charset=utf-8")
        .status
        == 200)
  }

  @Test func authenticationErrors() async throws {
    try expectError(
      await send("TrentService.ListKeys", "{}", sign: false), "MissingAuthenticationTokenException")
    try expectError(
      await send("BaldrApiService.DescribeClusters", "{}", service: "kms"), "InvalidSignatureException",
      messageKey: "Message", contains: "'cloudhsm'")
    #expect(await send("BaldrApiService.DescribeClusters", "{}", service: "cloudhsm").status == 200)
    #expect(await send("KmsdashSimulator.ListFaults", #"{"ClusterId":"c"}"#, service: "kms").status == 200)
    let calls = await backend.calls
    #expect(!calls.contains("ListKeys"))
  }

  @Test func noAuthUsesTheScopeRegionOrTheDefault() async throws {
    #expect(await send("TrentService.ListKeys", "{}", sign: false, via: openHandler).status == 200)
    #expect(await send("TrentService.ListKeys", "{}", region: "sa-east-1", via: openHandler).status == 200)
    #expect(provider.regions == ["eu-central-1", "sa-east-1"])
  }

  @Test func backendErrorsKeepTheirNameAndStatus() async throws {
    let cases: [(KMSErrorCode, Int)] = [
      (.customKeyStoreInvalidStateException, 400), (.notFoundException, 400),
      (.kmsInvalidStateException, 400),
      (.kmsInternalException, 500), (.keyUnavailableException, 500), (.dependencyTimeoutException, 503),
    ]
    for (code, status) in cases {
      await backend.fail(with: KMSError(code, "text for \(code)"))
      let response = await send("TrentService.DisconnectCustomKeyStore", #"{"CustomKeyStoreId":"cks-1"}"#)
      try expectError(response, code.rawValue, status: status, contains: "text for")
    }
    struct Oops: Error {}
    await backend.fail(with: Oops())
    try expectError(await send("TrentService.ListKeys", "{}"), "KMSInternalException", status: 500)
  }

  @Test func cloudHSMErrorsUseCapitalMessage() async throws {
    await backend.fail(with: KMSError(.cloudHsmResourceNotFoundException, "no such cluster"))
    let response = await send(
      "BaldrApiService.CreateHsm", #"{"ClusterId":"cluster-234abcdefABC","AvailabilityZone":"us-east-1a"}"#,
      service: "cloudhsm")
    try expectError(response, "CloudHsmResourceNotFoundException", messageKey: "Message")
    let ok = await send("BaldrApiService.DescribeClusters", #"{"MaxResults":5}"#, service: "cloudhsm")
    #expect(ok.status == 200)
    #expect(ok.bodyText.contains("cluster-234abcdefABC"))
  }

  @Test func faultTarget() async throws {
    let set = await send(
      "KmsdashSimulator.SetFault", #"{"ClusterId":"cluster-a","Fault":"KMSUSER_LOCKED_OUT"}"#)
    #expect(set.status == 200)
    #expect(try json(set)["Faults"] as? [String] == ["KMSUSER_LOCKED_OUT"])
    let list = await send("KmsdashSimulator.ListFaults", #"{"ClusterId":"cluster-a"}"#)
    #expect(try (json(list)["AvailableFaults"] as? [Any])?.count == SimulatorFault.allCases.count)
    let clear = await send(
      "KmsdashSimulator.ClearFault", #"{"ClusterId":"cluster-a","Fault":"KMSUSER_LOCKED_OUT"}"#)
    #expect(try json(clear)["Faults"] as? [String] == [])
    let bad = await send("KmsdashSimulator.SetFault", #"{"ClusterId":"cluster-a","Fault":"GREMLINS"}"#)
    try expectError(
      bad, "ValidationException", contains: "Member must satisfy enum value set: [CLUSTER_NOT_ACTIVE")
    let predict = await send("KmsdashSimulator.PredictConnectOutcome", #"{"CustomKeyStoreId":"cks-1"}"#)
    #expect(try json(predict)["Outcome"] as? String == "FAILED")
    #expect(try json(predict)["ConnectionErrorCode"] as? String == "USER_LOCKED_OUT")
  }

  @Test func jsonStringEscaping() {
    #expect(jsonString("a\"b\\c\n\u{1}") == #""a\"b\\c\n\u0001""#)
  }
}
