import Foundation
import HSMSimulator
import KMSModel

extension KeyStoreEngine {
  // MARK: Key identity

  /// Resolves a key ID, key ARN, alias name or alias ARN (kms-spec §5) to a key.
  func resolveKey(_ reference: KeyReference) throws(KMSError) -> KeyRecord {
    try Self.resolveKey(
      reference, arnPrefix: arnPrefix, key: { keys[$0] }, aliasTarget: { aliases[$0]?.targetKeyId })
  }

  /// The resolution rules themselves, over any committed or working state (the engine's records
  /// and the read view share them).
  static func resolveKey(
    _ reference: KeyReference, arnPrefix: String, key: (String) -> KeyRecord?,
    aliasTarget: (String) -> String?
  ) throws(KMSError) -> KeyRecord {
    let reference = reference.rawValue
    var identifier = reference
    if identifier.hasPrefix("arn:") {
      let prefix = arnPrefix + ":"
      guard identifier.hasPrefix(prefix) else { throw KMSError.keyNotFound(reference) }
      identifier.removeFirst(prefix.count)
      if identifier.hasPrefix("key/") {
        identifier.removeFirst(4)
        guard let found = key(identifier) else { throw KMSError.keyNotFound(reference) }
        return found
      }
      guard identifier.hasPrefix("alias/") else {
        throw KMSError(.invalidArnException, "'\(reference.prefix(256))' is not a valid key or alias ARN.")
      }
    }
    if identifier.hasPrefix("alias/") {
      guard let target = aliasTarget(identifier), let found = key(target) else {
        throw KMSError(.notFoundException, "Alias \(arnPrefix):\(identifier) is not found.")
      }
      return found
    }
    guard let found = key(identifier) else {
      if UUID(uuidString: identifier) == nil && !isMultiRegionKeyId(identifier) {
        throw KMSError(.notFoundException, "Invalid keyId '\(identifier.prefix(256))'")
      }
      throw KMSError.keyNotFound("\(arnPrefix):key/\(identifier)")
    }
    return found
  }

  /// What a key's metadata needs from its custom key store.
  struct KeyStoreContext {
    var keysUsable: Bool
    var cloudHsmClusterId: String?
  }

  func keyStoreContext(_ storeId: String?) -> KeyStoreContext? {
    guard let storeId else { return nil }
    guard let store = stores[storeId] else {
      return KeyStoreContext(keysUsable: false, cloudHsmClusterId: nil)
    }
    return KeyStoreContext(
      keysUsable: store.machine.keysUsable,
      cloudHsmClusterId: store.type == .awsCloudhsm ? store.clusterId : nil)
  }

  /// kms-spec §5.4, computed on every read and stored nowhere.
  func effectiveState(_ key: KeyRecord) -> KeyState {
    effectiveState(key, keyStoreContext(key.customKeyStoreId))
  }

  func effectiveState(_ key: KeyRecord, _ context: KeyStoreContext?) -> KeyState {
    Self.effectiveState(key, context, pendingImport: key.origin == .external && isPendingImport(key))
  }

  /// The rules of kms-spec §5.4, shared with the read view.
  static func effectiveState(_ key: KeyRecord, _ context: KeyStoreContext?, pendingImport: Bool) -> KeyState {
    if key.deletionDate != nil { return .pendingDeletion }
    if key.awaitingReplicaDeletion == true { return .pendingReplicaDeletion }
    if key.customKeyStoreId != nil, context?.keysUsable != true { return .unavailable }
    if pendingImport { return .pendingImport }
    return key.enabled ? .enabled : .disabled
  }

  func metadata(_ key: KeyRecord) -> KeyMetadata {
    metadata(key, keyStoreContext(key.customKeyStoreId))
  }

  /// One shared array instead of one allocation per key.
  private static let symmetricAlgorithms: [EncryptionAlgorithmSpec] = [.symmetricDefault]

  func metadata(_ key: KeyRecord, _ context: KeyStoreContext?) -> KeyMetadata {
    Self.describe(key, context, accountId: configuration.accountId, region: configuration.region)
  }

  /// A key's `KeyMetadata` from its record and its store's context alone (the engine and its
  /// read view describe keys with this one function).
  static func describe(_ key: KeyRecord, _ context: KeyStoreContext?, accountId: String, region: String)
    -> KeyMetadata
  {
    let state = effectiveState(key, context, pendingImport: isPendingImport(key))
    var metadata = KeyMetadata(
      awsAccountId: accountId, keyId: key.keyId, arn: key.arn, creationDate: key.creationDate,
      enabled: state == .enabled, description: key.description, keyUsage: .encryptDecrypt, keyState: state,
      deletionDate: key.deletionDate, origin: key.origin, customKeyStoreId: key.customKeyStoreId,
      cloudHsmClusterId: context?.cloudHsmClusterId,
      expirationModel: nil, keyManager: .customer, customerMasterKeySpec: .symmetricDefault,
      keySpec: .symmetricDefault, encryptionAlgorithms: Self.symmetricAlgorithms, multiRegion: false,
      // As in KMS: present only while a primary waits for its replicas (PendingReplicaDeletion).
      pendingDeletionWindowInDays: key.awaitingReplicaDeletion == true ? key.pendingWindowInDays : nil,
      xksKeyConfiguration: key.xksKeyId.map { XksKeyConfigurationType(id: $0) })
    specMetadata(key, into: &metadata, accountId: accountId, region: region)
    return metadata
  }

  /// Keys in creation order; the order is sorted again only when a key was added or removed.
  var keysInOrder: [KeyRecord] { keyOrder.compactMap { keys[$0.id] } }

  var keyOrder: [OrderedID] { keyOrderCache.ids(of: keys, sequence: \.sequence, id: \.keyId) }

  // MARK: CreateKey (§5.1)

  /// CreateKey; for an external store the proxy's GetKeyMetadata answer comes first, outside any
  /// transaction (`KeyStoreEngine+XKS.swift`), and is checked in the transaction.
  public func createKey(_ request: CreateKeyRequest) async throws(KMSError) -> CreateKeyResponse {
    let verdict = try await verifyExternalKey(request)
    return try createKey(request, verified: verdict)
  }

  func createKey(_ request: CreateKeyRequest, verified: ExternalKeyVerdict?) throws(KMSError)
    -> CreateKeyResponse
  {
    try transaction { () throws(KMSError) -> CreateKeyResponse in
      try createKeyChanges(request, verified: verified)
    }
  }

  /// The checks and changes of the operation, without its transaction (rehearsed before an
  /// XKS proxy call; see `KeyStoreEngine+XKS.swift`).
  func createKeyChanges(_ request: CreateKeyRequest, verified: ExternalKeyVerdict?) throws(KMSError)
    -> CreateKeyResponse
  {
    try request.validate()
    let origin = request.originValue ?? .awsKms
    let spec =
      request.keySpecValue ?? request.customerMasterKeySpecValue.flatMap { KeySpec(rawValue: $0.rawValue) }
    if request.keySpec != nil && request.customerMasterKeySpec != nil {
      throw KMSError(
        .validationException, "You cannot specify KeySpec and CustomerMasterKeySpec in the same request.")
    }
    if keys.count >= configuration.keyQuota {
      throw KMSError(
        .limitExceededException,
        "This account already has the maximum of \(configuration.keyQuota) KMS keys."
      )
    }
    func unsupported(_ what: String) -> KMSError {
      KMSError(.unsupportedOperationException, what)
    }
    guard let storeId = try request.customKeyStoreIdValue else {
      switch origin {
      case .awsCloudhsm, .externalKeyStore:
        throw unsupported("Origin \(origin.rawValue) requires a CustomKeyStoreId.")
      case .awsKms, .external:
        return try createKeyInKMS(request, origin: origin, spec: spec)
      }
    }
    let store = try store(storeId)
    let expectedOrigin: OriginType = store.type == .awsCloudhsm ? .awsCloudhsm : .externalKeyStore
    guard origin == expectedOrigin else {
      throw unsupported(
        "A KMS key in custom key store \(storeId) must have Origin \(expectedOrigin.rawValue), not \(origin.rawValue)."
      )
    }
    if let spec, spec != .symmetricDefault {
      throw unsupported("Custom key stores support only SYMMETRIC_DEFAULT keys, not \(spec.rawValue).")
    }
    if let usage = request.keyUsageValue, usage != .encryptDecrypt {
      throw unsupported("Custom key stores support only ENCRYPT_DECRYPT keys, not \(usage.rawValue).")
    }
    if request.multiRegion == true {
      throw unsupported("You cannot create a multi-Region key in a custom key store.")
    }
    if store.type == .externalKeyStore {
      guard let xksKeyId = try request.xksKeyIdValue else {
        throw KMSError.validation([.missing("xksKeyId")])
      }
      if let other = keyIdsByStore[storeId.rawValue, default: []].lazy.compactMap({ self.keys[$0] })
        .first(where: { $0.xksKeyId == xksKeyId.rawValue })
      {
        throw KMSError(
          .xksKeyAlreadyInUseException,
          "The external key \(xksKeyId) is already used by KMS key \(other.keyId).")
      }
    } else if request.xksKeyId != nil {
      throw unsupported("XksKeyId is valid only with Origin EXTERNAL_KEY_STORE.")
    }
    guard store.machine.connectionState == .connected else {
      throw KMSError(
        .customKeyStoreInvalidStateException,
        "Custom key store \(storeId) is \(store.machine.connectionState.rawValue). It must be CONNECTED to create KMS keys."
      )
    }
    if store.type == .awsCloudhsm, let clusterId = store.clusterIdentifier {
      // A deleted cluster has no HSMs: the configuration check answers for it (kms-spec §5.5).
      let cluster = fleet.cluster(clusterId).flatMap { $0.isDeleted ? nil : $0 }
      if let cluster, cluster.faults.contains(.networkErrors) {
        throw KMSError(
          .dependencyTimeoutException,
          "KMS timed out while communicating with the CloudHSM cluster \(clusterId).")
      }
      guard let cluster, cluster.hasTwoActiveHsmsInTwoZones else {
        throw KMSError(
          .cloudHsmClusterInvalidConfigurationException,
          "The CloudHSM cluster \(clusterId) must contain at least two active HSMs in different Availability Zones."
        )
      }
    }
    let policy = try checkNewPolicy(request.policy, bypass: request.bypassPolicyLockoutSafetyCheck ?? false)
    let tags = try checkedTags(adding: request.tags ?? [], to: [])
    if store.type == .externalKeyStore, let xksKeyId = try request.xksKeyIdValue {
      // Last: the proxy's answer is checked only for a request that passes everything else.
      try checkExternalKey(verified, storeId: storeId, xksKeyId: xksKeyId)
    }
    var key = try insertKey(
      origin: origin, storeId: storeId, xksKeyId: request.xksKeyIdValue, description: request.description)
    if policy != nil || !tags.isEmpty {
      key.policy = policy
      key.tags = tags.isEmpty ? nil : tags
      keys[key.keyId] = key
    }
    if let clusterId = store.clusterIdentifier {
      fleet.createKeyMaterial(keyId: key.keyId, clusterId: clusterId)
    } else {
      fleet.createLocalKeyMaterial(keyId: key.keyId)  // stands in for the external key manager
    }
    return CreateKeyResponse(keyMetadata: metadata(key))
  }

  func insertKey(
    origin: OriginType, storeId: CustomKeyStoreID?, xksKeyId: XKSKeyID?, description: String?,
    keyId given: String? = nil
  ) -> KeyRecord {
    var keyId = given ?? random.uuid()
    while given == nil && keys[keyId] != nil { keyId = random.uuid() }
    let key = KeyRecord(
      KeyFields(
        keyId: keyId, sequence: nextSequence(), arn: keyArn(keyId), origin: origin,
        customKeyStoreId: storeId?.rawValue, xksKeyId: xksKeyId?.rawValue, description: description ?? "",
        creationDate: clock.now(), enabled: true,
        deletionDate: nil, pendingWindowInDays: nil))
    keys[keyId] = key
    if let storeId {
      record(.keyCreated, storeId: storeId.rawValue, summary: "Key \(keyId) created in \(storeId)")
    }
    return key
  }

  func deleteKeyNow(_ keyId: String) {
    guard let key = keys.removeValue(forKey: keyId) else { return }
    noteMultiRegionDeletion(key)
    for alias in aliases.values where alias.targetKeyId == keyId { aliases[alias.name] = nil }
    fleet.deleteKeyMaterial(keyId: keyId)
    for version in key.materials ?? [] where version.storageId != keyId {
      fleet.setLocalMaterial(id: version.storageId, bytes: nil)
    }
    fleet.setLocalMaterial(id: Self.wrappingKeyId(keyId), bytes: nil)
    if key.customKeyStoreId != nil {
      record(
        .keyDeleted, storeId: key.customKeyStoreId, summary: "Key \(keyId) deleted after its waiting period")
    }
  }

  func updateKey(_ key: KeyRecord, summary: String) {
    keys[key.keyId] = key
    if key.customKeyStoreId != nil {
      record(.keyStateChanged, storeId: key.customKeyStoreId, summary: summary)
    }
  }

  // MARK: DescribeKey, ListKeys

  public func describeKey(_ request: DescribeKeyRequest) throws(KMSError) -> DescribeKeyResponse {
    try readOnly { () throws(KMSError) -> DescribeKeyResponse in
      try request.validate()
      let key = try resolveKey(request.keyIdValue)
      try authorize(key, "DescribeKey", grantTokens: request.grantTokens)
      return DescribeKeyResponse(keyMetadata: metadata(key))
    }
  }

  public func listKeys(_ request: ListKeysRequest) throws(KMSError) -> ListKeysResponse {
    try readOnly { () throws(KMSError) -> ListKeysResponse in
      try request.validate()
      let page = try paginate(
        ordered: keyOrder, item: { keys[$0] }, kind: "key", limit: request.limit ?? 100,
        marker: request.marker)
      return ListKeysResponse(
        keys: page.items.map { KeyListEntry(keyId: $0.keyId, keyArn: $0.arn) }, nextMarker: page.nextMarker,
        truncated: page.nextMarker != nil)
    }
  }

  // MARK: Enable, disable, deletion (§5.4: all succeed on Unavailable keys)

  public func enableKey(_ request: EnableKeyRequest) throws(KMSError) -> EnableKeyResponse {
    try transaction { () throws(KMSError) -> EnableKeyResponse in
      try request.validate()
      var key = try resolveKey(request.keyIdValue)
      try authorize(key, "EnableKey")
      try requireNotPendingDeletion(key)
      key.enabled = true
      updateKey(key, summary: "Key \(key.keyId) enabled")
      return EnableKeyResponse()
    }
  }

  public func disableKey(_ request: DisableKeyRequest) throws(KMSError) -> DisableKeyResponse {
    try transaction { () throws(KMSError) -> DisableKeyResponse in
      try request.validate()
      var key = try resolveKey(request.keyIdValue)
      try authorize(key, "DisableKey")
      try requireNotPendingDeletion(key)
      key.enabled = false
      updateKey(key, summary: "Key \(key.keyId) disabled")
      return DisableKeyResponse()
    }
  }

  public func scheduleKeyDeletion(_ request: ScheduleKeyDeletionRequest) throws(KMSError)
    -> ScheduleKeyDeletionResponse
  {
    try transaction { () throws(KMSError) -> ScheduleKeyDeletionResponse in
      try request.validate()
      var failures: [ValidationFailure] = []
      if let days = request.pendingWindowInDays {
        // KMS itself enforces 7–30 days, tighter than the model's 1–365.
        failures.checkRange(days, min: 7, at: "pendingWindowInDays")
        failures.checkRange(days, max: 30, at: "pendingWindowInDays")
      }
      if !failures.isEmpty { throw KMSError.validation(failures) }
      var key = try resolveKey(request.keyIdValue)
      try authorize(key, "ScheduleKeyDeletion")
      try requireNotPendingDeletion(key)
      let days = request.pendingWindowInDays ?? 30
      key.pendingWindowInDays = days
      if hasReplicas(key) {
        // A primary with replicas waits for them: its waiting period starts when the last is deleted.
        key.awaitingReplicaDeletion = true
        updateKey(key, summary: "Key \(key.keyId) scheduled for deletion once its replicas are deleted")
      } else {
        key.deletionDate = clock.now() + TimeInterval(days * 86_400)
        updateKey(key, summary: "Key \(key.keyId) scheduled for deletion in \(days) days")
      }
      return ScheduleKeyDeletionResponse(
        keyId: key.arn, deletionDate: key.deletionDate, keyState: effectiveState(key),
        pendingWindowInDays: days)
    }
  }

  public func cancelKeyDeletion(_ request: CancelKeyDeletionRequest) throws(KMSError)
    -> CancelKeyDeletionResponse
  {
    try transaction { () throws(KMSError) -> CancelKeyDeletionResponse in
      try request.validate()
      var key = try resolveKey(request.keyIdValue)
      try authorize(key, "CancelKeyDeletion")
      guard key.isPendingDeletion else { throw KMSError.keyNotPendingDeletion(key.arn) }
      key.deletionDate = nil
      key.awaitingReplicaDeletion = nil
      key.pendingWindowInDays = nil
      key.enabled = false  // as in KMS: a cancelled key comes back Disabled
      updateKey(key, summary: "Key \(key.keyId) deletion cancelled")
      return CancelKeyDeletionResponse(keyId: key.arn)
    }
  }

  // MARK: Aliases

  public func createAlias(_ request: CreateAliasRequest) throws(KMSError) -> CreateAliasResponse {
    try transaction { () throws(KMSError) -> CreateAliasResponse in
      try request.validate()
      let aliasName = try request.aliasNameValue
      let targetKeyId = try request.targetKeyIdValue
      try Self.requireAliasPrefix(aliasName.rawValue)
      // The model's pattern lets ':' through; an alias name is letters, digits, '/', '_' and '-'.
      if aliasName.rawValue.contains(where: {
        !($0.isASCII && ($0.isLetter || $0.isNumber || "/_-".contains($0)))
      }) {
        throw KMSError(.validationException, "\(aliasName) contains invalid characters for an alias")
      }
      if aliasName.rawValue.hasPrefix("alias/aws/") {
        throw KMSError(
          .invalidAliasNameException,
          "Alias names that begin with alias/aws/ are reserved for AWS managed keys.")
      }
      if targetKeyId.rawValue.hasPrefix("alias/") || targetKeyId.rawValue.contains(":alias/") {
        throw KMSError(.validationException, "TargetKeyId must be a key ID or key ARN, not an alias.")
      }
      let key = try resolveKey(targetKeyId)
      try authorize(key, "CreateAlias")
      try requireNotPendingDeletion(key)
      if aliases[aliasName.rawValue] != nil {
        throw KMSError(
          .alreadyExistsException, "An alias with the name \(aliasArn(aliasName.rawValue)) already exists")
      }
      let now = clock.now()
      aliases[aliasName.rawValue] = AliasRecord(
        name: aliasName.rawValue, sequence: nextSequence(), targetKeyId: key.keyId, creationDate: now,
        lastUpdatedDate: now)
      if key.customKeyStoreId != nil {
        record(
          .aliasCreated, storeId: key.customKeyStoreId, summary: "Alias \(aliasName) → \(key.keyId)")
      }
      return CreateAliasResponse()
    }
  }

  public func deleteAlias(_ request: DeleteAliasRequest) throws(KMSError) -> DeleteAliasResponse {
    try transaction { () throws(KMSError) -> DeleteAliasResponse in
      try request.validate()
      let aliasName = try request.aliasNameValue
      try Self.requireAliasPrefix(aliasName.rawValue)
      guard let alias = aliases.removeValue(forKey: aliasName.rawValue) else {
        throw KMSError(.notFoundException, "Alias \(aliasArn(aliasName.rawValue)) is not found.")
      }
      if let storeId = keys[alias.targetKeyId]?.customKeyStoreId {
        record(.aliasDeleted, storeId: storeId, summary: "Alias \(alias.name) deleted")
      }
      return DeleteAliasResponse()
    }
  }

  /// An alias name is `alias/` and a name: anything else is refused before any lookup
  /// (ValidationException, not NotFoundException).
  static func requireAliasPrefix(_ name: String) throws(KMSError) {
    guard name.hasPrefix("alias/"), name.count > 6 else {
      throw KMSError(
        .validationException,
        "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
      )
    }
  }

  func aliasEntry(_ alias: AliasRecord) -> AliasListEntry {
    AliasListEntry(
      aliasName: alias.name, aliasArn: aliasArn(alias.name), targetKeyId: alias.targetKeyId,
      creationDate: alias.creationDate, lastUpdatedDate: alias.lastUpdatedDate)
  }

  public func listAliases(_ request: ListAliasesRequest) throws(KMSError) -> ListAliasesResponse {
    try readOnly { () throws(KMSError) -> ListAliasesResponse in
      try request.validate()
      var selected = Array(aliases.values)
      if let reference = try request.keyIdValue {
        let key = try resolveKey(reference)
        selected = selected.filter { $0.targetKeyId == key.keyId }
      }
      let ordered = selected.map { OrderedID(sequence: $0.sequence, id: $0.name) }.sorted {
        $0.sequence < $1.sequence
      }
      let page = try paginate(
        ordered: ordered, item: { aliases[$0] }, kind: "alias", limit: request.limit ?? 50,
        marker: request.marker)
      return ListAliasesResponse(
        aliases: page.items.map(aliasEntry), nextMarker: page.nextMarker, truncated: page.nextMarker != nil)
    }
  }
}
