import Crypto
import Foundation
import HSMSimulator
import KMSModel

extension KeyStoreEngine {
  /// The checks every cryptographic operation makes, in the order of kms-spec §5.4/§5.5, and the
  /// key material to use.
  func usableMaterial(_ key: KeyRecord, version: MaterialVersion? = nil) throws(KMSError) -> SymmetricKey {
    try checkUsable(key)
    let store = key.customKeyStoreId.flatMap { stores[$0] }
    if let clusterId = store?.clusterIdentifier {
      guard let cluster = fleet.cluster(clusterId), cluster.isReachable,
        let material = fleet.keyMaterial(keyId: key.keyId, clusterId: clusterId)
      else { throw KMSError.clusterUnreachable() }
      return material
    }
    let storageId = version?.storageId ?? currentVersion(key)?.storageId ?? key.keyId
    guard let material = fleet.keyMaterial(keyId: storageId, clusterId: nil) else {
      throw KMSError(.kmsInternalException, "The key material of \(key.arn) is missing.")
    }
    return material
  }

  func checkAlgorithm(_ algorithm: String?, key: KeyRecord, operation: String = "Encrypt") throws(KMSError) {
    try requireUsage(key, .encryptDecrypt, operation: operation)
    if !key.isSymmetricEncryption {
      _ = try asymmetricAlgorithm(algorithm, key: key)
      return
    }
    try Self.requireSymmetricDefault(algorithm, arn: key.arn)
  }

  /// A symmetric key encrypts only with SYMMETRIC_DEFAULT.
  static func requireSymmetricDefault(_ algorithm: String?, arn: String) throws(KMSError) {
    if let algorithm, algorithm != EncryptionAlgorithmSpec.symmetricDefault.rawValue {
      throw KMSError(
        .invalidKeyUsageException, "\(arn) does not support the encryption algorithm \(algorithm).")
    }
  }

  /// AES-256-GCM under `material`, with the key (or key version) reference in the header.
  static func sealSymmetric(
    _ plaintext: Data, reference: String, material: SymmetricKey, context: [String: String]?
  ) throws(KMSError) -> Data {
    do {
      return try CiphertextBlob.seal(
        plaintext, keyId: reference, material: material, encryptionContext: context)
    } catch {
      throw KMSError(.kmsInternalException, "Encryption failed.")
    }
  }

  func seal(_ plaintext: Data, key: KeyRecord, context: [String: String]?) throws(KMSError) -> Data {
    try requireUsage(key, .encryptDecrypt, operation: "Encrypt")
    guard key.isSymmetricEncryption else {
      throw KMSError(
        .invalidKeyUsageException,
        "\(key.arn) key spec is \(key.spec.rawValue), which is not valid for this operation.")
    }
    let material = try usableMaterial(key)
    return try Self.sealSymmetric(
      plaintext, reference: currentVersion(key)?.storageId ?? key.keyId, material: material, context: context)
  }

  /// Decrypts one of our blobs: the key comes from the blob; `keyId`, when given, must agree.
  func open(_ blob: Data, keyId: KeyReference?, context: [String: String]?, algorithm: String? = nil)
    throws(KMSError)
    -> (KeyRecord, Data)
  {
    guard let parsed = CiphertextBlob.parse(blob),
      let (key, version) = keyAndVersion(fromHeader: parsed.keyId)
    else {
      if let keyId, let key = try? resolveKey(keyId), !key.isSymmetricEncryption {
        return try openAsymmetric(blob, key: key, algorithm: algorithm)
      }
      if let keyId { _ = try resolveKey(keyId) }  // an unknown KeyId is reported as such
      throw KMSError(
        .invalidCiphertextException, "The ciphertext is invalid or was not produced by this service.")
    }
    if let keyId {
      let requested = try resolveKey(keyId)
      guard requested.keyId == key.keyId else {
        throw KMSError(
          .incorrectKeyException,
          "The key ID in the request does not identify the KMS key that encrypted the ciphertext.")
      }
    }
    let material = try usableMaterial(key, version: version)
    guard let plaintext = CiphertextBlob.open(parsed, material: material, encryptionContext: context) else {
      throw KMSError(
        .invalidCiphertextException,
        "The ciphertext is invalid, was altered, or the encryption context does not match.")
    }
    return (key, plaintext)
  }

  // MARK: Operations

  public func encrypt(_ request: EncryptRequest) async throws(KMSError) -> EncryptResponse {
    if let key = xksKey(try? request.keyIdValue) { return try await xksEncrypt(request, key: key) }
    return try readOnly { () throws(KMSError) -> EncryptResponse in
      try request.validate()
      let key = try resolveKey(request.keyIdValue)
      try authorize(key, "Encrypt", grantTokens: request.grantTokens, context: request.encryptionContext)
      try checkAlgorithm(request.encryptionAlgorithm, key: key)
      if !key.isSymmetricEncryption {
        let (blob, algorithm) = try sealAsymmetric(
          request.plaintext, key: key, algorithm: request.encryptionAlgorithm)
        try dryRun(request.dryRun)
        used(key, .encrypt)
        return EncryptResponse(ciphertextBlob: blob, keyId: key.arn, encryptionAlgorithm: algorithm)
      }
      let blob = try seal(request.plaintext, key: key, context: request.encryptionContext)
      try dryRun(request.dryRun)
      used(key, .encrypt)
      return EncryptResponse(ciphertextBlob: blob, keyId: key.arn, encryptionAlgorithm: .symmetricDefault)
    }
  }

  public func decrypt(_ request: DecryptRequest) async throws(KMSError) -> DecryptResponse {
    if let answer = try await xksDecrypt(request) { return answer }
    return try readOnly { () throws(KMSError) -> DecryptResponse in
      try request.validate()
      guard let blob = request.ciphertextBlob else { throw KMSError.validation([.missing("ciphertextBlob")]) }
      if request.recipient != nil {
        throw KMSError(
          .unsupportedOperationException, "Recipient (Nitro Enclaves attestation) is not supported.")
      }
      let (key, plaintext) = try open(
        blob, keyId: request.keyIdValue, context: request.encryptionContext,
        algorithm: request.encryptionAlgorithm
      )
      try authorize(key, "Decrypt", grantTokens: request.grantTokens, context: request.encryptionContext)
      try checkAlgorithm(request.encryptionAlgorithm, key: key, operation: "Decrypt")
      try dryRun(request.dryRun)
      used(key, .decrypt)
      return DecryptResponse(
        keyId: key.arn, plaintext: plaintext,
        encryptionAlgorithm: key.isSymmetricEncryption
          ? .symmetricDefault : try asymmetricAlgorithm(request.encryptionAlgorithm, key: key))
    }
  }

  public func reEncrypt(_ request: ReEncryptRequest) async throws(KMSError) -> ReEncryptResponse {
    if let answer = try await xksReEncrypt(request) { return answer }
    return try readOnly { () throws(KMSError) -> ReEncryptResponse in
      try request.validate()
      guard let blob = request.ciphertextBlob else { throw KMSError.validation([.missing("ciphertextBlob")]) }
      let (source, plaintext) = try open(
        blob, keyId: request.sourceKeyIdValue, context: request.sourceEncryptionContext,
        algorithm: request.sourceEncryptionAlgorithm)
      try authorize(
        source, "ReEncryptFrom", grantTokens: request.grantTokens, context: request.sourceEncryptionContext)
      try checkAlgorithm(request.sourceEncryptionAlgorithm, key: source, operation: "ReEncrypt")
      let destination = try resolveKey(request.destinationKeyIdValue)
      try authorize(
        destination, "ReEncryptTo", grantTokens: request.grantTokens,
        context: request.destinationEncryptionContext)
      try checkAlgorithm(request.destinationEncryptionAlgorithm, key: destination, operation: "ReEncrypt")
      let sealed: Data
      let destinationAlgorithm: EncryptionAlgorithmSpec
      if destination.isSymmetricEncryption {
        sealed = try seal(plaintext, key: destination, context: request.destinationEncryptionContext)
        destinationAlgorithm = .symmetricDefault
      } else {
        (sealed, destinationAlgorithm) = try sealAsymmetric(
          plaintext, key: destination, algorithm: request.destinationEncryptionAlgorithm)
      }
      try dryRun(request.dryRun)
      used(source, .reEncrypt)
      used(destination, .reEncrypt)
      return ReEncryptResponse(
        ciphertextBlob: sealed, sourceKeyId: source.arn, keyId: destination.arn,
        sourceEncryptionAlgorithm: source.isSymmetricEncryption
          ? .symmetricDefault : try asymmetricAlgorithm(request.sourceEncryptionAlgorithm, key: source),
        destinationEncryptionAlgorithm: destinationAlgorithm)
    }
  }

  func dataKeyLength(keySpec: DataKeySpec?, numberOfBytes: Int?, specGiven: Bool) throws(KMSError) -> Int {
    switch (specGiven, numberOfBytes) {
    case (true, nil): return keySpec == .aes128 ? 16 : 32
    case (false, let bytes?): return bytes
    default:
      throw KMSError(.validationException, "Please specify either number of bytes or key spec.")
    }
  }

  public func generateDataKey(_ request: GenerateDataKeyRequest) async throws(KMSError)
    -> GenerateDataKeyResponse
  {
    if let key = xksKey(try? request.keyIdValue) { return try await xksGenerateDataKey(request, key: key) }
    return try readOnly { () throws(KMSError) -> GenerateDataKeyResponse in
      try request.validate()
      if request.recipient != nil {
        throw KMSError(
          .unsupportedOperationException, "Recipient (Nitro Enclaves attestation) is not supported.")
      }
      let length = try dataKeyLength(
        keySpec: request.keySpecValue, numberOfBytes: request.numberOfBytes, specGiven: request.keySpec != nil
      )
      let key = try resolveKey(request.keyIdValue)
      try authorize(
        key, "GenerateDataKey", grantTokens: request.grantTokens, context: request.encryptionContext)
      let plaintext = KeyCrypto.randomBytes(length)
      let blob = try seal(plaintext, key: key, context: request.encryptionContext)
      try dryRun(request.dryRun)
      used(key, .generateDataKey)
      return GenerateDataKeyResponse(ciphertextBlob: blob, plaintext: plaintext, keyId: key.arn)
    }
  }

  public func generateDataKeyWithoutPlaintext(_ request: GenerateDataKeyWithoutPlaintextRequest)
    async throws(KMSError)
    -> GenerateDataKeyWithoutPlaintextResponse
  {
    if let key = xksKey(try? request.keyIdValue) {
      return try await xksGenerateDataKeyWithoutPlaintext(request, key: key)
    }
    return try readOnly { () throws(KMSError) -> GenerateDataKeyWithoutPlaintextResponse in
      try request.validate()
      let length = try dataKeyLength(
        keySpec: request.keySpecValue, numberOfBytes: request.numberOfBytes, specGiven: request.keySpec != nil
      )
      let key = try resolveKey(request.keyIdValue)
      try authorize(
        key, "GenerateDataKeyWithoutPlaintext", grantTokens: request.grantTokens,
        context: request.encryptionContext)
      let blob = try seal(KeyCrypto.randomBytes(length), key: key, context: request.encryptionContext)
      try dryRun(request.dryRun)
      used(key, .generateDataKeyWithoutPlaintext)
      return GenerateDataKeyWithoutPlaintextResponse(ciphertextBlob: blob, keyId: key.arn)
    }
  }

  public func generateRandom(_ request: GenerateRandomRequest) throws(KMSError) -> GenerateRandomResponse {
    try readOnly { () throws(KMSError) -> GenerateRandomResponse in
      try request.validate()
      if request.recipient != nil {
        throw KMSError(
          .unsupportedOperationException, "Recipient (Nitro Enclaves attestation) is not supported.")
      }
      guard let count = request.numberOfBytes else { throw KMSError.validation([.missing("numberOfBytes")]) }
      if let storeId = try request.customKeyStoreIdValue {
        let store = try store(storeId)
        guard store.type == .awsCloudhsm else {
          throw KMSError(
            .unsupportedOperationException,
            "GenerateRandom is not supported for external key store \(storeId)."
          )
        }
        guard store.machine.connectionState == .connected else {
          throw KMSError(
            .customKeyStoreInvalidStateException,
            "Custom key store \(storeId) is \(store.machine.connectionState.rawValue). It must be CONNECTED.")
        }
        // Open point 10.10: a connected store whose cluster cannot be reached is reported the same way.
        guard let cluster = store.clusterIdentifier.flatMap({ fleet.cluster($0) }), cluster.isReachable else {
          throw KMSError(
            .customKeyStoreInvalidStateException,
            "KMS cannot communicate with the CloudHSM cluster of \(storeId).")
        }
      }
      return GenerateRandomResponse(plaintext: KeyCrypto.randomBytes(count))
    }
  }

}

/// DryRun: the checks passed, but nothing is done (the engine and its read view answer alike).
func dryRun(_ flag: Bool?) throws(KMSError) {
  if flag == true {
    throw KMSError(
      .dryRunOperationException, "The request would have succeeded, but the DryRun option is set.")
  }
}
