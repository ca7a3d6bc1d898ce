import Foundation
import HSMSimulator
import KMSModel

/// Everything the engine needs to know to build a `KeyStoreEngine`.
public struct EngineConfiguration: Sendable, Equatable {
  public var region: String
  public var accountId: String
  /// Custom key stores per account and Region (kms-spec §8; AWS default 10).
  public var storeQuota: Int
  /// KMS keys per account and Region.
  public var keyQuota: Int
  public var latency: LatencyModel
  /// Divides every simulated duration: 10 makes a 4 s connect take 0.4 s.
  public var timeScale: Double
  public var seed: UInt64
  /// How many events the history keeps.
  public var eventHistoryLimit: Int

  public init(
    region: String = "us-east-1", accountId: String = "111122223333", storeQuota: Int = 10,
    keyQuota: Int = 100_000, latency: LatencyModel = .demo, timeScale: Double = 1, seed: UInt64 = 0,
    eventHistoryLimit: Int = 500
  ) {
    self.region = region
    self.accountId = accountId
    self.storeQuota = storeQuota
    self.keyQuota = keyQuota
    self.latency = latency
    self.timeScale = timeScale
    self.seed = seed
    self.eventHistoryLimit = eventHistoryLimit
  }
}

struct XksSettings: Sendable, Equatable, Codable {
  var connectivity: XksProxyConnectivityType
  var accessKeyId: String
  var secretDigest: PasswordDigest
  var uriEndpoint: String
  var uriPath: String
  var vpcEndpointServiceName: String?
  var vpcEndpointServiceOwner: String?
}

/// Stored state of a custom key store. Key states are never stored here: they are derived.
struct StoreRecord: Sendable, Equatable, Codable {
  var id: String
  var sequence: UInt64
  var name: String
  var type: CustomKeyStoreType
  var clusterId: String?
  var trustAnchor: String?
  /// What KMS believes the kmsuser password is (a keyed digest, never the password).
  var passwordDigest: PasswordDigest?
  var xks: XksSettings?
  var creationDate: Date
  /// The connection state with when it began and the transition in flight.
  var machine: ConnectionStateMachine
}

extension StoreRecord {
  private enum CodingKeys: String, CodingKey {
    case id, sequence, name, type, clusterId, trustAnchor, passwordDigest, xks, creationDate
    case machine, stateSince, pending
  }

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    id = try container.decode(String.self, forKey: .id)
    sequence = try container.decode(UInt64.self, forKey: .sequence)
    name = try container.decode(String.self, forKey: .name)
    type = try container.decode(CustomKeyStoreType.self, forKey: .type)
    clusterId = try container.decodeIfPresent(String.self, forKey: .clusterId)
    trustAnchor = try container.decodeIfPresent(String.self, forKey: .trustAnchor)
    passwordDigest = try container.decodeIfPresent(PasswordDigest.self, forKey: .passwordDigest)
    xks = try container.decodeIfPresent(XksSettings.self, forKey: .xks)
    creationDate = try container.decode(Date.self, forKey: .creationDate)
    let saved = SavedConnection(
      machine: try container.decode(SavedConnection.Machine.self, forKey: .machine),
      stateSince: try container.decode(Date.self, forKey: .stateSince),
      pending: try container.decodeIfPresent(SavedConnection.Pending.self, forKey: .pending))
    guard let machine = saved.restored else {
      throw DecodingError.dataCorruptedError(
        forKey: .machine, in: container,
        debugDescription:
          "State \(saved.machine.state.rawValue) with that error code and transition cannot occur.")
    }
    self.machine = machine
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(id, forKey: .id)
    try container.encode(sequence, forKey: .sequence)
    try container.encode(name, forKey: .name)
    try container.encode(type, forKey: .type)
    try container.encodeIfPresent(clusterId, forKey: .clusterId)
    try container.encodeIfPresent(trustAnchor, forKey: .trustAnchor)
    try container.encodeIfPresent(passwordDigest, forKey: .passwordDigest)
    try container.encodeIfPresent(xks, forKey: .xks)
    try container.encode(creationDate, forKey: .creationDate)
    let saved = SavedConnection(machine)
    try container.encode(saved.machine, forKey: .machine)
    try container.encode(saved.stateSince, forKey: .stateSince)
    try container.encodeIfPresent(saved.pending, forKey: .pending)
  }
}

struct KeyRecord: Sendable, Equatable, Codable {
  var keyId: String
  var sequence: UInt64
  var arn: String
  var origin: OriginType
  var customKeyStoreId: String?
  var xksKeyId: String?
  var description: String
  var creationDate: Date
  /// The Enabled/Disabled the user asked for; shown only while the store is CONNECTED.
  var enabled: Bool
  var deletionDate: Date?
  var pendingWindowInDays: Int?
  // Issue 14: every field below is optional, so state files written before it still load; nil
  // means what a key created then had (a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key, default policy,
  // no tags, grants or rotation).
  /// nil: SYMMETRIC_DEFAULT.
  var keySpec: KeySpec? = nil
  /// nil: ENCRYPT_DECRYPT.
  var keyUsage: KeyUsageType? = nil
  var tags: [Tag]? = nil
  /// The key policy document as given; nil: the default key policy.
  var policy: String? = nil
  var grants: [GrantRecord]? = nil
  var rotation: RotationSettings? = nil
  /// Every version of the key material, oldest first (symmetric keys that were rotated or had
  /// material imported); nil: one version stored under the key ID.
  var materials: [MaterialVersion]? = nil
  /// Origin EXTERNAL: what was imported and the pending import parameters.
  var imported: ImportRecord? = nil
  var multiRegion: MultiRegionRecord? = nil
  /// A multi-Region primary key scheduled for deletion while it still has replicas
  /// (PendingReplicaDeletion): `pendingWindowInDays` is kept and `deletionDate` is set only when
  /// the last replica is deleted.
  var awaitingReplicaDeletion: Bool? = nil

  /// PendingDeletion or PendingReplicaDeletion: scheduled for deletion, refused by most operations.
  var isPendingDeletion: Bool { deletionDate != nil || awaitingReplicaDeletion == true }
}

/// A grant on a key (kms CreateGrant).
struct GrantRecord: Sendable, Equatable, Codable {
  var grantId: String
  var name: String?
  var granteePrincipal: String
  var retiringPrincipal: String?
  var issuingAccount: String
  var operations: [GrantOperation]
  var constraints: GrantConstraints?
  var creationDate: Date
  /// The grant token handed back by CreateGrant (valid with this key only).
  var token: String
}

struct RotationSettings: Sendable, Equatable, Codable {
  var enabled: Bool
  var periodInDays: Int
  /// When automatic rotation is next due (nil while disabled).
  var nextRotationDate: Date?
  /// An on-demand rotation not yet finished (KMS runs it in the background).
  var onDemandStartDate: Date?
}

/// One version of a key's material. `storageId` names the secret record in the fleet's material
/// and goes into ciphertext headers, so Decrypt finds the version that encrypted.
struct MaterialVersion: Sendable, Equatable, Codable {
  var materialId: String
  var storageId: String
  /// nil for the first version.
  var rotationDate: Date?
  var rotationType: RotationType?
  var description: String?
  /// Imported material: when it expires.
  var validTo: Date?
  /// Imported material deleted (DeleteImportedKeyMaterial or expiry): the version is kept, its
  /// bytes are gone until the same material is imported again.
  var deleted: Bool?
}

/// Origin EXTERNAL: the outstanding import parameters and what the imported material is.
struct ImportRecord: Sendable, Equatable, Codable {
  /// Digest of the import token from the last GetParametersForImport.
  var tokenDigest: String?
  var parametersValidTo: Date?
  var wrappingAlgorithm: String?
  /// SHA-256 of the first material imported: a later import must be the same material.
  var materialDigest: String?
  var expirationModel: ExpirationModelType?
  var validTo: Date?
}

struct MultiRegionRecord: Sendable, Equatable, Codable {
  var primaryRegion: String
  /// Every Region holding a replica (sorted).
  var replicaRegions: [String]
}

struct AliasRecord: Sendable, Equatable, Codable {
  var name: String
  var sequence: UInt64
  var targetKeyId: String
  var creationDate: Date
  var lastUpdatedDate: Date
}
