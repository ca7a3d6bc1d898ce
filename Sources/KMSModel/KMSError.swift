import Foundation

/// An AWS exception name. A struct rather than an enum so a client can carry codes it has never
/// seen (a newer AWS), while the codes this project raises are spelled once, below.
public struct KMSErrorCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
  public var rawValue: String
  public init(rawValue: String) { self.rawValue = rawValue }
  public init(_ rawValue: String) { self.rawValue = rawValue }
  public var description: String { rawValue }

  // Custom key stores (kms-spec §2)
  public static let customKeyStoreNotFoundException = Self("CustomKeyStoreNotFoundException")
  public static let customKeyStoreInvalidStateException = Self("CustomKeyStoreInvalidStateException")
  public static let customKeyStoreNameInUseException = Self("CustomKeyStoreNameInUseException")
  public static let customKeyStoreHasCMKsException = Self("CustomKeyStoreHasCMKsException")
  public static let cloudHsmClusterNotFoundException = Self("CloudHsmClusterNotFoundException")
  public static let cloudHsmClusterNotActiveException = Self("CloudHsmClusterNotActiveException")
  public static let cloudHsmClusterInUseException = Self("CloudHsmClusterInUseException")
  public static let cloudHsmClusterInvalidConfigurationException = Self(
    "CloudHsmClusterInvalidConfigurationException")
  public static let cloudHsmClusterNotRelatedException = Self("CloudHsmClusterNotRelatedException")
  public static let incorrectTrustAnchorException = Self("IncorrectTrustAnchorException")
  public static let xksProxyUriInUseException = Self("XksProxyUriInUseException")
  public static let xksProxyUriEndpointInUseException = Self("XksProxyUriEndpointInUseException")
  public static let xksProxyVpcEndpointServiceInUseException = Self(
    "XksProxyVpcEndpointServiceInUseException")
  public static let xksKeyAlreadyInUseException = Self("XksKeyAlreadyInUseException")
  public static let limitExceededException = Self("LimitExceededException")
  public static let invalidMarkerException = Self("InvalidMarkerException")
  // Keys and cryptography (kms-spec §5)
  public static let notFoundException = Self("NotFoundException")
  public static let disabledException = Self("DisabledException")
  public static let kmsInvalidStateException = Self("KMSInvalidStateException")
  public static let invalidCiphertextException = Self("InvalidCiphertextException")
  public static let incorrectKeyException = Self("IncorrectKeyException")
  public static let invalidKeyUsageException = Self("InvalidKeyUsageException")
  public static let unsupportedOperationException = Self("UnsupportedOperationException")
  public static let alreadyExistsException = Self("AlreadyExistsException")
  public static let invalidAliasNameException = Self("InvalidAliasNameException")
  public static let invalidArnException = Self("InvalidArnException")
  public static let keyUnavailableException = Self("KeyUnavailableException")
  public static let dependencyTimeoutException = Self("DependencyTimeoutException")
  public static let kmsInternalException = Self("KMSInternalException")
  public static let dryRunOperationException = Self("DryRunOperationException")
  // The rest of the KMS API (issue 14)
  public static let kmsInvalidSignatureException = Self("KMSInvalidSignatureException")
  public static let kmsInvalidMacException = Self("KMSInvalidMacException")
  public static let invalidGrantTokenException = Self("InvalidGrantTokenException")
  public static let invalidGrantIdException = Self("InvalidGrantIdException")
  public static let malformedPolicyDocumentException = Self("MalformedPolicyDocumentException")
  public static let tagException = Self("TagException")
  public static let invalidImportTokenException = Self("InvalidImportTokenException")
  public static let expiredImportTokenException = Self("ExpiredImportTokenException")
  public static let incorrectKeyMaterialException = Self("IncorrectKeyMaterialException")
  // The shared AWS JSON front end (kms-spec §6.6)
  public static let validationException = Self("ValidationException")
  public static let serializationException = Self("SerializationException")
  public static let unknownOperationException = Self("UnknownOperationException")
  public static let throttlingException = Self("ThrottlingException")
  public static let accessDeniedException = Self("AccessDeniedException")
  public static let unrecognizedClientException = Self("UnrecognizedClientException")
  public static let invalidSignatureException = Self("InvalidSignatureException")
  public static let incompleteSignatureException = Self("IncompleteSignatureException")
  public static let missingAuthenticationTokenException = Self("MissingAuthenticationTokenException")
  // CloudHSM v2 (errors carry `Message`)
  public static let cloudHsmResourceNotFoundException = Self("CloudHsmResourceNotFoundException")
  public static let cloudHsmInvalidRequestException = Self("CloudHsmInvalidRequestException")
  public static let cloudHsmInternalFailureException = Self("CloudHsmInternalFailureException")

  /// HTTP status per kms-spec §6.4 (decision for open point 10.1: 400 for every client error).
  public var httpStatus: Int {
    switch self {
    case .kmsInternalException, .keyUnavailableException, .cloudHsmInternalFailureException: 500
    case .dependencyTimeoutException: 503
    default: 400
    }
  }
}

/// An AWS error: the exception name travels with the message, so every front door (wire, screen,
/// tests) reports the same code.
public struct KMSError: Error, Sendable, Equatable, CustomStringConvertible {
  public var code: KMSErrorCode
  public var message: String

  public init(_ code: KMSErrorCode, _ message: String) {
    self.code = code
    self.message = message
  }

  public var httpStatus: Int { code.httpStatus }
  public var description: String { "\(code.rawValue): \(message)" }
}

// Documented message templates (kms-spec §5.5); the rest are ours (open point 10.2).
extension KMSError {
  public static func keyNotFound(_ keyReference: String) -> KMSError {
    KMSError(.notFoundException, "Key '\(keyReference)' does not exist")
  }
  public static func aliasNotFound(_ aliasArn: String) -> KMSError {
    KMSError(.notFoundException, "Alias '\(aliasArn)' does not exist")
  }
  public static func keyUnavailable(_ keyArn: String) -> KMSError {
    KMSError(.kmsInvalidStateException, "\(keyArn) is unavailable.")
  }
  public static func keyDisabled(_ keyArn: String) -> KMSError {
    KMSError(.disabledException, "\(keyArn) is disabled.")
  }
  public static func keyPendingDeletion(_ keyArn: String) -> KMSError {
    KMSError(.kmsInvalidStateException, "\(keyArn) is pending deletion.")
  }
  public static func keyNotPendingDeletion(_ keyArn: String) -> KMSError {
    KMSError(.kmsInvalidStateException, "\(keyArn) is not pending deletion.")
  }
  public static func clusterUnreachable() -> KMSError {
    KMSError(.kmsInvalidStateException, "KMS cannot communicate with your CloudHSM cluster.")
  }
  public static func customKeyStoreNotFound(_ id: String) -> KMSError {
    KMSError(.customKeyStoreNotFoundException, "Custom key store '\(id)' does not exist.")
  }
  public static func customKeyStoreNameNotFound(_ name: String) -> KMSError {
    KMSError(.customKeyStoreNotFoundException, "No custom key store is named '\(name)'.")
  }
}
