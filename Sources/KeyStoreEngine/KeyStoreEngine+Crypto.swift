import Crypto
import Foundation
import HSMSimulator
import KMSModel

extension KeyStoreEngine {
  /// The checks every cryptographic operation makes, in the order of kms-spec §5.4/§5.5, and the
  /// key material to use.
  func usableMaterial(_ key: KeyRecord) throws(KMSError) -> SymmetricKey {
    switch effectiveState(key) {
    case .pendingDeletion: throw KMSError.keyPendingDeletion(key.arn)
    case .unavailable: throw KMSError.keyUnavailable(key.arn)
    case .disabled: throw KMSError.keyDisabled(key.arn)
    default: break
    }
    let store = key.customKeyStoreId.flatMap { stores[$0] }
    if let clusterId = store?.clusterId {
      guard let cluster = fleet.cluster(clusterId), cluster.isReachable,
        let material = fleet.keyMaterial(keyId: key.keyId, clusterId: clusterId)
      else { throw KMSError.clusterUnreachable() }
      return material
    }
    guard let material = fleet.keyMaterial(keyId: key.keyId, clusterId: nil) else {
      throw KMSError(.kmsInternalException, "The key material of \(key.arn) is missing.")
    }
    return material
  }

  func checkAlgorithm(_ algorithm: String?, key: KeyRecord) throws(KMSError) {
    if let algorithm, algorithm != EncryptionAlgorithmSpec.symmetricDefault.rawValue {
      throw KMSError(
        .invalidKeyUsageException, "\(key.arn) does not support the encryption algorithm \(algorithm).")
    }
  }

  func dryRun(_ flag: Bool?) throws(KMSError) {
    if flag == true {
      throw KMSError(
        .dryRunOperationException, "The request would have succeeded, but the DryRun option is set.")
    }
  }

  func seal(_ plaintext: Data, key: KeyRecord, context: [String: String]?) throws(KMSError) -> Data {
    let material = try usableMaterial(key)
    do {
      return try CiphertextBlob.seal(
        plaintext, keyId: key.keyId, material: material, encryptionContext: context)
    } catch {
      throw KMSError(.kmsInternalException, "Encryption failed.")
    }
  }

  /// Decrypts one of our blobs: the key comes from the blob; `keyId`, when given, must agree.
  func open(_ blob: Data, keyId: String?, context: [String: String]?) throws(KMSError) -> (KeyRecord, Data) {
    guard let parsed = CiphertextBlob.parse(blob), let key = keys[parsed.keyId] else {
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
    let material = try usableMaterial(key)
    guard let plaintext = CiphertextBlob.open(parsed, material: material, encryptionContext: context) else {
      throw KMSError(
        .invalidCiphertextException,
        "The ciphertext is invalid, was altered, or the encryption context does not match.")
    }
    return (key, plaintext)
  }

  // MARK: Operations

  public func encrypt(_ request: EncryptRequest) async throws(KMSError) -> EncryptResponse {
    if let key = xksKey(request.keyId) { return try await xksEncrypt(request, key: key) }
    return try readOnly { () throws(KMSError) -> EncryptResponse in
      try request.validate()
      let key = try resolveKey(request.keyId)
      try checkAlgorithm(request.encryptionAlgorithm, key: key)
      let blob = try seal(request.plaintext, key: key, context: request.encryptionContext)
      try dryRun(request.dryRun)
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
      let (key, plaintext) = try open(blob, keyId: request.keyId, context: request.encryptionContext)
      try checkAlgorithm(request.encryptionAlgorithm, key: key)
      try dryRun(request.dryRun)
      return DecryptResponse(keyId: key.arn, plaintext: plaintext, encryptionAlgorithm: .symmetricDefault)
    }
  }

  public func reEncrypt(_ request: ReEncryptRequest) async throws(KMSError) -> ReEncryptResponse {
    if let answer = try await xksReEncrypt(request) { return answer }
    return try readOnly { () throws(KMSError) -> ReEncryptResponse in
      try request.validate()
      guard let blob = request.ciphertextBlob else { throw KMSError.validation([.missing("ciphertextBlob")]) }
      let (source, plaintext) = try open(
        blob, keyId: request.sourceKeyId, context: request.sourceEncryptionContext)
      try checkAlgorithm(request.sourceEncryptionAlgorithm, key: source)
      let destination = try resolveKey(request.destinationKeyId)
      try checkAlgorithm(request.destinationEncryptionAlgorithm, key: destination)
      let sealed = try seal(plaintext, key: destination, context: request.destinationEncryptionContext)
      try dryRun(request.dryRun)
      return ReEncryptResponse(
        ciphertextBlob: sealed, sourceKeyId: source.arn, keyId: destination.arn,
        sourceEncryptionAlgorithm: .symmetricDefault, destinationEncryptionAlgorithm: .symmetricDefault)
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
    if let key = xksKey(request.keyId) { return try await xksGenerateDataKey(request, key: key) }
    return try readOnly { () throws(KMSError) -> GenerateDataKeyResponse in
      try request.validate()
      if request.recipient != nil {
        throw KMSError(
          .unsupportedOperationException, "Recipient (Nitro Enclaves attestation) is not supported.")
      }
      let length = try dataKeyLength(
        keySpec: request.keySpecValue, numberOfBytes: request.numberOfBytes, specGiven: request.keySpec != nil
      )
      let key = try resolveKey(request.keyId)
      let plaintext = randomBytes(length)
      let blob = try seal(plaintext, key: key, context: request.encryptionContext)
      try dryRun(request.dryRun)
      return GenerateDataKeyResponse(ciphertextBlob: blob, plaintext: plaintext, keyId: key.arn)
    }
  }

  public func generateDataKeyWithoutPlaintext(_ request: GenerateDataKeyWithoutPlaintextRequest)
    async throws(KMSError)
    -> GenerateDataKeyWithoutPlaintextResponse
  {
    if let key = xksKey(request.keyId) {
      return try await xksGenerateDataKeyWithoutPlaintext(request, key: key)
    }
    return try readOnly { () throws(KMSError) -> GenerateDataKeyWithoutPlaintextResponse in
      try request.validate()
      let length = try dataKeyLength(
        keySpec: request.keySpecValue, numberOfBytes: request.numberOfBytes, specGiven: request.keySpec != nil
      )
      let key = try resolveKey(request.keyId)
      let blob = try seal(randomBytes(length), key: key, context: request.encryptionContext)
      try dryRun(request.dryRun)
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
      if let storeId = request.customKeyStoreId {
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
        guard let cluster = store.clusterId.flatMap({ fleet.cluster($0) }), cluster.isReachable else {
          throw KMSError(
            .customKeyStoreInvalidStateException,
            "KMS cannot communicate with the CloudHSM cluster of \(storeId).")
        }
      }
      return GenerateRandomResponse(plaintext: randomBytes(count))
    }
  }

  func randomBytes(_ count: Int) -> Data {
    SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Data($0) }
  }
}
