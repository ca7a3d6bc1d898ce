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
  func scheduleDeletion(_ key: KeyID, pendingWindowInDays days: Int) async throws -> Date? {
    throw unsupported()
  }
  func cancelDeletion(_ key: KeyID) async throws { throw unsupported() }
  func createKey(in store: CustomKeyStoreID, description: String?) async throws -> KeyID {
    throw unsupported()
  }
  func createAlias(_ alias: AliasName, for key: KeyID) async throws { throw unsupported() }
  func deleteAlias(_ alias: AliasName) async throws { throw unsupported() }
  func createStore(name: String, cluster: ClusterID, trustAnchor: String, password: String) async throws
    -> CustomKeyStoreID
  { throw unsupported() }
  func updateStore(_ store: CustomKeyStoreID, newName: String?, password: String?) async throws {
    throw unsupported()
  }
  func deleteStore(_ store: CustomKeyStoreID) async throws { throw unsupported() }
  private func unsupported() -> KMSError { KMSError(.unsupportedOperationException, "not in the fake") }
}

/// A runtime on a recording terminal and a test clock. Nothing here sleeps: `waitUntil` checks its
/// condition again whenever the runtime handles a message or renders, or something starts waiting
/// on the clock, and while the condition does not hold and something waits on the clock, it moves
/// the clock to the next deadline (virtual time passes only when the dashboard waits for it).
@TerminalActor
final class Harness {
  let clock: TestClock
  let terminal: RecordingTerminal
  let runtime: DashboardRuntime
  private let activity: AsyncStream<Void>.Iterator

  init(service: FakeService, size: Size = Size(width: 100, height: 30)) {
    let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
    let clock = TestClock(onSleep: { continuation.yield() })
    self.clock = clock
    activity = stream.makeAsyncIterator()
    terminal = RecordingTerminal(size: size)
    // The dates on screen follow the same clock, so highlights and spinners age with it.
    runtime = DashboardRuntime(
      terminal: terminal, service: service, control: nil, config: Fixture.config(),
      clock: { Fixture.t0.addingTimeInterval(Harness.seconds(clock.now.offset)) }, timer: clock)
    runtime.activityObserver = { continuation.yield() }
  }

  nonisolated static func seconds(_ d: Duration) -> TimeInterval {
    TimeInterval(d.components.seconds) + TimeInterval(d.components.attoseconds) / 1e18
  }

  /// `advancing: false` waits without moving the clock (the test moves it itself).
  func waitUntil(
    _ what: String, advancing: Bool = true, _ condition: @TerminalActor () async -> Bool
  ) async {
    while !(await condition()) {
      if advancing, let deadline = clock.nextDeadline { clock.advance(to: deadline) }
      var iterator = activity  // the iterator's storage is shared: a copy reads the same stream
      guard await iterator.next(isolation: #isolation) != nil else {
        Issue.record("the runtime stopped before \(what)")
        return
      }
    }
  }

  func frame(containing text: String) async {
    await waitUntil("a frame showing \(text)") { self.terminal.frames.last?.text.contains(text) == true }
  }

  /// No timer of any kind: no tick, no frame scheduled, nothing waiting on the clock.
  var isIdle: Bool {
    runtime.machines.ticks == .idle && clock.sleeperCount == 0
      && { if case .idle = runtime.machines.frames { true } else { false } }()
  }
}

@Suite(.timeLimit(.minutes(1))) struct RuntimeTests {
  typealias F = Fixture

  @Test @TerminalActor func liveUpdatesDialogsAndEngineErrors() async {
    var snap = F.snapshot()
    snap.stores[3].connectionState = .connected  // nothing transient
    let service = FakeService(snap)
    let h = Harness(service: service)
    let terminal = h.terminal
    let run = Task { await h.runtime.run() }
    await h.frame(containing: "payments-prod")

    // Disconnect payments-prod through the dialog.
    terminal.send(.key(.char("j")))
    terminal.send(.key(.char("j")))
    terminal.send(.key(.char("d")))
    await h.frame(containing: "Disconnect payments-prod")
    terminal.send(.key(.char("y")))
    await h.waitUntil("the disconnect call") { await service.disconnects == [F.payments] }

    // The change stream drives the table without a keypress.
    var next = snap
    next.version = 2
    next.stores[0].connectionState = .disconnected
    await service.publish(next)
    await h.waitUntil("the live update") { h.runtime.state.snapshot?.version == 2 }
    await h.frame(containing: "○ DISCONNECTED")

    // Engine errors appear with the AWS exception name.
    terminal.send(.key(.char("k")))
    terminal.send(.key(.char("k")))  // analytics-dr, DISCONNECTED
    terminal.send(.key(.char("c")))
    terminal.send(.key(.char("y")))
    await h.frame(containing: "CustomKeyStoreInvalidStateException")

    // Idle: once the highlight has faded there is no timer at all, and a minute passing draws
    // nothing.
    await h.waitUntil("idle") { h.isIdle }
    let frames = terminal.frames.count
    h.clock.advance(by: .seconds(60))
    #expect(h.isIdle)
    #expect(terminal.frames.count == frames)

    terminal.send(.key(.char("q")))
    #expect(await run.value == 0)
  }

  @Test @TerminalActor func framesArePacedAndBurstsCoalesce() async {
    var snap = F.snapshot()
    snap.stores[3].connectionState = .connected
    let service = FakeService(snap)
    let h = Harness(service: service)
    let run = Task { await h.runtime.run() }
    await h.frame(containing: "payments-prod")
    await h.waitUntil("idle") { h.isIdle }
    // Long after the last frame, a key is drawn at once.
    h.clock.advance(by: .seconds(1))
    let drawn = h.runtime.framesDrawn
    h.terminal.send(.key(.char("j")))
    await h.waitUntil("the first frame", advancing: false) { h.runtime.framesDrawn == drawn + 1 }
    let first = h.clock.now
    #expect(h.runtime.machines.frames == .idle(lastDrawn: first.offset))
    #expect(h.terminal.frames.last?.text.contains("Detail: ledger-archive") == true)
    // A burst of keys right after it: one frame, 16 ms after the previous one.
    for key in ["j", "k", "j"] { h.terminal.send(.key(.char(Character(key)))) }
    await h.waitUntil("the keys", advancing: false) {
      h.runtime.state.selectedStoreId == F.payments && h.clock.sleeperCount == 1
    }
    #expect(h.clock.nextDeadline == first.advanced(by: FrameMachine.interval))
    #expect(h.runtime.framesDrawn == drawn + 1)
    await h.waitUntil("the frame") { h.runtime.framesDrawn > drawn + 1 }
    #expect(h.runtime.framesDrawn == drawn + 2)
    #expect(h.clock.now == first.advanced(by: FrameMachine.interval))
    let text = h.terminal.frames.last?.text ?? ""
    #expect(text.contains("Detail: payments-prod"), "\(text)")  // three keys, one frame
    h.terminal.send(.key(.char("q")))
    #expect(await run.value == 0)
  }

  @Test @TerminalActor func aTransientStoreTicksAtTenHertzAndStopsWhenSettled() async {
    let service = FakeService(F.snapshot())  // staging-keys is CONNECTING
    let h = Harness(service: service)
    let run = Task { await h.runtime.run() }
    await h.frame(containing: "staging-keys")
    await h.waitUntil("the ticker") { h.runtime.machines.ticks == .ticking }
    // Each tick advances the spinner: one frame per 100 ms of clock time, ten per second.
    for step in 1...10 {
      let drawn = h.runtime.framesDrawn
      h.clock.advance(by: TickMachine.interval)
      await h.waitUntil("tick \(step)", advancing: false) { h.runtime.framesDrawn == drawn + 1 }
      #expect(h.runtime.machines.ticks == .ticking)
    }
    // The store connects: the ticker runs on for the highlight, then stops.
    var next = F.snapshot()
    next.version = 2
    next.stores[3].connectionState = .connected
    await service.publish(next)
    await h.frame(containing: "● CONNECTED")
    await h.waitUntil("idle") { h.isIdle }
    #expect(h.runtime.state.highlightUntil.values.allSatisfy { $0 <= h.runtime.state.now })
    h.terminal.send(.key(.char("q")))
    #expect(await run.value == 0)
  }

  @Test @TerminalActor func sigintExitsWith130() async {
    let service = FakeService(F.snapshot())
    let h = Harness(service: service)
    let run = Task { await h.runtime.run() }
    h.terminal.send(.signal(2))
    #expect(await run.value == 130)
    #expect(h.runtime.machines.loads == .stopped || h.runtime.machines.loads == .idle)
  }
}
