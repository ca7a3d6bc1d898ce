import Foundation
import HSMSimulator
import KMSModel
import KeyStoreEngine
import Testing

// Test fixtures for the engine. Everything runs on a `ManualClock`: the engine applies due
// transitions at the start of each call, so a test advances the clock and then calls the engine.

let trustAnchorA = """
  -----BEGIN CERTIFICATE-----
  MIIBszCCAVmgAwIBAgIUKMSDASHTESTANCHORAAAAAAAAAAAwCgYIKoZIzj0EAwIw
  -----END CERTIFICATE-----
  """

let trustAnchorB = """
  -----BEGIN CERTIFICATE-----
  MIIBszCCAVmgAwIBAgIUKMSDASHTESTANCHORBBBBBBBBBBBwCgYIKoZIzj0EAwIw
  -----END CERTIFICATE-----
  """

let demoPassword = "DemoPassw0rd"

/// Long enough for any connect, disconnect or HSM creation of the demo latency model.
let settleTime: TimeInterval = 3600

var storeIdPattern: Regex<Substring> { /cks-[0-9a-f]{17}/ }
var keyIdPattern: Regex<Substring> { /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/ }
var clusterIdPattern: Regex<Substring> { /cluster-[2-7a-zA-Z]{11}/ }
var hsmIdPattern: Regex<Substring> { /hsm-[2-7a-zA-Z]{11,16}/ }

/// Moves a manual clock on and runs the work that fell due, as the engine's driver does when it
/// wakes on a live clock.
func advance(_ clock: ManualClock, _ engine: KeyStoreEngine, by seconds: TimeInterval) async throws {
  clock.advance(by: seconds)
  try await engine.runDueWork()
}

/// One engine on a manual clock with helpers named after what the tests do.
struct Fixture {
  let clock: ManualClock
  let engine: KeyStoreEngine

  init(storeQuota: Int = 10, seed: UInt64 = 7) {
    clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    engine = KeyStoreEngine(
      configuration: EngineConfiguration(storeQuota: storeQuota, seed: seed), clock: clock)
  }

  // MARK: Clusters

  /// A healthy cluster: two ACTIVE HSMs in two AZs, kmsuser with `demoPassword`.
  func cluster(
    zones: [String] = ["us-east-1a", "us-east-1b"], hsmsPerZone: Int = 1, anchor: String = trustAnchorA,
    lineage: String? = nil, kmsuserPassword: String? = demoPassword
  ) async throws -> String {
    try await engine.addCluster(
      ClusterSpec(
        availabilityZones: zones, hsmsPerZone: hsmsPerZone, kmsuserPassword: kmsuserPassword,
        trustAnchorPEM: anchor, lineage: lineage))
  }

  func hsms(_ clusterId: String) async throws -> [Hsm] {
    let response = try await engine.describeClusters(
      DescribeClustersRequest(filters: ["clusterIds": [clusterId]]))
    return try #require(response.clusters?.first { $0.clusterId == clusterId }?.hsms)
  }

  func clusterState(_ clusterId: String) async throws -> ClusterState? {
    let response = try await engine.describeClusters(
      DescribeClustersRequest(filters: ["clusterIds": [clusterId]]))
    return response.clusters?.first { $0.clusterId == clusterId }?.state
  }

  func deleteAllHsms(_ clusterId: String) async throws {
    for hsm in try await hsms(clusterId) {
      _ = try await engine.deleteHsm(DeleteHsmRequest(clusterId: clusterId, hsmId: hsm.hsmId))
    }
  }

  func deleteHsms(_ clusterId: String, keeping count: Int) async throws {
    for hsm in try await hsms(clusterId).dropFirst(count) {
      _ = try await engine.deleteHsm(DeleteHsmRequest(clusterId: clusterId, hsmId: hsm.hsmId))
    }
  }

  func fault(_ fault: SimulatorFault, _ enabled: Bool = true, on clusterId: String) async throws {
    try await engine.setFault(fault, enabled: enabled, clusterId: clusterId)
  }

  // MARK: Stores

  func createStore(
    _ name: String, cluster: String, anchor: String = trustAnchorA, password: String = demoPassword
  ) async throws -> String {
    let response = try await engine.createCustomKeyStore(
      CreateCustomKeyStoreRequest(
        customKeyStoreName: name, cloudHsmClusterId: cluster, trustAnchorCertificate: anchor,
        keyStorePassword: password))
    return try #require(response.customKeyStoreId)
  }

  /// A new cluster and a DISCONNECTED store on it.
  func newStore(_ name: String = "store", password: String = demoPassword) async throws -> (
    store: String, cluster: String
  ) {
    let clusterId = try await cluster()
    return (try await createStore(name, cluster: clusterId, password: password), clusterId)
  }

  /// A new cluster and a CONNECTED store on it.
  func connectedStore(_ name: String = "store") async throws -> (store: String, cluster: String) {
    let made = try await newStore(name)
    try await connectAndSettle(made.store)
    try await expectState(made.store, .connected)
    return made
  }

  func entry(_ storeId: String) async throws -> CustomKeyStoresListEntry {
    let response = try await engine.describeCustomKeyStores(
      DescribeCustomKeyStoresRequest(customKeyStoreId: storeId))
    let stores = try #require(response.customKeyStores)
    try #require(stores.count == 1)
    return stores[0]
  }

  func state(_ storeId: String) async throws -> ConnectionStateType? {
    try await entry(storeId).connectionState
  }

  func expectState(
    _ storeId: String, _ state: ConnectionStateType, errorCode: ConnectionErrorCodeType? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
  ) async throws {
    let entry = try await entry(storeId)
    #expect(entry.connectionState == state, sourceLocation: sourceLocation)
    #expect(entry.connectionErrorCode == errorCode, sourceLocation: sourceLocation)
  }

  func connect(_ storeId: String) async throws {
    _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: storeId))
  }

  func disconnect(_ storeId: String) async throws {
    _ = try await engine.disconnectCustomKeyStore(DisconnectCustomKeyStoreRequest(customKeyStoreId: storeId))
  }

  /// Lets `seconds` pass and runs the work that fell due, as the engine's driver would.
  func advance(by seconds: TimeInterval) async throws {
    try await KeyStoreEngineTests.advance(clock, engine, by: seconds)
  }

  func settle() async throws { try await advance(by: settleTime) }

  func connectAndSettle(_ storeId: String) async throws {
    try await connect(storeId)
    try await settle()
  }

  func disconnectAndSettle(_ storeId: String) async throws {
    try await disconnect(storeId)
    try await settle()
    try await expectState(storeId, .disconnected)
  }

  /// A FAILED store with the given code (through a fault set while CONNECTING).
  func failedStore(_ fault: SimulatorFault = .networkErrors) async throws -> (store: String, cluster: String)
  {
    let made = try await newStore()
    try await connect(made.store)
    try await self.fault(fault, on: made.cluster)
    try await settle()
    #expect(try await state(made.store) == .failed)
    try await self.fault(fault, false, on: made.cluster)
    return made
  }

  func update(_ request: UpdateCustomKeyStoreRequest) async throws {
    _ = try await engine.updateCustomKeyStore(request)
  }

  func delete(_ storeId: String) async throws {
    _ = try await engine.deleteCustomKeyStore(DeleteCustomKeyStoreRequest(customKeyStoreId: storeId))
  }

  func allStores(limit: Int? = nil) async throws -> [CustomKeyStoresListEntry] {
    var all: [CustomKeyStoresListEntry] = []
    var marker: String?
    var pages = 0
    repeat {
      let page = try await engine.describeCustomKeyStores(
        DescribeCustomKeyStoresRequest(limit: limit, marker: marker))
      all += page.customKeyStores ?? []
      pages += 1
      if page.truncated == true {
        let next = try #require(page.nextMarker)
        marker = next
      } else {
        marker = nil
      }
    } while marker != nil && pages < 1000
    return all
  }

  // MARK: Keys

  func createKey(in storeId: String, description: String? = nil) async throws -> KeyMetadata {
    let response = try await engine.createKey(
      CreateKeyRequest(description: description, origin: "AWS_CLOUDHSM", customKeyStoreId: storeId))
    return try #require(response.keyMetadata)
  }

  func key(_ keyId: String) async throws -> KeyMetadata {
    try #require(try await engine.describeKey(DescribeKeyRequest(keyId: keyId)).keyMetadata)
  }

  func keyState(_ keyId: String) async throws -> KeyState? { try await key(keyId).keyState }

  func allKeys(limit: Int? = nil) async throws -> [KeyListEntry] {
    var all: [KeyListEntry] = []
    var marker: String?
    var pages = 0
    repeat {
      let page = try await engine.listKeys(ListKeysRequest(limit: limit, marker: marker))
      all += page.keys ?? []
      pages += 1
      if page.truncated == true {
        let next = try #require(page.nextMarker)
        marker = next
      } else {
        marker = nil
      }
    } while marker != nil && pages < 1000
    return all
  }

  func encrypt(_ keyId: String, _ text: String = "secret", context: [String: String]? = nil) async throws
    -> Data
  {
    let response = try await engine.encrypt(
      EncryptRequest(keyId: keyId, plaintext: Data(text.utf8), encryptionContext: context))
    return try #require(response.ciphertextBlob)
  }

  func decrypt(_ blob: Data, keyId: String? = nil, context: [String: String]? = nil) async throws
    -> DecryptResponse
  {
    try await engine.decrypt(DecryptRequest(ciphertextBlob: blob, encryptionContext: context, keyId: keyId))
  }
}

/// Runs `body` and expects it to throw a `KMSError` with `code` (and `message`, when given).
func expectError<T>(
  _ code: KMSErrorCode, message: String? = nil, messageContains: String? = nil,
  sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async {
  do {
    _ = try await body()
    Issue.record("Expected \(code.rawValue), but the call succeeded", sourceLocation: sourceLocation)
  } catch let error as KMSError {
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    if let message {
      #expect(error.message == message, sourceLocation: sourceLocation)
    }
    if let messageContains {
      #expect(error.message.contains(messageContains), "\(error.message)", sourceLocation: sourceLocation)
    }
  } catch {
    Issue.record("Expected \(code.rawValue), got a non-KMSError \(error)", sourceLocation: sourceLocation)
  }
}
