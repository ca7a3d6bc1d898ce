import Foundation

/// An identifier that is never empty: built only from text that has at least one character that
/// is not whitespace, so no `?? ""` can send an empty ID to a backend. The format rules of each
/// kind (patterns, lengths) stay with validation, which answers in AWS's words.
public protocol TypedIdentifier: RawRepresentable, Hashable, Sendable, Codable, Comparable,
  CustomStringConvertible, ExpressibleByStringLiteral
where RawValue == String {
  init(unchecked rawValue: String)
}

extension TypedIdentifier {
  /// nil for empty or all-whitespace text.
  public init?(rawValue: String) {
    guard rawValue.contains(where: { !$0.isWhitespace }) else { return nil }
    self.init(unchecked: rawValue)
  }

  /// nil for nil, empty or all-whitespace text (wire members are optional).
  public init?(_ rawValue: String?) {
    guard let rawValue else { return nil }
    self.init(rawValue: rawValue)
  }

  /// For literals in code and tests; an empty literal is a programming error.
  public init(stringLiteral value: String) {
    precondition(!value.isEmpty, "an identifier literal must not be empty")
    self.init(unchecked: value)
  }

  public var description: String { rawValue }
  public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

  public init(from decoder: any Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    guard let value = Self(rawValue: text) else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: "An identifier must not be empty."))
    }
    self = value
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(rawValue)
  }
}

/// `cks-…`: a custom key store.
public struct CustomKeyStoreID: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// A KMS key ID (the UUID form, not an ARN or alias).
public struct KeyID: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// What a caller may use to name a key: key ID, key ARN, alias name or alias ARN.
public struct KeyReference: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// `alias/…`.
public struct AliasName: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// `cluster-…`: a CloudHSM cluster.
public struct ClusterID: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
}

/// `hsm-…`: one HSM in a cluster.
public struct HsmID: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
}
