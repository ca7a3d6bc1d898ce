import AWSSigV4
import Foundation
import HTTPTypes
import KMSModel
import Logging
import NIOCore
import NIOHTTP1

/// How requests are authenticated.
public enum KMSAuthentication: Sendable {
  /// Every request must carry a valid SigV4 signature by one of the verifier's credentials.
  case sigV4(SigV4Verifier)
  /// No check (`--no-auth`); the region is still read from the credential scope when present.
  case disabled
}

/// Options of the AWS JSON 1.1 front door.
public struct KMSServerOptions: Sendable {
  public var authentication: KMSAuthentication
  /// The region used when a request names none (unsigned requests under `--no-auth`).
  public var defaultRegion: String
  /// Larger bodies are refused with 413 `RequestEntityTooLargeException`.
  public var maxBodyBytes: Int
  /// The server's clock, for the SigV4 clock-skew check.
  public var now: @Sendable () -> Date
  /// Principal ARN per access key ID, for key policies and grants (issue 14); a caller whose
  /// access key is not here is the account root.
  public var principals: [String: String] = [:]
  /// The account this endpoint plays: STS `GetCallerIdentity` answers it.
  public var accountId = "111122223333"

  public init(
    authentication: KMSAuthentication, defaultRegion: String = "us-east-1", maxBodyBytes: Int = 256 * 1024,
    now: @escaping @Sendable () -> Date = { Date() }
  ) {
    self.authentication = authentication
    self.defaultRegion = defaultRegion
    self.maxBodyBytes = maxBodyBytes
    self.now = now
  }
}

/// A finished response, independent of the HTTP server.
public struct WireResponse: Sendable {
  public var status: Int
  public var headers: HTTPFields
  public var body: ByteBuffer
  /// `Service.Operation`, or a short tag when no operation was reached (for logs).
  public var operation: String
  public var requestId: String

  /// The body as text (tests).
  public var bodyText: String { String(buffer: body) }
}

/// The transport-independent AWS JSON 1.1 front door: routes `X-Amz-Target` to the backend,
/// checks SigV4, and turns every failure into an AWS-shaped JSON error. Never throws.
public struct KMSRequestHandler: Sendable {
  public static let contentType = "application/x-amz-json-1.1"

  public var options: KMSServerOptions
  public var backends: any KMSBackendProvider
  public var logger: Logger

  public init(options: KMSServerOptions, backends: any KMSBackendProvider, logger: Logger) {
    self.options = options
    self.backends = backends
    self.logger = logger
  }

  /// Handles one request.
  ///
  /// - Parameters:
  ///   - authority: the `Host` header (HTTP/1.1) or `:authority` (HTTP/2).
  ///   - body: the whole body, or nil if it was larger than `maxBodyBytes`.
  ///   - requestId: the request's ID (a new random one when nil).
  public func handle(
    method: String, path: String, query: String, authority: String?, headers: HTTPFields, body: ByteBuffer?,
    requestId: String? = nil
  ) async -> WireResponse {
    let started = ContinuousClock.now
    let requestId = requestId ?? UUID().uuidString.lowercased()
    // Read from the Authorization header whether or not signatures are checked (CloudTrail's
    // userIdentity.accessKeyId), so a log shows which credentials signed.
    let accessKeyId = headers[.authorization].flatMap { try? SigV4Authorization.parse($0) }?.accessKeyId
    if STSQuery.isQueryRequest(method: method, path: path, headers: headers) {
      return handleSTS(
        path: path, query: query, authority: authority, headers: headers, body: body, requestId: requestId,
        accessKeyId: accessKeyId, started: started)
    }
    var operationName = "-"
    var service = WireService.kms
    var status = 200
    var responseBody: ByteBuffer
    var extraHeaders: [(String, String)] = []
    do {
      let result = try await route(
        method: method, path: path, query: query, authority: authority, headers: headers, body: body,
        accessKeyId: accessKeyId, operationName: &operationName, service: &service)
      responseBody = result
    } catch {
      let wire: WireError
      switch error {
      case let error as WireError: wire = error
      case let error as KMSError: wire = WireError(error)
      case let error as SigV4Error:
        wire = WireError(error.awsErrorType, error.message, status: error.httpStatus)
      default:
        logger.error(
          "unexpected error",
          metadata: [
            "op": "\(operationName)", "request_id": "\(requestId)", "error_type": "\(type(of: error))",
          ])
        wire = .internalFailure
      }
      status = wire.status
      responseBody = wire.body(messageKey: service.messageKey)
      extraHeaders = wire.extraHeaders
    }
    var fields = HTTPFields()
    fields[.contentType] = Self.contentType
    fields[Self.requestIdField] = requestId
    fields[.contentLength] = String(responseBody.readableBytes)
    for (name, value) in extraHeaders {
      if let field = HTTPField.Name(name) { fields[field] = value }
    }
    logRequest(
      operation: operationName, status: status, requestId: requestId, accessKeyId: accessKeyId,
      started: started)
    return WireResponse(
      status: status, headers: fields, body: responseBody, operation: operationName, requestId: requestId)
  }

  /// One line per request at `info`, built only when that level is enabled.
  ///
  /// `access_key_id` is the ID from the Authorization header (`-` for an unsigned request), as
  /// CloudTrail's `userIdentity.accessKeyId`; it is logged even under `--no-auth`. The secret and
  /// the signature never are.
  func logRequest(
    operation: String, status: Int, requestId: String, accessKeyId: String?, started: ContinuousClock.Instant
  ) {
    guard logger.logLevel <= .info else { return }
    let elapsed = ContinuousClock.now - started
    let (seconds, attoseconds) = elapsed.components
    let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    logger.info(
      "request",
      metadata: [
        "op": "\(operation)", "status": "\(status)",
        "latency_ms": "\(Double(micros) / 1000)", "request_id": "\(requestId)",
        "access_key_id": "\(accessKeyId.map(STSQuery.printable) ?? "-")",
      ])
  }

  /// Answers a hot operation (`immediateOperationTable`) on the caller's thread, from the
  /// backend's committed read view, with no suspension: the same checks in the same order as
  /// `handle`, and the same bytes on success. Returns nil whenever anything is not the plain
  /// successful case (another operation, a bad header, a failed signature, a backend not ready,
  /// any error): the caller then answers through `handle`, which produces every error response.
  public func respondImmediately(
    head: HTTPRequestHead, body: ByteBuffer?, requestId: String, connection: inout ImmediateConnectionState
  ) -> WireResponse? {
    let started = ContinuousClock.now
    guard head.method == .POST, head.uri == "/", let body else { return nil }
    let headers = head.headers
    guard let target = headers.first(name: "x-amz-target"), let operation = immediateOperationTable[target],
      let run = operation.immediate
    else { return nil }
    let contentType = headers.first(name: "content-type") ?? ""
    let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map {
      $0.trimmingCharacters(in: .whitespaces).lowercased()
    }
    guard mediaType == "application/x-amz-json-1.1" || mediaType == "application/x-amz-json-1.0" else {
      return nil
    }
    let region: String
    let accessKeyId: String?
    do {
      (region, accessKeyId) = try authenticate(
        method: "POST", path: "/", query: "", header: { headers[$0] }, body: body,
        signingNames: operation.service.signingNames, signingKeys: connection.signingKeys)
    } catch {
      return nil
    }
    let backend: KMSBackend
    if let cached = connection.backend, cached.region == region {
      backend = cached.backend
    } else {
      guard let ready = backends.readyBackend(forRegion: region) else { return nil }
      connection.backend = (region, ready)
      backend = ready
    }
    guard let reads = backend.immediate, let responseBody = try? run(body, reads) else { return nil }
    var fields = HTTPFields()
    fields.reserveCapacity(3)
    fields[.contentType] = Self.contentType
    fields[Self.requestIdField] = requestId
    fields[.contentLength] = String(responseBody.readableBytes)
    logRequest(
      operation: target, status: 200, requestId: requestId, accessKeyId: accessKeyId, started: started)
    return WireResponse(
      status: 200, headers: fields, body: responseBody, operation: target, requestId: requestId)
  }

  static let requestIdField = HTTPField.Name("x-amzn-RequestId")!
  static let targetField = HTTPField.Name("X-Amz-Target")!

  private func route(
    method: String, path: String, query: String, authority: String?, headers: HTTPFields, body: ByteBuffer?,
    accessKeyId: String?, operationName: inout String, service: inout WireService
  ) async throws -> ByteBuffer {
    if path == "/moto-api/reset" && method == "POST" {
      // moto's server-mode reset, unsigned as moto's is, so suites written for moto run unchanged.
      operationName = "moto-api/reset"
      try await resetAll()
      return ByteBuffer(string: "{}")
    }
    guard method == "POST" else {
      var error = WireError(
        "MethodNotAllowedException",
        "The \(method) method is not supported: send AWS JSON 1.1 requests as POST / with an X-Amz-Target header.",
        status: 405)
      error.extraHeaders = [("Allow", "POST")]
      throw error
    }
    guard path == "/" || path.isEmpty else {
      throw WireError(
        KMSErrorCode.unknownOperationException.rawValue,
        "No operation is served at this path: send AWS JSON 1.1 requests as POST / with an X-Amz-Target header.",
        status: 404)
    }
    let contentType = headers[.contentType] ?? ""
    let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map {
      $0.trimmingCharacters(in: .whitespaces).lowercased()
    }
    guard mediaType == "application/x-amz-json-1.1" || mediaType == "application/x-amz-json-1.0" else {
      throw WireError(
        "UnsupportedMediaTypeException",
        "Content-Type must be application/x-amz-json-1.1"
          + (contentType.isEmpty ? "; the request has none." : ", not '\(contentType.prefix(100))'."),
        status: 415)
    }
    guard let body else {
      throw WireError(
        "RequestEntityTooLargeException",
        "The request body is larger than the maximum of \(options.maxBodyBytes) bytes.", status: 413)
    }

    let target = headers[Self.targetField] ?? ""
    let dot = target.firstIndex(of: ".")
    let prefix = dot.map { String(target[..<$0]) } ?? target
    let knownService = WireService(rawValue: prefix)
    if let knownService { service = knownService }
    operationName = target.isEmpty ? "-" : String(target.prefix(80))

    let region = try authenticate(
      method: method, path: path, query: query, header: Self.headerLookup(headers, authority: authority),
      body: body, signingNames: knownService?.signingNames ?? ["kms", "cloudhsm"], signingKeys: nil
    ).region

    guard !target.isEmpty else {
      throw WireError.unknownOperation("The request has no X-Amz-Target header.")
    }
    if target == "KmsdashSimulator.Reset" {
      try await resetAll()
      return ByteBuffer(string: "{}")
    }
    guard let operation = operationTable[target] else {
      throw WireError.unknownOperation(
        "The operation '\(target.prefix(120))' is not supported by this endpoint.")
    }
    let backend = try await backends.backend(forRegion: region)
    let principal = accessKeyId.flatMap { options.principals[$0] }
    return try await CallerIdentity.$principal.withValue(principal) {
      try await operation.run(body, backend)
    }
  }

  private func resetAll() async throws {
    if let resettable = backends as? any ResettableBackendProvider {
      try await resettable.resetAll()
    } else {
      try await backends.resetAll()
    }
  }

  /// Every value of a header by lowercase name; `host` is the request's authority.
  static func headerLookup(_ headers: HTTPFields, authority: String?) -> (String) -> [String] {
    { name in
      if name == "host" { return authority.map { [$0] } ?? headers[values: .init("host")!] }
      guard let field = HTTPField.Name(name) else { return [] }
      return headers[values: field]
    }
  }

  /// Verifies the signature (when enabled) and returns the request's region and the access key ID
  /// that signed it (nil: unsigned).
  ///
  /// - Parameter header: every value of the header with the given lowercase name, in order.
  func authenticate(
    method: String, path: String, query: String, header: (String) -> [String], body: ByteBuffer,
    signingNames: Set<String>, signingKeys: SigV4SigningKeyCache?
  ) throws -> (region: String, accessKeyId: String?) {
    switch options.authentication {
    case .disabled:
      if let value = header("authorization").first, let parsed = try? SigV4Authorization.parse(value) {
        return (parsed.region, parsed.accessKeyId)
      }
      return (options.defaultRegion, nil)
    case .sigV4(let verifier):
      // The payload is hashed once, straight from the network buffer.
      let payloadHash = body.withUnsafeReadableBytes { SigV4.sha256Hex(bytes: $0) }
      let identity = try verifier.verify(
        method: method, path: path, query: query, header: header, payloadHash: payloadHash,
        services: signingNames, now: options.now(), signingKeys: signingKeys)
      return (identity.region, identity.accessKeyId)
    }
  }
}

/// What one connection keeps between its requests on the immediate path: the derived SigV4
/// signing keys and the backend of the last region, so a request takes no shared lock.
public struct ImmediateConnectionState {
  public var signingKeys = SigV4SigningKeyCache()
  var backend: (region: String, backend: KMSBackend)?

  public init() {}
}

/// Request IDs in UUID form without asking the kernel for randomness per request: 64 random bits
/// drawn once (per connection), then a counter. Unique as long as two generators do not draw the
/// same 64 random bits.
public struct RequestIdGenerator {
  private let high: UInt64
  private var counter: UInt64

  public init() {
    var generator = SystemRandomNumberGenerator()
    high = generator.next()
    counter = generator.next()
  }

  public mutating func next() -> String {
    counter &+= 1
    let low = counter
    // xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx from the 128 bits, with the version-4 and variant bits set.
    let hi = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
    let lo = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
    return String(unsafeUninitializedCapacity: 36) { buffer in
      let digits: StaticString = "0123456789abcdef"
      var index = 0
      func put(_ value: UInt64, _ nibbles: Int) {
        var shift = (nibbles - 1) * 4
        while shift >= 0 {
          buffer[index] = digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)]
          index += 1
          shift -= 4
        }
      }
      func dash() {
        buffer[index] = UInt8(ascii: "-")
        index += 1
      }
      put(hi >> 32, 8)
      dash()
      put(hi >> 16, 4)
      dash()
      put(hi, 4)
      dash()
      put(lo >> 48, 4)
      dash()
      put(lo, 12)
      return index
    }
  }
}
