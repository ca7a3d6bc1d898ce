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

extension KeyStoreEngine {
  /// Runs an operation and saves what it changed before answering, success or failure (due
  /// work applied on the way counts as a change too).
  func persisting<T>(_ body: () throws(KMSError) -> T) throws(KMSError) -> T {
    let result: Result<T, KMSError>
    do {
      result = .success(try body())
    } catch {
      result = .failure(error)
    }
    try commit()
    return try result.get()
  }

  /// Writes every record touched since the last save, in one durable transaction. On failure
  /// nothing is forgotten: the next commit retries the same records.
  func commit() throws(KMSError) {
    guard let stateStore else {
      _ = stores.drain()
      _ = keys.drain()
      _ = aliases.drain()
      _ = fleet.drainChanges()
      return
    }
    let touchedClusters = fleet.clusters.touched
    let touchedMaterial = fleet.material.touched
    let changed =
      !stores.touched.isEmpty || !keys.touched.isEmpty || !aliases.touched.isEmpty || !touchedClusters.isEmpty
      || !touchedMaterial.isEmpty || !unsavedEvents.isEmpty || !droppedEvents.isEmpty
    // While work is in flight, refresh `savedAt` now and then even without changes, so a crash
    // costs a resumed transition at most about a second.
    // Key deletion dates are absolute and need no heartbeat; only relative work in flight does.
    // Checked last, and only once a second, because it scans the stores.
    var heartbeatDue = false
    if !changed, nextDueAt != nil, clock.now().timeIntervalSince(max(lastSavedAt, lastHeartbeatCheck)) >= 1 {
      lastHeartbeatCheck = clock.now()
      heartbeatDue = stores.values.contains { $0.pending != nil } || fleet.nextHsmReadyAt != nil
    }
    guard changed || heartbeatDue else { return }
    var change = StateChange()
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
      change.deletions += droppedEvents.map { .init(kind: .event, id: eventId($0)) }
      let meta = EngineMeta(
        sequence: sequence, random: random, fleetRandom: fleet.random, clusterOrder: fleet.clusterOrder,
        pepper: fleet.pepper, markerKey: markerKey, savedAt: clock.now())
      change.upserts.append(.init(kind: .meta, id: "engine", payload: try recordEncoder.encode(meta)))
      try stateStore.apply(change)
      lastSavedAt = meta.savedAt
    } catch {
      throw KMSError(.kmsInternalException, "The change could not be saved to the state file: \(error)")
    }
    _ = stores.drain()
    _ = keys.drain()
    _ = aliases.drain()
    _ = fleet.drainChanges()
    unsavedEvents = []
    droppedEvents = []
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
    for (id, store) in restoredStores {
      guard var pending = store.pending else { continue }
      pending.dueAt = now + max(0, pending.dueAt.timeIntervalSince(saved.meta.savedAt))
      restoredStores[id]?.pending = pending
    }
    stores.restore(restoredStores)
    keys.restore(saved.keys)
    aliases.restore(saved.aliases)
    events = Array(saved.events.suffix(configuration.eventHistoryLimit))
    recomputeNextDue()
  }
}
