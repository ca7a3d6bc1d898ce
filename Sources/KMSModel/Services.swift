import Foundation

/// The KMS custom-key-store API as every front door sees it: the embedded engine implements it
/// in-process, an HTTP client implements it against any KMS endpoint. Methods are named after the
/// AWS operations, take and return the AWS shapes, and throw `KMSError`.
public protocol KeyStoreService: Sendable {
  func createCustomKeyStore(_ request: CreateCustomKeyStoreRequest) async throws
    -> CreateCustomKeyStoreResponse
  func describeCustomKeyStores(_ request: DescribeCustomKeyStoresRequest) async throws
    -> DescribeCustomKeyStoresResponse
  func connectCustomKeyStore(_ request: ConnectCustomKeyStoreRequest) async throws
    -> ConnectCustomKeyStoreResponse
  func disconnectCustomKeyStore(_ request: DisconnectCustomKeyStoreRequest) async throws
    -> DisconnectCustomKeyStoreResponse
  func updateCustomKeyStore(_ request: UpdateCustomKeyStoreRequest) async throws
    -> UpdateCustomKeyStoreResponse
  func deleteCustomKeyStore(_ request: DeleteCustomKeyStoreRequest) async throws
    -> DeleteCustomKeyStoreResponse

  func createKey(_ request: CreateKeyRequest) async throws -> CreateKeyResponse
  func describeKey(_ request: DescribeKeyRequest) async throws -> DescribeKeyResponse
  func listKeys(_ request: ListKeysRequest) async throws -> ListKeysResponse
  func enableKey(_ request: EnableKeyRequest) async throws -> EnableKeyResponse
  func disableKey(_ request: DisableKeyRequest) async throws -> DisableKeyResponse
  func scheduleKeyDeletion(_ request: ScheduleKeyDeletionRequest) async throws -> ScheduleKeyDeletionResponse
  func cancelKeyDeletion(_ request: CancelKeyDeletionRequest) async throws -> CancelKeyDeletionResponse
  func createAlias(_ request: CreateAliasRequest) async throws -> CreateAliasResponse
  func deleteAlias(_ request: DeleteAliasRequest) async throws -> DeleteAliasResponse
  func listAliases(_ request: ListAliasesRequest) async throws -> ListAliasesResponse

  func encrypt(_ request: EncryptRequest) async throws -> EncryptResponse
  func decrypt(_ request: DecryptRequest) async throws -> DecryptResponse
  func reEncrypt(_ request: ReEncryptRequest) async throws -> ReEncryptResponse
  func generateDataKey(_ request: GenerateDataKeyRequest) async throws -> GenerateDataKeyResponse
  func generateDataKeyWithoutPlaintext(_ request: GenerateDataKeyWithoutPlaintextRequest) async throws
    -> GenerateDataKeyWithoutPlaintextResponse
  func generateRandom(_ request: GenerateRandomRequest) async throws -> GenerateRandomResponse

  // The rest of the KMS API (issue 14): tags, key policies, grants, rotation, aliases, imported
  // key material, multi-Region keys, asymmetric and HMAC keys.
  func tagResource(_ request: TagResourceRequest) async throws -> TagResourceResponse
  func untagResource(_ request: UntagResourceRequest) async throws -> UntagResourceResponse
  func listResourceTags(_ request: ListResourceTagsRequest) async throws -> ListResourceTagsResponse
  func getKeyPolicy(_ request: GetKeyPolicyRequest) async throws -> GetKeyPolicyResponse
  func putKeyPolicy(_ request: PutKeyPolicyRequest) async throws -> PutKeyPolicyResponse
  func listKeyPolicies(_ request: ListKeyPoliciesRequest) async throws -> ListKeyPoliciesResponse
  func createGrant(_ request: CreateGrantRequest) async throws -> CreateGrantResponse
  func listGrants(_ request: ListGrantsRequest) async throws -> ListGrantsResponse
  func listRetirableGrants(_ request: ListRetirableGrantsRequest) async throws -> ListRetirableGrantsResponse
  func retireGrant(_ request: RetireGrantRequest) async throws -> RetireGrantResponse
  func revokeGrant(_ request: RevokeGrantRequest) async throws -> RevokeGrantResponse
  func enableKeyRotation(_ request: EnableKeyRotationRequest) async throws -> EnableKeyRotationResponse
  func disableKeyRotation(_ request: DisableKeyRotationRequest) async throws -> DisableKeyRotationResponse
  func getKeyRotationStatus(_ request: GetKeyRotationStatusRequest) async throws
    -> GetKeyRotationStatusResponse
  func rotateKeyOnDemand(_ request: RotateKeyOnDemandRequest) async throws -> RotateKeyOnDemandResponse
  func listKeyRotations(_ request: ListKeyRotationsRequest) async throws -> ListKeyRotationsResponse
  func updateAlias(_ request: UpdateAliasRequest) async throws -> UpdateAliasResponse
  func updateKeyDescription(_ request: UpdateKeyDescriptionRequest) async throws
    -> UpdateKeyDescriptionResponse
  func getKeyLastUsage(_ request: GetKeyLastUsageRequest) async throws -> GetKeyLastUsageResponse
  func getParametersForImport(_ request: GetParametersForImportRequest) async throws
    -> GetParametersForImportResponse
  func importKeyMaterial(_ request: ImportKeyMaterialRequest) async throws -> ImportKeyMaterialResponse
  func deleteImportedKeyMaterial(_ request: DeleteImportedKeyMaterialRequest) async throws
    -> DeleteImportedKeyMaterialResponse
  func replicateKey(_ request: ReplicateKeyRequest) async throws -> ReplicateKeyResponse
  func updatePrimaryRegion(_ request: UpdatePrimaryRegionRequest) async throws -> UpdatePrimaryRegionResponse
  func getPublicKey(_ request: GetPublicKeyRequest) async throws -> GetPublicKeyResponse
  func sign(_ request: SignRequest) async throws -> SignResponse
  func verify(_ request: VerifyRequest) async throws -> VerifyResponse
  func generateMac(_ request: GenerateMacRequest) async throws -> GenerateMacResponse
  func verifyMac(_ request: VerifyMacRequest) async throws -> VerifyMacResponse
  func deriveSharedSecret(_ request: DeriveSharedSecretRequest) async throws -> DeriveSharedSecretResponse
  func generateDataKeyPair(_ request: GenerateDataKeyPairRequest) async throws -> GenerateDataKeyPairResponse
  func generateDataKeyPairWithoutPlaintext(_ request: GenerateDataKeyPairWithoutPlaintextRequest) async throws
    -> GenerateDataKeyPairWithoutPlaintextResponse
}

/// A test double that answers only some operations: adopting this gives every other operation
/// an implementation that throws `UnsupportedOperationException`. Real conformers (the engine,
/// the HTTP client) implement every operation and do not adopt it.
public protocol PartialKeyStoreService: KeyStoreService {}

extension PartialKeyStoreService {
  static func unsupported(_ operation: String) -> KMSError {
    KMSError(.unsupportedOperationException, "\(operation) is not implemented by this test double.")
  }

  public func tagResource(_ request: TagResourceRequest) async throws -> TagResourceResponse {
    throw Self.unsupported("TagResource")
  }

  public func untagResource(_ request: UntagResourceRequest) async throws -> UntagResourceResponse {
    throw Self.unsupported("UntagResource")
  }

  public func listResourceTags(_ request: ListResourceTagsRequest) async throws -> ListResourceTagsResponse {
    throw Self.unsupported("ListResourceTags")
  }

  public func getKeyPolicy(_ request: GetKeyPolicyRequest) async throws -> GetKeyPolicyResponse {
    throw Self.unsupported("GetKeyPolicy")
  }

  public func putKeyPolicy(_ request: PutKeyPolicyRequest) async throws -> PutKeyPolicyResponse {
    throw Self.unsupported("PutKeyPolicy")
  }

  public func listKeyPolicies(_ request: ListKeyPoliciesRequest) async throws -> ListKeyPoliciesResponse {
    throw Self.unsupported("ListKeyPolicies")
  }

  public func createGrant(_ request: CreateGrantRequest) async throws -> CreateGrantResponse {
    throw Self.unsupported("CreateGrant")
  }

  public func listGrants(_ request: ListGrantsRequest) async throws -> ListGrantsResponse {
    throw Self.unsupported("ListGrants")
  }

  public func listRetirableGrants(_ request: ListRetirableGrantsRequest) async throws
    -> ListRetirableGrantsResponse
  {
    throw Self.unsupported("ListRetirableGrants")
  }

  public func retireGrant(_ request: RetireGrantRequest) async throws -> RetireGrantResponse {
    throw Self.unsupported("RetireGrant")
  }

  public func revokeGrant(_ request: RevokeGrantRequest) async throws -> RevokeGrantResponse {
    throw Self.unsupported("RevokeGrant")
  }

  public func enableKeyRotation(_ request: EnableKeyRotationRequest) async throws -> EnableKeyRotationResponse
  {
    throw Self.unsupported("EnableKeyRotation")
  }

  public func disableKeyRotation(_ request: DisableKeyRotationRequest) async throws
    -> DisableKeyRotationResponse
  {
    throw Self.unsupported("DisableKeyRotation")
  }

  public func getKeyRotationStatus(_ request: GetKeyRotationStatusRequest) async throws
    -> GetKeyRotationStatusResponse
  {
    throw Self.unsupported("GetKeyRotationStatus")
  }

  public func rotateKeyOnDemand(_ request: RotateKeyOnDemandRequest) async throws -> RotateKeyOnDemandResponse
  {
    throw Self.unsupported("RotateKeyOnDemand")
  }

  public func listKeyRotations(_ request: ListKeyRotationsRequest) async throws -> ListKeyRotationsResponse {
    throw Self.unsupported("ListKeyRotations")
  }

  public func updateAlias(_ request: UpdateAliasRequest) async throws -> UpdateAliasResponse {
    throw Self.unsupported("UpdateAlias")
  }

  public func updateKeyDescription(_ request: UpdateKeyDescriptionRequest) async throws
    -> UpdateKeyDescriptionResponse
  {
    throw Self.unsupported("UpdateKeyDescription")
  }

  public func getKeyLastUsage(_ request: GetKeyLastUsageRequest) async throws -> GetKeyLastUsageResponse {
    throw Self.unsupported("GetKeyLastUsage")
  }

  public func getParametersForImport(_ request: GetParametersForImportRequest) async throws
    -> GetParametersForImportResponse
  {
    throw Self.unsupported("GetParametersForImport")
  }

  public func importKeyMaterial(_ request: ImportKeyMaterialRequest) async throws -> ImportKeyMaterialResponse
  {
    throw Self.unsupported("ImportKeyMaterial")
  }

  public func deleteImportedKeyMaterial(_ request: DeleteImportedKeyMaterialRequest) async throws
    -> DeleteImportedKeyMaterialResponse
  {
    throw Self.unsupported("DeleteImportedKeyMaterial")
  }

  public func replicateKey(_ request: ReplicateKeyRequest) async throws -> ReplicateKeyResponse {
    throw Self.unsupported("ReplicateKey")
  }

  public func updatePrimaryRegion(_ request: UpdatePrimaryRegionRequest) async throws
    -> UpdatePrimaryRegionResponse
  {
    throw Self.unsupported("UpdatePrimaryRegion")
  }

  public func getPublicKey(_ request: GetPublicKeyRequest) async throws -> GetPublicKeyResponse {
    throw Self.unsupported("GetPublicKey")
  }

  public func sign(_ request: SignRequest) async throws -> SignResponse {
    throw Self.unsupported("Sign")
  }

  public func verify(_ request: VerifyRequest) async throws -> VerifyResponse {
    throw Self.unsupported("Verify")
  }

  public func generateMac(_ request: GenerateMacRequest) async throws -> GenerateMacResponse {
    throw Self.unsupported("GenerateMac")
  }

  public func verifyMac(_ request: VerifyMacRequest) async throws -> VerifyMacResponse {
    throw Self.unsupported("VerifyMac")
  }

  public func deriveSharedSecret(_ request: DeriveSharedSecretRequest) async throws
    -> DeriveSharedSecretResponse
  {
    throw Self.unsupported("DeriveSharedSecret")
  }

  public func generateDataKeyPair(_ request: GenerateDataKeyPairRequest) async throws
    -> GenerateDataKeyPairResponse
  {
    throw Self.unsupported("GenerateDataKeyPair")
  }

  public func generateDataKeyPairWithoutPlaintext(_ request: GenerateDataKeyPairWithoutPlaintextRequest)
    async throws -> GenerateDataKeyPairWithoutPlaintextResponse
  {
    throw Self.unsupported("GenerateDataKeyPairWithoutPlaintext")
  }
}

/// The simulator's QA controls (the dashboard's QA panel, the wire's fault target). Only the
/// embedded engine and a kmsdash server offer these; real AWS does not.
public protocol SimulatorControl: Sendable {
  func describeClusters(_ request: DescribeClustersRequest) async throws -> DescribeClustersResponse
  /// The HSM starts `CREATE_IN_PROGRESS` and becomes `ACTIVE` on a background task.
  func createHsm(_ request: CreateHsmRequest) async throws -> CreateHsmResponse
  func deleteHsm(_ request: DeleteHsmRequest) async throws -> DeleteHsmResponse
  /// Marks an HSM `DEGRADED` (failed) or back to `ACTIVE`.
  func setHsmFailed(clusterId: String, hsmId: String, failed: Bool) async throws
  /// Sets or clears a fault; allowed at any moment, including while a connect is running.
  func setFault(_ fault: SimulatorFault, enabled: Bool, clusterId: String) async throws
  /// Sets the kmsuser crypto user's password in the cluster, as an administrator would with the
  /// CloudHSM CLI: unlocks a locked-out kmsuser. KMS keeps the password it has until
  /// UpdateCustomKeyStore, so a connect before that fails with INVALID_CREDENTIALS.
  func setKmsuserPassword(_ password: String, clusterId: String) async throws
  func faults(clusterId: String) async throws -> Set<SimulatorFault>
  /// What `ConnectCustomKeyStore` on this store would end in if the cluster stays as it is now.
  /// For a `FAILED` store, which must be disconnected first, the connect after that disconnect.
  func predictConnectOutcome(customKeyStoreId: String) async throws -> ConnectPrediction
  /// XKS (kmsdash engines; see XKSSimulatorWire.swift): what KMS last saw of the proxies, and
  /// the QA faults of proxies that are kmsdash's. The defaults say the endpoint offers neither.
  func xksHealth(customKeyStoreIds: [String]?) async throws -> [String: XKSStoreHealth]
  func xksFaults(customKeyStoreId: String) async throws -> Set<XKSQAFault>
  func setXKSFault(_ fault: XKSQAFault, enabled: Bool, customKeyStoreId: String) async throws
  /// The simulated VPC endpoint services of XKS stores (XKSVPC.swift), and their QA faults.
  func xksVpcEndpointServices() async throws -> [XKSVPCEndpointService]
  func setXKSVPCEndpointServiceFault(_ fault: XKSVPCEndpointServiceFault, enabled: Bool, serviceName: String)
    async throws -> XKSVPCEndpointService
}

/// Faults a QA engineer can inject into a simulated CloudHSM cluster (kms-spec §3.4, §4.1).
/// Raw values are the wire names used by the fault target and `kmsdash fault`.
public enum SimulatorFault: String, Codable, Sendable, CaseIterable, Hashable, Comparable {
  case clusterNotActive = "CLUSTER_NOT_ACTIVE"
  case clusterDeleted = "CLUSTER_DELETED"
  case securityGroupMisconfigured = "SECURITY_GROUP_MISCONFIGURED"
  case subnetDeleted = "SUBNET_DELETED"
  case subnetFull = "SUBNET_FULL"
  case networkErrors = "NETWORK_ERRORS"
  case internalError = "INTERNAL_ERROR"
  case kmsuserMissing = "KMSUSER_MISSING"
  case kmsuserLockedOut = "KMSUSER_LOCKED_OUT"
  case kmsuserLoggedIn = "KMSUSER_LOGGED_IN"
  case kmsuserPasswordChanged = "KMSUSER_PASSWORD_CHANGED"
  case slowConnect = "SLOW_CONNECT"

  public static func < (lhs: Self, rhs: Self) -> Bool {
    allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
  }

  /// One line a QA panel can show next to the toggle.
  public var summary: String {
    switch self {
    case .clusterNotActive: "Cluster not ACTIVE (state DEGRADED)"
    case .clusterDeleted: "Cluster deleted"
    case .securityGroupMisconfigured: "Cluster security group lacks TCP 2223-2225 rules"
    case .subnetDeleted: "A private subnet of the cluster was deleted"
    case .subnetFull: "A private subnet has no free IP address"
    case .networkErrors: "Network errors between KMS and the cluster"
    case .internalError: "KMS internal error"
    case .kmsuserMissing: "kmsuser crypto user does not exist"
    case .kmsuserLockedOut: "kmsuser locked out after failed logins"
    case .kmsuserLoggedIn: "kmsuser logged in elsewhere"
    case .kmsuserPasswordChanged: "kmsuser password changed in the cluster"
    case .slowConnect: "Connects take five times longer"
    }
  }
}

/// The outcome `ConnectCustomKeyStore` would have now.
public enum ConnectPrediction: Sendable, Equatable, CustomStringConvertible {
  /// The connect would be accepted and end `CONNECTED`.
  case connects
  /// Accepted, then `FAILED` with this code.
  case fails(ConnectionErrorCodeType)
  /// Refused at once with this exception (quick failure or a state that forbids connecting).
  case refused(KMSErrorCode, String)
  /// The store is already `CONNECTED` or `CONNECTING`: connect changes nothing.
  case noChange(ConnectionStateType)

  public var description: String {
    switch self {
    case .connects: "CONNECTED"
    case .fails(let code): "FAILED (\(code.rawValue))"
    case .refused(let code, _): "refused: \(code.rawValue)"
    case .noChange(let state): "no change (already \(state.rawValue))"
    }
  }
}

/// What happened, for the dashboard's event pane and logs. Never carries a secret.
public struct FleetEvent: Sendable, Equatable, Codable {
  public enum Kind: String, Sendable, Codable {
    case storeCreated, storeUpdated, storeDeleted, connectionStateChanged
    case keyCreated, keyStateChanged, keyDeleted, aliasCreated, aliasDeleted
    case hsmCreated, hsmDeleted, hsmStateChanged, faultSet, faultCleared
    /// The kmsuser password was set in a (simulated) cluster.
    case kmsuserPasswordSet
  }

  public var sequence: UInt64
  public var date: Date
  public var kind: Kind
  public var customKeyStoreId: String?
  public var clusterId: String?
  public var connectionState: ConnectionStateType?
  public var connectionErrorCode: ConnectionErrorCodeType?
  public var summary: String

  public init(
    sequence: UInt64, date: Date, kind: Kind, customKeyStoreId: String? = nil, clusterId: String? = nil,
    connectionState: ConnectionStateType? = nil, connectionErrorCode: ConnectionErrorCodeType? = nil,
    summary: String
  ) {
    self.sequence = sequence
    self.date = date
    self.kind = kind
    self.customKeyStoreId = customKeyStoreId
    self.clusterId = clusterId
    self.connectionState = connectionState
    self.connectionErrorCode = connectionErrorCode
    self.summary = summary
  }
}

/// A consistent view of the fleet. Key states are the effective ones (kms-spec §5.4).
///
/// The lists are kept with lookups by ID. Assigning a list (or mutating it through its property)
/// rebuilds that list's lookups; `apply(_:)` patches lists and lookups in place, so a delta that
/// changes some records costs what it changed, not the size of the fleet.
public struct FleetSnapshot: Sendable, Equatable {
  public var version: UInt64
  public var region: String
  public var accountId: String
  public var stores: [CustomKeyStoresListEntry] {
    get { storeList }
    set {
      storeList = newValue
      index.index(stores: storeList)
    }
  }
  /// When each store (by ID) entered its current `ConnectionState`.
  public var stateSince: [String: Date]
  /// CloudHSM clusters with their HSMs (empty when the backend does not allow DescribeClusters).
  public var clusters: [Cluster] {
    get { clusterList }
    set {
      clusterList = newValue
      index.index(clusters: clusterList)
    }
  }
  /// Every key the backend lists: keys in custom key stores (with `customKeyStoreId`) and the
  /// account's other keys (AWS_KMS key store: symmetric, RSA, ECC, HMAC, imported, multi-Region).
  public var keys: [KeyMetadata] {
    get { keyList }
    set {
      keyList = newValue
      index.index(keys: keyList)
    }
  }
  public var aliases: [AliasListEntry] {
    get { aliasList }
    set {
      aliasList = newValue
      index.index(aliases: aliasList)
    }
  }
  /// Recent history, oldest first (bounded).
  public var events: [FleetEvent]
  /// Injected faults per cluster ID (simulator backends only).
  public var faults: [String: Set<SimulatorFault>]
  /// How a remote endpoint is doing (refresh time, latency, errors, degraded views); nil for the
  /// embedded engine.
  public var backend: BackendStatus?
  /// What the engine last saw of each external key store's proxy, by store ID (kmsdash engines
  /// only; empty elsewhere).
  public var xksHealth: [String: XKSStoreHealth] = [:]
  /// Automatic rotation and tags of the keys in `keys`, by key ID (issue 14: the keys view shows
  /// them beside the spec and usage `KeyMetadata` has). A key without an entry shows none.
  public var keyDetails: [String: KeyDetails]
  /// The (profile, Region) sources of a many-source view, by key; empty for one backend.
  public var sources: [String: FleetSource] = [:]

  private var storeList: [CustomKeyStoresListEntry]
  private var clusterList: [Cluster]
  private var keyList: [KeyMetadata]
  private var aliasList: [AliasListEntry]
  /// Lookups by ID, so a view of 10,000 stores and 100,000 keys never scans the lists per row.
  private var index = FleetIndex()

  public init(
    version: UInt64, region: String, accountId: String, stores: [CustomKeyStoresListEntry],
    stateSince: [String: Date], clusters: [Cluster], keys: [KeyMetadata], aliases: [AliasListEntry],
    events: [FleetEvent], faults: [String: Set<SimulatorFault>], backend: BackendStatus? = nil,
    keyDetails: [String: KeyDetails] = [:]
  ) {
    self.version = version
    self.region = region
    self.accountId = accountId
    self.storeList = stores
    self.stateSince = stateSince
    self.clusterList = clusters
    self.keyList = keys
    self.aliasList = aliases
    self.events = events
    self.faults = faults
    self.backend = backend
    self.keyDetails = keyDetails
    index.index(stores: stores)
    index.index(clusters: clusters)
    index.index(keys: keys)
    index.index(aliases: aliases)
  }

  /// The store with this ID.
  public func store(id: String?) -> CustomKeyStoresListEntry? {
    guard let id, let position = index.store[id] else { return nil }
    return storeList[position]
  }

  /// The cluster with this ID.
  public func cluster(_ id: String?) -> Cluster? {
    guard let id, let position = index.cluster[id] else { return nil }
    return clusterList[position]
  }

  /// The key with this ID.
  public func key(id: String?) -> KeyMetadata? {
    guard let id, let position = index.key[id] else { return nil }
    return keyList[position]
  }

  /// The keys of one custom key store, in the snapshot's order.
  public func keys(inStore id: String?) -> [KeyMetadata] {
    guard let id, let positions = index.keysByStore[id] else { return [] }
    return positions.map { keyList[$0] }
  }

  /// How many keys one custom key store has.
  public func keyCount(inStore id: String?) -> Int {
    guard let id else { return 0 }
    return index.keysByStore[id]?.count ?? 0
  }

  /// The alias names of one key, sorted.
  public func aliases(forKey keyId: String) -> [String] {
    index.aliasesByKey[keyId] ?? []
  }

  public static func == (lhs: FleetSnapshot, rhs: FleetSnapshot) -> Bool {
    // The index is derived from the lists, so it is left out.
    lhs.version == rhs.version && lhs.region == rhs.region && lhs.accountId == rhs.accountId
      && lhs.storeList == rhs.storeList && lhs.stateSince == rhs.stateSince
      && lhs.clusterList == rhs.clusterList && lhs.keyList == rhs.keyList && lhs.aliasList == rhs.aliasList
      && lhs.events == rhs.events && lhs.faults == rhs.faults && lhs.backend == rhs.backend
      && lhs.keyDetails == rhs.keyDetails && lhs.xksHealth == rhs.xksHealth
      && lhs.sources == rhs.sources
  }

  // MARK: Patching in place (used by `apply(_:)`)

  /// Replaces the store with the same ID where it is, or appends it. O(1); IDless entries are
  /// ignored.
  mutating func upsert(store entry: CustomKeyStoresListEntry) {
    guard let id = entry.customKeyStoreId else { return }
    if let at = index.store[id] {
      storeList[at] = entry
    } else {
      index.store[id] = storeList.count
      storeList.append(entry)
    }
  }

  /// Replaces the cluster with the same ID where it is, or appends it. O(1).
  mutating func upsert(cluster entry: Cluster) {
    guard let id = entry.clusterId else { return }
    if let at = index.cluster[id] {
      clusterList[at] = entry
    } else {
      index.cluster[id] = clusterList.count
      clusterList.append(entry)
    }
  }

  /// Replaces the key with the same ID where it is, or appends it. O(1), plus the keys of the
  /// two stores involved if the key moved between stores.
  mutating func upsert(key metadata: KeyMetadata) {
    if let at = index.key[metadata.keyId] {
      let before = keyList[at].customKeyStoreId
      keyList[at] = metadata
      if before != metadata.customKeyStoreId {
        index.moveKey(at: at, from: before, to: metadata.customKeyStoreId)
      }
    } else {
      let at = keyList.count
      keyList.append(metadata)
      index.key[metadata.keyId] = at
      if let store = metadata.customKeyStoreId { index.keysByStore[store, default: []].append(at) }
    }
  }

  /// Replaces the alias with the same name where it is, or appends it. O(aliases of its key).
  mutating func upsert(alias entry: AliasListEntry) {
    guard let name = entry.aliasName else { return }
    if let at = index.alias[name] {
      let before = aliasList[at].targetKeyId
      aliasList[at] = entry
      if before != entry.targetKeyId {
        index.moveAlias(name, from: before, to: entry.targetKeyId)
      }
    } else {
      index.alias[name] = aliasList.count
      aliasList.append(entry)
      index.moveAlias(name, from: nil, to: entry.targetKeyId)
    }
  }

  /// Removes records by ID: one pass over each list concerned, then its lookups are rebuilt.
  mutating func remove(stores ids: [String]) {
    guard !ids.isEmpty else { return }
    let gone = Set(ids)
    storeList.removeAll { $0.customKeyStoreId.map(gone.contains) ?? false }
    index.index(stores: storeList)
  }

  mutating func remove(clusters ids: [String]) {
    guard !ids.isEmpty else { return }
    let gone = Set(ids)
    clusterList.removeAll { $0.clusterId.map(gone.contains) ?? false }
    index.index(clusters: clusterList)
  }

  mutating func remove(keys ids: [String]) {
    guard !ids.isEmpty else { return }
    let gone = Set(ids)
    keyList.removeAll { gone.contains($0.keyId) }
    index.index(keys: keyList)
  }

  mutating func remove(aliases names: [String]) {
    guard !names.isEmpty else { return }
    let gone = Set(names)
    aliasList.removeAll { $0.aliasName.map(gone.contains) ?? false }
    index.index(aliases: aliasList)
  }
}

/// What the keys view shows of a key beyond its `KeyMetadata` (which has the key spec and usage):
/// automatic rotation and tags (issue 14).
public struct KeyDetails: Sendable, Equatable {
  /// Automatic rotation; nil when KMS cannot rotate the key automatically (keys in custom key
  /// stores, asymmetric and HMAC keys, imported key material, multi-Region replicas) or the
  /// backend did not say.
  public var rotationEnabled: Bool?
  /// Days between automatic rotations, while enabled.
  public var rotationPeriodInDays: Int?
  public var tags: [Tag]

  public init(rotationEnabled: Bool? = nil, rotationPeriodInDays: Int? = nil, tags: [Tag] = []) {
    self.rotationEnabled = rotationEnabled
    self.rotationPeriodInDays = rotationPeriodInDays
    self.tags = tags
  }
}

/// Positions in a snapshot's lists by ID (the first occurrence wins). Rebuilt per list when that
/// list is replaced; patched per record by the snapshot's upserts.
private struct FleetIndex: Sendable {
  var store: [String: Int] = [:]
  var cluster: [String: Int] = [:]
  var key: [String: Int] = [:]
  /// Positions in the key list per store, ascending (the snapshot's order).
  var keysByStore: [String: [Int]] = [:]
  var alias: [String: Int] = [:]
  /// Alias names per target key, sorted.
  var aliasesByKey: [String: [String]] = [:]

  init() {}

  mutating func index(stores: [CustomKeyStoresListEntry]) {
    store = [:]
    store.reserveCapacity(stores.count)
    for (position, entry) in stores.enumerated() {
      if let id = entry.customKeyStoreId, store[id] == nil { store[id] = position }
    }
  }

  mutating func index(clusters: [Cluster]) {
    cluster = [:]
    cluster.reserveCapacity(clusters.count)
    for (position, entry) in clusters.enumerated() {
      if let id = entry.clusterId, cluster[id] == nil { cluster[id] = position }
    }
  }

  mutating func index(keys: [KeyMetadata]) {
    keysByStore = [:]
    key = [:]
    key.reserveCapacity(keys.count)
    for (position, metadata) in keys.enumerated() {
      if let id = metadata.customKeyStoreId { keysByStore[id, default: []].append(position) }
      if key[metadata.keyId] == nil { key[metadata.keyId] = position }
    }
  }

  mutating func index(aliases: [AliasListEntry]) {
    aliasesByKey = [:]
    alias = [:]
    for (position, entry) in aliases.enumerated() {
      guard let name = entry.aliasName else { continue }
      if alias[name] == nil { alias[name] = position }
      if let target = entry.targetKeyId { aliasesByKey[target, default: []].append(name) }
    }
    for (key, names) in aliasesByKey { aliasesByKey[key] = names.sorted() }
  }

  /// A key at `position` now belongs to another store: keep both stores' positions ascending.
  mutating func moveKey(at position: Int, from old: String?, to new: String?) {
    if let old {
      keysByStore[old]?.removeAll { $0 == position }
      if keysByStore[old]?.isEmpty == true { keysByStore[old] = nil }
    }
    if let new {
      var positions = keysByStore[new, default: []]
      positions.insert(position, at: positions.partitioningIndex { $0 >= position })
      keysByStore[new] = positions
    }
  }

  /// An alias now targets another key (or is new: `old` nil): keep both keys' names sorted.
  mutating func moveAlias(_ name: String, from old: String?, to new: String?) {
    if let old {
      aliasesByKey[old]?.removeAll { $0 == name }
      if aliasesByKey[old]?.isEmpty == true { aliasesByKey[old] = nil }
    }
    if let new {
      var names = aliasesByKey[new, default: []]
      names.insert(name, at: names.partitioningIndex { $0 >= name })
      aliasesByKey[new] = names
    }
  }
}

extension Array {
  /// The first index whose element satisfies `belongsToSecondPart`, for an array partitioned so
  /// that every element failing it comes first (binary search, O(log n)).
  package func partitioningIndex(where belongsToSecondPart: (Element) throws -> Bool) rethrows -> Int {
    var low = startIndex
    var high = endIndex
    while low < high {
      let middle = low + (high - low) / 2
      if try belongsToSecondPart(self[middle]) {
        high = middle
      } else {
        low = middle + 1
      }
    }
    return low
  }
}

/// The state of a remote backend (a KMS endpoint polled over HTTP), for the dashboard's header.
public struct BackendStatus: Sendable, Equatable {
  /// The KMS endpoint URL.
  public var endpoint: String
  public var region: String
  /// The AWS profile in use, if any.
  public var profile: String?
  /// Whether the endpoint is a kmsdash server (QA controls available); nil until known.
  public var isSimulator: Bool?
  /// When the last successful refresh finished, and how long it took.
  public var lastRefresh: Date?
  public var lastLatency: Duration?
  /// Why the last refresh failed (endpoint lost, throttled, denied); nil once it works again.
  public var lastError: String?
  /// Failed refreshes in a row (0 when the last one worked).
  public var consecutiveFailures: Int
  /// When the next refresh is due.
  public var nextRefresh: Date?
  /// How it is doing, in one word (the header strip of a many-source view).
  public var health: BackendHealth = .pending
  /// What the view lacks and why, e.g. clusters hidden for lack of `cloudhsm:DescribeClusters`.
  public var notes: [String]

  public init(
    endpoint: String, region: String, profile: String? = nil, isSimulator: Bool? = nil,
    lastRefresh: Date? = nil, lastLatency: Duration? = nil, lastError: String? = nil,
    consecutiveFailures: Int = 0, nextRefresh: Date? = nil, notes: [String] = []
  ) {
    self.endpoint = endpoint
    self.region = region
    self.profile = profile
    self.isSimulator = isSimulator
    self.lastRefresh = lastRefresh
    self.lastLatency = lastLatency
    self.lastError = lastError
    self.consecutiveFailures = consecutiveFailures
    self.nextRefresh = nextRefresh
    self.notes = notes
  }

  /// True while the endpoint does not answer (or fails every refresh).
  public var isLost: Bool { lastError != nil }
}
