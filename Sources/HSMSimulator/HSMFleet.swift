import Crypto
import Foundation
import KMSModel

/// Provisioning input for a simulated cluster (scenario files and tests).
public struct ClusterSpec: Sendable, Equatable {
  public var id: String?
  public var availabilityZones: [String]
  public var hsmsPerZone: Int
  /// nil provisions the cluster without a kmsuser crypto user.
  public var kmsuserPassword: String?
  public var trustAnchorPEM: String
  /// Clusters with the same lineage share a cluster certificate (restored from one backup).
  public var lineage: String?

  public init(
    id: String? = nil, availabilityZones: [String] = ["us-east-1a", "us-east-1b"], hsmsPerZone: Int = 1,
    kmsuserPassword: String? = "DemoPassw0rd", trustAnchorPEM: String, lineage: String? = nil
  ) {
    self.id = id
    self.availabilityZones = availabilityZones
    self.hsmsPerZone = hsmsPerZone
    self.kmsuserPassword = kmsuserPassword
    self.trustAnchorPEM = trustAnchorPEM
    self.lineage = lineage
  }
}

/// The simulated CloudHSM side: clusters, HSMs, kmsusers, faults and the AES-256 key material
/// that lives "in the cluster". A value type; the engine actor owns one and mutates it.
public struct HSMFleet: Sendable {
  public private(set) var clusters = TrackedDictionary<SimulatedCluster>()
  /// Creation order, for stable listings.
  public private(set) var clusterOrder: [String] = []
  /// Key material by KMS key ID, tagged with the cluster certificate it was created under, so
  /// related clusters (one backup lineage) share it and unrelated ones do not.
  public private(set) var material = TrackedDictionary<MaterialEntry>()
  public var random: SeededRandom
  /// Keys password digests; a fresh one per fleet, so digests are meaningless elsewhere.
  public let pepper: KeyBytes

  public init(seed: UInt64, pepper: KeyBytes = .random()) {
    random = SeededRandom(seed: seed ^ 0xC1D5_4A11)
    self.pepper = pepper
  }

  /// What `rollback(to:)` needs besides the tracked dictionaries' own undo records.
  public struct Checkpoint: Sendable {
    let clusterOrder: [String]
    let random: SeededRandom
  }

  /// Taken when nothing is pending (right after `drainChanges`).
  public var checkpoint: Checkpoint { Checkpoint(clusterOrder: clusterOrder, random: random) }

  /// Undoes every change since `checkpoint` was taken (a change whose save failed).
  public mutating func rollback(to checkpoint: Checkpoint) {
    clusters.rollback()
    material.rollback()
    clusterOrder = checkpoint.clusterOrder
    random = checkpoint.random
  }

  /// Which clusters and key material changed since the last call (for persistence).
  public mutating func drainChanges() -> (clusters: Set<String>, material: Set<String>) {
    (clusters.drain(), material.drain())
  }

  /// Puts saved state back (the engine resuming from its state file).
  public mutating func restore(
    clusters saved: [String: SimulatedCluster], order: [String],
    material savedMaterial: [String: MaterialEntry],
    random savedRandom: SeededRandom
  ) {
    clusters.restore(saved)
    clusterOrder = order.filter { saved[$0] != nil }
    material.restore(savedMaterial)
    random = savedRandom
  }

  public func digest(_ password: String) -> PasswordDigest {
    PasswordDigest(password: password, pepper: pepper.symmetricKey)
  }

  public func cluster(_ id: ClusterID) -> SimulatedCluster? { clusters[id.rawValue] }

  /// Every cluster, in the order they were added.
  public var clustersInOrder: [SimulatedCluster] { clusterOrder.compactMap { clusters[$0] } }

  // MARK: Provisioning

  public mutating func addCluster(_ spec: ClusterSpec, now: Date) throws(KMSError) -> String {
    let id = spec.id ?? SimulatedIDs.cluster(&random)
    guard clusters[id] == nil else {
      throw KMSError(.cloudHsmInvalidRequestException, "Cluster \(id) already exists.")
    }
    let pattern = try? NSRegularExpression(pattern: "^cluster-[2-7a-zA-Z]{11,16}$")
    guard pattern?.firstMatch(in: id, range: NSRange(id.startIndex..., in: id)) != nil else {
      throw KMSError(
        .cloudHsmInvalidRequestException, "Cluster ID '\(id)' does not match cluster-[2-7a-zA-Z]{11,16}.")
    }
    guard !spec.availabilityZones.isEmpty, Set(spec.availabilityZones).count == spec.availabilityZones.count
    else {
      throw KMSError(
        .cloudHsmInvalidRequestException, "A cluster needs one or more distinct Availability Zones.")
    }
    let lineage = spec.lineage ?? id
    var cluster = SimulatedCluster(
      clusterId: id, createdAt: now, vpcId: SimulatedIDs.vpc(&random),
      securityGroup: SimulatedIDs.securityGroup(&random),
      subnets: spec.availabilityZones.enumerated().map { index, zone in
        SimulatedSubnet(
          subnetId: SimulatedIDs.subnet(&random), availabilityZone: zone,
          cidrPrefix: "10.\(clusters.count % 250).\(index + 1)")
      },
      hsms: [],
      kmsuser: spec.kmsuserPassword.map { Kmsuser(passwordDigest: digest($0)) },
      trustAnchorPEM: spec.trustAnchorPEM,
      clusterCertificatePEM: Self.clusterCertificate(lineage: lineage, trustAnchor: spec.trustAnchorPEM))
    for zone in spec.availabilityZones {
      for _ in 0..<max(0, spec.hsmsPerZone) {
        let hsm = Self.makeHsm(in: &cluster, zone: zone, state: .active, readyAt: nil, random: &random)
        cluster.hsms.append(hsm)
      }
    }
    clusters[id] = cluster
    clusterOrder.append(id)
    return id
  }

  /// A stand-in cluster certificate: PEM-armoured, unique per lineage, stable for a given input.
  static func clusterCertificate(lineage: String, trustAnchor: String) -> String {
    let digest = SHA256.hash(data: Data((lineage + "\n" + trustAnchor).utf8))
    let body =
      Data(digest).base64EncodedString()
      + Data("kmsdash simulated cluster certificate for lineage \(lineage)".utf8).base64EncodedString()
    var lines: [String] = ["-----BEGIN CERTIFICATE-----"]
    var rest = Substring(body)
    while !rest.isEmpty {
      lines.append(String(rest.prefix(64)))
      rest = rest.dropFirst(64)
    }
    lines.append("-----END CERTIFICATE-----")
    return lines.joined(separator: "\n")
  }

  static func makeHsm(
    in cluster: inout SimulatedCluster, zone: String, state: HsmState, readyAt: Date?,
    random: inout SeededRandom
  ) -> SimulatedHsm {
    let subnetIndex = cluster.subnets.firstIndex { $0.availabilityZone == zone }!
    let host = cluster.subnets[subnetIndex].nextHost
    cluster.subnets[subnetIndex].nextHost += 1
    return SimulatedHsm(
      hsmId: SimulatedIDs.hsm(&random), availabilityZone: zone,
      subnetId: cluster.subnets[subnetIndex].subnetId,
      eniId: SimulatedIDs.eni(&random), eniIp: "\(cluster.subnets[subnetIndex].cidrPrefix).\(host)",
      state: state, readyAt: readyAt)
  }

  // MARK: CloudHSM v2 operations and QA controls

  func existing(_ clusterId: ClusterID) throws(KMSError) -> SimulatedCluster {
    guard let cluster = clusters[clusterId.rawValue], !cluster.isDeleted else {
      throw KMSError(.cloudHsmResourceNotFoundException, "Cluster \(clusterId) not found.")
    }
    return cluster
  }

  public mutating func createHsm(clusterId: ClusterID, zone: String, readyAt: Date) throws(KMSError)
    -> SimulatedHsm
  {
    var cluster = try existing(clusterId)
    guard cluster.zones.contains(zone) else {
      throw KMSError(
        .cloudHsmInvalidRequestException,
        "The cluster has no subnet in Availability Zone \(zone). Zones: \(cluster.zones.joined(separator: ", "))."
      )
    }
    let hsm = Self.makeHsm(
      in: &cluster, zone: zone, state: .createInProgress, readyAt: readyAt, random: &random)
    cluster.hsms.append(hsm)
    clusters[clusterId.rawValue] = cluster
    return hsm
  }

  public mutating func deleteHsm(clusterId: ClusterID, hsmId: HsmID?, eniId: String?, eniIp: String?)
    throws(KMSError)
    -> String
  {
    var cluster = try existing(clusterId)
    guard hsmId != nil || eniId != nil || eniIp != nil else {
      throw KMSError(.cloudHsmInvalidRequestException, "Specify HsmId, EniId or EniIp.")
    }
    guard
      let index = cluster.hsms.firstIndex(where: { hsm in
        (hsmId == nil || hsm.hsmId == hsmId?.rawValue) && (eniId == nil || hsm.eniId == eniId)
          && (eniIp == nil || hsm.eniIp == eniIp)
      })
    else {
      throw KMSError(.cloudHsmResourceNotFoundException, "No such HSM in cluster \(clusterId).")
    }
    let removed = cluster.hsms.remove(at: index)
    clusters[clusterId.rawValue] = cluster
    return removed.hsmId
  }

  public mutating func setHsmFailed(clusterId: ClusterID, hsmId: HsmID, failed: Bool) throws(KMSError) {
    var cluster = try existing(clusterId)
    guard let index = cluster.hsms.firstIndex(where: { $0.hsmId == hsmId.rawValue }) else {
      throw KMSError(.cloudHsmResourceNotFoundException, "No HSM \(hsmId) in cluster \(clusterId).")
    }
    guard cluster.hsms[index].state != .createInProgress else {
      throw KMSError(.cloudHsmInvalidRequestException, "HSM \(hsmId) is still being created.")
    }
    cluster.hsms[index].state = failed ? .degraded : .active
    clusters[clusterId.rawValue] = cluster
  }

  /// Faults may be set on a deleted cluster too (clearing CLUSTER_DELETED restores it).
  public mutating func setFault(_ fault: SimulatorFault, enabled: Bool, clusterId: ClusterID) throws(KMSError)
  {
    guard var cluster = clusters[clusterId.rawValue] else {
      throw KMSError(.cloudHsmResourceNotFoundException, "Cluster \(clusterId) not found.")
    }
    if enabled { cluster.faults.insert(fault) } else { cluster.faults.remove(fault) }
    // A locked-out user unlocks when the fault is cleared (an admin reset the password).
    if fault == .kmsuserLockedOut, !enabled { cluster.kmsuser?.failedLogins = 0 }
    clusters[clusterId.rawValue] = cluster
  }

  /// An administrator sets the kmsuser crypto user's password in the cluster (CloudHSM CLI
  /// `user change-password`). It unlocks a locked-out kmsuser (its failed logins start again, and
  /// the KMSUSER_LOCKED_OUT fault is gone) and ends KMSUSER_PASSWORD_CHANGED (the password is now
  /// a known one). KMS keeps the old password until UpdateCustomKeyStore tells it the new one:
  /// until then a connect fails with INVALID_CREDENTIALS.
  public mutating func setKmsuserPassword(_ password: String, clusterId: ClusterID) throws(KMSError) {
    var cluster = try existing(clusterId)
    guard (7...32).contains(password.count) else {
      throw KMSError(
        .cloudHsmInvalidRequestException,
        "The kmsuser password must have 7 to 32 characters (it has \(password.count)).")
    }
    guard var user = cluster.kmsuser, !cluster.faults.contains(.kmsuserMissing) else {
      throw KMSError(
        .cloudHsmResourceNotFoundException, "Cluster \(clusterId) has no kmsuser crypto user to change.")
    }
    user.passwordDigest = digest(password)
    user.failedLogins = 0
    cluster.kmsuser = user
    cluster.faults.remove(.kmsuserLockedOut)
    cluster.faults.remove(.kmsuserPasswordChanged)
    clusters[clusterId.rawValue] = cluster
  }

  /// HSMs whose creation time has come become ACTIVE. Returns the IDs that changed.
  public mutating func finishHsmCreations(now: Date) -> [(clusterId: String, hsmId: String)] {
    var finished: [(String, String)] = []
    for id in clusterOrder {
      guard var cluster = clusters[id] else { continue }
      var changed = false
      for index in cluster.hsms.indices where cluster.hsms[index].state == .createInProgress {
        if let ready = cluster.hsms[index].readyAt, ready <= now {
          cluster.hsms[index].state = .active
          cluster.hsms[index].readyAt = nil
          finished.append((id, cluster.hsms[index].hsmId))
          changed = true
        }
      }
      if changed { clusters[id] = cluster }
    }
    return finished
  }

  public var nextHsmReadyAt: Date? {
    clusters.values.flatMap(\.hsms).compactMap(\.readyAt).min()
  }

  // MARK: What KMS sees when it connects (kms-spec §2.3, §3.4, §4.1)

  /// A failure ConnectCustomKeyStore reports at once, leaving the store DISCONNECTED.
  public func quickConnectFailure(clusterId: ClusterID) -> KMSError? {
    // A missing cluster is found later, by the connect itself (CLUSTER_NOT_FOUND).
    guard let cluster = clusters[clusterId.rawValue], !cluster.isDeleted else { return nil }
    if cluster.state != .active {
      return KMSError(.cloudHsmClusterNotActiveException, "The CloudHSM cluster \(clusterId) is not active.")
    }
    if cluster.activeHsms.isEmpty {
      return KMSError(
        .cloudHsmClusterInvalidConfigurationException,
        "The CloudHSM cluster \(clusterId) has no active HSMs. Add an HSM, then try again.")
    }
    if cluster.faults.contains(.securityGroupMisconfigured) {
      return KMSError(
        .cloudHsmClusterInvalidConfigurationException,
        "The security group \(cluster.securityGroup) of cluster \(clusterId) lacks the TCP 2223-2225 rules.")
    }
    return nil
  }

  /// The code a connect ends in if the cluster is as it is now; nil means CONNECTED.
  /// Precedence follows the order of the connect process: find the cluster, reach it, create an
  /// ENI in every subnet, find an active HSM, then log in as kmsuser.
  public func connectFailure(clusterId: ClusterID, passwordDigest: PasswordDigest?)
    -> ConnectionErrorCodeType?
  {
    guard let cluster = clusters[clusterId.rawValue], !cluster.isDeleted else { return .clusterNotFound }
    if cluster.faults.contains(.internalError) { return .internalError }
    if cluster.faults.contains(.networkErrors) { return .networkErrors }
    if cluster.faults.contains(.subnetDeleted) { return .subnetNotFound }
    if cluster.faults.contains(.subnetFull) { return .insufficientFreeAddressesInSubnet }
    if cluster.activeHsms.isEmpty { return .insufficientCloudhsmHsms }
    guard let user = cluster.kmsuser, !cluster.faults.contains(.kmsuserMissing) else { return .userNotFound }
    if cluster.faults.contains(.kmsuserLockedOut) || user.failedLogins >= Kmsuser.lockoutThreshold {
      return .userLockedOut
    }
    if cluster.faults.contains(.kmsuserLoggedIn) { return .userLoggedIn }
    if cluster.faults.contains(.kmsuserPasswordChanged) || passwordDigest != user.passwordDigest {
      return .invalidCredentials
    }
    return nil
  }

  /// Applies the side effects of a finished connect attempt on the kmsuser: a wrong password
  /// counts towards the lockout, a success rotates the password to one only KMS knows.
  public mutating func recordConnectAttempt(
    clusterId: ClusterID, outcome: ConnectionErrorCodeType?
  ) -> PasswordDigest? {
    guard var cluster = clusters[clusterId.rawValue], var user = cluster.kmsuser else { return nil }
    defer { clusters[clusterId.rawValue] = cluster }
    switch outcome {
    case .invalidCredentials where !cluster.faults.contains(.kmsuserPasswordChanged):
      user.failedLogins += 1
      cluster.kmsuser = user
      return nil
    case nil:
      let rotated = digest(random.hex(32))
      user.passwordDigest = rotated
      user.failedLogins = 0
      cluster.kmsuser = user
      return rotated
    default:
      return nil
    }
  }

  // MARK: Key material

  public mutating func createKeyMaterial(keyId: String, clusterId: ClusterID) {
    guard let cluster = clusters[clusterId.rawValue] else { return }
    material[keyId] = MaterialEntry(lineage: cluster.clusterCertificatePEM, key: .random())
  }

  public mutating func createLocalKeyMaterial(keyId: String) {
    material[keyId] = MaterialEntry(lineage: MaterialEntry.kmsManaged, key: .random())
  }

  public mutating func deleteKeyMaterial(keyId: String) { material[keyId] = nil }

  /// Removes every cluster and all key material, and restarts the ID sequence from `seed`
  /// (a reset to the scenario; tracked, so a failed save puts everything back).
  public mutating func removeEverything(seed: UInt64) {
    for id in Array(clusters.keys) { clusters[id] = nil }
    for id in Array(material.keys) { material[id] = nil }
    clusterOrder = []
    random = HSMFleet(seed: seed, pepper: pepper).random
  }

  /// Stores KMS-managed secret bytes of any length (a private key, HMAC key, a rotated or imported
  /// version) under `id`; nil removes them.
  public mutating func setLocalMaterial(id: String, bytes: Data?) {
    material[id] = bytes.map { MaterialEntry(lineage: MaterialEntry.kmsManaged, key: KeyBytes(bytes: $0)) }
  }

  /// KMS-managed secret bytes stored under `id`.
  public func localMaterial(id: String) -> Data? {
    guard let entry = material[id], entry.lineage == MaterialEntry.kmsManaged else { return nil }
    return entry.key.bytes
  }

  /// The AES-256 key for a KMS key as seen through a cluster (nil if that cluster's lineage
  /// does not hold it), or for a KMS-managed key when `clusterId` is nil.
  public func keyMaterial(keyId: String, clusterId: ClusterID?) -> SymmetricKey? {
    guard let entry = material[keyId] else { return nil }
    guard let clusterId else {
      return entry.lineage == MaterialEntry.kmsManaged ? entry.key.symmetricKey : nil
    }
    guard let cluster = clusters[clusterId.rawValue], cluster.clusterCertificatePEM == entry.lineage else {
      return nil
    }
    return entry.key.symmetricKey
  }
}

/// Key material as plain bytes: Sendable and storable, turned into a `SymmetricKey` only where it
/// is used. The common 256-bit case is kept inline (a `Data` of 32 bytes costs two heap blocks,
/// ~95 bytes, for every key of the fleet); other lengths (HMAC, imported, private keys) as `Data`.
public struct KeyBytes: Sendable, Equatable, Codable {
  private enum Storage: Sendable, Equatable {
    case inline256(UInt64, UInt64, UInt64, UInt64)
    case data(Data)
  }
  private var storage: Storage

  public init(bytes: Data) {
    if bytes.count == 32 {
      var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
      withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: bytes) }
      storage = .inline256(words.0, words.1, words.2, words.3)
    } else {
      storage = .data(bytes)
    }
  }

  public var bytes: Data {
    get {
      switch storage {
      case .inline256(let a, let b, let c, let d):
        return withUnsafeBytes(of: (a, b, c, d)) { Data($0) }
      case .data(let data):
        return data
      }
    }
    set { self = KeyBytes(bytes: newValue) }
  }

  public static func random() -> KeyBytes {
    KeyBytes(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
  }

  public var symmetricKey: SymmetricKey {
    switch storage {
    case .inline256(let a, let b, let c, let d):
      return withUnsafeBytes(of: (a, b, c, d)) { SymmetricKey(data: $0) }
    case .data(let data):
      return SymmetricKey(data: data)
    }
  }

  // The saved form is the one every state file has: {"bytes": base64}.
  private enum CodingKeys: String, CodingKey { case bytes }
  public init(from decoder: any Decoder) throws {
    self.init(bytes: try decoder.container(keyedBy: CodingKeys.self).decode(Data.self, forKey: .bytes))
  }
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(bytes, forKey: .bytes)
  }
}

/// Key material with the backup lineage (cluster certificate) it lives in.
///
/// One pointer wide: the engine's material dictionary and its read view's share every entry (at
/// 100,000 keys each dictionary has 262,144 buckets, so the inline size counts four times over).
public struct MaterialEntry: Sendable, Equatable, Codable {
  public static let kmsManaged = "kms-managed"

  private final class Box: Sendable {
    let lineage: String
    let key: KeyBytes
    init(lineage: String, key: KeyBytes) {
      self.lineage = lineage
      self.key = key
    }
  }
  private var box: Box

  public init(lineage: String, key: KeyBytes) { box = Box(lineage: lineage, key: key) }

  public var lineage: String {
    get { box.lineage }
    set { box = Box(lineage: newValue, key: box.key) }
  }
  public var key: KeyBytes {
    get { box.key }
    set { box = Box(lineage: box.lineage, key: newValue) }
  }

  public static func == (lhs: MaterialEntry, rhs: MaterialEntry) -> Bool {
    lhs.box === rhs.box || (lhs.lineage == rhs.lineage && lhs.key == rhs.key)
  }

  private enum CodingKeys: String, CodingKey { case lineage, key }
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      lineage: try container.decode(String.self, forKey: .lineage),
      key: try container.decode(KeyBytes.self, forKey: .key))
  }
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(lineage, forKey: .lineage)
    try container.encode(key, forKey: .key)
  }
}
