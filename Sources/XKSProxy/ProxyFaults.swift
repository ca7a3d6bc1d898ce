import Foundation
import KMSModel

/// QA faults of a running proxy, set through its control endpoint (`POST /kmsdash/faults`) or
/// `kmsdash fault --xks-proxy URL …`. They are not saved: a restart clears them.
public struct XKSProxyFaults: Codable, Sendable, Equatable {
  /// How a successful answer is spoiled.
  public enum Malformed: String, Codable, Sendable, CaseIterable {
    /// `200` with an HTML page.
    case html = "HTML"
    /// The JSON answer cut in the middle.
    case truncatedJSON = "TRUNCATED_JSON"
    /// A required member left out.
    case missingField = "MISSING_FIELD"
    /// Members of the wrong JSON type.
    case wrongTypes = "WRONG_TYPES"
    /// Encrypt answers a 12-byte authentication tag.
    case wrongTagLength = "WRONG_TAG_LENGTH"
  }

  public enum EkmHealth: String, Codable, Sendable, CaseIterable {
    case active = "ACTIVE"
    /// Some members `DEGRADED`; traffic is still served.
    case someDegraded = "SOME_DEGRADED"
    /// Every member `UNAVAILABLE`: health reports it, crypto fails with InternalException.
    case unavailable = "UNAVAILABLE"
  }

  public enum Certificate: String, Codable, Sendable, CaseIterable {
    case valid = "VALID"
    case expired = "EXPIRED"
    /// A certificate for another host name.
    case wrongName = "WRONG_NAME"
  }

  /// Added before every XKS answer (300 makes KMS's 250 ms bound expire).
  public var latencyMilliseconds: Int?
  /// XKS requests are answered by closing the connection with a TCP reset, before any byte.
  public var refuseConnections: Bool?
  /// The status line and half of the answer are sent, then the connection is reset.
  public var resetMidResponse: Bool?
  /// Every XKS request (of `operations`) is answered with this `errorName` and its status.
  public var errorName: String?
  public var malformed: Malformed?
  public var ekmHealth: EkmHealth?
  /// XKS requests above this many per second and key store get `ThrottlingException`.
  public var throttlePerSecond: Int?
  /// Secondary authorization: these principal ARNs (or `*`) get `AccessDeniedException`.
  public var deniedPrincipals: [String]?
  /// External keys that answer as `DISABLED` (InvalidStateException on crypto).
  public var disabledKeys: [String]?
  public var certificate: Certificate?
  /// The operations the error, malformed and latency faults apply to (default: all four).
  public var operations: [String]?

  public init() {}

  public static let none = XKSProxyFaults()

  public func applies(to operation: XKSOperation) -> Bool {
    guard let operations, !operations.isEmpty else { return true }
    return operations.contains(operation.rawValue)
  }

  /// Merges the members `patch` sets (a `null` leaves a member as it was; use `clear`).
  public func merging(_ patch: XKSProxyFaults) -> XKSProxyFaults {
    var merged = self
    if let value = patch.latencyMilliseconds { merged.latencyMilliseconds = value > 0 ? value : nil }
    if let value = patch.refuseConnections { merged.refuseConnections = value ? true : nil }
    if let value = patch.resetMidResponse { merged.resetMidResponse = value ? true : nil }
    if let value = patch.errorName { merged.errorName = value.isEmpty ? nil : value }
    if let value = patch.malformed { merged.malformed = value }
    if let value = patch.ekmHealth { merged.ekmHealth = value == .active ? nil : value }
    if let value = patch.throttlePerSecond { merged.throttlePerSecond = value > 0 ? value : nil }
    if let value = patch.deniedPrincipals { merged.deniedPrincipals = value.isEmpty ? nil : value }
    if let value = patch.disabledKeys { merged.disabledKeys = value.isEmpty ? nil : value }
    if let value = patch.certificate { merged.certificate = value == .valid ? nil : value }
    if let value = patch.operations { merged.operations = value.isEmpty ? nil : value }
    return merged
  }

  /// Checks names against the spec's tables.
  public func validate() throws(FaultError) {
    if let errorName, !errorName.isEmpty, XKSErrorName(rawValue: errorName) == nil {
      throw FaultError(
        "Unknown errorName '\(errorName)'. Names: \(XKSErrorName.allCases.map(\.rawValue).joined(separator: ", "))."
      )
    }
    for operation in operations ?? [] where XKSOperation(rawValue: operation) == nil {
      throw FaultError(
        "Unknown operation '\(operation)'. Operations: \(XKSOperation.allCases.map(\.rawValue).joined(separator: ", "))."
      )
    }
    if let latency = latencyMilliseconds, !(0...60_000).contains(latency) {
      throw FaultError("latencyMilliseconds must be between 0 and 60000.")
    }
    if let throttle = throttlePerSecond, throttle < 0 {
      throw FaultError("throttlePerSecond must be positive.")
    }
  }

  public struct FaultError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
  }
}
