import Crypto
import Foundation

/// Signs requests with AWS Signature V4, as botocore does.
///
/// The signer signs `host`, `x-amz-date`, the session token if any, and every given header except
/// those that proxies or clients may change (`user-agent`, `content-length`, `expect`,
/// `connection`, `transfer-encoding`, `x-amzn-trace-id`, `amz-sdk-*`).
public struct SigV4Signer: Sendable {
  public var credentials: AWSCredentials
  public var region: String
  public var service: String

  /// Header names (lowercase) never signed.
  public static let unsignedHeaders: Set<String> = [
    "user-agent", "content-length", "expect", "connection", "transfer-encoding", "x-amzn-trace-id",
    "amz-sdk-invocation-id", "amz-sdk-request", "authorization",
  ]

  public init(credentials: AWSCredentials, region: String, service: String) {
    self.credentials = credentials
    self.region = region
    self.service = service
  }

  /// The outcome of signing: the headers to send and the intermediate values.
  public struct SignedRequest: Sendable {
    /// The given headers plus `Host` (if it was not given), `X-Amz-Date`, `X-Amz-Security-Token`
    /// (with a session token) and `Authorization`.
    public var headers: [(name: String, value: String)]
    public var canonicalRequest: String
    public var stringToSign: String
    public var signature: String
    public var authorization: String
    public var signedHeaders: [String]

    /// The value of a header (case-insensitive), if present.
    public func header(_ name: String) -> String? {
      let lower = name.lowercased()
      return headers.first { $0.name.lowercased() == lower }?.value
    }
  }

  /// Signs a request.
  ///
  /// - Parameters:
  ///   - host: the `Host` header value, `host[:port]` exactly as it will be sent.
  ///   - path: the unencoded path (`/` for KMS).
  ///   - query: the raw query string without `?`.
  ///   - headers: the headers that will be sent (`X-Amz-Date` and `Authorization` are replaced).
  ///   - date: the signing time.
  public func sign(
    method: String = "POST", host: String, path: String = "/", query: String = "",
    headers: [(name: String, value: String)], body: some DataProtocol, date: Date
  ) -> SignedRequest {
    sign(
      method: method, host: host, path: path, query: query, headers: headers,
      payloadHash: SigV4.sha256Hex(body), date: date)
  }

  /// Signs a request whose payload hash is already known.
  public func sign(
    method: String = "POST", host: String, path: String = "/", query: String = "",
    headers: [(name: String, value: String)], payloadHash: String, date: Date
  ) -> SignedRequest {
    let amzDate = AmzDate.format(date)
    let day = String(amzDate.prefix(8))
    var all = headers.filter {
      let lower = $0.name.lowercased()
      return lower != "x-amz-date" && lower != "authorization"
        && (lower != "x-amz-security-token" || credentials.sessionToken == nil)
    }
    if !all.contains(where: { $0.name.lowercased() == "host" }) {
      all.insert((name: "Host", value: host), at: 0)
    }
    all.append((name: "X-Amz-Date", value: amzDate))
    if let token = credentials.sessionToken {
      all.append((name: "X-Amz-Security-Token", value: token))
    }
    var grouped: [String: [String]] = [:]
    for header in all {
      let lower = header.name.lowercased()
      if Self.unsignedHeaders.contains(lower) || lower.hasPrefix("amz-sdk-") { continue }
      grouped[lower, default: []].append(header.value)
    }
    let names = grouped.keys.sorted()
    let values = names.map { SigV4.canonicalHeaderValue(grouped[$0]!) }
    let canonical = SigV4.canonicalRequest(
      method: method, path: path, query: query, signedHeaders: names, headerValues: values,
      payloadHash: payloadHash)
    let scope = SigV4.credentialScope(date: day, region: region, service: service)
    let toSign = SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical)
    let key = SigV4.signingKey(
      secretAccessKey: credentials.secretAccessKey, date: day, region: region, service: service)
    let signature = SigV4.signature(signingKey: key, stringToSign: toSign)
    let authorization = SigV4.authorization(
      accessKeyId: credentials.accessKeyId, scope: scope, signedHeaders: names, signature: signature)
    all.append((name: "Authorization", value: authorization))
    return SignedRequest(
      headers: all, canonicalRequest: canonical, stringToSign: toSign, signature: signature,
      authorization: authorization, signedHeaders: names)
  }
}
