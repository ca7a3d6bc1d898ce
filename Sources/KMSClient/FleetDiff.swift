import Foundation
import KMSModel

/// What one refresh saw: the polled part of a `FleetSnapshot`.
struct FleetContent: Sendable, Equatable {
  var accountId: String = ""
  var stores: [CustomKeyStoresListEntry] = []
  var clusters: [Cluster] = []
  var keys: [KeyMetadata] = []
  /// Tags of the keys that have some (keys in custom key stores cannot be rotated).
  var keyDetails: [String: KeyDetails] = [:]
  var aliases: [AliasListEntry] = []
  var faults: [String: Set<SimulatorFault>] = [:]
  /// What a kmsdash engine last saw of each external key store's proxy (`DescribeXksHealth`).
  var xksHealth: [String: XKSStoreHealth] = [:]
  /// Degraded views (no cluster permission, …).
  var notes: [String] = []
  /// The endpoint does not serve the custom-key-store operations (moto, LocalStack).
  var unsupported = false

  /// A store or HSM is between states: poll faster.
  var isTransient: Bool {
    stores.contains { $0.connectionState == .connecting || $0.connectionState == .disconnecting }
      || clusters.contains { cluster in
        (cluster.hsms ?? []).contains { $0.state == .createInProgress || $0.state == .deleteInProgress }
      }
  }
}

/// Synthesizes the events a remote backend does not send, from two consecutive observations.
/// Pure: the dashboard's event pane works remotely, and the rules are unit-tested.
enum FleetDiff {
  static func events(from old: FleetContent, to new: FleetContent, date: Date, sequence: inout UInt64)
    -> [FleetEvent]
  {
    var events: [FleetEvent] = []
    func add(
      _ kind: FleetEvent.Kind, store: String? = nil, cluster: String? = nil,
      state: ConnectionStateType? = nil,
      code: ConnectionErrorCodeType? = nil, _ summary: String
    ) {
      sequence += 1
      events.append(
        FleetEvent(
          sequence: sequence, date: date, kind: kind, customKeyStoreId: store, clusterId: cluster,
          connectionState: state, connectionErrorCode: code, summary: summary))
    }

    // Stores
    let oldStores = Dictionary(old.stores.compactMap { s in s.customKeyStoreId.map { ($0, s) } }) { a, _ in a
    }
    let newIds = Set(new.stores.compactMap(\.customKeyStoreId))
    for store in new.stores {
      guard let id = store.customKeyStoreId else { continue }
      let name = store.customKeyStoreName ?? id
      guard let before = oldStores[id] else {
        add(
          .storeCreated, store: id, cluster: store.cloudHsmClusterId, state: store.connectionState,
          "Custom key store \(name) (\(id)) appeared, \(store.connectionState?.rawValue ?? "state unknown")")
        continue
      }
      if before.connectionState != store.connectionState
        || before.connectionErrorCode != store.connectionErrorCode
      {
        var text =
          "\(name) (\(id)): \(before.connectionState?.rawValue ?? "?") → \(store.connectionState?.rawValue ?? "?")"
        if let code = store.connectionErrorCode { text += " (\(code.rawValue))" }
        add(
          .connectionStateChanged, store: id, cluster: store.cloudHsmClusterId, state: store.connectionState,
          code: store.connectionErrorCode, text)
      }
      var changed: [String] = []
      if before.customKeyStoreName != store.customKeyStoreName { changed.append("name") }
      if before.cloudHsmClusterId != store.cloudHsmClusterId { changed.append("cluster") }
      if before.trustAnchorCertificate != store.trustAnchorCertificate { changed.append("trust anchor") }
      if before.xksProxyConfiguration != store.xksProxyConfiguration { changed.append("proxy configuration") }
      if !changed.isEmpty {
        add(
          .storeUpdated, store: id, cluster: store.cloudHsmClusterId,
          "\(name) (\(id)) updated: \(changed.joined(separator: ", "))")
      }
    }
    for store in old.stores {
      guard let id = store.customKeyStoreId, !newIds.contains(id) else { continue }
      add(
        .storeDeleted, store: id, cluster: store.cloudHsmClusterId,
        "Custom key store \(store.customKeyStoreName ?? id) (\(id)) deleted")
    }

    // Keys
    let oldKeys = Dictionary(old.keys.map { ($0.keyId, $0) }) { a, _ in a }
    let newKeyIds = Set(new.keys.map(\.keyId))
    for key in new.keys {
      guard let before = oldKeys[key.keyId] else {
        add(
          .keyCreated, store: key.customKeyStoreId, cluster: key.cloudHsmClusterId,
          "Key \(key.keyId) appeared, \(key.keyState?.rawValue ?? "state unknown")")
        continue
      }
      if before.keyState != key.keyState {
        add(
          .keyStateChanged, store: key.customKeyStoreId, cluster: key.cloudHsmClusterId,
          "Key \(key.keyId): \(before.keyState?.rawValue ?? "?") → \(key.keyState?.rawValue ?? "?")")
      }
    }
    for key in old.keys where !newKeyIds.contains(key.keyId) {
      add(
        .keyDeleted, store: key.customKeyStoreId, cluster: key.cloudHsmClusterId, "Key \(key.keyId) deleted")
    }

    // Aliases (by name; a retarget is a delete and a create)
    func aliasKey(_ alias: AliasListEntry) -> String { "\(alias.aliasName ?? "")→\(alias.targetKeyId ?? "")" }
    let oldAliases = Set(old.aliases.map(aliasKey))
    let newAliases = Set(new.aliases.map(aliasKey))
    let storeOfKey = Dictionary((old.keys + new.keys).map { ($0.keyId, $0.customKeyStoreId) }) { _, b in b }
    for alias in new.aliases where !oldAliases.contains(aliasKey(alias)) {
      add(
        .aliasCreated, store: alias.targetKeyId.flatMap { storeOfKey[$0] ?? nil },
        "Alias \(alias.aliasName ?? "?") → key \(alias.targetKeyId ?? "?")")
    }
    for alias in old.aliases where !newAliases.contains(aliasKey(alias)) {
      add(
        .aliasDeleted, store: alias.targetKeyId.flatMap { storeOfKey[$0] ?? nil },
        "Alias \(alias.aliasName ?? "?") deleted")
    }

    // HSMs (only when both observations include the cluster, so a lost permission is not a deletion)
    let oldClusters = Dictionary(old.clusters.compactMap { c in c.clusterId.map { ($0, c) } }) { a, _ in a }
    for cluster in new.clusters {
      guard let clusterId = cluster.clusterId, let before = oldClusters[clusterId] else { continue }
      let oldHsms = Dictionary((before.hsms ?? []).map { ($0.hsmId, $0) }) { a, _ in a }
      let newHsms = Set((cluster.hsms ?? []).map(\.hsmId))
      for hsm in cluster.hsms ?? [] {
        guard let previous = oldHsms[hsm.hsmId] else {
          add(
            .hsmCreated, cluster: clusterId,
            "HSM \(hsm.hsmId) in \(clusterId) (\(hsm.availabilityZone ?? "?")): \(hsm.state?.rawValue ?? "?")"
          )
          continue
        }
        if previous.state != hsm.state {
          add(
            .hsmStateChanged, cluster: clusterId,
            "HSM \(hsm.hsmId) in \(clusterId): \(previous.state?.rawValue ?? "?") → \(hsm.state?.rawValue ?? "?")"
          )
        }
      }
      for hsm in before.hsms ?? [] where !newHsms.contains(hsm.hsmId) {
        add(.hsmDeleted, cluster: clusterId, "HSM \(hsm.hsmId) deleted from \(clusterId)")
      }
    }

    // Faults (simulator only)
    for clusterId in Set(old.faults.keys).union(new.faults.keys).sorted() {
      let before = old.faults[clusterId] ?? []
      let after = new.faults[clusterId] ?? []
      for fault in after.subtracting(before).sorted() {
        add(.faultSet, cluster: clusterId, "Fault set on \(clusterId): \(fault.rawValue)")
      }
      for fault in before.subtracting(after).sorted() {
        add(.faultCleared, cluster: clusterId, "Fault cleared on \(clusterId): \(fault.rawValue)")
      }
    }
    return events
  }
}

extension FleetDiff {
  /// What changed between two observations, as the delta an embedded engine would publish:
  /// records that differ (whole), records that disappeared, and the `stateSince` of changed stores.
  static func delta(from old: FleetContent, to new: FleetContent, stateSince: [String: Date]) -> FleetDelta {
    var delta = FleetDelta(version: 0)
    (delta.stores, delta.removedStoreIds) = changes(old.stores, new.stores, id: \.customKeyStoreId)
    for store in delta.stores {
      if let id = store.customKeyStoreId { delta.stateSince[id] = stateSince[id] }
    }
    (delta.keys, delta.removedKeyIds) = changes(old.keys, new.keys) { $0.keyId }
    // A key whose tags changed is sent again, whole, with its details.
    let sent = Set(delta.keys.map(\.keyId))
    for key in new.keys
    where !sent.contains(key.keyId) && old.keyDetails[key.keyId] != new.keyDetails[key.keyId] {
      delta.keys.append(key)
    }
    for key in delta.keys { delta.keyDetails[key.keyId] = new.keyDetails[key.keyId] }
    (delta.aliases, delta.removedAliasNames) = changes(old.aliases, new.aliases, id: \.aliasName)
    (delta.clusters, delta.removedClusterIds) = changes(old.clusters, new.clusters, id: \.clusterId)
    for id in Set(old.faults.keys).union(new.faults.keys) where old.faults[id] != new.faults[id] {
      delta.faults[id] = new.faults[id] ?? []
    }
    for (id, health) in new.xksHealth where old.xksHealth[id] != health { delta.xksHealth[id] = health }
    return delta
  }

  private static func changes<Element: Equatable>(
    _ old: [Element], _ new: [Element], id: (Element) -> String?
  ) -> ([Element], [String]) {
    var before: [String: Element] = [:]
    for element in old { if let key = id(element), before[key] == nil { before[key] = element } }
    var changed: [Element] = []
    var seen: Set<String> = []
    for element in new {
      guard let key = id(element), seen.insert(key).inserted else { continue }
      if before[key] != element { changed.append(element) }
    }
    let removed = before.keys.filter { !seen.contains($0) }.sorted()
    return (changed, removed)
  }
}
