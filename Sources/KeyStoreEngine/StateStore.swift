import Foundation

/// The kinds of record the engine persists. Payloads are the engine's own Codable records
/// encoded as JSON; a store keeps them opaque.
public enum StateRecordKind: String, Sendable, CaseIterable, Codable {
  /// Engine-wide values (sequence counter, random state, the password pepper). Secret.
  case meta
  case cluster
  case store
  case key
  case alias
  /// AES-256 key material. Secret.
  case material
  case event

  /// Secret payloads must be encrypted at rest by the store (kms-spec: secrets never leave).
  public var isSecret: Bool { self == .meta || self == .material }
}

/// One atomic change: what to write and what to remove.
public struct StateChange: Sendable, Equatable {
  public struct Record: Sendable, Equatable {
    public var kind: StateRecordKind
    public var id: String
    public var payload: Data
    public init(kind: StateRecordKind, id: String, payload: Data) {
      self.kind = kind
      self.id = id
      self.payload = payload
    }
  }

  public struct Deletion: Sendable, Equatable, Hashable {
    public var kind: StateRecordKind
    public var id: String
    public init(kind: StateRecordKind, id: String) {
      self.kind = kind
      self.id = id
    }
  }

  public var upserts: [Record]
  public var deletions: [Deletion]

  public init(upserts: [Record] = [], deletions: [Deletion] = []) {
    self.upserts = upserts
    self.deletions = deletions
  }

  public var isEmpty: Bool { upserts.isEmpty && deletions.isEmpty }
}

/// Durable storage for the engine. `apply` returns only once the change is durable (the engine
/// acknowledges an operation after that), and applies all of it or none of it.
public protocol StateStore: Sendable {
  /// Every saved record, by kind and ID. Empty for a new store.
  func loadAll() throws -> [StateRecordKind: [String: Data]]
  func apply(_ change: StateChange) throws
}
