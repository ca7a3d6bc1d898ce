import Foundation

// The XKS part of the fault target (`KmsdashSimulator.<Op>`, see SimulatorWire.swift): what a
// kmsdash engine last saw of each external key store's proxy, and the QA faults of proxies that
// are kmsdash's own (`kmsdash xks-proxy`), so `kmsdash --endpoint` shows and toggles what the
// embedded dashboard does.
//
// | X-Amz-Target                         | request                                    | response |
// |--------------------------------------|--------------------------------------------|----------|
// | KmsdashSimulator.DescribeXksHealth   | {"CustomKeyStoreIds"?: […]}                | {"XksHealth": {id: health}} |
// | KmsdashSimulator.ListXksProxyFaults  | {"CustomKeyStoreId"}                       | {"CustomKeyStoreId","Faults":[…],"AvailableFaults":[{"Name","Summary"}]} |
// | KmsdashSimulator.SetXksProxyFault    | {"CustomKeyStoreId","Fault","Enabled"?=true} | same as ListXksProxyFaults |
//
// Health records are `XKSStoreHealth` as JSON (its own member names, dates in epoch seconds);
// fault names are the raw values of `XKSQAFault`.

public struct DescribeXksHealthRequest: Codable, Sendable, Equatable {
  /// nil: every external key store.
  public var customKeyStoreIds: [String]?
  enum CodingKeys: String, CodingKey { case customKeyStoreIds = "CustomKeyStoreIds" }
  public init(customKeyStoreIds: [String]? = nil) { self.customKeyStoreIds = customKeyStoreIds }
}

public struct DescribeXksHealthResponse: Codable, Sendable, Equatable {
  public var xksHealth: [String: XKSStoreHealth]
  enum CodingKeys: String, CodingKey { case xksHealth = "XksHealth" }
  public init(xksHealth: [String: XKSStoreHealth]) { self.xksHealth = xksHealth }
}

public struct ListXksProxyFaultsRequest: Codable, Sendable, Equatable {
  public var customKeyStoreId: String
  enum CodingKeys: String, CodingKey { case customKeyStoreId = "CustomKeyStoreId" }
  public init(customKeyStoreId: String) { self.customKeyStoreId = customKeyStoreId }
}

public struct SetXksProxyFaultRequest: Codable, Sendable, Equatable {
  public var customKeyStoreId: String
  public var fault: String
  public var enabled: Bool?
  enum CodingKeys: String, CodingKey {
    case customKeyStoreId = "CustomKeyStoreId"
    case fault = "Fault"
    case enabled = "Enabled"
  }
  public init(customKeyStoreId: String, fault: String, enabled: Bool? = nil) {
    self.customKeyStoreId = customKeyStoreId
    self.fault = fault
    self.enabled = enabled
  }
}

public struct ListXksProxyFaultsResponse: Codable, Sendable, Equatable {
  public var customKeyStoreId: String
  public var faults: [String]
  public var availableFaults: [FaultDescription]
  /// The faults in force this version knows.
  public var setFaults: Set<XKSQAFault> { Set(faults.compactMap(XKSQAFault.init(rawValue:))) }
  enum CodingKeys: String, CodingKey {
    case customKeyStoreId = "CustomKeyStoreId"
    case faults = "Faults"
    case availableFaults = "AvailableFaults"
  }
  public init(customKeyStoreId: String, faults: Set<XKSQAFault>) {
    self.customKeyStoreId = customKeyStoreId
    self.faults = faults.sorted().map(\.rawValue)
    availableFaults = XKSQAFault.allCases.map { FaultDescription(name: $0.rawValue, summary: $0.summary) }
  }
}

extension DescribeXksHealthRequest: AWSValidatable {
  public func validationFailures(at path: String) -> [ValidationFailure] {
    var failures: [ValidationFailure] = []
    for (index, id) in (customKeyStoreIds ?? []).enumerated() {
      failures.checkLength(id, min: 1, at: path + "customKeyStoreIds.\(index + 1)", sensitive: false)
      failures.checkLength(id, max: 64, at: path + "customKeyStoreIds.\(index + 1)", sensitive: false)
    }
    return failures
  }
}

extension ListXksProxyFaultsRequest: AWSValidatable {
  public func validationFailures(at path: String) -> [ValidationFailure] {
    var failures: [ValidationFailure] = []
    failures.checkLength(customKeyStoreId, min: 1, at: path + "customKeyStoreId", sensitive: false)
    failures.checkLength(customKeyStoreId, max: 64, at: path + "customKeyStoreId", sensitive: false)
    return failures
  }
}

extension SetXksProxyFaultRequest: AWSValidatable {
  public func validationFailures(at path: String) -> [ValidationFailure] {
    var failures: [ValidationFailure] = []
    failures.checkLength(customKeyStoreId, min: 1, at: path + "customKeyStoreId", sensitive: false)
    failures.checkLength(customKeyStoreId, max: 64, at: path + "customKeyStoreId", sensitive: false)
    failures.checkEnum(fault, XKSQAFault.self, at: path + "fault")
    return failures
  }
}

/// Sets the QA faults of the XKS proxy at an endpoint (`kmsdash serve`: a `kmsdash xks-proxy`
/// reached through `--xks-route`, by its control endpoint). The engine finds a store's endpoint.
public protocol XKSProxyEndpointFaultControl: Sendable {
  func xksFaults(uriEndpoint: String) async throws -> Set<XKSQAFault>
  func setXKSFault(_ fault: XKSQAFault, enabled: Bool, uriEndpoint: String) async throws
}

extension SimulatorControl {
  public func xksHealth(customKeyStoreIds: [String]?) async throws -> [String: XKSStoreHealth] {
    throw KMSError(.unsupportedOperationException, "This endpoint reports no XKS proxy health.")
  }
  public func xksFaults(customKeyStoreId: String) async throws -> Set<XKSQAFault> {
    throw KMSError(.unsupportedOperationException, "This endpoint controls no XKS proxy.")
  }
  public func setXKSFault(_ fault: XKSQAFault, enabled: Bool, customKeyStoreId: String) async throws {
    throw KMSError(.unsupportedOperationException, "This endpoint controls no XKS proxy.")
  }
}
