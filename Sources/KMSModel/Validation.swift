import Foundation

/// One failed constraint, rendered the way the AWS JSON front end words it (kms-spec §6.6).
public struct ValidationFailure: Sendable, Equatable, CustomStringConvertible {
  /// lowerCamelCase member path, e.g. `customKeyStoreId` or `xksProxyAuthenticationCredential.accessKeyId`.
  public var member: String
  /// The offending value as AWS quotes it; nil for sensitive members, blobs and missing values.
  public var renderedValue: String?
  public var constraint: String

  public init(member: String, renderedValue: String?, constraint: String) {
    self.member = member
    self.renderedValue = renderedValue
    self.constraint = constraint
  }

  public var description: String {
    let value = renderedValue.map { "Value '\($0)' at" } ?? "Value at"
    return "\(value) '\(member)' failed to satisfy constraint: \(constraint)"
  }

  /// A required member that was absent or JSON `null`.
  public static func missing(_ member: String) -> ValidationFailure {
    ValidationFailure(member: member, renderedValue: nil, constraint: "Member must not be null")
  }
}

extension ValidationFailure {
  /// AWS says `Value null at 'x'` for a missing member.
  public var isMissingMember: Bool { constraint == "Member must not be null" }
}

/// A request shape whose constraints come from the service model.
public protocol AWSValidatable {
  func validationFailures(at path: String) -> [ValidationFailure]
}

extension AWSValidatable {
  /// Throws `ValidationException` listing every failed constraint, as AWS does.
  public func validate() throws(KMSError) {
    let failures = validationFailures(at: "")
    if !failures.isEmpty { throw KMSError.validation(failures) }
  }
}

extension KMSError {
  /// `N validation error(s) detected: …; …` (kms-spec §6.6).
  public static func validation(_ failures: [ValidationFailure]) -> KMSError {
    let count = failures.count
    let noun = count == 1 ? "validation error" : "validation errors"
    let details = failures.map { failure in
      failure.isMissingMember
        ? "Value null at '\(failure.member)' failed to satisfy constraint: \(failure.constraint)"
        : failure.description
    }
    return KMSError(.validationException, "\(count) \(noun) detected: \(details.joined(separator: "; "))")
  }
}

/// Patterns are compiled once; AWS matches the whole value (Java `Pattern.matches`).
private let patternCache = PatternCache()

private final class PatternCache: @unchecked Sendable {
  private let lock = NSLock()
  private var compiled: [String: NSRegularExpression] = [:]

  func wholeMatch(_ value: String, _ pattern: String) -> Bool {
    lock.lock()
    let regex: NSRegularExpression?
    if let cached = compiled[pattern] {
      regex = cached
    } else {
      regex = try? NSRegularExpression(pattern: pattern)
      compiled[pattern] = regex
    }
    lock.unlock()
    guard let regex else { return false }
    let range = NSRange(value.startIndex..., in: value)
    guard let match = regex.firstMatch(in: value, options: [.anchored], range: range) else { return false }
    return match.range == range
  }
}

/// Renders a value for a message; long values are cut so an error never echoes a huge body.
private func quoted(_ value: String, sensitive: Bool) -> String? {
  if sensitive { return nil }
  return value.count > 256 ? String(value.prefix(256)) + "…" : value
}

extension Array where Element == ValidationFailure {
  // AWS counts string length in UTF-16 code units (Java String.length()).
  public mutating func checkLength(_ value: String, min: Int, at member: String, sensitive: Bool) {
    if value.utf16.count < min {
      append(
        .init(
          member: member, renderedValue: quoted(value, sensitive: sensitive),
          constraint: "Member must have length greater than or equal to \(min)"))
    }
  }

  public mutating func checkLength(_ value: String, max: Int, at member: String, sensitive: Bool) {
    if value.utf16.count > max {
      append(
        .init(
          member: member, renderedValue: quoted(value, sensitive: sensitive),
          constraint: "Member must have length less than or equal to \(max)"))
    }
  }

  public mutating func checkLength(_ value: Data, min: Int, at member: String, sensitive: Bool) {
    if value.count < min {
      append(
        .init(
          member: member, renderedValue: nil,
          constraint: "Member must have length greater than or equal to \(min)"))
    }
  }

  public mutating func checkLength(_ value: Data, max: Int, at member: String, sensitive: Bool) {
    if value.count > max {
      append(
        .init(
          member: member, renderedValue: nil,
          constraint: "Member must have length less than or equal to \(max)"))
    }
  }

  public mutating func checkLength<C: Collection>(_ value: C, min: Int, at member: String, sensitive: Bool) {
    if value.count < min {
      append(
        .init(
          member: member, renderedValue: nil,
          constraint: "Member must have length greater than or equal to \(min)"))
    }
  }

  public mutating func checkLength<C: Collection>(_ value: C, max: Int, at member: String, sensitive: Bool) {
    if value.count > max {
      append(
        .init(
          member: member, renderedValue: nil,
          constraint: "Member must have length less than or equal to \(max)"))
    }
  }

  public mutating func checkPattern(_ value: String, _ pattern: String, at member: String, sensitive: Bool) {
    if !patternCache.wholeMatch(value, pattern) {
      append(
        .init(
          member: member, renderedValue: quoted(value, sensitive: sensitive),
          constraint: "Member must satisfy regular expression pattern: \(pattern)"))
    }
  }

  public mutating func checkEnum<E: RawRepresentable & CaseIterable>(
    _ value: String, _ type: E.Type, at member: String
  )
  where E.RawValue == String {
    if E(rawValue: value) == nil {
      let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
      append(
        .init(
          member: member, renderedValue: quoted(value, sensitive: false),
          constraint: "Member must satisfy enum value set: [\(allowed)]"))
    }
  }

  public mutating func checkRange<I: BinaryInteger>(_ value: I, min: Int, at member: String) {
    if value < min {
      append(
        .init(
          member: member, renderedValue: "\(value)",
          constraint: "Member must have value greater than or equal to \(min)"))
    }
  }

  public mutating func checkRange<I: BinaryInteger>(_ value: I, max: Int, at member: String) {
    if value > max {
      append(
        .init(
          member: member, renderedValue: "\(value)",
          constraint: "Member must have value less than or equal to \(max)"))
    }
  }
}
