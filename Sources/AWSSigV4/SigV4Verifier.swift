import Crypto
import Foundation

/// Who signed a verified request, and for which scope.
public struct SigV4Identity: Sendable, Equatable {
  public var accessKeyId: String
  /// The region of the credential scope.
  public var region: String
  /// The service of the credential scope.
  public var service: String
  /// The request time from `X-Amz-Date`.
  public var requestDate: Date
  /// `X-Amz-Security-Token`, when the request carried one.
  public var sessionToken: String?
}

/// Verifies AWS Signature V4 (`AWS4-HMAC-SHA256`) requests against a set of trusted credentials.
///
/// Only the headers named in `SignedHeaders` enter the signature; other headers may be added or
/// changed in transit. The request time must lie within `clockSkew` of the injected `now`.
/// Signatures are compared in constant time.
public struct SigV4Verifier: Sendable {
  /// Trusted credentials by access key ID.
  public var credentials: [String: AWSCredentials]
  /// Regions accepted in the credential scope; nil accepts any region.
  public var allowedRegions: Set<String>?
  /// Maximum distance between the request time and now.
  public var clockSkew: TimeInterval

  public init(
    credentials: [AWSCredentials], allowedRegions: Set<String>? = nil, clockSkew: TimeInterval = 300
  ) {
    var byKey: [String: AWSCredentials] = [:]
    for credential in credentials { byKey[credential.accessKeyId] = credential }
    self.credentials = byKey
    self.allowedRegions = allowedRegions
    self.clockSkew = clockSkew
  }

  /// Verifies one request.
  ///
  /// - Parameters:
  ///   - path: the request path as sent (percent-encoded or not).
  ///   - query: the raw query string without `?`.
  ///   - header: every value of the header with the given lowercase name, in order.
  ///   - payloadHash: lowercase hex SHA-256 of the exact body bytes.
  ///   - services: the signing names accepted in the scope (e.g. `["kms"]`).
  ///   - now: the server's current time.
  ///   - signingKeys: derived signing keys to reuse (one per connection or thread; not shared).
  public func verify(
    method: String, path: String, query: String, header: (String) -> [String], payloadHash: String,
    services: Set<String>, now: Date, signingKeys: SigV4SigningKeyCache? = nil
  ) throws(SigV4Error) -> SigV4Identity {
    guard let authorizationHeader = header("authorization").first else {
      throw .missingAuthenticationToken
    }
    let authorization = try SigV4Authorization.parse(authorizationHeader)

    guard let amzDate = header("x-amz-date").first else {
      throw .incompleteSignature(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
          + "Authorization=\(authorizationHeader)")
    }
    let trimmedDate = SigV4.trimAll(amzDate)
    guard let requestDate = AmzDate.parse(trimmedDate) else {
      throw .incompleteSignature(
        "Date must be in ISO-8601 'basic format'. Got '\(trimmedDate)'. "
          + "See http://en.wikipedia.org/wiki/ISO_8601")
    }

    guard let credential = credentials[authorization.accessKeyId] else { throw .unrecognizedClient }
    let sessionToken = header("x-amz-security-token").first
    if let expected = credential.sessionToken, sessionToken != expected {
      throw .unrecognizedClient
    }

    guard services.contains(authorization.service) else {
      let expected = services.sorted().first ?? ""
      throw .invalidSignature("Credential should be scoped to correct service: '\(expected)'. ")
    }
    if let allowedRegions, !allowedRegions.contains(authorization.region) {
      throw .invalidSignature("Credential should be scoped to a valid region. ")
    }
    let day = String(trimmedDate.prefix(8))
    guard authorization.date == day else {
      throw .invalidSignature(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
          + "'\(authorization.date)' != '\(day)', from '\(trimmedDate)'.")
    }
    var minutes: String { "\(Int(clockSkew / 60)) min." }
    if requestDate < now.addingTimeInterval(-clockSkew) {
      throw .invalidSignature(
        "Signature expired: \(trimmedDate) is now earlier than "
          + "\(AmzDate.format(now.addingTimeInterval(-clockSkew))) (\(AmzDate.format(now)) - \(minutes))")
    }
    if requestDate > now.addingTimeInterval(clockSkew) {
      throw .invalidSignature(
        "Signature not yet current: \(trimmedDate) is still later than "
          + "\(AmzDate.format(now.addingTimeInterval(clockSkew))) (\(AmzDate.format(now)) + \(minutes))")
    }
    guard authorization.signedHeaders.contains("host") else {
      throw .invalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    }

    let names = authorization.signedHeaders
    let values = names.map { SigV4.canonicalHeaderValue(header($0)) }
    let canonical = SigV4.canonicalRequest(
      method: method, path: path, query: query, signedHeaders: names, headerValues: values,
      payloadHash: payloadHash)
    let toSign = SigV4.stringToSign(
      amzDate: trimmedDate, scope: authorization.scope, canonicalRequest: canonical)
    let key =
      signingKeys?.key(
        secretAccessKey: credential.secretAccessKey, date: authorization.date, region: authorization.region,
        service: authorization.service)
      ?? SigV4.signingKey(
        secretAccessKey: credential.secretAccessKey, date: authorization.date,
        region: authorization.region, service: authorization.service)
    let expected = SigV4.signature(signingKey: key, stringToSign: toSign)
    guard SigV4.constantTimeEquals(Array(expected.utf8), Array(authorization.signature.utf8)) else {
      throw .invalidSignature(SigV4Error.signatureMismatchMessage)
    }
    return SigV4Identity(
      accessKeyId: authorization.accessKeyId, region: authorization.region,
      service: authorization.service, requestDate: requestDate, sessionToken: sessionToken)
  }

  /// Verifies a request given as a header list (convenience for tests and small clients).
  public func verify(
    method: String, path: String, query: String = "", headers: [(name: String, value: String)],
    body: some DataProtocol, services: Set<String>, now: Date
  ) throws(SigV4Error) -> SigV4Identity {
    try verify(
      method: method, path: path, query: query,
      header: { name in headers.filter { $0.name.lowercased() == name }.map(\.value) },
      payloadHash: SigV4.sha256Hex(body), services: services, now: now)
  }
}

/// Signing keys already derived, by (secret, date, region, service): the HMAC chain runs once per
/// day and scope instead of once per request. Not thread-safe on purpose: each connection (or
/// thread) keeps its own, so verifying takes no lock. Holds at most a few entries.
public final class SigV4SigningKeyCache {
  private struct Scope: Hashable {
    var secret: String
    var date: String
    var region: String
    var service: String
  }

  private var keys: [Scope: SymmetricKey] = [:]
  private let limit: Int

  public init(limit: Int = 8) { self.limit = limit }

  public func key(secretAccessKey: String, date: String, region: String, service: String) -> SymmetricKey {
    let scope = Scope(secret: secretAccessKey, date: date, region: region, service: service)
    if let key = keys[scope] { return key }
    if keys.count >= limit { keys.removeAll(keepingCapacity: true) }
    let key = SigV4.signingKey(secretAccessKey: secretAccessKey, date: date, region: region, service: service)
    keys[scope] = key
    return key
  }
}
