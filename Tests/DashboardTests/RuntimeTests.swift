import Foundation
import KMSModel
import TerminalUI
import Testing

@testable import Dashboard

/// A dashboard backend that serves a snapshot, publishes changes as deltas and records actions.
actor FakeService: DashboardBackend {
  var snapshot: FleetSnapshot
  private(set) var disconnects: [String] = []
  private(set) var connects: [String] = []
  private let stream: AsyncStream<FleetDelta>
  private let continuation: AsyncStream<FleetDelta>.Continuation

  init(_ snapshot: FleetSnapshot) {
    self.snapshot = snapshot
    (stream, continuation) = AsyncStream.makeStream(
      of: FleetDelta.self, bufferingPolicy: .bufferingNewest(16))
  }

  /// Publishes the stores of `snap` that differ as the next delta.
  func publish(_ snap: FleetSnapshot) {
    var delta = FleetDelta(version: snapshot.version + 1)
    for store in snap.stores where snapshot.store(id: store.customKeyStoreId) != store {
      delta.stores.append(store)
      if let id = store.customKeyStoreId { delta.stateSince[id] = snap.stateSince[id] }
    }
    snapshot.apply(delta)
    continuation.yield(delta)
  }

  func fleetSnapshot() async throws -> FleetSnapshot { snapshot }
  func changes() async -> AsyncStream<FleetDelta> { stream }

  func disconnect(_ store: CustomKeyStoreID) async throws { disconnects.append(store.rawValue) }
  func connect(_ store: CustomKeyStoreID) async throws {
    connects.append(store.rawValue)
    throw KMSError(.customKeyStoreInvalidStateException, "The custom key store is FAILED.")
  }
  func enable(_ key: KeyID) async throws { throw unsupported() }
  func disable(_ key: KeyID) async throws { throw unsupported() }
  private func unsupported() -> KMSError { KMSError(.unsupportedOperationException, "not in the fake") }
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
