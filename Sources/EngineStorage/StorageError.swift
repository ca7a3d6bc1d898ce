import Foundation

/// Why a state file could not be opened, read or written. Every message names the file and the
/// way out; opening never overwrites a file it refuses.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Another kmsdash process holds the state file's lock (`pid` is the one it recorded, when
  /// readable).
  case alreadyInUse(path: String, pid: Int32?)
  /// The file is not a readable SQLite database: random bytes, truncated, malformed pages.
  case corrupt(path: String, detail: String)
  /// The file was written by a newer kmsdash, with a schema this build does not know.
  case newerSchema(path: String, found: Int, supported: Int)
  /// A valid SQLite database that belongs to something else.
  case notKmsdashDatabase(path: String, detail: String)
  /// The database holds secret records but the wrapping key file beside it is gone.
  case keyFileMissing(path: String, keyPath: String)
  /// The wrapping key file's permissions are looser than 0600.
  case keyFilePermissions(keyPath: String, mode: UInt32)
  /// The wrapping key file is not a 32-byte key, or cannot be read.
  case keyFileInvalid(keyPath: String, detail: String)
  /// A secret record does not decrypt with the wrapping key (another key file, or tampering).
  case secretUnreadable(path: String, keyPath: String, kind: String, id: String)
  /// A record that this build cannot read (unknown kind).
  case unreadableRecord(path: String, kind: String, id: String)
  /// The file or its directory could not be created, opened or locked.
  case io(path: String, detail: String)
  /// A read or write failed; for a write, nothing of the change was saved.
  case database(path: String, operation: String, detail: String)
  /// The store was closed.
  case closed(path: String)

  private static let wayOut = "pass --state PATH to use another file, or --ephemeral"

  public var description: String {
    switch self {
    case .alreadyInUse(let path, let pid):
      let who = pid.map { "another kmsdash process (pid \($0))" } ?? "another kmsdash process"
      return "kmsdash: \(path) is already in use by \(who). Close it, or \(Self.wayOut)."
    case .corrupt(let path, let detail):
      return
        "kmsdash: \(path) is not a readable kmsdash state file: it is corrupt (\(detail)). It was left "
        + "untouched. Move it aside to start afresh from the scenario, or \(Self.wayOut)."
    case .newerSchema(let path, let found, let supported):
      return
        "kmsdash: \(path) was written by a newer kmsdash (schema version \(found); this build knows up to "
        + "\(supported)). It was left untouched. Upgrade kmsdash, or \(Self.wayOut)."
    case .notKmsdashDatabase(let path, let detail):
      return
        "kmsdash: \(path) is an SQLite database but not a kmsdash state file (\(detail)). It was left "
        + "untouched. Pass --state PATH to use another file, or --ephemeral."
    case .keyFileMissing(let path, let keyPath):
      return
        "kmsdash: \(path) holds encrypted key material but its key file \(keyPath) is missing. Restore "
        + "the key file beside it (mode 0600), or move both aside to start afresh, or \(Self.wayOut)."
    case .keyFilePermissions(let keyPath, let mode):
      let octal = String(mode & 0o777, radix: 8)
      return
        "kmsdash: the key file \(keyPath) has mode 0\(octal), looser than 0600. Restrict it with "
        + "`chmod 600 \(keyPath)`, or \(Self.wayOut)."
    case .keyFileInvalid(let keyPath, let detail):
      return
        "kmsdash: the key file \(keyPath) is not usable (\(detail)). Restore the original key file, or "
        + "move the state file and its key aside to start afresh, or \(Self.wayOut)."
    case .secretUnreadable(let path, let keyPath, let kind, let id):
      return
        "kmsdash: the \(kind) record \(id) in \(path) does not decrypt with the key in \(keyPath) (another "
        + "key file, or the file was tampered with). Restore the matching key file, or move both aside to "
        + "start afresh, or \(Self.wayOut)."
    case .unreadableRecord(let path, let kind, let id):
      return
        "kmsdash: \(path) holds a record of unknown kind '\(kind)' (id \(id)); it may come from a newer "
        + "kmsdash. Upgrade kmsdash, or \(Self.wayOut)."
    case .io(let path, let detail):
      return "kmsdash: cannot use \(path): \(detail). Fix it, or \(Self.wayOut)."
    case .database(let path, let operation, let detail):
      return "kmsdash: could not \(operation) \(path): \(detail)."
    case .closed(let path):
      return "kmsdash: the state file \(path) was closed."
    }
  }
}
