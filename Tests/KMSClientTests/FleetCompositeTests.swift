import AWSSigV4
import Foundation
import KMSModel
import Testing

@testable import KMSClient

/// Many (profile, Region) sources as one fleet: real pollers over scripted endpoints, each on its
/// own injected clock.
@Suite struct FleetCompositeTests {
  /// Two accounts whose fleets use the same store, key, alias and cluster IDs.
  struct Fleet {
    let fakes: [FakeKMS]
    let clocks: [TestClock]
    let clients: [KMSHTTPClient]
    let composite: FleetComposite

    init(_ fakes: [FakeKMS], accounts: [String] = ["111111111111", "222222222222"], regions: [String]? = nil)
    {
      self.fakes = fakes
      let clocks = fakes.map { _ in TestClock() }
      self.clocks = clocks
      let regions = regions ?? fakes.map { _ in "us-east-1" }
      let clients = zip(fakes, clocks).map { makeClient($0, clock: $1) }
      self.clients = clients
      composite = FleetComposite(
        members: clients.enumerated().map { index, client in
          FleetComposite.Member(
            source: FleetSource(
              key: String(index), order: index, profile: "p\(index)", account: accounts[index],
              region: regions[index]),
            backend: client
          ) { await client.shutdown() }
        }, concurrency: 1)
    }
  }

  @Test func rowsWithEqualIDsInTwoAccountsStayTwoRowsEachWithItsSource() async throws {
    let fleet = Fleet([demoFake(), demoFake()], regions: ["us-east-1", "eu-west-1"])
    let snapshot = try await fleet.composite.fleetSnapshot()
    #expect(
      snapshot.stores.compactMap(\.customKeyStoreId) == [
        "0/cks-1", "0/cks-2", "0/cks-3", "1/cks-1", "1/cks-2", "1/cks-3",
      ])
    #expect(
      snapshot.keys.map(\.keyId) == [
        "0/k-aws-1", "0/k-c1", "0/k-aws-2", "0/k-c2", "1/k-aws-1", "1/k-c1", "1/k-aws-2", "1/k-c2",
      ])
    #expect(
      snapshot.keys.map(\.customKeyStoreId) == [
        nil, "0/cks-1", nil, "0/cks-2", nil, "1/cks-1", nil, "1/cks-2",
      ])
    #expect(
      snapshot.aliases.map(\.aliasName) == ["0/alias/custom", "0/alias/aws", "1/alias/custom", "1/alias/aws"])
    #expect(snapshot.aliases(forKey: "1/k-c1") == ["1/alias/custom"])
    #expect(snapshot.store(id: "1/cks-3")?.cloudHsmClusterId == "1/cluster-2")
    #expect(snapshot.cluster("1/cluster-2")?.clusterId == "1/cluster-2")
    #expect(snapshot.faults == ["0/cluster-2": [.subnetFull], "1/cluster-2": [.subnetFull]])
    #expect(snapshot.keyCount(inStore: "1/cks-1") == 1)
    #expect(snapshot.backend == nil)
    #expect(snapshot.source(ofRow: "1/cks-2")?.account == "222222222222")
    #expect(snapshot.source(ofRow: "1/cks-2")?.region == "eu-west-1")
    #expect(snapshot.ownID("1/cks-2") == "cks-2")
    #expect(snapshot.orderedSources.map(\.health) == [.ok, .ok])
    #expect(snapshot.orderedSources.map(\.label) == ["111111111111/us-east-1", "222222222222/eu-west-1"])
    await fleet.composite.shutdown()
  }

  @Test func oneUnreachableSourceNeverHidesTheOthers() async throws {
    let down = demoFake()
    down.update {
      $0.failures = [
        .failure(KMSTransportError(.connectionFailed, endpoint: "http://down", detail: "refused"))
      ]
    }
    let fleet = Fleet([down, demoFake()])
    let snapshot = try await fleet.composite.fleetSnapshot()
    #expect(snapshot.stores.compactMap(\.customKeyStoreId) == ["1/cks-1", "1/cks-2", "1/cks-3"])
    let sources = snapshot.orderedSources
    #expect(sources.map(\.health) == [.unreachable, .ok])
    #expect(sources[0].status?.lastError == "Cannot reach http://down: refused")
    await fleet.composite.shutdown()
  }

  @Test func anEndpointWithoutCustomKeyStoresIsNotSupportedAndCountsItsKeys() async throws {
    let moto = demoFake()
    moto.update {
      $0.canned["TrentService.DescribeCustomKeyStores"] = KMSWireResponse(
        status: 500, headers: ["Content-Type": "text/html"],
        body: Data("<!doctype html><title>500</title>".utf8))
    }
    let fleet = Fleet([demoFake(), moto])
    let snapshot = try await fleet.composite.fleetSnapshot()
    #expect(snapshot.stores.count == 3)
    let source = try #require(snapshot.sources["1"])
    #expect(source.health == .notSupported)
    #expect(
      source.status?.notes == [
        "DescribeCustomKeyStores not supported by this endpoint (HTTP 500): no custom key stores to show. ListKeys: 4 keys, none in a custom key store."
      ])
    await fleet.composite.shutdown()
  }

  @Test func aChangeInOneSourceArrivesAsOneQualifiedDeltaAfterTheSnapshot() async throws {
    let fleet = Fleet([demoFake(), demoFake()])
    let stream = await fleet.composite.changes()
    var iterator = stream.makeAsyncIterator()
    var snapshot = try await fleet.composite.fleetSnapshot()
    // Account B's cks-1 disconnects; account A's cks-1 does not.
    fleet.fakes[1].update { $0.stores[0].connectionState = .disconnected }
    for clock in fleet.clocks {
      await clock.sleeper()
      clock.advance(by: 2)
    }
    var seen: FleetDelta?
    while seen == nil, let delta = await iterator.next() {
      let applied = snapshot.apply(delta)
      #expect(applied, "delta \(delta.version) after snapshot \(snapshot.version)")
      if !delta.stores.isEmpty { seen = delta }
    }
    let delta = try #require(seen)
    #expect(delta.stores.compactMap(\.customKeyStoreId) == ["1/cks-1"])
    #expect(delta.backend == nil)
    #expect(snapshot.store(id: "1/cks-1")?.connectionState == .disconnected)
    #expect(snapshot.store(id: "0/cks-1")?.connectionState == .connected)
    await fleet.composite.shutdown()
  }

  @Test func actionsGoToTheRowsSourceWithItsOwnID() async throws {
    let fleet = Fleet([demoFake(), demoFake()])
    _ = try await fleet.composite.fleetSnapshot()
    fleet.fakes[0].clearRequests()
    fleet.fakes[1].clearRequests()
    try await fleet.composite.disconnect("1/cks-1")
    #expect(fleet.fakes[0].count("DisconnectCustomKeyStore") == 0)
    let request = try #require(fleet.fakes[1].requests.first { $0.operation == "DisconnectCustomKeyStore" })
    #expect(String(decoding: request.body, as: UTF8.self) == #"{"CustomKeyStoreId":"cks-1"}"#)
    // The scripted endpoint does not serve EnableKey; what counts is where the request went.
    _ = try? await fleet.composite.enable("0/k-c1")
    #expect(fleet.fakes[1].count("EnableKey") == 0)
    let enable = try #require(fleet.fakes[0].requests.first { $0.operation == "EnableKey" })
    #expect(String(decoding: enable.body, as: UTF8.self) == #"{"KeyId":"k-c1"}"#)
    let unknown = await #expect(throws: KMSError.self) { try await fleet.composite.connect("7/cks-1") }
    #expect(unknown?.code == .notFoundException)
    let bare = await #expect(throws: KMSError.self) { try await fleet.composite.connect("cks-1") }
    #expect(bare?.message == "No custom key store 'cks-1' in any account and Region of this view.")
    await fleet.composite.shutdown()
  }

  @Test func aResyncReplacesOneSourceAndRemovesWhatIsGone() {
    let old = FleetSnapshot(
      version: 3, region: "us-east-1", accountId: "",
      stores: [Build.store("cks-1", .connected), Build.store("cks-2", .connected)],
      stateSince: [:], clusters: [],
      keys: [Build.key("k-1", store: "cks-1"), Build.key("k-2", store: "cks-2")],
      aliases: [AliasListEntry(aliasName: "alias/a", targetKeyId: "k-2")], events: [],
      faults: ["cluster-1": [.subnetFull]])
    let fresh = FleetSnapshot(
      version: 9, region: "us-east-1", accountId: "", stores: [Build.store("cks-1", .disconnected)],
      stateSince: [:], clusters: [], keys: [Build.key("k-1", store: "cks-1", state: .unavailable)],
      aliases: [],
      events: [], faults: [:])
    let delta = FleetComposite.replacement(from: old, to: fresh, source: "4")
    #expect(delta.stores.compactMap(\.customKeyStoreId) == ["4/cks-1"])
    #expect(delta.removedStoreIds == ["4/cks-2"])
    #expect(delta.removedKeyIds == ["4/k-2"])
    #expect(delta.removedAliasNames == ["4/alias/a"])
    #expect(delta.faults == ["4/cluster-1": []])
    var merged = old.qualified(source: "4")
    merged.version = 0
    var next = delta
    next.version = 1
    let applied = merged.apply(next)
    #expect(applied)
    #expect(merged.stores == fresh.qualified(source: "4").stores)
    #expect(merged.keys == fresh.qualified(source: "4").keys)
    #expect(merged.aliases.isEmpty)
    #expect(merged.faults.isEmpty)
  }

  @Test func rowIDsSplitOnlyOnASourcePrefix() {
    #expect(FleetRowID.qualify("alias/x", source: "12") == "12/alias/x")
    #expect(FleetRowID.split("12/alias/x")?.source == "12")
    #expect(FleetRowID.split("12/alias/x")?.id == "alias/x")
    #expect(FleetRowID.split("alias/x") == nil)
    #expect(FleetRowID.split("/cks-1") == nil)
    #expect(FleetRowID.split("cks-1") == nil)
  }

  @Test func healthOfFailures() {
    #expect(FleetPoller.health(of: KMSTransportError(.timedOut, endpoint: "e", detail: "d")) == .unreachable)
    #expect(FleetPoller.health(of: KMSError(.accessDeniedException, "no")) == .accessDenied)
    #expect(FleetPoller.health(of: KMSError(KMSErrorCode("ExpiredTokenException"), "old")) == .accessDenied)
    #expect(FleetPoller.health(of: KMSError(.throttlingException, "slow")) == .failing)
    #expect(FleetPoller.health(of: AWSCredentialError(source: "sso", message: "expired")) == .accessDenied)
  }
}
