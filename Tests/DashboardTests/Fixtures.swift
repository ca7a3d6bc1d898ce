import Foundation
import KMSModel
import TerminalUI

@testable import Dashboard

enum Fixture {
  static let t0 = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21 14:13:20 UTC
  static let utc = TimeZone(identifier: "UTC")!

  static func hsm(_ id: String, _ az: String, _ state: HsmState = .active, cluster: String) -> Hsm {
    Hsm(availabilityZone: az, clusterId: cluster, hsmId: id, state: state)
  }

  static func cluster(_ id: String, _ hsms: [(String, String, HsmState)]) -> Cluster {
    Cluster(
      clusterId: id, hsms: hsms.map { hsm($0.0, $0.1, $0.2, cluster: id) }, state: .active,
      subnetMapping: Dictionary(
        uniqueKeysWithValues: Set(hsms.map(\.1)).map { ($0, "subnet-\($0.suffix(2))") }))
  }

  static func store(
    _ id: String, _ name: String, _ state: ConnectionStateType, cluster: String,
    code: ConnectionErrorCodeType? = nil,
    created: TimeInterval = 0
  ) -> CustomKeyStoresListEntry {
    CustomKeyStoresListEntry(
      customKeyStoreId: id, customKeyStoreName: name, cloudHsmClusterId: cluster,
      trustAnchorCertificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
      connectionState: state,
      connectionErrorCode: code, creationDate: t0.addingTimeInterval(-86_400 * 30 + created),
      customKeyStoreType: .awsCloudhsm)
  }

  static func key(_ n: Int, store: String, _ state: KeyState, _ desc: String) -> KeyMetadata {
    KeyMetadata(
      keyId: String(format: "00000000-0000-4000-8000-%012d", n), creationDate: t0.addingTimeInterval(-86_400),
      description: desc, keyUsage: .encryptDecrypt, keyState: state, customKeyStoreId: store,
      keySpec: .symmetricDefault)
  }

  static let payments = "cks-0de30000000000001"
  static let analytics = "cks-0de30000000000002"
  static let ledger = "cks-0de30000000000004"
  static let staging = "cks-0de30000000000005"

  static func snapshot(version: UInt64 = 1, paymentsState: ConnectionStateType = .connected) -> FleetSnapshot
  {
    FleetSnapshot(
      version: version, region: "us-east-1", accountId: "111122223333",
      stores: [
        store(payments, "payments-prod", paymentsState, cluster: "cluster-paymentsprd", created: 1),
        store(analytics, "analytics-dr", .disconnected, cluster: "cluster-analyticsdr", created: 2),
        store(
          ledger, "ledger-archive", .failed, cluster: "cluster-ledgerarch4", code: .userLockedOut, created: 3),
        store(staging, "staging-keys", .connecting, cluster: "cluster-stagingenv3", created: 4),
      ],
      stateSince: [
        payments: t0.addingTimeInterval(-3600), analytics: t0.addingTimeInterval(-7200),
        ledger: t0.addingTimeInterval(-600), staging: t0.addingTimeInterval(-12),
      ],
      clusters: [
        cluster(
          "cluster-paymentsprd",
          [
            ("hsm-aaaaaaaaaaa", "us-east-1a", .active), ("hsm-bbbbbbbbbbb", "us-east-1b", .active),
            ("hsm-ccccccccccc", "us-east-1c", .degraded),
          ]),
        cluster(
          "cluster-analyticsdr",
          [("hsm-ddddddddddd", "us-east-1a", .active), ("hsm-eeeeeeeeeee", "us-east-1b", .active)]),
        cluster(
          "cluster-ledgerarch4",
          [("hsm-fffffffffff", "us-east-1a", .active), ("hsm-ggggggggggg", "us-east-1c", .active)]),
        cluster(
          "cluster-stagingenv3",
          [("hsm-hhhhhhhhhhh", "us-east-1a", .active), ("hsm-iiiiiiiiiii", "us-east-1b", .active)]),
      ],
      keys: [
        key(1, store: payments, paymentsState == .connected ? .enabled : .unavailable, "Card tokenization"),
        key(2, store: payments, paymentsState == .connected ? .enabled : .unavailable, "PIN block wrapping"),
        key(3, store: payments, paymentsState == .connected ? .disabled : .unavailable, "Legacy gateway"),
        key(4, store: payments, .pendingDeletion, "Old export"),
        key(5, store: analytics, .unavailable, "Warehouse snapshots"),
        key(6, store: ledger, .unavailable, "Archived ledgers"),
      ],
      aliases: [
        AliasListEntry(
          aliasName: "alias/payments/tokenization",
          targetKeyId: String(format: "00000000-0000-4000-8000-%012d", 1)),
        AliasListEntry(
          aliasName: "alias/payments/pin", targetKeyId: String(format: "00000000-0000-4000-8000-%012d", 2)),
        AliasListEntry(
          aliasName: "alias/old-export", targetKeyId: String(format: "00000000-0000-4000-8000-%012d", 4)),
      ],
      events: [
        FleetEvent(
          sequence: 1, date: t0.addingTimeInterval(-600), kind: .connectionStateChanged,
          customKeyStoreId: ledger,
          connectionState: .failed, connectionErrorCode: .userLockedOut,
          summary: "ledger-archive CONNECTING → FAILED (USER_LOCKED_OUT)"),
        FleetEvent(
          sequence: 2, date: t0.addingTimeInterval(-12), kind: .connectionStateChanged,
          customKeyStoreId: staging,
          connectionState: .connecting, summary: "staging-keys DISCONNECTED → CONNECTING"),
      ],
      faults: ["cluster-ledgerarch4": [.kmsuserLockedOut]])
  }

  /// A key of the AWS KMS key store (outside custom key stores).
  static func accountKey(_ n: Int, _ spec: KeySpec, _ usage: KeyUsageType, _ desc: String) -> KeyMetadata {
    KeyMetadata(
      keyId: String(format: "00000000-0000-4000-8000-%012d", n),
      creationDate: t0.addingTimeInterval(-86_400 * 2 + Double(n)), description: desc, keyUsage: usage,
      keyState: .enabled, origin: .awsKms, keySpec: spec)
  }

  /// The fixture with four keys outside custom key stores (RSA, HMAC, symmetric with rotation, ECC),
  /// the RSA key with an alias and a tag.
  static func snapshotWithAccountKeys() -> FleetSnapshot {
    var snap = snapshot()
    snap.keys += [
      accountKey(7, .rsa2048, .signVerify, "Release signing"),
      accountKey(8, .hmac256, .generateVerifyMac, "Webhook MACs"),
      accountKey(9, .symmetricDefault, .encryptDecrypt, "S3 default"),
      accountKey(10, .eccNistP256, .signVerify, "JWT signing"),
    ]
    snap.aliases.append(
      AliasListEntry(
        aliasName: "alias/release", targetKeyId: String(format: "00000000-0000-4000-8000-%012d", 7)))
    snap.keyDetails[String(format: "00000000-0000-4000-8000-%012d", 7)] = KeyDetails(
      tags: [Tag(tagKey: "team", tagValue: "release")])
    snap.keyDetails[String(format: "00000000-0000-4000-8000-%012d", 9)] = KeyDetails(
      rotationEnabled: true, rotationPeriodInDays: 365)
    return snap
  }

  /// The fixture with two more clusters: one free (usable for a new store) and one with a single
  /// ACTIVE HSM (unusable).
  static func snapshotWithSpareCluster() -> FleetSnapshot {
    var snap = snapshot()
    snap.clusters += [
      cluster(
        "cluster-sparefree6q",
        [("hsm-jjjjjjjjjjj", "us-east-1a", .active), ("hsm-kkkkkkkkkkk", "us-east-1b", .active)]),
      cluster(
        "cluster-singlehsm5x",
        [("hsm-lllllllllll", "us-east-1a", .active), ("hsm-mmmmmmmmmmm", "us-east-1b", .degraded)]),
    ]
    return snap
  }

  static func config(
    readOnly: Bool = false, confirm: ConfirmMode = .plain, color: Bool = true, simulator: Bool = true
  ) -> DashboardConfig {
    DashboardConfig(
      backend: "embedded engine", readOnly: readOnly, confirm: confirm, color: color, simulator: simulator,
      timeZone: utc)
  }

  /// A loaded dashboard at `size`, clock at t0.
  static func state(
    _ size: Size = Size(width: 120, height: 30), config: DashboardConfig = config(),
    snapshot: FleetSnapshot = snapshot()
  ) -> DashboardState {
    var s = DashboardState(config: config, size: size, now: t0)
    _ = update(&s, .snapshot(snapshot, at: t0))
    return s
  }
}

extension DashboardState {
  /// Sends keys; returns every effect.
  @discardableResult
  mutating func press(_ keys: Key...) -> [Effect] {
    var all: [Effect] = []
    for k in keys { all += update(&self, .key(k)) }
    return all
  }

  @discardableResult
  mutating func type(_ text: String) -> [Effect] {
    var all: [Effect] = []
    for c in text { all += update(&self, .key(.char(c))) }
    return all
  }
}
