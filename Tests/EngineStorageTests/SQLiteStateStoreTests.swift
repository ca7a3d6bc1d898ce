import Foundation
import GRDB
import KeyStoreEngine
import Testing

@testable import EngineStorage

@Suite("SQLiteStateStore: records")
struct RecordTests {
  @Test func newStoreIsEmpty() throws {
    let directory = try TemporaryDirectory()
    let store = try SQLiteStateStore(path: directory.statePath)
    #expect(try store.loadAll().isEmpty)
    #expect(store.path == directory.statePath)
  }

  @Test func roundTripOfEveryKind() throws {
    let directory = try TemporaryDirectory()
    let store = try SQLiteStateStore(path: directory.statePath)
    let change = sampleChange()
    try store.apply(change)
    #expect(try store.loadAll() == expectedState([change]))
    #expect(Set(try store.loadAll().keys) == Set(StateRecordKind.allCases))
  }

  @Test func upsertsReplaceAndDeletionsRemove() throws {
    let directory = try TemporaryDirectory()
    let store = try SQLiteStateStore(path: directory.statePath)
    let first = sampleChange()
    let second = StateChange(
      upserts: [
        record(.store, "cks-1", #"{"name":"renamed"}"#),
        record(.material, "key-1", #"{"bytes":"bmV3"}"#),
        record(.meta, "engine", #"{"sequence":43}"#),
      ],
      deletions: [
        .init(kind: .store, id: "cks-2"),
        .init(kind: .alias, id: "alias/one"),
        .init(kind: .key, id: "does-not-exist"),
      ])
    try store.apply(first)
    try store.apply(second)
    let loaded = try store.loadAll()
    #expect(loaded == expectedState([first, second]))
    #expect(loaded[.store]?["cks-1"] == Data(#"{"name":"renamed"}"#.utf8))
    #expect(loaded[.store]?["cks-2"] == nil)
    #expect(loaded[.alias] == nil)
    #expect(loaded[.material]?["key-1"] == Data(#"{"bytes":"bmV3"}"#.utf8))
  }

  @Test func deletionsComeBeforeUpsertsInOneChange() throws {
    let directory = try TemporaryDirectory()
    let store = try SQLiteStateStore(path: directory.statePath)
    try store.apply(.init(upserts: [record(.alias, "alias/a", "old")]))
    try store.apply(
      .init(upserts: [record(.alias, "alias/a", "new")], deletions: [.init(kind: .alias, id: "alias/a")]))
    #expect(try store.loadAll()[.alias]?["alias/a"] == Data("new".utf8))
  }

  @Test func emptyAndBinaryPayloads() throws {
    let directory = try TemporaryDirectory()
    let store = try SQLiteStateStore(path: directory.statePath)
    let binary = Data((0...255).map { UInt8($0) })
    try store.apply(
      .init(upserts: [
        .init(kind: .key, id: "empty", payload: Data()),
        .init(kind: .material, id: "empty", payload: Data()),
        .init(kind: .key, id: "binary", payload: binary),
        .init(kind: .material, id: "binary", payload: binary),
        .init(kind: .event, id: "ünïcödé id/with spaces", payload: Data("x".utf8)),
      ]))
    let loaded = try store.loadAll()
    #expect(loaded[.key]?["empty"] == Data())
    #expect(loaded[.material]?["empty"] == Data())
    #expect(loaded[.key]?["binary"] == binary)
    #expect(loaded[.material]?["binary"] == binary)
    #expect(loaded[.event]?["ünïcödé id/with spaces"] == Data("x".utf8))
  }

  @Test func emptyChangeIsANoOp() throws {
    let directory = try TemporaryDirectory()
    let store = try SQLiteStateStore(path: directory.statePath)
    try store.apply(StateChange())
    #expect(try store.loadAll().isEmpty)
  }

  @Test func manyRecordsInOneChange() throws {
    let directory = try TemporaryDirectory()
    let store = try SQLiteStateStore(path: directory.statePath)
    let change = StateChange(
      upserts: (0..<2000).map { record($0 % 2 == 0 ? .event : .material, "id-\($0)", "payload \($0)") })
    try store.apply(change)
    #expect(try store.loadAll() == expectedState([change]))
  }

  @Test func concurrentAppliesAreSerialized() async throws {
    let directory = try TemporaryDirectory()
    let store = try SQLiteStateStore(path: directory.statePath)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for task in 0..<8 {
        group.addTask {
          for index in 0..<20 {
            try store.apply(
              .init(upserts: [record(.event, "\(task)-\(index)", "e"), record(.meta, "m", "\(task)")]))
          }
        }
      }
      try await group.waitForAll()
    }
    let loaded = try store.loadAll()
    #expect(loaded[.event]?.count == 160)
    #expect(loaded[.meta]?.count == 1)
  }
}

@Suite("SQLiteStateStore: atomicity and durability")
struct DurabilityTests {
  @Test func failingChangeLeavesThePreviousState() throws {
    let directory = try TemporaryDirectory()
    let first = sampleChange()
    do {
      let store = try SQLiteStateStore(path: directory.statePath)
      try store.apply(first)
    }
    struct Injected: Error {}
    let store = try SQLiteStateStore(
      path: directory.statePath,
      hooks: .init(afterWrite: { index in if index == 3 { throw Injected() } }))
    let failing = StateChange(
      upserts: [
        record(.store, "cks-1", "changed"), record(.material, "key-1", "changed"),
        record(.key, "key-9", "new"),
      ],
      deletions: [.init(kind: .store, id: "cks-2"), .init(kind: .event, id: "00000000000000000001")])
    #expect {
      try store.apply(failing)
    } throws: { error in
      guard case .database(let path, _, let detail) = error as? StorageError else { return false }
      return path == directory.statePath && detail.contains("nothing of the change was saved")
    }
    #expect(try store.loadAll() == expectedState([first]))
    // The store is still usable: a change that fails before the hook's index goes through.
    let small = StateChange(upserts: [record(.alias, "alias/two", "ok")])
    try store.apply(small)
    #expect(try store.loadAll() == expectedState([first, small]))
    try store.close()
    // And what the failure left is what a reopen sees.
    let reopened = try SQLiteStateStore(path: directory.statePath)
    #expect(try reopened.loadAll() == expectedState([first, small]))
  }

  @Test func stateSurvivesCloseAndReopen() throws {
    let directory = try TemporaryDirectory()
    let changes = [
      sampleChange(),
      StateChange(upserts: [record(.key, "key-2", "two")], deletions: [.init(kind: .store, id: "cks-1")]),
    ]
    do {
      let store = try SQLiteStateStore(path: directory.statePath)
      for change in changes { try store.apply(change) }
      try store.close()
    }
    let store = try SQLiteStateStore(path: directory.statePath)
    #expect(try store.loadAll() == expectedState(changes))
  }

  @Test func stateSurvivesReleaseWithoutClose() throws {
    let directory = try TemporaryDirectory()
    do {
      let store = try SQLiteStateStore(path: directory.statePath)
      try store.apply(sampleChange())
    }
    let store = try SQLiteStateStore(path: directory.statePath)
    #expect(try store.loadAll() == expectedState([sampleChange()]))
  }

  /// An acknowledged change is in the WAL (or the database) while the store is still open, so a
  /// process killed at that moment keeps it: a plain SQLite reader of a copy of the files sees it.
  @Test func acknowledgedChangeIsOnDiskBeforeClose() throws {
    let directory = try TemporaryDirectory()
    let store = try SQLiteStateStore(path: directory.statePath)
    try store.apply(.init(upserts: [record(.key, "key-1", "acknowledged")]))
    // Copy the files as a crash would leave them (the store is still open, nothing checkpointed).
    let copy = directory.file("copy.sqlite")
    try FileManager.default.copyItem(atPath: directory.statePath, toPath: copy)
    try FileManager.default.copyItem(atPath: directory.statePath + "-wal", toPath: copy + "-wal")
    try FileManager.default.copyItem(atPath: store.keyPath, toPath: SQLiteStateStore.keyPath(for: copy))
    let recovered = try SQLiteStateStore(path: copy)
    #expect(try recovered.loadAll()[.key]?["key-1"] == Data("acknowledged".utf8))
  }

  @Test func removeAllEmptiesTheStoreDurably() throws {
    let directory = try TemporaryDirectory()
    do {
      let store = try SQLiteStateStore(path: directory.statePath)
      try store.apply(sampleChange())
      try store.removeAll()
      #expect(try store.loadAll().isEmpty)
      try store.apply(.init(upserts: [record(.material, "fresh", "seeded again")]))
    }
    let store = try SQLiteStateStore(path: directory.statePath)
    #expect(try store.loadAll() == [.material: ["fresh": Data("seeded again".utf8)]])
  }

  @Test func closedStoreRefusesAccess() throws {
    let directory = try TemporaryDirectory()
    let store = try SQLiteStateStore(path: directory.statePath)
    try store.close()
    try store.close()
    #expect(throws: StorageError.closed(path: directory.statePath)) { try store.loadAll() }
    #expect(throws: StorageError.closed(path: directory.statePath)) {
      try store.apply(.init(upserts: [record(.key, "k", "v")]))
    }
    #expect(throws: StorageError.closed(path: directory.statePath)) { try store.removeAll() }
  }
}

@Suite("SQLiteStateStore: file format")
struct FormatTests {
  @Test func newFileIsAWALKmsdashDatabaseWithPrivateFiles() throws {
    let directory = try TemporaryDirectory()
    let nested = directory.file("a/b/state.sqlite")
    let store = try SQLiteStateStore(path: nested)
    try store.apply(sampleChange())
    #expect(mode(directory.file("a/b")) == 0o700)
    #expect(mode(nested) == 0o600)
    #expect(mode(store.keyPath) == 0o600)
    #expect(mode(store.lockPath) == 0o600)
    #expect(bytes(store.keyPath).count == 32)
    try store.close()
    let header = bytes(nested)
    #expect(header[18] == 2 && header[19] == 2, "WAL mode is recorded in the header")
    let (applicationID, userVersion, tables) = try withRawDatabase(nested) { db in
      (
        try Int32.fetchOne(db, sql: "PRAGMA application_id"),
        try Int.fetchOne(db, sql: "PRAGMA user_version"),
        try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      )
    }
    #expect(applicationID == SQLiteStateStore.applicationID)
    #expect(userVersion == SQLiteStateStore.schemaVersion)
    #expect(tables == ["grdb_migrations", "kmsdash_meta", "records"])
  }

  @Test func connectionIsDurableAndWaitsWhenBusy() throws {
    let directory = try TemporaryDirectory()
    let store = try SQLiteStateStore(path: directory.statePath)
    #expect(try store.pragma("journal_mode") == "wal")
    #expect(try store.pragma("synchronous") == "2", "FULL")
    #expect(try store.pragma("foreign_keys") == "1")
    #expect(try store.pragma("busy_timeout") == "5000")
  }

  @Test func relativePathsAreMadeAbsolute() {
    let absolute = SQLiteStateStore.absolute("relative-dir/../state.sqlite")
    #expect(absolute == FileManager.default.currentDirectoryPath + "/state.sqlite")
    #expect(SQLiteStateStore.absolute("/a/./b/../state.sqlite") == "/a/state.sqlite")
  }

  @Test func migratesAnEmptyFile() throws {
    let directory = try TemporaryDirectory()
    #expect(FileManager.default.createFile(atPath: directory.statePath, contents: Data()))
    let store = try SQLiteStateStore(path: directory.statePath)
    try store.apply(sampleChange())
    #expect(try store.loadAll() == expectedState([sampleChange()]))
  }

  @Test func migratesAnEmptySQLiteDatabase() throws {
    let directory = try TemporaryDirectory()
    try withRawDatabase(directory.statePath) { db in
      try db.execute(sql: "CREATE TABLE scratch (x); DROP TABLE scratch;")
    }
    #expect(bytes(directory.statePath).count > 0)
    let store = try SQLiteStateStore(path: directory.statePath)
    try store.apply(sampleChange())
    #expect(try store.loadAll() == expectedState([sampleChange()]))
  }

  @Test func reopeningDoesNotMigrateAgain() throws {
    let directory = try TemporaryDirectory()
    try SQLiteStateStore(path: directory.statePath).close()
    try SQLiteStateStore(path: directory.statePath).close()
    let migrations = try withRawDatabase(directory.statePath) { db in
      try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
    }
    #expect(migrations == ["v1"])
  }
}

@Suite("SQLiteStateStore: default path")
struct DefaultPathTests {
  @Test func usesXDGStateHome() throws {
    let directory = try TemporaryDirectory()
    let path = try SQLiteStateStore.defaultPath(environment: [
      "XDG_STATE_HOME": directory.file("xdg"), "HOME": directory.file("home"),
    ])
    #expect(path == directory.file("xdg/kmsdash/state.sqlite"))
    #expect(mode(directory.file("xdg/kmsdash")) == 0o700)
  }

  @Test func fallsBackToHomeLocalState() throws {
    let directory = try TemporaryDirectory()
    for environment in [
      ["HOME": directory.path], ["HOME": directory.path, "XDG_STATE_HOME": "relative/ignored"],
    ] {
      let path = try SQLiteStateStore.defaultPath(environment: environment)
      #expect(path == directory.file(".local/state/kmsdash/state.sqlite"))
      #expect(mode(directory.file(".local/state/kmsdash")) == 0o700)
    }
  }

  @Test func keepsAnExistingDirectoryAsItIs() throws {
    let directory = try TemporaryDirectory()
    try FileManager.default.createDirectory(
      atPath: directory.file("xdg/kmsdash"), withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o750])
    _ = try SQLiteStateStore.defaultPath(environment: ["XDG_STATE_HOME": directory.file("xdg")])
    #expect(mode(directory.file("xdg/kmsdash")) == 0o750)
  }
}
