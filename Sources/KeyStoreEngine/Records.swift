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
  /// External key stores only, behind one pointer: inline, the settings and the proxy's health
  /// were most of a record's size, in every bucket of the engine's table of stores.
  var xks: XksSettings? {
    get { xksBox?.value }
    set { xksBox = newValue.map(XksSettingsBox.init) }
  }
  private var xksBox: XksSettingsBox?
  var creationDate: Date
  /// The connection state with when it began and the transition in flight.
  var machine: ConnectionStateMachine

  init(
    id: String, sequence: UInt64, name: String, type: CustomKeyStoreType, clusterId: String?,
    trustAnchor: String?, passwordDigest: PasswordDigest?, xks: XksSettings?, creationDate: Date,
    machine: ConnectionStateMachine
  ) {
    self.id = id
    self.sequence = sequence
    self.name = name
    self.type = type
    self.clusterId = clusterId
    self.trustAnchor = trustAnchor
    self.passwordDigest = passwordDigest
    xksBox = xks.map(XksSettingsBox.init)
    self.creationDate = creationDate
    self.machine = machine
  }

  static func == (lhs: StoreRecord, rhs: StoreRecord) -> Bool {
    lhs.id == rhs.id && lhs.sequence == rhs.sequence && lhs.name == rhs.name && lhs.type == rhs.type
      && lhs.clusterId == rhs.clusterId && lhs.trustAnchor == rhs.trustAnchor
      && lhs.passwordDigest == rhs.passwordDigest && lhs.xks == rhs.xks
      && lhs.creationDate == rhs.creationDate
      && lhs.machine == rhs.machine
  }
}

/// Immutable, so copies of a store record share it; a change makes a new box.
private final class XksSettingsBox: Sendable {
  let value: XksSettings
  init(_ value: XksSettings) { self.value = value }
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
    xksBox = try container.decodeIfPresent(XksSettings.self, forKey: .xks).map(XksSettingsBox.init)
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
///
/// Laid out for 100,000 keys: what every key has is inline (77 bytes, a 112-byte heap block with
/// its box; it was 152 bytes, a 176-byte block), the ARN is derived from a shared prefix named by
/// one byte, and what few keys have (a deletion date, an XKS key ID, tags, grants, …) lives behind
/// one shared pointer.
struct KeyFields: Sendable, Equatable, Codable {
  var keyId: String
  var sequence: UInt64
  var customKeyStoreId: String?
  var description: String
  var creationDate: Date
  /// What most keys never have lives behind one pointer: these fields were 200 of the record's
  /// 344 bytes, and every key of the fleet has a record.
  private var extras: KeyExtrasBox?
  /// `arn:aws:kms:REGION:ACCOUNT` as an entry of `ArnPrefixes` (one per Region and account of the
  /// process); the ARN itself is derived (100,000 stored ARNs were 17 MB of heap).
  /// `ArnPrefixes.absent`: the ARN is kept whole in the extras (it did not end in `:key/<keyId>`,
  /// which only an edited state file does, or the table of prefixes is full).
  private var arnPrefix: UInt8
  var origin: OriginType
  /// The Enabled/Disabled the user asked for; shown only while the store is CONNECTED.
  var enabled: Bool
  // Issue 14: every field below is optional, so state files written before it still load; nil
  // means what a key created then had (a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key, default policy,
  // no tags, grants or rotation).
  /// nil: SYMMETRIC_DEFAULT.
  var keySpec: KeySpec? = nil
  /// nil: ENCRYPT_DECRYPT.
  var keyUsage: KeyUsageType? = nil

  var arn: String {
    if let prefix = ArnPrefixes.prefix(arnPrefix) { return "\(prefix):key/\(keyId)" }
    return extras?.value.wholeArn ?? ""
  }

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
    var wholeArn: String?
    if arn.hasSuffix(suffix), let prefix = ArnPrefixes.intern(String(arn.dropLast(suffix.count))) {
      arnPrefix = prefix
    } else {
      arnPrefix = ArnPrefixes.absent
      wholeArn = arn
    }
    self.origin = origin
    self.customKeyStoreId = customKeyStoreId
    self.description = description
    self.creationDate = creationDate
    self.enabled = enabled
    self.keySpec = keySpec
    self.keyUsage = keyUsage
    let given = KeyExtras(
      xksKeyId: xksKeyId, deletionDate: deletionDate, pendingWindowInDays: pendingWindowInDays,
      wholeArn: wholeArn, tags: tags, policy: policy, grants: grants, rotation: rotation,
      materials: materials,
      imported: imported,
      multiRegion: multiRegion, awaitingReplicaDeletion: awaitingReplicaDeletion)
    extras = given.isEmpty ? nil : KeyExtrasBox(given)
  }

  var xksKeyId: String? {
    get { extras?.value.xksKeyId }
    set { updateExtras { $0.xksKeyId = newValue } }
  }
  var deletionDate: Date? {
    get { extras?.value.deletionDate }
    set { updateExtras { $0.deletionDate = newValue } }
  }
  var pendingWindowInDays: Int? {
    get { extras?.value.pendingWindowInDays }
    set { updateExtras { $0.pendingWindowInDays = newValue } }
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
      && lhs.comparableExtras == rhs.comparableExtras
  }

  /// The extras without the whole ARN (compared as `arn` above, however it is kept).
  private var comparableExtras: KeyExtras {
    var value = extras?.value ?? KeyExtras()
    value.wholeArn = nil
    return value
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

/// The few ARN prefixes (Region and account) of the process's keys, kept once and named by their
/// position, so a key record holds one byte instead of a string.
private enum ArnPrefixes {
  /// No prefix: the record keeps its ARN whole.
  static let absent = UInt8.max
  /// How many are taken; interning happens under this lock.
  private static let count = Mutex<Int>(0)
  /// Append-only slots. A slot is written once, under the lock, before its number is handed out,
  /// and a number reaches a reader only inside a record published after that, so reads (every
  /// derived ARN, on the hot read path) take no lock.
  private static let slots = PrefixSlots(capacity: Int(absent))

  /// The prefix's number, nil when the table is full (the caller then keeps the ARN whole).
  static func intern(_ prefix: String) -> UInt8? {
    count.withLock { count in
      if let existing = (0..<count).first(where: { slots[$0] == prefix }) { return UInt8(existing) }
      guard count < Int(Self.absent) else { return nil }
      slots.initialize(count, to: prefix)
      count += 1
      return UInt8(count - 1)
    }
  }

  static func prefix(_ number: UInt8) -> String? {
    number == Self.absent ? nil : slots[Int(number)]
  }

  private final class PrefixSlots: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<String>
    init(capacity: Int) { storage = .allocate(capacity: capacity) }
    subscript(position: Int) -> String { storage[position] }
    func initialize(_ position: Int, to value: String) { (storage + position).initialize(to: value) }
  }
}

/// The rarely set parts of a key record (see `KeyFields.extras`).
struct KeyExtras: Sendable, Equatable {
  var xksKeyId: String? = nil
  var deletionDate: Date? = nil
  var pendingWindowInDays: Int? = nil
  /// The ARN when it is not `prefix:key/<keyId>` (see `KeyFields.arnPrefix`).
  var wholeArn: String? = nil
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
