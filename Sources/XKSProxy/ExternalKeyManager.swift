import Crypto
import Foundation
import KMSModel

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The simulated external key manager: AES-256 keys with usages and a status, AES-GCM with the
/// spec's AAD construction, and a test key for deep health checks. Key material never leaves it.
/// `@unchecked Sendable`: every member is immutable after `init`; `SymmetricKey` is an immutable
/// value swift-crypto does not mark `Sendable`.
public final class ExternalKeyManager: @unchecked Sendable {
  public struct Key: Sendable {
    public var id: String
    public var spec: String
    public var usage: [String]
    public var status: String
  }

  public let keys: [String: Key]
  private let material: [String: SymmetricKey]
  private let testKey: SymmetricKey
  public let fleet: [XKSProxyConfiguration.EkmMember]
  /// `ciphertextMetadata` of every encrypt: the format of our AAD and the key version (10 bytes).
  public static let ciphertextMetadata = Data("kmsdash:v1".utf8)

  /// Keys from `configuration`; material from `state` when it holds the key, else new (and then
  /// saved to `state`).
  public init(configuration: XKSProxyConfiguration, state: ProxyStateFile?) throws {
    var keys: [String: Key] = [:]
    var material: [String: SymmetricKey] = [:]
    var saved = try state?.load() ?? [:]
    var changed = false
    for key in configuration.keys {
      keys[key.id] = Key(
        id: key.id, spec: key.spec ?? "AES_256", usage: key.usage, status: key.status ?? "ENABLED")
      if let bytes = saved[key.id], bytes.count == 32 {
        material[key.id] = SymmetricKey(data: bytes)
      } else {
        let fresh = SymmetricKey(size: .bits256)
        material[key.id] = fresh
        saved[key.id] = fresh.withUnsafeBytes { Data($0) }
        changed = true
      }
    }
    if let test = saved[Self.testKeyId], test.count == 32 {
      testKey = SymmetricKey(data: test)
    } else {
      testKey = SymmetricKey(size: .bits256)
      saved[Self.testKeyId] = testKey.withUnsafeBytes { Data($0) }
      changed = true
    }
    if changed { try state?.save(saved) }
    self.keys = keys
    self.material = material
    fleet = configuration.ekmFleet ?? XKSProxyConfiguration.demo.ekmFleet!
  }

  static let testKeyId = "kmsdash-health-test-key"

  public struct Sealed: Sendable {
    public var ciphertext: Data
    public var iv: Data
    public var tag: Data
    public var metadata: Data
  }

  public func encrypt(keyId: String, plaintext: Data, aad: Data?) throws -> Sealed {
    guard let key = material[keyId] else { throw CryptoKitError.incorrectKeySize }
    return try Self.seal(plaintext, key: key, aad: aad)
  }

  static func seal(_ plaintext: Data, key: SymmetricKey, aad: Data?) throws -> Sealed {
    let metadata = ciphertextMetadata
    let box = try AES.GCM.seal(
      plaintext, using: key, nonce: AES.GCM.Nonce(),
      authenticating: XKSAAD.ekmAAD(aad: aad, ciphertextMetadata: metadata))
    return Sealed(ciphertext: box.ciphertext, iv: Data(box.nonce), tag: box.tag, metadata: metadata)
  }

  /// nil when authentication fails (tampered ciphertext, IV, tag, metadata or a wrong AAD).
  public func decrypt(keyId: String, ciphertext: Data, iv: Data, tag: Data, metadata: Data?, aad: Data?)
    -> Data?
  {
    guard let key = material[keyId] else { return nil }
    guard let nonce = try? AES.GCM.Nonce(data: iv),
      let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag)
    else { return nil }
    return try? AES.GCM.open(
      box, using: key, authenticating: XKSAAD.ekmAAD(aad: aad, ciphertextMetadata: metadata))
  }

  /// The deep health check: a round trip on the test key, never on a customer key.
  public func deepHealthCheck() -> Bool {
    let probe = Data("kmsdash health".utf8)
    guard let sealed = try? Self.seal(probe, key: testKey, aad: nil),
      let nonce = try? AES.GCM.Nonce(data: sealed.iv),
      let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: sealed.ciphertext, tag: sealed.tag),
      let opened = try? AES.GCM.open(
        box, using: testKey, authenticating: XKSAAD.ekmAAD(aad: nil, ciphertextMetadata: sealed.metadata))
    else { return false }
    return opened == probe
  }
}

/// The proxy's saved key material: a JSON file (mode 0600) whose values are sealed with AES-GCM
/// under a 32-byte key in `<path>.key` (mode 0600), so the file alone reveals nothing.
public struct ProxyStateFile: Sendable {
  public let path: String
  public var keyPath: String { path + ".key" }

  public init(path: String) { self.path = path }

  /// The default: `$XDG_STATE_HOME/kmsdash/xks-proxy.json`, else `~/.local/state/kmsdash/…`.
  public static func defaultPath() -> String {
    let environment = ProcessInfo.processInfo.environment
    let base =
      environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
      ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/state")
    return (base as NSString).appendingPathComponent("kmsdash/xks-proxy.json")
  }

  struct Contents: Codable {
    var format: String
    var keys: [String: String]
  }

  func wrappingKey(create: Bool) throws -> SymmetricKey? {
    if let data = FileManager.default.contents(atPath: keyPath) {
      guard data.count == 32 else { throw StateError("\(keyPath) is not a 32-byte key.") }
      return SymmetricKey(data: data)
    }
    guard create else { return nil }
    let key = SymmetricKey(size: .bits256)
    try Self.writePrivate(key.withUnsafeBytes { Data($0) }, to: keyPath)
    return key
  }

  public func load() throws -> [String: Data] {
    guard let data = FileManager.default.contents(atPath: path) else { return [:] }
    guard let contents = try? JSONDecoder().decode(Contents.self, from: data),
      contents.format == "kmsdash-xks-proxy-1"
    else { throw StateError("\(path) is not a kmsdash xks-proxy state file.") }
    guard let key = try wrappingKey(create: false) else {
      throw StateError("\(path) holds sealed keys but its key file \(keyPath) is missing.")
    }
    var result: [String: Data] = [:]
    for (id, sealed) in contents.keys {
      guard let combined = Data(base64Encoded: sealed), let box = try? AES.GCM.SealedBox(combined: combined),
        let clear = try? AES.GCM.open(box, using: key, authenticating: Data(id.utf8))
      else { throw StateError("Key \(id) in \(path) cannot be opened with \(keyPath).") }
      result[id] = clear
    }
    return result
  }

  public func save(_ material: [String: Data]) throws {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o700])
    guard let key = try wrappingKey(create: true) else { return }
    var sealed: [String: String] = [:]
    for (id, bytes) in material {
      guard let combined = try AES.GCM.seal(bytes, using: key, authenticating: Data(id.utf8)).combined else {
        continue
      }
      sealed[id] = combined.base64EncodedString()
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    try Self.writePrivate(try encoder.encode(Contents(format: "kmsdash-xks-proxy-1", keys: sealed)), to: path)
  }

  /// Writes a file with mode 0600 atomically (temporary file, fsync, rename).
  static func writePrivate(_ data: Data, to path: String) throws {
    let temporary = "\(path).tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw StateError("Cannot create \(temporary): errno \(errno).") }
    let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let synced = fchmod(fd, 0o600) == 0 && fsync(fd) == 0
    close(fd)
    guard written == data.count, synced, rename(temporary, path) == 0 else {
      unlink(temporary)
      throw StateError("Cannot write \(path).")
    }
  }

  public struct StateError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
  }
}
