import Crypto
import Foundation
import HSMSimulator
import KMSModel

/// Enable/DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations
/// (issue 14). Rotation adds a material version; older versions keep decrypting what they
/// encrypted. Automatic rotations run in `applyDueWork`.
extension KeyStoreEngine {
  static let onDemandRotationLimit = 10

  /// UnsupportedOperationException for keys KMS cannot rotate: keys in custom key stores,
  /// asymmetric and HMAC keys, multi-Region replicas; and (automatic rotation only) imported keys.
  func checkRotatable(_ key: KeyRecord, automatic: Bool) throws(KMSError) {
    if key.customKeyStoreId != nil {
      throw KMSError(
        .unsupportedOperationException,
        "\(key.arn) is in a custom key store. KMS cannot rotate keys in custom key stores.")
    }
    guard key.isSymmetricEncryption else {
      throw KMSError(
        .unsupportedOperationException,
        "\(key.arn) key spec is \(key.spec.rawValue). Only symmetric encryption KMS keys can be rotated.")
    }
    if let region = key.multiRegion, region.primaryRegion != configuration.region {
      throw KMSError(
        .unsupportedOperationException,
        "\(key.arn) is a multi-Region replica key. Rotate its primary key in \(region.primaryRegion).")
    }
    if key.origin == .external {
      throw KMSError(
        .unsupportedOperationException,
        automatic
          ? "\(key.arn) has imported key material. Automatic rotation is not supported for such keys."
          : "\(key.arn) has imported key material. Rotate it by importing new key material (not supported by this emulator)."
      )
    }
  }

  /// Adds a new material version and makes it current.
  func rotateMaterial(_ key: inout KeyRecord, type: RotationType, at date: Date) {
    var versions = materialVersions(key)
    let materialId = random.hex(64)
    let storageId = "\(key.keyId)/\(materialId.prefix(16))"
    fleet.setLocalMaterial(id: storageId, bytes: KeyBytes.random().bytes)
    versions.append(
      MaterialVersion(materialId: materialId, storageId: storageId, rotationDate: date, rotationType: type))
    key.materials = versions
  }

  public func enableKeyRotation(_ request: EnableKeyRotationRequest) throws(KMSError)
    -> EnableKeyRotationResponse
  {
    try transaction { () throws(KMSError) -> EnableKeyRotationResponse in
      try request.validate()
      var key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "EnableKeyRotation")
      try checkRotatable(key, automatic: true)
      try checkUsable(key)
      let days = request.rotationPeriodInDays ?? key.rotation?.periodInDays ?? 365
      key.rotation = RotationSettings(
        enabled: true, periodInDays: days, nextRotationDate: clock.now() + TimeInterval(days) * 86_400,
        onDemandStartDate: nil)
      updateKey(key, summary: "Key \(key.keyId) automatic rotation enabled (\(days) days)")
      return EnableKeyRotationResponse()
    }
  }

  public func disableKeyRotation(_ request: DisableKeyRotationRequest) throws(KMSError)
    -> DisableKeyRotationResponse
  {
    try transaction { () throws(KMSError) -> DisableKeyRotationResponse in
      try request.validate()
      var key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "DisableKeyRotation")
      try checkRotatable(key, automatic: true)
      try checkUsable(key)
      key.rotation = RotationSettings(
        enabled: false, periodInDays: key.rotation?.periodInDays ?? 365, nextRotationDate: nil,
        onDemandStartDate: nil)
      updateKey(key, summary: "Key \(key.keyId) automatic rotation disabled")
      return DisableKeyRotationResponse()
    }
  }

  public func getKeyRotationStatus(_ request: GetKeyRotationStatusRequest) throws(KMSError)
    -> GetKeyRotationStatusResponse
  {
    try readOnly { () throws(KMSError) -> GetKeyRotationStatusResponse in
      try request.validate()
      let key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "GetKeyRotationStatus")
      if key.customKeyStoreId != nil || !key.isSymmetricEncryption {
        try checkRotatable(key, automatic: true)
      }
      try requireNotPendingDeletion(key)
      let rotation = key.rotation
      let enabled = rotation?.enabled == true
      return GetKeyRotationStatusResponse(
        keyRotationEnabled: enabled, keyId: key.arn,
        rotationPeriodInDays: enabled ? rotation?.periodInDays : nil,
        nextRotationDate: enabled ? rotation?.nextRotationDate : nil,
        onDemandRotationStartDate: rotation?.onDemandStartDate)
    }
  }

  public func rotateKeyOnDemand(_ request: RotateKeyOnDemandRequest) throws(KMSError)
    -> RotateKeyOnDemandResponse
  {
    try transaction { () throws(KMSError) -> RotateKeyOnDemandResponse in
      try request.validate()
      var key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "RotateKeyOnDemand")
      try checkRotatable(key, automatic: false)
      try checkUsable(key)
      let onDemand = materialVersions(key).filter { $0.rotationType == .onDemand }.count
      guard onDemand < Self.onDemandRotationLimit else {
        throw KMSError(
          .limitExceededException,
          "\(key.arn) has reached the maximum of \(Self.onDemandRotationLimit) on-demand rotations.")
      }
      rotateMaterial(&key, type: .onDemand, at: clock.now())
      updateKey(key, summary: "Key \(key.keyId) rotated on demand")
      return RotateKeyOnDemandResponse(keyId: key.arn)
    }
  }

  public func listKeyRotations(_ request: ListKeyRotationsRequest) throws(KMSError)
    -> ListKeyRotationsResponse
  {
    try readOnly { () throws(KMSError) -> ListKeyRotationsResponse in
      try request.validate()
      let key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "ListKeyRotations")
      if key.customKeyStoreId != nil || !key.isSymmetricEncryption {
        try checkRotatable(key, automatic: false)
      }
      let all = request.includeKeyMaterialValue == .allKeyMaterial
      let versions = materialVersions(key)
      let current = currentVersion(key)?.materialId
      let entries = versions.filter { all || $0.rotationDate != nil }.map { version in
        RotationsListEntry(
          keyId: key.arn, keyMaterialId: version.materialId, keyMaterialDescription: version.description,
          importState: key.origin == .external ? (version.deleted == true ? .pendingImport : .imported) : nil,
          keyMaterialState: version.materialId == current ? .current : .nonCurrent,
          expirationModel: key.origin == .external ? key.imported?.expirationModel : nil,
          validTo: version.validTo, rotationDate: version.rotationDate, rotationType: version.rotationType)
      }
      let page = try pageList(entries, kind: "rotation", limit: request.limit ?? 100, marker: request.marker)
      return ListKeyRotationsResponse(
        rotations: page.items, nextMarker: page.nextMarker, truncated: page.nextMarker != nil)
    }
  }

  /// The next moment a key needs background work: an automatic rotation or the
  /// expiry of imported key material.
  func keyMaterialDueDate(_ key: KeyRecord) -> Date? {
    let rotation = key.rotation?.nextRotationDate
    guard key.origin == .external, let validTo = key.imported?.validTo, currentVersion(key) != nil else {
      return rotation
    }
    return rotation.map { min($0, validTo) } ?? validTo
  }

  /// Due automatic rotations and expiries of imported material (run by `applyDueWork`).
  func applyKeyMaterialDueWork(now: Date, keyIds: [String]) {
    for id in keyIds {
      guard var key = keys[id], (keyMaterialDueDate(key) ?? .distantFuture) <= now else { continue }
      if var rotation = key.rotation, rotation.enabled, let next = rotation.nextRotationDate, next <= now {
        if effectiveState(key) == .enabled { rotateMaterial(&key, type: .automatic, at: next) }
        rotation.nextRotationDate = next + TimeInterval(rotation.periodInDays) * 86_400
        if rotation.nextRotationDate! <= now {
          rotation.nextRotationDate = now + TimeInterval(rotation.periodInDays) * 86_400
        }
        key.rotation = rotation
      }
      if key.origin == .external, let validTo = key.imported?.validTo, validTo <= now,
        var versions = key.materials,
        let last = versions.indices.last, versions[last].deleted != true
      {
        fleet.setLocalMaterial(id: versions[last].storageId, bytes: nil)
        versions[last].deleted = true
        key.materials = versions
      }
      updateKey(key, summary: "Key \(key.keyId): scheduled key material change")
    }
  }
}
