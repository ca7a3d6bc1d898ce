import Foundation
import KMSModel

/// `VPC_ENDPOINT_SERVICE` connectivity: simulated VPC endpoint services in the account (scenario
/// entries, saved with the engine), checked as KMS checks them on Create/UpdateCustomKeyStore
/// (`XksProxyVpcEndpointService…Exception`) and on connect (`XKS_VPC_ENDPOINT_SERVICE_…`); a
/// store that passes reaches its proxy at `https://<privateDnsName>` through the route.
extension KeyStoreEngine {
  // The SimulatorControl operations are async, like the requirements they satisfy: a sync
  // overload would lose to the protocol's default in async callers.

  /// The services, sorted by name.
  public func xksVpcEndpointServices() async -> [XKSVPCEndpointService] {
    xks.vpcServices.values.sorted { $0.serviceName < $1.serviceName }
  }

  /// Adds (or replaces) services; one transaction.
  public func addXKSVPCEndpointServices(_ services: [XKSVPCEndpointService]) throws(KMSError) {
    for service in services where !XKSVPCEndpointService.isValidName(service.serviceName) {
      throw KMSError.validation([
        ValidationFailure(
          member: "xksProxyVpcEndpointServiceName", renderedValue: service.serviceName,
          constraint:
            "Member must satisfy regular expression pattern: ^(com|eu)\\.amazonaws\\.vpce\\.([a-z]+-){2,3}\\d+\\.vpce-svc-[0-9a-z]+$"
        )
      ])
    }
    try transaction(forceSave: true) { () throws(KMSError) in
      for service in services { xks.vpcServices[service.serviceName] = service }
    }
  }

  /// Breaks or mends one thing in a service (QA); one transaction.
  public func setXKSVPCEndpointServiceFault(
    _ fault: XKSVPCEndpointServiceFault, enabled: Bool, serviceName: String
  ) async throws(KMSError) -> XKSVPCEndpointService {
    try transaction(forceSave: true) { () throws(KMSError) -> XKSVPCEndpointService in
      guard var service = xks.vpcServices[serviceName] else {
        throw KMSError(.notFoundException, "There is no simulated VPC endpoint service \(serviceName).")
      }
      if enabled { service.faults.insert(fault) } else { service.faults.remove(fault) }
      xks.vpcServices[serviceName] = service
      // The stores behind the service are republished: their health shows the service's state.
      for id in xks.externalStores.sorted() {
        if let store = stores[id], store.xks?.vpcEndpointServiceName == serviceName { stores[id] = store }
      }
      return service
    }
  }

  /// Create/UpdateCustomKeyStore with VPC connectivity: the service must exist in the account,
  /// allow KMS, meet the requirements, and have the endpoint's host as its private DNS name.
  func checkXKSVPCEndpointService(name: String?, owner: String?, endpoint: String?) throws(KMSError) {
    guard let name else { return }  // the transaction reports the missing member
    guard let service = xks.vpcServices[name], owner == nil || owner == configuration.accountId else {
      throw KMSError(
        .xksProxyVpcEndpointServiceNotFoundException,
        "The VPC endpoint service \(name) was not found in account \(owner ?? configuration.accountId).")
    }
    switch service.problem(region: configuration.region) {
    case .notFound(let message)?:
      throw KMSError(.xksProxyVpcEndpointServiceNotFoundException, message)
    case .invalidConfiguration(let message)?:
      throw KMSError(.xksProxyVpcEndpointServiceInvalidConfigurationException, message)
    case nil:
      break
    }
    let host = endpoint.flatMap { URL(string: $0)?.host?.lowercased() }
    if let host, host != service.privateDnsName.lowercased() {
      throw KMSError(
        .xksProxyVpcEndpointServiceInvalidConfigurationException,
        "The private DNS name of the VPC endpoint service \(name) is \(service.privateDnsName), not the host of the XksProxyUriEndpoint (\(host))."
      )
    }
  }

  /// The connect code of a VPC store whose endpoint service fails KMS's checks now, with why.
  func xksVPCConnectFailure(_ store: StoreRecord) -> (ConnectionErrorCodeType, String)? {
    guard let settings = store.xks, settings.connectivity == .vpcEndpointService,
      let name = settings.vpcEndpointServiceName
    else { return nil }
    guard let service = xks.vpcServices[name],
      settings.vpcEndpointServiceOwner ?? configuration.accountId == configuration.accountId
    else { return (.xksVpcEndpointServiceNotFound, "The VPC endpoint service \(name) was not found.") }
    switch service.problem(region: configuration.region) {
    case .notFound(let message)?: return (.xksVpcEndpointServiceNotFound, message)
    case .invalidConfiguration(let message)?: return (.xksVpcEndpointServiceInvalidConfiguration, message)
    case nil: break
    }
    if URL(string: settings.uriEndpoint)?.host?.lowercased() != service.privateDnsName.lowercased() {
      return (
        .xksVpcEndpointServiceInvalidConfiguration,
        "The private DNS name of \(name) is not the host of the store's endpoint."
      )
    }
    return nil
  }
}
