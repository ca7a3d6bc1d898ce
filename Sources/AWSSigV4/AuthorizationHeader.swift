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
    if let plain = parsePlain(header) { return plain }
    return try parseGeneral(header)
  }

  /// Any header, character by character, with the error that names what is wrong.
  static func parseGeneral(_ header: String) throws(SigV4Error) -> SigV4Authorization {
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

  /// The common case on bytes: printable ASCII with single spaces, each component once and valid.
  /// Returns exactly what the general parser returns for such a header, or nil for anything else
  /// (the general parser then answers, with its errors).
  static func parsePlain(_ header: String) -> SigV4Authorization? {
    var header = header
    return header.withUTF8 { bytes -> SigV4Authorization? in
      let prefix = "AWS4-HMAC-SHA256 ".utf8
      guard bytes.count > prefix.count, bytes.starts(with: prefix) else { return nil }
      var previousSpace = false
      for byte in bytes {
        if byte == 0x20 {
          if previousSpace { return nil }
          previousSpace = true
        } else {
          guard byte > 0x20, byte < 0x7F else { return nil }
          previousSpace = false
        }
      }
      if previousSpace { return nil }
      var credential: Range<Int>?
      var signedHeaders: Range<Int>?
      var signature: Range<Int>?
      var start = prefix.count
      while start <= bytes.count {
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: ",") { end += 1 }
        var lower = start
        var upper = end
        while lower < upper, bytes[lower] == 0x20 { lower += 1 }
        while upper > lower, bytes[upper - 1] == 0x20 { upper -= 1 }
        guard lower < upper else { return nil }
        var equals = lower
        while equals < upper, bytes[equals] != UInt8(ascii: "=") { equals += 1 }
        guard equals < upper else { return nil }
        let name = UnsafeBufferPointer(rebasing: bytes[lower..<equals])
        let value = (equals + 1)..<upper
        if name.elementsEqual("Credential".utf8), credential == nil {
          credential = value
        } else if name.elementsEqual("SignedHeaders".utf8), signedHeaders == nil {
          signedHeaders = value
        } else if name.elementsEqual("Signature".utf8), signature == nil {
          signature = value
        } else {
          return nil
        }
        start = end + 1
      }
      guard let credential, let signedHeaders, let signature, !signature.isEmpty else { return nil }
      func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
      }
      var scope: [String] = []
      var part = credential.lowerBound
      for index in credential where bytes[index] == UInt8(ascii: "/") {
        scope.append(text(part..<index))
        part = index + 1
      }
      scope.append(text(part..<credential.upperBound))
      guard scope.count == 5, !scope[0].isEmpty, scope[4] == SigV4.terminator,
        scope[1].utf8.count == 8, scope[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
        !scope[2].isEmpty, !scope[3].isEmpty
      else { return nil }
      var names: [String] = []
      part = signedHeaders.lowerBound
      for index in signedHeaders.lowerBound...signedHeaders.upperBound
      where index == signedHeaders.upperBound || bytes[index] == UInt8(ascii: ";") {
        guard index > part else { return nil }
        let lowered = UnsafeBufferPointer(rebasing: bytes[part..<index]).map { byte -> UInt8 in
          byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
        }
        names.append(String(decoding: lowered, as: UTF8.self))
        part = index + 1
      }
      return SigV4Authorization(
        accessKeyId: scope[0], date: scope[1], region: scope[2], service: scope[3], signedHeaders: names,
        signature: text(signature))
    }
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
