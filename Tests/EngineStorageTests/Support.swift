import Foundation
import GRDB
import KeyStoreEngine
import Testing

@testable import EngineStorage

/// A fresh directory under the system's temporary directory, removed on deinit.
final class TemporaryDirectory: Sendable {
  let path: String

  init() throws {
    let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("kmsdash-storage-XXXXXX")
    var bytes = Array(template.utf8CString)
    guard let made = mkdtemp(&bytes) else { throw POSIXError(.EIO) }
    path = String(cString: made)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

  var statePath: String { file("state.sqlite") }
}

func record(_ kind: StateRecordKind, _ id: String, _ text: String) -> StateChange.Record {
  StateChange.Record(kind: kind, id: id, payload: Data(text.utf8))
}

/// A change touching every kind.
func sampleChange() -> StateChange {
  StateChange(upserts: [
    record(.meta, "engine", #"{"sequence":42}"#),
    record(.cluster, "cluster-1", #"{"id":"cluster-1"}"#),
    record(.store, "cks-1", #"{"name":"one"}"#),
    record(.store, "cks-2", #"{"name":"two"}"#),
    record(.key, "key-1", #"{"state":"Enabled"}"#),
    record(.alias, "alias/one", #"{"target":"key-1"}"#),
    record(.material, "key-1", #"{"bytes":"c2VjcmV0"}"#),
    record(.event, "00000000000000000001", #"{"kind":"storeCreated"}"#),
  ])
}

/// What `loadAll` should return after `changes`, computed the obvious way.
func expectedState(_ changes: [StateChange]) -> [StateRecordKind: [String: Data]] {
  var state: [StateRecordKind: [String: Data]] = [:]
  for change in changes {
    for deletion in change.deletions { state[deletion.kind]?[deletion.id] = nil }
    for upsert in change.upserts { state[upsert.kind, default: [:]][upsert.id] = upsert.payload }
  }
  return state.filter { !$0.value.isEmpty }
}

func bytes(_ path: String) -> Data {
  FileManager.default.contents(atPath: path) ?? Data()
}

func mode(_ path: String) -> UInt32 {
  var info = stat()
  guard stat(path, &info) == 0 else { return 0 }
  return UInt32(info.st_mode) & 0o777
}

/// Opens `path` with plain GRDB, outside any lock, to craft or inspect files.
func withRawDatabase<T>(_ path: String, _ body: (Database) throws -> T) throws -> T {
  let queue = try DatabaseQueue(path: path)
  defer { try? queue.close() }
  return try queue.writeWithoutTransaction(body)
}

/// Expects `SQLiteStateStore(path:)` to refuse with `expected`, leaving the file byte for byte.
func expectRefusal(
  _ path: String, _ expected: StorageError, sourceLocation: SourceLocation = #_sourceLocation
) {
  let before = bytes(path)
  do {
    let store = try SQLiteStateStore(path: path)
    Issue.record("opened \(store.path) where \(expected) was expected", sourceLocation: sourceLocation)
  } catch {
    #expect(error == expected, sourceLocation: sourceLocation)
    #expect(error.description.contains(path), sourceLocation: sourceLocation)
  }
  #expect(bytes(path) == before, "the refused file was modified", sourceLocation: sourceLocation)
}

/// The kind of refusal, whatever its details.
func refusal(_ path: String) -> StorageError? {
  do {
    _ = try SQLiteStateStore(path: path)
    return nil
  } catch {
    return error
  }
}
