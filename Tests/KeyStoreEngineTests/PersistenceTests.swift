import Foundation
import Synchronization
import Testing

@testable import KeyStoreEngine

/// A StateStore that keeps records in memory and can be told to fail.
final class MemoryStateStore: StateStore {
  let records = Mutex<[StateRecordKind: [String: Data]]>([:])
  let failNext = Mutex(false)
  /// Changes saved, and saves refused, so far.
  let applied = Mutex(0)
  let failures = Mutex(0)
  struct Injected: Error, CustomStringConvertible {
    var description: String { "injected I/O error" }
  }

  func loadAll() throws -> [StateRecordKind: [String: Data]] { records.withLock { $0 } }

  func apply(_ change: StateChange) throws {
    if failNext.withLock({ flag in
      defer { flag = false }
      return flag
    }) {
      failures.withLock { $0 += 1 }
      throw Injected()
    }
    applied.withLock { $0 += 1 }
    records.withLock { all in
      for record in change.upserts { all[record.kind, default: [:]][record.id] = record.payload }
      for deletion in change.deletions { all[deletion.kind]?[deletion.id] = nil }
    }
  }
}

@Suite struct PersistenceTests {
  let demoCA = EmbeddedDemo.customerCA

  @Test func restartResumesEveryRecord() async throws {
    let clock = ManualClock()
    let saved = MemoryStateStore()
    let first = try await KeyStoreEngine(clock: clock, stateStore: saved)
    #expect(await first.startedEmpty)
    try await first.load(.demo)
    let key = try await first.createKey(
      .init(origin: "AWS_CLOUDHSM", customKeyStoreId: "cks-0de30000000000001")
    )
    .keyMetadata!
    let ciphertext = try await first.encrypt(.init(keyId: key.keyId, plaintext: Data("hello".utf8)))
      .ciphertextBlob!
    let before = try await first.fleetSnapshot()

    let second = try await KeyStoreEngine(clock: clock, stateStore: saved)
    #expect(await second.startedEmpty == false)
    let after = try await second.fleetSnapshot()
    #expect(after.stores == before.stores)
    #expect(after.keys == before.keys)
    #expect(after.aliases == before.aliases)
    #expect(after.clusters == before.clusters)
    #expect(after.events.map(\.sequence) == before.events.map(\.sequence))
    // Key material and the kmsuser password survive: decrypt works and connects still succeed.
    let plaintext = try await second.decrypt(.init(ciphertextBlob: ciphertext)).plaintext
    #expect(plaintext == Data("hello".utf8))
    _ = try await second.connectCustomKeyStore(.init(customKeyStoreId: "cks-0de30000000000002"))
    try await advance(clock, second, by: 60)
    let reconnected = try await second.describeCustomKeyStores(
      .init(customKeyStoreId: "cks-0de30000000000002"))
    #expect(reconnected.customKeyStores?.first?.connectionState == .connected)
  }

  @Test func connectingStoreFinishesAfterRestartWithTheTimeLeft() async throws {
    let clock = ManualClock()
    let saved = MemoryStateStore()
    let first = try await KeyStoreEngine(
      configuration: .init(
        latency: .init(connect: 100...100, disconnect: 10...10, hsmCreate: 10...10, xksConnect: 10...10)),
      clock: clock, stateStore: saved)
    try await first.load(.demo)
    _ = try await first.disconnectCustomKeyStore(.init(customKeyStoreId: "cks-0de30000000000001"))
    try await advance(clock, first, by: 20)
    _ = try await first.connectCustomKeyStore(.init(customKeyStoreId: "cks-0de30000000000001"))
    try await advance(clock, first, by: 40)  // 60 s of the 100 s connect are left; then the process "crashes"
    _ = try await first.fleetSnapshot()

    clock.advance(by: 3600)  // down for an hour
    let second = try await KeyStoreEngine(clock: clock, stateStore: saved)
    func state() async throws -> ConnectionStateType? {
      try await second.describeCustomKeyStores(.init(customKeyStoreId: "cks-0de30000000000001"))
        .customKeyStores?.first?.connectionState
    }
    #expect(try await state() == .connecting)
    try await advance(clock, second, by: 59)
    #expect(try await state() == .connecting)
    try await advance(clock, second, by: 2)
    #expect(try await state() == .connected)
  }

  @Test func failedSaveChangesNothingNowOrAfterARestart() async throws {
    let saved = MemoryStateStore()
    let engine = try await KeyStoreEngine(clock: ManualClock(), stateStore: saved)
    try await engine.load(.demo)
    saved.failNext.withLock { $0 = true }
    let error = await #expect(throws: KMSError.self) {
      _ = try await engine.disconnectCustomKeyStore(.init(customKeyStoreId: "cks-0de30000000000001"))
    }
    #expect(error?.code == .kmsInternalException)
    #expect(error?.message.contains("not made") == true)
    func state(_ engine: KeyStoreEngine) async throws -> ConnectionStateType? {
      try await engine.describeCustomKeyStores(.init(customKeyStoreId: "cks-0de30000000000001"))
        .customKeyStores?.first?.connectionState
    }
    #expect(try await state(engine) == .connected)
    // A later, unrelated change does not carry the failed one along.
    _ = try await engine.connectCustomKeyStore(.init(customKeyStoreId: "cks-0de30000000000002"))
    let reopened = try await KeyStoreEngine(clock: ManualClock(), stateStore: saved)
    #expect(try await state(reopened) == .connected)
    // The same call works once saving works again.
    _ = try await engine.disconnectCustomKeyStore(.init(customKeyStoreId: "cks-0de30000000000001"))
    #expect(try await state(engine) == .disconnecting)
  }

  @Test func noSecretInClearInSavedRecords() async throws {
    let saved = MemoryStateStore()
    let engine = try await KeyStoreEngine(clock: ManualClock(), stateStore: saved)
    try await engine.load(.demo)
    _ = try await engine.updateCustomKeyStore(
      .init(customKeyStoreId: "cks-0de30000000000002", keyStorePassword: "CanaryPassw0rd42"))
    let canary = Data("CanaryPassw0rd42".utf8)
    let demo = Data("DemoPassw0rd".utf8)
    for (kind, records) in try saved.loadAll() where !kind.isSecret {
      for payload in records.values {
        #expect(payload.range(of: canary) == nil, "password in clear in a \(kind) record")
        #expect(payload.range(of: demo) == nil, "password in clear in a \(kind) record")
      }
    }
  }
}
