import AWSSigV4
import Foundation
import KMSModel
import Testing

@testable import KMSClient

/// The SigV4 vectors (copied from `Tests/AWSSigV4Tests/Fixtures`), produced by botocore.
struct VectorFile: Decodable {
  struct Credentials: Decodable {
    var accessKeyId: String
    var secretAccessKey: String
  }
  struct Request: Decodable {
    var url: String
    var headers: [String: String]
    var body: String
  }
  struct Vector: Decodable {
    var name: String
    var request: Request
    var sessionToken: String?
    var signedHeaders: String
    var authorization: String
  }
  var credentials: Credentials
  var region: String
  var amzDate: String
  var vectors: [Vector]

  static func load() throws -> VectorFile {
    let url = try #require(
      Bundle.module.url(forResource: "sigv4-kms-vectors", withExtension: "json", subdirectory: "Fixtures"))
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(VectorFile.self, from: Data(contentsOf: url))
  }
}

@Suite struct SignerTests {
  @Test func reproducesEveryBotocoreVector() throws {
    let file = try VectorFile.load()
    let date = try #require(AmzDate.parse(file.amzDate))
    #expect(file.vectors.count >= 5)
    for vector in file.vectors {
      let target = try #require(vector.request.headers.first { $0.key.lowercased() == "x-amz-target" }?.value)
      let parts = target.split(separator: ".", maxSplits: 1).map(String.init)
      let service = try #require(KMSWireService(rawValue: parts[0]))
      let request = KMSWireRequest(
        service: service, operation: parts[1], body: Data(vector.request.body.utf8))
      let credentials = AWSCredentials(
        accessKeyId: file.credentials.accessKeyId, secretAccessKey: file.credentials.secretAccessKey,
        sessionToken: vector.sessionToken)
      let url = try #require(URL(string: vector.request.url))
      let signer = KMSRequestSigner(credentials: credentials, region: file.region)
      let headers = signer.headers(
        for: request, host: HTTPTransport.hostHeader(url), date: date, userAgent: "kmsdash/test")
      let authorization = headers.first { $0.name == "Authorization" }?.value
      #expect(authorization == vector.authorization, "\(vector.name)")
      #expect(headers.first { $0.name == "X-Amz-Target" }?.value == target)
      #expect(headers.first { $0.name == "Content-Type" }?.value == "application/x-amz-json-1.1")
      #expect(headers.first { $0.name == "X-Amz-Security-Token" }?.value == vector.sessionToken)
    }
  }

  @Test func cloudHSMIsSignedWithSigningNameCloudhsm() throws {
    let signer = KMSRequestSigner(
      credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"), region: "eu-west-1")
    let date = try #require(AmzDate.parse("20240102T030405Z"))
    let headers = signer.headers(
      for: KMSWireRequest(service: .cloudHSM, operation: "DescribeClusters", body: Data("{}".utf8)),
      host: "cloudhsmv2.eu-west-1.amazonaws.com", date: date)
    let authorization = try #require(headers.first { $0.name == "Authorization" }?.value)
    #expect(authorization.contains("Credential=AKID/20240102/eu-west-1/cloudhsm/aws4_request"))
    let simulator = signer.headers(
      for: KMSWireRequest(service: .simulator, operation: "ListFaults", body: Data("{}".utf8)), host: "h",
      date: date)
    #expect(
      simulator.first { $0.name == "Authorization" }?.value.contains("/eu-west-1/kms/aws4_request") == true)
  }

  @Test func unsignedWithoutCredentials() {
    let headers = KMSRequestSigner(credentials: nil, region: "us-east-1").headers(
      for: KMSWireRequest(service: .kms, operation: "ListKeys", body: Data("{}".utf8)), host: "h:1",
      date: Date())
    #expect(headers.map(\.name) == ["Host", "Content-Type", "X-Amz-Target"])
  }

  @Test func hostHeaderKeepsOnlyNonDefaultPorts() throws {
    #expect(HTTPTransport.hostHeader(URL(string: "http://127.0.0.1:4599")!) == "127.0.0.1:4599")
    #expect(
      HTTPTransport.hostHeader(URL(string: "https://kms.us-east-1.amazonaws.com")!)
        == "kms.us-east-1.amazonaws.com")
    #expect(HTTPTransport.hostHeader(URL(string: "https://kms.example:443/")!) == "kms.example")
    #expect(HTTPTransport.hostHeader(URL(string: "http://localhost:80")!) == "localhost")
  }
}

@Suite struct ErrorDecodingTests {
  func decode(_ status: Int, _ body: String, requestId: String? = nil) -> KMSError {
    KMSErrorDecoder.decode(
      KMSWireResponse(
        status: status, headers: requestId.map { ["x-amzn-RequestId": $0] } ?? [:], body: Data(body.utf8)))
  }

  @Test func plainTypeAndMessage() {
    let error = decode(400, #"{"__type":"CustomKeyStoreInvalidStateException","message":"not now"}"#)
    #expect(error == KMSError(.customKeyStoreInvalidStateException, "not now"))
  }

  @Test func prefixAndSuffixAreStripped() {
    #expect(
      decode(400, #"{"__type":"com.amazonaws.kms#NotFoundException","message":"m"}"#).code
        == .notFoundException)
    #expect(
      decode(
        400, #"{"__type":"com.amazon.coral.service#UnknownOperationException:http://internal.amazon.com/"}"#
      )
      .code == .unknownOperationException)
    #expect(KMSErrorDecoder.normalizedType("a#b#ThrottlingException:x:y") == "ThrottlingException")
  }

  @Test func capitalMessageAsCloudHSMSendsIt() {
    let error = decode(400, #"{"__type":"AccessDeniedException","Message":"User is not authorized"}"#)
    #expect(error == KMSError(.accessDeniedException, "User is not authorized"))
  }

  @Test func requestIdIsAppended() {
    let error = decode(500, #"{"__type":"KMSInternalException","message":"internal"}"#, requestId: "req-123")
    #expect(error.code == .kmsInternalException)
    #expect(error.message == "internal (Request ID: req-123)")
  }

  @Test func notJSONBodyIsDescribedNotDumpedAndStatusTheCode() {
    let error = decode(502, "<html>Bad Gateway</html>")
    #expect(error.code.rawValue == "502")
    #expect(error.message == "HTTP 502 with an HTML page, not an AWS answer")
    let text = decode(503, "upstream connect error\nor disconnect")
    #expect(text.message == "HTTP 503 with upstream connect error or disconnect, not an AWS answer")
  }

  /// moto_server answers operations it lacks with Flask's HTML 500 page (issue 12).
  @Test func motoHTMLPageForAMissingOperationIsOneReadableLine() {
    let moto = """
      <!doctype html>
      <html lang=en>
      <title>500 Internal Server Error</title>
      <h1>Internal Server Error</h1>
      <p>The server encountered an internal error and was unable to complete your request.</p>
      """
    let error = KMSErrorDecoder.decode(
      KMSWireResponse(
        status: 500, headers: ["Content-Type": "text/html; charset=utf-8"], body: Data(moto.utf8)),
      operation: "TrentService.DescribeCustomKeyStores")
    #expect(
      error.description
        == "500: HTTP 500 with an HTML page titled \"500 Internal Server Error\", not an AWS answer; "
        + "the endpoint may not implement TrentService.DescribeCustomKeyStores")
    #expect(!error.description.contains("<"))
    #expect(!error.description.contains("\n"))
    #expect(KMSErrorDecoder.isUnsupportedOperation(error))
    #expect(!KMSErrorDecoder.isUnsupportedOperation(KMSError(.accessDeniedException, "no")))
    #expect(
      !KMSErrorDecoder.isUnsupportedOperation(KMSError(KMSErrorCode("500"), "HTTP 500 with no message")))
  }

  @Test func missingTypeUsesTheStatus() {
    #expect(decode(429, #"{"message":"slow down"}"#) == KMSError(.throttlingException, "slow down"))
    #expect(decode(403, "{}") == KMSError(KMSErrorCode("403"), "HTTP 403 with no message"))
  }
}
