import Crypto
import Foundation
@_exported import HSMSimulator
@_exported import KMSModel

/// The core engine: the KMS custom-key-store API (kms-spec §2–§5) over a simulated CloudHSM
/// fleet. All state lives in this actor, which runs on a thread of its own. Every mutation is a
/// transaction: applied, saved, then published as a delta and answered; reads never write.
/// Connects and disconnects finish on a background driver that sleeps on the injected clock
/// (with a manual clock, tests advance it and call `runDueWork()`).
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
  /// Events recorded, and sequences dropped from the history, in the running transaction.
  var unsavedEvents: [FleetEvent] = []
  var droppedEvents: [FleetEvent] = []
  let stateStore: (any StateStore)?
  let recordEncoder = JSONEncoder()
  var lastSavedAt = Date.distantPast
  /// After a failed save of due work, when the driver tries again.
  var retryDueWorkAt: Date?
  var sequence: UInt64 = 0
  var version: UInt64 = 0
  /// Durable saves so far (the write benchmark reports saves per mutation).
  public internal(set) var savesCommitted = 0
  var subscribers: [UUID: AsyncStream<FleetDelta>.Continuation] = [:]
  /// Due moments of the stores in transition and of the keys with background work ahead, by ID:
  /// kept from what each transaction touched, so a commit never scans the fleet.
  var storeDueDates: [String: Date] = [:]
  var keyDueDates: [String: Date] = [:]
  /// The keys of each custom key store, kept the same way (a store's state change re-describes
  /// its keys without scanning all of them).
  var keyIdsByStore: [String: Set<String>] = [:]
  /// Earliest moment some background work is due (transition, HSM creation, key deletion).
  var nextDueAt: Date?
  var driver: Task<Void, Never>?
  var driverDeadline: Date?
  var driverGeneration: UInt64 = 0
  /// The XKS proxy client and the calls in flight (`KeyStoreEngine+XKS.swift`).
  var xks = XKSEngineState()
  /// True while a transaction's body runs (they never nest).
  var inTransaction = false
  /// True while a reset seeds its scenario: the operations it runs join its transaction.
  var joinsTransactions = false
  /// Authenticates paging markers so only markers we issued are accepted.
  var markerKey = KeyBytes.random()
  /// The other Regions of a `kmsdash serve`, for multi-Region keys (nil: this engine is alone).
  var regionPeers: (any RegionPeers)?
  /// Deletions of multi-Region keys saved here and not yet told to their other Regions.
  var regionNotices: [RegionNotice] = []
  /// True when the engine started from an empty state (the caller then seeds a scenario).
  public private(set) var startedEmpty = true
  /// The engine's own thread: saving blocks it, not the cooperative pool.
  private let executor = DedicatedThreadExecutor(name: "kmsdash-engine")
  public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
  /// Committed state for the hot reads, readable from any thread (updated after every commit).
  public nonisolated let readView: EngineReadView
  /// Each key's last successful cryptographic operation (in memory: reads never write).
  nonisolated let usageLog: KeyUsageLog

  /// An engine whose state lives only in memory.
  public init(configuration: EngineConfiguration = .init(), clock: any EngineClock = SystemClock()) {
    self.configuration = configuration
    self.clock = clock
    readView = EngineReadView(configuration: configuration)
    usageLog = KeyUsageLog(trackingStart: clock.now())
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
    readView = EngineReadView(configuration: configuration)
    usageLog = KeyUsageLog(trackingStart: clock.now())
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

  /// Applies every transition whose time has come, in due order. Only the driver calls it
  /// (`runDueWork`), inside a transaction: calls never apply or save due work on the side.
  func applyDueWork() {
    let now = clock.now()
    guard let due = nextDueAt, due <= now else { return }
    // Store transitions in due order, so an observer sees them in the order they happened.
    let dueStores = storeDueDates.compactMap { id, due in
      due <= now && xks.probes[id] == nil ? stores[id].map { (id, due, $0.sequence) } : nil
    }.sorted { ($0.1, $0.2) < ($1.1, $1.2) }
    for (storeId, _, _) in dueStores { deadlineReached(storeId: storeId, now: now) }
    for (clusterId, hsmId) in fleet.finishHsmCreations(now: now) {
      record(.hsmStateChanged, clusterId: clusterId, summary: "HSM \(hsmId) in \(clusterId) is ACTIVE")
    }
    let dueKeys = keyDueDates.compactMap { id, due in due <= now ? id : nil }.sorted()
    for id in dueKeys where (keys[id]?.deletionDate ?? .distantFuture) <= now {
      deleteKeyNow(id)
    }
    applyKeyMaterialDueWork(now: now, keyIds: dueKeys)
  }

  /// When a key next needs background work: its deletion, an automatic rotation, or the expiry
  /// of imported key material.
  func dueDate(ofKey key: KeyRecord) -> Date? {
    switch (key.deletionDate, keyMaterialDueDate(key)) {
    case (let deletion?, let material?): min(deletion, material)
    case (let deletion, let material): deletion ?? material
    }
  }

  /// Brings the due moments of these stores and keys up to date (after a commit or a rollback).
  func updateDueDates(stores storeIds: some Sequence<String>, keys keyIds: some Sequence<String>) {
    for id in storeIds {
      storeDueDates[id] = stores[id]?.machine.dueAt
      updateXKSConnected(id)
    }
    for id in keyIds { keyDueDates[id] = keys[id].flatMap { dueDate(ofKey: $0) } }
  }

  /// The next due moment, from the records that have one (never a scan of the fleet).
  func recomputeNextDue() {
    // A store whose XKS connect probe is in flight waits for the proxy's answer, not the clock.
    let storeDue = storeDueDates.lazy.filter { self.xks.probes[$0.key] == nil }.map(\.value).min()
    nextDueAt = [storeDue, keyDueDates.values.min(), fleet.nextHsmReadyAt, xksHealthCheckDue()]
      .compactMap { $0 }.min()
    rescheduleDriver()
  }

  /// When the driver should next wake: the next due moment, a retry after a failed save, or (with
  /// a state file and work in flight) a heartbeat that refreshes `savedAt` about once a second, so
  /// a crash costs a resumed transition at most about a second.
  var driverWakeAt: Date? {
    if let retryDueWorkAt { return retryDueWorkAt }
    var candidates = [nextDueAt].compactMap { $0 }
    if stateStore != nil, inFlightWork { candidates.append(lastSavedAt + 1) }
    return candidates.min()
  }

  /// Relative work in flight (connects, disconnects, HSM creations); key deletion dates are
  /// absolute and need no heartbeat.
  var inFlightWork: Bool { !storeDueDates.isEmpty || fleet.nextHsmReadyAt != nil }

  /// With a live clock, one task sleeps until the next wake-up; none exists when idle.
  func rescheduleDriver() {
    let wakeAt = driverWakeAt
    guard clock.drivesTimers, driverDeadline != wakeAt else { return }
    driver?.cancel()
    driver = nil
    driverDeadline = wakeAt
    guard let wakeAt else { return }
    let clock = self.clock
    driverGeneration &+= 1
    let generation = driverGeneration
    driver = Task { [weak self] in
      do { try await clock.sleep(until: wakeAt) } catch { return }
      await self?.driverFired(generation)
    }
  }

  func driverFired(_ generation: UInt64) async {
    // A driver replaced while it slept must not run the work twice.
    guard generation == driverGeneration else { return }
    driver = nil
    driverDeadline = nil
    _ = runDueWorkReportingFailure()
    await deliverRegionNotices()
  }

  /// What the driver does when it wakes: applies the work that fell due as one transaction
  /// (saved, then published). A manual clock has no driver; its tests advance the clock and then
  /// call this. Throws `KMSInternalException` when the save failed: nothing of the work is kept,
  /// and the driver retries it a second later.
  public func runDueWork() async throws(KMSError) {
    let failure = runDueWorkReportingFailure()
    await deliverRegionNotices()
    if let failure { throw failure }
  }

  private func runDueWorkReportingFailure() -> KMSError? {
    let now = clock.now()
    retryDueWorkAt = nil
    let work = (nextDueAt ?? .distantFuture) <= now
    let heartbeat = stateStore != nil && inFlightWork && now.timeIntervalSince(lastSavedAt) >= 1
    guard work || heartbeat else {
      rescheduleDriver()
      return nil
    }
    do {
      try transaction(forceSave: heartbeat) { () throws(KMSError) in applyDueWork() }
      startDueXKSCalls(now: now)
      return nil
    } catch {
      retryDueWorkAt = now + 1
      rescheduleDriver()
      return error
    }
  }

  /// The store's transition in flight reached its deadline: the machine says what happened, the
  /// engine carries it out.
  func deadlineReached(storeId: String, now: Date) {
    guard var store = stores[storeId] else { return }
    let before = store.machine.connectionState
    switch store.machine.deadlineReached(now: now) {
    case .runConnectAttempt:
      // An XKS store's attempt is a GetHealthStatus call: it is started after the transaction
      // (`startDueXKSCalls`), runs outside the actor, and its answer commits in a transaction of
      // its own (`xksConnectProbeFinished`), which the machine decides.
      if runsXKSProbe(store) { return }
      let due = store.machine.dueAt ?? now
      let outcome: ConnectionErrorCodeType?
      if store.type == .awsCloudhsm, let clusterId = store.clusterIdentifier {
        outcome = fleet.connectFailure(clusterId: clusterId, passwordDigest: store.passwordDigest)
        if let rotated = fleet.recordConnectAttempt(clusterId: clusterId, outcome: outcome) {
          store.passwordDigest = rotated  // KMS rotates kmsuser's password on every connect
        }
      } else {
        outcome = nil
      }
      switch store.machine.attemptFinished(outcome, at: due) {
      case .connected, .failed:
        stores[storeId] = store
        recordTransition(store, from: before, at: due)
      case .discarded:
        return
      }
    case .disconnected:
      stores[storeId] = store
      recordTransition(store, from: before, at: store.machine.since)
    case .notYet, .nothingInFlight:
      return
    }
  }

  // MARK: Change stream and events

  func record(
    _ kind: FleetEvent.Kind, storeId: String? = nil, clusterId: String? = nil,
    state: ConnectionStateType? = nil,
    code: ConnectionErrorCodeType? = nil, at date: Date? = nil, summary: String
  ) {
    let event = FleetEvent(
      sequence: nextSequence(), date: date ?? clock.now(), kind: kind, customKeyStoreId: storeId,
      clusterId: clusterId, connectionState: state, connectionErrorCode: code, summary: summary)
    events.append(event)
    unsavedEvents.append(event)
    if events.count > configuration.eventHistoryLimit {
      let dropped = events.prefix(events.count - configuration.eventHistoryLimit)
      droppedEvents += dropped
      events.removeFirst(dropped.count)
    }
  }

  func recordTransition(_ store: StoreRecord, from before: ConnectionStateType, at date: Date? = nil) {
    let after = store.machine.connectionState
    guard before != after else { return }
    let code = store.machine.errorCode.map { " (\($0.rawValue))" } ?? ""
    record(
      .connectionStateChanged, storeId: store.id, clusterId: store.clusterId, state: after,
      code: store.machine.errorCode, at: date,
      summary: "\(store.name) (\(store.id)): \(before.rawValue) → \(after.rawValue)\(code)")
  }

  /// Every committed change as a delta. A subscriber more than `changeBufferLimit` deltas behind
  /// loses the oldest and sees a version gap: it then takes one `fleetSnapshot()`.
  public func changes() -> AsyncStream<FleetDelta> {
    let (stream, continuation) = AsyncStream.makeStream(
      of: FleetDelta.self, bufferingPolicy: .bufferingNewest(Self.changeBufferLimit))
    let id = UUID()
    subscribers[id] = continuation
    continuation.onTermination = { [weak self] _ in
      Task { await self?.unsubscribe(id) }
    }
    return stream
  }

  static let changeBufferLimit = 256

  func unsubscribe(_ id: UUID) { subscribers[id] = nil }

  // MARK: Provisioning (not a KMS operation: what an administrator does in CloudHSM)

  /// Adds a simulated cluster with active HSMs; returns its `cluster-…` ID.
  @discardableResult
  public func addCluster(_ spec: ClusterSpec) throws(KMSError) -> String {
    try transaction { () throws(KMSError) -> String in
      let id = try fleet.addCluster(spec, now: clock.now())
      record(.hsmCreated, clusterId: id, summary: "Cluster \(id) provisioned")
      return id
    }
  }

  /// Completes every pending transition at once, as if the time had passed. Used when loading a
  /// scenario so seeded states are reached through the real transitions.
  public func completePendingTransitions() throws(KMSError) {
    try transaction { () throws(KMSError) in
      let now = clock.now()
      for var store in stores.values.sorted(by: { $0.sequence < $1.sequence }) where store.machine.isTransient
      {
        store.machine.expedite(now: now)
        stores[store.id] = store
        deadlineReached(storeId: store.id, now: now)
      }
    }
    // Inside a reset's transaction the proxy calls wait for its commit (the reset starts them).
    if !inTransaction { startDueXKSCalls(now: clock.now()) }
  }
}
