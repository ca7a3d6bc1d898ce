import Foundation

/// What one committed change did to the fleet, in the shapes a dashboard draws: the records that
/// were added or changed (whole), the IDs that were removed, and the events it recorded. A
/// subscriber keeps its own `FleetSnapshot` current by applying deltas in order.
///
/// `version` is the fleet's version after the change, and consecutive deltas differ by exactly
/// one. A subscriber that sees a gap (it fell behind and the stream dropped deltas, or it
/// subscribed after taking its snapshot) resynchronises from one `fleetSnapshot()`.
public struct FleetDelta: Sendable, Equatable {
  public var version: UInt64
  /// Stores created or changed, whole. Their `stateSince` entries are in `stateSince`.
  public var stores: [CustomKeyStoresListEntry]
  public var stateSince: [String: Date]
  public var removedStoreIds: [String]
  /// Keys created or changed (in custom key stores or not), with their effective key state: when a store's
  /// connection state changes, every key of that store is here.
  public var keys: [KeyMetadata]
  /// Rotation and tags of the keys in `keys` (a key without an entry has none to show).
  public var keyDetails: [String: KeyDetails]
  public var removedKeyIds: [String]
  public var aliases: [AliasListEntry]
  public var removedAliasNames: [String]
  /// Clusters created or changed (HSMs included), whole.
  public var clusters: [Cluster]
  public var removedClusterIds: [String]
  /// The whole fault set of every cluster whose faults changed (empty set: none left).
  public var faults: [String: Set<SimulatorFault>]
  /// Events recorded by this change, oldest first.
  public var events: [FleetEvent]
  /// A remote backend's status after this refresh; nil when it did not change (or embedded).
  public var backend: BackendStatus?
  /// The XKS health of every external key store this change touched (kmsdash engines only).
  public var xksHealth: [String: XKSStoreHealth] = [:]
  /// Sources of a many-source view whose status or account changed, whole.
  public var sources: [FleetSource] = []

  public init(
    version: UInt64, stores: [CustomKeyStoresListEntry] = [], stateSince: [String: Date] = [:],
    removedStoreIds: [String] = [], keys: [KeyMetadata] = [], removedKeyIds: [String] = [],
    aliases: [AliasListEntry] = [], removedAliasNames: [String] = [], clusters: [Cluster] = [],
    removedClusterIds: [String] = [], faults: [String: Set<SimulatorFault>] = [:],
    events: [FleetEvent] = [], backend: BackendStatus? = nil, keyDetails: [String: KeyDetails] = [:]
  ) {
    self.version = version
    self.stores = stores
    self.stateSince = stateSince
    self.removedStoreIds = removedStoreIds
    self.keys = keys
    self.keyDetails = keyDetails
    self.removedKeyIds = removedKeyIds
    self.aliases = aliases
    self.removedAliasNames = removedAliasNames
    self.clusters = clusters
    self.removedClusterIds = removedClusterIds
    self.faults = faults
    self.events = events
    self.backend = backend
  }

  /// True when the delta changes nothing a view shows (a version bump only).
  public var isEmpty: Bool {
    stores.isEmpty && removedStoreIds.isEmpty && keys.isEmpty && removedKeyIds.isEmpty && aliases.isEmpty
      && removedAliasNames.isEmpty && clusters.isEmpty && removedClusterIds.isEmpty && faults.isEmpty
      && events.isEmpty && backend == nil && xksHealth.isEmpty && sources.isEmpty
  }
}

/// How a dashboard observes a fleet: one consistent snapshot, then deltas.
public protocol FleetObserving: Sendable {
  /// Everything a dashboard shows, consistent at one instant, with the version it reflects.
  func fleetSnapshot() async throws -> FleetSnapshot
  /// Every committed change as a delta, in order. The stream buffers a bounded number of deltas;
  /// a subscriber that falls further behind sees a version gap and takes a new snapshot.
  func changes() async -> AsyncStream<FleetDelta>
}

/// The store and key operations a dashboard performs, by typed identifier. Errors are `KMSError`
/// with the AWS exception name.
public protocol FleetActions: Sendable {
  func connect(_ store: CustomKeyStoreID) async throws
  func disconnect(_ store: CustomKeyStoreID) async throws
  func enable(_ key: KeyID) async throws
  func disable(_ key: KeyID) async throws
  /// Returns when the key will be deleted.
  func scheduleDeletion(_ key: KeyID, pendingWindowInDays days: Int) async throws -> Date?
  func cancelDeletion(_ key: KeyID) async throws
  /// A symmetric encryption key in a custom key store; returns its ID.
  func createKey(in store: CustomKeyStoreID, description: String?) async throws -> KeyID
  func createAlias(_ alias: AliasName, for key: KeyID) async throws
  func deleteAlias(_ alias: AliasName) async throws
  /// A CloudHSM key store; returns its ID. `password` is the kmsuser password (never logged).
  func createStore(name: String, cluster: ClusterID, trustAnchor: String, password: String) async throws
    -> CustomKeyStoreID
  /// UpdateCustomKeyStore with a new name and/or the kmsuser password.
  func updateStore(_ store: CustomKeyStoreID, newName: String?, password: String?) async throws
  func deleteStore(_ store: CustomKeyStoreID) async throws
}

/// All a dashboard needs from a backend.
public typealias DashboardBackend = FleetObserving & FleetActions

/// Any implementation of the KMS API performs the dashboard's actions through the AWS operations.
extension FleetActions where Self: KeyStoreService {
  public func connect(_ store: CustomKeyStoreID) async throws {
    _ = try await connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: store.rawValue))
  }

  public func disconnect(_ store: CustomKeyStoreID) async throws {
    _ = try await disconnectCustomKeyStore(DisconnectCustomKeyStoreRequest(customKeyStoreId: store.rawValue))
  }

  public func enable(_ key: KeyID) async throws {
    _ = try await enableKey(EnableKeyRequest(keyId: key.rawValue))
  }

  public func disable(_ key: KeyID) async throws {
    _ = try await disableKey(DisableKeyRequest(keyId: key.rawValue))
  }

  public func scheduleDeletion(_ key: KeyID, pendingWindowInDays days: Int) async throws -> Date? {
    try await scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: key.rawValue, pendingWindowInDays: days))
      .deletionDate
  }

  public func cancelDeletion(_ key: KeyID) async throws {
    _ = try await cancelKeyDeletion(CancelKeyDeletionRequest(keyId: key.rawValue))
  }

  public func createKey(in store: CustomKeyStoreID, description: String?) async throws -> KeyID {
    let response = try await createKey(
      CreateKeyRequest(description: description, origin: "AWS_CLOUDHSM", customKeyStoreId: store.rawValue))
    guard let id = KeyID(response.keyMetadata?.keyId) else {
      throw KMSError(.kmsInternalException, "CreateKey answered without a key ID.")
    }
    return id
  }

  public func createAlias(_ alias: AliasName, for key: KeyID) async throws {
    _ = try await createAlias(CreateAliasRequest(aliasName: alias.rawValue, targetKeyId: key.rawValue))
  }

  public func deleteAlias(_ alias: AliasName) async throws {
    _ = try await deleteAlias(DeleteAliasRequest(aliasName: alias.rawValue))
  }

  public func createStore(name: String, cluster: ClusterID, trustAnchor: String, password: String)
    async throws
    -> CustomKeyStoreID
  {
    let response = try await createCustomKeyStore(
      CreateCustomKeyStoreRequest(
        customKeyStoreName: name, cloudHsmClusterId: cluster.rawValue, trustAnchorCertificate: trustAnchor,
        keyStorePassword: password))
    guard let id = CustomKeyStoreID(response.customKeyStoreId) else {
      throw KMSError(.kmsInternalException, "CreateCustomKeyStore answered without a store ID.")
    }
    return id
  }

  public func updateStore(_ store: CustomKeyStoreID, newName: String?, password: String?) async throws {
    _ = try await updateCustomKeyStore(
      UpdateCustomKeyStoreRequest(
        customKeyStoreId: store.rawValue, newCustomKeyStoreName: newName, keyStorePassword: password))
  }

  public func deleteStore(_ store: CustomKeyStoreID) async throws {
    _ = try await deleteCustomKeyStore(DeleteCustomKeyStoreRequest(customKeyStoreId: store.rawValue))
  }
}

extension FleetSnapshot {
  /// Applies the next delta in place. Returns false, changing nothing, when the delta is not the
  /// next one (a gap: the caller takes a new snapshot instead). Deltas at or below the snapshot's
  /// version are already reflected and are ignored (true).
  ///
  /// Cost: O(records in the delta) for records added or changed (each is replaced where it is, or
  /// appended, and the lookups are patched); a removal costs one pass over the list concerned.
  /// Apply to a snapshot nobody else holds, or the first change copies the lists.
  @discardableResult
  public mutating func apply(_ delta: FleetDelta) -> Bool {
    if delta.version <= version { return true }
    guard delta.version == version + 1 else { return false }
    version = delta.version
    for store in delta.stores { upsert(store: store) }
    remove(stores: delta.removedStoreIds)
    for (id, date) in delta.stateSince { stateSince[id] = date }
    for id in delta.removedStoreIds { stateSince[id] = nil }
    for (id, health) in delta.xksHealth { xksHealth[id] = health }
    for id in delta.removedStoreIds { xksHealth[id] = nil }
    for key in delta.keys { upsert(key: key) }
    remove(keys: delta.removedKeyIds)
    for key in delta.keys { keyDetails[key.keyId] = delta.keyDetails[key.keyId] }
    for id in delta.removedKeyIds { keyDetails[id] = nil }
    for alias in delta.aliases { upsert(alias: alias) }
    remove(aliases: delta.removedAliasNames)
    for cluster in delta.clusters { upsert(cluster: cluster) }
    remove(clusters: delta.removedClusterIds)
    for (id, set) in delta.faults { faults[id] = set.isEmpty ? nil : set }
    for id in delta.removedClusterIds { faults[id] = nil }
    if !delta.events.isEmpty {
      let limit = max(events.count, 500)
      events.append(contentsOf: delta.events)
      if events.count > limit { events.removeFirst(events.count - limit) }
    }
    if let backend = delta.backend { self.backend = backend }
    for source in delta.sources { sources[source.key] = source }
    return true
  }
}
