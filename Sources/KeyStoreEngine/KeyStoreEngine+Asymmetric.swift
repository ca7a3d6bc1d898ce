import Crypto
import Foundation
import HSMSimulator
import KMSModel

/// Asymmetric (RSA, NIST ECC, Ed25519) and HMAC keys: GetPublicKey, Sign/Verify, RSA
/// Encrypt/Decrypt, GenerateMac/VerifyMac, DeriveSharedSecret, GenerateDataKeyPair (issue 14).
/// All reads: nothing here changes the engine.
extension KeyStoreEngine {
  /// InvalidKeyUsageException unless the key's usage is `usage`.
  func requireUsage(_ key: KeyRecord, _ usage: KeyUsageType, operation: String) throws(KMSError) {
    guard key.usage == usage else {
      throw KMSError(
        .invalidKeyUsageException,
        "\(key.arn) key usage is \(key.usage.rawValue) which is not valid for \(operation).")
    }
  }

  /// The RSA encryption algorithm of a request: required, and one the key supports.
  func asymmetricAlgorithm(_ algorithm: String?, key: KeyRecord) throws(KMSError) -> EncryptionAlgorithmSpec {
    guard let algorithm else {
      throw KMSError(
        .validationException,
        "EncryptionAlgorithm is required for \(key.arn), whose key spec is \(key.spec.rawValue).")
    }
    guard let spec = EncryptionAlgorithmSpec(rawValue: algorithm),
      KeyCrypto.encryptionAlgorithms(key.spec, key.usage)?.contains(spec) == true
    else {
      throw KMSError(
        .invalidKeyUsageException,
        "Algorithm \(algorithm) is incompatible with key spec \(key.spec.rawValue).")
    }
    return spec
  }

  func sealAsymmetric(_ plaintext: Data, key: KeyRecord, algorithm: String?) throws(KMSError)
    -> (Data, EncryptionAlgorithmSpec)
  {
    try requireUsage(key, .encryptDecrypt, operation: "Encrypt")
    let spec = try asymmetricAlgorithm(algorithm, key: key)
    let bytes = try usableBytes(key)
    let maximum = KeyCrypto.rsaMaximumPlaintext(key.spec, spec)
    guard plaintext.count <= maximum else {
      throw KMSError(
        .validationException,
        "Plaintext is too long for \(key.spec.rawValue) with \(spec.rawValue): at most \(maximum) bytes.")
    }
    do {
      return (try KeyCrypto.rsaEncrypt(bytes, plaintext, algorithm: spec), spec)
    } catch {
      throw KMSError(.kmsInternalException, KeyCrypto.describe(error))
    }
  }

  func openAsymmetric(_ blob: Data, key: KeyRecord, algorithm: String?) throws(KMSError) -> (KeyRecord, Data)
  {
    try requireUsage(key, .encryptDecrypt, operation: "Decrypt")
    let spec = try asymmetricAlgorithm(algorithm, key: key)
    let bytes = try usableBytes(key)
    guard let plaintext = KeyCrypto.rsaDecrypt(bytes, blob, algorithm: spec) else {
      throw KMSError(
        .invalidCiphertextException, "The ciphertext is invalid or does not match this key and algorithm.")
    }
    return (key, plaintext)
  }

  public func getPublicKey(_ request: GetPublicKeyRequest) throws(KMSError) -> GetPublicKeyResponse {
    try readOnly { () throws(KMSError) -> GetPublicKeyResponse in
      try request.validate()
      let key = try resolveKey(request.keyIdValue)
      try authorize(key, "GetPublicKey", grantTokens: request.grantTokens)
      guard KeyCrypto.isAsymmetric(key.spec) else {
        throw KMSError(
          .unsupportedOperationException, "\(key.arn) key spec is \(key.spec.rawValue): it has no public key."
        )
      }
      let bytes = try usableBytes(key)
      let publicKey: Data
      do { publicKey = try KeyCrypto.publicKeyDER(key.spec, bytes) } catch {
        throw KMSError(.kmsInternalException, KeyCrypto.describe(error))
      }
      return GetPublicKeyResponse(
        keyId: key.arn, publicKey: publicKey,
        customerMasterKeySpec: CustomerMasterKeySpec(rawValue: key.spec.rawValue),
        keySpec: key.spec, keyUsage: key.usage,
        encryptionAlgorithms: KeyCrypto.encryptionAlgorithms(key.spec, key.usage),
        signingAlgorithms: KeyCrypto.signingAlgorithms(key.spec, key.usage),
        keyAgreementAlgorithms: KeyCrypto.keyAgreementAlgorithms(key.spec, key.usage))
    }
  }

  /// The signing algorithm of a request, supported by the key, and the digest to sign.
  private func signingInput(
    key: KeyRecord, algorithm raw: String, messageType: String?, message: Data, operation: String
  ) throws(KMSError) -> (SigningAlgorithmSpec, digest: Data, raw: Data?) {
    try requireUsage(key, .signVerify, operation: operation)
    guard let algorithm = SigningAlgorithmSpec(rawValue: raw),
      KeyCrypto.signingAlgorithms(key.spec, key.usage)?.contains(algorithm) == true
    else {
      throw KMSError(
        .invalidKeyUsageException, "Algorithm \(raw) is incompatible with key spec \(key.spec.rawValue).")
    }
    let type = messageType.flatMap(MessageType.init(rawValue:)) ?? .raw
    if algorithm == .ed25519Sha512 {
      guard type == .raw else {
        throw KMSError(.validationException, "ED25519_SHA_512 requires MessageType RAW.")
      }
      return (algorithm, Data(), message)
    }
    guard let length = KeyCrypto.digestLength(algorithm) else {
      throw KMSError(
        .unsupportedOperationException,
        "Signing algorithm \(algorithm.rawValue) is not supported by this emulator.")
    }
    switch type {
    case .raw:
      return (algorithm, KeyCrypto.hash(message, length: length), message)
    case .digest:
      guard message.count == length else {
        throw KMSError(.validationException, "Digest is invalid length for algorithm \(algorithm.rawValue).")
      }
      return (algorithm, message, nil)
    case .externalMu:
      throw KMSError(.validationException, "MessageType EXTERNAL_MU is valid only with ML_DSA keys.")
    }
  }

  public func sign(_ request: SignRequest) throws(KMSError) -> SignResponse {
    try readOnly { () throws(KMSError) -> SignResponse in
      try request.validate()
      let key = try resolveKey(request.keyIdValue)
      try authorize(key, "Sign", grantTokens: request.grantTokens)
      let (algorithm, digest, raw) = try signingInput(
        key: key, algorithm: request.signingAlgorithm, messageType: request.messageType,
        message: request.message,
        operation: "Sign")
      let bytes = try usableBytes(key)
      let signature: Data
      do {
        signature = try KeyCrypto.sign(key.spec, bytes, algorithm: algorithm, digest: digest, message: raw)
      } catch {
        throw KMSError(.kmsInternalException, KeyCrypto.describe(error))
      }
      try dryRun(request.dryRun)
      used(key, .sign)
      return SignResponse(keyId: key.arn, signature: signature, signingAlgorithm: algorithm)
    }
  }

  public func verify(_ request: VerifyRequest) throws(KMSError) -> VerifyResponse {
    try readOnly { () throws(KMSError) -> VerifyResponse in
      try request.validate()
      let key = try resolveKey(request.keyIdValue)
      try authorize(key, "Verify", grantTokens: request.grantTokens)
      let (algorithm, digest, raw) = try signingInput(
        key: key, algorithm: request.signingAlgorithm, messageType: request.messageType,
        message: request.message,
        operation: "Verify")
      let bytes = try usableBytes(key)
      let valid: Bool
      do {
        valid = try KeyCrypto.verify(
          key.spec, bytes, algorithm: algorithm, digest: digest, message: raw, signature: request.signature)
      } catch {
        throw KMSError(.kmsInternalException, KeyCrypto.describe(error))
      }
      guard valid else { throw KMSError(.kmsInvalidSignatureException, "") }
      try dryRun(request.dryRun)
      used(key, .verify)
      return VerifyResponse(keyId: key.arn, signatureValid: true, signingAlgorithm: algorithm)
    }
  }

  private func macInput(key: KeyRecord, algorithm raw: String, operation: String) throws(KMSError)
    -> MacAlgorithmSpec
  {
    try requireUsage(key, .generateVerifyMac, operation: operation)
    guard let algorithm = MacAlgorithmSpec(rawValue: raw),
      KeyCrypto.macAlgorithms(key.spec)?.contains(algorithm) == true
    else {
      throw KMSError(
        .invalidKeyUsageException, "Algorithm \(raw) is incompatible with key spec \(key.spec.rawValue).")
    }
    return algorithm
  }

  public func generateMac(_ request: GenerateMacRequest) throws(KMSError) -> GenerateMacResponse {
    try readOnly { () throws(KMSError) -> GenerateMacResponse in
      try request.validate()
      let key = try resolveKey(request.keyIdValue)
      try authorize(key, "GenerateMac", grantTokens: request.grantTokens)
      let algorithm = try macInput(key: key, algorithm: request.macAlgorithm, operation: "GenerateMac")
      let mac = KeyCrypto.mac(algorithm, key: try usableBytes(key), message: request.message)
      try dryRun(request.dryRun)
      used(key, .generateMac)
      return GenerateMacResponse(mac: mac, macAlgorithm: algorithm, keyId: key.arn)
    }
  }

  public func verifyMac(_ request: VerifyMacRequest) throws(KMSError) -> VerifyMacResponse {
    try readOnly { () throws(KMSError) -> VerifyMacResponse in
      try request.validate()
      let key = try resolveKey(request.keyIdValue)
      try authorize(key, "VerifyMac", grantTokens: request.grantTokens)
      let algorithm = try macInput(key: key, algorithm: request.macAlgorithm, operation: "VerifyMac")
      let expected = KeyCrypto.mac(algorithm, key: try usableBytes(key), message: request.message)
      guard expected.count == request.mac.count,
        zip(expected, request.mac).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
      else { throw KMSError(.kmsInvalidMacException, "") }
      try dryRun(request.dryRun)
      used(key, .verifyMac)
      return VerifyMacResponse(keyId: key.arn, macValid: true, macAlgorithm: algorithm)
    }
  }

  public func deriveSharedSecret(_ request: DeriveSharedSecretRequest) throws(KMSError)
    -> DeriveSharedSecretResponse
  {
    try readOnly { () throws(KMSError) -> DeriveSharedSecretResponse in
      try request.validate()
      if request.recipient != nil {
        throw KMSError(
          .unsupportedOperationException, "Recipient (Nitro Enclaves attestation) is not supported.")
      }
      let key = try resolveKey(request.keyIdValue)
      try authorize(key, "DeriveSharedSecret", grantTokens: request.grantTokens)
      try requireUsage(key, .keyAgreement, operation: "DeriveSharedSecret")
      guard request.keyAgreementAlgorithm == KeyAgreementAlgorithmSpec.ecdh.rawValue else {
        throw KMSError(
          .invalidKeyUsageException,
          "Algorithm \(request.keyAgreementAlgorithm) is incompatible with key spec \(key.spec.rawValue).")
      }
      let bytes = try usableBytes(key)
      let secret: Data?
      do { secret = try KeyCrypto.sharedSecret(key.spec, bytes, peerPublicKey: request.publicKey) } catch {
        throw KMSError(.kmsInternalException, KeyCrypto.describe(error))
      }
      guard let secret else {
        throw KMSError(
          .validationException,
          "PublicKey is not a DER-encoded X.509 public key on the curve of \(key.spec.rawValue).")
      }
      try dryRun(request.dryRun)
      used(key, .deriveSharedSecret)
      return DeriveSharedSecretResponse(
        keyId: key.arn, sharedSecret: secret, keyAgreementAlgorithm: .ecdh, keyOrigin: key.origin)
    }
  }

  /// A fresh key pair, its private key sealed under a symmetric encryption key.
  private func dataKeyPair(
    keyId: KeyReference, pairSpec raw: String, context: [String: String]?, grantTokens: [String]?,
    operation: String
  ) throws(KMSError) -> (
    key: KeyRecord, spec: DataKeyPairSpec, privateKey: Data, publicKey: Data, sealed: Data
  ) {
    let key = try resolveKey(keyId)
    try authorize(key, operation, grantTokens: grantTokens, context: context)
    if key.customKeyStoreId != nil {
      throw KMSError(
        .unsupportedOperationException, "\(operation) is not supported for KMS keys in custom key stores.")
    }
    guard let pairSpec = DataKeyPairSpec(rawValue: raw), let spec = KeySpec(rawValue: raw),
      KeyCrypto.isImplemented(spec)
    else {
      throw KMSError(.unsupportedOperationException, "KeyPairSpec \(raw) is not supported in this Region.")
    }
    try requireUsage(key, .encryptDecrypt, operation: operation)
    guard key.isSymmetricEncryption else {
      throw KMSError(
        .invalidKeyUsageException,
        "\(key.arn) key spec is \(key.spec.rawValue), which is not valid for \(operation).")
    }
    _ = try checkUsable(key)
    do {
      let bytes = try KeyCrypto.generate(spec)
      let privateKey = try KeyCrypto.privateKeyPKCS8(spec, bytes)
      let publicKey = try KeyCrypto.publicKeyDER(spec, bytes)
      let sealed = try seal(privateKey, key: key, context: context)
      return (key, pairSpec, privateKey, publicKey, sealed)
    } catch let error as KMSError {
      throw error
    } catch {
      throw KMSError(.kmsInternalException, KeyCrypto.describe(error))
    }
  }

  public func generateDataKeyPair(_ request: GenerateDataKeyPairRequest) throws(KMSError)
    -> GenerateDataKeyPairResponse
  {
    try readOnly { () throws(KMSError) -> GenerateDataKeyPairResponse in
      try request.validate()
      if request.recipient != nil {
        throw KMSError(
          .unsupportedOperationException, "Recipient (Nitro Enclaves attestation) is not supported.")
      }
      let pair = try dataKeyPair(
        keyId: request.keyIdValue, pairSpec: request.keyPairSpec, context: request.encryptionContext,
        grantTokens: request.grantTokens, operation: "GenerateDataKeyPair")
      try dryRun(request.dryRun)
      used(pair.key, .generateDataKeyPair)
      return GenerateDataKeyPairResponse(
        privateKeyCiphertextBlob: pair.sealed, privateKeyPlaintext: pair.privateKey,
        publicKey: pair.publicKey,
        keyId: pair.key.arn, keyPairSpec: pair.spec, keyMaterialId: currentVersion(pair.key)?.materialId)
    }
  }

  public func generateDataKeyPairWithoutPlaintext(_ request: GenerateDataKeyPairWithoutPlaintextRequest)
    throws(KMSError) -> GenerateDataKeyPairWithoutPlaintextResponse
  {
    try readOnly { () throws(KMSError) -> GenerateDataKeyPairWithoutPlaintextResponse in
      try request.validate()
      let pair = try dataKeyPair(
        keyId: request.keyIdValue, pairSpec: request.keyPairSpec, context: request.encryptionContext,
        grantTokens: request.grantTokens, operation: "GenerateDataKeyPairWithoutPlaintext")
      try dryRun(request.dryRun)
      used(pair.key, .generateDataKeyPairWithoutPlaintext)
      return GenerateDataKeyPairWithoutPlaintextResponse(
        privateKeyCiphertextBlob: pair.sealed, publicKey: pair.publicKey, keyId: pair.key.arn,
        keyPairSpec: pair.spec, keyMaterialId: currentVersion(pair.key)?.materialId)
    }
  }
}
