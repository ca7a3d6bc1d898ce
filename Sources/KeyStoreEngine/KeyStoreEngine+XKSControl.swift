import Foundation
import KMSModel

/// The XKS part of `SimulatorControl` (`KmsdashSimulator.DescribeXksHealth`, `ListXksProxyFaults`,
/// `SetXksProxyFault`): what `kmsdash --endpoint` needs to show and toggle what the embedded
/// dashboard does.
extension KeyStoreEngine {
  /// Gives the engine the QA control of its stores' proxies (`kmsdash serve`).
  public func useXKSFaultControl(_ control: (any XKSProxyEndpointFaultControl)?) {
    xks.faultControl = control
  }

  /// The health record of each external key store asked for (nil: all); a store that is not
  /// an external key store, or does not exist, is an error.
  public func xksHealth(customKeyStoreIds: [String]?) async throws(KMSError) -> [String: XKSStoreHealth] {
    try readOnly { () throws(KMSError) -> [String: XKSStoreHealth] in
      var result: [String: XKSStoreHealth] = [:]
      for id in customKeyStoreIds ?? xks.externalStores.sorted() {
        _ = try externalStore(id)
        if let health = xksHealth(customKeyStoreId: id) { result[id] = health }
      }
      return result
    }
  }

  public func xksFaults(customKeyStoreId: String) async throws -> Set<XKSQAFault> {
    let (control, endpoint) = try xksFaultTarget(customKeyStoreId)
    return try await control.xksFaults(uriEndpoint: endpoint)
  }

  public func setXKSFault(_ fault: XKSQAFault, enabled: Bool, customKeyStoreId: String) async throws {
    let (control, endpoint) = try xksFaultTarget(customKeyStoreId)
    try await control.setXKSFault(fault, enabled: enabled, uriEndpoint: endpoint)
  }

  private func xksFaultTarget(_ id: String) throws(KMSError) -> (any XKSProxyEndpointFaultControl, String) {
    let store = try externalStore(id)
    guard let control = xks.faultControl, let endpoint = store.xks?.uriEndpoint else {
      throw KMSError(
        .unsupportedOperationException,
        "This kmsdash engine has no control of the XKS proxy of \(store.name) (\(id)).")
    }
    return (control, endpoint)
  }

  private func externalStore(_ id: String) throws(KMSError) -> StoreRecord {
    let record = try store(CustomKeyStoreID.named(id))
    guard record.type == .externalKeyStore else {
      throw KMSError(.unsupportedOperationException, "\(record.name) (\(id)) is not an external key store.")
    }
    return record
  }
}
