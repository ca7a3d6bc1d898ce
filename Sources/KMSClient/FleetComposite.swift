import Foundation
import KMSModel

/// Many remote backends, one per (profile, Region), seen as one fleet: each keeps its own poller
/// (its own refresh, backoff and status), and their deltas are merged into one stream of
/// `FleetDelta`s with row IDs qualified by source (`FleetRowID`), so equal store, key, alias or
/// cluster IDs in two accounts or Regions stay apart. Actions go to the source a row belongs to,
/// with that source's endpoint and credentials.
///
/// The first snapshots are taken at most `concurrency` at a time. A source that fails is shown
/// with its status (unreachable, access denied, not supported) and never hides the others.
public actor FleetComposite: FleetObserving, FleetActions {
  /// One source and the backend that polls it.
  public struct Member: Sendable {
    public var source: FleetSource
    public var backend: any DashboardBackend
    /// Stops the backend (its poller) when the composite shuts down.
    public var shutdown: @Sendable () async -> Void

    public init(
      source: FleetSource, backend: any DashboardBackend, shutdown: @escaping @Sendable () async -> Void = {}
    ) {
      self.source = source
      self.backend = backend
      self.shutdown = shutdown
    }
  }

  private let members: [String: Member]
  private let order: [String]
  private let concurrency: Int
  private var sources: [String: FleetSource]
  /// Each source's fleet as its own backend sees it (its own IDs), kept current by its deltas.
  private var fleets: [String: FleetSnapshot] = [:]
  private var version: UInt64 = 0
  private var loader: Task<Void, Never>?
  private var pumps: [Task<Void, Never>] = []
  private var subscribers: [UUID: AsyncStream<FleetDelta>.Continuation] = [:]
  private var stopped = false

  /// `members` in header order; their source keys must be distinct.
  public init(members: [Member], concurrency: Int = 8) {
    var byKey: [String: Member] = [:]
    var order: [String] = []
    var sources: [String: FleetSource] = [:]
    for (position, member) in members.enumerated() where byKey[member.source.key] == nil {
      var source = member.source
      source.order = position
      byKey[source.key] = Member(source: source, backend: member.backend, shutdown: member.shutdown)
      order.append(source.key)
      sources[source.key] = source
    }
    self.members = byKey
    self.order = order
    self.sources = sources
    self.concurrency = max(1, concurrency)
  }

  // MARK: FleetObserving

  public func fleetSnapshot() async throws -> FleetSnapshot {
    start()
    await loader?.value
    return merged()
  }

  public func changes() async -> AsyncStream<FleetDelta> {
    let (stream, continuation) = AsyncStream.makeStream(
      of: FleetDelta.self, bufferingPolicy: .bufferingNewest(256))
    if stopped {
      continuation.finish()
      return stream
    }
    let id = UUID()
    subscribers[id] = continuation
    continuation.onTermination = { [weak self] _ in
      Task { await self?.unsubscribe(id) }
    }
    start()
    return stream
  }

  private func unsubscribe(_ id: UUID) {
    subscribers[id] = nil
  }

  /// Stops every source's polling; every `changes()` stream finishes.
  public func shutdown() async {
    stopped = true
    loader?.cancel()
    for pump in pumps { pump.cancel() }
    for continuation in subscribers.values { continuation.finish() }
    subscribers = [:]
    for key in order { await members[key]?.shutdown() }
  }

  /// The sources in header order, with their latest status.
  public var currentSources: [FleetSource] { order.compactMap { sources[$0] } }

  // MARK: FleetActions

  public func connect(_ store: CustomKeyStoreID) async throws {
    let (backend, id) = try route(store.rawValue, what: "custom key store")
    try await backend.connect(CustomKeyStoreID(unchecked: id))
  }

  public func disconnect(_ store: CustomKeyStoreID) async throws {
    let (backend, id) = try route(store.rawValue, what: "custom key store")
    try await backend.disconnect(CustomKeyStoreID(unchecked: id))
  }

  public func enable(_ key: KeyID) async throws {
    let (backend, id) = try route(key.rawValue, what: "key")
    try await backend.enable(KeyID(unchecked: id))
  }

  public func disable(_ key: KeyID) async throws {
    let (backend, id) = try route(key.rawValue, what: "key")
    try await backend.disable(KeyID(unchecked: id))
  }

  public func scheduleDeletion(_ key: KeyID, pendingWindowInDays days: Int) async throws -> Date? {
    let (backend, id) = try route(key.rawValue, what: "key")
    return try await backend.scheduleDeletion(KeyID(unchecked: id), pendingWindowInDays: days)
  }

  public func cancelDeletion(_ key: KeyID) async throws {
    let (backend, id) = try route(key.rawValue, what: "key")
    try await backend.cancelDeletion(KeyID(unchecked: id))
  }

  /// The new key's ID comes back qualified by the store's source, as its row will be.
  public func createKey(in store: CustomKeyStoreID, description: String?) async throws -> KeyID {
    let (source, backend, id) = try routeWithSource(store.rawValue, what: "custom key store")
    let key = try await backend.createKey(in: CustomKeyStoreID(unchecked: id), description: description)
    return KeyID(unchecked: FleetRowID.qualify(key.rawValue, source: source))
  }

  /// The alias is created in the key's account and Region; its name is the one typed.
  public func createAlias(_ alias: AliasName, for key: KeyID) async throws {
    let (backend, id) = try route(key.rawValue, what: "key")
    try await backend.createAlias(alias, for: KeyID(unchecked: id))
  }

  public func deleteAlias(_ alias: AliasName) async throws {
    let (backend, name) = try route(alias.rawValue, what: "alias")
    try await backend.deleteAlias(AliasName(unchecked: name))
  }

  /// The store is created where its cluster is; its ID comes back qualified.
  public func createStore(name: String, cluster: ClusterID, trustAnchor: String, password: String)
    async throws
    -> CustomKeyStoreID
  {
    let (source, backend, id) = try routeWithSource(cluster.rawValue, what: "cluster")
    let store = try await backend.createStore(
      name: name, cluster: ClusterID(unchecked: id), trustAnchor: trustAnchor, password: password)
    return CustomKeyStoreID(unchecked: FleetRowID.qualify(store.rawValue, source: source))
  }

  public func updateStore(_ store: CustomKeyStoreID, newName: String?, password: String?) async throws {
    let (backend, id) = try route(store.rawValue, what: "custom key store")
    try await backend.updateStore(CustomKeyStoreID(unchecked: id), newName: newName, password: password)
  }

  public func deleteStore(_ store: CustomKeyStoreID) async throws {
    let (backend, id) = try route(store.rawValue, what: "custom key store")
    try await backend.deleteStore(CustomKeyStoreID(unchecked: id))
  }

  /// The backend of the row's source and the ID it knows the record by.
  private func route(_ row: String, what: String) throws -> (any DashboardBackend, String) {
    let (_, backend, id) = try routeWithSource(row, what: what)
    return (backend, id)
  }

  private func routeWithSource(_ row: String, what: String) throws -> (String, any DashboardBackend, String) {
    guard let split = FleetRowID.split(row), let member = members[split.source], !split.id.isEmpty else {
      throw KMSError(.notFoundException, "No \(what) '\(row)' in any account and Region of this view.")
    }
    return (split.source, member.backend, split.id)
  }

  // MARK: Loading and merging

  private func start() {
    guard loader == nil, !stopped else { return }
    let keys = order
    let members = self.members
    let limit = concurrency
    loader = Task { [weak self] in
      await withTaskGroup(of: Void.self) { group in
        var running = 0
        for key in keys {
          guard let member = members[key] else { continue }
          if running >= limit {
            await group.next()
            running -= 1
          }
          running += 1
          group.addTask {
            // Subscribed before the snapshot: no change between the two is lost.
            let stream = await member.backend.changes()
            let first: Result<FleetSnapshot, any Error>
            do {
              first = .success(try await member.backend.fleetSnapshot())
            } catch {
              first = .failure(error)
            }
            await self?.install(key, first, stream)
          }
        }
      }
    }
  }

  /// A source's first snapshot (or why there is none), then its deltas as they come.
  private func install(
    _ key: String, _ first: Result<FleetSnapshot, any Error>, _ stream: AsyncStream<FleetDelta>
  ) {
    guard let source = sources[key] else { return }
    switch first {
    case .success(let snapshot):
      fleets[key] = snapshot
      sources[key] = Self.updated(source, snapshot: snapshot)
    case .failure(let error):
      var status =
        source.status ?? BackendStatus(endpoint: "", region: source.region, profile: source.profile)
      status.lastError = FleetPoller.describe(error)
      status.health = FleetPoller.health(of: error)
      status.consecutiveFailures = max(1, status.consecutiveFailures)
      var empty = FleetSnapshot(
        version: 0, region: source.region, accountId: source.account, stores: [], stateSince: [:],
        clusters: [],
        keys: [], aliases: [], events: [], faults: [:])
      empty.backend = status
      fleets[key] = empty
      sources[key]?.status = status
    }
    pumps.append(
      Task { [weak self] in
        for await delta in stream {
          guard let self else { return }
          await self.handle(key, delta)
        }
      })
  }

  private func handle(_ key: String, _ delta: FleetDelta) async {
    // Only the version is read first: holding a copy of the fleet would copy its lists on apply.
    guard let member = members[key], let beforeVersion = fleets[key]?.version else { return }
    if fleets[key]?.apply(delta) == true {
      guard delta.version > beforeVersion else { return }  // already reflected
      var out = delta.qualified(source: key)
      out.backend = nil
      if let source = sources[key] {
        let now = Self.updated(source, status: delta.backend, keys: delta.keys)
        if now != source {
          sources[key] = now
          out.sources = [now]
        }
      }
      emit(out)
      return
    }
    // A gap: this source's subscriber fell behind. Take its snapshot again and send what changed.
    guard let fresh = try? await member.backend.fleetSnapshot() else {
      // Keep what is shown; the next delta after a successful refresh brings it back in step.
      fleets[key]?.version = delta.version
      return
    }
    guard let old = fleets[key] else { return }
    fleets[key] = fresh
    var out = Self.replacement(from: old, to: fresh, source: key)
    if let source = sources[key] {
      let now = Self.updated(source, snapshot: fresh)
      if now != source {
        sources[key] = now
        out.sources = [now]
      }
    }
    emit(out)
  }

  private func emit(_ delta: FleetDelta) {
    var delta = delta
    version += 1
    delta.version = version
    for continuation in subscribers.values { continuation.yield(delta) }
  }

  /// Every source's fleet in one snapshot, rows qualified by source. Built in one actor turn, so
  /// the deltas emitted after it follow its version.
  private func merged() -> FleetSnapshot {
    var stores: [CustomKeyStoresListEntry] = []
    var stateSince: [String: Date] = [:]
    var clusters: [Cluster] = []
    var keys: [KeyMetadata] = []
    var aliases: [AliasListEntry] = []
    var events: [FleetEvent] = []
    var faults: [String: Set<SimulatorFault>] = [:]
    for key in order {
      guard let fleet = fleets[key] else { continue }
      let q = fleet.qualified(source: key)
      stores += q.stores
      stateSince.merge(q.stateSince) { $1 }
      clusters += q.clusters
      keys += q.keys
      aliases += q.aliases
      events += q.events
      faults.merge(q.faults) { $1 }
    }
    events.sort { ($0.date, $0.sequence) < ($1.date, $1.sequence) }
    if events.count > 500 { events.removeFirst(events.count - 500) }
    let accounts = Set(order.compactMap { sources[$0]?.account }.filter { !$0.isEmpty })
    let regions = Set(order.compactMap { sources[$0]?.region })
    var snapshot = FleetSnapshot(
      version: version, region: regions.count == 1 ? regions.first! : "\(regions.count) Regions",
      accountId: accounts.count == 1 ? accounts.first! : "\(accounts.count) accounts", stores: stores,
      stateSince: stateSince, clusters: clusters, keys: keys, aliases: aliases, events: events, faults: faults
    )
    snapshot.sources = sources
    return snapshot
  }

  // MARK: Pure helpers (tested directly)

  static func updated(_ source: FleetSource, snapshot: FleetSnapshot) -> FleetSource {
    var source = source
    if let status = snapshot.backend { source.status = status }
    if source.account.isEmpty, !snapshot.accountId.isEmpty { source.account = snapshot.accountId }
    return source
  }

  static func updated(_ source: FleetSource, status: BackendStatus?, keys: [KeyMetadata]) -> FleetSource {
    var source = source
    if let status { source.status = status }
    if source.account.isEmpty,
      let account = keys.lazy.compactMap(\.awsAccountId).first(where: { !$0.isEmpty })
    {
      source.account = account
    }
    return source
  }

  /// What turns a source's `old` fleet into `fresh` (after a gap): everything of `fresh`, whole,
  /// and the removal of what is gone.
  static func replacement(from old: FleetSnapshot, to fresh: FleetSnapshot, source: String) -> FleetDelta {
    func gone(_ before: [String], _ after: [String]) -> [String] {
      let kept = Set(after)
      return before.filter { !kept.contains($0) }
    }
    var faults = fresh.faults
    for id in old.faults.keys where faults[id] == nil { faults[id] = [] }
    let raw = FleetDelta(
      version: fresh.version, stores: fresh.stores, stateSince: fresh.stateSince,
      removedStoreIds: gone(
        old.stores.compactMap(\.customKeyStoreId), fresh.stores.compactMap(\.customKeyStoreId)),
      keys: fresh.keys, removedKeyIds: gone(old.keys.map(\.keyId), fresh.keys.map(\.keyId)),
      aliases: fresh.aliases,
      removedAliasNames: gone(old.aliases.compactMap(\.aliasName), fresh.aliases.compactMap(\.aliasName)),
      clusters: fresh.clusters,
      removedClusterIds: gone(old.clusters.compactMap(\.clusterId), fresh.clusters.compactMap(\.clusterId)),
      faults: faults, backend: fresh.backend)
    var out = raw.qualified(source: source)
    out.backend = nil
    return out
  }
}
