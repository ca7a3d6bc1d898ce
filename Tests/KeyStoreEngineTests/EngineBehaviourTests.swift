import Foundation
import HSMSimulator
import KMSModel
import KeyStoreEngine
import Testing

/// Latency model, time scale, seeds, the change stream, the fleet snapshot and its events.
@Suite struct EngineBehaviourTests {
  @Test func demoLatencyBounds() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    try await f.connect(store)
    try await f.advance(by: LatencyModel.demo.connect.lowerBound - 0.01)
    try await f.expectState(store, .connecting)
    try await f.advance(
      by: LatencyModel.demo.connect.upperBound - LatencyModel.demo.connect.lowerBound + 0.02)
    try await f.expectState(store, .connected)
    try await f.disconnect(store)
    try await f.advance(by: LatencyModel.demo.disconnect.lowerBound - 0.01)
    try await f.expectState(store, .disconnecting)
    try await f.advance(by: LatencyModel.demo.disconnect.upperBound)
    try await f.expectState(store, .disconnected)
  }

  @Test func timeScaleDividesDurations() async throws {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let engine = KeyStoreEngine(configuration: EngineConfiguration(timeScale: 10), clock: clock)
    let cluster = try await engine.addCluster(ClusterSpec(trustAnchorPEM: trustAnchorA))
    let store = try #require(
      try await engine.createCustomKeyStore(
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "fast", cloudHsmClusterId: cluster, trustAnchorCertificate: trustAnchorA,
          keyStorePassword: demoPassword)
      ).customKeyStoreId)
    _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: store))
    try await advance(clock, engine, by: LatencyModel.demo.connect.upperBound / 10 + 0.01)
    let state = try await engine.describeCustomKeyStores(
      DescribeCustomKeyStoresRequest(customKeyStoreId: store))
    #expect(state.customKeyStores?.first?.connectionState == .connected)
  }

  @Test func realisticPresetTakesMinutes() async throws {
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let engine = KeyStoreEngine(configuration: EngineConfiguration(latency: .realistic), clock: clock)
    let cluster = try await engine.addCluster(ClusterSpec(trustAnchorPEM: trustAnchorA))
    let store = try #require(
      try await engine.createCustomKeyStore(
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "slow", cloudHsmClusterId: cluster, trustAnchorCertificate: trustAnchorA,
          keyStorePassword: demoPassword)
      ).customKeyStoreId)
    _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: store))
    try await advance(clock, engine, by: 60)
    var state = try await engine.describeCustomKeyStores(
      DescribeCustomKeyStoresRequest(customKeyStoreId: store))
    #expect(state.customKeyStores?.first?.connectionState == .connecting)
    try await advance(clock, engine, by: 20 * 60)
    state = try await engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(customKeyStoreId: store))
    #expect(state.customKeyStores?.first?.connectionState == .connected)
  }

  @Test func slowConnectFault() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    try await f.fault(.slowConnect, on: cluster)
    try await f.connect(store)
    try await f.advance(by: LatencyModel.demo.connect.upperBound + 1)
    try await f.expectState(store, .connecting)
    try await f.advance(by: LatencyModel.demo.connect.upperBound * 5)
    try await f.expectState(store, .connected)
  }

  @Test func sameSeedReplaysTheSameIds() async throws {
    func run() async throws -> [String] {
      let f = Fixture(seed: 42)
      let (store, cluster) = try await f.connectedStore()
      let key = try await f.createKey(in: store)
      let hsms = try await f.hsms(cluster).map(\.hsmId)
      return [store, cluster, key.keyId] + hsms
    }
    let first = try await run()
    let second = try await run()
    #expect(first == second)
    let other = Fixture(seed: 43)
    #expect(try await other.cluster() != first[1])
  }

  @Test func deltasKeepACopyOfTheSnapshotCurrent() async throws {
    let f = Fixture()
    var mirror = try await f.engine.fleetSnapshot()
    let stream = await f.engine.changes()
    let (store, cluster) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    _ = try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/mirror", targetKeyId: key.keyId))
    try await f.fault(.kmsuserLoggedIn, on: cluster)
    try await f.disconnect(store)
    try await f.settle()
    _ = try await f.engine.deleteAlias(DeleteAliasRequest(aliasName: "alias/mirror"))
    try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, newCustomKeyStoreName: "renamed"))
    let final = try await f.engine.fleetSnapshot()

    var iterator = stream.makeAsyncIterator()
    var versions: [UInt64] = []
    var sawKeysTurnUnavailable = false
    while mirror.version < final.version {
      let delta = try #require(await iterator.next())
      versions.append(delta.version)
      let applied = mirror.apply(delta)
      #expect(applied, "delta \(delta.version) does not follow")
      // The disconnect's delta carries the store's keys with their new effective state.
      if delta.stores.first?.connectionState == .disconnecting {
        sawKeysTurnUnavailable = delta.keys.map(\.keyState) == [.unavailable]
      }
    }
    #expect(versions == Array(1...final.version))
    #expect(sawKeysTurnUnavailable)
    #expect(mirror == final)
  }

  @Test func aSubscriberThatFallsBehindSeesAGap() async throws {
    let f = Fixture()
    var mirror = try await f.engine.fleetSnapshot()
    let stream = await f.engine.changes()
    let (store, _) = try await f.newStore()
    for index in 0..<300 {
      try await f.update(
        UpdateCustomKeyStoreRequest(customKeyStoreId: store, newCustomKeyStoreName: "n\(index)"))
    }
    var iterator = stream.makeAsyncIterator()
    let first = try #require(await iterator.next())
    // The oldest deltas were dropped: applying the first one left is refused, and one snapshot
    // brings the subscriber back.
    #expect(first.version > mirror.version + 1)
    let applied = mirror.apply(first)
    #expect(!applied)
    mirror = try await f.engine.fleetSnapshot()
    #expect(mirror.store(id: store)?.customKeyStoreName == "n299")
  }

  @Test func aRefusedCallPublishesNothing() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    let stream = await f.engine.changes()
    await #expect(throws: KMSError.self) { try await f.disconnect(store) }  // already DISCONNECTED
    try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, newCustomKeyStoreName: "next"))
    var iterator = stream.makeAsyncIterator()
    let delta = try #require(await iterator.next())
    #expect(delta.stores.map(\.customKeyStoreName) == ["next"])
    #expect(delta.events.map(\.kind) == [.storeUpdated])
  }

  @Test func snapshotShowsEffectiveStatesAndEvents() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    _ = try await f.engine.createAlias(CreateAliasRequest(aliasName: "alias/snap", targetKeyId: key.keyId))
    try await f.fault(.kmsuserLoggedIn, on: cluster)
    try await f.disconnect(store)
    let snapshot = try await f.engine.fleetSnapshot()
    #expect(snapshot.region == "us-east-1")
    #expect(snapshot.accountId == "111122223333")
    #expect(snapshot.stores.map(\.customKeyStoreId) == [store])
    #expect(snapshot.stores.first?.connectionState == .disconnecting)
    #expect(snapshot.keys.map(\.keyId) == [key.keyId])
    #expect(snapshot.keys.first?.keyState == .unavailable)
    #expect(snapshot.aliases.map(\.aliasName) == ["alias/snap"])
    #expect(snapshot.clusters.map(\.clusterId) == [cluster])
    #expect(snapshot.faults[cluster] == [.kmsuserLoggedIn])
    #expect(snapshot.stateSince[store] == f.clock.now())
    // Events: the transitions in order, never a secret.
    let transitions = snapshot.events.filter {
      $0.kind == .connectionStateChanged && $0.customKeyStoreId == store
    }
    #expect(transitions.map(\.connectionState) == [.connecting, .connected, .disconnecting])
    let sequences = snapshot.events.map(\.sequence)
    #expect(sequences == sequences.sorted())
    for event in snapshot.events {
      #expect(!event.summary.contains(demoPassword))
    }
  }

  @Test func failedTransitionEventCarriesTheCode() async throws {
    let f = Fixture()
    let (store, _) = try await f.failedStore(.subnetDeleted)
    let snapshot = try await f.engine.fleetSnapshot()
    let failed = snapshot.events.last { $0.kind == .connectionStateChanged && $0.customKeyStoreId == store }
    #expect(failed?.connectionState == .failed)
    #expect(failed?.connectionErrorCode == .subnetNotFound)
  }

  @Test func hsmCreationCompletesOnTheClock() async throws {
    let f = Fixture()
    let cluster = try await f.cluster()
    let created = try await f.engine.createHsm(
      CreateHsmRequest(clusterId: cluster, availabilityZone: "us-east-1a"))
    let hsm = try #require(created.hsm)
    #expect(hsm.state == .createInProgress)
    #expect(hsm.availabilityZone == "us-east-1a")
    #expect(hsm.eniIp?.isEmpty == false)
    try await f.advance(by: LatencyModel.demo.hsmCreate.upperBound + 0.01)
    #expect(try await f.hsms(cluster).first { $0.hsmId == hsm.hsmId }?.state == .active)
    let deleted = try await f.engine.deleteHsm(DeleteHsmRequest(clusterId: cluster, hsmId: hsm.hsmId))
    #expect(deleted.hsmId == hsm.hsmId)
    #expect(try await f.hsms(cluster).count == 2)
  }

  @Test func describeClustersShape() async throws {
    let f = Fixture()
    let cluster = try await f.cluster(zones: ["us-east-1a", "us-east-1b", "us-east-1c"], hsmsPerZone: 2)
    let described = try #require(
      try await f.engine.describeClusters(DescribeClustersRequest(filters: ["clusterIds": [cluster]]))
        .clusters?.first)
    #expect(described.state == .active)
    #expect(described.hsms?.count == 6)
    #expect(
      Set(described.hsms?.compactMap(\.availabilityZone) ?? []) == ["us-east-1a", "us-east-1b", "us-east-1c"])
    #expect(described.subnetMapping?.count == 3)
    #expect(described.certificates?.clusterCertificate?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)
    for hsm in described.hsms ?? [] {
      #expect(hsm.hsmId.wholeMatch(of: hsmIdPattern) != nil)
      #expect(hsm.clusterId == cluster)
      #expect(hsm.state == .active)
    }
    try await f.fault(.clusterNotActive, on: cluster)
    #expect(try await f.clusterState(cluster) == .degraded)
    await expectError(.cloudHsmInvalidRequestException) {
      try await f.engine.describeClusters(DescribeClustersRequest(filters: ["nope": ["x"]]))
    }
  }

  @Test func relatedClustersShareTheirCertificate() async throws {
    let f = Fixture()
    let a = try await f.cluster(lineage: "same")
    let b = try await f.cluster(lineage: "same")
    let c = try await f.cluster(lineage: "other")
    let clusters = try await f.engine.describeClusters(DescribeClustersRequest()).clusters ?? []
    func certificate(_ id: String) -> String? {
      clusters.first { $0.clusterId == id }?.certificates?.clusterCertificate
    }
    #expect(certificate(a) != nil)
    #expect(certificate(a) == certificate(b))
    #expect(certificate(a) != certificate(c))
  }

  @Test func faultsAreListedPerCluster() async throws {
    let f = Fixture()
    let cluster = try await f.cluster()
    try await f.fault(.subnetFull, on: cluster)
    try await f.fault(.kmsuserLockedOut, on: cluster)
    #expect(try await f.engine.faults(clusterId: cluster) == [.subnetFull, .kmsuserLockedOut])
    try await f.fault(.subnetFull, false, on: cluster)
    #expect(try await f.engine.faults(clusterId: cluster) == [.kmsuserLockedOut])
  }

  @Test func cryptoOptions() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    await expectError(.invalidKeyUsageException) {
      try await f.engine.encrypt(
        EncryptRequest(keyId: key.keyId, plaintext: Data([1]), encryptionAlgorithm: "RSAES_OAEP_SHA_256"))
    }
    await expectError(.dryRunOperationException) {
      try await f.engine.encrypt(EncryptRequest(keyId: key.keyId, plaintext: Data([1]), dryRun: true))
    }
    await expectError(.validationException) {
      try await f.engine.generateDataKey(GenerateDataKeyRequest(keyId: key.keyId))
    }
    await expectError(.validationException) {
      try await f.engine.generateDataKey(
        GenerateDataKeyRequest(keyId: key.keyId, numberOfBytes: 32, keySpec: "AES_256"))
    }
  }
}
