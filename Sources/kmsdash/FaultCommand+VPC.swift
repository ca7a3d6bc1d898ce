import ArgumentParser
import Foundation
import KMSClient
import KMSModel

/// `kmsdash fault --endpoint URL --vpc-endpoint-service NAME …`: break and mend a simulated VPC
/// endpoint service of a `kmsdash serve` (the connectivity of `VPC_ENDPOINT_SERVICE` external key
/// stores), as `--cluster` does for CloudHSM clusters.
extension FaultCommand {
  func validateVPC() throws {
    guard endpoint != nil, cluster == nil, xksProxy == nil else {
      throw ValidationError("--vpc-endpoint-service goes with --endpoint URL (not --cluster or --xks-proxy).")
    }
    let chosen = [set != nil, clear != nil, list].filter { $0 }.count
    guard chosen == 1 else {
      throw ValidationError("Give exactly one of --set FAULT, --clear FAULT or --list.")
    }
    for name in [set, clear].compactMap({ $0 }) where Self.vpcFault(named: name) == nil {
      throw ValidationError(
        "Unknown VPC endpoint service fault '\(name)'. Faults: "
          + XKSVPCEndpointServiceFault.allCases.map(\.rawValue).joined(separator: ", ") + ".")
    }
  }

  /// Accepts `DELETED`, `private-dns-unverified`, ….
  static func vpcFault(named name: String) -> XKSVPCEndpointServiceFault? {
    XKSVPCEndpointServiceFault(rawValue: name.uppercased().replacingOccurrences(of: "-", with: "_"))
  }

  func runVPC(_ serviceName: String, endpoint url: URL) async throws {
    try await withFaultClient(endpoint: url) { client, configuration in
      if let set, let fault = Self.vpcFault(named: set) {
        let service = try await client.setXKSVPCEndpointServiceFault(
          fault, enabled: true, serviceName: serviceName)
        print("Set \(fault.rawValue) on \(serviceName).")
        print(Self.renderVPC(service, region: configuration.region))
      } else if let clear, let fault = Self.vpcFault(named: clear) {
        let service = try await client.setXKSVPCEndpointServiceFault(
          fault, enabled: false, serviceName: serviceName)
        print("Cleared \(fault.rawValue) on \(serviceName).")
        print(Self.renderVPC(service, region: configuration.region))
      } else {
        let services = try await client.xksVpcEndpointServices()
        let shown = serviceName == "all" ? services : services.filter { $0.serviceName == serviceName }
        if shown.isEmpty {
          print(
            serviceName == "all"
              ? "No simulated VPC endpoint services." : "No simulated VPC endpoint service \(serviceName).")
        }
        for service in shown { print(Self.renderVPC(service, region: configuration.region)) }
        print("Available faults (--set FAULT, --clear FAULT):")
        for fault in XKSVPCEndpointServiceFault.allCases {
          print("  \(fault.rawValue.padding(toLength: 30, withPad: " ", startingAt: 0))\(fault.summary)")
        }
      }
    }
  }

  /// One service: its private DNS name, faults and what KMS would make of it.
  static func renderVPC(_ service: XKSVPCEndpointService, region: String) -> String {
    var lines = ["\(service.serviceName) (private DNS \(service.privateDnsName))"]
    lines.append(
      "  faults: "
        + (service.faults.isEmpty ? "none" : service.faults.sorted().map(\.rawValue).joined(separator: ", ")))
    switch service.problem(region: region) {
    case nil:
      lines.append("  usable: KMS can connect external key stores through it")
    case .notFound(let reason):
      lines.append("  connect fails: XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND (\(reason))")
    case .invalidConfiguration(let reason):
      lines.append("  connect fails: XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION (\(reason))")
    }
    return lines.joined(separator: "\n")
  }
}
