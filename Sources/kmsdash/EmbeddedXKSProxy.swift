import Foundation
import KMSModel
import KeyStoreEngine
import XKSClient
import XKSProxy

/// The dashboard's embedded XKS proxy: the simulated external key manager behind the same XKS
/// Proxy API core as `kmsdash xks-proxy`, reached in-process (no port is needed) through the same
/// signed requests, codec and 250 ms bound as over sockets. Two front doors share one EKM: the
/// main one (`xks.demo.kmsdash.local`, also `xks-dr.…`) and a slow one (`xks-slow.…`) that starts
/// with a 300 ms latency fault, so the demo fleet has a store FAILED with `XKS_PROXY_TIMED_OUT`
/// while the others keep working. The QA panel toggles each door's faults.
final class EmbeddedXKSProxy: XKSProxyFaultControl {
  static let mainHost = "xks.demo.kmsdash.local"
  static let drHost = "xks-dr.demo.kmsdash.local"
  static let slowHost = "xks-slow.demo.kmsdash.local"

  let main: XKSProxyCore
  let slow: XKSProxyCore
  private let engine: KeyStoreEngine

  /// `statePath`: where the EKM keeps its key material (beside the engine's state), nil in memory.
  init(engine: KeyStoreEngine, statePath: String?) throws {
    let ekm = try ExternalKeyManager(configuration: .demo, state: statePath.map(ProxyStateFile.init(path:)))
    main = XKSProxyCore(configuration: .demo, ekm: ekm)
    slow = XKSProxyCore(configuration: .demo, ekm: ekm)
    var patch = XKSProxyFaults()
    patch.latencyMilliseconds = 300
    try slow.setFaults(patch)
    self.engine = engine
  }

  /// Host → proxy, for `XKSHTTPClient(inProcess:)`.
  var exchanges: [String: any XKSInProcessExchange] {
    [Self.mainHost: main, Self.drHost: main, Self.slowHost: slow]
  }

  private func core(host: String?) -> XKSProxyCore? {
    switch host?.lowercased() {
    case Self.mainHost?, Self.drHost?: main
    case Self.slowHost?: slow
    default: nil
    }
  }

  // MARK: The demo fleet's XKS stores

  static let credential = XksProxyAuthenticationCredentialType(
    accessKeyId: XKSProxyConfiguration.demoAccessKeyId,
    rawSecretAccessKey: XKSProxyConfiguration.demoSecretAccessKey)

  /// Adds the demo's external key stores through the engine's own operations (every proxy call
  /// real): `xks-orders` CONNECTED with keys and aliases, `xks-latency` FAILED with
  /// `XKS_PROXY_TIMED_OUT` (its proxy answers in 300 ms), `xks-dr` DISCONNECTED.
  static func seed(_ engine: KeyStoreEngine, proxy: EmbeddedXKSProxy) async throws {
    func create(_ name: String, _ host: String) async throws -> CustomKeyStoreID {
      let created = try await engine.createCustomKeyStore(
        CreateCustomKeyStoreRequest(
          customKeyStoreName: name, customKeyStoreType: CustomKeyStoreType.externalKeyStore.rawValue,
          xksProxyUriEndpoint: "https://\(host)", xksProxyUriPath: XKSProxyConfiguration.demoUriPath,
          xksProxyAuthenticationCredential: credential,
          xksProxyConnectivity: XksProxyConnectivityType.publicEndpoint.rawValue))
      return try CustomKeyStoreID.stored(created.customKeyStoreId, "ID of the new store \(name)")
    }
    func connect(_ id: CustomKeyStoreID) async throws {
      _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id.rawValue))
      try await engine.completePendingTransitions()
      await engine.xksCallsSettled()
    }
    let orders = try await create("xks-orders", mainHost)
    try await connect(orders)
    let keys: [(String, String, [String])] = [
      ("demo-aes-1", "Order payloads (external key demo-aes-1)", ["alias/xks/orders"]),
      (
        "demo-aes-2", "Customer addresses (external key demo-aes-2)",
        ["alias/xks/addresses", "alias/xks/pii"]
      ),
    ]
    for (xksKeyId, description, aliases) in keys {
      let key = try await engine.createKey(
        CreateKeyRequest(
          description: description, origin: OriginType.externalKeyStore.rawValue,
          customKeyStoreId: orders.rawValue,
          xksKeyId: xksKeyId))
      let keyId = try KeyID.stored(key.keyMetadata?.keyId, "ID of the new key for \(xksKeyId)")
      for alias in aliases {
        _ = try await engine.createAlias(CreateAliasRequest(aliasName: alias, targetKeyId: keyId.rawValue))
      }
    }
    // The slow door answers in 300 ms: the store is created while it is quick (CreateCustomKeyStore
    // needs a timely health check), then its connect times out.
    let latency = proxy.slow.faults
    proxy.slow.clearFaults()
    let slowStore = try await create("xks-latency", slowHost)
    proxy.slow.clearFaults()
    try proxy.slow.setFaults(latency)
    try await connect(slowStore)
    _ = try await create("xks-dr", drHost)
  }

  // MARK: XKSProxyFaultControl

  private func core(customKeyStoreId id: String) async throws -> XKSProxyCore {
    let entry = try await engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(customKeyStoreId: id))
      .customKeyStores?.first
    let host = entry?.xksProxyConfiguration?.uriEndpoint.flatMap { URL(string: $0)?.host }
    guard let core = core(host: host) else {
      throw KMSError(
        .unsupportedOperationException,
        "\(entry?.customKeyStoreName ?? id) is not served by the embedded XKS proxy (its endpoint is \(host ?? "none"))."
      )
    }
    return core
  }

  func xksFaults(customKeyStoreId: String) async throws -> Set<XKSQAFault> {
    try await core(customKeyStoreId: customKeyStoreId).faults.qaFaults
  }

  func setXKSFault(_ fault: XKSQAFault, enabled: Bool, customKeyStoreId: String) async throws {
    let core = try await core(customKeyStoreId: customKeyStoreId)
    let faults = core.faults.applying(fault, enabled: enabled)
    core.clearFaults()
    do {
      try core.setFaults(faults)
    } catch {
      throw KMSError(.validationException, error.description)
    }
  }
}
