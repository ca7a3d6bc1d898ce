import Foundation
import KMSModel

/// One KMS key as the dashboard shows it (keys view, detail pane, disconnect dialog): a fraction of
/// a `KeyMetadata` plus its rotation and tags, so 100,000 keys cost a few MiB rather than the whole
/// AWS shape each.
public struct KeyRow: Sendable, Equatable {
  public var keyId: String
  public var keyState: KeyState?
  public var creationDate: Date?
  public var description: String?
  public var keySpec: KeySpec?
  public var keyUsage: KeyUsageType?
  /// Automatic rotation and tags (issue 14); nil when the backend sent none.
  public var details: KeyDetails?

  /// The keys view's order: oldest first, then by key ID.
  static func listOrder(_ a: KeyRow, _ b: KeyRow) -> Bool {
    (a.creationDate ?? .distantPast, a.keyId) < (b.creationDate ?? .distantPast, b.keyId)
  }

  public init(_ metadata: KeyMetadata, details: KeyDetails? = nil) {
    keyId = metadata.keyId
    keyState = metadata.keyState
    creationDate = metadata.creationDate
    description = metadata.description
    keySpec = metadata.keySpec ?? metadata.customerMasterKeySpec.flatMap { KeySpec(rawValue: $0.rawValue) }
    keyUsage = metadata.keyUsage
    self.details = details
  }
}

/// The fleet's keys in the order the keys views list them (oldest first, then by key ID): every
/// key of the account (the all-keys view), and the custom-store keys per store, so a frame slices
/// the rows on screen without sorting. Built once per snapshot; a delta's keys are upserted or
/// removed one by one (binary search, then one move of the array).
struct KeyBook: Sendable, Equatable {
  private var byStore: [String: [KeyRow]] = [:]
  private var storeOfKey: [String: String] = [:]
  /// Every key, in custom key stores or not.
  private var all: [KeyRow] = []
  private var allIds: Set<String> = []
  /// Keys per store and key state, kept with every change (the detail pane's "keys by state"
  /// costs no pass over a store's keys).
  private var statesByStore: [String: [KeyState?: Int]] = [:]

  init() {}

  init(_ keys: [KeyMetadata], details: [String: KeyDetails] = [:]) {
    storeOfKey.reserveCapacity(keys.count)
    all.reserveCapacity(keys.count)
    for key in keys where allIds.insert(key.keyId).inserted {
      all.append(KeyRow(key, details: details[key.keyId]))
    }
    all.sort(by: KeyRow.listOrder)
    for key in keys {
      guard let store = key.customKeyStoreId else { continue }
      if let old = storeOfKey[key.keyId] { byStore[old]?.removeAll { $0.keyId == key.keyId } }  // listed twice
      storeOfKey[key.keyId] = store
      byStore[store, default: []].append(KeyRow(key, details: details[key.keyId]))
    }
    for (store, rows) in byStore {
      for row in rows { statesByStore[store, default: [:]][row.keyState, default: 0] += 1 }
    }
    for store in byStore.keys { byStore[store]!.sort(by: KeyRow.listOrder) }
  }

  func keys(inStore id: String?) -> [KeyRow] {
    guard let id else { return [] }
    return byStore[id] ?? []
  }

  /// Every key of the account, custom key stores or not.
  var allKeys: [KeyRow] { all }

  var allCount: Int { all.count }

  /// A key by ID (one pass: for commands, not for frames).
  func key(_ id: String) -> KeyRow? {
    guard allIds.contains(id) else { return nil }
    return all.first { $0.keyId == id }
  }

  func count(inStore id: String?) -> Int {
    guard let id else { return 0 }
    return byStore[id]?.count ?? 0
  }

  /// How many keys of a store are in each key state.
  func stateCounts(inStore id: String?) -> [KeyState?: Int] {
    guard let id else { return [:] }
    return statesByStore[id] ?? [:]
  }

  private mutating func count(_ state: KeyState?, in store: String, _ delta: Int) {
    let n = (statesByStore[store]?[state] ?? 0) + delta
    statesByStore[store, default: [:]][state] = n > 0 ? n : nil
    if statesByStore[store]?.isEmpty == true { statesByStore[store] = nil }
  }

  /// The store a key belongs to.
  func store(ofKey id: String) -> String? { storeOfKey[id] }

  /// Where `row` is, or goes, in a store's sorted keys.
  private func position(of row: KeyRow, in store: String) -> Int {
    (byStore[store] ?? []).partitioningIndex { !KeyRow.listOrder($0, row) }
  }

  /// Replaces the key where it is, or inserts it in order: in the all-keys list, and in its
  /// store's list when it is in a custom key store.
  mutating func upsert(_ metadata: KeyMetadata, details: KeyDetails? = nil) {
    let row = KeyRow(metadata, details: details)
    upsertInAll(row)
    let store = metadata.customKeyStoreId
    if let old = storeOfKey[metadata.keyId] {
      let at = position(of: row, in: old)
      if old == store, let keys = byStore[old], at < keys.count, keys[at].keyId == row.keyId {
        count(keys[at].keyState, in: old, -1)
        count(row.keyState, in: old, 1)
        byStore[old]![at] = row  // same sort key (creation date and ID never change)
        return
      }
      removeFromStore(metadata.keyId)
    }
    guard let store else { return }
    storeOfKey[row.keyId] = store
    byStore[store, default: []].insert(row, at: position(of: row, in: store))
    count(row.keyState, in: store, 1)
  }

  /// Replaces the row in the all-keys list where it is (same creation date and ID), or inserts it.
  private mutating func upsertInAll(_ row: KeyRow) {
    let at = all.partitioningIndex { !KeyRow.listOrder($0, row) }
    if at < all.count, all[at].keyId == row.keyId {
      all[at] = row
      return
    }
    if !allIds.insert(row.keyId).inserted, let old = all.firstIndex(where: { $0.keyId == row.keyId }) {
      all.remove(at: old)  // its creation date changed: it moves
    }
    all.insert(row, at: all.partitioningIndex { !KeyRow.listOrder($0, row) })
  }

  mutating func remove(_ keyId: String) {
    if allIds.remove(keyId) != nil, let at = all.firstIndex(where: { $0.keyId == keyId }) {
      all.remove(at: at)
    }
    removeFromStore(keyId)
  }

  private mutating func removeFromStore(_ keyId: String) {
    guard let store = storeOfKey.removeValue(forKey: keyId) else { return }
    if let at = byStore[store]?.firstIndex(where: { $0.keyId == keyId }) {
      count(byStore[store]![at].keyState, in: store, -1)
      byStore[store]!.remove(at: at)
    }
    if byStore[store]?.isEmpty == true { byStore[store] = nil }
  }
}
