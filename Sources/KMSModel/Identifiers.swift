import Foundation

/// An identifier that is never empty: built only from text that has at least one character that
/// is not whitespace, so no `?? ""` can send an empty ID to a backend. The format rules of each
/// kind (patterns, lengths) stay with validation, which answers in AWS's words.
public protocol TypedIdentifier: RawRepresentable, Hashable, Sendable, Codable, Comparable,
  CustomStringConvertible, ExpressibleByStringLiteral
where RawValue == String {
  init(unchecked rawValue: String)
  /// What the backend answers for text that passes AWS's length checks yet names nothing
  /// (whitespace only): the not-found answer of this kind, so such text never reaches a backend.
  static func namesNothing(_ text: String) -> KMSError
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

  /// For literals in code and tests; an empty or blank literal is a programming error.
  public init(stringLiteral value: String) {
    precondition(value.contains(where: { !$0.isWhitespace }), "an identifier literal must not be blank")
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

  /// The identifier of a request member once its AWS constraints were checked (`failures`, from
  /// the generated accessors): AWS's ValidationException when any failed, the kind's not-found
  /// answer for text without a visible character, else the typed identifier.
  public static func validated(_ text: String, _ failures: [ValidationFailure]) throws(KMSError) -> Self {
    if !failures.isEmpty { throw KMSError.validation(failures) }
    guard let identifier = Self(rawValue: text) else { throw namesNothing(text) }
    return identifier
  }

  /// An identifier a caller passes outside AWS's request shapes (the simulator's QA controls):
  /// the kind's not-found answer when it is empty or blank.
  public static func named(_ text: String) throws(KMSError) -> Self {
    try validated(text, [])
  }

  /// The identifier in text a backend kept or answered (a record's optional member, a response
  /// member): `KMSInternalException` when it is missing or blank, so nothing empty is sent on.
  public static func stored(_ text: String?, _ what: String) throws(KMSError) -> Self {
    guard let identifier = Self(text) else {
      throw KMSError(.kmsInternalException, "The \(what) is missing or blank.")
    }
    return identifier
  }
}

/// `cks-…`: a custom key store.
public struct CustomKeyStoreID: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
  public static func namesNothing(_ text: String) -> KMSError {
    KMSError.customKeyStoreNotFound(text)
  }
}

/// A KMS key ID (the UUID form, not an ARN or alias).
public struct KeyID: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
  public static func namesNothing(_ text: String) -> KMSError {
    KMSError(.notFoundException, "Invalid keyId '\(text.prefix(256))'")
  }
}

/// What a caller may use to name a key: key ID, key ARN, alias name or alias ARN.
public struct KeyReference: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
  public static func namesNothing(_ text: String) -> KMSError {
    KMSError(.notFoundException, "Invalid keyId '\(text.prefix(256))'")
  }
}

/// `alias/…`.
public struct AliasName: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
  public static func namesNothing(_ text: String) -> KMSError {
    KMSError(.notFoundException, "Alias \(text.prefix(256)) is not found.")
  }
}

/// `cluster-…`: a CloudHSM cluster.
public struct ClusterID: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
  public static func namesNothing(_ text: String) -> KMSError {
    KMSError(.cloudHsmResourceNotFoundException, "Cluster \(text) not found.")
  }
}

/// `hsm-…`: one HSM in a cluster.
public struct HsmID: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
  public static func namesNothing(_ text: String) -> KMSError {
    KMSError(.cloudHsmResourceNotFoundException, "No HSM \(text) was found.")
  }
}

/// The external key manager's ID of a key (`XksKeyId`), sent to the XKS proxy in the URI path.
public struct XKSKeyID: TypedIdentifier {
  public let rawValue: String
  public init(unchecked rawValue: String) { self.rawValue = rawValue }
  public static func namesNothing(_ text: String) -> KMSError {
    KMSError(.xksKeyNotFoundException, "The external key \(text) was not found.")
  }
}
