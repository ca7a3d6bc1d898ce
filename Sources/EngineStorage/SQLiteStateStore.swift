import Foundation
import GRDB
import KeyStoreEngine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The engine's durable state in one SQLite file (through GRDB), in WAL mode with
/// `synchronous=FULL`: `apply` returns once the change is on disk, and applies all of it or
/// none of it.
///
/// Beside the database live `<path>.lock`, locked with `flock` for as long as the store is
/// open so that two kmsdash processes never share a file, and `<path>.key` (mode 0600), the
/// AES-256 key that wraps the payloads of secret kinds (`meta`, `material`) with AES-GCM, the
/// record's kind and ID being the additional data.
///
/// Opening refuses, with a `StorageError` naming the file and the way out, and without writing
/// to it: a corrupt file, a file from a newer schema, an SQLite database that is not kmsdash's,
/// a file in use by another process, a key file that is missing (when secrets exist), loose
/// (not 0600) or wrong.
public final class SQLiteStateStore: StateStore, @unchecked Sendable {
  /// The schema version this build writes and reads (`PRAGMA user_version`).
  public static let schemaVersion = 1
  /// `PRAGMA application_id` of a kmsdash state file: "kmsd".
  public static let applicationID: Int32 = 0x6B6D_7364

  /// The database file, as an absolute path.
  public let path: String
  /// The wrapping key file beside the database.
  public var keyPath: String { Self.keyPath(for: path) }
  /// The lock file beside the database.
  public var lockPath: String { Self.lockPath(for: path) }

  public static func keyPath(for path: String) -> String { path + ".key" }
  public static func lockPath(for path: String) -> String { path + ".lock" }

  private let fileLock: FileLock
  private let wrappingKey: WrappingKey
  private let hooks: TestHooks
  /// Guards `database` against `close()`; GRDB serializes the accesses themselves.
  private let access = NSLock()
  private var database: DatabaseQueue?

  /// Failure injection for tests.
  struct TestHooks: Sendable {
    /// Called inside the `apply` transaction after each statement, with its index.
    var afterWrite: (@Sendable (Int) throws -> Void)?
  }

  /// Opens the state file at `path`, creating it (and its directory, mode 0700) when missing,
  /// and migrating it to the current schema. Holds the file's lock until `close()` or deinit.
  public convenience init(path: String) throws(StorageError) {
    try self.init(path: path, hooks: TestHooks())
  }

  init(path: String, hooks: TestHooks) throws(StorageError) {
    let path = Self.absolute(path)
    self.path = path
    self.hooks = hooks
    try Self.createDirectory((path as NSString).deletingLastPathComponent)
    let lock = try FileLock(lockPath: Self.lockPath(for: path), statePath: path)
    var queue: DatabaseQueue?
    do {
      (queue, wrappingKey) = try Self.openDatabase(path: path) { queue = $0 }
      database = queue
      fileLock = lock
    } catch {
      try? queue?.close()
      lock.release()
      throw error
    }
  }

  deinit { try? close() }

  /// Closes the database (checkpointing the WAL into it) and releases the lock. Later calls
  /// to `apply` and `loadAll` throw `StorageError.closed`. Idempotent.
  public func close() throws(StorageError) {
    access.lock()
    defer { access.unlock() }
    guard let database else { return }
    self.database = nil
    defer { fileLock.release() }
    do {
      try database.close()
    } catch {
      throw .database(path: path, operation: "close", detail: Self.describe(error))
    }
  }

  // MARK: StateStore

  public func loadAll() throws(StorageError) -> [StateRecordKind: [String: Data]] {
    try withDatabase(operation: "read") { db in
      var result: [StateRecordKind: [String: Data]] = [:]
      let rows = try Row.fetchCursor(db, sql: "SELECT kind, id, payload FROM records")
      while let row = try rows.next() {
        let rawKind: String = row[0]
        let id: String = row[1]
        let stored: Data = row[2] ?? Data()
        guard let kind = StateRecordKind(rawValue: rawKind) else {
          throw StorageError.unreadableRecord(path: path, kind: rawKind, id: id)
        }
        result[kind, default: [:]][id] = try reveal(stored, kind: kind, id: id)
      }
      return result
    }
  }

  /// Applies the deletions, then the upserts, in one transaction; durable when it returns.
  public func apply(_ change: StateChange) throws(StorageError) {
    guard !change.isEmpty else { return }
    var sealed: [(kind: String, id: String, payload: Data)] = []
    sealed.reserveCapacity(change.upserts.count)
    for record in change.upserts {
      var payload = record.payload
      if record.kind.isSecret {
        do {
          payload = try wrappingKey.seal(payload, kind: record.kind, id: record.id)
        } catch {
          throw .database(path: path, operation: "encrypt a record for", detail: Self.describe(error))
        }
      }
      sealed.append((record.kind.rawValue, record.id, payload))
    }
    let now = Date().timeIntervalSince1970
    let hook = hooks.afterWrite
    try withDatabase(operation: "save a change to", write: true) { db in
      var index = 0
      let delete = try db.cachedStatement(sql: "DELETE FROM records WHERE kind = ? AND id = ?")
      for deletion in change.deletions {
        try delete.execute(arguments: [deletion.kind.rawValue, deletion.id])
        try hook?(index)
        index += 1
      }
      let upsert = try db.cachedStatement(
        sql: """
          INSERT INTO records (kind, id, payload, updated_at) VALUES (?, ?, COALESCE(?, X''), ?)
          ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at
          """)
      for record in sealed {
        try upsert.execute(arguments: [record.kind, record.id, record.payload, now])
        try hook?(index)
        index += 1
      }
    }
  }

  /// Deletes every record in one durable transaction, keeping the file, its schema, its key
  /// and the lock: what `--reset` needs before re-seeding from the scenario.
  public func removeAll() throws(StorageError) {
    try withDatabase(operation: "reset", write: true) { db in
      try db.execute(sql: "DELETE FROM records")
    }
  }

  // MARK: Access

  private func withDatabase<T>(
    operation: String, write: Bool = false, _ body: (Database) throws -> T
  ) throws(StorageError) -> T {
    access.lock()
    defer { access.unlock() }
    guard let database else { throw .closed(path: path) }
    do {
      return write ? try database.write(body) : try database.read(body)
    } catch let error as StorageError {
      throw error
    } catch {
      let detail = Self.describe(error) + (write ? "; nothing of the change was saved" : "")
      throw .database(path: path, operation: operation, detail: detail)
    }
  }

  /// Runs SQL on the store's own connection, outside a transaction. Tests use it to make SQLite
  /// itself refuse writes: a full disk (`PRAGMA max_page_count`), a read-only file
  /// (`PRAGMA query_only`).
  func execute(_ sql: String) throws(StorageError) {
    access.lock()
    defer { access.unlock() }
    guard let database else { throw .closed(path: path) }
    do {
      try database.writeWithoutTransaction { db in try db.execute(sql: sql) }
    } catch {
      throw .database(path: path, operation: "execute", detail: Self.describe(error))
    }
  }

  /// The connection's value of `PRAGMA name`, for tests and diagnostics.
  func pragma(_ name: String) throws(StorageError) -> String? {
    try withDatabase(operation: "read") { db in try String.fetchOne(db, sql: "PRAGMA \(name)") }
  }

  private func reveal(_ stored: Data, kind: StateRecordKind, id: String) throws(StorageError) -> Data {
    guard kind.isSecret else { return stored }
    guard let clear = wrappingKey.unseal(stored, kind: kind, id: id) else {
      throw .secretUnreadable(path: path, keyPath: keyPath, kind: kind.rawValue, id: id)
    }
    return clear
  }
}

// MARK: - Opening

extension SQLiteStateStore {
  /// What an existing file holds, read before anything is written to it.
  private struct Inspection {
    var applicationID: Int32 = 0
    var userVersion = 0
    var tables: [String] = []
    var superseded = false
    var integrity = "ok"
    var secretCount = 0
    var sampleSecret: (kind: StateRecordKind, id: String, payload: Data)?
  }

  private enum FileState { case absent, empty, sqlite }

  static let migrator: DatabaseMigrator = {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(
        sql: """
          CREATE TABLE records (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            payload BLOB NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (kind, id)
          ) WITHOUT ROWID;
          CREATE TABLE kmsdash_meta (
            name TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
          ) WITHOUT ROWID;
          """)
      try db.execute(
        sql: "INSERT INTO kmsdash_meta (name, value) VALUES ('format', 'kmsdash-state'), ('created_at', ?)",
        arguments: [ISO8601DateFormatter().string(from: Date())])
      try db.execute(sql: "PRAGMA application_id = \(applicationID)")
      try db.execute(sql: "PRAGMA user_version = 1")
    }
    return migrator
  }()

  /// Checks, opens and migrates the database, and reads or creates the wrapping key.
  /// `opened` receives the queue as soon as it exists so the caller can close it on failure.
  private static func openDatabase(
    path: String, opened: (DatabaseQueue) -> Void
  ) throws(StorageError) -> (DatabaseQueue, WrappingKey) {
    let keyPath = keyPath(for: path)
    let fileState = try checkFile(path)
    if fileState == .absent {
      // Created 0600 up front: SQLite gives the -wal and -shm files the same mode.
      let fd = openFile(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
      if fd >= 0 { closeFile(fd) }
    }

    var configuration = Configuration()
    configuration.label = "kmsdash.state"
    configuration.busyMode = .timeout(5)
    configuration.foreignKeysEnabled = true
    configuration.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = FULL")
    }
    let queue: DatabaseQueue
    do {
      queue = try DatabaseQueue(path: path, configuration: configuration)
    } catch {
      throw classify(error, path: path)
    }
    opened(queue)

    let inspection: Inspection
    do {
      inspection = try queue.read(inspect)
    } catch {
      throw classify(error, path: path)
    }
    try judge(inspection, path: path)

    var key: WrappingKey?
    switch try WrappingKey.load(keyPath: keyPath) {
    case .present(let found):
      if let sample = inspection.sampleSecret,
        found.unseal(sample.payload, kind: sample.kind, id: sample.id) == nil
      {
        throw .secretUnreadable(path: path, keyPath: keyPath, kind: sample.kind.rawValue, id: sample.id)
      }
      key = found
    case .missing:
      if inspection.secretCount > 0 { throw .keyFileMissing(path: path, keyPath: keyPath) }
    }

    do {
      try queue.writeWithoutTransaction { db in
        let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
        guard mode?.lowercased() == "wal" else {
          throw StorageError.io(
            path: path, detail: "cannot switch to WAL mode (journal_mode is \(mode ?? "?"))")
        }
      }
      try migrator.migrate(queue)
    } catch let error as StorageError {
      throw error
    } catch {
      throw classify(error, path: path)
    }
    if fileState != .sqlite { syncDirectory(of: path) }
    if let key { return (queue, key) }
    return (queue, try WrappingKey.create(keyPath: keyPath))
  }

  private static func inspect(_ db: Database) throws -> Inspection {
    var result = Inspection()
    result.applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
    result.userVersion = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
    result.tables = try String.fetchAll(
      db,
      sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    guard result.applicationID == applicationID else { return result }
    result.superseded = try migrator.hasBeenSuperseded(db)
    guard result.userVersion <= schemaVersion, !result.superseded else { return result }
    result.integrity = try String.fetchAll(db, sql: "PRAGMA quick_check").joined(separator: "; ")
    guard result.integrity == "ok", result.tables.contains("records") else { return result }
    let secretKinds = StateRecordKind.allCases.filter(\.isSecret).map { "'\($0.rawValue)'" }
      .joined(separator: ", ")
    result.secretCount =
      try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM records WHERE kind IN (\(secretKinds))") ?? 0
    if let row = try Row.fetchOne(
      db, sql: "SELECT kind, id, payload FROM records WHERE kind IN (\(secretKinds)) LIMIT 1"),
      let kind = StateRecordKind(rawValue: row[0])
    {
      result.sampleSecret = (kind, row[1], row[2] ?? Data())
    }
    return result
  }

  /// Refuses a file that is not a current-or-older kmsdash database, or not a new one.
  private static func judge(_ inspection: Inspection, path: String) throws(StorageError) {
    if inspection.applicationID == applicationID {
      if inspection.userVersion > schemaVersion || inspection.superseded {
        throw .newerSchema(
          path: path, found: max(inspection.userVersion, schemaVersion + 1), supported: schemaVersion)
      }
      if inspection.integrity != "ok" {
        throw .corrupt(path: path, detail: "integrity check: \(inspection.integrity.prefix(200))")
      }
      return
    }
    if inspection.applicationID != 0 {
      let hex = String(UInt32(bitPattern: inspection.applicationID), radix: 16)
      throw .notKmsdashDatabase(path: path, detail: "its application id is 0x\(hex)")
    }
    if !inspection.tables.isEmpty {
      let names = inspection.tables.prefix(5).joined(separator: ", ")
      let more = inspection.tables.count > 5 ? ", …" : ""
      throw .notKmsdashDatabase(path: path, detail: "it has other tables: \(names)\(more)")
    }
    // An empty SQLite database: migrated from scratch.
  }

  /// Looks at the file's bytes before SQLite does: absent, empty, or a plausible SQLite file.
  private static func checkFile(_ path: String) throws(StorageError) -> FileState {
    var info = stat()
    if stat(path, &info) != 0 {
      let code = errno
      if code == ENOENT { return .absent }
      throw .io(path: path, detail: posixMessage(code))
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw .io(path: path, detail: "not a regular file") }
    let size = Int(info.st_size)
    if size == 0 { return .empty }
    let fd = openFile(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io(path: path, detail: posixMessage(errno)) }
    defer { closeFile(fd) }
    var header = [UInt8](repeating: 0, count: 100)
    let count = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    guard count >= 0 else { throw .io(path: path, detail: posixMessage(errno)) }
    let magic = Array("SQLite format 3\u{0}".utf8)
    guard count >= magic.count, Array(header[0..<magic.count]) == magic else {
      throw .corrupt(path: path, detail: "it does not start with an SQLite header")
    }
    guard count == 100 else {
      throw .corrupt(path: path, detail: "\(size) bytes, shorter than an SQLite header: truncated")
    }
    let rawPageSize = Int(header[16]) << 8 | Int(header[17])
    let pageSize = rawPageSize == 1 ? 65536 : rawPageSize
    guard pageSize >= 512, pageSize & (pageSize - 1) == 0 else {
      throw .corrupt(path: path, detail: "invalid page size \(rawPageSize)")
    }
    guard size % pageSize == 0 else {
      throw .corrupt(
        path: path, detail: "\(size) bytes is not a whole number of \(pageSize)-byte pages: truncated")
    }
    return .sqlite
  }

  private static func classify(_ error: any Error, path: String) -> StorageError {
    if let error = error as? StorageError { return error }
    if let error = error as? DatabaseError {
      switch error.resultCode {
      case .SQLITE_NOTADB, .SQLITE_CORRUPT:
        return .corrupt(path: path, detail: describe(error))
      default:
        return .io(path: path, detail: describe(error))
      }
    }
    return .io(path: path, detail: describe(error))
  }

  static func describe(_ error: any Error) -> String {
    if let error = error as? DatabaseError {
      return "\(error.message ?? "SQLite error") (\(error.resultCode))"
    }
    return "\(error)"
  }
}

// MARK: - Paths

extension SQLiteStateStore {
  /// `$XDG_STATE_HOME/kmsdash/state.sqlite`, or `~/.local/state/kmsdash/state.sqlite` when it is
  /// unset (or not absolute, as the XDG spec asks). Creates the `kmsdash` directory (mode 0700).
  public static func defaultPath(
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(StorageError) -> String {
    let base: String
    if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
      base = state
    } else {
      let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
      base = (home as NSString).appendingPathComponent(".local/state")
    }
    let directory = (base as NSString).appendingPathComponent("kmsdash")
    try createDirectory(directory)
    return (directory as NSString).appendingPathComponent("state.sqlite")
  }

  /// Creates `directory` and its missing parents with mode 0700; leaves an existing one as is.
  static func createDirectory(_ directory: String) throws(StorageError) {
    guard !directory.isEmpty else { return }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
      guard isDirectory.boolValue else { throw .io(path: directory, detail: "not a directory") }
      return
    }
    do {
      try FileManager.default.createDirectory(
        atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
      throw .io(path: directory, detail: "cannot create the directory: \(error.localizedDescription)")
    }
  }

  static func absolute(_ path: String) -> String {
    let expanded = (path as NSString).expandingTildeInPath
    let full =
      expanded.hasPrefix("/")
      ? expanded : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(expanded)
    return (full as NSString).standardizingPath
  }
}
