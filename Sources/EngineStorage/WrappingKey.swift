import Crypto
import Foundation
import KeyStoreEngine

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The AES-256 key that wraps secret payloads, kept in a `0600` file beside the database.
/// `@unchecked`: `SymmetricKey` is an immutable value that swift-crypto does not mark `Sendable`.
struct WrappingKey: @unchecked Sendable {
  static let byteCount = 32
  /// First byte of every sealed payload: the format, so a later one can change it.
  static let formatV1: UInt8 = 1

  let key: SymmetricKey

  enum Presence {
    case missing
    case present(WrappingKey)
  }

  /// Reads the key file, refusing one whose mode is looser than 0600 or that is not a 32-byte key.
  static func load(keyPath: String) throws(StorageError) -> Presence {
    var info = stat()
    if lstat(keyPath, &info) != 0 {
      let code = errno
      if code == ENOENT { return .missing }
      throw .keyFileInvalid(keyPath: keyPath, detail: posixMessage(code))
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw .keyFileInvalid(keyPath: keyPath, detail: "not a regular file")
    }
    let mode = UInt32(info.st_mode) & 0o777
    guard mode & ~0o600 == 0 else { throw .keyFilePermissions(keyPath: keyPath, mode: mode) }
    let fd = open(keyPath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
    guard fd >= 0 else { throw .keyFileInvalid(keyPath: keyPath, detail: posixMessage(errno)) }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: byteCount + 1)
    let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count == byteCount else {
      let detail = count < 0 ? posixMessage(errno) : "\(count) bytes where a 32-byte key was expected"
      throw .keyFileInvalid(keyPath: keyPath, detail: detail)
    }
    return .present(WrappingKey(key: SymmetricKey(data: bytes[0..<byteCount])))
  }

  /// Creates a new random key file with mode 0600, atomically (temporary file, fsync, rename,
  /// fsync of the directory). Never replaces an existing key file.
  static func create(keyPath: String) throws(StorageError) -> WrappingKey {
    let key = SymmetricKey(size: .bits256)
    let temporary = "\(keyPath).tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard fd >= 0 else {
      throw .io(path: keyPath, detail: "cannot create the key file: \(posixMessage(errno))")
    }
    let written = key.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let synced = fchmod(fd, 0o600) == 0 && fsync(fd) == 0
    let code = errno
    close(fd)
    guard written == byteCount, synced else {
      unlink(temporary)
      throw .io(path: keyPath, detail: "cannot write the key file: \(posixMessage(code))")
    }
    // link() fails if the key file appeared meanwhile, so an existing key is never replaced.
    if link(temporary, keyPath) != 0 {
      let code = errno
      unlink(temporary)
      throw .io(path: keyPath, detail: "cannot create the key file: \(posixMessage(code))")
    }
    unlink(temporary)
    syncDirectory(of: keyPath)
    return WrappingKey(key: key)
  }

  static func additionalData(kind: StateRecordKind, id: String) -> Data {
    Data("kmsdash-record\u{0}\(kind.rawValue)\u{0}\(id)".utf8)
  }

  func seal(_ payload: Data, kind: StateRecordKind, id: String) throws -> Data {
    let box = try AES.GCM.seal(payload, using: key, authenticating: Self.additionalData(kind: kind, id: id))
    guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
    return Data([Self.formatV1]) + combined
  }

  /// Nil when the payload does not open with this key under this kind and ID.
  func unseal(_ sealed: Data, kind: StateRecordKind, id: String) -> Data? {
    guard sealed.first == Self.formatV1 else { return nil }
    guard let box = try? AES.GCM.SealedBox(combined: sealed.dropFirst()) else { return nil }
    return try? AES.GCM.open(box, using: key, authenticating: Self.additionalData(kind: kind, id: id))
  }
}

/// fsync of the directory holding `path`, so a newly created entry survives a crash.
func syncDirectory(of path: String) {
  let directory = (path as NSString).deletingLastPathComponent
  let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
  guard fd >= 0 else { return }
  _ = fsync(fd)
  close(fd)
}
