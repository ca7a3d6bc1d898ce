import Foundation
import KMSModel

/// The simulated VPC endpoint services of a `kmsdash serve` (XKSVPC.swift): what `kmsdash fault
/// --vpc-endpoint-service` lists, breaks and mends. Not probed first, like `listFaults`: the
/// endpoint's own error (an unknown operation on a server that is not kmsdash) is the answer.
extension KMSHTTPClient {
  public func xksVpcEndpointServices() async throws -> [XKSVPCEndpointService] {
    try await caller.call(
      .simulator, SimulatorOperation.listXksVpcEndpointServices.rawValue, ListXksVpcEndpointServicesRequest(),
      as: ListXksVpcEndpointServicesResponse.self
    ).vpcEndpointServices
  }

  /// Sets or clears one fault; returns the service as it is now.
  @discardableResult
  public func setXKSVPCEndpointServiceFault(
    _ fault: XKSVPCEndpointServiceFault, enabled: Bool, serviceName: String
  ) async throws -> XKSVPCEndpointService {
    let answer = try await caller.call(
      .simulator, SimulatorOperation.setXksVpcEndpointServiceFault.rawValue,
      SetXksVpcEndpointServiceFaultRequest(serviceName: serviceName, fault: fault.rawValue, enabled: enabled),
      as: SetXksVpcEndpointServiceFaultResponse.self)
    await poller.refreshSoon()
    return answer.vpcEndpointService
  }
}
