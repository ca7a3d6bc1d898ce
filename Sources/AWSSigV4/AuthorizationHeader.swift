/// A parsed `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
public struct SigV4Authorization: Sendable, Equatable {
  public var accessKeyId: String
  /// `yyyyMMdd` from the credential scope.
  public var date: String
  public var region: String
  public var service: String
  /// Lowercase header names, in the order given.
  public var signedHeaders: [String]
  public var signature: String

  public var scope: String { SigV4.credentialScope(date: date, region: region, service: service) }

  public init(
    accessKeyId: String, date: String, region: String, service: String, signedHeaders: [String],
    signature: String
  ) {
    self.accessKeyId = accessKeyId
    self.date = date
    self.region = region
    self.service = service
    self.signedHeaders = signedHeaders
    self.signature = signature
  }

  /// Parses an `Authorization` header value, throwing `IncompleteSignatureException`-style errors
  /// that name what is missing or malformed.
  public static func parse(_ header: String) throws(SigV4Error) -> SigV4Authorization {
    let trimmed = SigV4.trimAll(header)
    guard let space = trimmed.firstIndex(of: " ") else {
      if trimmed == SigV4.algorithm {
        throw .incompleteSignature(missingMessage(["Credential", "Signature", "SignedHeaders"], header))
      }
      throw .incompleteSignature("Unsupported AWS 'algorithm': '\(trimmed)'.")
    }
    let algorithm = trimmed[..<space]
    guard algorithm == SigV4.algorithm else {
      throw .incompleteSignature("Unsupported AWS 'algorithm': '\(algorithm)'.")
    }
    var credential: String?
    var signedHeaders: String?
    var signature: String?
    var malformed: [String] = []
    for rawPart in trimmed[trimmed.index(after: space)...].split(separator: ",") {
      let part = rawPart.trimmingSpaces()
      if part.isEmpty { continue }
      guard let equals = part.firstIndex(of: "=") else {
        malformed.append(String(part))
        continue
      }
      let name = part[..<equals]
      let value = String(part[part.index(after: equals)...])
      switch name {
      case "Credential": credential = value
      case "SignedHeaders": signedHeaders = value
      case "Signature": signature = value
      default: malformed.append(String(part))
      }
    }
    var missing: [String] = []
    if credential == nil { missing.append("Credential") }
    if signature == nil { missing.append("Signature") }
    if signedHeaders == nil { missing.append("SignedHeaders") }
    if !missing.isEmpty { throw .incompleteSignature(missingMessage(missing, header)) }
    if !malformed.isEmpty {
      throw .incompleteSignature(
        "Authorization header requires each component to be of the form 'key=value'. "
          + "Authorization=\(header)")
    }
    let scope = credential!.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    guard scope.count == 5, !scope[0].isEmpty else {
      throw .incompleteSignature(
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
          + "got '\(credential!)'")
    }
    guard scope[4] == SigV4.terminator else {
      throw .incompleteSignature(
        "Credential should be scoped with a valid terminator: 'aws4_request', not '\(scope[4])'.")
    }
    guard scope[1].utf8.count == 8, scope[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
      throw .incompleteSignature("Credential date must be in the form yyyyMMdd, got '\(scope[1])'.")
    }
    guard !scope[2].isEmpty else {
      throw .incompleteSignature("Credential should be scoped to a valid region, not ''. ")
    }
    guard !scope[3].isEmpty else {
      throw .incompleteSignature("Credential should be scoped to correct service, not ''. ")
    }
    let names = signedHeaders!.split(separator: ";", omittingEmptySubsequences: false).map {
      String($0).lowercased()
    }
    guard !names.isEmpty, !names.contains(where: \.isEmpty) else {
      throw .incompleteSignature("SignedHeaders must list at least one header, got '\(signedHeaders!)'.")
    }
    guard !signature!.isEmpty else {
      throw .incompleteSignature(missingMessage(["Signature"], header))
    }
    return SigV4Authorization(
      accessKeyId: scope[0], date: scope[1], region: scope[2], service: scope[3],
      signedHeaders: names, signature: signature!)
  }

  private static func missingMessage(_ parts: [String], _ header: String) -> String {
    parts.map { "Authorization header requires '\($0)' parameter." }.joined(separator: " ")
      + " Authorization=\(header)"
  }
}

extension Substring {
  fileprivate func trimmingSpaces() -> Substring {
    var result = self
    while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
    while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
    return result
  }
}
