import Crypto
import Foundation
import HSMSimulator
import KMSModel

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A reader lock made of independent stripes: a reader locks only the stripe its thread maps to,
/// so readers on different cores share no lock and no cache line; the writer locks every stripe
/// (in order), which excludes all readers at once. Writes are rare (one per committed engine
/// transaction) and short (O(changed) dictionary assignments); reads are the hot path.
final class StripedReadLock: @unchecked Sendable {
  private static let stripeBytes = 128  // two cache lines: no false sharing between stripes
  private let stripes: [UnsafeMutablePointer<pthread_mutex_t>]

  init(stripes count: Int = 16) {
    stripes = (0..<count).map { _ in
      let raw = UnsafeMutableRawPointer.allocate(byteCount: Self.stripeBytes, alignment: 64)
      let mutex = raw.bindMemory(to: pthread_mutex_t.self, capacity: 1)
      pthread_mutex_init(mutex, nil)
      return mutex
    }
  }

  deinit {
    for mutex in stripes {
      pthread_mutex_destroy(mutex)
      UnsafeMutableRawPointer(mutex).deallocate()
    }
  }

  private var stripeOfThisThread: UnsafeMutablePointer<pthread_mutex_t> {
    var thread = pthread_self()
    let bits = withUnsafeBytes(of: &thread) { $0.load(as: UInt.self) }
    let mixed = (bits >> 12) &* 0x9E37_79B9_7F4A_7C15
    return stripes[Int(truncatingIfNeeded: mixed >> 58) % stripes.count]
  }

  func withReadLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    let mutex = stripeOfThisThread
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body()
  }

  func withWriteLock<T>(_ body: () -> T) -> T {
    for mutex in stripes { pthread_mutex_lock(mutex) }
    defer { for mutex in stripes.reversed() { pthread_mutex_unlock(mutex) } }
    return body()
  }
}

/// What a read needs of a custom key store (derived at commit time from its record).
struct StoreReadEntry: Sendable, Equatable {
  var type: CustomKeyStoreType
  var connectionState: ConnectionStateType
  var keysUsable: Bool
  var clusterId: String?

  init(_ store: StoreRecord) {
    type = store.type
    connectionState = store.machine.connectionState
    keysUsable = store.machine.keysUsable
    clusterId = store.clusterId
  }
}

/// What a read needs of a cluster.
struct ClusterReadEntry: Sendable, Equatable {
  var isReachable: Bool
  var lineage: String

  init(_ cluster: SimulatedCluster) {
    isReachable = cluster.isReachable
    lineage = cluster.clusterCertificatePEM
  }
}

/// A key's record and the material stored under its ID, side by side: one table for both (at
/// 100,000 keys a `[String: …]` has 262,144 buckets, so a second table by the same IDs cost 6 MB).
/// Material stored under other IDs (older versions, wrapping keys) has an entry without a record.
struct ReadKeyEntry {
  var record: KeyRecord?
  var material: MaterialEntry?
}

/// The committed state reads need, keyed like the engine's own dictionaries.
struct ReadState {
  /// Key metadata is derived from the records at read time (one function with the engine), not
  /// kept: a second copy of 100,000 `KeyMetadata` cost more memory than all the keys themselves.
  /// The records and the material are the engine's own (shared with it); a `SymmetricKey` is made
  /// per use: kept, it was a second copy of every key's material.
  private(set) var keys: [String: ReadKeyEntry] = [:]
  var stores: [String: StoreReadEntry] = [:]
  var aliases: [String: String] = [:]  // alias name → target key ID
  var clusters: [String: ClusterReadEntry] = [:]
  /// Commits applied so far (tests and diagnostics).
  var commits: UInt64 = 0

  init(
    keys: [String: KeyRecord] = [:], stores: [String: StoreReadEntry] = [:], aliases: [String: String] = [:],
    clusters: [String: ClusterReadEntry] = [:], material: [String: MaterialEntry] = [:]
  ) {
    self.keys.reserveCapacity(Swift.max(keys.count, material.count))
    for (id, record) in keys { self.keys[id, default: ReadKeyEntry()].record = record }
    for (id, entry) in material { self.keys[id, default: ReadKeyEntry()].material = entry }
    self.stores = stores
    self.aliases = aliases
    self.clusters = clusters
  }

  func key(_ id: String) -> KeyRecord? { keys[id]?.record }
  func material(_ id: String) -> MaterialEntry? { keys[id]?.material }

  mutating func setKey(_ id: String, _ record: KeyRecord?) {
    update(id) { $0.record = record }
  }

  mutating func setMaterial(_ id: String, _ material: MaterialEntry?) {
    update(id) { $0.material = material }
  }

  private mutating func update(_ id: String, _ change: (inout ReadKeyEntry) -> Void) {
    var entry = keys.removeValue(forKey: id) ?? ReadKeyEntry()
    change(&entry)
    if entry.record != nil || entry.material != nil { keys[id] = entry }
  }
}

/// The changes of one committed transaction, in read-view form: nil removes the entry.
struct ReadViewChange {
  var keys: [(String, KeyRecord?)] = []
  var stores: [(String, StoreReadEntry?)] = []
  var aliases: [(String, String?)] = []
  var clusters: [(String, ClusterReadEntry?)] = []
  var material: [(String, MaterialEntry?)] = []

  var isEmpty: Bool {
    keys.isEmpty && stores.isEmpty && aliases.isEmpty && clusters.isEmpty && material.isEmpty
  }
}

/// The engine's committed state for the hot reads (DescribeKey, Encrypt, Decrypt,
/// GenerateDataKey, GenerateRandom), readable from any thread without an actor hop.
///
/// The engine updates it only after a transaction's save succeeded, and only with what that
/// transaction touched (O(changed), under the write side of a striped lock, all of one
/// transaction at once), so a read sees every commit whole or not at all, and never anything
/// uncommitted or rolled back. Crypto runs outside the lock.
public final class EngineReadView: ImmediateKeyReads, @unchecked Sendable {
  private let lock = StripedReadLock()
  private var state = ReadState()
  let accountId: String
  let region: String
  let arnPrefix: String

  init(configuration: EngineConfiguration) {
    accountId = configuration.accountId
    region = configuration.region
    arnPrefix = "arn:aws:kms:\(configuration.region):\(configuration.accountId)"
  }

  // MARK: Updates (engine only)

  func apply(_ change: ReadViewChange) {
    guard !change.isEmpty else { return }
    lock.withWriteLock {
      for (id, value) in change.keys { state.setKey(id, value) }
      for (id, value) in change.stores { state.stores[id] = value }
      for (name, value) in change.aliases { state.aliases[name] = value }
      for (id, value) in change.clusters { state.clusters[id] = value }
      for (id, value) in change.material { state.setMaterial(id, value) }
      state.commits &+= 1
    }
  }

  /// Replaces everything (the engine restoring saved state).
  func replaceAll(_ newState: ReadState) {
    lock.withWriteLock { state = newState }
  }

  /// Number of commits applied (tests).
  var commitsApplied: UInt64 { lock.withReadLock { state.commits } }

  // MARK: Lookups, each under the read lock of one stripe

  private func read<T>(_ body: (ReadState) throws(KMSError) -> T) throws(KMSError) -> T {
    try lock.withReadLock { () throws(KMSError) -> T in try body(state) }
  }

  func keyArn(_ keyId: String) -> String { "\(arnPrefix):key/\(keyId)" }
  func aliasArn(_ name: String) -> String { "\(arnPrefix):\(name)" }

  /// kms-spec §5: a key ID, key ARN, alias name or alias ARN, by the engine's own rules.
  private func resolveKey(_ reference: KeyReference, in state: ReadState) throws(KMSError) -> KeyRecord {
    try KeyStoreEngine.resolveKey(
      reference, arnPrefix: arnPrefix, key: { state.key($0) }, aliasTarget: { state.aliases[$0] })
  }

  /// The view answers only what it answers exactly as the engine would: a plain symmetric key
  /// (one version of material, default key policy, no grant tokens in play, not imported, not
  /// multi-Region, not external). Anything else throws, and the caller takes the engine's path.
  private func requirePlain(_ key: KeyRecord, grantTokens: [String]?) throws(KMSError) {
    let plain =
      (key.keySpec ?? .symmetricDefault) == .symmetricDefault
      && (key.keyUsage ?? .encryptDecrypt) == .encryptDecrypt && key.materials == nil && key.policy == nil
      && key.imported == nil && key.multiRegion == nil && key.xksKeyId == nil && key.origin != .external
      && (grantTokens ?? []).isEmpty
    if !plain { throw KMSError(.kmsInternalException, "Not answered from the read view.") }
  }

  private func context(_ key: KeyRecord, in state: ReadState) -> KeyStoreEngine.KeyStoreContext? {
    guard let storeId = key.customKeyStoreId else { return nil }
    guard let store = state.stores[storeId] else {
      return .init(keysUsable: false, cloudHsmClusterId: nil)
    }
    return .init(
      keysUsable: store.keysUsable, cloudHsmClusterId: store.type == .awsCloudhsm ? store.clusterId : nil)
  }

  private static func effectiveState(_ key: KeyRecord, _ context: KeyStoreEngine.KeyStoreContext?) -> KeyState
  {
    KeyStoreEngine.effectiveState(key, context, pendingImport: false)  // plain keys are never imported
  }

  /// The engine's `usableMaterial`: the checks of kms-spec §5.4/§5.5 in order, then the material.
  private func usableMaterial(_ key: KeyRecord, in state: ReadState) throws(KMSError) -> SymmetricKey {
    try KeyStoreEngine.requireUsable(Self.effectiveState(key, context(key, in: state)), arn: key.arn)
    let store = key.customKeyStoreId.flatMap { state.stores[$0] }
    if let clusterId = store?.clusterId {
      guard let cluster = state.clusters[clusterId], cluster.isReachable,
        let material = state.material(key.keyId), material.lineage == cluster.lineage
      else { throw KMSError.clusterUnreachable() }
      return material.key.symmetricKey
    }
    guard let material = state.material(key.keyId), material.lineage == MaterialEntry.kmsManaged else {
      throw KMSError(.kmsInternalException, "The key material of \(key.arn) is missing.")
    }
    return material.key.symmetricKey
  }

  private func seal(_ plaintext: Data, key: KeyRecord, material: SymmetricKey, context: [String: String]?)
    throws(KMSError) -> Data
  {
    try KeyStoreEngine.sealSymmetric(plaintext, reference: key.keyId, material: material, context: context)
  }

  // MARK: ImmediateKeyReads

  public func describeKeyNow(_ request: DescribeKeyRequest) throws(KMSError) -> DescribeKeyResponse {
    try request.validate()
    let (key, storeContext) = try read {
      (state) throws(KMSError) -> (KeyRecord, KeyStoreEngine.KeyStoreContext?) in
      let key = try resolveKey(request.keyIdValue, in: state)
      return (key, self.context(key, in: state))
    }
    guard key.policy == nil, (request.grantTokens ?? []).isEmpty else {
      throw KMSError(.kmsInternalException, "Not answered from the read view.")
    }
    let metadata = KeyStoreEngine.describe(key, storeContext, accountId: accountId, region: region)
    return DescribeKeyResponse(keyMetadata: metadata)
  }

  func encrypt(_ request: EncryptRequest, used: (_ keyId: String) -> Void) throws(KMSError)
    -> EncryptResponse
  {
    try request.validate()
    // The engine's order: resolve, algorithm, material checks, seal, then DryRun.
    let (key, material) = try read { (state) throws(KMSError) -> (KeyRecord, SymmetricKey) in
      let key = try resolveKey(request.keyIdValue, in: state)
      try requirePlain(key, grantTokens: request.grantTokens)
      try KeyStoreEngine.requireSymmetricDefault(request.encryptionAlgorithm, arn: key.arn)
      return (key, try usableMaterial(key, in: state))
    }
    let blob = try seal(request.plaintext, key: key, material: material, context: request.encryptionContext)
    try dryRun(request.dryRun)
    used(key.keyId)
    return EncryptResponse(ciphertextBlob: blob, keyId: key.arn, encryptionAlgorithm: .symmetricDefault)
  }

  func decrypt(_ request: DecryptRequest, used: (_ keyId: String) -> Void) throws(KMSError)
    -> DecryptResponse
  {
    try request.validate()
    guard let blob = request.ciphertextBlob else { throw KMSError.validation([.missing("ciphertextBlob")]) }
    if request.recipient != nil {
      throw KMSError(
        .unsupportedOperationException, "Recipient (Nitro Enclaves attestation) is not supported.")
    }
    // An XKS key's blob needs its proxy: the engine answers it.
    if XKSBlob.looksLikeOne(blob) {
      throw KMSError(.kmsInternalException, "Not answered from the read view.")
    }
    let parsed = CiphertextBlob.parse(blob)
    let (key, material) = try read { (state) throws(KMSError) -> (KeyRecord, SymmetricKey) in
      guard let parsed, let key = state.key(parsed.keyId) else {
        // An unknown KeyId is reported as such.
        if let keyId = try request.keyIdValue { _ = try resolveKey(keyId, in: state) }
        throw KMSError(
          .invalidCiphertextException, "The ciphertext is invalid or was not produced by this service.")
      }
      if let keyId = try request.keyIdValue {
        let requested = try resolveKey(keyId, in: state)
        guard requested.keyId == key.keyId else {
          throw KMSError(
            .incorrectKeyException,
            "The key ID in the request does not identify the KMS key that encrypted the ciphertext.")
        }
      }
      try requirePlain(key, grantTokens: request.grantTokens)
      return (key, try usableMaterial(key, in: state))
    }
    guard let parsed,
      let plaintext = CiphertextBlob.open(
        parsed, material: material, encryptionContext: request.encryptionContext)
    else {
      throw KMSError(
        .invalidCiphertextException,
        "The ciphertext is invalid, was altered, or the encryption context does not match.")
    }
    try KeyStoreEngine.requireSymmetricDefault(request.encryptionAlgorithm, arn: key.arn)
    try dryRun(request.dryRun)
    used(key.keyId)
    return DecryptResponse(keyId: key.arn, plaintext: plaintext, encryptionAlgorithm: .symmetricDefault)
  }

  func generateDataKey(_ request: GenerateDataKeyRequest, used: (_ keyId: String) -> Void)
    throws(KMSError) -> GenerateDataKeyResponse
  {
    try request.validate()
    if request.recipient != nil {
      throw KMSError(
        .unsupportedOperationException, "Recipient (Nitro Enclaves attestation) is not supported.")
    }
    let length: Int
    switch (request.keySpec != nil, request.numberOfBytes) {
    case (true, nil): length = request.keySpecValue == .aes128 ? 16 : 32
    case (false, let bytes?): length = bytes
    default: throw KMSError(.validationException, "Please specify either number of bytes or key spec.")
    }
    let (key, material) = try read { (state) throws(KMSError) -> (KeyRecord, SymmetricKey) in
      let key = try resolveKey(request.keyIdValue, in: state)
      try requirePlain(key, grantTokens: request.grantTokens)
      return (key, try usableMaterial(key, in: state))
    }
    let plaintext = KeyCrypto.randomBytes(length)
    let blob = try seal(plaintext, key: key, material: material, context: request.encryptionContext)
    try dryRun(request.dryRun)
    used(key.keyId)
    return GenerateDataKeyResponse(ciphertextBlob: blob, plaintext: plaintext, keyId: key.arn)
  }

  public func encryptNow(_ request: EncryptRequest) throws(KMSError) -> EncryptResponse {
    try encrypt(request, used: { _ in })
  }
  public func decryptNow(_ request: DecryptRequest) throws(KMSError) -> DecryptResponse {
    try decrypt(request, used: { _ in })
  }
  public func generateDataKeyNow(_ request: GenerateDataKeyRequest) throws(KMSError)
    -> GenerateDataKeyResponse
  {
    try generateDataKey(request, used: { _ in })
  }

  public func generateRandomNow(_ request: GenerateRandomRequest) throws(KMSError) -> GenerateRandomResponse {
    try request.validate()
    if request.recipient != nil {
      throw KMSError(
        .unsupportedOperationException, "Recipient (Nitro Enclaves attestation) is not supported.")
    }
    guard let count = request.numberOfBytes else { throw KMSError.validation([.missing("numberOfBytes")]) }
    if let storeId = try request.customKeyStoreIdValue {
      try read { (state) throws(KMSError) in
        guard let store = state.stores[storeId.rawValue] else {
          throw KMSError.customKeyStoreNotFound(storeId.rawValue)
        }
        guard store.type == .awsCloudhsm else {
          throw KMSError(
            .unsupportedOperationException,
            "GenerateRandom is not supported for external key store \(storeId).")
        }
        guard store.connectionState == .connected else {
          throw KMSError(
            .customKeyStoreInvalidStateException,
            "Custom key store \(storeId) is \(store.connectionState.rawValue). It must be CONNECTED.")
        }
        guard let cluster = store.clusterId.flatMap({ state.clusters[$0] }), cluster.isReachable else {
          throw KMSError(
            .customKeyStoreInvalidStateException,
            "KMS cannot communicate with the CloudHSM cluster of \(storeId).")
        }
      }
    }
    return GenerateRandomResponse(plaintext: KeyCrypto.randomBytes(count))
  }
}

extension KeyStoreEngine {
  /// What the running transaction touched, in read-view form (called after its save succeeded).
  func readViewChange() -> ReadViewChange {
    var change = ReadViewChange()
    for id in keys.touched {
      change.keys.append((id, keys[id]))
    }
    for id in stores.touched { change.stores.append((id, stores[id].map(StoreReadEntry.init))) }
    for name in aliases.touched { change.aliases.append((name, aliases[name]?.targetKeyId)) }
    for id in fleet.clusters.touched {
      change.clusters.append((id, fleet.clusters[id].map(ClusterReadEntry.init)))
    }
    for id in fleet.material.touched {
      change.material.append((id, fleet.material[id]))
    }
    return change
  }

  /// Everything, for a restored engine (O(n) once, at start).
  func fullReadState() -> ReadState {
    ReadState(
      keys: keys.storage,
      stores: stores.storage.mapValues(StoreReadEntry.init),
      aliases: aliases.storage.mapValues(\.targetKeyId),
      clusters: fleet.clusters.storage.mapValues(ClusterReadEntry.init),
      material: fleet.material.storage)
  }
}

extension KeyStoreEngine: ImmediateKeyReads {
  public nonisolated func describeKeyNow(_ request: DescribeKeyRequest) throws(KMSError)
    -> DescribeKeyResponse
  {
    try readView.describeKeyNow(request)
  }
  public nonisolated func encryptNow(_ request: EncryptRequest) throws(KMSError) -> EncryptResponse {
    try readView.encrypt(request) { usageLog.record($0, .encrypt, at: clock.now()) }
  }
  public nonisolated func decryptNow(_ request: DecryptRequest) throws(KMSError) -> DecryptResponse {
    try readView.decrypt(request) { usageLog.record($0, .decrypt, at: clock.now()) }
  }
  public nonisolated func generateDataKeyNow(_ request: GenerateDataKeyRequest) throws(KMSError)
    -> GenerateDataKeyResponse
  {
    try readView.generateDataKey(request) { usageLog.record($0, .generateDataKey, at: clock.now()) }
  }
  public nonisolated func generateRandomNow(_ request: GenerateRandomRequest) throws(KMSError)
    -> GenerateRandomResponse
  {
    try readView.generateRandomNow(request)
  }
}
