import Foundation
import KMSModel

/// The XKS operations of the fault target (XKSSimulatorWire.swift) through the same caller as
/// the CloudHSM simulator controls: the remote dashboard's XKS detail and QA panel. Against an
/// endpoint that is not kmsdash they throw, saying so.
extension KMSHTTPClient: XKSProxyFaultControl {
  public func xksHealth(customKeyStoreIds: [String]?) async throws -> [String: XKSStoreHealth] {
    try await requireSimulator("DescribeXksHealth")
    return try await caller.xksHealth(customKeyStoreIds: customKeyStoreIds)
  }

  public func xksFaults(customKeyStoreId: String) async throws -> Set<XKSQAFault> {
    try await requireSimulator("ListXksProxyFaults")
    return try await caller.call(
      .simulator, SimulatorOperation.listXksProxyFaults.rawValue,
      ListXksProxyFaultsRequest(customKeyStoreId: customKeyStoreId), as: ListXksProxyFaultsResponse.self
    ).setFaults
  }

  public func setXKSFault(_ fault: XKSQAFault, enabled: Bool, customKeyStoreId: String) async throws {
    try await requireSimulator("SetXksProxyFault")
    _ = try await caller.call(
      .simulator, SimulatorOperation.setXksProxyFault.rawValue,
      SetXksProxyFaultRequest(customKeyStoreId: customKeyStoreId, fault: fault.rawValue, enabled: enabled),
      as: ListXksProxyFaultsResponse.self)
    await poller.refreshSoon()
  }
}

extension KMSCaller {
  func xksHealth(customKeyStoreIds: [String]?) async throws -> [String: XKSStoreHealth] {
    try await call(
      .simulator, SimulatorOperation.describeXksHealth.rawValue,
      DescribeXksHealthRequest(customKeyStoreIds: customKeyStoreIds), as: DescribeXksHealthResponse.self
    ).xksHealth
  }
}
