import Foundation
import HSMSimulator
import KMSModel

/// Engine-wide values saved beside the records.
struct EngineMeta: Codable {
  var sequence: UInt64
  var random: SeededRandom
  var fleetRandom: SeededRandom
  var clusterOrder: [String]
  var pepper: KeyBytes
  var markerKey: KeyBytes
  /// When the last change was saved: a crash happened after it, so pending transitions resume
  /// with the time that was left then.
  var savedAt: Date
  /// The simulated VPC endpoint services of XKS stores (absent in older state files).
  var xksVpcEndpointServices: [XKSVPCEndpointService]? = nil
}

/// Everything read back from a state store.
struct SavedEngineState {
  var meta: EngineMeta
  var clusters: [String: SimulatedCluster]
  var material: [String: MaterialEntry]
  var stores: [String: StoreRecord]
  var keys: [String: KeyRecord]
  var aliases: [String: AliasRecord]
  var events: [FleetEvent]

  /// nil for an empty store (a new state file).
  init?(records: [StateRecordKind: [String: Data]]) throws {
    guard let metaData = records[.meta]?["engine"] else {
      if records.values.contains(where: { !$0.isEmpty }) {
        throw KMSError(
          .kmsInternalException, "The state file has records but no engine metadata; it is damaged.")
      }
      return nil
    }
    let decoder = JSONDecoder()
    func decode<T: Decodable>(_ kind: StateRecordKind, _ type: T.Type) throws -> [String: T] {
      var result: [String: T] = [:]
      for (id, data) in records[kind] ?? [:] {
        do {
          result[id] = try decoder.decode(T.self, from: data)
        } catch {
          throw KMSError(
            .kmsInternalException, "The saved \(kind.rawValue) record '\(id)' cannot be read: \(error)")
        }
      }
      return result
    }
    meta = try decoder.decode(EngineMeta.self, from: metaData)
    clusters = try decode(.cluster, SimulatedCluster.self)
    material = try decode(.material, MaterialEntry.self)
    stores = try decode(.store, StoreRecord.self)
    keys = try decode(.key, KeyRecord.self)
    aliases = try decode(.alias, AliasRecord.self)
    events = try decode(.event, FleetEvent.self).values.sorted { $0.sequence < $1.sequence }
  }
}

/// What a transaction must put back if its save fails, besides the tracked dictionaries' own
/// undo records. Taken when nothing is pending.
struct EngineCheckpoint {
  var sequence: UInt64
  var random: SeededRandom
  var fleet: HSMFleet.Checkpoint
  var regionNoticeCount: Int
  var vpcServices: [String: XKSVPCEndpointService] = [:]
}

extension KeyStoreEngine {
  /// Runs one mutation: commit, then publish, then answer. The body changes the engine in place;
  /// everything it touched is saved in one durable transaction, and only then published as a
  /// delta and returned. When the body throws, or the save fails, the engine is put back exactly
  /// as it was: nothing of the call is visible, now or after a restart.
  func transaction<T>(forceSave: Bool = false, _ body: () throws(KMSError) -> T) throws(KMSError) -> T {
    // A step of a larger transaction (a reset seeding its scenario): the outer one saves,
    // publishes and rolls back for it.
    if inTransaction && joinsTransactions { return try body() }
    assert(!inTransaction, "transactions do not nest: the outer one would publish the inner's changes twice")
    inTransaction = true
    defer { inTransaction = false }
    let checkpoint = EngineCheckpoint(
      sequence: sequence, random: random, fleet: fleet.checkpoint,
      regionNoticeCount: regionNotices.count, vpcServices: xks.vpcServices)
    let result: T
    do {
      result = try body()
      try commit(forceSave: forceSave)
    } catch {
      rollback(to: checkpoint)
      throw error
    }
    // Committed: reads from any thread see it from now on, whole (O(changed)).
    readView.apply(readViewChange())
    let delta = pendingDelta()
    let (touchedStores, touchedKeys) = (stores.touched, keys.touched)
    updateKeysByStore(touchedKeys)
    drainTransaction()
    updateDueDates(stores: touchedStores, keys: touchedKeys)
    recomputeNextDue()
    if !delta.isEmpty { publish(delta) }
    return result
  }

  private func rollback(to checkpoint: EngineCheckpoint) {
    let (touchedStores, touchedKeys) = (stores.touched, keys.touched)
    stores.rollback()
    keys.rollback()
    aliases.rollback()
    fleet.rollback(to: checkpoint.fleet)
    xks.vpcServices = checkpoint.vpcServices
    sequence = checkpoint.sequence
    random = checkpoint.random
    // The history without a copy per transaction: what was dropped comes back, what was added goes.
    let added = Set(unsavedEvents.map(\.sequence))
    events = (droppedEvents + events).filter { !added.contains($0.sequence) }
    unsavedEvents = []
    droppedEvents = []
    regionNotices.removeLast(regionNotices.count - checkpoint.regionNoticeCount)
    updateDueDates(stores: touchedStores, keys: touchedKeys)
    recomputeNextDue()
  }

  /// Files the touched keys under their stores (after a commit; keys never move between stores,
  /// but a key deleted or created moves in or out).
  private func updateKeysByStore(_ keyIds: Set<String>) {
    for id in keyIds {
      if let before = keys.original(id)??.customKeyStoreId { keyIdsByStore[before]?.remove(id) }
      if let after = keys[id]?.customKeyStoreId { keyIdsByStore[after, default: []].insert(id) }
    }
  }

  private func drainTransaction() {
    _ = stores.drain()
    _ = keys.drain()
    _ = aliases.drain()
    _ = fleet.drainChanges()
    unsavedEvents = []
    droppedEvents = []
  }

  private func publish(_ delta: FleetDelta) {
    version += 1
    var numbered = delta
    numbered.version = version
    for continuation in subscribers.values { continuation.yield(numbered) }
  }

  /// What the running transaction changed, in the dashboard's shapes (its version is set when it
  /// is published). When a store's connection state changed, every key of that store is in it,
  /// because their effective state follows the store's.
  private func pendingDelta() -> FleetDelta {
    var delta = FleetDelta(version: 0)
    var storesWithNewKeyState: Set<String> = []
    for id in stores.touched {
      if let store = stores[id] {
        delta.stores.append(entry(store))
        delta.stateSince[id] = store.machine.since
        if let health = xksSavedHealth(store) { delta.xksHealth[id] = health }
        let before = stores.original(id).flatMap { $0 }
        if before?.machine.keysUsable != store.machine.keysUsable || before?.clusterId != store.clusterId {
          storesWithNewKeyState.insert(id)
        }
      } else {
        delta.removedStoreIds.append(id)
      }
    }
    var keyIds = keys.touched
    for store in storesWithNewKeyState { keyIds.formUnion(keyIdsByStore[store] ?? []) }
    for id in keyIds {
      if let key = keys[id] {
        delta.keys.append(metadata(key))
        delta.keyDetails[id] = keyDetails(key)
      } else if keys.original(id).flatMap({ $0 }) != nil {
        delta.removedKeyIds.append(id)
      }
    }
    for name in aliases.touched {
      if let alias = aliases[name], keys[alias.targetKeyId] != nil {
        delta.aliases.append(aliasEntry(alias))
      } else {
        delta.removedAliasNames.append(name)
      }
    }
    for id in fleet.clusters.touched {
      if let cluster = fleet.clusters[id] {
        delta.clusters.append(cluster.describe())
        if fleet.clusters.original(id)??.faults != cluster.faults { delta.faults[id] = cluster.faults }
      } else {
        delta.removedClusterIds.append(id)
      }
    }
    let dropped = Set(droppedEvents.map(\.sequence))
    delta.events = unsavedEvents.filter { !dropped.contains($0.sequence) }
    return delta
  }

  /// Writes every record the running transaction touched in one durable transaction. Throws
  /// `KMSInternalException` with what went wrong; the caller then rolls back.
  func commit(forceSave: Bool = false) throws(KMSError) {
    guard let stateStore else { return }
    let touchedClusters = fleet.clusters.touched
    let touchedMaterial = fleet.material.touched
    let changed =
      !stores.touched.isEmpty || !keys.touched.isEmpty || !aliases.touched.isEmpty || !touchedClusters.isEmpty
      || !touchedMaterial.isEmpty || !unsavedEvents.isEmpty || !droppedEvents.isEmpty
    guard changed || forceSave else { return }
    var change = StateChange()
    let savedAt = clock.now()
    do {
      func add<V: Encodable>(_ kind: StateRecordKind, _ ids: Set<String>, _ lookup: (String) -> V?) throws {
        for id in ids {
          if let value = lookup(id) {
            change.upserts.append(.init(kind: kind, id: id, payload: try recordEncoder.encode(value)))
          } else {
            change.deletions.append(.init(kind: kind, id: id))
          }
        }
      }
      try add(.store, stores.touched) { stores[$0] }
      try add(.key, keys.touched) { keys[$0] }
      try add(.alias, aliases.touched) { aliases[$0] }
      try add(.cluster, touchedClusters) { fleet.clusters[$0] }
      try add(.material, touchedMaterial) { fleet.material[$0] }
      for event in unsavedEvents {
        change.upserts.append(
          .init(kind: .event, id: eventId(event.sequence), payload: try recordEncoder.encode(event)))
      }
      change.deletions += droppedEvents.map { .init(kind: .event, id: eventId($0.sequence)) }
      var meta = EngineMeta(
        sequence: sequence, random: random, fleetRandom: fleet.random, clusterOrder: fleet.clusterOrder,
        pepper: fleet.pepper, markerKey: markerKey, savedAt: savedAt)
      if !xks.vpcServices.isEmpty {
        meta.xksVpcEndpointServices = xks.vpcServices.values.sorted { $0.serviceName < $1.serviceName }
      }
      change.upserts.append(.init(kind: .meta, id: "engine", payload: try recordEncoder.encode(meta)))
    } catch {
      throw KMSError(.kmsInternalException, "The change could not be encoded for the state file: \(error)")
    }
    do {
      try stateStore.apply(change)
    } catch {
      throw KMSError(
        .kmsInternalException,
        "The change could not be saved to the state file, so it was not made: \(error)")
    }
    lastSavedAt = savedAt
    savesCommitted += 1
  }

  private func eventId(_ sequence: UInt64) -> String {
    let digits = String(sequence)
    return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
  }

  /// Resumes saved state. Work that was in flight (connects, disconnects, HSM creations)
  /// continues with the time it had left when the last change was saved.
  func restore(_ saved: SavedEngineState) {
    let now = clock.now()
    sequence = saved.meta.sequence
    random = saved.meta.random
    markerKey = saved.meta.markerKey
    for service in saved.meta.xksVpcEndpointServices ?? [] { xks.vpcServices[service.serviceName] = service }
    var clusters = saved.clusters
    for (id, cluster) in clusters {
      var resumed = cluster
      for index in resumed.hsms.indices {
        if let ready = resumed.hsms[index].readyAt {
          resumed.hsms[index].readyAt = now + max(0, ready.timeIntervalSince(saved.meta.savedAt))
        }
      }
      clusters[id] = resumed
    }
    fleet.restore(
      clusters: clusters, order: saved.meta.clusterOrder, material: saved.material,
      random: saved.meta.fleetRandom)
    var restoredStores = saved.stores
    for id in restoredStores.keys {
      restoredStores[id]?.machine.resume(savedAt: saved.meta.savedAt, now: now)
    }
    stores.restore(restoredStores)
    keys.restore(saved.keys)
    aliases.restore(saved.aliases)
    events = Array(saved.events.suffix(configuration.eventHistoryLimit))
    readView.replaceAll(fullReadState())
    updateDueDates(stores: stores.keys, keys: keys.keys)
    for key in keys.values {
      if let store = key.customKeyStoreId { keyIdsByStore[store, default: []].insert(key.keyId) }
    }
    recomputeNextDue()
  }
}

extension KeyStoreEngine {
  /// Marks a read: it sees committed state only, applies no due work and writes nothing.
  func readOnly<T>(_ body: () throws(KMSError) -> T) throws(KMSError) -> T { try body() }
}
