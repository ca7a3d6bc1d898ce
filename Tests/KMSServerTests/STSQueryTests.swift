import AWSSigV4
import Foundation
import HTTPTypes
import KMSModel
import Logging
import NIOCore
import Testing

@testable import KMSServer

/// Log lines kept in memory, with their metadata.
final class RecordedLog: @unchecked Sendable {
  private let lock = NSLock()
  private var _lines: [(message: String, metadata: [String: String])] = []

  var lines: [(message: String, metadata: [String: String])] { lock.withLock { _lines } }

  func append(_ message: String, _ metadata: Logger.Metadata) {
    let flat = metadata.mapValues { "\($0)" }
    lock.withLock { _lines.append((message, flat)) }
  }

  var requestLines: [[String: String]] { lines.filter { $0.message == "request" }.map(\.metadata) }
}

struct RecordingLogHandler: LogHandler {
  let log: RecordedLog
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .info

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    log.append("\(event.message)", metadata.merging(event.metadata ?? [:]) { $1 })
  }
}

/// `kmsdash serve` as STS (`GetCallerIdentity` over the Query protocol) and the access key ID in
/// each request's log line, signed or not.
@Suite struct STSQueryTests {
  static let credentials = AWSCredentials(
    accessKeyId: "AKIDSTSTEST", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
  static let other = AWSCredentials(accessKeyId: "AKIDALICE", secretAccessKey: "aliceSecret")
  static let now = AmzDate.parse("20240102T030405Z")!

  let log = RecordedLog()
  let handler: KMSRequestHandler
  let openHandler: KMSRequestHandler

  init() {
    let provider = RecordingProvider(FakeBackend())
    let log = self.log
    let logger = Logger(label: "test") { _ in RecordingLogHandler(log: log) }
    var options = KMSServerOptions(
      authentication: .sigV4(SigV4Verifier(credentials: [Self.credentials, Self.other])), now: { Self.now })
    options.accountId = "444455556666"
    options.principals = ["AKIDALICE": "arn:aws:iam::777788889999:user/alice"]
    handler = KMSRequestHandler(options: options, backends: provider, logger: logger)
    var open = KMSServerOptions(authentication: .disabled)
    open.accountId = "444455556666"
    openHandler = KMSRequestHandler(options: open, backends: provider, logger: logger)
  }

  func send(
    _ body: String, credentials: AWSCredentials? = Self.credentials, service: String = "sts",
    contentType: String = "application/x-www-form-urlencoded; charset=utf-8", target: String? = nil,
    via: KMSRequestHandler? = nil
  ) async -> WireResponse {
    var headers: [(name: String, value: String)] = [(name: "Content-Type", value: contentType)]
    if let target { headers.append((name: "X-Amz-Target", value: target)) }
    if let credentials {
      headers = SigV4Signer(credentials: credentials, region: "us-east-1", service: service).sign(
        method: "POST", host: "127.0.0.1:4599", headers: headers, body: Array(body.utf8), date: Self.now
      ).headers.filter { $0.name != "Host" }
    }
    var fields = HTTPFields()
    for header in headers {
      fields.append(HTTPField(name: HTTPField.Name(header.name)!, value: header.value))
    }
    return await (via ?? handler).handle(
      method: "POST", path: "/", query: "", authority: "127.0.0.1:4599", headers: fields,
      body: ByteBuffer(string: body), requestId: "req-1")
  }

  static let getCallerIdentity = "Action=GetCallerIdentity&Version=2011-06-15"

  @Test func getCallerIdentityAnswersTheAccountRootInSTSXML() async throws {
    let response = await send(Self.getCallerIdentity)
    #expect(response.status == 200)
    #expect(response.headers[.contentType] == "text/xml")
    #expect(
      response.bodyText == """
        <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <GetCallerIdentityResult>
            <Arn>arn:aws:iam::444455556666:root</Arn>
            <UserId>444455556666</UserId>
            <Account>444455556666</Account>
          </GetCallerIdentityResult>
          <ResponseMetadata>
            <RequestId>req-1</RequestId>
          </ResponseMetadata>
        </GetCallerIdentityResponse>

        """)
    #expect(log.requestLines.last?["op"] == "STS.GetCallerIdentity")
    #expect(log.requestLines.last?["access_key_id"] == "AKIDSTSTEST")
  }

  @Test func aMappedPrincipalIsTheCallerWithItsOwnAccount() async throws {
    let response = await send(Self.getCallerIdentity, credentials: Self.other)
    #expect(response.status == 200)
    #expect(response.bodyText.contains("<Arn>arn:aws:iam::777788889999:user/alice</Arn>"))
    #expect(response.bodyText.contains("<Account>777788889999</Account>"))
    #expect(response.bodyText.contains("<UserId>AKIDALICE</UserId>"))
  }

  @Test func aSignatureForAnotherServiceIsRefusedInSTSXML() async throws {
    let response = await send(Self.getCallerIdentity, service: "kms")
    #expect(response.status == 400 || response.status == 403)
    #expect(response.bodyText.contains("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"))
    #expect(response.bodyText.contains("<Type>Sender</Type>"))
    #expect(response.bodyText.contains("<RequestId>req-1</RequestId>"))
  }

  @Test func anUnsignedRequestIsRefusedWhenSignaturesAreChecked() async throws {
    let response = await send(Self.getCallerIdentity, credentials: nil)
    #expect(response.status >= 400)
    #expect(response.bodyText.contains("<Code>"))
    #expect(log.requestLines.last?["access_key_id"] == "-")
  }

  @Test func otherActionsAnswerInvalidAction() async throws {
    let response = await send("Action=AssumeRole&Version=2011-06-15&RoleArn=x")
    #expect(response.status == 400)
    #expect(response.bodyText.contains("<Code>InvalidAction</Code>"))
    #expect(
      response.bodyText.contains(
        "<Message>Could not find operation AssumeRole for version 2011-06-15.</Message>"))
    let none = await send("Version=2011-06-15")
    #expect(none.bodyText.contains("<Message>The request has no Action parameter.</Message>"))
  }

  @Test func untrustedTextIsEscapedInTheAnswerAndTheLog() async throws {
    let response = await send("Action=%3Cx%3E%0A&Version=%26")
    #expect(response.status == 400)
    #expect(!response.bodyText.contains("<x>"))
    // The newline is replaced; markup is escaped.
    #expect(response.bodyText.contains("Could not find operation &lt;x&gt;? for version &amp;."))
    #expect(log.requestLines.last?["op"] == "STS.<x>?")
  }

  @Test func noAuthLogsTheAccessKeyIdFromTheAuthorizationHeader() async throws {
    // Signed by a key the server does not know: under --no-auth it is not checked, but logged.
    let stranger = AWSCredentials(accessKeyId: "AKIDNOTCHECKED", secretAccessKey: "whatever")
    let kms = await send(
      "{}", credentials: stranger, service: "kms", contentType: "application/x-amz-json-1.1",
      target: "TrentService.ListKeys", via: openHandler)
    #expect(kms.status == 200)
    #expect(log.requestLines.last?["op"] == "TrentService.ListKeys")
    #expect(log.requestLines.last?["access_key_id"] == "AKIDNOTCHECKED")
    let sts = await send(Self.getCallerIdentity, credentials: stranger, via: openHandler)
    #expect(sts.status == 200)
    #expect(sts.bodyText.contains("<Account>444455556666</Account>"))
    #expect(log.requestLines.last?["access_key_id"] == "AKIDNOTCHECKED")
    let unsigned = await send(
      "{}", credentials: nil, contentType: "application/x-amz-json-1.1", target: "TrentService.ListKeys",
      via: openHandler)
    #expect(unsigned.status == 200)
    #expect(log.requestLines.last?["access_key_id"] == "-")
  }

  @Test func aSignedKMSRequestLogsItsAccessKeyIdAndNeverTheSecret() async throws {
    let response = await send(
      "{}", service: "kms", contentType: "application/x-amz-json-1.1", target: "TrentService.ListKeys")
    #expect(response.status == 200)
    #expect(log.requestLines.last?["access_key_id"] == "AKIDSTSTEST")
    let everything = log.lines.map { "\($0.message) \($0.metadata)" }.joined()
    #expect(!everything.contains(Self.credentials.secretAccessKey))
  }
}

extension STSQueryTests {
  /// Clients POST moto's reset form-typed (Python's urllib does): it is not an STS request.
  @Test func onlyPostSlashWithAFormIsSTS() {
    var form = HTTPFields()
    form[.contentType] = "application/x-www-form-urlencoded"
    #expect(STSQuery.isQueryRequest(method: "POST", path: "/", headers: form))
    #expect(!STSQuery.isQueryRequest(method: "POST", path: "/moto-api/reset", headers: form))
    #expect(!STSQuery.isQueryRequest(method: "GET", path: "/", headers: form))
    var json = HTTPFields()
    json[.contentType] = "application/x-amz-json-1.1"
    #expect(!STSQuery.isQueryRequest(method: "POST", path: "/", headers: json))
  }
}
