import Foundation
import GRDB
import KeyStoreEngine
import Testing

@testable import EngineStorage

@Suite("SQLiteStateStore: secrets at rest")
struct SecretTests {
  private func contains(_ path: String, _ needle: String) -> Bool {
    bytes(path).range(of: Data(needle.utf8)) != nil
  }

  @Test func secretPayloadsNeverAppearInClear() throws {
    let directory = try TemporaryDirectory()
    let path = directory.statePath
    let materialCanary = "CANARY-MATERIAL-\(UUID().uuidString)"
    let metaCanary = "CANARY-META-\(UUID().uuidString)"
    let plainCanary = "CANARY-PLAIN-\(UUID().uuidString)"
    let store = try SQLiteStateStore(path: path)
    try store.apply(
      .init(upserts: [
        record(.material, "key-1", #"{"bytes":"\#(materialCanary)"}"#),
        record(.meta, "engine", #"{"pepper":"\#(metaCanary)"}"#),
        record(.key, "key-1", #"{"description":"\#(plainCanary)"}"#),
      ]))
    // While open: the change sits in the WAL.
    let files = [path, path + "-wal"]
    #expect(files.contains { contains($0, plainCanary) }, "the control canary is found")
    for file in files {
      #expect(!contains(file, materialCanary), "\(file)")
      #expect(!contains(file, metaCanary), "\(file)")
    }
    // Once closed, everything is checkpointed into the database file.
    try store.close()
    #expect(contains(path, plainCanary))
    #expect(!contains(path, materialCanary))
    #expect(!contains(path, metaCanary))
    let reopened = try SQLiteStateStore(path: path)
    let loaded = try reopened.loadAll()
    #expect(loaded[.material]?["key-1"] == Data(#"{"bytes":"\#(materialCanary)"}"#.utf8))
    #expect(loaded[.meta]?["engine"] == Data(#"{"pepper":"\#(metaCanary)"}"#.utf8))
  }

  @Test func payloadsCannotBeSwappedBetweenRecords() throws {
    let directory = try TemporaryDirectory()
    let path = directory.statePath
    do {
      let store = try SQLiteStateStore(path: path)
      try store.apply(.init(upserts: [record(.material, "a", "key A"), record(.material, "b", "key B")]))
    }
    try withRawDatabase(path) { db in
      try db.execute(
        sql: """
          UPDATE records SET payload = (SELECT payload FROM records WHERE kind = 'material' AND id = 'a')
          WHERE kind = 'material' AND id = 'b'
          """)
    }
    // Either the open-time probe or loadAll catches it, naming the record.
    #expect {
      try SQLiteStateStore(path: path).loadAll()
    } throws: { error in
      guard case .secretUnreadable(let refused, _, "material", let id) = error as? StorageError else {
        return false
      }
      return refused == path && id == "b"
    }
  }

  @Test func kindIsPartOfTheAuthenticatedData() throws {
    let key = WrappingKey(key: .init(size: .bits256))
    let sealed = try key.seal(Data("secret".utf8), kind: .material, id: "x")
    #expect(key.unseal(sealed, kind: .material, id: "x") == Data("secret".utf8))
    #expect(key.unseal(sealed, kind: .meta, id: "x") == nil)
    #expect(key.unseal(sealed, kind: .material, id: "y") == nil)
    #expect(WrappingKey(key: .init(size: .bits256)).unseal(sealed, kind: .material, id: "x") == nil)
    // A fresh nonce every time.
    #expect(try key.seal(Data("secret".utf8), kind: .material, id: "x") != sealed)
  }

  @Test func keyFileWithLoosePermissionsIsRefused() throws {
    let directory = try TemporaryDirectory()
    let path = directory.statePath
    let keyPath = SQLiteStateStore.keyPath(for: path)
    try SQLiteStateStore(path: path).close()
    for loose: mode_t in [0o644, 0o640, 0o604, 0o660, 0o700, 0o666] {
      chmod(keyPath, loose)
      expectRefusal(path, .keyFilePermissions(keyPath: keyPath, mode: UInt32(loose)))
    }
    #expect(
      StorageError.keyFilePermissions(keyPath: keyPath, mode: 0o644).description.contains(
        "chmod 600 \(keyPath)"))
    for strict: mode_t in [0o600, 0o400] {
      chmod(keyPath, strict)
      try SQLiteStateStore(path: path).close()
    }
  }

  @Test func missingKeyFileWithSecretsIsRefused() throws {
    let directory = try TemporaryDirectory()
    let path = directory.statePath
    let keyPath = SQLiteStateStore.keyPath(for: path)
    do {
      let store = try SQLiteStateStore(path: path)
      try store.apply(.init(upserts: [record(.material, "key-1", "secret")]))
    }
    try FileManager.default.removeItem(atPath: keyPath)
    expectRefusal(path, .keyFileMissing(path: path, keyPath: keyPath))
    #expect(!FileManager.default.fileExists(atPath: keyPath), "no new key replaces the lost one")
  }

  @Test func missingKeyFileWithoutSecretsIsRecreated() throws {
    let directory = try TemporaryDirectory()
    let path = directory.statePath
    let keyPath = SQLiteStateStore.keyPath(for: path)
    do {
      let store = try SQLiteStateStore(path: path)
      try store.apply(.init(upserts: [record(.key, "key-1", "plain")]))
    }
    try FileManager.default.removeItem(atPath: keyPath)
    let store = try SQLiteStateStore(path: path)
    #expect(mode(keyPath) == 0o600)
    #expect(try store.loadAll()[.key]?["key-1"] == Data("plain".utf8))
  }

  @Test func anotherKeyIsRefused() throws {
    let directory = try TemporaryDirectory()
    let path = directory.statePath
    let keyPath = SQLiteStateStore.keyPath(for: path)
    do {
      let store = try SQLiteStateStore(path: path)
      try store.apply(.init(upserts: [record(.meta, "engine", "secret")]))
    }
    var generator = SystemRandomNumberGenerator()
    let other = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    try other.write(to: URL(fileURLWithPath: keyPath))
    expectRefusal(path, .secretUnreadable(path: path, keyPath: keyPath, kind: "meta", id: "engine"))
  }

  @Test func keyFileOfTheWrongSizeIsRefused() throws {
    let directory = try TemporaryDirectory()
    let path = directory.statePath
    let keyPath = SQLiteStateStore.keyPath(for: path)
    try SQLiteStateStore(path: path).close()
    try Data(repeating: 7, count: 16).write(to: URL(fileURLWithPath: keyPath))
    chmod(keyPath, 0o600)
    expectRefusal(
      path, .keyFileInvalid(keyPath: keyPath, detail: "16 bytes where a 32-byte key was expected"))
  }
}
