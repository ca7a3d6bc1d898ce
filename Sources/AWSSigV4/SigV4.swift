import Crypto
import Foundation
import KMSModel

/// AWS credentials: an access key pair and an optional session token.
public struct AWSCredentials: Sendable, Hashable {
  public var accessKeyId: String
  public var secretAccessKey: String
  public var sessionToken: String?

  public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
    self.accessKeyId = accessKeyId
    self.secretAccessKey = secretAccessKey
    self.sessionToken = sessionToken
  }
}

/// The building blocks of AWS Signature Version 4 (`AWS4-HMAC-SHA256`).
///
/// Everything here is a pure function; `SigV4Signer` and `SigV4Verifier` compose them.
public enum SigV4 {
  public static let algorithm = "AWS4-HMAC-SHA256"
  public static let terminator = "aws4_request"
  /// SHA-256 of the empty string, in lowercase hex.
  public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

  // MARK: Hashing

  /// Lowercase hex SHA-256 of `data`.
  public static func sha256Hex(_ data: some DataProtocol) -> String {
    hex(SHA256.hash(data: data))
  }

  /// Lowercase hex SHA-256 of raw bytes (avoids copying a network buffer).
  public static func sha256Hex(bytes: UnsafeRawBufferPointer) -> String {
    hex(SHA256.hash(data: bytes))
  }

  /// Lowercase hex of any byte sequence.
  public static func hex(_ bytes: some Sequence<UInt8>) -> String { Hex.lowercase(bytes) }

  // MARK: Canonical request

  /// The canonical form of a header value: leading and trailing whitespace removed, runs of
  /// spaces collapsed to one; several values of one header joined with commas.
  public static func canonicalHeaderValue(_ values: [String]) -> String {
    values.map(trimAll).joined(separator: ",")
  }

  static func trimAll(_ value: String) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(value.utf8.count)
    var pendingSpace = false
    for byte in value.utf8 {
      if byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d {
        pendingSpace = !out.isEmpty
      } else {
        if pendingSpace { out.append(0x20) }
        pendingSpace = false
        out.append(byte)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// RFC 3986 percent-encoding of everything but unreserved characters (`A-Z a-z 0-9 - _ . ~`).
  /// With `keepSlash`, `/` is kept (for path segments).
  public static func uriEncode(_ text: String, keepSlash: Bool = false) -> String {
    let digits: [UInt8] = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(text.utf8.count)
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
        UInt8(ascii: "."), UInt8(ascii: "~"):
        out.append(byte)
      case UInt8(ascii: "/") where keepSlash:
        out.append(byte)
      default:
        out.append(UInt8(ascii: "%"))
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The canonical URI of an (unencoded) path. An empty path is `/`.
  public static func canonicalURI(_ path: String) -> String {
    if path.isEmpty || path == "/" { return "/" }
    // Foundation's percent-decoding is skipped when there is nothing to decode (the usual path).
    let decoded = path.utf8.contains(UInt8(ascii: "%")) ? (path.removingPercentEncoding ?? path) : path
    return uriEncode(decoded, keepSlash: true)
  }

  /// The canonical query string: parameters sorted by encoded name then value, each encoded.
  public static func canonicalQueryString(_ query: String) -> String {
    if query.isEmpty { return "" }
    var pairs: [(String, String)] = []
    for part in query.split(separator: "&", omittingEmptySubsequences: true) {
      let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let name = String(pieces[0]).removingPercentEncoding ?? String(pieces[0])
      let value =
        pieces.count > 1 ? (String(pieces[1]).removingPercentEncoding ?? String(pieces[1])) : ""
      pairs.append((uriEncode(name), uriEncode(value)))
    }
    pairs.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
    return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
  }

  /// Builds the canonical request.
  ///
  /// - Parameters:
  ///   - signedHeaders: lowercase header names, sorted, as they appear in `SignedHeaders`.
  ///   - headerValues: the canonical (already trimmed and joined) value of each signed header.
  public static func canonicalRequest(
    method: String, path: String, query: String, signedHeaders: [String],
    headerValues: [String], payloadHash: String
  ) -> String {
    var text = method
    text += "\n"
    text += canonicalURI(path)
    text += "\n"
    text += canonicalQueryString(query)
    text += "\n"
    for (name, value) in zip(signedHeaders, headerValues) {
      text += name
      text += ":"
      text += value
      text += "\n"
    }
    text += "\n"
    text += signedHeaders.joined(separator: ";")
    text += "\n"
    text += payloadHash
    return text
  }

  // MARK: String to sign and key

  /// `date/region/service/aws4_request`.
  public static func credentialScope(date: String, region: String, service: String) -> String {
    "\(date)/\(region)/\(service)/\(terminator)"
  }

  /// The string to sign for a canonical request.
  public static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
    "\(algorithm)\n\(amzDate)\n\(scope)\n\(sha256Hex(Array(canonicalRequest.utf8)))"
  }

  /// The signing key: HMAC chain over date, region, service and `aws4_request`.
  public static func signingKey(secretAccessKey: String, date: String, region: String, service: String)
    -> SymmetricKey
  {
    var key = SymmetricKey(data: Array(("AWS4" + secretAccessKey).utf8))
    for part in [date, region, service, terminator] {
      let mac = HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)
      key = SymmetricKey(data: mac)
    }
    return key
  }

  /// The hex signature of a string to sign.
  public static func signature(signingKey: SymmetricKey, stringToSign: String) -> String {
    hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey))
  }

  /// The `Authorization` header value.
  public static func authorization(
    accessKeyId: String, scope: String, signedHeaders: [String], signature: String
  ) -> String {
    "\(algorithm) Credential=\(accessKeyId)/\(scope), SignedHeaders=\(signedHeaders.joined(separator: ";")), "
      + "Signature=\(signature)"
  }

  /// Compares two byte strings in time that depends only on their lengths.
  public static func constantTimeEquals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>)
    -> Bool
  {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
    return difference == 0
  }
}
