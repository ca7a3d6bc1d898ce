import Foundation
import Testing

@testable import KeyStoreEngine

/// The repository root, found from this source file (tests never depend on the working directory).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

@Suite struct DemoScenarioTests {
  @Test func embeddedCopyMatchesTheAssets() throws {
    let json = try String(
      contentsOf: repositoryRoot.appending(path: "assets/scenarios/demo.json"), encoding: .utf8)
    let pem = try String(
      contentsOf: repositoryRoot.appending(path: "assets/certs/customerCA.crt"), encoding: .utf8)
    #expect(EmbeddedDemo.scenarioJSON == json, "run scripts/embed-demo-scenario.py")
    #expect(EmbeddedDemo.customerCA == pem, "run scripts/embed-demo-scenario.py")
  }

  @Test func theDemoServedInAnotherRegionUsesThatRegionsZones() async throws {
    let placed = Scenario.demo.placed(in: "eu-west-1")
    let zones = placed.clusters.flatMap { $0.zones + ($0.finalHsmZones ?? []) }
    #expect(!zones.isEmpty)
    #expect(zones.allSatisfy { $0.wholeMatch(of: /eu-west-1[a-c]/) != nil }, "\(zones)")
    #expect(placed.clusters.map(\.zones.count) == Scenario.demo.clusters.map(\.zones.count))
    #expect(
      Scenario.demo.placed(in: "us-east-1").clusters.map(\.zones) == Scenario.demo.clusters.map(\.zones))

    let engine = KeyStoreEngine(configuration: EngineConfiguration(region: "eu-west-1"), clock: ManualClock())
    try await engine.load(placed)
    let hsmZones =
      try await engine.describeClusters(.init()).clusters?.flatMap { $0.hsms ?? [] }
      .compactMap(\.availabilityZone) ?? []
    #expect(!hsmZones.isEmpty)
    #expect(hsmZones.allSatisfy { $0.hasPrefix("eu-west-1") }, "\(hsmZones)")
  }

  @Test func demoFleetReachesEverySeededState() async throws {
    let clock = ManualClock()
    let engine = KeyStoreEngine(clock: clock)
    try await engine.load(.demo)
    let stores = try await engine.describeCustomKeyStores(.init()).customKeyStores ?? []
    let states = Dictionary(
      uniqueKeysWithValues: stores.map { ($0.customKeyStoreName!, $0.connectionState!) })
    #expect(states["payments-prod"] == .connected)
    #expect(states["analytics-dr"] == .disconnected)
    #expect(states["hr-records"] == .connected)
    #expect(states["ledger-archive"] == .failed)
    #expect(states["staging-keys"] == .connecting)
    #expect(states["edge-single-hsm"] == .connected)
    #expect(stores.first { $0.customKeyStoreName == "ledger-archive" }?.connectionErrorCode == .userLockedOut)
    #expect(stores.map(\.customKeyStoreId) == (1...6).map { "cks-0de3000000000000\($0)" })

    // The store seeded CONNECTING finishes by itself.
    try await advance(clock, engine, by: 60)
    let staging = try await engine.describeCustomKeyStores(.init(customKeyStoreName: "staging-keys"))
    #expect(staging.customKeyStores?.first?.connectionState == .connected)

    // The single-HSM cluster refuses new keys; the spare cluster is free for a new store.
    await #expect(throws: KMSError.self) {
      _ = try await engine.createKey(.init(origin: "AWS_CLOUDHSM", customKeyStoreId: "cks-0de30000000000006"))
    }
    let created = try await engine.createCustomKeyStore(
      .init(
        customKeyStoreName: "new-store", cloudHsmClusterId: "cluster-sparefree6q",
        trustAnchorCertificate: EmbeddedDemo.customerCA, keyStorePassword: "DemoPassw0rd"))
    #expect(created.customKeyStoreId?.hasPrefix("cks-") == true)
  }

  @Test func malformedScenarioNamesFilePlaceAndProblem() throws {
    let url = FileManager.default.temporaryDirectory.appending(path: "bad-\(UUID()).json")
    try Data(
      #"{"clusters": [], "stores": [{"name": "x", "cluster": "c", "password": "p", "state": "SOMETIMES"}]}"#
        .utf8
    )
    .write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    #expect(throws: ScenarioError.self) { try Scenario.load(from: url) }
    do {
      _ = try Scenario.load(from: url)
    } catch {
      #expect(error.file == url.path)
      #expect(error.place == "stores[0].state")
    }
  }
}
