import Foundation
import HSMSimulator
import KMSModel
import TestSupport
import Testing

@testable import KeyStoreEngine

/// A clock that moves only when told to, and wakes the engine's driver when a deadline passes:
/// the driver runs exactly as on a live clock, deterministically (see `VirtualTime`).
final class DrivenClock: EngineClock {
  private let start: Date
  private let time = VirtualTime()

  init(start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { self.start = start }

  func now() -> Date { start.addingTimeInterval(time.now.seconds) }
  var drivesTimers: Bool { true }

  func sleep(until deadline: Date) async throws {
    try await time.sleep(until: .interval(deadline.timeIntervalSince(start)))
  }

  /// Moves time on and wakes every sleeper whose deadline passed.
  func advance(by seconds: TimeInterval) { time.advance(by: .interval(seconds)) }
}

/// Commit, then publish, then answer (issue: "nothing is acknowledged that was not saved").
@Suite struct CommitTests {
  static let store = "cks-0de30000000000001"

  @Test func ioErrorDuringCreateKeyLeavesNothingBehind() async throws {
    let saved = MemoryStateStore()
    let engine = try await KeyStoreEngine(clock: ManualClock(), stateStore: saved)
    try await engine.load(.demo)
    let before = try await engine.fleetSnapshot()
    let listed = try await engine.listKeys(.init(limit: 1000)).keys?.count
    saved.failNext.withLock { $0 = true }
    let error = await #expect(throws: KMSError.self) {
      _ = try await engine.createKey(.init(origin: "AWS_CLOUDHSM", customKeyStoreId: Self.store))
    }
    #expect(error?.code == .kmsInternalException)
    #expect(error?.message.contains("could not be saved to the state file, so it was not made") == true)
    #expect(try await engine.fleetSnapshot() == before)
    #expect(try await engine.listKeys(.init(limit: 1000)).keys?.count == listed)
    // The random state was rolled back too: the next key gets the ID the failed one would have had,
    // and the key is usable.
    let created = try await engine.createKey(.init(origin: "AWS_CLOUDHSM", customKeyStoreId: Self.store))
    let blob = try await engine.encrypt(.init(keyId: created.keyMetadata!.keyId, plaintext: Data("x".utf8)))
    #expect(blob.ciphertextBlob?.isEmpty == false)
    let reopened = try await KeyStoreEngine(clock: ManualClock(), stateStore: saved)
    #expect(try await reopened.listKeys(.init(limit: 1000)).keys?.count == (listed ?? 0) + 1)
  }

  @Test func aFailedSaveOfAnyMutationRollsEverythingBack() async throws {
    let saved = MemoryStateStore()
    let engine = try await KeyStoreEngine(clock: ManualClock(), stateStore: saved)
    try await engine.load(.demo)
    let key = try #require(try await engine.fleetSnapshot().keys(inStore: Self.store).first?.keyId)
    let mutations: [(String, @Sendable () async throws -> Void)] = [
      (
        "CreateCustomKeyStore",
        {
          _ = try await engine.createCustomKeyStore(
            .init(
              customKeyStoreName: "new", cloudHsmClusterId: "cluster-sparefree6q",
              trustAnchorCertificate: EmbeddedDemo.customerCA, keyStorePassword: "DemoPassw0rd"))
        }
      ),
      ("Disconnect", { _ = try await engine.disconnectCustomKeyStore(.init(customKeyStoreId: Self.store)) }),
      (
        "Update",
        {
          _ = try await engine.updateCustomKeyStore(
            .init(customKeyStoreId: Self.store, newCustomKeyStoreName: "x"))
        }
      ),
      ("DisableKey", { _ = try await engine.disableKey(.init(keyId: key)) }),
      (
        "ScheduleKeyDeletion",
        { _ = try await engine.scheduleKeyDeletion(.init(keyId: key, pendingWindowInDays: 7)) }
      ),
      (
        "CreateAlias",
        { _ = try await engine.createAlias(.init(aliasName: "alias/rolled-back", targetKeyId: key)) }
      ),
      (
        "SetFault",
        { try await engine.setFault(.networkErrors, enabled: true, clusterId: "cluster-paymentsprd") }
      ),
      (
        "CreateHsm",
        {
          _ = try await engine.createHsm(
            .init(clusterId: "cluster-sparefree6q", availabilityZone: "us-east-1a"))
        }
      ),
    ]
    for (name, mutate) in mutations {
      let before = try await engine.fleetSnapshot()
      saved.failNext.withLock { $0 = true }
      await #expect(throws: KMSError.self, "\(name)") { try await mutate() }
      #expect(try await engine.fleetSnapshot() == before, "\(name) left something behind")
    }
    let reopened = try await KeyStoreEngine(clock: ManualClock(), stateStore: saved)
    let after = try await reopened.fleetSnapshot()
    let original = try await engine.fleetSnapshot()
    #expect(after.stores == original.stores)
    #expect(after.keys == original.keys)
    #expect(after.aliases == original.aliases)
  }

  @Test func readsNeverWrite() async throws {
    let clock = ManualClock()
    let saved = MemoryStateStore()
    let engine = try await KeyStoreEngine(clock: clock, stateStore: saved)
    try await engine.load(.demo)
    clock.advance(by: 3600)  // the seeded CONNECTING store is overdue: reads must still not save it
    let writes = saved.applied.withLock { $0 }
    let key = try #require(try await engine.fleetSnapshot().keys(inStore: Self.store).first?.keyId)
    _ = try await engine.describeKey(.init(keyId: key))
    let blob = try await engine.encrypt(.init(keyId: key, plaintext: Data("p".utf8))).ciphertextBlob
    _ = try await engine.decrypt(.init(ciphertextBlob: blob))
    _ = try await engine.generateDataKey(.init(keyId: key, keySpec: "AES_256"))
    _ = try await engine.generateRandom(.init(numberOfBytes: 8, customKeyStoreId: Self.store))
    _ = try await engine.describeCustomKeyStores(.init())
    _ = try await engine.listKeys(.init())
    _ = try await engine.listAliases(.init())
    _ = try await engine.describeClusters(.init())
    _ = try await engine.predictConnectOutcome(customKeyStoreId: Self.store)
    _ = try await engine.fleetSnapshot()
    #expect(saved.applied.withLock { $0 } == writes)
    let staging = try await engine.describeCustomKeyStores(.init(customKeyStoreName: "staging-keys"))
    #expect(staging.customKeyStores?.first?.connectionState == .connecting)
    // The driver's turn applies and saves it.
    try await engine.runDueWork()
    #expect(saved.applied.withLock { $0 } == writes + 1)
    let settled = try await engine.describeCustomKeyStores(.init(customKeyStoreName: "staging-keys"))
    #expect(settled.customKeyStores?.first?.connectionState == .connected)
  }

  @Test func theDriverRetriesABackgroundTransitionWhoseSaveFailed() async throws {
    let clock = DrivenClock()
    let saved = MemoryStateStore()
    let engine = try await KeyStoreEngine(
      configuration: .init(
        latency: .init(connect: 10...10, disconnect: 5...5, hsmCreate: 10...10, xksConnect: 10...10)),
      clock: clock, stateStore: saved)
    try await engine.load(.demo)
    let stream = await engine.changes()
    var iterator = stream.makeAsyncIterator()
    _ = try await engine.disconnectCustomKeyStore(.init(customKeyStoreId: Self.store))
    let accepted = try #require(await iterator.next())
    #expect(accepted.stores.first?.connectionState == .disconnecting)

    // The disconnect falls due, but saving it fails: nothing is published or kept.
    saved.failNext.withLock { $0 = true }
    let failures = saved.failures.withLock { $0 }
    clock.advance(by: 5)
    while saved.failures.withLock({ $0 }) == failures { await Task.yield() }
    let describe = try await engine.describeCustomKeyStores(.init(customKeyStoreId: Self.store))
    #expect(describe.customKeyStores?.first?.connectionState == .disconnecting)

    // A second later the driver tries again, by itself, and this time it is saved and published.
    clock.advance(by: 1)
    let finished = try #require(await iterator.next())
    #expect(finished.version == accepted.version + 1)
    #expect(finished.stores.first?.connectionState == .disconnected)
    #expect(finished.events.map(\.connectionState) == [.disconnected])
    let reopened = try await KeyStoreEngine(clock: ManualClock(), stateStore: saved)
    let state = try await reopened.describeCustomKeyStores(.init(customKeyStoreId: Self.store))
    #expect(state.customKeyStores?.first?.connectionState == .disconnected)
  }

  @Test func dueMomentsFollowCommitsAndRollbacksWithoutAScan() async throws {
    let clock = ManualClock()
    let saved = MemoryStateStore()
    let engine = try await KeyStoreEngine(clock: clock, stateStore: saved)
    try await engine.load(.demo)
    let before = await engine.nextDueAt
    // A connect whose save fails leaves no due moment behind.
    saved.failNext.withLock { $0 = true }
    await #expect(throws: KMSError.self) {
      _ = try await engine.connectCustomKeyStore(.init(customKeyStoreId: "cks-0de30000000000002"))
    }
    #expect(await engine.nextDueAt == before)
    // A committed one adds its own; a scheduled deletion adds the key's.
    _ = try await engine.connectCustomKeyStore(.init(customKeyStoreId: "cks-0de30000000000002"))
    let connecting = try #require(await engine.storeDueDates["cks-0de30000000000002"])
    #expect(await engine.nextDueAt == min(before ?? .distantFuture, connecting))
    let key = try #require(try await engine.fleetSnapshot().keys(inStore: Self.store).first?.keyId)
    _ = try await engine.scheduleKeyDeletion(.init(keyId: key, pendingWindowInDays: 7))
    #expect(await engine.keyDueDates[key] == clock.now() + 7 * 86_400)
    // After a restart the same moments are found from the saved records.
    let reopened = try await KeyStoreEngine(clock: clock, stateStore: saved)
    #expect(await reopened.storeDueDates == engine.storeDueDates)
    #expect(await reopened.keyDueDates == engine.keyDueDates)
    #expect(await reopened.keyIdsByStore == engine.keyIdsByStore)
  }

  @Test func aRolledBackChangeGivesBackTheEventsItPushedOutOfTheHistory() async throws {
    let saved = MemoryStateStore()
    let engine = try await KeyStoreEngine(
      configuration: .init(eventHistoryLimit: 3), clock: ManualClock(), stateStore: saved)
    try await engine.load(.demo)
    let before = try await engine.fleetSnapshot()
    #expect(before.events.count == 3)
    saved.failNext.withLock { $0 = true }
    await #expect(throws: KMSError.self) {
      _ = try await engine.disconnectCustomKeyStore(.init(customKeyStoreId: Self.store))
    }
    #expect(try await engine.fleetSnapshot().events == before.events)
    let reopened = try await KeyStoreEngine(
      configuration: .init(eventHistoryLimit: 3), clock: ManualClock(), stateStore: saved)
    #expect(try await reopened.fleetSnapshot().events == before.events)
  }

  @Test func aManualClockRunsDueWorkOnlyWhenAsked() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    try await f.connect(store)
    f.clock.advance(by: settleTime)
    try await f.expectState(store, .connecting)
    try await f.engine.runDueWork()
    try await f.expectState(store, .connected)
  }
}
