import AWSSigV4
import Foundation
import HTTPTypes
import KMSModel
import Logging
import NIOCore

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
  public func handle(
    method: String, path: String, query: String, authority: String?, headers: HTTPFields, body: ByteBuffer?
  ) async -> WireResponse {
    let started = ContinuousClock.now
    let requestId = UUID().uuidString.lowercased()
    var operationName = "-"
    var service = WireService.kms
    var status = 200
    var responseBody: ByteBuffer
    var extraHeaders: [(String, String)] = []
    do {
      let result = try await route(
        method: method, path: path, query: query, authority: authority, headers: headers, body: body,
        operationName: &operationName, service: &service)
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
    let elapsed = ContinuousClock.now - started
    let (seconds, attoseconds) = elapsed.components
    let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    logger.info(
      "request",
      metadata: [
        "op": "\(operationName)", "status": "\(status)",
        "latency_ms": "\(Double(micros) / 1000)", "request_id": "\(requestId)",
      ])
    return WireResponse(
      status: status, headers: fields, body: responseBody, operation: operationName, requestId: requestId)
  }

  static let requestIdField = HTTPField.Name("x-amzn-RequestId")!
  static let targetField = HTTPField.Name("X-Amz-Target")!

  private func route(
    method: String, path: String, query: String, authority: String?, headers: HTTPFields, body: ByteBuffer?,
    operationName: inout String, service: inout WireService
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

    let accessKeyId = headers[.authorization].flatMap { try? SigV4Authorization.parse($0) }?.accessKeyId
    let region = try authenticate(
      method: method, path: path, query: query, authority: authority, headers: headers, body: body,
      signingNames: knownService?.signingNames ?? ["kms", "cloudhsm"])

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

  /// Verifies the signature (when enabled) and returns the request's region.
  private func authenticate(
    method: String, path: String, query: String, authority: String?, headers: HTTPFields, body: ByteBuffer,
    signingNames: Set<String>
  ) throws -> String {
    switch options.authentication {
    case .disabled:
      if let header = headers[.authorization], let parsed = try? SigV4Authorization.parse(header) {
        return parsed.region
      }
      return options.defaultRegion
    case .sigV4(let verifier):
      let payloadHash = body.withUnsafeReadableBytes { SigV4.sha256Hex(bytes: $0) }
      let identity = try verifier.verify(
        method: method, path: path, query: query,
        header: { name in
          if name == "host" { return authority.map { [$0] } ?? headers[values: .init("host")!] }
          guard let field = HTTPField.Name(name) else { return [] }
          return headers[values: field]
        },
        payloadHash: payloadHash, services: signingNames, now: options.now())
      return identity.region
    }
  }
}
