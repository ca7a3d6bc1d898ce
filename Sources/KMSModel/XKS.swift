import Foundation

// The XKS Proxy API v1 (aws/aws-kms-xksproxy-api-spec, xks_proxy_api_spec.md) as both sides
// speak it: the simulated proxy (`XKSProxy`) serves these shapes, the engine's client
// (`XKSClient`) sends them. Binary members are standard Base64 strings on the wire.

/// `requestMetadata` of every proxy request. Only `kmsRequestId` and `kmsOperation` are always
/// present (GetHealthStatus carries nothing else); the proxy must not validate their content.
public struct XKSRequestMetadata: Codable, Sendable, Equatable {
  public var awsPrincipalArn: String?
  public var awsSourceVpc: String?
  public var awsSourceVpce: String?
  public var kmsKeyArn: String?
  public var kmsOperation: String?
  public var kmsRequestId: String?
  public var kmsViaService: String?

  public init(
    awsPrincipalArn: String? = nil, awsSourceVpc: String? = nil, awsSourceVpce: String? = nil,
    kmsKeyArn: String? = nil, kmsOperation: String? = nil, kmsRequestId: String? = nil,
    kmsViaService: String? = nil
  ) {
    self.awsPrincipalArn = awsPrincipalArn
    self.awsSourceVpc = awsSourceVpc
    self.awsSourceVpce = awsSourceVpce
    self.kmsKeyArn = kmsKeyArn
    self.kmsOperation = kmsOperation
    self.kmsRequestId = kmsRequestId
    self.kmsViaService = kmsViaService
  }
}

/// The body of GetHealthStatus and GetKeyMetadata requests.
public struct XKSMetadataOnlyRequest: Codable, Sendable, Equatable {
  public var requestMetadata: XKSRequestMetadata?
  public init(requestMetadata: XKSRequestMetadata?) { self.requestMetadata = requestMetadata }
}

public struct XKSEncryptRequest: Codable, Sendable, Equatable {
  public var requestMetadata: XKSRequestMetadata?
  public var plaintext: String?
  public var encryptionAlgorithm: String?
  public var additionalAuthenticatedData: String?
  public var ciphertextDataIntegrityValueAlgorithm: String?

  public init(
    requestMetadata: XKSRequestMetadata?, plaintext: String?, encryptionAlgorithm: String? = "AES_GCM",
    additionalAuthenticatedData: String? = nil, ciphertextDataIntegrityValueAlgorithm: String? = nil
  ) {
    self.requestMetadata = requestMetadata
    self.plaintext = plaintext
    self.encryptionAlgorithm = encryptionAlgorithm
    self.additionalAuthenticatedData = additionalAuthenticatedData
    self.ciphertextDataIntegrityValueAlgorithm = ciphertextDataIntegrityValueAlgorithm
  }
}

public struct XKSEncryptResponse: Codable, Sendable, Equatable {
  public var ciphertext: String?
  public var ciphertextMetadata: String?
  public var initializationVector: String?
  public var authenticationTag: String?
  public var ciphertextDataIntegrityValue: String?

  public init(
    ciphertext: String?, ciphertextMetadata: String?, initializationVector: String?,
    authenticationTag: String?, ciphertextDataIntegrityValue: String?
  ) {
    self.ciphertext = ciphertext
    self.ciphertextMetadata = ciphertextMetadata
    self.initializationVector = initializationVector
    self.authenticationTag = authenticationTag
    self.ciphertextDataIntegrityValue = ciphertextDataIntegrityValue
  }
}

public struct XKSDecryptRequest: Codable, Sendable, Equatable {
  public var requestMetadata: XKSRequestMetadata?
  public var ciphertext: String?
  public var ciphertextMetadata: String?
  public var encryptionAlgorithm: String?
  public var additionalAuthenticatedData: String?
  public var initializationVector: String?
  public var authenticationTag: String?

  public init(
    requestMetadata: XKSRequestMetadata?, ciphertext: String?, ciphertextMetadata: String? = nil,
    encryptionAlgorithm: String? = "AES_GCM", additionalAuthenticatedData: String? = nil,
    initializationVector: String?, authenticationTag: String?
  ) {
    self.requestMetadata = requestMetadata
    self.ciphertext = ciphertext
    self.ciphertextMetadata = ciphertextMetadata
    self.encryptionAlgorithm = encryptionAlgorithm
    self.additionalAuthenticatedData = additionalAuthenticatedData
    self.initializationVector = initializationVector
    self.authenticationTag = authenticationTag
  }
}

public struct XKSDecryptResponse: Codable, Sendable, Equatable {
  public var plaintext: String?
  public init(plaintext: String?) { self.plaintext = plaintext }
}

public struct XKSKeyMetadataResponse: Codable, Sendable, Equatable {
  public var keySpec: String?
  public var keyUsage: [String]?
  public var keyStatus: String?
  public init(keySpec: String?, keyUsage: [String]?, keyStatus: String?) {
    self.keySpec = keySpec
    self.keyUsage = keyUsage
    self.keyStatus = keyStatus
  }
}

public struct XKSEkmFleetMember: Codable, Sendable, Equatable {
  public var id: String?
  public var model: String?
  public var healthStatus: String?
  public init(id: String?, model: String?, healthStatus: String?) {
    self.id = id
    self.model = model
    self.healthStatus = healthStatus
  }
}

public struct XKSHealthResponse: Codable, Sendable, Equatable {
  public var xksProxyFleetSize: Int?
  public var xksProxyVendor: String?
  public var xksProxyModel: String?
  public var ekmVendor: String?
  public var ekmFleetDetails: [XKSEkmFleetMember]?

  public init(
    xksProxyFleetSize: Int?, xksProxyVendor: String?, xksProxyModel: String?, ekmVendor: String?,
    ekmFleetDetails: [XKSEkmFleetMember]?
  ) {
    self.xksProxyFleetSize = xksProxyFleetSize
    self.xksProxyVendor = xksProxyVendor
    self.xksProxyModel = xksProxyModel
    self.ekmVendor = ekmVendor
    self.ekmFleetDetails = ekmFleetDetails
  }
}

/// The proxy's error body: `{"errorName": …, "errorMessage": …}` (message optional).
public struct XKSErrorBody: Codable, Sendable, Equatable {
  public var errorName: String?
  public var errorMessage: String?
  public init(errorName: String?, errorMessage: String? = nil) {
    self.errorName = errorName
    self.errorMessage = errorMessage
  }
}

/// The spec's error table: every `errorName` with its HTTP status.
public enum XKSErrorName: String, Sendable, CaseIterable, Codable {
  case validationException = "ValidationException"
  case invalidStateException = "InvalidStateException"
  case invalidCiphertextException = "InvalidCiphertextException"
  case invalidKeyUsageException = "InvalidKeyUsageException"
  case authenticationFailedException = "AuthenticationFailedException"
  case accessDeniedException = "AccessDeniedException"
  case keyNotFoundException = "KeyNotFoundException"
  case invalidUriPathException = "InvalidUriPathException"
  case throttlingException = "ThrottlingException"
  case unsupportedOperationException = "UnsupportedOperationException"
  case dependencyTimeoutException = "DependencyTimeoutException"
  case internalException = "InternalException"

  public var httpStatus: Int {
    switch self {
    case .validationException, .invalidStateException, .invalidCiphertextException, .invalidKeyUsageException:
      400
    case .authenticationFailedException: 401
    case .accessDeniedException: 403
    case .keyNotFoundException, .invalidUriPathException: 404
    case .throttlingException: 429
    case .unsupportedOperationException: 501
    case .dependencyTimeoutException: 503
    case .internalException: 500
    }
  }
}

/// The four proxy operations.
public enum XKSOperation: String, Sendable, CaseIterable, Codable {
  case getHealthStatus = "GetHealthStatus"
  case getKeyMetadata = "GetKeyMetadata"
  case encrypt = "Encrypt"
  case decrypt = "Decrypt"
}

/// Why a proxy call failed, as KMS tells the cases apart (the spec's KMS-considerations table).
public enum XKSCallFailure: Error, Sendable, Equatable, CustomStringConvertible {
  /// The proxy answered with a well-formed error body.
  case proxyError(XKSErrorName)
  /// The answer could not be interpreted (not JSON, unknown errorName, missing or wrong fields).
  case malformedResponse(String)
  /// No answer within KMS's 250 ms.
  case timedOut
  /// No TCP connection (refused, reset, unknown host).
  case notReachable(String)
  /// No TLS connection (handshake, untrusted or expired certificate, wrong name).
  case tlsFailure(String)
  /// The decrypted or encrypted value the proxy returned does not check out (tag length, CDIV).
  case invalidCiphertextReturned

  /// The name the dashboard counts the failure under (XksProxyErrors by errorName).
  public var errorLabel: String {
    switch self {
    case .proxyError(let name): name.rawValue
    case .malformedResponse: "MalformedResponse"
    case .timedOut: "Timeout"
    case .notReachable: "ConnectionFailure"
    case .tlsFailure: "TlsFailure"
    case .invalidCiphertextReturned: "InvalidCiphertextReturned"
    }
  }

  public var description: String {
    switch self {
    case .proxyError(let name): "proxy error \(name.rawValue)"
    case .malformedResponse(let detail): "malformed response: \(detail)"
    case .timedOut: "timed out"
    case .notReachable(let detail): "not reachable: \(detail)"
    case .tlsFailure(let detail): "TLS failure: \(detail)"
    case .invalidCiphertextReturned: "invalid ciphertext returned"
    }
  }
}

/// Where and as whom the engine calls a proxy.
public struct XKSProxyTarget: Sendable, Equatable {
  /// `https://host` (KMS's `XksProxyUriEndpoint`).
  public var uriEndpoint: String
  /// `[/prefix]/kms/xks/v1`.
  public var uriPath: String
  public var accessKeyId: String
  public var secretAccessKey: String
  /// The calling KMS Region (in the SigV4 scope).
  public var region: String

  public init(
    uriEndpoint: String, uriPath: String, accessKeyId: String, secretAccessKey: String, region: String
  ) {
    self.uriEndpoint = uriEndpoint
    self.uriPath = uriPath
    self.accessKeyId = accessKeyId
    self.secretAccessKey = secretAccessKey
    self.region = region
  }
}

/// The engine's view of an XKS proxy client: the app injects one (`XKSClient` over real
/// HTTP(S)); tests inject fakes. Every call is bounded (KMS: 250 ms) and never throws anything
/// but `XKSCallFailure`.
/// A proxy reached in the same process (the dashboard's embedded demo proxy): the same signed
/// request and the same answer bytes as over a socket, without one. The client still bounds the
/// exchange by KMS's 250 ms and reads the answer with the same codec.
public protocol XKSInProcessExchange: Sendable {
  /// Answers one request as the proxy's server would: status and body, or how the connection
  /// failed (refused, reset, TLS). Waits as long as the proxy's latency says.
  func exchange(method: String, path: String, headers: [(name: String, value: String)], body: Data) async
    -> Result<(status: Int, body: Data), XKSCallFailure>
}

public protocol XKSProxyCalling: Sendable {
  func getHealthStatus(_ target: XKSProxyTarget, metadata: XKSRequestMetadata) async throws(XKSCallFailure)
    -> XKSHealthResponse
  func getKeyMetadata(_ target: XKSProxyTarget, keyId: XKSKeyID, metadata: XKSRequestMetadata)
    async throws(XKSCallFailure) -> XKSKeyMetadataResponse
  func encrypt(_ target: XKSProxyTarget, keyId: XKSKeyID, request: XKSEncryptRequest)
    async throws(XKSCallFailure)
    -> XKSEncryptResponse
  func decrypt(_ target: XKSProxyTarget, keyId: XKSKeyID, request: XKSDecryptRequest)
    async throws(XKSCallFailure)
    -> XKSDecryptResponse
  /// The `notAfter` of the TLS certificate the proxy presents now, read from a verified
  /// handshake (KMS's `XksProxyCertificateDaysToExpire`); nil over plain HTTP, in process, or
  /// when no verified handshake completes within the bound.
  func serverCertificateNotAfter(_ target: XKSProxyTarget) async -> Date?
}

extension XKSProxyCalling {
  public func serverCertificateNotAfter(_ target: XKSProxyTarget) async -> Date? { nil }
}

/// The spec's AAD construction for the external key manager (Encrypt, ciphertextMetadata):
/// 2-byte big-endian length of the AAD ‖ AAD ‖ 1-byte length of the metadata ‖ metadata.
public enum XKSAAD {
  public static func ekmAAD(aad: Data?, ciphertextMetadata: Data?) -> Data {
    let aad = aad ?? Data()
    let metadata = ciphertextMetadata ?? Data()
    var out = Data()
    out.append(UInt8((aad.count >> 8) & 0xFF))
    out.append(UInt8(aad.count & 0xFF))
    out.append(aad)
    out.append(UInt8(metadata.count & 0xFF))
    out.append(metadata)
    return out
  }

  /// Appendix C: SHA-256 input, AAD ‖ ciphertextMetadata ‖ IV ‖ ciphertext ‖ tag (no lengths).
  public static func cdivInput(aad: Data?, metadata: Data?, iv: Data, ciphertext: Data, tag: Data) -> Data {
    (aad ?? Data()) + (metadata ?? Data()) + iv + ciphertext + tag
  }
}

extension KMSErrorCode {
  public static let xksProxyUriUnreachableException = Self("XksProxyUriUnreachableException")
  public static let xksProxyIncorrectAuthenticationCredentialException = Self(
    "XksProxyIncorrectAuthenticationCredentialException")
  public static let xksProxyInvalidResponseException = Self("XksProxyInvalidResponseException")
  public static let xksProxyInvalidConfigurationException = Self("XksProxyInvalidConfigurationException")
  public static let xksKeyNotFoundException = Self("XksKeyNotFoundException")
  public static let xksKeyInvalidConfigurationException = Self("XksKeyInvalidConfigurationException")
  public static let xksKeyInvalidResponseException = Self("XksKeyInvalidResponseException")
}

/// AWS KMS's wire messages for proxy outcomes (the spec's KMS-considerations table). The proxy's
/// own `errorMessage` never reaches a KMS caller.
public enum XKSMessages {
  public static let cannotInterpret =
    "AWS KMS cannot interpret the response from the external key store proxy. If you see this error repeatedly, report it to your external key store proxy administrator."
  public static let keyNotEnabled =
    "The external key associated with this KMS key in an external key store is not enabled in the external key manager. Enable the external key in the external key manager and retry the request."
  public static let invalidCiphertext =
    "The external key store proxy rejected the request because the specified ciphertext or encryption context is corrupted, missing, or otherwise invalid."
  public static let invalidCiphertextReturned =
    "The ciphertext that the external key store proxy submitted for decryption, or the encryption context, is corrupted, missing, or otherwise invalid."
  public static let keyUsage =
    "The external key associated with this KMS key in an external key store does not support the requested operation. Enable the operation on the key in your external key manager, and try the request again."
  public static let authentication =
    "The external key store proxy rejected the request because it could not authenticate AWS KMS. Verify the XKS proxy authentication credentials for your external key store and update if necessary."
  public static let accessDenied =
    "The external key store proxy denied access to the operation. Verify that the user and the external key are both authorized for this operation, and try the request again."
  public static let keyNotFound =
    "The external key associated with this KMS key in an external key store was not found in its external key manager. If the external key ID associated with this KMS key is incorrect, create a new KMS key with the correct external key ID."
  public static let invalidUriPath =
    "The external key store proxy rejected the request because of an invalid URI path. Verify the URI path for your external key store and update if necessary."
  public static let unsupportedOperation =
    "The external key store proxy rejected the request because it does not support the requested operation. If you see this error repeatedly, report it to your external key store proxy administrator."
  public static let dependencyTimeout =
    "The external key store proxy did not respond to the request in the time allotted. Retry the request. If you see this error repeatedly, report it to your external key store proxy administrator."
  public static let throttling =
    "The external key store proxy rejected the request due to a very high request rate. Reduce the frequency of your calls using KMS keys in this external key store."
  public static let internalFailure =
    "The external key store proxy rejected the request because it cannot communicate with the external key manager. Verify that the external key store proxy configuration is correct and that the external key manager is available."
  public static let noTCP =
    "AWS KMS cannot communicate with the external key store proxy. This might be a transient network issue. If you see this error repeatedly, verify that your external key store proxy is active and is connected to the network, and that its endpoint URI is correct in your external keystore."
  public static let noTLS =
    "AWS KMS cannot establish a TLS connection to the external key store proxy. Verify the TLS configuration, including its certificate."
  public static let socketTimeout =
    "AWS KMS rejected the request because the external key store proxy did not respond in time. Retry the request. If you see this error repeatedly, report it to your external key store proxy administrator."
  public static let notConnected =
    "This KMS key is in a custom key store that is not connected to its external key store proxy. Connect the external key store and try the request again."
  /// GetHealthStatus reported every external key manager UNAVAILABLE (kmsdash's wording).
  public static let ekmUnavailable =
    "The external key store proxy reports that every external key manager in its fleet is UNAVAILABLE. Bring the external key manager up and try the request again."

  /// The message KMS gives for a failed proxy call.
  public static func message(for failure: XKSCallFailure) -> String {
    switch failure {
    case .proxyError(let name):
      switch name {
      case .validationException: cannotInterpret
      case .invalidStateException: keyNotEnabled
      case .invalidCiphertextException: invalidCiphertext
      case .invalidKeyUsageException: keyUsage
      case .authenticationFailedException: authentication
      case .accessDeniedException: accessDenied
      case .keyNotFoundException: keyNotFound
      case .invalidUriPathException: invalidUriPath
      case .throttlingException: throttling
      case .unsupportedOperationException: unsupportedOperation
      case .dependencyTimeoutException: dependencyTimeout
      case .internalException: internalFailure
      }
    case .malformedResponse: cannotInterpret
    case .timedOut: socketTimeout
    case .notReachable: noTCP
    case .tlsFailure: noTLS
    case .invalidCiphertextReturned: invalidCiphertextReturned
    }
  }
}
