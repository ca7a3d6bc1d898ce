import Foundation

/// How one remote source is doing, as the header strip of a many-source view shows it.
public enum BackendHealth: String, Sendable, Equatable {
  /// Not refreshed yet.
  case pending = "…"
  case ok = "ok"
  /// The endpoint refuses the credentials or the calls (`AccessDeniedException`, an expired or
  /// unrecognised token).
  case accessDenied = "access denied"
  /// No answer: connection refused, timeout, TLS failure.
  case unreachable = "unreachable"
  /// The endpoint answers, but not the custom-key-store operations (moto, LocalStack).
  case notSupported = "not supported"
  /// It answers with errors (throttled, internal failures, unreadable answers).
  case failing = "failing"
}

/// One (profile, Region) of a view over many accounts and Regions: a remote backend of its own
/// whose rows the dashboard shows with ACCOUNT and REGION columns.
public struct FleetSource: Sendable, Equatable {
  /// The prefix of its rows' IDs (see `FleetRowID`); also its position in the header strip.
  public var key: String
  public var order: Int
  public var profile: String?
  /// The account ID: from `sts:GetCallerIdentity`, else from its keys' ARNs; "" until known.
  public var account: String
  public var region: String
  /// Its latest status (endpoint, refresh time, error, notes).
  public var status: BackendStatus?

  public init(
    key: String, order: Int, profile: String?, account: String, region: String, status: BackendStatus? = nil
  ) {
    self.key = key
    self.order = order
    self.profile = profile
    self.account = account
    self.region = region
    self.status = status
  }

  public var health: BackendHealth { status?.health ?? .pending }

  /// "111122223333/eu-west-1", or the profile name while the account is unknown.
  public var label: String {
    let who = account.isEmpty ? (profile ?? "?") : account
    return "\(who)/\(region)"
  }
}

/// The IDs a many-source view gives its rows: a store, key, alias or cluster ID of one source,
/// prefixed with that source's key, so equal IDs in two accounts or Regions stay two rows
/// (`"2/cks-1234567890abcdef0"`). A single-source view keeps the IDs it is given.
public enum FleetRowID {
  public static let separator: Character = "/"

  public static func qualify(_ id: String, source: String) -> String {
    source + String(separator) + id
  }

  /// The source key and the source's own ID; nil when `row` has no source prefix.
  public static func split(_ row: String) -> (source: String, id: String)? {
    guard let at = row.firstIndex(of: separator) else { return nil }
    let source = row[..<at]
    guard !source.isEmpty, source.allSatisfy(\.isNumber) else { return nil }
    return (String(source), String(row[row.index(after: at)...]))
  }
}

extension FleetSnapshot {
  /// The source a row belongs to (nil in a single-source view).
  public func source(ofRow id: String?) -> FleetSource? {
    guard !sources.isEmpty, let id, let split = FleetRowID.split(id) else { return nil }
    return sources[split.source]
  }

  /// The ID as its own backend knows it (the row ID without its source prefix).
  public func ownID(_ id: String) -> String {
    guard !sources.isEmpty, let split = FleetRowID.split(id), sources[split.source] != nil else { return id }
    return split.id
  }

  /// Sources in the header strip's order.
  public var orderedSources: [FleetSource] { sources.values.sorted { $0.order < $1.order } }
}

// MARK: Qualifying a source's records

extension FleetSnapshot {
  /// This fleet with every store, key, alias and cluster ID prefixed by `source` (see
  /// `FleetRowID`); the status and version are kept.
  public func qualified(source: String) -> FleetSnapshot {
    let q = { (id: String) in FleetRowID.qualify(id, source: source) }
    var out = FleetSnapshot(
      version: version, region: region, accountId: accountId, stores: stores.map { $0.qualified(q) },
      stateSince: Dictionary(uniqueKeysWithValues: stateSince.map { (q($0.key), $0.value) }),
      clusters: clusters.map { $0.qualified(q) }, keys: keys.map { $0.qualified(q) },
      aliases: aliases.map { $0.qualified(q) }, events: events.map { $0.qualified(q) },
      faults: Dictionary(uniqueKeysWithValues: faults.map { (q($0.key), $0.value) }))
    out.backend = backend
    return out
  }
}

extension FleetDelta {
  /// This delta with every ID prefixed by `source`, as `FleetSnapshot.qualified(source:)`.
  public func qualified(source: String) -> FleetDelta {
    let q = { (id: String) in FleetRowID.qualify(id, source: source) }
    var out = FleetDelta(
      version: version, stores: stores.map { $0.qualified(q) },
      stateSince: Dictionary(uniqueKeysWithValues: stateSince.map { (q($0.key), $0.value) }),
      removedStoreIds: removedStoreIds.map(q), keys: keys.map { $0.qualified(q) },
      removedKeyIds: removedKeyIds.map(q), aliases: aliases.map { $0.qualified(q) },
      removedAliasNames: removedAliasNames.map(q), clusters: clusters.map { $0.qualified(q) },
      removedClusterIds: removedClusterIds.map(q),
      faults: Dictionary(uniqueKeysWithValues: faults.map { (q($0.key), $0.value) }),
      events: events.map { $0.qualified(q) }, backend: backend)
    out.sources = sources
    return out
  }
}

extension CustomKeyStoresListEntry {
  func qualified(_ q: (String) -> String) -> CustomKeyStoresListEntry {
    var s = self
    s.customKeyStoreId = s.customKeyStoreId.map(q)
    s.cloudHsmClusterId = s.cloudHsmClusterId.map(q)
    return s
  }
}

extension KeyMetadata {
  func qualified(_ q: (String) -> String) -> KeyMetadata {
    var k = self
    k.keyId = q(k.keyId)
    k.customKeyStoreId = k.customKeyStoreId.map(q)
    k.cloudHsmClusterId = k.cloudHsmClusterId.map(q)
    return k
  }
}

extension AliasListEntry {
  func qualified(_ q: (String) -> String) -> AliasListEntry {
    var a = self
    a.aliasName = a.aliasName.map(q)
    a.targetKeyId = a.targetKeyId.map(q)
    return a
  }
}

extension Cluster {
  func qualified(_ q: (String) -> String) -> Cluster {
    var c = self
    c.clusterId = c.clusterId.map(q)
    c.hsms = c.hsms?.map { hsm in
      var hsm = hsm
      hsm.clusterId = hsm.clusterId.map(q)
      return hsm
    }
    return c
  }
}

extension FleetEvent {
  func qualified(_ q: (String) -> String) -> FleetEvent {
    var e = self
    e.customKeyStoreId = e.customKeyStoreId.map(q)
    e.clusterId = e.clusterId.map(q)
    return e
  }
}
