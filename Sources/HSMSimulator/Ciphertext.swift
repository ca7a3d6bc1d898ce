import Crypto
import Foundation
import KMSModel

/// The simulator's ciphertext blob (kms-spec §5.6 leaves the format to us). Self-describing, so
/// Decrypt finds its key without `KeyId`:
///
///     "KDSC" | version (1) | key ID length (1) | key ID (UTF-8) | nonce (12) | ciphertext | tag (16)
///
/// The header (everything before the nonce) and the canonical encryption context are the
/// AES-GCM additional data, so altering any byte, or the context, fails authentication.
public enum CiphertextBlob {
  static let magic = Data("KDSC".utf8)
  static let version: UInt8 = 1
  static let nonceLength = 12
  static let tagLength = 16

  public struct Parsed {
    public var keyId: String
    public var header: Data
    public var sealed: AES.GCM.SealedBox
  }

  public static func seal(
    _ plaintext: Data, keyId: String, material: SymmetricKey, encryptionContext: [String: String]?
  ) throws -> Data {
    let keyIdBytes = Data(keyId.utf8)
    var header = magic
    header.append(version)
    header.append(UInt8(keyIdBytes.count))
    header.append(keyIdBytes)
    let aad = header + canonical(encryptionContext)
    let box = try AES.GCM.seal(plaintext, using: material, authenticating: aad)
    return header + Data(box.nonce) + box.ciphertext + box.tag
  }

  /// nil when the blob is not one of ours (garbage, truncated, foreign).
  public static func parse(_ blob: Data) -> Parsed? {
    let bytes = [UInt8](blob)
    let fixed = magic.count + 2
    guard bytes.count >= fixed, Data(bytes[0..<magic.count]) == magic, bytes[magic.count] == version else {
      return nil
    }
    let idLength = Int(bytes[magic.count + 1])
    let headerLength = fixed + idLength
    guard idLength > 0, bytes.count >= headerLength + nonceLength + tagLength,
      let keyId = String(bytes: bytes[fixed..<headerLength], encoding: .utf8)
    else { return nil }
    let nonceEnd = headerLength + nonceLength
    guard let nonce = try? AES.GCM.Nonce(data: bytes[headerLength..<nonceEnd]),
      let sealed = try? AES.GCM.SealedBox(
        nonce: nonce, ciphertext: bytes[nonceEnd..<(bytes.count - tagLength)],
        tag: bytes[(bytes.count - tagLength)...])
    else { return nil }
    return Parsed(keyId: keyId, header: Data(bytes[0..<headerLength]), sealed: sealed)
  }

  /// nil when authentication fails (tampering, wrong encryption context, wrong material).
  public static func open(_ parsed: Parsed, material: SymmetricKey, encryptionContext: [String: String]?)
    -> Data?
  {
    try? AES.GCM.open(
      parsed.sealed, using: material, authenticating: parsed.header + canonical(encryptionContext))
  }

  /// Order-independent, unambiguous encoding of the encryption context (length-prefixed pairs).
  public static func canonical(_ context: [String: String]?) -> Data {
    var out = Data()
    for (key, value) in (context ?? [:]).sorted(by: { $0.key < $1.key }) {
      for part in [key, value] {
        let bytes = Data(part.utf8)
        withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { out.append(contentsOf: $0) }
        out.append(bytes)
      }
    }
    return out
  }
}
