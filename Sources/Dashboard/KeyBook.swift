import Foundation
import KMSModel

/// One KMS key as the dashboard shows it (keys view, detail pane, disconnect dialog): a fraction of
/// a `KeyMetadata` plus its rotation and tags.
///
/// One pointer wide: the key book lists every key twice (all keys, and its store's keys) and keeps
/// it in an index by ID, and the three share one immutable record instead of holding ~100 bytes
/// inline each (at 100,000 keys that was ~20 MB of rows plus ~12 MB of ID lookups).
public struct KeyRow: Sendable, Equatable {
  private let fields: KeyRowFields

  public var keyId: String { fields.keyId }
  public var keyState: KeyState? { fields.keyState }
  public var creationDate: Date? { fields.creationDate }
  public var description: String? { fields.description }
  public var keySpec: KeySpec? { fields.keySpec }
  public var keyUsage: KeyUsageType? { fields.keyUsage }
  /// The custom key store the key is in; nil for the account's other keys.
  public var customKeyStoreId: String? { fields.customKeyStoreId }
  /// Automatic rotation and tags (issue 14); nil when the backend sent none.
  public var details: KeyDetails? { fields.details?.value }

  /// The keys view's order: oldest first, then by key ID.
  static func listOrder(_ a: KeyRow, _ b: KeyRow) -> Bool {
    (a.creationDate ?? .distantPast, a.keyId) < (b.creationDate ?? .distantPast, b.keyId)
  }

  public init(_ metadata: KeyMetadata, details: KeyDetails? = nil) {
    fields = KeyRowFields(metadata, details: details)
  }

  public static func == (lhs: KeyRow, rhs: KeyRow) -> Bool {
    lhs.fields === rhs.fields || lhs.fields.isEqual(to: rhs.fields)
  }
}

/// Immutable, so every list of the key book can share it; a change makes a new one.
private final class KeyRowFields: Sendable {
  let keyId: String
  let description: String?
  let customKeyStoreId: String?
  /// Most keys have none (keys in custom key stores cannot rotate and rarely have tags): a pointer
  /// instead of ~40 bytes inline per key.
  let details: DetailsBox?
  let creationDate: Date?
  let keyState: KeyState?
  let keySpec: KeySpec?
  let keyUsage: KeyUsageType?

  init(_ metadata: KeyMetadata, details: KeyDetails?) {
    keyId = metadata.keyId
    description = metadata.description
    customKeyStoreId = metadata.customKeyStoreId
    self.details = details.map(DetailsBox.init)
    creationDate = metadata.creationDate
    keyState = metadata.keyState
    keySpec = metadata.keySpec ?? metadata.customerMasterKeySpec.flatMap { KeySpec(rawValue: $0.rawValue) }
    keyUsage = metadata.keyUsage
  }

  func isEqual(to other: KeyRowFields) -> Bool {
    keyId == other.keyId && description == other.description && customKeyStoreId == other.customKeyStoreId
      && details?.value == other.details?.value && creationDate == other.creationDate
      && keyState == other.keyState && keySpec == other.keySpec && keyUsage == other.keyUsage
  }

  final class DetailsBox: Sendable {
    let value: KeyDetails
    init(_ value: KeyDetails) { self.value = value }
  }
}

/// The fleet's keys in the order the keys views list them (oldest first, then by key ID): every
/// key of the account (the all-keys view), and the custom-store keys per store, so a frame slices
/// the rows on screen without sorting. Built once per snapshot; a delta's keys are upserted or
/// removed one by one (binary search, then one move of the array).
///
/// Every list holds the same `KeyRow`s (one pointer each), and the lookup by ID is a sorted array
/// (binary search) rather than a hash table: at 100,000 keys a `[String: …]` has 262,144 buckets.
struct KeyBook: Sendable, Equatable {
  private var byStore: [String: [KeyRow]] = [:]
  /// Every key, in custom key stores or not, in the keys views' order.
  private var all: [KeyRow] = []
  /// Every key, by key ID (for lookups by ID).
  private var byId: [KeyRow] = []
  /// Keys per store and key state, kept with every change (the detail pane's "keys by state"
  /// costs no pass over a store's keys).
  private var statesByStore: [String: [KeyState?: Int]] = [:]

  init() {}

  /// A key listed twice: the later entry wins.
  init(_ keys: [KeyMetadata], details: [String: KeyDetails] = [:]) {
    byId.reserveCapacity(keys.count)
    for key in keys { byId.append(KeyRow(key, details: details[key.keyId])) }
    // Stable, so of equal IDs the later entry stays last; then one of each ID, the last.
    byId = byId.enumerated().sorted { ($0.element.keyId, $0.offset) < ($1.element.keyId, $1.offset) }.map(
      \.element)
    byId = byId.indices.compactMap { i in
      i + 1 < byId.count && byId[i + 1].keyId == byId[i].keyId ? nil : byId[i]
    }
    all = byId.sorted(by: KeyRow.listOrder)
    // In the all-keys order already: every store's list comes out sorted.
    for row in all {
      guard let store = row.customKeyStoreId else { continue }
      byStore[store, default: []].append(row)
      statesByStore[store, default: [:]][row.keyState, default: 0] += 1
    }
  }

  func keys(inStore id: String?) -> [KeyRow] {
    guard let id else { return [] }
    return byStore[id] ?? []
  }

  /// Every key of the account, custom key stores or not.
  var allKeys: [KeyRow] { all }

  var allCount: Int { all.count }

  /// Where a key ID is, or goes, in `byId`.
  private func idPosition(_ id: String) -> Int { byId.partitioningIndex { $0.keyId >= id } }

  /// A key by ID.
  func key(_ id: String) -> KeyRow? {
    let at = idPosition(id)
    return at < byId.count && byId[at].keyId == id ? byId[at] : nil
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
  func store(ofKey id: String) -> String? { key(id)?.customKeyStoreId }

  /// Replaces the key where it is, or inserts it in order: in the all-keys list, and in its
  /// store's list when it is in a custom key store.
  mutating func upsert(_ metadata: KeyMetadata, details: KeyDetails? = nil) {
    let row = KeyRow(metadata, details: details)
    let at = idPosition(row.keyId)
    let old = at < byId.count && byId[at].keyId == row.keyId ? byId[at] : nil
    if old != nil { byId[at] = row } else { byId.insert(row, at: at) }
    // The same sort key (creation date and ID never change): replaced where it is, in place.
    if let old, old.creationDate == row.creationDate {
      let slot = position(of: old, in: all)  // computed first: the write then changes `all` in place
      all[slot] = row
      if let store = old.customKeyStoreId, store == row.customKeyStoreId {
        let at = position(of: old, in: byStore[store] ?? [])
        count(old.keyState, in: store, -1)
        count(row.keyState, in: store, 1)
        byStore[store]![at] = row
        return
      }
    } else {
      if let old {
        let slot = position(of: old, in: all)
        all.remove(at: slot)
      }
      all.insert(row, at: all.partitioningIndex { !KeyRow.listOrder($0, row) })
    }
    if let old { removeFromStore(old) }
    guard let store = row.customKeyStoreId else { return }
    let slot = (byStore[store] ?? []).partitioningIndex { !KeyRow.listOrder($0, row) }
    byStore[store, default: []].insert(row, at: slot)
    count(row.keyState, in: store, 1)
  }

  mutating func remove(_ keyId: String) {
    let at = idPosition(keyId)
    guard at < byId.count, byId[at].keyId == keyId else { return }
    let old = byId.remove(at: at)
    let slot = position(of: old, in: all)
    all.remove(at: slot)
    removeFromStore(old)
  }

  /// Where a row that is in `rows` (sorted in the list order) sits: binary search.
  private func position(of row: KeyRow, in rows: [KeyRow]) -> Int {
    rows.partitioningIndex { !KeyRow.listOrder($0, row) }
  }

  private mutating func removeFromStore(_ old: KeyRow) {
    guard let store = old.customKeyStoreId, var rows = byStore.removeValue(forKey: store) else { return }
    let at = position(of: old, in: rows)
    if at < rows.count, rows[at].keyId == old.keyId {
      count(old.keyState, in: store, -1)
      rows.remove(at: at)
    }
    if !rows.isEmpty { byStore[store] = rows }
  }
}
