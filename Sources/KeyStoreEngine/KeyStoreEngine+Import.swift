import Crypto
import Foundation
import HSMSimulator
import KMSModel

/// Imported key material (Origin EXTERNAL): GetParametersForImport, ImportKeyMaterial,
/// DeleteImportedKeyMaterial, PendingImport, expiry (issue 14).
extension KeyStoreEngine {
  /// Where the private wrapping key of a key's outstanding import parameters is kept (secret).
  static func wrappingKeyId(_ keyId: String) -> String { "import/\(keyId)" }

  static func digestHex(_ data: Data) -> String {
    Hex.lowercase(SHA256.hash(data: data))
  }

  func requireExternalOrigin(_ key: KeyRecord, _ operation: String) throws(KMSError) {
    guard key.origin == .external else {
      throw KMSError(
        .unsupportedOperationException,
        "\(key.arn) origin is \(key.origin.rawValue). \(operation) requires a KMS key with Origin EXTERNAL.")
    }
  }

  public func getParametersForImport(_ request: GetParametersForImportRequest) throws(KMSError)
    -> GetParametersForImportResponse
  {
    try transaction { () throws(KMSError) -> GetParametersForImportResponse in
      try request.validate()
      var key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "GetParametersForImport")
      try requireExternalOrigin(key, "GetParametersForImport")
      try requireNotPendingDeletion(key)
      guard let algorithm = request.wrappingAlgorithmValue, let spec = request.wrappingKeySpecValue else {
        throw KMSError(.validationException, "WrappingAlgorithm and WrappingKeySpec are required.")
      }
      switch algorithm {
      case .rsaesOaepSha1, .rsaesOaepSha256, .rsaAesKeyWrapSha1, .rsaAesKeyWrapSha256: break
      case .rsaesPkcs1V15, .sm2pke:
        throw KMSError(
          .unsupportedOperationException, "Wrapping algorithm \(algorithm.rawValue) is not supported.")
      }
      let wrappingKey: Data
      let publicKey: Data
      do {
        wrappingKey = try KeyCrypto.wrappingKey(spec)
        publicKey = try KeyCrypto.publicKeyDER(.rsa2048, wrappingKey)
      } catch {
        throw KMSError(.unsupportedOperationException, KeyCrypto.describe(error))
      }
      let token = KeyCrypto.randomBytes(64)
      let validTo = clock.now() + 86_400
      fleet.setLocalMaterial(id: Self.wrappingKeyId(key.keyId), bytes: wrappingKey)
      var imported = key.imported ?? ImportRecord()
      imported.tokenDigest = Self.digestHex(token)
      imported.parametersValidTo = validTo
      imported.wrappingAlgorithm = algorithm.rawValue
      key.imported = imported
      updateKey(key, summary: "Key \(key.keyId) import parameters issued")
      return GetParametersForImportResponse(
        keyId: key.arn, importToken: token, publicKey: publicKey, parametersValidTo: validTo)
    }
  }

  /// The stored form of imported plaintext material for this key spec; nil when it does not fit.
  func importedBytes(_ plaintext: Data, spec: KeySpec) -> Data? {
    switch spec {
    case .symmetricDefault: return plaintext.count == 32 ? plaintext : nil
    case .hmac224: return (28...64).contains(plaintext.count) ? plaintext : nil
    case .hmac256: return (32...64).contains(plaintext.count) ? plaintext : nil
    case .hmac384: return (48...128).contains(plaintext.count) ? plaintext : nil
    case .hmac512: return (64...128).contains(plaintext.count) ? plaintext : nil
    default: return KeyCrypto.importPrivateKey(spec, pkcs8: plaintext)
    }
  }

  public func importKeyMaterial(_ request: ImportKeyMaterialRequest) throws(KMSError)
    -> ImportKeyMaterialResponse
  {
    try transaction { () throws(KMSError) -> ImportKeyMaterialResponse in
      try request.validate()
      var key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "ImportKeyMaterial")
      try requireExternalOrigin(key, "ImportKeyMaterial")
      try requireNotPendingDeletion(key)
      var imported = key.imported ?? ImportRecord()
      guard imported.tokenDigest == Self.digestHex(request.importToken),
        let wrappingKey = fleet.localMaterial(id: Self.wrappingKeyId(key.keyId)),
        let algorithm = imported.wrappingAlgorithm.flatMap(AlgorithmSpec.init(rawValue:))
      else {
        throw KMSError(.invalidImportTokenException, "The import token is not valid for \(key.arn).")
      }
      if let validTo = imported.parametersValidTo, validTo < clock.now() {
        throw KMSError(.expiredImportTokenException, "The import token for \(key.arn) has expired.")
      }
      let model =
        request.expirationModelValue
        ?? (request.validTo == nil ? .keyMaterialDoesNotExpire : .keyMaterialExpires)
      if model == .keyMaterialExpires && request.validTo == nil {
        throw KMSError(
          .validationException, "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.")
      }
      if model == .keyMaterialDoesNotExpire && request.validTo != nil {
        throw KMSError(
          .validationException,
          "ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.")
      }
      if let validTo = request.validTo, validTo <= clock.now() {
        throw KMSError(.validationException, "ValidTo must be in the future.")
      }
      if request.importTypeValue == .newKeyMaterial, imported.materialDigest != nil {
        throw KMSError(
          .unsupportedOperationException,
          "Importing new key material into a key that already has key material (on-demand rotation of imported keys) is not supported by this emulator."
        )
      }
      guard
        let plaintext = KeyCrypto.unwrap(
          request.encryptedKeyMaterial, wrappingKey: wrappingKey, algorithm: algorithm)
      else {
        throw KMSError(
          .invalidCiphertextException,
          "The encrypted key material cannot be decrypted with the wrapping key of the import token.")
      }
      guard let bytes = importedBytes(plaintext, spec: key.spec) else {
        throw KMSError(
          .incorrectKeyMaterialException, "The key material is not valid for a \(key.spec.rawValue) KMS key.")
      }
      let digest = Self.digestHex(bytes)
      if let previous = imported.materialDigest, previous != digest {
        throw KMSError(
          .incorrectKeyMaterialException,
          "The key material doesn't match the key material that was previously imported into this KMS key.")
      }
      imported.materialDigest = digest
      imported.expirationModel = model
      imported.validTo = request.validTo
      key.imported = imported
      let materialId = request.keyMaterialId ?? Self.originalMaterialId(key.keyId)
      fleet.setLocalMaterial(id: key.keyId, bytes: bytes)
      key.materials = [
        MaterialVersion(
          materialId: materialId, storageId: key.keyId, rotationDate: nil, rotationType: nil,
          description: request.keyMaterialDescription, validTo: request.validTo, deleted: nil)
      ]
      updateKey(key, summary: "Key \(key.keyId) key material imported")
      return ImportKeyMaterialResponse(keyId: key.arn, keyMaterialId: materialId)
    }
  }

  public func deleteImportedKeyMaterial(_ request: DeleteImportedKeyMaterialRequest) throws(KMSError)
    -> DeleteImportedKeyMaterialResponse
  {
    try transaction { () throws(KMSError) -> DeleteImportedKeyMaterialResponse in
      try request.validate()
      var key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "DeleteImportedKeyMaterial")
      try requireExternalOrigin(key, "DeleteImportedKeyMaterial")
      try requireNotPendingDeletion(key)
      guard var versions = key.materials, let last = versions.indices.last, versions[last].deleted != true
      else {
        throw KMSError(.kmsInvalidStateException, "\(key.arn) is pending import.")
      }
      if let id = request.keyMaterialId, id != versions[last].materialId {
        throw KMSError(.notFoundException, "Key material \(id.prefix(64)) does not exist for \(key.arn).")
      }
      fleet.setLocalMaterial(id: versions[last].storageId, bytes: nil)
      versions[last].deleted = true
      key.materials = versions
      updateKey(key, summary: "Key \(key.keyId) imported key material deleted")
      return DeleteImportedKeyMaterialResponse(keyId: key.arn, keyMaterialId: versions[last].materialId)
    }
  }
}
