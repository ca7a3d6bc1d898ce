import Crypto
import Foundation
import KMSModel
import _CryptoExtras

/// The cryptography behind every KMS key spec (issue 14): key generation, the public key,
/// signing, RSA encryption, HMAC and ECDH. Pure functions over stored key bytes: RSA keys are kept
/// as PKCS#8 DER, NIST and Edwards keys as their raw private scalar, HMAC keys as raw bytes.
enum KeyCrypto {
  struct Failure: Error {
    var message: String
    init(_ message: String) { self.message = message }
  }

  static func describe(_ error: any Error) -> String {
    (error as? Failure)?.message ?? "\(error)"
  }

  // MARK: What each spec allows

  static func isAsymmetric(_ spec: KeySpec) -> Bool {
    switch spec {
    case .rsa2048, .rsa3072, .rsa4096, .eccNistP256, .eccNistP384, .eccNistP521, .eccSecgP256k1, .sm2,
      .mlDsa44,
      .mlDsa65, .mlDsa87, .eccNistEdwards25519:
      true
    case .symmetricDefault, .hmac224, .hmac256, .hmac384, .hmac512: false
    }
  }

  static func isHMAC(_ spec: KeySpec) -> Bool { [.hmac224, .hmac256, .hmac384, .hmac512].contains(spec) }

  static func isRSA(_ spec: KeySpec) -> Bool { [.rsa2048, .rsa3072, .rsa4096].contains(spec) }

  static func isNIST(_ spec: KeySpec) -> Bool { [.eccNistP256, .eccNistP384, .eccNistP521].contains(spec) }

  /// Specs this emulator can create (others are refused with UnsupportedOperationException).
  static func isImplemented(_ spec: KeySpec) -> Bool {
    switch spec {
    case .sm2, .mlDsa44, .mlDsa65, .mlDsa87: false
    default: true
    }
  }

  /// The key usages KMS accepts for a key spec (AWS KMS developer guide, "Choosing a key spec").
  static func usages(for spec: KeySpec) -> [KeyUsageType] {
    switch spec {
    case .symmetricDefault: [.encryptDecrypt]
    case .rsa2048, .rsa3072, .rsa4096: [.encryptDecrypt, .signVerify]
    case .eccNistP256, .eccNistP384, .eccNistP521: [.signVerify, .keyAgreement]
    case .eccSecgP256k1, .eccNistEdwards25519, .mlDsa44, .mlDsa65, .mlDsa87: [.signVerify]
    case .hmac224, .hmac256, .hmac384, .hmac512: [.generateVerifyMac]
    case .sm2: [.encryptDecrypt, .signVerify, .keyAgreement]
    }
  }

  static func encryptionAlgorithms(_ spec: KeySpec, _ usage: KeyUsageType) -> [EncryptionAlgorithmSpec]? {
    guard usage == .encryptDecrypt else { return nil }
    switch spec {
    case .symmetricDefault: return [.symmetricDefault]
    case .rsa2048, .rsa3072, .rsa4096: return [.rsaesOaepSha1, .rsaesOaepSha256]
    case .sm2: return [.sm2pke]
    default: return nil
    }
  }

  static func signingAlgorithms(_ spec: KeySpec, _ usage: KeyUsageType) -> [SigningAlgorithmSpec]? {
    guard usage == .signVerify else { return nil }
    switch spec {
    case .rsa2048, .rsa3072, .rsa4096:
      return [
        .rsassaPssSha256, .rsassaPssSha384, .rsassaPssSha512, .rsassaPkcs1V15Sha256, .rsassaPkcs1V15Sha384,
        .rsassaPkcs1V15Sha512,
      ]
    case .eccNistP256, .eccSecgP256k1: return [.ecdsaSha256]
    case .eccNistP384: return [.ecdsaSha384]
    case .eccNistP521: return [.ecdsaSha512]
    case .eccNistEdwards25519: return [.ed25519Sha512, .ed25519PhSha512]
    case .sm2: return [.sm2dsa]
    case .mlDsa44, .mlDsa65, .mlDsa87: return [.mlDsaShake256]
    default: return nil
    }
  }

  static func macAlgorithms(_ spec: KeySpec) -> [MacAlgorithmSpec]? {
    switch spec {
    case .hmac224: [.hmacSha224]
    case .hmac256: [.hmacSha256]
    case .hmac384: [.hmacSha384]
    case .hmac512: [.hmacSha512]
    default: nil
    }
  }

  static func keyAgreementAlgorithms(_ spec: KeySpec, _ usage: KeyUsageType) -> [KeyAgreementAlgorithmSpec]? {
    usage == .keyAgreement ? [.ecdh] : nil
  }

  // MARK: Key generation

  /// New private key bytes for an asymmetric or HMAC spec.
  static func generate(_ spec: KeySpec) throws(Failure) -> Data {
    do {
      switch spec {
      case .rsa2048: return try rsaPKCS8(_RSA.Signing.PrivateKey(keySize: .bits2048))
      case .rsa3072: return try rsaPKCS8(_RSA.Signing.PrivateKey(keySize: .bits3072))
      case .rsa4096: return try rsaPKCS8(_RSA.Signing.PrivateKey(keySize: .bits4096))
      case .eccNistP256: return P256.Signing.PrivateKey().rawRepresentation
      case .eccNistP384: return P384.Signing.PrivateKey().rawRepresentation
      case .eccNistP521: return P521.Signing.PrivateKey().rawRepresentation
      case .eccNistEdwards25519: return Curve25519.Signing.PrivateKey().rawRepresentation
      case .eccSecgP256k1: return Secp256k1.generatePrivateKey()
      case .hmac224: return randomBytes(28)
      case .hmac256: return randomBytes(32)
      case .hmac384: return randomBytes(48)
      case .hmac512: return randomBytes(64)
      case .symmetricDefault: return randomBytes(32)
      default: throw Failure("KeySpec \(spec.rawValue) is not supported by this emulator.")
      }
    } catch let failure as Failure {
      throw failure
    } catch {
      throw Failure("Key generation failed: \(error)")
    }
  }

  /// Cryptographically random bytes (the system generator, in one call rather than per byte).
  static func randomBytes(_ count: Int) -> Data {
    guard count > 0 else { return Data() }
    return SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Data($0) }
  }

  static func rsaPKCS8(_ key: _RSA.Signing.PrivateKey) throws -> Data {
    try pemBody(key.pkcs8PEMRepresentation)
  }

  static func pemBody(_ pem: String) throws -> Data {
    let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    guard let data = Data(base64Encoded: body) else { throw Failure("bad PEM") }
    return data
  }

  /// The private key as PKCS#8 DER (GenerateDataKeyPair's PrivateKeyPlaintext).
  static func privateKeyPKCS8(_ spec: KeySpec, _ bytes: Data) throws(Failure) -> Data {
    do {
      switch spec {
      case .rsa2048, .rsa3072, .rsa4096: return bytes
      case .eccNistP256: return try P256.Signing.PrivateKey(rawRepresentation: bytes).derRepresentation
      case .eccNistP384: return try P384.Signing.PrivateKey(rawRepresentation: bytes).derRepresentation
      case .eccNistP521: return try P521.Signing.PrivateKey(rawRepresentation: bytes).derRepresentation
      case .eccSecgP256k1:
        guard let der = Secp256k1.privateKeyPKCS8(bytes) else {
          throw Failure("The stored key cannot be read.")
        }
        return der
      case .eccNistEdwards25519:
        // PKCS#8 for Ed25519 (RFC 8410): a fixed prefix and the 32-byte seed.
        return Data([
          0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
        ])
          + bytes
      default: throw Failure("KeySpec \(spec.rawValue) has no private key.")
      }
    } catch let failure as Failure {
      throw failure
    } catch {
      throw Failure("The private key cannot be encoded: \(error)")
    }
  }

  /// Reads an imported private key (PKCS#8 DER) into the stored form; nil when it is not a key
  /// of this spec.
  static func importPrivateKey(_ spec: KeySpec, pkcs8 der: Data) -> Data? {
    switch spec {
    case .rsa2048, .rsa3072, .rsa4096:
      guard let key = try? _RSA.Signing.PrivateKey(derRepresentation: der),
        key.keySizeInBits == Int(spec.rawValue.dropFirst(4))
      else { return nil }
      return try? rsaPKCS8(key)
    case .eccNistP256: return (try? P256.Signing.PrivateKey(derRepresentation: der))?.rawRepresentation
    case .eccNistP384: return (try? P384.Signing.PrivateKey(derRepresentation: der))?.rawRepresentation
    case .eccNistP521: return (try? P521.Signing.PrivateKey(derRepresentation: der))?.rawRepresentation
    case .eccSecgP256k1: return Secp256k1.importPKCS8(der)
    case .eccNistEdwards25519:
      guard der.count == 48 else { return nil }
      return der.suffix(32)
    default: return nil
    }
  }

  /// The public key as DER SubjectPublicKeyInfo (GetPublicKey, GenerateDataKeyPair).
  static func publicKeyDER(_ spec: KeySpec, _ bytes: Data) throws(Failure) -> Data {
    do {
      switch spec {
      case .rsa2048, .rsa3072, .rsa4096:
        return try _RSA.Signing.PrivateKey(derRepresentation: bytes).publicKey.derRepresentation
      case .eccNistP256:
        return try P256.Signing.PrivateKey(rawRepresentation: bytes).publicKey.derRepresentation
      case .eccNistP384:
        return try P384.Signing.PrivateKey(rawRepresentation: bytes).publicKey.derRepresentation
      case .eccNistP521:
        return try P521.Signing.PrivateKey(rawRepresentation: bytes).publicKey.derRepresentation
      case .eccSecgP256k1:
        guard let der = Secp256k1.publicKeyDER(bytes) else { throw Failure("The stored key cannot be read.") }
        return der
      case .eccNistEdwards25519:
        let raw = try Curve25519.Signing.PrivateKey(rawRepresentation: bytes).publicKey.rawRepresentation
        return Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]) + raw
      default: throw Failure("KeySpec \(spec.rawValue) has no public key.")
      }
    } catch let failure as Failure {
      throw failure
    } catch {
      throw Failure("The stored key cannot be read: \(error)")
    }
  }

  // MARK: Signing

  /// The digest length each signing algorithm expects for MessageType DIGEST.
  static func digestLength(_ algorithm: SigningAlgorithmSpec) -> Int? {
    switch algorithm {
    case .rsassaPssSha256, .rsassaPkcs1V15Sha256, .ecdsaSha256: 32
    case .rsassaPssSha384, .rsassaPkcs1V15Sha384, .ecdsaSha384: 48
    case .rsassaPssSha512, .rsassaPkcs1V15Sha512, .ecdsaSha512, .ed25519PhSha512: 64
    default: nil
    }
  }

  static func hash(_ message: Data, length: Int) -> Data {
    switch length {
    case 32: Data(SHA256.hash(data: message))
    case 48: Data(SHA384.hash(data: message))
    default: Data(SHA512.hash(data: message))
    }
  }

  /// Signs a digest (already hashed with the algorithm's hash, `digestLength` bytes), or for
  /// Ed25519 the raw message.
  static func sign(
    _ spec: KeySpec, _ bytes: Data, algorithm: SigningAlgorithmSpec, digest: Data, message: Data?
  ) throws(Failure) -> Data {
    do {
      switch algorithm {
      case .rsassaPssSha256, .rsassaPssSha384, .rsassaPssSha512, .rsassaPkcs1V15Sha256, .rsassaPkcs1V15Sha384,
        .rsassaPkcs1V15Sha512:
        let key = try _RSA.Signing.PrivateKey(derRepresentation: bytes)
        let padding: _RSA.Signing.Padding =
          [.rsassaPssSha256, .rsassaPssSha384, .rsassaPssSha512].contains(algorithm)
          ? .PSS : .insecurePKCS1v1_5
        switch digest.count {
        case 32: return try key.signature(for: try digest256(digest), padding: padding).rawRepresentation
        case 48: return try key.signature(for: try digest384(digest), padding: padding).rawRepresentation
        default: return try key.signature(for: try digest512(digest), padding: padding).rawRepresentation
        }
      case .ecdsaSha256 where spec == .eccSecgP256k1:
        guard let signature = Secp256k1.sign(digest: digest, privateKey: bytes) else {
          throw Failure("The stored key cannot be read.")
        }
        return signature
      case .ecdsaSha256:
        return try P256.Signing.PrivateKey(rawRepresentation: bytes).signature(for: try digest256(digest))
          .derRepresentation
      case .ecdsaSha384:
        return try P384.Signing.PrivateKey(rawRepresentation: bytes).signature(for: try digest384(digest))
          .derRepresentation
      case .ecdsaSha512:
        return try P521.Signing.PrivateKey(rawRepresentation: bytes).signature(for: try digest512(digest))
          .derRepresentation
      case .ed25519Sha512:
        guard let message else { throw Failure("ED25519_SHA_512 signs the RAW message only.") }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: bytes).signature(for: message)
      default:
        throw Failure("Signing algorithm \(algorithm.rawValue) is not supported by this emulator.")
      }
    } catch let failure as Failure {
      throw failure
    } catch {
      throw Failure("Signing failed: \(error)")
    }
  }

  static func verify(
    _ spec: KeySpec, _ bytes: Data, algorithm: SigningAlgorithmSpec, digest: Data, message: Data?,
    signature: Data
  ) throws(Failure) -> Bool {
    do {
      switch algorithm {
      case .rsassaPssSha256, .rsassaPssSha384, .rsassaPssSha512, .rsassaPkcs1V15Sha256, .rsassaPkcs1V15Sha384,
        .rsassaPkcs1V15Sha512:
        let key = try _RSA.Signing.PrivateKey(derRepresentation: bytes).publicKey
        let padding: _RSA.Signing.Padding =
          [.rsassaPssSha256, .rsassaPssSha384, .rsassaPssSha512].contains(algorithm)
          ? .PSS : .insecurePKCS1v1_5
        let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: signature)
        switch digest.count {
        case 32: return key.isValidSignature(rsaSignature, for: try digest256(digest), padding: padding)
        case 48: return key.isValidSignature(rsaSignature, for: try digest384(digest), padding: padding)
        default: return key.isValidSignature(rsaSignature, for: try digest512(digest), padding: padding)
        }
      case .ecdsaSha256 where spec == .eccSecgP256k1:
        return Secp256k1.verify(digest: digest, signature: signature, privateKey: bytes)
      case .ecdsaSha256:
        guard let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature) else {
          return false
        }
        return try P256.Signing.PrivateKey(rawRepresentation: bytes).publicKey.isValidSignature(
          parsed, for: try digest256(digest))
      case .ecdsaSha384:
        guard let parsed = try? P384.Signing.ECDSASignature(derRepresentation: signature) else {
          return false
        }
        return try P384.Signing.PrivateKey(rawRepresentation: bytes).publicKey.isValidSignature(
          parsed, for: try digest384(digest))
      case .ecdsaSha512:
        guard let parsed = try? P521.Signing.ECDSASignature(derRepresentation: signature) else {
          return false
        }
        return try P521.Signing.PrivateKey(rawRepresentation: bytes).publicKey.isValidSignature(
          parsed, for: try digest512(digest))
      case .ed25519Sha512:
        guard let message else { throw Failure("ED25519_SHA_512 verifies the RAW message only.") }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: bytes).publicKey.isValidSignature(
          signature, for: message)
      default:
        throw Failure("Signing algorithm \(algorithm.rawValue) is not supported by this emulator.")
      }
    } catch let failure as Failure {
      throw failure
    } catch {
      throw Failure("Verification failed: \(error)")
    }
  }

  /// swift-crypto signs `Digest` values; KMS's DIGEST message type hands us the bytes. The digest
  /// types are plain structs of their bytes, so a digest of the right length is loaded as one.
  static func digest256(_ bytes: Data) throws -> SHA256Digest { try load(bytes, as: SHA256Digest.self) }
  static func digest384(_ bytes: Data) throws -> SHA384Digest { try load(bytes, as: SHA384Digest.self) }
  static func digest512(_ bytes: Data) throws -> SHA512Digest { try load(bytes, as: SHA512Digest.self) }

  private static func load<D: Digest>(_ bytes: Data, as type: D.Type) throws -> D {
    guard bytes.count == D.byteCount, MemoryLayout<D>.size == D.byteCount else {
      throw Failure("Digest is invalid length.")
    }
    return bytes.withUnsafeBytes { $0.loadUnaligned(as: D.self) }
  }

  // MARK: RSA encryption

  static func rsaPadding(_ algorithm: EncryptionAlgorithmSpec) -> _RSA.Encryption.Padding? {
    switch algorithm {
    case .rsaesOaepSha1: .PKCS1_OAEP
    case .rsaesOaepSha256: .PKCS1_OAEP_SHA256
    default: nil
    }
  }

  /// The largest plaintext RSA-OAEP can encrypt with this key size and hash.
  static func rsaMaximumPlaintext(_ spec: KeySpec, _ algorithm: EncryptionAlgorithmSpec) -> Int {
    let modulus = (Int(spec.rawValue.dropFirst(4)) ?? 2048) / 8
    let hashLength = algorithm == .rsaesOaepSha1 ? 20 : 32
    return modulus - 2 * hashLength - 2
  }

  static func rsaEncrypt(_ bytes: Data, _ plaintext: Data, algorithm: EncryptionAlgorithmSpec) throws(Failure)
    -> Data
  {
    guard let padding = rsaPadding(algorithm) else { throw Failure("unsupported algorithm") }
    do {
      let key = try _RSA.Encryption.PrivateKey(derRepresentation: bytes).publicKey
      return try key.encrypt(plaintext, padding: padding)
    } catch {
      throw Failure("Encryption failed: \(error)")
    }
  }

  /// nil when the ciphertext does not decrypt under this key and padding.
  static func rsaDecrypt(_ bytes: Data, _ ciphertext: Data, algorithm: EncryptionAlgorithmSpec) -> Data? {
    guard let padding = rsaPadding(algorithm),
      let key = try? _RSA.Encryption.PrivateKey(derRepresentation: bytes)
    else { return nil }
    return try? key.decrypt(ciphertext, padding: padding)
  }

  // MARK: HMAC

  static func mac(_ algorithm: MacAlgorithmSpec, key: Data, message: Data) -> Data {
    let symmetric = SymmetricKey(data: key)
    switch algorithm {
    case .hmacSha224: return SHA224.hmac(key: key, message: message)
    case .hmacSha256: return Data(HMAC<SHA256>.authenticationCode(for: message, using: symmetric))
    case .hmacSha384: return Data(HMAC<SHA384>.authenticationCode(for: message, using: symmetric))
    case .hmacSha512: return Data(HMAC<SHA512>.authenticationCode(for: message, using: symmetric))
    }
  }

  // MARK: ECDH

  /// The raw shared secret (the x coordinate) of ECDH between our key and a DER public key; nil
  /// when the public key is not a point on the key's curve.
  static func sharedSecret(_ spec: KeySpec, _ bytes: Data, peerPublicKey der: Data) throws(Failure) -> Data? {
    func raw(_ secret: SharedSecret) -> Data { secret.withUnsafeBytes { Data($0) } }
    do {
      switch spec {
      case .eccNistP256:
        guard let peer = try? P256.KeyAgreement.PublicKey(derRepresentation: der) else { return nil }
        return raw(
          try P256.KeyAgreement.PrivateKey(rawRepresentation: bytes).sharedSecretFromKeyAgreement(with: peer))
      case .eccNistP384:
        guard let peer = try? P384.KeyAgreement.PublicKey(derRepresentation: der) else { return nil }
        return raw(
          try P384.KeyAgreement.PrivateKey(rawRepresentation: bytes).sharedSecretFromKeyAgreement(with: peer))
      case .eccNistP521:
        guard let peer = try? P521.KeyAgreement.PublicKey(derRepresentation: der) else { return nil }
        return raw(
          try P521.KeyAgreement.PrivateKey(rawRepresentation: bytes).sharedSecretFromKeyAgreement(with: peer))
      default: throw Failure("KeySpec \(spec.rawValue) does not support key agreement.")
      }
    } catch let failure as Failure {
      throw failure
    } catch {
      throw Failure("Key agreement failed: \(error)")
    }
  }

  // MARK: Import wrapping (GetParametersForImport / ImportKeyMaterial)

  static func wrappingKey(_ spec: WrappingKeySpec) throws(Failure) -> Data {
    do {
      switch spec {
      case .rsa2048: return try rsaPKCS8(_RSA.Signing.PrivateKey(keySize: .bits2048))
      case .rsa3072: return try rsaPKCS8(_RSA.Signing.PrivateKey(keySize: .bits3072))
      case .rsa4096: return try rsaPKCS8(_RSA.Signing.PrivateKey(keySize: .bits4096))
      case .sm2: throw Failure("WrappingKeySpec SM2 is only available in China Regions.")
      }
    } catch let failure as Failure {
      throw failure
    } catch {
      throw Failure("Key generation failed: \(error)")
    }
  }

  /// Unwraps imported key material; nil when it does not unwrap under the wrapping key.
  static func unwrap(_ wrapped: Data, wrappingKey: Data, algorithm: AlgorithmSpec) -> Data? {
    guard let key = try? _RSA.Encryption.PrivateKey(derRepresentation: wrappingKey) else { return nil }
    switch algorithm {
    case .rsaesOaepSha1: return try? key.decrypt(wrapped, padding: .PKCS1_OAEP)
    case .rsaesOaepSha256: return try? key.decrypt(wrapped, padding: .PKCS1_OAEP_SHA256)
    case .rsaAesKeyWrapSha1, .rsaAesKeyWrapSha256:
      // CKM_RSA_AES_KEY_WRAP: RSA-OAEP-wrapped ephemeral AES key, then AES key wrap with padding.
      let modulus = key.keySizeInBits / 8
      guard wrapped.count > modulus else { return nil }
      let padding: _RSA.Encryption.Padding =
        algorithm == .rsaAesKeyWrapSha1 ? .PKCS1_OAEP : .PKCS1_OAEP_SHA256
      guard let aesKey = try? key.decrypt(wrapped.prefix(modulus), padding: padding) else { return nil }
      return AESKeyWrapPadded.unwrap(Data(wrapped.dropFirst(modulus)), kek: SymmetricKey(data: aesKey))
    case .rsaesPkcs1V15, .sm2pke: return nil
    }
  }
}

/// AES key wrap with padding (RFC 5649), unwrap side, built on one-block AES (CBC, zero IV, no
/// padding), which swift-crypto has, since it has no raw block cipher.
enum AESKeyWrapPadded {
  static func block(_ data: Data, _ kek: SymmetricKey, decrypt: Bool) -> Data? {
    let iv = try? AES._CBC.IV(ivBytes: [UInt8](repeating: 0, count: 16))
    guard let iv else { return nil }
    return decrypt
      ? try? AES._CBC.decrypt(data, using: kek, iv: iv, noPadding: true)
      : try? AES._CBC.encrypt(data, using: kek, iv: iv, noPadding: true)
  }

  static func unwrap(_ wrapped: Data, kek: SymmetricKey) -> Data? {
    let bytes = [UInt8](wrapped)
    guard bytes.count >= 16, bytes.count % 8 == 0 else { return nil }
    var a: [UInt8]
    var r: [[UInt8]]
    let n = bytes.count / 8 - 1
    if n == 1 {
      guard let plain = block(Data(bytes), kek, decrypt: true) else { return nil }
      a = Array(plain.prefix(8))
      r = [Array(plain.suffix(8))]
    } else {
      a = Array(bytes[0..<8])
      r = (0..<n).map { Array(bytes[(8 + $0 * 8)..<(16 + $0 * 8)]) }
      for j in stride(from: 5, through: 0, by: -1) {
        for i in stride(from: n, through: 1, by: -1) {
          let t = UInt64(n * j + i)
          var tBytes = [UInt8](repeating: 0, count: 8)
          for k in 0..<8 { tBytes[k] = UInt8((t >> (56 - 8 * UInt64(k))) & 0xff) }
          for k in 0..<8 { a[k] ^= tBytes[k] }
          guard let b = block(Data(a + r[i - 1]), kek, decrypt: true) else { return nil }
          a = Array(b.prefix(8))
          r[i - 1] = Array(b.suffix(8))
        }
      }
    }
    guard a[0..<4] == [0xA6, 0x59, 0x59, 0xA6] else { return nil }
    let length = a[4..<8].reduce(0) { $0 << 8 | Int($1) }
    let plain = r.flatMap { $0 }
    guard length <= plain.count, length > plain.count - 8, plain[length...].allSatisfy({ $0 == 0 }) else {
      return nil
    }
    return Data(plain.prefix(length))
  }
}

/// SHA-224 (FIPS 180-4), which swift-crypto lacks: SHA-256's compression with other initial
/// values, truncated to 28 bytes. Used only by HMAC_224 keys.
enum SHA224 {
  static let k: [UInt32] = [
    0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
    0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
    0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
    0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
    0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
    0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
    0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
    0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
  ]

  static func hash(_ message: Data) -> Data {
    var h: [UInt32] = [
      0xc105_9ed8, 0x367c_d507, 0x3070_dd17, 0xf70e_5939, 0xffc0_0b31, 0x6858_1511, 0x64f9_8fa7, 0xbefa_4fa4,
    ]
    var bytes = [UInt8](message)
    let bitLength = UInt64(bytes.count) * 8
    bytes.append(0x80)
    while bytes.count % 64 != 56 { bytes.append(0) }
    for shift in stride(from: 56, through: 0, by: -8) {
      bytes.append(UInt8((bitLength >> UInt64(shift)) & 0xff))
    }
    func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
    var w = [UInt32](repeating: 0, count: 64)
    for chunk in stride(from: 0, to: bytes.count, by: 64) {
      for i in 0..<16 {
        w[i] =
          UInt32(bytes[chunk + 4 * i]) << 24 | UInt32(bytes[chunk + 4 * i + 1]) << 16
          | UInt32(bytes[chunk + 4 * i + 2]) << 8 | UInt32(bytes[chunk + 4 * i + 3])
      }
      for i in 16..<64 {
        let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
        let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
        w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
      }
      var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
      for i in 0..<64 {
        let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
        let ch = (e & f) ^ (~e & g)
        let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
        let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
        let maj = (a & b) ^ (a & c) ^ (b & c)
        let t2 = s0 &+ maj
        hh = g
        g = f
        f = e
        e = d &+ t1
        d = c
        c = b
        b = a
        a = t1 &+ t2
      }
      h[0] &+= a
      h[1] &+= b
      h[2] &+= c
      h[3] &+= d
      h[4] &+= e
      h[5] &+= f
      h[6] &+= g
      h[7] &+= hh
    }
    var out = Data()
    for word in h.prefix(7) {
      out.append(contentsOf: [
        UInt8(word >> 24), UInt8((word >> 16) & 0xff), UInt8((word >> 8) & 0xff), UInt8(word & 0xff),
      ])
    }
    return out
  }

  /// HMAC-SHA-224 (RFC 2104, block size 64).
  static func hmac(key: Data, message: Data) -> Data {
    var keyBytes = [UInt8](key.count > 64 ? hash(key) : key)
    keyBytes += [UInt8](repeating: 0, count: 64 - keyBytes.count)
    let inner = Data(keyBytes.map { $0 ^ 0x36 }) + message
    return hash(Data(keyBytes.map { $0 ^ 0x5c }) + hash(inner))
  }
}
