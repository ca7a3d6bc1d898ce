import Foundation
import KMSModel

/// How often to poll and how to back off.
public struct PollingOptions: Sendable, Equatable {
  /// Between refreshes while nothing is in transition (`--refresh`).
  public var interval: Duration
  /// Between refreshes while a store is `CONNECTING`/`DISCONNECTING` or an HSM is being created
  /// or deleted.
  public var transientInterval: Duration
  /// Backoff after failures doubles from `interval` up to this.
  public var maxBackoff: Duration
  /// After CloudHSM answers `AccessDeniedException`, ask again this much later.
  public var deniedRetryInterval: Duration
  /// Events kept (oldest dropped).
  public var eventLimit: Int
  /// Pages followed per list call (a guard against a server that never stops paging).
  public var maxPages: Int
  /// Shared by the pollers of a many-source view: at most its limit of refreshes at once.
  public var gate: RefreshGate?
  /// Keys outside custom key stores described again per refresh (their state, tags and rotation),
  /// the longest unseen first; a new key, and a key the dashboard just acted on, always are. Keys
  /// in custom key stores are described every refresh. Bounds a refresh's calls on an account with
  /// many keys.
  public var keyRefreshesPerRefresh: Int

  public init(
    interval: Duration = .seconds(2), transientInterval: Duration = .seconds(1),
    maxBackoff: Duration = .seconds(30),
    deniedRetryInterval: Duration = .seconds(60), eventLimit: Int = 200, maxPages: Int = 1000,
    gate: RefreshGate? = nil, keyRefreshesPerRefresh: Int = 50
  ) {
    self.keyRefreshesPerRefresh = keyRefreshesPerRefresh
    self.interval = interval
    self.transientInterval = min(transientInterval, interval)
    self.maxBackoff = max(maxBackoff, interval)
    self.deniedRetryInterval = deniedRetryInterval
    self.eventLimit = eventLimit
    self.maxPages = maxPages
    self.gate = gate
  }

  /// The wait before the next refresh: the interval after a success (shorter while transient);
  /// after `failures` failures in a row, `interval × 2^failures`, capped at `maxBackoff`.
  public func delay(failures: Int, transient: Bool) -> Duration {
    guard failures > 0 else { return transient ? transientInterval : interval }
    var delay = interval
    for _ in 0..<min(failures, 30) {
      delay *= 2
      if delay >= maxBackoff { return maxBackoff }
    }
    return delay
  }
}

/// Time for the poller: the date stamped on refreshes and events, and the wait between refreshes.
public protocol PollingClock: Sendable {
  func now() -> Date
  func sleep(for duration: Duration) async throws
}

/// Wall-clock dates and real sleeping.
public struct SystemPollingClock: PollingClock {
  public init() {}
  public func now() -> Date { Date() }
  public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// Polls an endpoint for the fleet and turns observations into snapshots, change ticks and events.
actor FleetPoller {
  let caller: KMSCaller
  let probe: SimulatorProbe
  let clock: any PollingClock
  let options: PollingOptions

  private(set) var content: FleetContent?
  private(set) var status: BackendStatus
  private(set) var version: UInt64 = 0
  private(set) var events: [FleetEvent] = []
  private var sequence: UInt64 = 0
  private var stateSince: [String: Date] = [:]
  /// Keys outside custom key stores as last described (a key never moves into a custom key store),
  /// with their tags and rotation.
  private var outsideKeys: [String: (metadata: KeyMetadata, details: KeyDetails?)] = [:]
  /// The keys of `outsideKeys`, the longest unseen first (the next ones described again).
  private var outsideQueue: [String] = []
  /// Keys the dashboard just acted on: described on the next refresh.
  private var staleKeys: Set<String> = []
  private var deniedKeys = 0
  /// True when the last refresh was refused ListResourceTags.
  private var tagsDenied = false
  private var clustersDeniedUntil: Date?
  private var clustersNote: String?
  private var lastFailure: (any Error)?
  /// What subscribers last heard about: content and the visible part of the status.
  private var published: (FleetContent?, VisibleStatus)?
  /// What the last refresh changed, published with the next version.
  private var pendingDelta = FleetDelta(version: 0)

  private var subscribers: [UUID: AsyncStream<FleetDelta>.Continuation] = [:]
  /// Decides the loop: when to start, sleep, wake, refresh again and stop.
  private var machine = PollerMachine()
  /// The loop task, while `machine` says it runs.
  private var loop: Task<Void, Never>?
  /// The refresh in flight (a join handle: concurrent callers share one refresh).
  private var inFlight: Task<Duration, Never>?
  /// The loop's sleep, while `machine` says it sleeps (cancelled to wake the loop).
  private var sleeping: Task<Void, any Error>?

  init(
    caller: KMSCaller, probe: SimulatorProbe, clock: any PollingClock, options: PollingOptions,
    identity: BackendStatus
  ) {
    self.caller = caller
    self.probe = probe
    self.clock = clock
    self.options = options
    self.status = identity
  }

  // MARK: Subscribers and loop

  func subscribe() -> AsyncStream<FleetDelta> {
    let (stream, continuation) = AsyncStream.makeStream(
      of: FleetDelta.self, bufferingPolicy: .bufferingNewest(256))
    switch machine.subscribed() {
    case .startLoop:
      register(continuation)
      startLoop()
    case .alreadyPolling:
      register(continuation)
    case .finishStream:
      continuation.finish()
    }
    return stream
  }

  private func register(_ continuation: AsyncStream<FleetDelta>.Continuation) {
    let id = UUID()
    subscribers[id] = continuation
    continuation.onTermination = { [weak self] _ in
      Task { await self?.unsubscribe(id) }
    }
  }

  private func unsubscribe(_ id: UUID) {
    guard subscribers.removeValue(forKey: id) != nil, subscribers.isEmpty else { return }
    switch machine.lastSubscriberLeft() {
    case .cancelLoop:
      cancelLoop()
    case .noLoop:
      break
    }
  }

  private func cancelLoop() {
    loop?.cancel()
    loop = nil
    sleeping?.cancel()
  }

  /// The loop only executes what `machine` decides. A cancelled loop (replaced or stopped) stops
  /// before telling the machine anything, so only the current loop drives it.
  private func startLoop() {
    loop = Task { [weak self] in
      while true {
        guard let self else { return }
        let delay = await self.refreshOnce()
        if Task.isCancelled { return }
        switch await self.loopRefreshed(delay: delay) {
        case .sleep(let wait):
          await self.sleep(wait)
          if Task.isCancelled { return }
          switch await self.loopSlept() {
          case .refresh: continue
          case .exitLoop: return
          }
        case .refreshAgain:
          continue
        case .exitLoop:
          return
        }
      }
    }
  }

  private func loopRefreshed(delay: Duration) -> PollerMachine.RefreshFinished {
    machine.refreshFinished(delay: delay)
  }

  private func loopSlept() -> PollerMachine.SleepEnded {
    machine.sleepEnded()
  }

  /// Sleeps `delay` on the injected clock, or less if the sleep is cancelled (a wake, a stop).
  private func sleep(_ delay: Duration) async {
    let clock = self.clock
    let task = Task { try await clock.sleep(for: delay) }
    sleeping = task
    await withTaskCancellationHandler {
      do { try await task.value } catch {}  // woken early: the machine says what comes next
    } onCancel: {
      task.cancel()
    }
    if sleeping == task { sleeping = nil }
  }

  /// Refresh as soon as possible (after an action changed the fleet); `key`: the key it changed,
  /// described again on that refresh.
  func refreshSoon(key: String? = nil) {
    if let key { staleKeys.insert(key) }
    switch machine.wakeRequested() {
    case .wakeSleeper:
      sleeping?.cancel()
    case .refreshQueued, .nothingToWake:
      break
    }
  }

  func stop() {
    switch machine.stop() {
    case .cancelLoopAndFinish:
      cancelLoop()
      finishSubscribers()
    case .finish:
      finishSubscribers()
    case .alreadyStopped:
      break
    }
  }

  private func finishSubscribers() {
    let all = subscribers.values
    subscribers = [:]
    for continuation in all { continuation.finish() }
  }

  var isPolling: Bool {
    switch machine.state {
    case .refreshing, .sleeping: true
    case .idle, .stopped: false
    }
  }

  /// The loop's state (tests).
  var loopState: PollerMachine.State { machine.state }

  // MARK: Snapshots

  func snapshot() async throws -> FleetSnapshot {
    if content == nil {
      if isPolling && status.consecutiveFailures > 0 {
        return makeSnapshot()  // the loop keeps trying; show the endpoint as lost
      }
      _ = await refreshOnce()
      if content == nil {
        throw lastFailure
          ?? KMSTransportError(.connectionFailed, endpoint: status.endpoint, detail: "no answer")
      }
    }
    return makeSnapshot()
  }

  private func makeSnapshot() -> FleetSnapshot {
    let content = self.content ?? FleetContent()
    var snapshot = FleetSnapshot(
      version: version, region: status.region, accountId: content.accountId, stores: content.stores,
      stateSince: stateSince, clusters: content.clusters, keys: content.keys, aliases: content.aliases,
      events: events, faults: content.faults, backend: status, keyDetails: content.keyDetails)
    snapshot.xksHealth = content.xksHealth
    return snapshot
  }

  // MARK: Refresh

  /// One refresh (joined if one is running). Returns the wait before the next.
  func refreshOnce() async -> Duration {
    if let inFlight { return await inFlight.value }
    let task = Task { await self.performRefresh() }
    inFlight = task
    return await task.value
  }

  private func performRefresh() async -> Duration {
    // Cleared in the same actor turn as the publish: whoever a tick wakes and then asks for a
    // refresh gets a new one, not this finished one.
    defer { inFlight = nil }
    let started = clock.now()
    let startedInstant = ContinuousClock.now
    let delay: Duration
    await options.gate?.acquire()
    let outcome: Result<FleetContent, any Error>
    do {
      outcome = .success(try await fetch(previous: content))
    } catch {
      outcome = .failure(error)
    }
    await options.gate?.release()
    do {
      let fetched = try outcome.get()
      let finished = clock.now()
      apply(fetched, at: finished)
      status.lastRefresh = finished
      status.lastLatency = ContinuousClock.now - startedInstant
      status.lastError = nil
      status.health = fetched.unsupported ? .notSupported : .ok
      status.consecutiveFailures = 0
      lastFailure = nil
      delay = options.delay(failures: 0, transient: fetched.isTransient)
    } catch {
      if Task.isCancelled || error is CancellationError { return options.interval }
      lastFailure = error
      status.consecutiveFailures += 1
      status.lastError = Self.describe(error)
      status.health = Self.health(of: error)
      delay = options.delay(failures: status.consecutiveFailures, transient: false)
    }
    status.isSimulator = await probe.known
    status.nextRefresh = started.addingTimeInterval(Self.seconds(delay))
    publishIfChanged()
    return delay
  }

  private func apply(_ fetched: FleetContent, at date: Date) {
    var newEvents: [FleetEvent] = []
    if let previous = content {
      newEvents = FleetDiff.events(from: previous, to: fetched, date: date, sequence: &sequence)
      events.append(contentsOf: newEvents)
      if events.count > options.eventLimit { events.removeFirst(events.count - options.eventLimit) }
    }
    let previousStores = Dictionary(
      (content?.stores ?? []).compactMap { s in s.customKeyStoreId.map { ($0, s.connectionState) } }
    ) { a, _ in a }
    var since: [String: Date] = [:]
    for store in fetched.stores {
      guard let id = store.customKeyStoreId else { continue }
      if let known = stateSince[id], previousStores[id] == store.connectionState {
        since[id] = known
      } else {
        since[id] = date
      }
    }
    let delta = FleetDiff.delta(from: content ?? FleetContent(), to: fetched, stateSince: since)
    pendingDelta.stores += delta.stores
    pendingDelta.removedStoreIds += delta.removedStoreIds
    pendingDelta.stateSince.merge(delta.stateSince) { $1 }
    pendingDelta.keys += delta.keys
    for key in delta.keys { pendingDelta.keyDetails[key.keyId] = delta.keyDetails[key.keyId] }
    pendingDelta.removedKeyIds += delta.removedKeyIds
    pendingDelta.aliases += delta.aliases
    pendingDelta.removedAliasNames += delta.removedAliasNames
    pendingDelta.clusters += delta.clusters
    pendingDelta.removedClusterIds += delta.removedClusterIds
    pendingDelta.faults.merge(delta.faults) { $1 }
    pendingDelta.events += newEvents
    stateSince = since
    content = fetched
    status.notes = fetched.notes
  }

  private struct VisibleStatus: Equatable {
    /// The header shows when the last refresh succeeded, so each successful refresh is news.
    var lastRefresh: Date?
    var lastError: String?
    var notes: [String]
    var isSimulator: Bool?
    var health: BackendHealth
  }

  /// Ticks subscribers when the content or the visible status (refresh time, lost, notes) changed.
  private func publishIfChanged() {
    let visible = VisibleStatus(
      lastRefresh: status.lastRefresh, lastError: status.lastError, notes: status.notes,
      isSimulator: status.isSimulator, health: status.health)
    if let published, published.0 == content, published.1 == visible { return }
    let statusChanged = published?.1 != visible
    published = (content, visible)
    version += 1
    var delta = pendingDelta
    pendingDelta = FleetDelta(version: 0)
    delta.version = version
    if statusChanged { delta.backend = status }
    for continuation in subscribers.values { continuation.yield(delta) }
  }

  // MARK: Fetching

  private func fetch(previous: FleetContent?) async throws -> FleetContent {
    var content = FleetContent()
    do {
      content.stores = try await allPages { marker in
        let page = try await self.caller.call(
          .kms, "DescribeCustomKeyStores", DescribeCustomKeyStoresRequest(marker: marker),
          as: DescribeCustomKeyStoresResponse.self)
        return (page.customKeyStores ?? [], page.truncated == true ? page.nextMarker : nil)
      }
    } catch let error as KMSError where KMSErrorDecoder.isUnsupportedOperation(error) {
      // The endpoint answers, but not this operation (moto, LocalStack): not "lost", one note,
      // and its keys are still listed (they are in no custom key store).
      content.unsupported = true
      content.notes.append(Self.unsupportedNote("DescribeCustomKeyStores", error))
    }

    // Every key of the account: the all-keys view shows the AWS KMS key store's keys too.
    do {
      (content.keys, content.keyDetails) = try await accountKeys()
      if content.unsupported, !content.notes.isEmpty {
        let count = content.keys.count + deniedKeys
        content.notes[content.notes.count - 1] +=
          " ListKeys: \(count) key\(count == 1 ? "" : "s"), none in a custom key store."
      }
      if tagsDenied {
        content.notes.append("Tags hidden: kms:ListResourceTags not allowed (AccessDeniedException).")
      }
      if deniedKeys > 0 {
        content.notes.append(
          "\(deniedKeys) key(s) hidden: DescribeKey denied (AccessDeniedException).")
      }
    } catch let error as KMSError where error.code == .accessDeniedException {
      content.notes.append("Keys hidden: kms:ListKeys not allowed (AccessDeniedException).")
    } catch let error as KMSError where content.unsupported && KMSErrorDecoder.isUnsupportedOperation(error) {
      // Neither custom key stores nor keys: the note says so.
    }
    if !content.keys.isEmpty {
      let keyIds = Set(content.keys.map(\.keyId))
      do {
        content.aliases = try await allPages { marker in
          let page = try await self.caller.call(
            .kms, "ListAliases", ListAliasesRequest(marker: marker), as: ListAliasesResponse.self)
          return (page.aliases ?? [], page.truncated == true ? page.nextMarker : nil)
        }.filter { $0.targetKeyId.map(keyIds.contains) ?? false }
      } catch let error as KMSError where error.code == .accessDeniedException {
        content.notes.append("Aliases hidden: kms:ListAliases not allowed (AccessDeniedException).")
      }
    }
    content.accountId =
      content.keys.lazy.compactMap(\.awsAccountId).first ?? previous?.accountId ?? ""

    let clusterIds = Array(Set(content.stores.compactMap(\.cloudHsmClusterId))).sorted()
    if !clusterIds.isEmpty {
      content.clusters = try await clusters(clusterIds, previous: previous)
      if let clustersNote { content.notes.append(clustersNote) }
      if (try? await probe.isSimulator()) == true {
        for clusterId in clusterIds {
          do {
            let faults = try await caller.faults(clusterId: clusterId)
            if !faults.isEmpty { content.faults[clusterId] = faults }
          } catch is KMSError {
            // The cluster is gone: no faults to show.
          }
        }
      }
    }
    let external = content.stores.filter { $0.customKeyStoreType == .externalKeyStore }.compactMap(
      \.customKeyStoreId)
    if !external.isEmpty, (try? await probe.isSimulator()) == true {
      // A kmsdash server's record of each proxy; a store deleted meanwhile leaves its record out.
      content.xksHealth = (try? await caller.xksHealth(customKeyStoreIds: nil)) ?? [:]
      content.xksHealth = content.xksHealth.filter { external.contains($0.key) }
    }
    return content
  }

  /// Every key of the account: every `ListKeys` page; `DescribeKey` and tags (`ListResourceTags`)
  /// for the keys in custom key stores, the keys not seen before, the keys just acted on and, up to
  /// `keyRefreshesPerRefresh`, the keys outside custom key stores seen longest ago (the others keep
  /// what was last seen of them); and their rotation (`GetKeyRotationStatus`) where KMS rotates
  /// keys. A key deleted between the calls is skipped.
  private func accountKeys() async throws -> ([KeyMetadata], [String: KeyDetails]) {
    let listed = try await allPages { marker in
      let page = try await self.caller.call(
        .kms, "ListKeys", ListKeysRequest(marker: marker), as: ListKeysResponse.self)
      return (page.keys ?? [], page.truncated == true ? page.nextMarker : nil)
    }
    let listedIds = listed.compactMap(\.keyId)
    let listedSet = Set(listedIds)
    outsideKeys = outsideKeys.filter { listedSet.contains($0.key) }
    outsideQueue.removeAll { !listedSet.contains($0) }
    var again = staleKeys.intersection(listedSet)
    staleKeys = []
    for id in outsideQueue where again.count < max(0, options.keyRefreshesPerRefresh) { again.insert(id) }
    var keys: [KeyMetadata] = []
    var details: [String: KeyDetails] = [:]
    var denied = 0
    var tagsRefused = false
    var described: [String] = []
    for keyId in listedIds {
      if let known = outsideKeys[keyId], !again.contains(keyId) {
        keys.append(known.metadata)
        details[keyId] = known.details
        continue
      }
      do {
        let response = try await caller.call(
          .kms, "DescribeKey", DescribeKeyRequest(keyId: keyId), as: DescribeKeyResponse.self)
        guard let metadata = response.keyMetadata else { continue }
        keys.append(metadata)
        var keyDetails = KeyDetails()
        if !tagsRefused {
          do {
            keyDetails.tags =
              try await caller.call(
                .kms, "ListResourceTags", ListResourceTagsRequest(keyId: keyId, limit: 50),
                as: ListResourceTagsResponse.self
              ).tags ?? []
          } catch let error as KMSError where error.code == .accessDeniedException {
            tagsRefused = true
          } catch let error as KMSError
            where error.code == .unknownOperationException || error.code == .notFoundException
            || KMSErrorDecoder.isUnsupportedOperation(error)
          {
            // An endpoint without tags, or the key just went: nothing to show.
          }
        }
        if Self.rotatable(metadata) {
          do {
            let status = try await caller.call(
              .kms, "GetKeyRotationStatus", GetKeyRotationStatusRequest(keyId: keyId),
              as: GetKeyRotationStatusResponse.self)
            keyDetails.rotationEnabled = status.keyRotationEnabled ?? false
            if status.keyRotationEnabled == true {
              keyDetails.rotationPeriodInDays = status.rotationPeriodInDays
            }
          } catch is KMSError {
            // Not allowed, not served, or the key just went: rotation stays unknown ("—").
          }
        }
        let shown = keyDetails == KeyDetails() ? nil : keyDetails
        details[keyId] = shown
        if metadata.customKeyStoreId == nil {
          if outsideKeys.updateValue((metadata, shown), forKey: keyId) != nil {
            described.append(keyId)
          } else {
            outsideQueue.append(keyId)
          }
        }
      } catch let error as KMSError where error.code == .notFoundException {
        continue
      } catch let error as KMSError where error.code == .accessDeniedException {
        denied += 1
      }
    }
    // Described again: to the back of the queue.
    if !described.isEmpty {
      let done = Set(described)
      outsideQueue.removeAll { done.contains($0) }
      outsideQueue += described
    }
    deniedKeys = denied
    tagsDenied = tagsRefused
    return (keys, details)
  }

  /// True for a key KMS rotates automatically when asked: a symmetric encryption key with key
  /// material from KMS, outside custom key stores, not a multi-Region replica. Others show "—".
  static func rotatable(_ key: KeyMetadata) -> Bool {
    key.customKeyStoreId == nil && (key.keySpec ?? .symmetricDefault) == .symmetricDefault
      && (key.origin ?? .awsKms) == .awsKms && key.multiRegionConfiguration?.multiRegionKeyType != .replica
  }

  /// `DescribeClusters` for the stores' clusters. Denied (or not served): no clusters, a note, and
  /// another try after `deniedRetryInterval`. Other failures keep the previous clusters.
  private func clusters(_ clusterIds: [String], previous: FleetContent?) async throws -> [Cluster] {
    let now = clock.now()
    if let until = clustersDeniedUntil, now < until { return [] }
    do {
      let clusters = try await allPages { token in
        let page = try await self.caller.call(
          .cloudHSM, "DescribeClusters",
          DescribeClustersRequest(filters: ["clusterIds": clusterIds], nextToken: token),
          as: DescribeClustersResponse.self)
        return (page.clusters ?? [], page.nextToken)
      }
      clustersDeniedUntil = nil
      clustersNote = nil
      return clusters
    } catch let error as KMSError where Self.deniedCodes.contains(error.code) {
      clustersDeniedUntil = now.addingTimeInterval(Self.seconds(options.deniedRetryInterval))
      clustersNote =
        error.code == .accessDeniedException
        ? "Clusters and HSMs hidden: cloudhsm:DescribeClusters not allowed (AccessDeniedException)."
        : "Clusters and HSMs hidden: the endpoint does not serve CloudHSM DescribeClusters (\(error.code))."
      return []
    } catch let error as KMSError {
      clustersNote = "Clusters not refreshed: \(error.code): \(error.message)"
      return previous?.clusters ?? []
    } catch let error as KMSTransportError {
      clustersNote = "Clusters not refreshed: \(error)"
      return previous?.clusters ?? []
    }
  }

  static let deniedCodes: Set<KMSErrorCode> = [
    .accessDeniedException, .unknownOperationException, .unsupportedOperationException,
    KMSErrorCode("AccessDenied"),
  ]

  /// Follows `NextMarker`/`NextToken` until the last page (or `maxPages`, or a repeated marker).
  private func allPages<Item>(
    _ page: (_ marker: String?) async throws -> (items: [Item], next: String?)
  ) async throws -> [Item] {
    var items: [Item] = []
    var marker: String?
    var seen: Set<String> = []
    for _ in 0..<options.maxPages {
      let (pageItems, next) = try await page(marker)
      items.append(contentsOf: pageItems)
      guard let next, !next.isEmpty, seen.insert(next).inserted else { break }
      marker = next
    }
    return items
  }

  // MARK: Helpers

  static func describe(_ error: any Error) -> String {
    switch error {
    case let error as KMSError where error.code == .throttlingException:
      "Throttled by the endpoint; backing off"
    case let error as KMSError where isClockSkew(error):
      "\(error.description) (this machine's clock is off: correct it; AWS accepts signatures at most 5 minutes away)"
    case let error as KMSError: error.description
    case let error as KMSTransportError: error.description
    // Credential errors carry a "Fix:" line; the header shows one line.
    default: "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
    }
  }

  /// A signature refused for its date: the client's clock and the endpoint's disagree.
  static func isClockSkew(_ error: KMSError) -> Bool {
    let codes: Set<String> = ["InvalidSignatureException", "RequestExpired", "SignatureDoesNotMatch"]
    guard codes.contains(error.code.rawValue) else { return false }
    return error.code.rawValue == "RequestExpired" || error.message.contains("Signature expired")
      || error.message.contains("Signature not yet current")
  }

  /// The header strip's word for a failed refresh.
  static func health(of error: any Error) -> BackendHealth {
    switch error {
    case is KMSTransportError: return .unreachable
    case let error as KMSError:
      let denied: Set<String> = [
        "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidClientTokenId",
        "ExpiredTokenException", "ExpiredToken", "IncompleteSignatureException", "InvalidSignatureException",
        "SignatureDoesNotMatch", "MissingAuthenticationTokenException", "403",
      ]
      return denied.contains(error.code.rawValue) ? .accessDenied : .failing
    default:
      // Credentials that cannot be fetched (an expired SSO login, a failing credential_process).
      return .accessDenied
    }
  }

  /// One readable line: the operation, the status or code, and that it is not supported.
  static func unsupportedNote(_ operation: String, _ error: KMSError) -> String {
    var cause = error.code.rawValue
    if Int(cause) != nil { cause = "HTTP \(cause)" }
    return "\(operation) not supported by this endpoint (\(cause)): no custom key stores to show."
  }

  static func seconds(_ duration: Duration) -> TimeInterval {
    let (seconds, attoseconds) = duration.components
    return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
  }
}

/// A bound on refreshes in flight across many pollers (`kmsdash --concurrency`): a refresh waits
/// for a free slot, and each finished one hands its slot to the longest waiter.
public actor RefreshGate {
  public let limit: Int
  private var running = 0
  private var waiters: [CheckedContinuation<Void, Never>] = []

  public init(limit: Int) { self.limit = max(1, limit) }

  /// Refreshes in flight and refreshes waiting (tests, diagnostics).
  public var inFlight: Int { running }
  public var waiting: Int { waiters.count }

  public func acquire() async {
    if running < limit {
      running += 1
      return
    }
    await withCheckedContinuation { waiters.append($0) }
  }

  public func release() {
    if waiters.isEmpty {
      running -= 1
    } else {
      waiters.removeFirst().resume()  // the slot passes on: `running` stays
    }
  }
}

extension RefreshGate: Equatable {
  public static func == (lhs: RefreshGate, rhs: RefreshGate) -> Bool { lhs === rhs }
}
