import Foundation
import HSMSimulator
import KMSModel

/// The engines of the other Regions one `kmsdash serve` simulates, for multi-Region keys.
public protocol RegionPeers: Sendable {
  func engine(forRegion region: String) async throws -> KeyStoreEngine
}

/// What a Region needs to hold a replica of a multi-Region key: the primary's record and the
/// bytes of every material version (kept secret in the replica's fleet, as in the primary's).
struct ReplicaSeed: Sendable {
  var record: KeyRecord
  var material: [String: Data]
}

/// ReplicateKey and UpdatePrimaryRegion across the Regions `kmsdash serve` separates (issue 14).
/// Each Region's engine changes its own records in its own transaction; the primary is updated
/// after the replica exists, so a failure leaves at worst a replica the primary does not list.
extension KeyStoreEngine {
  public func setRegionPeers(_ peers: (any RegionPeers)?) { regionPeers = peers }

  func peers(_ operation: String) throws(KMSError) -> any RegionPeers {
    guard let regionPeers else {
      throw KMSError(
        .unsupportedOperationException,
        "\(operation) needs several Regions: run `kmsdash serve`, which keeps one engine per Region.")
    }
    return regionPeers
  }

  static func checkRegion(_ region: String) throws(KMSError) {
    guard region.wholeMatch(of: /[a-z]{2}(-[a-z]+)+-[0-9]{1,2}/) != nil else {
      throw KMSError(.validationException, "'\(region.prefix(32))' is not a valid AWS Region.")
    }
  }

  /// The primary key and the material to copy (a read).
  func replicaSeed(keyId: KeyReference, replicaRegion: String) throws(KMSError) -> ReplicaSeed {
    let key = try resolveKeyById(keyId)
    try authorize(key, "ReplicateKey")
    guard let record = key.multiRegion else {
      throw KMSError(.unsupportedOperationException, "\(key.arn) is not a multi-Region key.")
    }
    guard record.primaryRegion == configuration.region else {
      throw KMSError(
        .unsupportedOperationException,
        "\(key.arn) is a replica key. Replicate the primary key in \(record.primaryRegion).")
    }
    try requireNotPendingDeletion(key)
    try Self.checkRegion(replicaRegion)
    if replicaRegion == configuration.region || record.replicaRegions.contains(replicaRegion) {
      throw KMSError(
        .alreadyExistsException,
        "Multi-Region key \(key.keyId) already has a key in \(replicaRegion).")
    }
    var material: [String: Data] = [:]
    for version in materialVersions(key) where version.deleted != true {
      if let bytes = fleet.localMaterial(id: version.storageId) { material[version.storageId] = bytes }
    }
    return ReplicaSeed(record: key, material: material)
  }

  /// Creates the replica in this Region (called on the replica Region's engine).
  func installReplica(
    _ seed: ReplicaSeed, primaryRegion: String, replicaRegions: [String], request: ReplicateKeyRequest,
    caller: String?
  ) throws(KMSError) -> ReplicateKeyResponse {
    let result = CallerIdentity.$principal.withValue(caller) { () -> Result<ReplicateKeyResponse, KMSError> in
      Result { () throws(KMSError) -> ReplicateKeyResponse in
        try installReplicaNow(
          seed, primaryRegion: primaryRegion, replicaRegions: replicaRegions, request: request)
      }
    }
    return try result.get()
  }

  private func installReplicaNow(
    _ seed: ReplicaSeed, primaryRegion: String, replicaRegions: [String], request: ReplicateKeyRequest
  ) throws(KMSError) -> ReplicateKeyResponse {
    try transaction { () throws(KMSError) -> ReplicateKeyResponse in
      let keyId = seed.record.keyId
      if keys[keyId] != nil {
        throw KMSError(
          .alreadyExistsException, "Multi-Region key \(keyId) already has a key in \(configuration.region).")
      }
      let policy = try checkNewPolicy(request.policy, bypass: request.bypassPolicyLockoutSafetyCheck ?? false)
      let tags = try checkedTags(adding: request.tags ?? [], to: [])
      var key = insertKey(
        origin: seed.record.origin, storeId: nil, xksKeyId: nil,
        description: request.description ?? seed.record.description, keyId: keyId)
      key.keySpec = seed.record.keySpec
      key.keyUsage = seed.record.keyUsage
      key.policy = policy
      key.tags = tags.isEmpty ? nil : tags
      key.multiRegion = MultiRegionRecord(primaryRegion: primaryRegion, replicaRegions: replicaRegions)
      if seed.record.origin == .external {
        key.materials = []
        key.imported = ImportRecord(materialDigest: seed.record.imported?.materialDigest)
      } else {
        key.materials = seed.record.materials
        for (storageId, bytes) in seed.material { fleet.setLocalMaterial(id: storageId, bytes: bytes) }
      }
      keys[keyId] = key
      return ReplicateKeyResponse(
        replicaKeyMetadata: metadata(key), replicaPolicy: policy ?? defaultPolicy(),
        replicaTags: key.tags ?? [])
    }
  }

  /// Sets the multi-Region configuration of this Region's copy of a key.
  func setMultiRegion(keyId: String, _ record: MultiRegionRecord) throws(KMSError) {
    try transaction { () throws(KMSError) in
      guard var key = keys[keyId] else { return }
      key.multiRegion = record
      updateKey(key, summary: "Key \(keyId) multi-Region configuration updated")
    }
  }

  public func replicateKey(_ request: ReplicateKeyRequest) async throws -> ReplicateKeyResponse {
    try request.validate()
    let peers = try peers("ReplicateKey")
    let seed = try replicaSeed(keyId: request.keyIdValue, replicaRegion: request.replicaRegion)
    let primary = configuration.region
    let before = seed.record.multiRegion?.replicaRegions ?? []
    let after = (before + [request.replicaRegion]).sorted()
    let target = try await peers.engine(forRegion: request.replicaRegion)
    let response = try await target.installReplica(
      seed, primaryRegion: primary, replicaRegions: after, request: request, caller: CallerIdentity.principal)
    let record = MultiRegionRecord(primaryRegion: primary, replicaRegions: after)
    try setMultiRegion(keyId: seed.record.keyId, record)
    for region in before {
      try await peers.engine(forRegion: region).setMultiRegion(keyId: seed.record.keyId, record)
    }
    // The replica's metadata lists every replica, including itself.
    var metadata = response.replicaKeyMetadata
    metadata?.multiRegionConfiguration = try await target.describeKey(
      DescribeKeyRequest(keyId: seed.record.keyId)
    ).keyMetadata?.multiRegionConfiguration
    return ReplicateKeyResponse(
      replicaKeyMetadata: metadata, replicaPolicy: response.replicaPolicy, replicaTags: response.replicaTags)
  }

  func primaryRecordForUpdate(keyId: KeyReference, newPrimary: String) throws(KMSError) -> (
    String, MultiRegionRecord
  ) {
    let key = try resolveKeyById(keyId)
    try authorize(key, "UpdatePrimaryRegion")
    guard let record = key.multiRegion else {
      throw KMSError(.unsupportedOperationException, "\(key.arn) is not a multi-Region key.")
    }
    guard record.primaryRegion == configuration.region else {
      throw KMSError(
        .unsupportedOperationException,
        "\(key.arn) is a replica key. Call UpdatePrimaryRegion on the primary key in \(record.primaryRegion)."
      )
    }
    try requireNotPendingDeletion(key)
    try Self.checkRegion(newPrimary)
    guard record.replicaRegions.contains(newPrimary) else {
      throw KMSError(.notFoundException, "Multi-Region key \(key.keyId) has no replica in \(newPrimary).")
    }
    return (key.keyId, record)
  }

  public func updatePrimaryRegion(_ request: UpdatePrimaryRegionRequest) async throws
    -> UpdatePrimaryRegionResponse
  {
    try request.validate()
    let peers = try peers("UpdatePrimaryRegion")
    let (keyId, record) = try primaryRecordForUpdate(
      keyId: request.keyIdValue, newPrimary: request.primaryRegion)
    let regions = Set(record.replicaRegions + [record.primaryRegion])
    let updated = MultiRegionRecord(
      primaryRegion: request.primaryRegion,
      replicaRegions: regions.subtracting([request.primaryRegion]).sorted())
    try await peers.engine(forRegion: request.primaryRegion).setMultiRegion(keyId: keyId, updated)
    try setMultiRegion(keyId: keyId, updated)
    for region in record.replicaRegions where region != request.primaryRegion {
      try await peers.engine(forRegion: region).setMultiRegion(keyId: keyId, updated)
    }
    return UpdatePrimaryRegionResponse()
  }

  /// True for a multi-Region primary key that still has replicas: ScheduleKeyDeletion puts it
  /// in PendingReplicaDeletion, and its waiting period starts when the last replica is deleted.
  func hasReplicas(_ key: KeyRecord) -> Bool {
    guard let record = key.multiRegion else { return false }
    return record.primaryRegion == configuration.region && !record.replicaRegions.isEmpty
  }

  /// A multi-Region key was deleted in this Region (its waiting period ended): the other Regions
  /// holding it are told once the deletion is saved (`deliverRegionNotices`).
  func noteMultiRegionDeletion(_ key: KeyRecord) {
    guard regionPeers != nil, let record = key.multiRegion else { return }
    let others = Set(record.replicaRegions + [record.primaryRegion]).subtracting([configuration.region])
    for region in others.sorted() {
      regionNotices.append(RegionNotice(keyId: key.keyId, deletedIn: configuration.region, to: region))
    }
  }

  /// Tells the other Regions about the multi-Region keys deleted here. Runs after the deletion's
  /// transaction is saved (never inside one); a notice that cannot be delivered is kept and tried
  /// again after the next due work. Notices live in memory only: a crash between a replica's
  /// deletion and its notice leaves the primary listing that replica.
  func deliverRegionNotices() async {
    guard !regionNotices.isEmpty else { return }
    guard let peers = regionPeers else {
      regionNotices = []
      return
    }
    let notices = regionNotices
    regionNotices = []
    var undelivered: [RegionNotice] = []
    for notice in notices {
      do {
        try await peers.engine(forRegion: notice.to).regionCopyDeleted(
          keyId: notice.keyId, region: notice.deletedIn)
      } catch {
        undelivered.append(notice)
      }
    }
    regionNotices = undelivered + regionNotices
  }

  /// Another Region's copy of a multi-Region key was deleted: it leaves this copy's replica list,
  /// and a primary in PendingReplicaDeletion whose last replica this was starts its waiting
  /// period (PendingDeletion), as in KMS.
  func regionCopyDeleted(keyId: String, region: String) throws(KMSError) {
    try transaction { () throws(KMSError) in
      guard var key = keys[keyId], var record = key.multiRegion, record.replicaRegions.contains(region) else {
        return
      }
      record.replicaRegions.removeAll { $0 == region }
      key.multiRegion = record
      var summary = "Key \(keyId): its replica in \(region) was deleted"
      if key.awaitingReplicaDeletion == true, record.replicaRegions.isEmpty {
        let days = key.pendingWindowInDays ?? 30
        key.awaitingReplicaDeletion = nil
        key.deletionDate = clock.now() + TimeInterval(days * 86_400)
        summary += "; scheduled for deletion in \(days) days"
      }
      updateKey(key, summary: summary)
    }
  }
}

/// "The copy of multi-Region key `keyId` in `deletedIn` was deleted", to the engine of `to`.
struct RegionNotice: Sendable, Equatable {
  var keyId: String
  var deletedIn: String
  var to: String
}
