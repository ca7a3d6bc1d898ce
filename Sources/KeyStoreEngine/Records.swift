import Foundation
import HSMSimulator
import KMSModel
import Synchronization

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
  /// The secret access key sealed for signing proxy calls (`KeyStoreEngine+XKS.swift`).
  var sealedSecret: Data?
  /// What the last proxy calls found, and when the credential was set (the dashboard's XKS view).
  var health: XKSStoreHealth?
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

/// A key record: one pointer, shared by the engine's dictionary, its read view and the rollback
/// copy of a transaction until one of them changes it (copy on write). At 100,000 keys the two
/// dictionaries held 152-byte records inline in 262,144 buckets each (~44 MB apiece); boxed, a
/// bucket is 24 bytes and every record exists once.
@dynamicMemberLookup
struct KeyRecord: Sendable, Equatable, Codable {
  private var box: KeyRecordBox

  init(_ fields: KeyFields) { box = KeyRecordBox(fields) }

  var fields: KeyFields { box.fields }

  subscript<Value>(dynamicMember keyPath: KeyPath<KeyFields, Value>) -> Value {
    box.fields[keyPath: keyPath]
  }

  subscript<Value>(dynamicMember keyPath: WritableKeyPath<KeyFields, Value>) -> Value {
    get { box.fields[keyPath: keyPath] }
    set {
      if !isKnownUniquelyReferenced(&box) { box = KeyRecordBox(box.fields) }
      box.fields[keyPath: keyPath] = newValue
    }
  }

  static func == (lhs: KeyRecord, rhs: KeyRecord) -> Bool {
    lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
  }

  init(from decoder: any Decoder) throws { self.init(try KeyFields(from: decoder)) }
  func encode(to encoder: any Encoder) throws { try box.fields.encode(to: encoder) }
}

/// Mutated only through `KeyRecord`, and only while uniquely referenced, so sharing is safe.
private final class KeyRecordBox: @unchecked Sendable {
  var fields: KeyFields
  init(_ fields: KeyFields) { self.fields = fields }
}

/// The stored fields of a key record (see `KeyRecord`).
struct KeyFields: Sendable, Equatable, Codable {
  var keyId: String
  var sequence: UInt64
  /// `arn:aws:kms:REGION:ACCOUNT`, one shared string for every key of the engine; the ARN itself
  /// is derived (100,000 stored ARNs were 17 MB of heap).
  private var arnPrefix: String
  /// The ARN as given did not end in `:key/<keyId>` (never from the engine; an edited state file),
  /// so `arnPrefix` holds it whole.
  private var arnIsWhole = false
  var arn: String { arnIsWhole ? arnPrefix : "\(arnPrefix):key/\(keyId)" }
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
  /// What most keys never have lives behind one pointer: these fields were 200 of the record's
  /// 344 bytes, and every key of the fleet has a record.
  private var extras: KeyExtrasBox?

  init(
    keyId: String, sequence: UInt64, arn: String, origin: OriginType, customKeyStoreId: String?,
    xksKeyId: String?, description: String, creationDate: Date, enabled: Bool, deletionDate: Date?,
    pendingWindowInDays: Int?, keySpec: KeySpec? = nil, keyUsage: KeyUsageType? = nil, tags: [Tag]? = nil,
    policy: String? = nil, grants: [GrantRecord]? = nil, rotation: RotationSettings? = nil,
    materials: [MaterialVersion]? = nil, imported: ImportRecord? = nil, multiRegion: MultiRegionRecord? = nil,
    awaitingReplicaDeletion: Bool? = nil
  ) {
    self.keyId = keyId
    self.sequence = sequence
    let suffix = ":key/\(keyId)"
    if arn.hasSuffix(suffix) {
      arnPrefix = ArnPrefixes.intern(String(arn.dropLast(suffix.count)))
    } else {
      arnPrefix = arn
      arnIsWhole = true
    }
    self.origin = origin
    self.customKeyStoreId = customKeyStoreId
    self.xksKeyId = xksKeyId
    self.description = description
    self.creationDate = creationDate
    self.enabled = enabled
    self.deletionDate = deletionDate
    self.pendingWindowInDays = pendingWindowInDays
    self.keySpec = keySpec
    self.keyUsage = keyUsage
    let given = KeyExtras(
      tags: tags, policy: policy, grants: grants, rotation: rotation, materials: materials,
      imported: imported,
      multiRegion: multiRegion, awaitingReplicaDeletion: awaitingReplicaDeletion)
    extras = given.isEmpty ? nil : KeyExtrasBox(given)
  }

  var tags: [Tag]? {
    get { extras?.value.tags }
    set { updateExtras { $0.tags = newValue } }
  }
  /// The key policy document as given; nil: the default key policy.
  var policy: String? {
    get { extras?.value.policy }
    set { updateExtras { $0.policy = newValue } }
  }
  var grants: [GrantRecord]? {
    get { extras?.value.grants }
    set { updateExtras { $0.grants = newValue } }
  }
  var rotation: RotationSettings? {
    get { extras?.value.rotation }
    set { updateExtras { $0.rotation = newValue } }
  }
  /// Every version of the key material, oldest first (symmetric keys that were rotated or had
  /// material imported); nil: one version stored under the key ID.
  var materials: [MaterialVersion]? {
    get { extras?.value.materials }
    set { updateExtras { $0.materials = newValue } }
  }
  /// Origin EXTERNAL: what was imported and the pending import parameters.
  var imported: ImportRecord? {
    get { extras?.value.imported }
    set { updateExtras { $0.imported = newValue } }
  }
  var multiRegion: MultiRegionRecord? {
    get { extras?.value.multiRegion }
    set { updateExtras { $0.multiRegion = newValue } }
  }
  /// A multi-Region primary key scheduled for deletion while it still has replicas
  /// (PendingReplicaDeletion): `pendingWindowInDays` is kept and `deletionDate` is set only when
  /// the last replica is deleted.
  var awaitingReplicaDeletion: Bool? {
    get { extras?.value.awaitingReplicaDeletion }
    set { updateExtras { $0.awaitingReplicaDeletion = newValue } }
  }

  /// PendingDeletion or PendingReplicaDeletion: scheduled for deletion, refused by most operations.
  var isPendingDeletion: Bool { deletionDate != nil || awaitingReplicaDeletion == true }

  /// Copy on write: a box is shared between copies of a record until one of them changes.
  private mutating func updateExtras(_ change: (inout KeyExtras) -> Void) {
    var value = extras?.value ?? KeyExtras()
    change(&value)
    extras = value.isEmpty ? nil : KeyExtrasBox(value)
  }

  static func == (lhs: KeyFields, rhs: KeyFields) -> Bool {
    lhs.keyId == rhs.keyId && lhs.sequence == rhs.sequence && lhs.arn == rhs.arn && lhs.origin == rhs.origin
      && lhs.customKeyStoreId == rhs.customKeyStoreId && lhs.xksKeyId == rhs.xksKeyId
      && lhs.description == rhs.description && lhs.creationDate == rhs.creationDate
      && lhs.enabled == rhs.enabled && lhs.deletionDate == rhs.deletionDate
      && lhs.pendingWindowInDays == rhs.pendingWindowInDays && lhs.keySpec == rhs.keySpec
      && lhs.keyUsage == rhs.keyUsage
      && (lhs.extras?.value ?? KeyExtras()) == (rhs.extras?.value ?? KeyExtras())
  }

  // The saved form stays flat (the format of every state file written so far).
  private enum CodingKeys: String, CodingKey {
    case keyId, sequence, arn, origin, customKeyStoreId, xksKeyId, description, creationDate, enabled
    case deletionDate, pendingWindowInDays, keySpec, keyUsage, tags, policy, grants, rotation, materials
    case imported, multiRegion, awaitingReplicaDeletion
  }

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      keyId: try container.decode(String.self, forKey: .keyId),
      sequence: try container.decode(UInt64.self, forKey: .sequence),
      arn: try container.decode(String.self, forKey: .arn),
      origin: try container.decode(OriginType.self, forKey: .origin),
      customKeyStoreId: try container.decodeIfPresent(String.self, forKey: .customKeyStoreId),
      xksKeyId: try container.decodeIfPresent(String.self, forKey: .xksKeyId),
      description: try container.decode(String.self, forKey: .description),
      creationDate: try container.decode(Date.self, forKey: .creationDate),
      enabled: try container.decode(Bool.self, forKey: .enabled),
      deletionDate: try container.decodeIfPresent(Date.self, forKey: .deletionDate),
      pendingWindowInDays: try container.decodeIfPresent(Int.self, forKey: .pendingWindowInDays),
      keySpec: try container.decodeIfPresent(KeySpec.self, forKey: .keySpec),
      keyUsage: try container.decodeIfPresent(KeyUsageType.self, forKey: .keyUsage),
      tags: try container.decodeIfPresent([Tag].self, forKey: .tags),
      policy: try container.decodeIfPresent(String.self, forKey: .policy),
      grants: try container.decodeIfPresent([GrantRecord].self, forKey: .grants),
      rotation: try container.decodeIfPresent(RotationSettings.self, forKey: .rotation),
      materials: try container.decodeIfPresent([MaterialVersion].self, forKey: .materials),
      imported: try container.decodeIfPresent(ImportRecord.self, forKey: .imported),
      multiRegion: try container.decodeIfPresent(MultiRegionRecord.self, forKey: .multiRegion),
      awaitingReplicaDeletion: try container.decodeIfPresent(Bool.self, forKey: .awaitingReplicaDeletion))
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(keyId, forKey: .keyId)
    try container.encode(sequence, forKey: .sequence)
    try container.encode(arn, forKey: .arn)
    try container.encode(origin, forKey: .origin)
    try container.encodeIfPresent(customKeyStoreId, forKey: .customKeyStoreId)
    try container.encodeIfPresent(xksKeyId, forKey: .xksKeyId)
    try container.encode(description, forKey: .description)
    try container.encode(creationDate, forKey: .creationDate)
    try container.encode(enabled, forKey: .enabled)
    try container.encodeIfPresent(deletionDate, forKey: .deletionDate)
    try container.encodeIfPresent(pendingWindowInDays, forKey: .pendingWindowInDays)
    try container.encodeIfPresent(keySpec, forKey: .keySpec)
    try container.encodeIfPresent(keyUsage, forKey: .keyUsage)
    try container.encodeIfPresent(tags, forKey: .tags)
    try container.encodeIfPresent(policy, forKey: .policy)
    try container.encodeIfPresent(grants, forKey: .grants)
    try container.encodeIfPresent(rotation, forKey: .rotation)
    try container.encodeIfPresent(materials, forKey: .materials)
    try container.encodeIfPresent(imported, forKey: .imported)
    try container.encodeIfPresent(multiRegion, forKey: .multiRegion)
    try container.encodeIfPresent(awaitingReplicaDeletion, forKey: .awaitingReplicaDeletion)
  }
}

/// The few ARN prefixes (Region and account) of an engine's keys, kept once.
private enum ArnPrefixes {
  private static let known = Mutex<[String]>([])

  static func intern(_ prefix: String) -> String {
    known.withLock { known in
      if let existing = known.first(where: { $0 == prefix }) { return existing }
      if known.count < 64 { known.append(prefix) }
      return prefix
    }
  }
}

/// The rarely set parts of a key record (see `KeyFields.extras`).
struct KeyExtras: Sendable, Equatable {
  var tags: [Tag]? = nil
  var policy: String? = nil
  var grants: [GrantRecord]? = nil
  var rotation: RotationSettings? = nil
  var materials: [MaterialVersion]? = nil
  var imported: ImportRecord? = nil
  var multiRegion: MultiRegionRecord? = nil
  /// A multi-Region primary key scheduled for deletion while it still has replicas
  /// (PendingReplicaDeletion): `pendingWindowInDays` is kept and `deletionDate` is set only when
  /// the last replica is deleted.
  var awaitingReplicaDeletion: Bool? = nil

  var isEmpty: Bool { self == KeyExtras() }
}

/// Immutable, so sharing one between copies of a record is safe; a change makes a new box.
final class KeyExtrasBox: Sendable {
  let value: KeyExtras
  init(_ value: KeyExtras) { self.value = value }
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
