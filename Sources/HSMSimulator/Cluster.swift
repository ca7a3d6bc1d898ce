import Crypto
import Foundation
import KMSModel

/// A password kept only as a keyed digest: enough to compare, useless to read back.
public struct PasswordDigest: Sendable, Equatable, Codable {
  public var bytes: Data

  public init(bytes: Data) { self.bytes = bytes }

  public init(password: String, pepper: SymmetricKey) {
    bytes = Data(HMAC<SHA256>.authenticationCode(for: Data(password.utf8), using: pepper))
  }
}

/// The CloudHSM crypto user KMS logs in as.
public struct Kmsuser: Sendable, Equatable, Codable {
  public var passwordDigest: PasswordDigest
  public var failedLogins = 0
  /// CloudHSM locks a user out after this many consecutive failed logins.
  public static let lockoutThreshold = 3

  public init(passwordDigest: PasswordDigest) { self.passwordDigest = passwordDigest }
}

public struct SimulatedSubnet: Sendable, Equatable, Codable {
  public var subnetId: String
  public var availabilityZone: String
  public var cidrPrefix: String
  public var nextHost = 10
}

public struct SimulatedHsm: Sendable, Equatable, Codable {
  public var hsmId: String
  public var availabilityZone: String
  public var subnetId: String
  public var eniId: String
  public var eniIp: String
  public var state: HsmState
  /// When a `CREATE_IN_PROGRESS` HSM becomes `ACTIVE`.
  public var readyAt: Date?
}

/// One simulated CloudHSM cluster: its network, HSMs, kmsuser and injected faults.
public struct SimulatedCluster: Sendable, Equatable, Codable {
  public var clusterId: String
  public var createdAt: Date
  public var vpcId: String
  public var securityGroup: String
  public var subnets: [SimulatedSubnet]
  public var hsms: [SimulatedHsm]
  /// nil when no kmsuser crypto user exists.
  public var kmsuser: Kmsuser?
  /// The customerCA.crt given at InitializeCluster (kms-spec §4.3: not part of `Cluster`).
  public var trustAnchorPEM: String
  /// Clusters restored from the same backup share it: that is what makes them "related".
  public var clusterCertificatePEM: String
  public var faults: Set<SimulatorFault> = []

  public var isDeleted: Bool { faults.contains(.clusterDeleted) }

  public var state: ClusterState {
    if isDeleted { return .deleted }
    if faults.contains(.clusterNotActive) { return .degraded }
    return .active
  }

  public var activeHsms: [SimulatedHsm] { hsms.filter { $0.state == .active } }

  /// At least two ACTIVE HSMs in different Availability Zones (create, update, CreateKey).
  public var hasTwoActiveHsmsInTwoZones: Bool { Set(activeHsms.map(\.availabilityZone)).count >= 2 }

  public var zones: [String] { subnets.map(\.availabilityZone) }

  /// Can KMS reach the key material right now (crypto on a CONNECTED store)?
  public var isReachable: Bool {
    !isDeleted && !faults.contains(.networkErrors) && !activeHsms.isEmpty
  }

  /// The cloudhsmv2 `Cluster` shape, as DescribeClusters returns it.
  public func describe() -> Cluster {
    Cluster(
      backupPolicy: .default,
      backupRetentionPolicy: BackupRetentionPolicy(type: .days, value: "90"),
      clusterId: clusterId,
      createTimestamp: createdAt,
      hsms: hsms.map { hsm in
        Hsm(
          availabilityZone: hsm.availabilityZone, clusterId: clusterId, subnetId: hsm.subnetId,
          eniId: hsm.eniId, eniIp: hsm.eniIp, hsmId: hsm.hsmId, hsmType: "hsm2m.medium", state: hsm.state,
          stateMessage: hsm.state == .active ? "HSM created." : hsm.state.rawValue)
      },
      hsmType: "hsm2m.medium",
      securityGroup: securityGroup,
      state: state,
      stateMessage: state == .active ? "Cluster is active." : "Cluster is \(state.rawValue).",
      subnetMapping: Dictionary(uniqueKeysWithValues: subnets.map { ($0.availabilityZone, $0.subnetId) }),
      vpcId: vpcId,
      networkType: .ipv4,
      certificates: Certificates(clusterCertificate: clusterCertificatePEM),
      mode: .fips
    )
  }
}
