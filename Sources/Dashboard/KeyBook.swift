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

/// The fleet's custom-store keys, per store, in the order the backend listed them. Built once per
/// snapshot; a delta's keys are upserted or removed one by one (O(keys of their store) each).
struct KeyBook: Sendable, Equatable {
  private var byStore: [String: [KeyRow]] = [:]
  private var storeOfKey: [String: String] = [:]

  init() {}

  init(_ keys: [KeyMetadata], details: [String: KeyDetails] = [:]) {
    storeOfKey.reserveCapacity(keys.count)
    for key in keys { upsert(key, details: details[key.keyId]) }
  }

  func keys(inStore id: String?) -> [KeyRow] {
    guard let id else { return [] }
    return byStore[id] ?? []
  }

  func count(inStore id: String?) -> Int {
    guard let id else { return 0 }
    return byStore[id]?.count ?? 0
  }

  /// The store a key belongs to.
  func store(ofKey id: String) -> String? { storeOfKey[id] }

  /// Replaces the key where it is, or appends it to its store. Keys outside custom key stores are
  /// not kept.
  mutating func upsert(_ metadata: KeyMetadata, details: KeyDetails? = nil) {
    let row = KeyRow(metadata, details: details)
    let store = metadata.customKeyStoreId
    if let old = storeOfKey[metadata.keyId] {
      if old == store, let at = byStore[old]?.firstIndex(where: { $0.keyId == row.keyId }) {
        byStore[old]![at] = row
        return
      }
      remove(metadata.keyId)
    }
    guard let store else { return }
    storeOfKey[row.keyId] = store
    byStore[store, default: []].append(row)
  }

  mutating func remove(_ keyId: String) {
    guard let store = storeOfKey.removeValue(forKey: keyId) else { return }
    byStore[store]?.removeAll { $0.keyId == keyId }
    if byStore[store]?.isEmpty == true { byStore[store] = nil }
  }
}
