import Foundation
import KMSModel
import TerminalUI

/// The runtime's time for waiting (frame pacing, the animation tick): any `Clock` counted in
/// `Duration`, read as the time since the runtime was created. Tests inject a clock they advance.
struct RuntimeTimer: Sendable {
  let now: @Sendable () -> Duration
  let sleep: @Sendable (_ until: Duration) async throws -> Void

  init<C: Clock>(_ clock: C) where C.Duration == Duration {
    let origin = clock.now
    now = { origin.duration(to: clock.now) }
    sleep = { deadline in try await clock.sleep(until: origin.advanced(by: deadline), tolerance: nil) }
  }
}

/// Runs the dashboard: feeds terminal events and engine results through `update`, performs the
/// effects against a `DashboardBackend` / `SimulatorControl`, and draws `view(state)` when it
/// changed. It has no timer of its own: it wakes for keys, engine changes, and (only while a
/// store is transient or a row is highlighted) a 10 Hz animation tick. Loads, frames and the tick
/// are decided by `LoadMachine`, `FrameMachine` and `TickMachine`; the runtime only executes.
@TerminalActor
public final class DashboardRuntime {
  public private(set) var state: DashboardState
  private let terminal: any Terminal
  private let service: any DashboardBackend
  private let control: (any SimulatorControl)?
  private let clock: @Sendable () -> Date
  private let timer: RuntimeTimer
  private var lastFrame: Buffer?
  private var loads = LoadMachine()
  private var frames = FrameMachine()
  private var ticks = TickMachine()
  private var ticker: Task<Void, Never>?
  private var tasks: [Task<Void, Never>] = []
  private var exitCode: Int32?
  /// Frames actually sent to the terminal (identical frames are skipped).
  public private(set) var framesDrawn = 0
  /// Called after every message and every render, drawn or not (tests wait on it instead of
  /// sleeping).
  var activityObserver: (@TerminalActor () -> Void)?

  /// `clock` dates what the dashboard shows (elapsed times, the spinner); `timer` is what it
  /// waits on (frame pacing, the animation tick).
  public init(
    terminal: any Terminal, service: any DashboardBackend, control: (any SimulatorControl)?,
    config: DashboardConfig, clock: @escaping @Sendable () -> Date = { Date() },
    timer: any Clock<Duration> = ContinuousClock()
  ) {
    var cfg = config
    cfg.simulator = cfg.simulator && control != nil
    self.terminal = terminal
    self.service = service
    self.control = control
    self.clock = clock
    self.timer = RuntimeTimer(timer)
    self.state = DashboardState(config: cfg, size: terminal.size, now: clock())
  }

  /// The coalescing machines' states (tests check that an idle dashboard keeps no timer).
  var machines: (loads: LoadMachine.State, frames: FrameMachine.State, ticks: TickMachine.State) {
    (loads.state, frames.state, ticks.state)
  }

  /// Runs until the user quits or a signal arrives; returns the process exit status.
  public func run() async -> Int32 {
    state.size = terminal.size
    let changes = Task { [weak self] in
      guard let service = self?.service else { return }
      let stream = await service.changes()
      for await delta in stream {
        guard let self else { return }
        self.dispatch(.delta(delta, at: self.clock()))
      }
    }
    tasks.append(changes)
    perform(.loadSnapshot)
    requestFrame()
    for await event in terminal.events {
      switch event {
      case .key(let k): dispatch(.key(k))
      case .resize(let s):
        lastFrame = nil
        dispatch(.resize(s))
      case .signal(let s): dispatch(.signal(s))
      }
      if exitCode != nil { break }
    }
    stopMachines()
    for t in tasks { t.cancel() }
    terminal.shutdown()
    for t in tasks { await t.value }
    return exitCode ?? state.exitCode
  }

  /// Applies one message and performs the resulting effects.
  public func dispatch(_ msg: Msg) {
    guard exitCode == nil else { return }
    let effects = update(&state, msg)
    for e in effects { perform(e) }
    manageTicker()
    requestFrame()
    activityObserver?()
  }

  private func manageTicker() {
    switch ticks.animationNeeded(state.needsAnimation) {
    case .startTicker:
      let timer = self.timer
      ticker = Task { [weak self] in
        // Ticks at fixed points of the clock (every 100 ms from the start), not 100 ms after
        // whenever the last tick finished.
        var next = timer.now() + TickMachine.interval
        while !Task.isCancelled {
          do {
            try await timer.sleep(next)
          } catch {
            return  // cancelled
          }
          guard let self, !Task.isCancelled else { return }
          self.dispatch(.tick(self.clock()))
          next = max(next + TickMachine.interval, timer.now())
        }
      }
    case .cancelTicker:
      ticker?.cancel()
      ticker = nil
    case .keep:
      break
    }
  }

  private func requestFrame() {
    switch frames.frameRequested(now: timer.now()) {
    case .schedule(let wait):
      let timer = self.timer
      let deadline = timer.now() + wait
      // Runs after the jobs already queued on the terminal thread: bursts coalesce into one frame.
      spawn { [weak self] in
        if wait > .zero {
          do {
            try await timer.sleep(deadline)
          } catch {
            return  // cancelled: the dashboard quits
          }
        }
        self?.frameDue()
      }
    case .alreadyScheduled, .ignore:
      break
    }
  }

  private func frameDue() {
    switch frames.frameDue() {
    case .render:
      state.size = terminal.size
      let frame = view(state)
      switch frames.frameRendered(identical: frame == lastFrame, now: timer.now()) {
      case .write:
        terminal.draw(frame)
        lastFrame = frame
        framesDrawn += 1
      case .skip:
        break  // nothing visible changed: write nothing
      }
      activityObserver?()
    case .ignore:
      break
    }
  }

  private func stopMachines() {
    switch ticks.stop() {
    case .cancelTicker:
      ticker?.cancel()
      ticker = nil
    case .startTicker, .keep:
      break
    }
    switch frames.stop() {
    case .stopped, .alreadyStopped: break  // a scheduled frame renders nothing
    }
    switch loads.stop() {
    case .stopped, .alreadyStopped: break  // a running load's answer is discarded
    }
  }

  private func startLoad() {
    let service = self.service
    spawn { [weak self] in
      let result: Msg
      do {
        let snap = try await service.fleetSnapshot()
        result = .snapshot(snap, at: self?.clock() ?? Date())
      } catch let e as KMSError {
        result = .loadFailed(code: e.code.rawValue, message: e.message)
      } catch {
        result = .loadFailed(code: "Error", message: "\(error)")
      }
      guard let self else { return }
      switch self.loads.loadFinished() {
      case .deliver:
        self.dispatch(result)
      case .deliverAndStartLoad:
        self.dispatch(result)
        self.startLoad()
      case .discard:
        break
      }
    }
  }

  private func spawn(_ body: @escaping @TerminalActor () async -> Void) {
    tasks.removeAll { $0.isCancelled }
    let t = Task { await body() }
    tasks.append(t)
  }

  private func perform(_ effect: Effect) {
    let service = self.service
    let control = self.control
    switch effect {
    case .quit(let code):
      exitCode = code
      stopMachines()
    case .redraw:
      lastFrame = nil
      terminal.invalidate()
    case .loadSnapshot:
      switch loads.loadRequested() {
      case .startLoad:
        startLoad()
      case .coalesced, .ignore:
        break
      }
    case .connect(let id):
      call(StoreAction.connect.operation, target: id, success: .actionSucceeded(.connect, storeId: id)) {
        try await service.connect(try Self.storeID(id))
      }
    case .disconnect(let id):
      call(StoreAction.disconnect.operation, target: id, success: .actionSucceeded(.disconnect, storeId: id))
      {
        try await service.disconnect(try Self.storeID(id))
      }
    case .setFault(let fault, let enabled, let cluster):
      guard let control else { return }
      call("SetFault", target: cluster, success: nil) {
        try await control.setFault(fault, enabled: enabled, clusterId: cluster)
      }
    case .setHsmFailed(let cluster, let hsm, let failed):
      guard let control else { return }
      call("SetHsmFailed", target: hsm, success: nil) {
        try await control.setHsmFailed(clusterId: cluster, hsmId: hsm, failed: failed)
      }
    case .createHsm(let cluster, let az):
      guard let control else { return }
      call("CreateHsm", target: cluster, success: nil) {
        _ = try await control.createHsm(CreateHsmRequest(clusterId: cluster, availabilityZone: az))
      }
    case .deleteHsm(let cluster, let hsm):
      guard let control else { return }
      call("DeleteHsm", target: hsm, success: nil) {
        _ = try await control.deleteHsm(DeleteHsmRequest(clusterId: cluster, hsmId: hsm))
      }
    case .predictConnect(let id):
      guard let control else { return }
      spawn { [weak self] in
        let text: String
        do {
          text = try await control.predictConnectOutcome(customKeyStoreId: id).description
        } catch let e as KMSError {
          text = "unknown (\(e.code.rawValue))"
        } catch {
          text = "unknown"
        }
        self?.dispatch(.prediction(storeId: id, text))
      }
    }
  }

  private func call(
    _ operation: String, target: String, success: Msg?, _ body: @escaping @Sendable () async throws -> Void
  ) {
    spawn { [weak self] in
      let msg: Msg?
      do {
        try await body()
        msg = success
      } catch let e as KMSError {
        msg = .actionFailed(operation: operation, target: target, code: e.code.rawValue, message: e.message)
      } catch {
        msg = .actionFailed(operation: operation, target: target, code: "Error", message: "\(error)")
      }
      guard let self else { return }
      // Success needs no reload: the change arrives on the delta stream.
      if let msg { self.dispatch(msg) }
    }
  }

  private nonisolated static func storeID(_ text: String) throws -> CustomKeyStoreID {
    guard let id = CustomKeyStoreID(rawValue: text) else {
      throw KMSError(.validationException, "No custom key store is selected.")
    }
    return id
  }
}
