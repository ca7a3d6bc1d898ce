import Foundation
import KMSModel
import TerminalUI
import Testing

@testable import Dashboard

/// A `KeyStoreService` that serves a fixed snapshot and records mutating calls.
actor FakeService: KeyStoreService {
  var snapshot: FleetSnapshot
  private(set) var disconnects: [String] = []
  private(set) var connects: [String] = []
  private let stream: AsyncStream<FleetChange>
  private let continuation: AsyncStream<FleetChange>.Continuation

  init(_ snapshot: FleetSnapshot) {
    self.snapshot = snapshot
    (stream, continuation) = AsyncStream.makeStream(
      of: FleetChange.self, bufferingPolicy: .bufferingNewest(1))
  }

  func publish(_ snap: FleetSnapshot) {
    snapshot = snap
    continuation.yield(FleetChange(version: snap.version))
  }

  func fleetSnapshot() async throws -> FleetSnapshot { snapshot }
  func changes() async -> AsyncStream<FleetChange> { stream }

  func disconnectCustomKeyStore(_ r: DisconnectCustomKeyStoreRequest) async throws
    -> DisconnectCustomKeyStoreResponse
  {
    disconnects.append(r.customKeyStoreId)
    return DisconnectCustomKeyStoreResponse()
  }
  func connectCustomKeyStore(_ r: ConnectCustomKeyStoreRequest) async throws -> ConnectCustomKeyStoreResponse
  {
    connects.append(r.customKeyStoreId)
    throw KMSError(.customKeyStoreInvalidStateException, "The custom key store is FAILED.")
  }

  private func unsupported() -> KMSError { KMSError(.unsupportedOperationException, "not in the fake") }
  func createCustomKeyStore(_ r: CreateCustomKeyStoreRequest) async throws -> CreateCustomKeyStoreResponse {
    throw unsupported()
  }
  func describeCustomKeyStores(_ r: DescribeCustomKeyStoresRequest) async throws
    -> DescribeCustomKeyStoresResponse
  {
    DescribeCustomKeyStoresResponse(customKeyStores: snapshot.stores, truncated: false)
  }
  func updateCustomKeyStore(_ r: UpdateCustomKeyStoreRequest) async throws -> UpdateCustomKeyStoreResponse {
    throw unsupported()
  }
  func deleteCustomKeyStore(_ r: DeleteCustomKeyStoreRequest) async throws -> DeleteCustomKeyStoreResponse {
    throw unsupported()
  }
  func createKey(_ r: CreateKeyRequest) async throws -> CreateKeyResponse { throw unsupported() }
  func describeKey(_ r: DescribeKeyRequest) async throws -> DescribeKeyResponse { throw unsupported() }
  func listKeys(_ r: ListKeysRequest) async throws -> ListKeysResponse { throw unsupported() }
  func enableKey(_ r: EnableKeyRequest) async throws -> EnableKeyResponse { throw unsupported() }
  func disableKey(_ r: DisableKeyRequest) async throws -> DisableKeyResponse { throw unsupported() }
  func scheduleKeyDeletion(_ r: ScheduleKeyDeletionRequest) async throws -> ScheduleKeyDeletionResponse {
    throw unsupported()
  }
  func cancelKeyDeletion(_ r: CancelKeyDeletionRequest) async throws -> CancelKeyDeletionResponse {
    throw unsupported()
  }
  func createAlias(_ r: CreateAliasRequest) async throws -> CreateAliasResponse { throw unsupported() }
  func deleteAlias(_ r: DeleteAliasRequest) async throws -> DeleteAliasResponse { throw unsupported() }
  func listAliases(_ r: ListAliasesRequest) async throws -> ListAliasesResponse { throw unsupported() }
  func encrypt(_ r: EncryptRequest) async throws -> EncryptResponse { throw unsupported() }
  func decrypt(_ r: DecryptRequest) async throws -> DecryptResponse { throw unsupported() }
  func reEncrypt(_ r: ReEncryptRequest) async throws -> ReEncryptResponse { throw unsupported() }
  func generateDataKey(_ r: GenerateDataKeyRequest) async throws -> GenerateDataKeyResponse {
    throw unsupported()
  }
  func generateDataKeyWithoutPlaintext(_ r: GenerateDataKeyWithoutPlaintextRequest) async throws
    -> GenerateDataKeyWithoutPlaintextResponse
  { throw unsupported() }
  func generateRandom(_ r: GenerateRandomRequest) async throws -> GenerateRandomResponse {
    throw unsupported()
  }
}

@TerminalActor
private func waitUntil(_ what: String, _ condition: @TerminalActor () async -> Bool) async {
  for _ in 0..<300 {
    if await condition() { return }
    try? await Task.sleep(for: .milliseconds(10))
  }
  Issue.record("timed out waiting for \(what)")
}

@Suite struct RuntimeTests {
  typealias F = Fixture

  @Test @TerminalActor func liveUpdatesDialogsAndEngineErrors() async {
    var snap = F.snapshot()
    snap.stores[3].connectionState = .connected  // nothing transient: no animation ticks
    let service = FakeService(snap)
    let terminal = RecordingTerminal(size: Size(width: 100, height: 30))
    let runtime = DashboardRuntime(
      terminal: terminal, service: service, control: nil, config: F.config(), clock: { F.t0 })
    let run = Task { await runtime.run() }
    await waitUntil("first frame") { terminal.frames.last?.text.contains("payments-prod") == true }

    // Disconnect payments-prod through the dialog.
    terminal.send(.key(.char("j")))
    terminal.send(.key(.char("j")))
    terminal.send(.key(.char("d")))
    await waitUntil("dialog") { terminal.frames.last?.text.contains("Disconnect payments-prod") == true }
    terminal.send(.key(.char("y")))
    await waitUntil("disconnect call") { await service.disconnects == [F.payments] }

    // The change stream drives the table without a keypress.
    var next = snap
    next.version = 2
    next.stores[0].connectionState = .disconnected
    await service.publish(next)
    await waitUntil("live update") { runtime.state.snapshot?.version == 2 }
    await waitUntil("render") { terminal.frames.last?.text.contains("○ DISCONNECTED") == true }

    // Engine errors appear with the AWS exception name.
    terminal.send(.key(.char("k")))
    terminal.send(.key(.char("k")))  // analytics-dr, DISCONNECTED
    terminal.send(.key(.char("c")))
    terminal.send(.key(.char("y")))
    await waitUntil("error in status line") {
      terminal.frames.last?.text.contains("CustomKeyStoreInvalidStateException") == true
    }

    // Idle: nothing changes, so nothing is drawn.
    let frames = terminal.frames.count
    try? await Task.sleep(for: .milliseconds(300))
    #expect(terminal.frames.count == frames)

    terminal.send(.key(.char("q")))
    #expect(await run.value == 0)
  }

  @Test @TerminalActor func sigintExitsWith130() async {
    let service = FakeService(F.snapshot())
    let terminal = RecordingTerminal(size: Size(width: 100, height: 30))
    let runtime = DashboardRuntime(terminal: terminal, service: service, control: nil, config: F.config())
    let run = Task { await runtime.run() }
    terminal.send(.signal(2))
    #expect(await run.value == 130)
  }
}
