import Foundation
import KeyStoreEngine
import Testing

@testable import EngineStorage

/// Commit, then publish, then answer, against real SQLite refusing writes: a full disk
/// (`SQLITE_FULL` through `PRAGMA max_page_count`), a read-only database (`PRAGMA query_only`) and
/// an I/O error thrown by the storage during commit. Each failed call answers
/// `KMSInternalException` with a true message, and its change is in none of memory, the file and
/// the change stream, now or after a restart; the next call after the fault clears works.
@Suite struct CommitFailureTests {
  static let store = "cks-0de30000000000001"
  static let spare = "cluster-sparefree6q"

  /// A demo engine on a SQLite file, and a way to reopen that file as a restarted process would.
  struct Setup {
    let directory: TemporaryDirectory
    let storage: SQLiteStateStore
    let engine: KeyStoreEngine
    let clock: ManualClock

    init() async throws {
      directory = try TemporaryDirectory()
      storage = try SQLiteStateStore(path: directory.statePath)
      clock = ManualClock()
      engine = try await KeyStoreEngine(clock: clock, stateStore: storage)
      try await engine.load(.demo)
    }

    func restarted() async throws -> KeyStoreEngine {
      try storage.close()
      let reopened = try SQLiteStateStore(path: directory.statePath)
      return try await KeyStoreEngine(clock: clock, stateStore: reopened)
    }
  }

  static func state(_ engine: KeyStoreEngine, _ id: String = store) async throws -> ConnectionStateType? {
    try await engine.describeCustomKeyStores(.init(customKeyStoreId: id)).customKeyStores?.first?
      .connectionState
  }

  static func keyCount(_ engine: KeyStoreEngine) async throws -> Int {
    try await engine.listKeys(.init(limit: 1000)).keys?.count ?? 0
  }

  /// Makes the database unable to grow: the next write that needs a page fails with SQLITE_FULL.
  static func fillTheDisk(_ storage: SQLiteStateStore) throws {
    try storage.execute("VACUUM")
    let pages = try #require(try storage.pragma("page_count"))
    try storage.execute("PRAGMA max_page_count = \(pages)")
  }

  @Test func diskFullDuringCreateKeyLeavesNoKey() async throws {
    let setup = try await Setup()
    let engine = setup.engine
    let before = try await Self.keyCount(engine)
    let snapshotBefore = try await engine.fleetSnapshot()
    let stream = await engine.changes()
    try Self.fillTheDisk(setup.storage)
    // A description of 8 KiB needs new pages: SQLite answers "database or disk is full".
    let description = String(repeating: "d", count: 8192)
    let error = await #expect(throws: KMSError.self) {
      _ = try await engine.createKey(
        .init(description: description, origin: "AWS_CLOUDHSM", customKeyStoreId: Self.store))
    }
    #expect(error?.code == .kmsInternalException)
    #expect(error?.message.contains("disk is full") == true, "\(error?.message ?? "")")
    #expect(error?.message.contains("not made") == true)
    // Memory: nothing changed, not even the event history or the version.
    #expect(try await Self.keyCount(engine) == before)
    #expect(try await engine.fleetSnapshot() == snapshotBefore)

    // Space returns: the next call works and is the first thing on the change stream.
    try setup.storage.execute("PRAGMA max_page_count = 1073741823")
    _ = try await engine.createKey(.init(origin: "AWS_CLOUDHSM", customKeyStoreId: Self.store))
    var iterator = stream.makeAsyncIterator()
    let delta = try #require(await iterator.next())
    #expect(delta.version == snapshotBefore.version + 1)
    #expect(delta.keys.count == 1)
    #expect(delta.keys.first?.description == "")

    // The file: after a restart there is exactly the one key that was acknowledged.
    let restarted = try await setup.restarted()
    #expect(try await Self.keyCount(restarted) == before + 1)
    let keys = try await restarted.fleetSnapshot().keys
    #expect(!keys.contains { $0.description == description })
  }

  @Test func readOnlyDatabaseRefusesDisconnectAndReadsStillWork() async throws {
    let setup = try await Setup()
    let engine = setup.engine
    try setup.storage.execute("PRAGMA query_only = 1")
    let error = await #expect(throws: KMSError.self) {
      _ = try await engine.disconnectCustomKeyStore(.init(customKeyStoreId: Self.store))
    }
    #expect(error?.code == .kmsInternalException)
    #expect(error?.message.contains("readonly") == true, "\(error?.message ?? "")")
    // Reads never write, so they keep working while the file refuses writes.
    #expect(try await Self.state(engine) == .connected)
    let key = try #require(try await engine.fleetSnapshot().keys(inStore: Self.store).first)
    let blob = try await engine.encrypt(.init(keyId: key.keyId, plaintext: Data("still".utf8))).ciphertextBlob
    #expect(try await engine.decrypt(.init(ciphertextBlob: blob)).plaintext == Data("still".utf8))

    try setup.storage.execute("PRAGMA query_only = 0")
    _ = try await engine.disconnectCustomKeyStore(.init(customKeyStoreId: Self.store))
    #expect(try await Self.state(engine) == .disconnecting)
    #expect(try await Self.state(try await setup.restarted()) == .disconnecting)
  }

  @Test func failedDisconnectIsNotSavedByTheNextCall() async throws {
    let setup = try await Setup()
    let engine = setup.engine
    try Self.fillTheDisk(setup.storage)
    // Fill until a disconnect fails (its records may fit in free space of existing pages).
    var failed = false
    for id in (1...6).map({ "cks-0de3000000000000\($0)" })
    where try await Self.state(engine, id) == .connected {
      do {
        _ = try await engine.disconnectCustomKeyStore(.init(customKeyStoreId: id))
      } catch {
        #expect(error.code == .kmsInternalException)
        #expect(try await Self.state(engine, id) == .connected)
        try setup.storage.execute("PRAGMA max_page_count = 1073741823")
        // An unrelated change saves only itself.
        _ = try await engine.connectCustomKeyStore(.init(customKeyStoreId: "cks-0de30000000000002"))
        #expect(try await Self.state(try await setup.restarted(), id) == .connected)
        failed = true
        break
      }
    }
    #expect(failed, "no disconnect hit the full disk")
  }
}
