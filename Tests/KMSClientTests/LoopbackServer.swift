import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Testing

@testable import KMSClient

/// One request as a loopback fake received it.
struct RecordedRequest: Sendable {
  var method: String
  var path: String
  var query: String
  /// Every header, names lowercased, in order.
  var headers: [(name: String, value: String)]
  var body: Data

  func header(_ name: String) -> String? {
    headers.first { $0.name == name.lowercased() }?.value
  }

  var text: String { String(decoding: body, as: UTF8.self) }

  /// Form (or query) parameters, percent-decoded.
  static func form(_ text: String) -> [String: String] {
    var out: [String: String] = [:]
    for pair in text.split(separator: "&") {
      let parts = pair.split(separator: "=", maxSplits: 1).map {
        String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
      }
      out[parts[0]] = parts.count > 1 ? parts[1] : ""
    }
    return out
  }

  var form: [String: String] { Self.form(text) }
  var queryItems: [String: String] { Self.form(query) }
}

/// An answer from a fake.
struct FakeAnswer: Sendable {
  var status: Int
  var headers: [String: String]
  var body: String

  init(_ status: Int = 200, _ body: String = "", headers: [String: String] = [:]) {
    self.status = status
    self.body = body
    self.headers = headers
  }
}

/// A tiny HTTP server on 127.0.0.1 (Hummingbird, ephemeral port) that records every request and
/// answers through a closure: the STS, IAM Identity Center, IMDS and container fakes.
final class LoopbackServer: Sendable {
  typealias Handler = @Sendable (RecordedRequest) async -> FakeAnswer

  let port: Int
  private let recorded: Locked<[RecordedRequest]>
  private let task: Task<Void, any Error>

  var url: URL { URL(string: "http://127.0.0.1:\(port)")! }
  var requests: [RecordedRequest] { recorded.withLock { $0 } }

  private init(port: Int, recorded: Locked<[RecordedRequest]>, task: Task<Void, any Error>) {
    self.port = port
    self.recorded = recorded
    self.task = task
  }

  func stop() { task.cancel() }

  struct Responder: HTTPResponder {
    typealias Context = BasicRequestContext
    let handler: Handler
    let recorded: Locked<[RecordedRequest]>

    func respond(to request: Request, context: Context) async throws -> Response {
      var request = request
      let body = try await request.collectBody(upTo: 1 << 20)
      let recordedRequest = RecordedRequest(
        method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
        // HTTPTypes keeps Host as the :authority pseudo-header.
        headers: [(name: "host", value: request.head.authority ?? "")]
          + request.headers.map { (name: $0.name.canonicalName.lowercased(), value: $0.value) },
        body: Data(body.readableBytesView))
      recorded.withLock { $0.append(recordedRequest) }
      let answer = await handler(recordedRequest)
      var fields = HTTPFields()
      for (name, value) in answer.headers {
        if let fieldName = HTTPField.Name(name) { fields[fieldName] = value }
      }
      return Response(
        status: HTTPResponse.Status(code: answer.status), headers: fields,
        body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }
  }

  static func start(_ handler: @escaping Handler) async throws -> LoopbackServer {
    let recorded = Locked<[RecordedRequest]>([])
    var logger = Logger(label: "loopback")
    logger.logLevel = .critical
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = Application(
      responder: Responder(handler: handler, recorded: recorded),
      configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
      onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
      logger: logger)
    let task = Task { try await app.run() }
    var iterator = ports.makeAsyncIterator()
    let port = try #require(await iterator.next())
    return LoopbackServer(port: port, recorded: recorded, task: task)
  }
}

/// A temporary directory removed at deinit.
final class ScratchDirectory: @unchecked Sendable {
  let path: String

  init() throws {
    path = NSTemporaryDirectory() + "kmsdash-creds-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  @discardableResult
  func write(_ name: String, _ text: String, executable: Bool = false) throws -> String {
    let file = "\(path)/\(name)"
    try FileManager.default.createDirectory(
      atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: file))
    if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file) }
    return file
  }
}

/// A clock tests move by hand.
final class ManualClock: @unchecked Sendable {
  private let lock = NSLock()
  private var date: Date

  init(_ date: Date = Date(timeIntervalSince1970: 1_800_000_000)) { self.date = date }

  var now: Date {
    lock.lock()
    defer { lock.unlock() }
    return date
  }

  func advance(_ seconds: TimeInterval) {
    lock.lock()
    date = date.addingTimeInterval(seconds)
    lock.unlock()
  }

  var function: @Sendable () -> Date { { [self] in self.now } }
}

/// STS answers as AWS writes them.
enum STSXML {
  static func credentials(
    _ action: String, keyId: String, secret: String = "stsSecret/ABC", token: String = "stsToken==",
    expiration: String = "2030-01-01T00:00:00Z"
  ) -> String {
    """
    <\(action)Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <\(action)Result>
        <Credentials>
          <AccessKeyId>\(keyId)</AccessKeyId>
          <SecretAccessKey>\(secret)</SecretAccessKey>
          <SessionToken>\(token)</SessionToken>
          <Expiration>\(expiration)</Expiration>
        </Credentials>
        <AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
      </\(action)Result>
      <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
    </\(action)Response>
    """
  }

  static func error(_ code: String, _ message: String) -> String {
    """
    <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <Error><Type>Sender</Type><Code>\(code)</Code><Message>\(message)</Message></Error>
      <RequestId>req-err</RequestId>
    </ErrorResponse>
    """
  }

  static let callerIdentity = """
    <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <GetCallerIdentityResult>
        <Arn>arn:aws:sts::111122223333:assumed-role/Admin/me</Arn>
        <UserId>AROAEXAMPLE:me</UserId>
        <Account>111122223333</Account>
      </GetCallerIdentityResult>
      <ResponseMetadata><RequestId>req-id</RequestId></ResponseMetadata>
    </GetCallerIdentityResponse>
    """
}
