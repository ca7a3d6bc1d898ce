import Foundation
import KMSModel
import KMSServer

/// A scripted backend: records what it was called with, answers a few operations, and throws
/// `nextError` when set.
actor FakeBackend: PartialKeyStoreService, SimulatorControl {
  var calls: [String] = []
  var nextError: (any Error)?
  var faultsByCluster: [String: Set<SimulatorFault>] = [:]

  func fail(with error: any Error) { nextError = error }

  private func record(_ name: String) throws {
    calls.append(name)
    if let error = nextError {
      nextError = nil
      throw error
    }
  }

  func createCustomKeyStore(_ request: CreateCustomKeyStoreRequest) async throws
    -> CreateCustomKeyStoreResponse
  {
    try record("CreateCustomKeyStore")
    return CreateCustomKeyStoreResponse(customKeyStoreId: "cks-1234567890abcdef0")
  }
  func describeCustomKeyStores(_ request: DescribeCustomKeyStoresRequest) async throws
    -> DescribeCustomKeyStoresResponse
  {
    try record("DescribeCustomKeyStores")
    return DescribeCustomKeyStoresResponse(
      customKeyStores: [
        CustomKeyStoresListEntry(
          customKeyStoreId: "cks-1234567890abcdef0", customKeyStoreName: "Example",
          connectionState: .connected, creationDate: Date(timeIntervalSince1970: 1_499_288_695.918))
      ], truncated: false)
  }
  func connectCustomKeyStore(_ request: ConnectCustomKeyStoreRequest) async throws
    -> ConnectCustomKeyStoreResponse
  {
    try record("ConnectCustomKeyStore")
    return ConnectCustomKeyStoreResponse()
  }
  func disconnectCustomKeyStore(_ request: DisconnectCustomKeyStoreRequest) async throws
    -> DisconnectCustomKeyStoreResponse
  {
    try record("DisconnectCustomKeyStore")
    return DisconnectCustomKeyStoreResponse()
  }
  func updateCustomKeyStore(_ request: UpdateCustomKeyStoreRequest) async throws
    -> UpdateCustomKeyStoreResponse
  {
    try record("UpdateCustomKeyStore")
    return UpdateCustomKeyStoreResponse()
  }
  func deleteCustomKeyStore(_ request: DeleteCustomKeyStoreRequest) async throws
    -> DeleteCustomKeyStoreResponse
  {
    try record("DeleteCustomKeyStore")
    return DeleteCustomKeyStoreResponse()
  }
  func createKey(_ request: CreateKeyRequest) async throws -> CreateKeyResponse {
    try record("CreateKey")
    return CreateKeyResponse(keyMetadata: KeyMetadata(keyId: "1234abcd-12ab-34cd-56ef-1234567890ab"))
  }
  func describeKey(_ request: DescribeKeyRequest) async throws -> DescribeKeyResponse {
    try record("DescribeKey")
    return DescribeKeyResponse(keyMetadata: KeyMetadata(keyId: request.keyId))
  }
  func listKeys(_ request: ListKeysRequest) async throws -> ListKeysResponse {
    try record("ListKeys")
    return ListKeysResponse(keys: [], truncated: false)
  }
  func enableKey(_ request: EnableKeyRequest) async throws -> EnableKeyResponse {
    try record("EnableKey")
    return EnableKeyResponse()
  }
  func disableKey(_ request: DisableKeyRequest) async throws -> DisableKeyResponse {
    try record("DisableKey")
    return DisableKeyResponse()
  }
  func scheduleKeyDeletion(_ request: ScheduleKeyDeletionRequest) async throws -> ScheduleKeyDeletionResponse
  {
    try record("ScheduleKeyDeletion")
    return ScheduleKeyDeletionResponse(keyId: request.keyId)
  }
  func cancelKeyDeletion(_ request: CancelKeyDeletionRequest) async throws -> CancelKeyDeletionResponse {
    try record("CancelKeyDeletion")
    return CancelKeyDeletionResponse(keyId: request.keyId)
  }
  func createAlias(_ request: CreateAliasRequest) async throws -> CreateAliasResponse {
    try record("CreateAlias")
    return CreateAliasResponse()
  }
  func deleteAlias(_ request: DeleteAliasRequest) async throws -> DeleteAliasResponse {
    try record("DeleteAlias")
    return DeleteAliasResponse()
  }
  func listAliases(_ request: ListAliasesRequest) async throws -> ListAliasesResponse {
    try record("ListAliases")
    return ListAliasesResponse(aliases: [], truncated: false)
  }
  func encrypt(_ request: EncryptRequest) async throws -> EncryptResponse {
    try record("Encrypt")
    return EncryptResponse(
      ciphertextBlob: Data(request.plaintext.reversed()), keyId: request.keyId,
      encryptionAlgorithm: .symmetricDefault)
  }
  func decrypt(_ request: DecryptRequest) async throws -> DecryptResponse {
    try record("Decrypt")
    return DecryptResponse(keyId: "k", plaintext: Data((request.ciphertextBlob ?? Data()).reversed()))
  }
  func reEncrypt(_ request: ReEncryptRequest) async throws -> ReEncryptResponse {
    try record("ReEncrypt")
    return ReEncryptResponse()
  }
  func generateDataKey(_ request: GenerateDataKeyRequest) async throws -> GenerateDataKeyResponse {
    try record("GenerateDataKey")
    return GenerateDataKeyResponse()
  }
  func generateDataKeyWithoutPlaintext(_ request: GenerateDataKeyWithoutPlaintextRequest) async throws
    -> GenerateDataKeyWithoutPlaintextResponse
  {
    try record("GenerateDataKeyWithoutPlaintext")
    return GenerateDataKeyWithoutPlaintextResponse()
  }
  func generateRandom(_ request: GenerateRandomRequest) async throws -> GenerateRandomResponse {
    try record("GenerateRandom")
    return GenerateRandomResponse(plaintext: Data(repeating: 7, count: request.numberOfBytes ?? 0))
  }
  func describeClusters(_ request: DescribeClustersRequest) async throws -> DescribeClustersResponse {
    try record("DescribeClusters")
    return DescribeClustersResponse(clusters: [Cluster(clusterId: "cluster-234abcdefABC", state: .active)])
  }
  func createHsm(_ request: CreateHsmRequest) async throws -> CreateHsmResponse {
    try record("CreateHsm")
    return CreateHsmResponse(hsm: Hsm(hsmId: "hsm-abcdefghijk", state: .createInProgress))
  }
  func deleteHsm(_ request: DeleteHsmRequest) async throws -> DeleteHsmResponse {
    try record("DeleteHsm")
    return DeleteHsmResponse(hsmId: request.hsmId)
  }
  func setHsmFailed(clusterId: String, hsmId: String, failed: Bool) async throws {
    try record("SetHsmFailed")
  }
  func setKmsuserPassword(_ password: String, clusterId: String) async throws {
    try record("SetKmsuserPassword")
  }
  func setFault(_ fault: SimulatorFault, enabled: Bool, clusterId: String) async throws {
    try record("SetFault")
    if enabled {
      faultsByCluster[clusterId, default: []].insert(fault)
    } else {
      faultsByCluster[clusterId, default: []].remove(fault)
    }
  }
  func faults(clusterId: String) async throws -> Set<SimulatorFault> {
    faultsByCluster[clusterId] ?? []
  }
  func predictConnectOutcome(customKeyStoreId: String) async throws -> ConnectPrediction {
    try record("PredictConnectOutcome")
    return .fails(.userLockedOut)
  }
}

/// Records the region of every backend lookup.
final class RecordingProvider: KMSBackendProvider, @unchecked Sendable {
  let backend: FakeBackend
  private let lock = NSLock()
  private var _regions: [String] = []

  init(_ backend: FakeBackend) { self.backend = backend }

  var regions: [String] { lock.withLock { _regions } }

  func backend(forRegion region: String) async throws -> KMSBackend {
    lock.withLock { _regions.append(region) }
    return KMSBackend(service: backend, control: backend)
  }
}
