import Crypto
import Foundation
@_exported import HSMSimulator
@_exported import KMSModel

/// The core engine: the KMS custom-key-store API (kms-spec §2–§5) over a simulated CloudHSM
/// fleet. All state lives in this actor; connects and disconnects finish on a background task
/// driven by the injected clock (or, with a manual clock, when the engine is next called).
public actor KeyStoreEngine {
  public let configuration: EngineConfiguration
  let clock: any EngineClock
  var fleet: HSMFleet
  var random: SeededRandom
  var stores = TrackedDictionary<StoreRecord>()
  var keys = TrackedDictionary<KeyRecord>()
  var aliases = TrackedDictionary<AliasRecord>()
  /// Creation order of the stores and keys, cached until one is added or removed.
  var storeOrderCache = CreationOrder()
  var keyOrderCache = CreationOrder()
  var events: [FleetEvent] = []
  /// Events recorded, and sequences dropped from the history, since the last save.
  var unsavedEvents: [FleetEvent] = []
  var droppedEvents: [UInt64] = []
  let stateStore: (any StateStore)?
  let recordEncoder = JSONEncoder()
  var lastSavedAt = Date.distantPast
  var lastHeartbeatCheck = Date.distantPast
  var sequence: UInt64 = 0
  var version: UInt64 = 0
  var subscribers: [UUID: AsyncStream<FleetChange>.Continuation] = [:]
  /// Earliest moment some background work is due (transition, HSM creation, key deletion).
  var nextDueAt: Date?
  var driver: Task<Void, Never>?
  var driverDeadline: Date?
  /// Authenticates paging markers so only markers we issued are accepted.
  var markerKey = KeyBytes.random()
  /// True when the engine started from an empty state (the caller then seeds a scenario).
  public private(set) var startedEmpty = true

  /// An engine whose state lives only in memory.
  public init(configuration: EngineConfiguration = .init(), clock: any EngineClock = SystemClock()) {
    self.configuration = configuration
    self.clock = clock
    fleet = HSMFleet(seed: configuration.seed)
    random = SeededRandom(seed: configuration.seed)
    stateStore = nil
  }

  /// An engine that saves every change to `stateStore` before acknowledging it, and resumes
  /// from what the store holds.
  public init(
    configuration: EngineConfiguration = .init(), clock: any EngineClock = SystemClock(),
    stateStore: any StateStore
  ) async throws {
    self.configuration = configuration
    self.clock = clock
    self.stateStore = stateStore
    let saved = try stateStore.loadAll()
    let resumed = try SavedEngineState(records: saved)
    fleet = HSMFleet(seed: configuration.seed, pepper: resumed?.meta.pepper ?? .random())
    random = SeededRandom(seed: configuration.seed)
    if let resumed {
      startedEmpty = false
      restore(resumed)
    }
  }

  deinit { driver?.cancel() }

  // MARK: Naming

  var arnPrefix: String { "arn:aws:kms:\(configuration.region):\(configuration.accountId)" }
  func keyArn(_ keyId: String) -> String { "\(arnPrefix):key/\(keyId)" }
  func aliasArn(_ name: String) -> String { "\(arnPrefix):\(name)" }

  func nextSequence() -> UInt64 {
    sequence += 1
    return sequence
  }

  // MARK: Time and background work

  /// Applies every transition whose time has come. Called first by every operation, so what a
  /// caller sees is always consistent with the clock.
  func applyDueWork() {
    let now = clock.now()
    guard let due = nextDueAt, due <= now else { return }
    var changed = false
    // Store transitions in due order, so an observer sees them in the order they happened.
    let dueStores = stores.values.filter { ($0.pending?.dueAt ?? .distantFuture) <= now }
      .sorted { ($0.pending!.dueAt, $0.sequence) < ($1.pending!.dueAt, $1.sequence) }
    for store in dueStores {
      finishTransition(storeId: store.id, at: store.pending!.dueAt)
      changed = true
    }
    for (clusterId, hsmId) in fleet.finishHsmCreations(now: now) {
      record(.hsmStateChanged, clusterId: clusterId, summary: "HSM \(hsmId) in \(clusterId) is ACTIVE")
      changed = true
    }
    for key in keys.values where (key.deletionDate ?? .distantFuture) <= now {
      deleteKeyNow(key.keyId)
      changed = true
    }
    recomputeNextDue()
    if changed { publish() }
  }

  func recomputeNextDue() {
    let candidates =
      stores.values.compactMap(\.pending?.dueAt) + keys.values.compactMap(\.deletionDate)
      + [fleet.nextHsmReadyAt].compactMap { $0 }
    nextDueAt = candidates.min()
    rescheduleDriver()
  }

  /// With a live clock, one task sleeps until the next due moment; none exists when idle.
  func rescheduleDriver() {
    guard clock.drivesTimers, driverDeadline != nextDueAt else { return }
    driver?.cancel()
    driver = nil
    driverDeadline = nextDueAt
    guard let deadline = nextDueAt else { return }
    let clock = self.clock
    driver = Task { [weak self] in
      do { try await clock.sleep(until: deadline) } catch { return }
      await self?.driverFired()
    }
  }

  func driverFired() {
    driver = nil
    driverDeadline = nil
    applyDueWork()
    // Nothing to answer here; a failed save stays pending and the next operation retries it.
    try? commit()
    rescheduleDriver()
  }

  /// Finishes a store's pending transition as of `date` (its due time, or now when fast-forwarding).
  func finishTransition(storeId: String, at date: Date) {
    guard var store = stores[storeId], let pending = store.pending else { return }
    store.pending = nil
    let before = store.machine.state
    switch pending.kind {
    case .connect:
      let outcome: ConnectionErrorCodeType?
      if store.type == .awsCloudhsm, let clusterId = store.clusterId {
        outcome = fleet.connectFailure(clusterId: clusterId, passwordDigest: store.passwordDigest)
        if let rotated = fleet.recordConnectAttempt(clusterId: clusterId, outcome: outcome) {
          store.passwordDigest = rotated  // KMS rotates kmsuser's password on every connect
        }
      } else {
        outcome = nil
      }
      _ = store.machine.connectFinished(outcome)
    case .disconnect:
      _ = store.machine.disconnectFinished()
    }
    store.stateSince = date
    stores[storeId] = store
    recordTransition(store, from: before, at: date)
  }

  // MARK: Change stream and events

  func publish() {
    version += 1
    let change = FleetChange(version: version)
    for continuation in subscribers.values { continuation.yield(change) }
  }

  func record(
    _ kind: FleetEvent.Kind, storeId: String? = nil, clusterId: String? = nil,
    state: ConnectionStateType? = nil,
    code: ConnectionErrorCodeType? = nil, at date: Date? = nil, summary: String
  ) {
    let event = FleetEvent(
      sequence: nextSequence(), date: date ?? clock.now(), kind: kind, customKeyStoreId: storeId,
      clusterId: clusterId, connectionState: state, connectionErrorCode: code, summary: summary)
    events.append(event)
    if stateStore != nil { unsavedEvents.append(event) }
    if events.count > configuration.eventHistoryLimit {
      let dropped = events.prefix(events.count - configuration.eventHistoryLimit)
      if stateStore != nil { droppedEvents += dropped.map(\.sequence) }
      events.removeFirst(dropped.count)
    }
  }

  func recordTransition(_ store: StoreRecord, from before: ConnectionStateType, at date: Date? = nil) {
    let after = store.machine.state
    guard before != after else { return }
    let code = store.machine.errorCode.map { " (\($0.rawValue))" } ?? ""
    record(
      .connectionStateChanged, storeId: store.id, clusterId: store.clusterId, state: after,
      code: store.machine.errorCode, at: date,
      summary: "\(store.name) (\(store.id)): \(before.rawValue) → \(after.rawValue)\(code)")
  }

  public func changes() -> AsyncStream<FleetChange> {
    let (stream, continuation) = AsyncStream.makeStream(
      of: FleetChange.self, bufferingPolicy: .bufferingNewest(1))
    let id = UUID()
    subscribers[id] = continuation
    continuation.onTermination = { [weak self] _ in
      Task { await self?.unsubscribe(id) }
    }
    return stream
  }

  func unsubscribe(_ id: UUID) { subscribers[id] = nil }

  // MARK: Provisioning (not a KMS operation: what an administrator does in CloudHSM)

  /// Adds a simulated cluster with active HSMs; returns its `cluster-…` ID.
  @discardableResult
  public func addCluster(_ spec: ClusterSpec) throws(KMSError) -> String {
    try persisting { () throws(KMSError) -> String in
      applyDueWork()
      let id = try fleet.addCluster(spec, now: clock.now())
      record(.hsmCreated, clusterId: id, summary: "Cluster \(id) provisioned")
      publish()
      return id
    }
  }

  /// Completes every pending transition at once, as if the time had passed. Used when loading a
  /// scenario so seeded states are reached through the real transitions.
  public func completePendingTransitions() throws(KMSError) {
    try persisting { () throws(KMSError) in completePendingTransitionsUnsaved() }
  }

  func completePendingTransitionsUnsaved() {
    for store in stores.values.sorted(by: { $0.sequence < $1.sequence }) where store.pending != nil {
      finishTransition(storeId: store.id, at: clock.now())
    }
    recomputeNextDue()
    publish()
  }
}
