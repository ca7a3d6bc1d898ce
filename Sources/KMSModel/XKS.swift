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
public protocol XKSProxyCalling: Sendable {
  func getHealthStatus(_ target: XKSProxyTarget, metadata: XKSRequestMetadata) async throws(XKSCallFailure)
    -> XKSHealthResponse
  func getKeyMetadata(_ target: XKSProxyTarget, keyId: String, metadata: XKSRequestMetadata)
    async throws(XKSCallFailure) -> XKSKeyMetadataResponse
  func encrypt(_ target: XKSProxyTarget, keyId: String, request: XKSEncryptRequest)
    async throws(XKSCallFailure)
    -> XKSEncryptResponse
  func decrypt(_ target: XKSProxyTarget, keyId: String, request: XKSDecryptRequest)
    async throws(XKSCallFailure)
    -> XKSDecryptResponse
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
