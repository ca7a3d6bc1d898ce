import Foundation
import HSMSimulator
import KMSModel

/// TagResource, UntagResource, ListResourceTags, and tags on CreateKey/ReplicateKey (issue 14).
extension KeyStoreEngine {
  static let tagLimit = 50

  /// `existing` with `adding` applied (a tag key already present gets the new value), checked as
  /// KMS checks tags: no `aws:` prefix, no key twice in one request, at most 50 per key.
  func checkedTags(adding: [Tag], to existing: [Tag]) throws(KMSError) -> [Tag] {
    var seen: Set<String> = []
    for tag in adding {
      if tag.tagKey.lowercased().hasPrefix("aws:") {
        throw KMSError(.tagException, "Tags beginning with aws: are reserved.")
      }
      guard seen.insert(tag.tagKey).inserted else {
        throw KMSError(.tagException, "Duplicate tag keys: \(tag.tagKey.prefix(128))")
      }
    }
    var merged = existing
    for tag in adding {
      if let index = merged.firstIndex(where: { $0.tagKey == tag.tagKey }) {
        merged[index].tagValue = tag.tagValue
      } else {
        merged.append(tag)
      }
    }
    if merged.count > Self.tagLimit {
      throw KMSError(
        .limitExceededException,
        "The request would exceed the limit of \(Self.tagLimit) tags for this KMS key.")
    }
    return merged
  }

  public func tagResource(_ request: TagResourceRequest) throws(KMSError) -> TagResourceResponse {
    try transaction { () throws(KMSError) -> TagResourceResponse in
      try request.validate()
      var key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "TagResource")
      try requireNotPendingDeletion(key)
      let tags = try checkedTags(adding: request.tags, to: key.tags ?? [])
      key.tags = tags.isEmpty ? nil : tags
      updateKey(key, summary: "Key \(key.keyId) tagged")
      return TagResourceResponse()
    }
  }

  public func untagResource(_ request: UntagResourceRequest) throws(KMSError) -> UntagResourceResponse {
    try transaction { () throws(KMSError) -> UntagResourceResponse in
      try request.validate()
      var key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "UntagResource")
      try requireNotPendingDeletion(key)
      let removed = Set(request.tagKeys)
      let tags = (key.tags ?? []).filter { !removed.contains($0.tagKey) }
      key.tags = tags.isEmpty ? nil : tags
      updateKey(key, summary: "Key \(key.keyId) untagged")
      return UntagResourceResponse()
    }
  }

  public func listResourceTags(_ request: ListResourceTagsRequest) throws(KMSError)
    -> ListResourceTagsResponse
  {
    try readOnly { () throws(KMSError) -> ListResourceTagsResponse in
      try request.validate()
      let key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "ListResourceTags")
      let page = try pageList(key.tags ?? [], kind: "tag", limit: request.limit ?? 50, marker: request.marker)
      return ListResourceTagsResponse(
        tags: page.items, nextMarker: page.nextMarker, truncated: page.nextMarker != nil)
    }
  }

  // MARK: What the dashboard shows

  /// The rotation and tags the dashboard's keys view shows beside a key's spec and usage, for
  /// every kind of key; nil when there is nothing to show (no tags, and a key KMS cannot rotate
  /// automatically).
  func keyDetails(_ key: KeyRecord) -> KeyDetails? {
    let rotatable =
      key.customKeyStoreId == nil && key.isSymmetricEncryption && key.origin != .external
      && (key.multiRegion.map { $0.primaryRegion == configuration.region } ?? true)
    let enabled = key.rotation?.enabled == true
    let details = KeyDetails(
      rotationEnabled: rotatable ? enabled : nil,
      rotationPeriodInDays: rotatable && enabled ? key.rotation?.periodInDays : nil, tags: key.tags ?? [])
    return details == KeyDetails() ? nil : details
  }

  // MARK: UpdateAlias, UpdateKeyDescription

  public func updateAlias(_ request: UpdateAliasRequest) throws(KMSError) -> UpdateAliasResponse {
    try transaction { () throws(KMSError) -> UpdateAliasResponse in
      try request.validate()
      let aliasName = try request.aliasNameValue
      let targetKeyId = try request.targetKeyIdValue
      guard var alias = aliases[aliasName.rawValue] else {
        throw KMSError(.notFoundException, "Alias \(aliasArn(aliasName.rawValue)) is not found.")
      }
      if targetKeyId.rawValue.hasPrefix("alias/") || targetKeyId.rawValue.contains(":alias/") {
        throw KMSError(.validationException, "TargetKeyId must be a key ID or key ARN, not an alias.")
      }
      let target = try resolveKey(targetKeyId)
      try authorize(target, "UpdateAlias")
      try requireNotPendingDeletion(target)
      if let current = keys[alias.targetKeyId] {
        let sameKind =
          current.usage == target.usage
          && KeyCrypto.isAsymmetric(current.spec) == KeyCrypto.isAsymmetric(target.spec)
          && KeyCrypto.isHMAC(current.spec) == KeyCrypto.isHMAC(target.spec)
        guard sameKind else {
          throw KMSError(
            .validationException,
            "\(alias.name) currently points to a \(current.spec.rawValue) \(current.usage.rawValue) key; its new target \(target.arn) must be of the same type and key usage."
          )
        }
      }
      alias.targetKeyId = target.keyId
      alias.lastUpdatedDate = clock.now()
      aliases[alias.name] = alias
      if target.customKeyStoreId != nil {
        record(
          .aliasCreated, storeId: target.customKeyStoreId, summary: "Alias \(alias.name) → \(target.keyId)")
      }
      return UpdateAliasResponse()
    }
  }

  public func updateKeyDescription(_ request: UpdateKeyDescriptionRequest) throws(KMSError)
    -> UpdateKeyDescriptionResponse
  {
    try transaction { () throws(KMSError) -> UpdateKeyDescriptionResponse in
      try request.validate()
      var key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "UpdateKeyDescription")
      try requireNotPendingDeletion(key)
      key.description = request.description
      updateKey(key, summary: "Key \(key.keyId) description updated")
      return UpdateKeyDescriptionResponse()
    }
  }

  // MARK: GetKeyLastUsage

  /// The key's last successful cryptographic operation since tracking started: since this engine
  /// started or was last reset (usage is kept in memory, `KeyUsageLog`: reads never write).
  public func getKeyLastUsage(_ request: GetKeyLastUsageRequest) throws(KMSError) -> GetKeyLastUsageResponse {
    try readOnly { () throws(KMSError) -> GetKeyLastUsageResponse in
      try request.validate()
      let key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "GetKeyLastUsage")
      let (trackingStart, last) = usageLog.lastUsage(of: key.keyId)
      return GetKeyLastUsageResponse(
        keyId: key.arn, keyLastUsage: last, trackingStartDate: trackingStart,
        keyCreationDate: key.creationDate)
    }
  }

  /// Records a successful cryptographic operation for GetKeyLastUsage (memory only).
  nonisolated func used(_ key: KeyRecord, _ operation: KeyLastUsageTrackingOperation) {
    usageLog.record(key.keyId, operation, at: clock.now())
  }
}
