import Foundation
import KMSModel

/// The body KMS sends with every key request, read on bytes: one JSON object whose members are
/// strings, with `requestMetadata` an object of strings. Only the plain case is accepted: known
/// member names, each once, printable ASCII strings whose only escape is `\/` (`JSONEncoder`
/// writes slashes so, as in every ARN), nothing after the object.
/// Anything else returns nil, and the general path (`JSONSerialization` and `JSONDecoder`)
/// answers with its errors; for what this accepts both read the same values.
struct XKSPlainBody {
  var metadata = XKSRequestMetadata()
  /// The members as `JSONDecoder` reads them into either request (each ignores the other's).
  var encryptRequest = XKSEncryptRequest(requestMetadata: nil, plaintext: nil, encryptionAlgorithm: nil)
  var decryptRequest = XKSDecryptRequest(
    requestMetadata: nil, ciphertext: nil, encryptionAlgorithm: nil, initializationVector: nil,
    authenticationTag: nil)

  /// nil unless `body` is the plain case and carries a `requestMetadata` object.
  static func parse(_ body: Data) -> XKSPlainBody? {
    body.withUnsafeBytes { raw in
      var reader = Reader(bytes: raw.bindMemory(to: UInt8.self))
      return reader.body()
    }
  }

  private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    mutating func skipWhitespace() {
      while position < bytes.count {
        switch bytes[position] {
        case 0x20, 0x09, 0x0A, 0x0D: position += 1
        default: return
        }
      }
    }

    mutating func take(_ byte: UInt8) -> Bool {
      skipWhitespace()
      guard position < bytes.count, bytes[position] == byte else { return false }
      position += 1
      return true
    }

    /// A string of printable ASCII: its bytes in `bytes` (quotes excluded), and whether it
    /// holds `\/` escapes; nil for any other escape or byte.
    mutating func plainString() -> (range: Range<Int>, escapedSlashes: Bool)? {
      guard take(UInt8(ascii: "\"")) else { return nil }
      let start = position
      var escapedSlashes = false
      while position < bytes.count {
        let byte = bytes[position]
        if byte == UInt8(ascii: "\"") {
          position += 1
          return (start..<(position - 1), escapedSlashes)
        }
        if byte == UInt8(ascii: "\\") {
          guard position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "/") else { return nil }
          escapedSlashes = true
          position += 2
          continue
        }
        guard byte >= 0x20, byte < 0x7F else { return nil }
        position += 1
      }
      return nil
    }

    func text(_ string: (range: Range<Int>, escapedSlashes: Bool)) -> String {
      let raw = UnsafeBufferPointer(rebasing: bytes[string.range])
      guard string.escapedSlashes else { return String(decoding: raw, as: UTF8.self) }
      var unescaped: [UInt8] = []
      unescaped.reserveCapacity(raw.count)
      var index = 0
      while index < raw.count {
        if raw[index] == UInt8(ascii: "\\") { index += 1 }
        unescaped.append(raw[index])
        index += 1
      }
      return String(decoding: unescaped, as: UTF8.self)
    }

    /// Whether a member name is `name` (names with escapes are never known names).
    func equals(_ string: (range: Range<Int>, escapedSlashes: Bool), _ name: StaticString) -> Bool {
      !string.escapedSlashes
        && name.withUTF8Buffer { UnsafeBufferPointer(rebasing: bytes[string.range]).elementsEqual($0) }
    }

    /// `{ "name": value, … }` with `member` reading each value; false on anything else.
    mutating func object(_ member: (inout Reader, (range: Range<Int>, escapedSlashes: Bool)) -> Bool) -> Bool
    {
      guard take(UInt8(ascii: "{")) else { return false }
      if take(UInt8(ascii: "}")) { return true }
      repeat {
        guard let name = plainString(), take(UInt8(ascii: ":")), member(&self, name) else { return false }
      } while take(UInt8(ascii: ","))
      return take(UInt8(ascii: "}"))
    }

    /// A string value stored once into `slot`.
    mutating func store(_ slot: inout String?) -> Bool {
      guard slot == nil, let value = plainString() else { return false }
      slot = text(value)
      return true
    }

    /// The first of `slots` named `name`.
    func slot<Root>(_ name: (range: Range<Int>, escapedSlashes: Bool), in slots: [Slot<Root>])
      -> WritableKeyPath<Root, String?>?
    {
      slots.first { equals(name, $0.name) }?.path
    }

    mutating func body() -> XKSPlainBody? {
      var result = XKSPlainBody()
      var sawMetadata = false
      let read = object { reader, name in
        if let path = reader.slot(name, in: XKSPlainBody.members) {
          return reader.store(&result[keyPath: path])
        }
        guard reader.equals(name, "requestMetadata"), !sawMetadata else { return false }
        sawMetadata = true
        return reader.object { reader, name in
          guard let path = reader.slot(name, in: XKSPlainBody.metadataMembers) else { return false }
          return reader.store(&result.metadata[keyPath: path])
        }
      }
      skipWhitespace()
      guard read, sawMetadata, position == bytes.count else { return nil }
      result.encryptRequest.requestMetadata = result.metadata
      result.decryptRequest.requestMetadata = result.metadata
      result.decryptRequest.encryptionAlgorithm = result.encryptRequest.encryptionAlgorithm
      result.decryptRequest.additionalAuthenticatedData = result.encryptRequest.additionalAuthenticatedData
      return result
    }
  }

  struct Slot<Root>: Sendable {
    var name: StaticString
    var path: WritableKeyPath<Root, String?> & Sendable
  }

  /// The string members of Encrypt and Decrypt requests (the two share `encryptionAlgorithm` and
  /// `additionalAuthenticatedData`, copied across once read).
  static let members: [Slot<XKSPlainBody>] = [
    Slot(name: "plaintext", path: \.encryptRequest.plaintext),
    Slot(name: "encryptionAlgorithm", path: \.encryptRequest.encryptionAlgorithm),
    Slot(name: "additionalAuthenticatedData", path: \.encryptRequest.additionalAuthenticatedData),
    Slot(
      name: "ciphertextDataIntegrityValueAlgorithm",
      path: \.encryptRequest.ciphertextDataIntegrityValueAlgorithm),
    Slot(name: "ciphertext", path: \.decryptRequest.ciphertext),
    Slot(name: "ciphertextMetadata", path: \.decryptRequest.ciphertextMetadata),
    Slot(name: "initializationVector", path: \.decryptRequest.initializationVector),
    Slot(name: "authenticationTag", path: \.decryptRequest.authenticationTag),
  ]

  static let metadataMembers: [Slot<XKSRequestMetadata>] = [
    Slot(name: "awsPrincipalArn", path: \.awsPrincipalArn), Slot(name: "kmsKeyArn", path: \.kmsKeyArn),
    Slot(name: "kmsOperation", path: \.kmsOperation), Slot(name: "kmsRequestId", path: \.kmsRequestId),
    Slot(name: "kmsViaService", path: \.kmsViaService), Slot(name: "awsSourceVpc", path: \.awsSourceVpc),
    Slot(name: "awsSourceVpce", path: \.awsSourceVpce),
  ]
}

/// The Encrypt and Decrypt answers written by hand, byte for byte what `XKSProxyCore.json`'s
/// `JSONEncoder` (sorted keys, unescaped slashes) writes for them; tests compare both.
enum XKSPlainAnswer {
  static func encrypt(_ sealed: ExternalKeyManager.Sealed, cdiv: Data?) -> Data {
    var writer = JSONBytesWriter(capacity: 64 + (sealed.ciphertext.count + sealed.metadata.count) * 4 / 3)
    writer.beginObject()
    writer.key("authenticationTag")
    writer.base64(sealed.tag)
    writer.key("ciphertext")
    writer.base64(sealed.ciphertext)
    if let cdiv {
      writer.key("ciphertextDataIntegrityValue")
      writer.base64(cdiv)
    }
    writer.key("ciphertextMetadata")
    writer.base64(sealed.metadata)
    writer.key("initializationVector")
    writer.base64(sealed.iv)
    writer.endObject()
    return Data(writer.bytes)
  }

  static func decrypt(plaintext: Data) -> Data {
    var writer = JSONBytesWriter(capacity: 20 + plaintext.count * 4 / 3)
    writer.beginObject()
    writer.key("plaintext")
    writer.base64(plaintext)
    writer.endObject()
    return Data(writer.bytes)
  }
}
