import Foundation

/// A simulated VPC endpoint service in the account (as the CloudHSM clusters are simulated): what
/// an external key store with `VPC_ENDPOINT_SERVICE` connectivity reaches its proxy through. KMS
/// checks it on Create/UpdateCustomKeyStore and on every connect; a store's endpoint must be
/// `https://<privateDnsName>`, and its calls then go where `--xks-route` sends that host.
public struct XKSVPCEndpointService: Sendable, Equatable, Codable {
  public var serviceName: String
  public var privateDnsName: String
  public var privateDnsVerified: Bool
  public var allowedPrincipals: [String]
  public var acceptanceRequired: Bool
  /// Availability Zones of the network load balancer (KMS needs at least two).
  public var availabilityZones: Int
  /// Set by QA (`KmsdashSimulator.SetXksVpcEndpointServiceFault`) on top of the configuration.
  public var faults: Set<XKSVPCEndpointServiceFault>

  enum CodingKeys: String, CodingKey {
    case serviceName = "ServiceName"
    case privateDnsName = "PrivateDnsName"
    case privateDnsVerified = "PrivateDnsVerified"
    case allowedPrincipals = "AllowedPrincipals"
    case acceptanceRequired = "AcceptanceRequired"
    case availabilityZones = "AvailabilityZones"
    case faults = "Faults"
  }

  public init(
    serviceName: String, privateDnsName: String, privateDnsVerified: Bool = true,
    allowedPrincipals: [String], acceptanceRequired: Bool = false, availabilityZones: Int = 2,
    faults: Set<XKSVPCEndpointServiceFault> = []
  ) {
    self.serviceName = serviceName
    self.privateDnsName = privateDnsName
    self.privateDnsVerified = privateDnsVerified
    self.allowedPrincipals = allowedPrincipals
    self.acceptanceRequired = acceptanceRequired
    self.availabilityZones = availabilityZones
    self.faults = faults
  }

  /// The principal KMS uses in `region` (it must be allowed).
  public static func kmsPrincipal(region: String) -> String { "cks.kms.\(region).amazonaws.com" }

  /// The spec's pattern for `XksProxyVpcEndpointServiceName`.
  public static func isValidName(_ name: String) -> Bool {
    (20...64).contains(name.count)
      && name.wholeMatch(of: /(com|eu)\.amazonaws\.vpce\.([a-z]+-){2,3}\d+\.vpce-svc-[0-9a-z]+/) != nil
  }

  /// Why KMS cannot use it: the service cannot be found (deleted, or the KMS principal is not
  /// allowed) or breaks a requirement. nil: usable.
  public enum Problem: Sendable, Equatable {
    case notFound(String)
    case invalidConfiguration(String)
  }

  public func problem(region: String) -> Problem? {
    if faults.contains(.deleted) {
      return .notFound("The VPC endpoint service \(serviceName) was not found.")
    }
    let principal = Self.kmsPrincipal(region: region)
    if faults.contains(.principalNotAllowed) || !allowedPrincipals.contains(principal) {
      return .notFound(
        "The VPC endpoint service \(serviceName) does not allow the principal \(principal) to connect.")
    }
    if faults.contains(.privateDnsUnverified) || !privateDnsVerified {
      return .invalidConfiguration(
        "The private DNS name \(privateDnsName) of the VPC endpoint service \(serviceName) is not verified.")
    }
    if faults.contains(.acceptanceRequired) || acceptanceRequired {
      return .invalidConfiguration(
        "The VPC endpoint service \(serviceName) requires acceptance of endpoint connections.")
    }
    if faults.contains(.singleAvailabilityZone) || availabilityZones < 2 {
      return .invalidConfiguration(
        "The network load balancer of the VPC endpoint service \(serviceName) is not in at least two Availability Zones."
      )
    }
    return nil
  }
}

/// What QA can break in a simulated VPC endpoint service (and mend again).
public enum XKSVPCEndpointServiceFault: String, Sendable, Codable, CaseIterable, Hashable, Comparable {
  case deleted = "DELETED"
  case principalNotAllowed = "KMS_PRINCIPAL_NOT_ALLOWED"
  case privateDnsUnverified = "PRIVATE_DNS_UNVERIFIED"
  case acceptanceRequired = "ACCEPTANCE_REQUIRED"
  case singleAvailabilityZone = "SINGLE_AVAILABILITY_ZONE"

  public var summary: String {
    switch self {
    case .deleted: "the endpoint service is deleted"
    case .principalNotAllowed: "cks.kms.<region>.amazonaws.com is not an allowed principal"
    case .privateDnsUnverified: "the private DNS name's domain is not verified"
    case .acceptanceRequired: "endpoint connections need acceptance"
    case .singleAvailabilityZone: "the load balancer is in one Availability Zone"
    }
  }

  public static func < (a: Self, b: Self) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

// Simulator operations (see SimulatorWire.swift):
// | KmsdashSimulator.ListXksVpcEndpointServices     | {}                                         | {"VpcEndpointServices": […]} |
// | KmsdashSimulator.SetXksVpcEndpointServiceFault  | {"ServiceName","Fault","Enabled"?=true}    | {"VpcEndpointService": {…}} |

public struct ListXksVpcEndpointServicesRequest: Codable, Sendable, Equatable, AWSValidatable {
  public init() {}
  public func validationFailures(at path: String) -> [ValidationFailure] { [] }
}

public struct ListXksVpcEndpointServicesResponse: Codable, Sendable, Equatable {
  public var vpcEndpointServices: [XKSVPCEndpointService]
  enum CodingKeys: String, CodingKey { case vpcEndpointServices = "VpcEndpointServices" }
  public init(vpcEndpointServices: [XKSVPCEndpointService]) { self.vpcEndpointServices = vpcEndpointServices }
}

public struct SetXksVpcEndpointServiceFaultRequest: Codable, Sendable, Equatable, AWSValidatable {
  public var serviceName: String
  public var fault: String
  public var enabled: Bool?
  enum CodingKeys: String, CodingKey {
    case serviceName = "ServiceName"
    case fault = "Fault"
    case enabled = "Enabled"
  }
  public init(serviceName: String, fault: String, enabled: Bool? = nil) {
    self.serviceName = serviceName
    self.fault = fault
    self.enabled = enabled
  }
  public func validationFailures(at path: String) -> [ValidationFailure] {
    var failures: [ValidationFailure] = []
    failures.checkLength(serviceName, min: 1, at: path + "serviceName", sensitive: false)
    failures.checkLength(serviceName, max: 64, at: path + "serviceName", sensitive: false)
    failures.checkEnum(fault, XKSVPCEndpointServiceFault.self, at: path + "fault")
    return failures
  }
}

public struct SetXksVpcEndpointServiceFaultResponse: Codable, Sendable, Equatable {
  public var vpcEndpointService: XKSVPCEndpointService
  enum CodingKeys: String, CodingKey { case vpcEndpointService = "VpcEndpointService" }
  public init(vpcEndpointService: XKSVPCEndpointService) { self.vpcEndpointService = vpcEndpointService }
}

extension SimulatorControl {
  public func xksVpcEndpointServices() async throws -> [XKSVPCEndpointService] {
    throw KMSError(.unsupportedOperationException, "This endpoint simulates no VPC endpoint services.")
  }
  public func setXKSVPCEndpointServiceFault(
    _ fault: XKSVPCEndpointServiceFault, enabled: Bool, serviceName: String
  ) async throws -> XKSVPCEndpointService {
    throw KMSError(.unsupportedOperationException, "This endpoint simulates no VPC endpoint services.")
  }
}

extension KMSErrorCode {
  public static let xksProxyVpcEndpointServiceNotFoundException = Self(
    "XksProxyVpcEndpointServiceNotFoundException")
  public static let xksProxyVpcEndpointServiceInvalidConfigurationException = Self(
    "XksProxyVpcEndpointServiceInvalidConfigurationException")
}
