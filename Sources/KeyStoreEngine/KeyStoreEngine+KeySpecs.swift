import Crypto
import Foundation
import HSMSimulator
import KMSModel

extension KeyFields {
  var spec: KeySpec { keySpec ?? .symmetricDefault }
  var usage: KeyUsageType { keyUsage ?? .encryptDecrypt }
  var isSymmetricEncryption: Bool { spec == .symmetricDefault }
}

extension KeyStoreEngine {
  // MARK: Key material versions

  /// The ID AWS shows for a key's first material version (64 hex digits, stable per key).
  static func originalMaterialId(_ keyId: String) -> String {
    Hex.lowercase(SHA256.hash(data: Data("kmsdash-material:\(keyId)".utf8)))
  }

  /// Every material version of a key, oldest first.
  static func materialVersions(_ key: KeyRecord) -> [MaterialVersion] {
    key.materials ?? [
      MaterialVersion(materialId: originalMaterialId(key.keyId), storageId: key.keyId, rotationDate: nil)
    ]
  }

  func materialVersions(_ key: KeyRecord) -> [MaterialVersion] { Self.materialVersions(key) }

  /// The version new encryptions use; nil when an imported key has no material.
  static func currentVersion(_ key: KeyRecord) -> MaterialVersion? {
    guard let last = materialVersions(key).last, last.deleted != true else { return nil }
    return last
  }

  func currentVersion(_ key: KeyRecord) -> MaterialVersion? { Self.currentVersion(key) }

  /// True for an EXTERNAL key whose material was never imported, or was deleted or expired.
  static func isPendingImport(_ key: KeyRecord) -> Bool {
    key.origin == .external && currentVersion(key) == nil
  }

  func isPendingImport(_ key: KeyRecord) -> Bool { Self.isPendingImport(key) }

  /// The state checks of every cryptographic operation, then the raw bytes of the current
  /// version of an AWS_KMS or EXTERNAL key (asymmetric, HMAC).
  func usableBytes(_ key: KeyRecord) throws(KMSError) -> Data {
    _ = try checkUsable(key)
    guard let version = currentVersion(key), let bytes = fleet.localMaterial(id: version.storageId) else {
      throw KMSError(.kmsInternalException, "The key material of \(key.arn) is missing.")
    }
    return bytes
  }

  /// Throws the error the key's state calls for when it cannot be used for cryptography.
  @discardableResult
  func checkUsable(_ key: KeyRecord) throws(KMSError) -> KeyState {
    try Self.requireUsable(effectiveState(key), arn: key.arn)
  }

  /// Refuses a cryptographic operation in a state that does not allow it (shared with the read view).
  @discardableResult
  static func requireUsable(_ state: KeyState, arn: String) throws(KMSError) -> KeyState {
    switch state {
    case .pendingDeletion: throw KMSError.keyPendingDeletion(arn)
    case .unavailable: throw KMSError.keyUnavailable(arn)
    case .disabled: throw KMSError.keyDisabled(arn)
    case .pendingImport: throw KMSError(.kmsInvalidStateException, "\(arn) is pending import.")
    case .pendingReplicaDeletion:
      throw KMSError(.kmsInvalidStateException, "\(arn) is pending replica deletion.")
    default: return state
    }
  }

  /// Splits a ciphertext header's key reference ("keyId" or "keyId/version") into the key and
  /// the storage ID of the material version.
  func keyAndVersion(fromHeader reference: String) -> (KeyRecord, MaterialVersion)? {
    let keyId = reference.split(separator: "/", maxSplits: 1).first.map(String.init) ?? reference
    guard let key = keys[keyId] else { return nil }
    guard let version = materialVersions(key).first(where: { $0.storageId == reference }) else { return nil }
    return (key, version)
  }

  // MARK: CreateKey outside custom key stores

  static func usageMismatch(_ usage: KeyUsageType, _ spec: KeySpec) -> KMSError {
    KMSError(
      .validationException, "KeyUsage \(usage.rawValue) is not compatible with KeySpec \(spec.rawValue)")
  }

  /// CreateKey with Origin AWS_KMS or EXTERNAL: every key spec, multi-Region keys, tags, policy.
  func createKeyInKMS(_ request: CreateKeyRequest, origin: OriginType, spec requested: KeySpec?)
    throws(KMSError)
    -> CreateKeyResponse
  {
    let spec = requested ?? .symmetricDefault
    let usage = request.keyUsageValue ?? .encryptDecrypt
    guard KeyCrypto.usages(for: spec).contains(usage) else { throw Self.usageMismatch(usage, spec) }
    guard KeyCrypto.isImplemented(spec) else {
      throw KMSError(
        .unsupportedOperationException,
        "KeySpec \(spec.rawValue) is not supported in this Region.")
    }
    if request.xksKeyId != nil {
      throw KMSError(.unsupportedOperationException, "XksKeyId is valid only with Origin EXTERNAL_KEY_STORE.")
    }
    if origin == .external, KeyCrypto.isAsymmetric(spec), spec == .eccNistEdwards25519 {
      throw KMSError(
        .unsupportedOperationException, "You cannot import key material for KeySpec \(spec.rawValue).")
    }
    let policy = try checkNewPolicy(request.policy, bypass: request.bypassPolicyLockoutSafetyCheck ?? false)
    let tags = try checkedTags(adding: request.tags ?? [], to: [])
    var keyId: String? = nil
    if request.multiRegion == true {
      var candidate = "mrk-" + random.hex(32)
      while keys[candidate] != nil { candidate = "mrk-" + random.hex(32) }
      keyId = candidate
    }
    var key = insertKey(
      origin: origin, storeId: nil, xksKeyId: nil, description: request.description, keyId: keyId)
    key.keySpec = spec == .symmetricDefault ? nil : spec
    key.keyUsage = usage == .encryptDecrypt ? nil : usage
    key.policy = policy
    key.tags = tags.isEmpty ? nil : tags
    if request.multiRegion == true {
      key.multiRegion = MultiRegionRecord(primaryRegion: configuration.region, replicaRegions: [])
    }
    if origin == .external {
      key.materials = []
      key.imported = ImportRecord()
    } else if spec == .symmetricDefault {
      fleet.createLocalKeyMaterial(keyId: key.keyId)
    } else {
      do {
        fleet.setLocalMaterial(id: key.keyId, bytes: try KeyCrypto.generate(spec))
      } catch {
        throw KMSError(.kmsInternalException, KeyCrypto.describe(error))
      }
    }
    keys[key.keyId] = key
    return CreateKeyResponse(keyMetadata: metadata(key))
  }

  // MARK: Metadata of every kind of key

  func multiRegionConfiguration(_ key: KeyRecord) -> MultiRegionConfiguration? {
    Self.multiRegionConfiguration(key, accountId: configuration.accountId, region: configuration.region)
  }

  static func multiRegionConfiguration(_ key: KeyRecord, accountId: String, region: String)
    -> MultiRegionConfiguration?
  {
    guard let record = key.multiRegion else { return nil }
    func arn(_ region: String) -> String {
      "arn:aws:kms:\(region):\(accountId):key/\(key.keyId)"
    }
    return MultiRegionConfiguration(
      multiRegionKeyType: record.primaryRegion == region ? .primary : .replica,
      primaryKey: MultiRegionKey(arn: arn(record.primaryRegion), region: record.primaryRegion),
      replicaKeys: record.replicaRegions.map { MultiRegionKey(arn: arn($0), region: $0) })
  }

  /// The parts of `KeyMetadata` that depend on the key's spec and origin (issue 14). Keys in
  /// custom key stores keep exactly the metadata they had.
  static func specMetadata(
    _ key: KeyRecord, into metadata: inout KeyMetadata, accountId: String, region: String
  ) {
    guard key.customKeyStoreId == nil else { return }
    let spec = key.spec
    let usage = key.usage
    metadata.keySpec = spec
    metadata.customerMasterKeySpec = CustomerMasterKeySpec(rawValue: spec.rawValue)
    metadata.keyUsage = usage
    metadata.encryptionAlgorithms = KeyCrypto.encryptionAlgorithms(spec, usage)
    metadata.signingAlgorithms = KeyCrypto.signingAlgorithms(spec, usage)
    metadata.macAlgorithms = KeyCrypto.macAlgorithms(spec)
    metadata.keyAgreementAlgorithms = KeyCrypto.keyAgreementAlgorithms(spec, usage)
    metadata.multiRegion = key.multiRegion != nil
    metadata.multiRegionConfiguration = multiRegionConfiguration(key, accountId: accountId, region: region)
    let current = currentVersion(key)
    if key.origin == .external {
      metadata.expirationModel = current == nil ? nil : key.imported?.expirationModel
      metadata.validTo = current == nil ? nil : key.imported?.validTo
    }
    if spec == .symmetricDefault { metadata.currentKeyMaterialId = current?.materialId }
  }
}
