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

/// A background transition the engine owes a store.
struct PendingTransition: Sendable, Equatable, Codable {
  enum Kind: String, Sendable, Codable { case connect, disconnect }
  var kind: Kind
  var dueAt: Date
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
  var machine: ConnectionStateMachine
  var stateSince: Date
  var pending: PendingTransition?
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
}

struct AliasRecord: Sendable, Equatable, Codable {
  var name: String
  var sequence: UInt64
  var targetKeyId: String
  var creationDate: Date
  var lastUpdatedDate: Date
}
