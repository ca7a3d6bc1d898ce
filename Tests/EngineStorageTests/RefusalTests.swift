import Foundation
import GRDB
import KeyStoreEngine
import Testing

@testable import EngineStorage

@Suite("SQLiteStateStore: refusals of bad state files")
struct RefusalTests {
  /// A closed kmsdash state file with enough records to span many pages.
  private func populatedFile(_ directory: TemporaryDirectory) throws -> String {
    let store = try SQLiteStateStore(path: directory.statePath)
    try store.apply(
      .init(upserts: (0..<400).map { record(.event, "event-\($0)", String(repeating: "e\($0) ", count: 40)) })
    )
    try store.close()
    return directory.statePath
  }

  private func isCorrupt(_ error: StorageError?, _ path: String) -> Bool {
    guard case .corrupt(let refused, _) = error else { return false }
    return refused == path
  }

  @Test func randomBytes() throws {
    let directory = try TemporaryDirectory()
    var generator = SystemRandomNumberGenerator()
    let noise = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
    #expect(FileManager.default.createFile(atPath: directory.statePath, contents: noise))
    let error = refusal(directory.statePath)
    #expect(isCorrupt(error, directory.statePath), "\(String(describing: error))")
    #expect(bytes(directory.statePath) == noise)
    #expect(!FileManager.default.fileExists(atPath: directory.statePath + "-wal"))
    let message = error?.description ?? ""
    #expect(message.contains(directory.statePath))
    #expect(message.contains("--state PATH") && message.contains("--ephemeral"))
    #expect(message.contains("left untouched"))
  }

  @Test func textFile() throws {
    let directory = try TemporaryDirectory()
    #expect(
      FileManager.default.createFile(atPath: directory.statePath, contents: Data("hello, world\n".utf8)))
    expectRefusal(
      directory.statePath,
      .corrupt(path: directory.statePath, detail: "it does not start with an SQLite header"))
  }

  @Test func headerOnly() throws {
    let directory = try TemporaryDirectory()
    let path = try populatedFile(directory)
    let truncated = bytes(path).prefix(40)
    try truncated.write(to: URL(fileURLWithPath: path))
    expectRefusal(path, .corrupt(path: path, detail: "40 bytes, shorter than an SQLite header: truncated"))
  }

  @Test func truncatedMidPage() throws {
    let directory = try TemporaryDirectory()
    let path = try populatedFile(directory)
    let original = bytes(path)
    try original.prefix(original.count / 2 + 100).write(to: URL(fileURLWithPath: path))
    let error = refusal(path)
    #expect(isCorrupt(error, path), "\(String(describing: error))")
  }

  @Test func truncatedAtAPageBoundary() throws {
    let directory = try TemporaryDirectory()
    let path = try populatedFile(directory)
    let original = bytes(path)
    let pageSize = Int(original[16]) << 8 | Int(original[17])
    let pages = original.count / pageSize
    #expect(pages > 8)
    try original.prefix((pages / 2) * pageSize).write(to: URL(fileURLWithPath: path))
    let before = bytes(path)
    let error = refusal(path)
    #expect(isCorrupt(error, path), "\(String(describing: error))")
    #expect(bytes(path) == before)
  }

  @Test func scribbledPages() throws {
    let directory = try TemporaryDirectory()
    let path = try populatedFile(directory)
    var damaged = bytes(path)
    let pageSize = Int(damaged[16]) << 8 | Int(damaged[17])
    for offset in stride(from: pageSize * 2, to: damaged.count, by: pageSize * 2) {
      damaged.replaceSubrange(offset..<offset + 64, with: Data(repeating: 0xA5, count: 64))
    }
    try damaged.write(to: URL(fileURLWithPath: path))
    let error = refusal(path)
    #expect(isCorrupt(error, path), "\(String(describing: error))")
    #expect(bytes(path) == damaged)
  }

  @Test func newerSchemaVersion() throws {
    let directory = try TemporaryDirectory()
    let path = try populatedFile(directory)
    try withRawDatabase(path) { db in try db.execute(sql: "PRAGMA user_version = 7") }
    expectRefusal(path, .newerSchema(path: path, found: 7, supported: SQLiteStateStore.schemaVersion))
    let message = StorageError.newerSchema(path: path, found: 7, supported: 1).description
    #expect(message.contains("newer kmsdash") && message.contains("Upgrade kmsdash"))
  }

  @Test func unknownMigration() throws {
    let directory = try TemporaryDirectory()
    let path = try populatedFile(directory)
    try withRawDatabase(path) { db in
      try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v2-from-the-future')")
    }
    expectRefusal(path, .newerSchema(path: path, found: 2, supported: SQLiteStateStore.schemaVersion))
  }

  @Test func anotherApplicationsDatabase() throws {
    let directory = try TemporaryDirectory()
    try withRawDatabase(directory.statePath) { db in
      try db.execute(
        sql: """
          CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
          CREATE TABLE orders (id INTEGER PRIMARY KEY);
          INSERT INTO users (name) VALUES ('alice');
          """)
    }
    expectRefusal(
      directory.statePath,
      .notKmsdashDatabase(path: directory.statePath, detail: "it has other tables: orders, users"))
  }

  @Test func anotherApplicationID() throws {
    let directory = try TemporaryDirectory()
    try withRawDatabase(directory.statePath) { db in
      try db.execute(sql: "PRAGMA application_id = 1234; CREATE TABLE records (x);")
    }
    expectRefusal(
      directory.statePath,
      .notKmsdashDatabase(path: directory.statePath, detail: "its application id is 0x4d2"))
  }

  @Test func aDirectory() throws {
    let directory = try TemporaryDirectory()
    try FileManager.default.createDirectory(atPath: directory.statePath, withIntermediateDirectories: false)
    #expect(throws: StorageError.io(path: directory.statePath, detail: "not a regular file")) {
      try SQLiteStateStore(path: directory.statePath)
    }
  }

  @Test func messagesNameTheFileAndTheWayOut() {
    let path = "/tmp/x/state.sqlite"
    let errors: [StorageError] = [
      .alreadyInUse(path: path, pid: 1234), .alreadyInUse(path: path, pid: nil),
      .corrupt(path: path, detail: "d"), .newerSchema(path: path, found: 2, supported: 1),
      .notKmsdashDatabase(path: path, detail: "d"), .keyFileMissing(path: path, keyPath: path + ".key"),
      .keyFilePermissions(keyPath: path + ".key", mode: 0o644),
      .keyFileInvalid(keyPath: path + ".key", detail: "d"),
      .secretUnreadable(path: path, keyPath: path + ".key", kind: "material", id: "k"),
      .unreadableRecord(path: path, kind: "k", id: "i"), .io(path: path, detail: "d"),
    ]
    for error in errors {
      #expect(error.description.hasPrefix("kmsdash: "))
      #expect(error.description.contains(path))
      #expect(error.description.contains("--state PATH"), "\(error)")
      #expect(error.description.contains("--ephemeral"), "\(error)")
    }
    #expect(
      StorageError.alreadyInUse(path: path, pid: 1234).description
        == "kmsdash: /tmp/x/state.sqlite is already in use by another kmsdash process (pid 1234). Close it, "
        + "or pass --state PATH to use another file, or --ephemeral.")
  }
}

@Suite("SQLiteStateStore: lock")
struct LockTests {
  @Test func secondOpenIsRefusedWhileTheFirstIsOpen() throws {
    let directory = try TemporaryDirectory()
    let first = try SQLiteStateStore(path: directory.statePath)
    try first.apply(sampleChange())
    expectRefusal(directory.statePath, .alreadyInUse(path: directory.statePath, pid: getpid()))
    // The refused open touched nothing: the first store goes on.
    try first.apply(.init(upserts: [record(.key, "key-2", "two")]))
    try first.close()
    let second = try SQLiteStateStore(path: directory.statePath)
    #expect(try second.loadAll()[.key]?["key-2"] == Data("two".utf8))
  }

  @Test func lockIsReleasedOnDeinit() throws {
    let directory = try TemporaryDirectory()
    do {
      let first = try SQLiteStateStore(path: directory.statePath)
      #expect(refusal(directory.statePath) == .alreadyInUse(path: directory.statePath, pid: getpid()))
      try first.apply(sampleChange())
    }
    let second = try SQLiteStateStore(path: directory.statePath)
    #expect(try second.loadAll() == expectedState([sampleChange()]))
  }

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/flock")))
  func anotherProcessHoldingTheLock() throws {
    let directory = try TemporaryDirectory()
    try SQLiteStateStore(path: directory.statePath).close()
    let lockPath = SQLiteStateStore.lockPath(for: directory.statePath)
    // A child process takes the lock (and says so on stdout), then holds it until stdin closes.
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
    child.arguments = ["--exclusive", "--nonblock", lockPath, "/bin/sh", "-c", "echo locked; cat >/dev/null"]
    let input = Pipe()
    let output = Pipe()
    child.standardInput = input
    child.standardOutput = output
    try child.run()
    let line = String(decoding: output.fileHandleForReading.readData(ofLength: 7), as: UTF8.self)
    #expect(line == "locked\n")
    #expect(refusal(directory.statePath) == .alreadyInUse(path: directory.statePath, pid: nil))
    try input.fileHandleForWriting.close()
    child.waitUntilExit()
    let store = try SQLiteStateStore(path: directory.statePath)
    #expect(try store.loadAll().isEmpty)
  }

  @Test func refusalReportsTheRecordedPid() throws {
    let directory = try TemporaryDirectory()
    let first = try SQLiteStateStore(path: directory.statePath)
    let recorded = String(decoding: bytes(first.lockPath), as: UTF8.self)
    #expect(recorded == "\(getpid())\n")
    #expect(
      refusal(directory.statePath)?.description
        == "kmsdash: \(directory.statePath) is already in use by another kmsdash process (pid \(getpid())). "
        + "Close it, or pass --state PATH to use another file, or --ephemeral.")
    try first.close()
    #expect(bytes(first.lockPath).isEmpty)
  }
}
