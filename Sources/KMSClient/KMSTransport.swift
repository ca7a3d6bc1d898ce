import AWSSigV4
import Foundation
import KMSModel

/// The AWS JSON 1.1 services the client speaks, with their target prefix and SigV4 signing name.
public enum KMSWireService: String, Sendable, CaseIterable {
  /// KMS: `TrentService.<Op>`, signing name `kms`.
  case kms = "TrentService"
  /// CloudHSM v2: `BaldrApiService.<Op>`, signing name `cloudhsm` (not `cloudhsmv2`).
  case cloudHSM = "BaldrApiService"
  /// kmsdash's fault target: `KmsdashSimulator.<Op>`, signed like KMS.
  case simulator = "KmsdashSimulator"

  public var targetPrefix: String { rawValue }

  public var signingName: String {
    switch self {
    case .kms, .simulator: "kms"
    case .cloudHSM: "cloudhsm"
    }
  }
}

/// One AWS JSON 1.1 call, before it is signed and sent.
public struct KMSWireRequest: Sendable, Equatable {
  public var service: KMSWireService
  /// The operation, e.g. `DescribeCustomKeyStores`.
  public var operation: String
  /// The JSON body (`{}` for no arguments).
  public var body: Data

  public init(service: KMSWireService, operation: String, body: Data) {
    self.service = service
    self.operation = operation
    self.body = body
  }

  /// `X-Amz-Target`, e.g. `TrentService.DescribeCustomKeyStores`.
  public var target: String { "\(service.targetPrefix).\(operation)" }
}

/// An HTTP answer: status, headers (names lowercased) and body.
public struct KMSWireResponse: Sendable, Equatable {
  public var status: Int
  public var headers: [String: String]
  public var body: Data

  public init(status: Int, headers: [String: String] = [:], body: Data) {
    self.status = status
    self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }) { _, last in last }
    self.body = body
  }

  /// `x-amzn-RequestId`, if the server sent one.
  public var requestId: String? { headers["x-amzn-requestid"] ?? headers["x-amz-request-id"] }
}

/// Sends one request and returns whatever HTTP answer came back (any status). Throws
/// `KMSTransportError` only when no answer came (connection refused, timeout, TLS failure).
/// The HTTP implementation signs; a test fake answers from a script.
public protocol KMSTransport: Sendable {
  func send(_ request: KMSWireRequest) async throws -> KMSWireResponse
}

/// No HTTP answer: the endpoint could not be reached or did not answer in time.
public struct KMSTransportError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: String, Sendable, Equatable {
    case connectionFailed, timedOut, tls, invalidResponse, invalidEndpoint
  }

  public var kind: Kind
  public var endpoint: String
  public var detail: String

  public init(_ kind: Kind, endpoint: String, detail: String) {
    self.kind = kind
    self.endpoint = endpoint
    self.detail = detail
  }

  public var description: String {
    switch kind {
    case .connectionFailed: "Cannot reach \(endpoint): \(detail)"
    case .timedOut: "\(endpoint) did not answer in time (\(detail))"
    case .tls: "TLS failure talking to \(endpoint): \(detail)"
    case .invalidResponse: "Unexpected answer from \(endpoint): \(detail)"
    case .invalidEndpoint: "Invalid endpoint \(endpoint): \(detail)"
    }
  }
}

// MARK: Error decoding

/// Turns a non-200 answer into a `KMSError` as botocore does (kms-spec §6.4): the code is
/// `__type` without any `prefix#` or `:suffix`; the message is `message`, else `Message`; with no
/// `__type`, the HTTP status names the error. The request ID, when known, is appended to the
/// message as AWS SDKs print it.
///
/// A body that is not JSON (an HTML error page from a web framework, a proxy's text) is never
/// quoted raw: the message says the status, what kind of body came (an HTML page and its title,
/// or one short line of text) and, when the operation is known, that the endpoint may not
/// implement it (moto and LocalStack answer `500` with an HTML page for operations they lack).
public enum KMSErrorDecoder {
  public static func decode(_ response: KMSWireResponse, operation: String? = nil) -> KMSError {
    let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
    var code: KMSErrorCode
    var message: String
    if let object {
      let type = (object["__type"] as? String) ?? (object["code"] as? String) ?? (object["Code"] as? String)
      code = type.map { KMSErrorCode(normalizedType($0)) } ?? statusCode(response.status)
      message = (object["message"] as? String) ?? (object["Message"] as? String) ?? ""
    } else {
      code = statusCode(response.status)
      message = notAWSAnswer(response, operation: operation)
    }
    if code.rawValue.isEmpty { code = statusCode(response.status) }
    if message.isEmpty { message = "HTTP \(response.status) with no message" }
    if let requestId = response.requestId, !requestId.isEmpty {
      message += " (Request ID: \(requestId))"
    }
    return KMSError(code, message)
  }

  /// The marker `notAWSAnswer` messages carry, so callers can tell "the endpoint answered
  /// something that is not AWS" from an AWS error.
  public static let notAWSMarker = "not an AWS answer"

  static func notAWSAnswer(_ response: KMSWireResponse, operation: String?) -> String {
    let body = response.body.isEmpty ? "an empty body" : AWSWire.snippet(response.body, limit: 160)
    var text = "HTTP \(response.status) with \(body), \(notAWSMarker)"
    if let operation, response.status >= 500 || [404, 405].contains(response.status) {
      text += "; the endpoint may not implement \(operation)"
    }
    return text
  }

  /// Whether the error says the endpoint does not offer the operation at all (as opposed to
  /// refusing this call): an unknown-operation code, 404/405/501, or a non-AWS 5xx answer.
  public static func isUnsupportedOperation(_ error: KMSError) -> Bool {
    let unsupported: Set<String> = [
      "UnknownOperationException", "UnsupportedOperationException", "UnknownOperation", "InvalidAction",
      "NotImplemented", "NotImplementedException", "404", "405", "501",
    ]
    if unsupported.contains(error.code.rawValue) { return true }
    // LocalStack: InternalFailure "… has not yet been emulated by LocalStack" / "not yet implemented".
    let lower = error.message.lowercased()
    if lower.contains("not yet been emulated") || lower.contains("not yet implemented") { return true }
    if let status = Int(error.code.rawValue), status >= 500, error.message.contains(notAWSMarker) {
      return true
    }
    return false
  }

  /// `com.amazonaws.kms#NotFoundException:http://…` → `NotFoundException`.
  public static func normalizedType(_ type: String) -> String {
    var text = Substring(type)
    if let hash = text.lastIndex(of: "#") { text = text[text.index(after: hash)...] }
    if let colon = text.firstIndex(of: ":") { text = text[..<colon] }
    return text.trimmingCharacters(in: .whitespaces)
  }

  /// A code for an answer without `__type`: the status, as botocore uses it.
  static func statusCode(_ status: Int) -> KMSErrorCode {
    switch status {
    case 429: .throttlingException
    default: KMSErrorCode(String(status))
    }
  }
}

// MARK: Request signing

/// Builds the headers of a signed AWS JSON 1.1 request, as botocore sends them. Pure, so the
/// signature can be checked against the fixture vectors.
public struct KMSRequestSigner: Sendable {
  public static let contentType = "application/x-amz-json-1.1"

  /// nil sends unsigned requests (a `kmsdash serve --no-auth`).
  public var credentials: AWSCredentials?
  public var region: String

  public init(credentials: AWSCredentials?, region: String) {
    self.credentials = credentials
    self.region = region
  }

  /// Every header to send, `Host` included.
  ///
  /// - Parameters:
  ///   - host: `host[:port]` exactly as sent.
  ///   - path: the request path (`/`).
  public func headers(
    for request: KMSWireRequest, host: String, path: String = "/", date: Date, userAgent: String? = nil
  ) -> [(name: String, value: String)] {
    var headers: [(name: String, value: String)] = [
      (name: "Host", value: host),
      (name: "Content-Type", value: Self.contentType),
      (name: "X-Amz-Target", value: request.target),
    ]
    if let userAgent { headers.append((name: "User-Agent", value: userAgent)) }
    guard let credentials else { return headers }
    let signer = SigV4Signer(credentials: credentials, region: region, service: request.service.signingName)
    return signer.sign(
      method: "POST", host: host, path: path, headers: headers, body: request.body, date: date
    )
    .headers
  }
}
