import Foundation

/// Several engines in one state file (one per Region in `kmsdash serve`): every record ID is
/// prefixed with the namespace.
public struct NamespacedStateStore: StateStore {
  public let base: any StateStore
  public let namespace: String

  public init(base: any StateStore, namespace: String) {
    self.base = base
    self.namespace = namespace
  }

  private var prefix: String { namespace + "/" }

  public func loadAll() throws -> [StateRecordKind: [String: Data]] {
    var mine: [StateRecordKind: [String: Data]] = [:]
    for (kind, records) in try base.loadAll() {
      for (id, payload) in records where id.hasPrefix(prefix) {
        mine[kind, default: [:]][String(id.dropFirst(prefix.count))] = payload
      }
    }
    return mine
  }

  public func apply(_ change: StateChange) throws {
    try base.apply(
      StateChange(
        upserts: change.upserts.map { .init(kind: $0.kind, id: prefix + $0.id, payload: $0.payload) },
        deletions: change.deletions.map { .init(kind: $0.kind, id: prefix + $0.id) }))
  }
}
