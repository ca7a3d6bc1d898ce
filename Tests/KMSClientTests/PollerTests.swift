import Foundation
import KMSModel
import Testing

@testable import KMSClient

/// A fleet of three stores (two pages), keys inside and outside custom stores, aliases, one cluster.
func demoFake() -> FakeKMS {
  FakeKMS(
    FakeKMS.State(
      stores: [
        Build.store("cks-1", .connected), Build.store("cks-2", .disconnected),
        Build.store("cks-3", .failed, cluster: "cluster-2"),
      ],
      keys: [
        Build.key("k-aws-1", store: nil), Build.key("k-c1", store: "cks-1"), Build.key("k-aws-2", store: nil),
        Build.key("k-c2", store: "cks-2", state: .unavailable),
      ],
      aliases: [
        AliasListEntry(aliasName: "alias/custom", targetKeyId: "k-c1"),
        AliasListEntry(aliasName: "alias/aws", targetKeyId: "k-aws-1"),
        AliasListEntry(aliasName: "alias/aws/ebs"),
      ],
      clusters: [
        Build.cluster("cluster-1", hsms: [("hsm-a", .active), ("hsm-b", .active)]),
        Build.cluster("cluster-2", hsms: []), Build.cluster("cluster-other", hsms: []),
      ],
      faults: ["cluster-2": ["SUBNET_FULL"]]))
}

@Suite struct PollerTests {
  @Test func pollersSharingAGateRefreshNoMoreThanItsLimitAtOnce() async throws {
    let gate = RefreshGate(limit: 1)
    let (first, second) = (demoFake(), demoFake())
    let clients = [first, second].map { makeClient($0, polling: PollingOptions(gate: gate)) }
    // The test holds the only slot: neither poller may call its endpoint.
    await gate.acquire()
    let loads = clients.map { client in Task { try await client.fleetSnapshot() } }
    while await gate.waiting < 2 { await Task.yield() }
    #expect(first.requests.isEmpty)
    #expect(second.requests.isEmpty)
    // Released: one at a time, each hands the slot on, and both finish.
    await gate.release()
    for load in loads { #expect(try await load.value.stores.count == 3) }
    #expect(first.count("DescribeCustomKeyStores") == 2)
    #expect(second.count("DescribeCustomKeyStores") == 2)
    #expect(await gate.inFlight == 0)
    #expect(await gate.waiting == 0)
  }

  @Test func firstRefreshFollowsEveryPageAndListsEveryKeyOfTheAccount() async throws {
    let fake = demoFake()
    let client = makeClient(fake)
    let snapshot = try await client.fleetSnapshot()
    #expect(snapshot.stores.map(\.customKeyStoreId) == ["cks-1", "cks-2", "cks-3"])
    #expect(fake.count("DescribeCustomKeyStores") == 2)
    #expect(fake.count("ListKeys") == 2)
    // Keys outside custom key stores too (the all-keys view), with the aliases that name keys.
    #expect(snapshot.keys.map(\.keyId) == ["k-aws-1", "k-c1", "k-aws-2", "k-c2"])
    #expect(snapshot.aliases.map(\.aliasName) == ["alias/custom", "alias/aws"])
    #expect(snapshot.clusters.compactMap(\.clusterId).sorted() == ["cluster-1", "cluster-2"])
    #expect(snapshot.faults == ["cluster-2": [.subnetFull]])
    #expect(snapshot.accountId == Build.account)
    #expect(snapshot.region == "us-east-1")
    #expect(snapshot.events.isEmpty)
    let backend = try #require(snapshot.backend)
    #expect(backend.endpoint == "http://127.0.0.1:4599")
    #expect(backend.profile == "test")
    #expect(backend.isSimulator == true)
    #expect(backend.lastRefresh != nil)
    #expect(backend.lastLatency != nil)
    #expect(backend.lastError == nil)
    #expect(backend.notes.isEmpty)
    let describeClusters = try #require(fake.requests.first { $0.operation == "DescribeClusters" })
    #expect(describeClusters.service == .cloudHSM)
    #expect(
      String(decoding: describeClusters.body, as: UTF8.self).contains(
        #""clusterIds":["cluster-1","cluster-2"]"#))
  }

  /// Keys in custom key stores are described every refresh; the others (whose state changes far
  /// less often on an account with thousands of them) at most `keyRefreshesPerRefresh` per refresh,
  /// the longest unseen first, plus a key the dashboard just acted on.
  @Test func keysOutsideCustomStoresAreDescribedAgainWithinABudget() async throws {
    let fake = demoFake()
    let client = makeClient(fake, polling: PollingOptions(keyRefreshesPerRefresh: 1))
    func described() -> [String] {
      let ids = fake.requests.filter { $0.operation == "DescribeKey" }.map {
        String(decoding: $0.body, as: UTF8.self)
      }
      fake.clearRequests()
      return ids
    }
    _ = await client.poller.refreshOnce()
    #expect(described().count == 4)  // every key once
    fake.update { $0.keys[2].keyState = .disabled }  // k-aws-2
    _ = await client.poller.refreshOnce()
    #expect(described() == [#"{"KeyId":"k-aws-1"}"#, #"{"KeyId":"k-c1"}"#, #"{"KeyId":"k-c2"}"#])
    // k-aws-2 still shows what was last seen of it...
    #expect(try await client.fleetSnapshot().keys.first { $0.keyId == "k-aws-2" }?.keyState == .enabled)
    _ = await client.poller.refreshOnce()
    #expect(described() == [#"{"KeyId":"k-c1"}"#, #"{"KeyId":"k-aws-2"}"#, #"{"KeyId":"k-c2"}"#])
    // ...until its turn comes.
    #expect(try await client.fleetSnapshot().keys.first { $0.keyId == "k-aws-2" }?.keyState == .disabled)
    // An action on a key: that key on the next refresh, whatever the queue says.
    _ = try await client.enableKey(
      EnableKeyRequest(keyId: "arn:aws:kms:us-east-1:\(Build.account):key/k-aws-2"))
    fake.clearRequests()
    _ = await client.poller.refreshOnce()
    #expect(described() == [#"{"KeyId":"k-c1"}"#, #"{"KeyId":"k-aws-2"}"#, #"{"KeyId":"k-c2"}"#])
  }

  /// Rotation (`GetKeyRotationStatus`) is asked only of keys KMS rotates: symmetric, AWS_KMS origin,
  /// outside custom key stores; tags of every key.
  @Test func rotationAndTagsOfKeysOutsideCustomStores() async throws {
    let fake = demoFake()
    fake.update {
      $0.keys[2].keySpec = .rsa2048
      $0.keys[2].keyUsage = .signVerify
      $0.rotation["k-aws-1"] = 180
      $0.tags["k-aws-2"] = [Tag(tagKey: "team", tagValue: "qa")]
    }
    let snapshot = try await makeClient(fake).fleetSnapshot()
    #expect(snapshot.keyDetails["k-aws-1"] == KeyDetails(rotationEnabled: true, rotationPeriodInDays: 180))
    #expect(snapshot.keyDetails["k-aws-2"] == KeyDetails(tags: [Tag(tagKey: "team", tagValue: "qa")]))
    #expect(snapshot.keyDetails["k-c1"] == nil)
    let asked = fake.requests.filter { $0.operation == "GetKeyRotationStatus" }.map {
      String(decoding: $0.body, as: UTF8.self)
    }
    #expect(asked == [#"{"KeyId":"k-aws-1"}"#])
  }

  @Test func noStoresStillListsTheAccountsKeys() async throws {
    let fake = FakeKMS()
    fake.update { $0.keys = [Build.key("k", store: nil)] }
    let snapshot = try await makeClient(fake).fleetSnapshot()
    #expect(snapshot.stores.isEmpty)
    #expect(snapshot.keys.map(\.keyId) == ["k"])
    #expect(fake.count("ListKeys") == 1)
    #expect(fake.count("DescribeClusters") == 0)
  }

  @Test func intervalIsShorterWhileAStoreIsTransient() async throws {
    let fake = demoFake()
    let client = makeClient(fake)
    #expect(await client.poller.refreshOnce() == .seconds(2))
    fake.update { $0.stores[1].connectionState = .connecting }
    #expect(await client.poller.refreshOnce() == .seconds(1))
    fake.update { $0.stores[1].connectionState = .connected }
    fake.update { $0.clusters[0].hsms![0].state = .createInProgress }
    #expect(await client.poller.refreshOnce() == .seconds(1))
  }

  @Test func transitionsBecomeTimestampedEventsAndStateSince() async throws {
    let fake = demoFake()
    let clock = TestClock()
    let client = makeClient(fake, clock: clock)
    let first = try await client.fleetSnapshot()
    let start = clock.now()
    #expect(first.stateSince["cks-2"] == start)

    clock.advance(by: 5)
    fake.update {
      $0.stores[1].connectionState = .connecting
      $0.stores[2].connectionState = .disconnected
      $0.stores.append(Build.store("cks-4", .disconnected, cluster: nil, name: "new"))
      $0.keys[3].keyState = .enabled
      $0.keys.append(Build.key("k-c3", store: "cks-1"))
      $0.aliases.append(AliasListEntry(aliasName: "alias/c3", targetKeyId: "k-c3"))
      $0.clusters[0].hsms![1].state = .degraded
      $0.clusters[0].hsms!.append(Hsm(clusterId: "cluster-1", hsmId: "hsm-c", state: .createInProgress))
      $0.faults["cluster-2"] = ["NETWORK_ERRORS"]
    }
    _ = await client.poller.refreshOnce()
    let second = try await client.fleetSnapshot()
    let now = clock.now()
    #expect(second.events.allSatisfy { $0.date == now })
    #expect(second.events.map(\.sequence) == Array(1...UInt64(second.events.count)))
    let kinds = second.events.map(\.kind)
    #expect(
      kinds == [
        .connectionStateChanged, .connectionStateChanged, .storeCreated, .keyStateChanged, .keyCreated,
        .aliasCreated, .hsmStateChanged, .hsmCreated, .faultSet, .faultCleared,
      ])
    let connecting = second.events[0]
    #expect(connecting.customKeyStoreId == "cks-2")
    #expect(connecting.connectionState == .connecting)
    #expect(connecting.summary == "store-cks-2 (cks-2): DISCONNECTED → CONNECTING")
    #expect(second.stateSince["cks-1"] == start)
    #expect(second.stateSince["cks-2"] == now)
    #expect(second.stateSince["cks-4"] == now)
    #expect(second.version > first.version)

    fake.update {
      $0.stores.removeLast()
      $0.keys.removeLast()
      $0.aliases.removeLast()
    }
    _ = await client.poller.refreshOnce()
    let third = try await client.fleetSnapshot()
    #expect(third.events.suffix(3).map(\.kind) == [.storeDeleted, .keyDeleted, .aliasDeleted])
  }

  @Test func failedConnectNamesTheErrorCode() {
    var old = FleetContent()
    old.stores = [Build.store("cks-1", .connecting)]
    var new = old
    new.stores[0].connectionState = .failed
    new.stores[0].connectionErrorCode = .userLockedOut
    var sequence: UInt64 = 41
    let events = FleetDiff.events(
      from: old, to: new, date: Date(timeIntervalSince1970: 0), sequence: &sequence)
    #expect(events.count == 1)
    #expect(events[0].sequence == 42)
    #expect(events[0].connectionErrorCode == .userLockedOut)
    #expect(events[0].summary.hasSuffix("CONNECTING → FAILED (USER_LOCKED_OUT)"))
  }

  @Test func eventsAreBounded() async throws {
    let fake = demoFake()
    let client = makeClient(fake, polling: PollingOptions(eventLimit: 3))
    _ = await client.poller.refreshOnce()
    for state in [ConnectionStateType.connecting, .connected, .disconnecting, .disconnected, .connecting] {
      fake.update { $0.stores[1].connectionState = state }
      _ = await client.poller.refreshOnce()
    }
    let events = try await client.fleetSnapshot().events
    #expect(events.count == 3)
    #expect(events.last?.connectionState == .connecting)
    #expect(events.first?.sequence == 3)
  }

  @Test func backoffOnThrottlingThenRecovery() async throws {
    let fake = demoFake()
    let client = makeClient(fake)
    _ = await client.poller.refreshOnce()
    let throttled = Result<KMSWireResponse, KMSTransportError>.success(
      FakeKMS.error("ThrottlingException", "Rate exceeded"))
    var delays: [Duration] = []
    for _ in 0..<6 {
      fake.update { $0.failures = [throttled] }
      delays.append(await client.poller.refreshOnce())
    }
    #expect(delays == [.seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30), .seconds(30)])
    let lost = try await client.fleetSnapshot()
    #expect(lost.backend?.consecutiveFailures == 6)
    #expect(lost.backend?.lastError?.contains("Throttled") == true)
    #expect(lost.stores.count == 3)  // the last good view is kept
    #expect(await client.poller.refreshOnce() == .seconds(2))
    let recovered = try await client.fleetSnapshot()
    #expect(recovered.backend?.lastError == nil)
    #expect(recovered.backend?.consecutiveFailures == 0)
  }

  @Test func networkLossShowsAsLostAndRecoversByItself() async throws {
    let fake = demoFake()
    let client = makeClient(fake)
    _ = await client.poller.refreshOnce()
    let down = KMSTransportError(
      .connectionFailed, endpoint: "http://127.0.0.1:4599", detail: "connection refused")
    fake.update { $0.failures = [.failure(down)] }
    #expect(await client.poller.refreshOnce() == .seconds(4))
    let lost = try await client.fleetSnapshot()
    #expect(lost.backend?.isLost == true)
    #expect(lost.backend?.lastError == "Cannot reach http://127.0.0.1:4599: connection refused")
    _ = await client.poller.refreshOnce()
    #expect(try await client.fleetSnapshot().backend?.isLost == false)
  }

  @Test func firstSnapshotThrowsWhenTheEndpointIsDown() async throws {
    let fake = FakeKMS()
    let down = KMSTransportError(.timedOut, endpoint: "http://127.0.0.1:4599", detail: "10 s")
    fake.update { $0.failures = [.failure(down)] }
    await #expect(throws: down) { _ = try await makeClient(fake).fleetSnapshot() }
  }

  @Test func deniedClustersDegradeWithANoteAndAreRetriedLater() async throws {
    let fake = demoFake()
    fake.update { $0.denyClusters = true }
    let clock = TestClock()
    let client = makeClient(fake, clock: clock)
    let snapshot = try await client.fleetSnapshot()
    #expect(snapshot.clusters.isEmpty)
    #expect(snapshot.stores.count == 3)
    #expect(snapshot.keys.count == 4)
    #expect(
      snapshot.backend?.notes == [
        "Clusters and HSMs hidden: cloudhsm:DescribeClusters not allowed (AccessDeniedException)."
      ])
    #expect(snapshot.backend?.lastError == nil)
    _ = await client.poller.refreshOnce()
    #expect(fake.count("DescribeClusters") == 1)
    fake.update { $0.denyClusters = false }
    clock.advance(by: 61)
    _ = await client.poller.refreshOnce()
    #expect(fake.count("DescribeClusters") == 2)
    let restored = try await client.fleetSnapshot()
    #expect(restored.clusters.count == 2)
    #expect(restored.backend?.notes == [])
  }

  @Test func deniedListKeysDegradesToStoresOnly() async throws {
    let fake = demoFake()
    fake.update { $0.canned["TrentService.ListKeys"] = FakeKMS.error("AccessDeniedException", "no") }
    let snapshot = try await makeClient(fake).fleetSnapshot()
    #expect(snapshot.stores.count == 3)
    #expect(snapshot.keys.isEmpty)
    #expect(snapshot.backend?.notes.first?.contains("kms:ListKeys") == true)
  }

  @Test func changesTickOnlyWhenTheSnapshotChanged() async throws {
    let fake = demoFake()
    let client = makeClient(fake)
    let stream = await client.changes()
    var iterator = stream.makeAsyncIterator()
    // The loop's first refresh.
    let first = try #require(await iterator.next())
    let snapshot = try await client.fleetSnapshot()
    #expect(first.version == snapshot.version)

    // Same fleet: no tick. A changed fleet: a tick. (Refreshes are driven by hand; the loop sleeps.)
    _ = await client.poller.refreshOnce()
    fake.update { $0.stores[0].connectionState = .disconnecting }
    _ = await client.poller.refreshOnce()
    let second = try #require(await iterator.next())
    #expect(second.version == first.version + 1)
    #expect(try await client.fleetSnapshot().stores[0].connectionState == .disconnecting)

    // Losing the endpoint ticks (the header shows it), and so does the recovery.
    fake.update {
      $0.failures = [.failure(KMSTransportError(.connectionFailed, endpoint: "e", detail: "refused"))]
    }
    _ = await client.poller.refreshOnce()
    #expect(try #require(await iterator.next()).version == second.version + 1)
    _ = await client.poller.refreshOnce()
    #expect(try #require(await iterator.next()).version == second.version + 2)
    await client.shutdown()
    #expect(await iterator.next() == nil)
  }

  @Test func anActionWakesTheLoop() async throws {
    let fake = demoFake()
    let clock = TestClock()
    let client = makeClient(fake, clock: clock)
    let stream = await client.changes()
    var iterator = stream.makeAsyncIterator()
    _ = await iterator.next()
    fake.update { $0.stores[1].connectionState = .connecting }
    // The loop sleeps for an hour in TestClock; the connect wakes it at once.
    _ = try await client.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: "cks-2"))
    _ = await iterator.next()
    #expect(try await client.fleetSnapshot().stores[1].connectionState == .connecting)
    await client.shutdown()
  }

  /// The loop waits on the injected clock: the interval after a success, the backoff after each
  /// failure, and it refreshes only once the clock has been advanced that far.
  @Test func theLoopWaitsOnTheClockAndBacksOff() async throws {
    let fake = demoFake()
    let clock = TestClock()
    let client = makeClient(fake, clock: clock)
    var deltas = await client.changes().makeAsyncIterator()
    _ = try #require(await deltas.next())  // the loop's first refresh
    await clock.sleeper()
    #expect(clock.sleeps == [.seconds(2)])
    #expect(await client.poller.loopState == .sleeping(.seconds(2)))

    let throttled = Result<KMSWireResponse, KMSTransportError>.success(
      FakeKMS.error("ThrottlingException", "Rate exceeded"))
    fake.update { $0.failures = [throttled, throttled, throttled] }
    var expected: [Duration] = [.seconds(2)]
    var wait: TimeInterval = 2
    for next in [4, 8, 16, 2] {  // three failures, then a success
      let requests = fake.requests.count
      clock.advance(by: wait - 0.1)
      #expect(clock.sleeperCount == 1, "woke before its time")
      #expect(fake.requests.count == requests)
      clock.advance(by: 0.1)
      await clock.sleeper()
      expected.append(.seconds(next))
      #expect(clock.sleeps == expected)
      #expect(fake.requests.count > requests)
      wait = TimeInterval(next)
    }
    #expect(try await client.fleetSnapshot().backend?.consecutiveFailures == 0)
    await client.shutdown()
    #expect(await client.poller.loopState == .stopped)
  }

  @Test func backoffSchedule() {
    let options = PollingOptions(
      interval: .seconds(2), transientInterval: .seconds(1), maxBackoff: .seconds(30))
    #expect(options.delay(failures: 0, transient: false) == .seconds(2))
    #expect(options.delay(failures: 0, transient: true) == .seconds(1))
    #expect(
      (1...6).map { options.delay(failures: $0, transient: false) }
        == [4, 8, 16, 30, 30, 30].map { .seconds($0) })
    #expect(options.delay(failures: 10_000, transient: false) == .seconds(30))
    // A transient interval longer than the interval is clamped.
    #expect(PollingOptions(interval: .milliseconds(500)).transientInterval == .milliseconds(500))
  }
}

@Suite struct UnsupportedEndpointTests {
  /// moto_server: DescribeCustomKeyStores answers Flask's HTML 500 page. The header gets one
  /// readable note, not "ENDPOINT LOST … <!doctype html>", and polling goes on normally.
  @Test func anEndpointWithoutCustomKeyStoreOperationsIsANoteNotALostEndpoint() async throws {
    let fake = demoFake()
    fake.update {
      $0.canned["TrentService.DescribeCustomKeyStores"] = KMSWireResponse(
        status: 500, headers: ["Content-Type": "text/html; charset=utf-8"],
        body: Data(
          "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>"
            .utf8))
    }
    let client = makeClient(fake)
    let snapshot = try await client.fleetSnapshot()
    #expect(snapshot.stores.isEmpty)
    let backend = try #require(snapshot.backend)
    #expect(backend.lastError == nil)
    #expect(backend.isLost == false)
    #expect(
      backend.notes == [
        "DescribeCustomKeyStores not supported by this endpoint (HTTP 500): no custom key stores to show. ListKeys: 4 keys, none in a custom key store."
      ])
    #expect(backend.health == .notSupported)
    #expect(!backend.notes.joined().contains("<"))
    await client.shutdown()
  }

  /// A real outage (an HTML 502 from a proxy on every call) is still "lost", in one line.
  @Test func aNonAWSAnswerOnEveryOperationStaysReadable() async throws {
    let fake = demoFake()
    fake.update {
      $0.failures = [
        .success(KMSWireResponse(status: 403, body: Data("<html><title>Forbidden</title></html>".utf8)))
      ]
    }
    let client = makeClient(fake)
    let error = await #expect(throws: KMSError.self) { _ = try await client.fleetSnapshot() }
    #expect(
      error?.description
        == "403: HTTP 403 with an HTML page titled \"Forbidden\", not an AWS answer")
    await client.shutdown()
  }
}
