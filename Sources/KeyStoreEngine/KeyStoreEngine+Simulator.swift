import Foundation
import HSMSimulator
import KMSModel

extension KeyStoreEngine: KeyStoreService, SimulatorControl, FleetObserving, FleetActions {
  public func fleetSnapshot() throws(KMSError) -> FleetSnapshot {
    try readOnly { () throws(KMSError) -> FleetSnapshot in
      var snapshot = FleetSnapshot(
        version: version, region: configuration.region, accountId: configuration.accountId,
        stores: storesInOrder.map(entry),
        stateSince: stores.mapValues(\.machine.since),
        clusters: fleet.clustersInOrder.map { $0.describe() },
        keys: allKeyMetadata(),
        aliases: aliases.values.filter { keys[$0.targetKeyId] != nil }
          .sorted { $0.sequence < $1.sequence }.map(aliasEntry),
        events: events,
        faults: fleet.clusters.mapValues(\.faults).filter { !$0.value.isEmpty },
        keyDetails: allKeyDetails())
      for id in xks.externalStores { snapshot.xksHealth[id] = xksHealth(customKeyStoreId: id) }
      return snapshot
    }
  }

  /// Rotation and tags of the keys the snapshot has, for the keys that have something to show.
  private func allKeyDetails() -> [String: KeyDetails] {
    var result: [String: KeyDetails] = [:]
    for key in keys.values {
      if let details = keyDetails(key) { result[key.keyId] = details }
    }
    return result
  }

  /// Metadata of every key of the Region, in custom key stores or not (the dashboard's all-keys
  /// view shows each kind), looking each store up once rather than once per key.
  private func allKeyMetadata() -> [KeyMetadata] {
    var contexts: [String: KeyStoreContext] = [:]
    for id in stores.keys { contexts[id] = keyStoreContext(id) }
    var result: [KeyMetadata] = []
    result.reserveCapacity(keys.count)
    for entry in keyOrder {
      guard let key = keys[entry.id] else { continue }
      guard let storeId = key.customKeyStoreId else {
        result.append(metadata(key))
        continue
      }
      result.append(
        metadata(key, contexts[storeId] ?? KeyStoreContext(keysUsable: false, cloudHsmClusterId: nil)))
    }
    return result
  }

  // MARK: CloudHSM v2 subset

  public func describeClusters(_ request: DescribeClustersRequest) throws(KMSError)
    -> DescribeClustersResponse
  {
    try readOnly { () throws(KMSError) -> DescribeClustersResponse in
      try request.validate()
      let filters = request.filters ?? [:]
      for name in filters.keys where !["clusterIds", "vpcIds", "states"].contains(name) {
        throw KMSError(
          .cloudHsmInvalidRequestException, "Unsupported filter '\(name)'. Use clusterIds, vpcIds or states.")
      }
      let clusters = fleet.clustersInOrder.filter { cluster in
        (filters["clusterIds"].map { $0.contains(cluster.clusterId) } ?? true)
          && (filters["vpcIds"].map { $0.contains(cluster.vpcId) } ?? true)
          && (filters["states"].map { $0.contains(cluster.state.rawValue) } ?? true)
      }
      let start: Int
      if let token = request.nextToken {
        guard let offset = Int(token), offset >= 0, offset <= clusters.count else {
          throw KMSError(
            .cloudHsmInvalidRequestException, "The NextToken '\(token.prefix(64))' is not valid.")
        }
        start = offset
      } else {
        start = 0
      }
      let limit = request.maxResults ?? 25
      let end = min(clusters.count, start + limit)
      return DescribeClustersResponse(
        clusters: clusters[start..<end].map { $0.describe() },
        nextToken: end < clusters.count ? String(end) : nil)
    }
  }

  public func createHsm(_ request: CreateHsmRequest) throws(KMSError) -> CreateHsmResponse {
    try transaction { () throws(KMSError) -> CreateHsmResponse in
      try request.validate()
      let readyAt =
        clock.now() + random.duration(in: configuration.latency.hsmCreate, timeScale: configuration.timeScale)
      let clusterId = try request.clusterIdValue
      let hsm = try fleet.createHsm(clusterId: clusterId, zone: request.availabilityZone, readyAt: readyAt)
      record(
        .hsmCreated, clusterId: clusterId.rawValue,
        summary: "HSM \(hsm.hsmId) being created in \(clusterId) (\(hsm.availabilityZone))")
      let described = fleet.cluster(clusterId)?.describe().hsms?.first { $0.hsmId == hsm.hsmId }
      return CreateHsmResponse(hsm: described)
    }
  }

  public func deleteHsm(_ request: DeleteHsmRequest) throws(KMSError) -> DeleteHsmResponse {
    try transaction { () throws(KMSError) -> DeleteHsmResponse in
      try request.validate()
      let clusterId = try request.clusterIdValue
      let hsmId = try fleet.deleteHsm(
        clusterId: clusterId, hsmId: request.hsmIdValue, eniId: request.eniId, eniIp: request.eniIp)
      record(.hsmDeleted, clusterId: clusterId.rawValue, summary: "HSM \(hsmId) deleted from \(clusterId)")
      return DeleteHsmResponse(hsmId: hsmId)
    }
  }

  public func setHsmFailed(clusterId: String, hsmId: String, failed: Bool) throws(KMSError) {
    let clusterId = try ClusterID.named(clusterId)
    let hsmId = try HsmID.named(hsmId)
    try transaction { () throws(KMSError) in
      try fleet.setHsmFailed(clusterId: clusterId, hsmId: hsmId, failed: failed)
      record(
        .hsmStateChanged, clusterId: clusterId.rawValue,
        summary: "HSM \(hsmId) in \(clusterId) is \(failed ? "DEGRADED" : "ACTIVE")")
    }
  }

  public func setFault(_ fault: SimulatorFault, enabled: Bool, clusterId: String) throws(KMSError) {
    let clusterId = try ClusterID.named(clusterId)
    try transaction { () throws(KMSError) in
      let before = fleet.cluster(clusterId)?.faults.contains(fault)
      try fleet.setFault(fault, enabled: enabled, clusterId: clusterId)
      guard before != enabled else { return }
      record(
        enabled ? .faultSet : .faultCleared, clusterId: clusterId.rawValue,
        summary: "\(enabled ? "Fault set" : "Fault cleared") on \(clusterId): \(fault.rawValue)")
    }
  }

  public func setKmsuserPassword(_ password: String, clusterId: String) throws(KMSError) {
    let clusterId = try ClusterID.named(clusterId)
    try transaction { () throws(KMSError) in
      let before = fleet.cluster(clusterId)?.faults ?? []
      try fleet.setKmsuserPassword(password, clusterId: clusterId)
      let cleared = before.subtracting(fleet.cluster(clusterId)?.faults ?? []).sorted().map(\.rawValue)
      record(
        .kmsuserPasswordSet, clusterId: clusterId.rawValue,
        summary: "kmsuser password set in \(clusterId)"
          + (cleared.isEmpty ? "" : " (cleared: \(cleared.joined(separator: ", ")))"))
    }
  }

  public func faults(clusterId: String) throws(KMSError) -> Set<SimulatorFault> {
    let clusterId = try ClusterID.named(clusterId)
    return try readOnly { () throws(KMSError) -> Set<SimulatorFault> in
      guard let cluster = fleet.cluster(clusterId) else {
        throw KMSError(.cloudHsmResourceNotFoundException, "Cluster \(clusterId) not found.")
      }
      return cluster.faults
    }
  }

  /// For an external key store whose connect would start, the proxy is asked now (a
  /// GetHealthStatus outside any transaction, recording nothing) and its answer decides, as the
  /// connect's own health check would.
  public func predictConnectOutcome(customKeyStoreId: String) async throws(KMSError) -> ConnectPrediction {
    let customKeyStoreId = try CustomKeyStoreID.named(customKeyStoreId)
    let prediction = try predictWithoutProxy(customKeyStoreId: customKeyStoreId)
    guard prediction == .connects, let code = await predictXKSConnect(customKeyStoreId: customKeyStoreId)
    else { return prediction }
    return .fails(code)
  }

  private func predictWithoutProxy(customKeyStoreId: CustomKeyStoreID) throws(KMSError) -> ConnectPrediction {
    try readOnly { () throws(KMSError) -> ConnectPrediction in
      var store = try store(customKeyStoreId)
      let quick = store.clusterIdentifier.flatMap { fleet.quickConnectFailure(clusterId: $0) }
      // A FAILED store must be disconnected first: predict the connect that follows.
      if store.machine.connectionState == .failed {
        if let quick { return .refused(quick.code, quick.message) }
        return outcomeOfConnecting(store)
      }
      // A trial run on a copy of the machine: nothing is kept.
      switch store.machine.connect(storeId: store.id, now: clock.now(), duration: 0, quickFailure: quick) {
      case .refuse(let error): return .refused(error.code, error.message)
      case .scheduleAttempt: return outcomeOfConnecting(store)
      case .noChange: return .noChange(store.machine.connectionState)
      }
    }
  }

  /// How a connect that has started would end, if the cluster stays as it is now.
  private func outcomeOfConnecting(_ store: StoreRecord) -> ConnectPrediction {
    guard store.type == .awsCloudhsm, let clusterId = store.clusterIdentifier else { return .connects }
    return fleet.connectFailure(clusterId: clusterId, passwordDigest: store.passwordDigest).map { .fails($0) }
      ?? .connects
  }
}
