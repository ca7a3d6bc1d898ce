import Foundation

/// What KMS knows about an external key store's proxy beyond `DescribeCustomKeyStores`: the
/// CloudWatch metrics of the guide (XksProxyLatency, XksProxyErrors, XksExternalKeyManagerStates,
/// XksProxyCredentialAge, XksProxyCertificateDaysToExpire) as the engine last saw them. Only a
/// kmsdash engine has it; the dashboard shows it for XKS stores.
public struct XKSStoreHealth: Sendable, Equatable, Codable {
  /// One member of the external key manager fleet, as GetHealthStatus reported it.
  public struct EKMMember: Sendable, Equatable, Codable {
    public var id: String
    public var model: String?
    /// `ACTIVE`, `DEGRADED` or `UNAVAILABLE` (or what the proxy said).
    public var healthStatus: String
    public init(id: String, model: String?, healthStatus: String) {
      self.id = id
      self.model = model
      self.healthStatus = healthStatus
    }
  }

  /// The last GetHealthStatus (connect or periodic `KmsHealthCheck`), when there was one.
  public var checkedAt: Date?
  /// Which call it was (`ConnectCustomKeyStore`, `KmsHealthCheck`, …).
  public var checkOperation: String?
  /// Its round trip, against KMS's 250 ms bound.
  public var latencyMilliseconds: Double?
  /// nil when it answered; else what went wrong (an errorName, a timeout, a TLS failure, …).
  public var failure: String?
  /// The `ConnectionErrorCode` a connect would get from that answer (nil: it would connect).
  public var connectOutcome: ConnectionErrorCodeType?
  public var proxyVendor: String?
  public var proxyModel: String?
  public var ekmVendor: String?
  public var ekmFleet: [EKMMember]
  /// Proxy errors by name (errorName, or a transport failure such as `Timeout`) since the
  /// store was created, from every call KMS made to the proxy.
  public var errorCounts: [String: Int]
  /// When the XKS proxy authentication credential was last set (create or update).
  public var credentialSetAt: Date?
  /// The `notAfter` of the proxy's TLS certificate, when one was seen (nil over plain HTTP).
  public var certificateNotAfter: Date?
  /// `VPC_ENDPOINT_SERVICE` connectivity: the store's endpoint service as the account has it now
  /// (filled in when the health is read, never saved with the store).
  public var vpcEndpointService: XKSVPCEndpointServiceStatus?

  public init(
    checkedAt: Date? = nil, checkOperation: String? = nil, latencyMilliseconds: Double? = nil,
    failure: String? = nil, connectOutcome: ConnectionErrorCodeType? = nil, proxyVendor: String? = nil,
    proxyModel: String? = nil, ekmVendor: String? = nil, ekmFleet: [EKMMember] = [],
    errorCounts: [String: Int] = [:], credentialSetAt: Date? = nil, certificateNotAfter: Date? = nil
  ) {
    self.checkedAt = checkedAt
    self.checkOperation = checkOperation
    self.latencyMilliseconds = latencyMilliseconds
    self.failure = failure
    self.connectOutcome = connectOutcome
    self.proxyVendor = proxyVendor
    self.proxyModel = proxyModel
    self.ekmVendor = ekmVendor
    self.ekmFleet = ekmFleet
    self.errorCounts = errorCounts
    self.credentialSetAt = credentialSetAt
    self.certificateNotAfter = certificateNotAfter
  }

  /// KMS times out every proxy call after this long.
  public static let timeoutMilliseconds = 250.0
}

/// A store's simulated VPC endpoint service as KMS's connect check sees it.
public struct XKSVPCEndpointServiceStatus: Sendable, Equatable, Codable {
  public var serviceName: String
  /// The service as the account has it; nil when the account has no such service.
  public var service: XKSVPCEndpointService?
  /// The code a connect gets from the service now (nil: the check passes), and why.
  public var connectOutcome: ConnectionErrorCodeType?
  public var problem: String?

  public init(
    serviceName: String, service: XKSVPCEndpointService?, connectOutcome: ConnectionErrorCodeType?,
    problem: String?
  ) {
    self.serviceName = serviceName
    self.service = service
    self.connectOutcome = connectOutcome
    self.problem = problem
  }
}

/// The faults the dashboard's QA panel toggles on an embedded XKS proxy (issue 10 §1's list).
/// Raw values are the names shown and used by `kmsdash fault --xks-proxy`.
public enum XKSQAFault: String, Sendable, CaseIterable, Hashable, Comparable {
  case latency300ms = "LATENCY_300MS"
  case refuseConnections = "REFUSE_CONNECTIONS"
  case resetMidResponse = "RESET_MID_RESPONSE"
  case authenticationFailed = "AuthenticationFailedException"
  case accessDenied = "AccessDeniedException"
  case invalidUriPath = "InvalidUriPathException"
  case throttling = "ThrottlingException"
  case internalError = "InternalException"
  case malformedHTML = "MALFORMED_HTML"
  case wrongTagLength = "WRONG_TAG_LENGTH"
  case ekmUnavailable = "EKM_UNAVAILABLE"
  case ekmDegraded = "EKM_DEGRADED"
  case denyKMS = "DENY_KMS_PRINCIPAL"
  case disableDemoKey = "DISABLE_DEMO_AES_1"
  case expiredCertificate = "EXPIRED_CERTIFICATE"
  case wrongNameCertificate = "WRONG_NAME_CERTIFICATE"

  public var summary: String {
    switch self {
    case .latency300ms: "every answer 300 ms late (KMS gives up at 250 ms)"
    case .refuseConnections: "connections reset before any byte"
    case .resetMidResponse: "half an answer, then a reset"
    case .authenticationFailed: "401: the SigV4 signature is refused"
    case .accessDenied: "403: secondary authorization denies"
    case .invalidUriPath: "404: the URI path is unknown"
    case .throttling: "429: over the request rate"
    case .internalError: "500: the EKM failed"
    case .malformedHTML: "200 with an HTML page"
    case .wrongTagLength: "Encrypt answers a 12-byte tag"
    case .ekmUnavailable: "every EKM member UNAVAILABLE"
    case .ekmDegraded: "some EKM members DEGRADED"
    case .denyKMS: "the KMS principal is denied (crypto only)"
    case .disableDemoKey: "external key demo-aes-1 DISABLED"
    case .expiredCertificate: "the TLS certificate has expired"
    case .wrongNameCertificate: "the TLS certificate names another host"
    }
  }

  public static func < (a: Self, b: Self) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// QA control of the XKS proxies that run inside this process (the dashboard's embedded proxy).
public protocol XKSProxyFaultControl: Sendable {
  /// The faults in force on the proxy behind an external key store; throws when no embedded
  /// proxy serves that store.
  func xksFaults(customKeyStoreId: String) async throws -> Set<XKSQAFault>
  func setXKSFault(_ fault: XKSQAFault, enabled: Bool, customKeyStoreId: String) async throws
}
