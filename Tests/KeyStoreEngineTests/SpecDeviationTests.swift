import Foundation
import HSMSimulator
import KMSModel
import KeyStoreEngine
import Testing

/// Behaviour where the engine departs from kms-spec. These tests state what the spec requires.
@Suite struct SpecDeviationTests {
  /// kms-spec §5.5, CreateKey column of the row "Store CONNECTED but cluster … has 0 ACTIVE HSMs, is
  /// deleted": `CloudHsmClusterInvalidConfigurationException` (fewer than 2 active HSMs in different
  /// AZs). `KMSInvalidStateException` is not in CreateKey's modeled error list (§5.1, [M]).
  @Test func createKeyWithoutActiveHsmsIsInvalidConfiguration() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.connectedStore()
    try await f.deleteAllHsms(cluster)
    await expectError(.cloudHsmClusterInvalidConfigurationException) { try await f.createKey(in: store) }
    try await f.expectState(store, .connected)
  }

  @Test func createKeyWithDeletedClusterIsInvalidConfiguration() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.connectedStore()
    try await f.fault(.clusterDeleted, on: cluster)
    await expectError(.cloudHsmClusterInvalidConfigurationException) { try await f.createKey(in: store) }
  }

  /// Every error an operation returns is one its service-model error list names (or the front
  /// end's ValidationException): CreateKey must never answer `KMSInvalidStateException`.
  @Test func createKeyErrorsAreModeled() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.connectedStore()
    for fault in [SimulatorFault.networkErrors, .clusterDeleted] {
      try await f.fault(fault, on: cluster)
      do {
        _ = try await f.createKey(in: store)
      } catch let error as KMSError {
        #expect(
          KMSOperation.createKey.modeledErrors.contains(error.code.rawValue),
          "CreateKey with \(fault.rawValue) answered \(error)")
      }
      try await f.fault(fault, false, on: cluster)
    }
  }

  /// The same rule over random operation sequences (see `EnginePropertyTests`).
  @Test func randomSequencesOnlyReturnModeledErrors() async throws {
    var generator = SeededRandom(seed: 2024)
    let steps = (0..<600).map { _ in Int(generator.next() % 10_000_000) }
    let model = try await EnginePropertyTests().run(steps)
    #expect(model.unmodeledErrors.isEmpty, "\(model.unmodeledErrors.prefix(5))")
  }
}
