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
  private let xksControl: (any XKSProxyFaultControl)?
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
    xksControl: (any XKSProxyFaultControl)? = nil, config: DashboardConfig,
    clock: @escaping @Sendable () -> Date = { Date() },
    timer: any Clock<Duration> = ContinuousClock()
  ) {
    var cfg = config
    cfg.simulator = cfg.simulator && control != nil
    cfg.xksControl = cfg.simulator && xksControl != nil
    self.xksControl = xksControl
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
    // Before the first whole-fleet load: resynchronisations then give their pages back.
    FreePages.settleAllocatorForLargeFleets()
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
      case .mouse(let m): dispatch(.mouse(m, at: clock()))
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
    spawn { [weak self] in
      await self?.loadAndDeliver()
      // The snapshot is gone now; its pages are not (see FreePages).
      FreePages.returnToSystem()
    }
  }

  private func loadAndDeliver() async {
    let result: Msg
    do {
      let snap = try await service.fleetSnapshot()
      result = .snapshot(snap, at: clock())
    } catch let e as KMSError {
      result = .loadFailed(code: e.code, message: e.message)
    } catch {
      result = .loadFailed(code: KMSErrorCode("Error"), message: "\(error)")
    }
    switch loads.loadFinished() {
    case .deliver:
      dispatch(result)
    case .deliverAndStartLoad:
      dispatch(result)
      startLoad()
    case .discard:
      break
    }
  }

  private func spawn(_ body: @escaping @TerminalActor () async -> Void) {
    tasks.removeAll { $0.isCancelled }
    let t = Task { await body() }
    tasks.append(t)
  }

  private func perform(_ effect: Effect) {
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
    case .perform(let op):
      run(op)
    case .writeFile(let path, let contents):
      spawn { [weak self] in
        let failure: String?
        do {
          try contents.write(to: URL(fileURLWithPath: path), options: .atomic)
          failure = nil
        } catch {
          failure = (error as NSError).localizedDescription
        }
        self?.dispatch(.fileWritten(path: path, bytes: contents.count, error: failure))
      }
    case .setFault(let fault, let enabled, let cluster):
      guard let control else { return }
      call("SetFault", target: cluster) {
        try await control.setFault(fault, enabled: enabled, clusterId: cluster)
      }
    case .setKmsuserPassword(let cluster, let password):
      guard let control else { return }
      spawn { [weak self] in
        var failure: String?
        do {
          try await control.setKmsuserPassword(password.revealed, clusterId: cluster)
        } catch let e as KMSError {
          failure = "\(e.code): \(e.message)"
        } catch {
          failure = "\(error)"
        }
        self?.dispatch(.kmsuserPasswordSet(clusterId: cluster, error: failure))
      }
    case .setHsmFailed(let cluster, let hsm, let failed):
      guard let control else { return }
      call("SetHsmFailed", target: hsm) {
        try await control.setHsmFailed(clusterId: cluster, hsmId: hsm, failed: failed)
      }
    case .createHsm(let cluster, let az):
      guard let control else { return }
      call("CreateHsm", target: cluster) {
        _ = try await control.createHsm(CreateHsmRequest(clusterId: cluster, availabilityZone: az))
      }
    case .deleteHsm(let cluster, let hsm):
      guard let control else { return }
      call("DeleteHsm", target: hsm) {
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
    case .loadXKSFaults(let id):
      guard let xksControl else { return }
      call("XKSProxyFaults", target: id) { [weak self] in
        let faults = try await xksControl.xksFaults(customKeyStoreId: id)
        await self?.dispatch(.xksFaults(storeId: id, faults))
      }
    case .setXKSFault(let fault, let enabled, let id):
      guard let xksControl else { return }
      call("SetXKSProxyFault", target: id) { [weak self] in
        try await xksControl.setXKSFault(fault, enabled: enabled, customKeyStoreId: id)
        let faults = try await xksControl.xksFaults(customKeyStoreId: id)
        await self?.dispatch(.xksFaults(storeId: id, faults))
        await self?.perform(.predictConnect(storeId: id))
      }
    }
  }

  /// Runs a store or key operation on the backend; its result comes back as a message, and the
  /// change itself on the delta stream (no reload).
  private func run(_ op: FleetOperation) {
    let service = self.service
    spawn { [weak self] in
      let msg: Msg
      do {
        let result = try await Self.execute(op, on: service)
        msg = .operationSucceeded(op, result: result)
      } catch let e as KMSError {
        msg = .operationFailed(op, code: e.code, message: e.message)
      } catch {
        msg = .operationFailed(op, code: KMSErrorCode("Error"), message: "\(error)")
      }
      self?.dispatch(msg)
    }
  }

  private nonisolated static func execute(_ op: FleetOperation, on service: any DashboardBackend) async throws
    -> OperationResult
  {
    switch op {
    case .connect(let id): try await service.connect(id)
    case .disconnect(let id): try await service.disconnect(id)
    case .enableKey(let k): try await service.enable(k)
    case .disableKey(let k): try await service.disable(k)
    case .scheduleKeyDeletion(let k, let days):
      return .deletionDate(try await service.scheduleDeletion(k, pendingWindowInDays: days))
    case .cancelKeyDeletion(let k): try await service.cancelDeletion(k)
    case .createKey(let store, let description, let alias):
      let id = try await service.createKey(in: store, description: description.isEmpty ? nil : description)
      if let alias {
        do {
          try await service.createAlias(alias, for: id)
        } catch let e as KMSError {
          throw KMSError(e.code, "key \(id) was created, but its alias was not: \(e.message)")
        }
      }
      return .createdKey(id)
    case .createAlias(let alias, let k): try await service.createAlias(alias, for: k)
    case .deleteAlias(let alias): try await service.deleteAlias(alias)
    case .createStore(let name, let cluster, let path, let password):
      let anchor: String
      do {
        anchor = try String(contentsOfFile: (path as NSString).expandingTildeInPath, encoding: .utf8)
      } catch {
        throw KMSError(
          KMSErrorCode("Error"),
          "cannot read the trust anchor file \(path): \((error as NSError).localizedDescription)")
      }
      let id = try await service.createStore(
        name: name, cluster: cluster, trustAnchor: anchor, password: password.revealed)
      return .createdStore(id)
    case .renameStore(let id, let name): try await service.updateStore(id, newName: name, password: nil)
    case .setStorePassword(let id, let password):
      try await service.updateStore(id, newName: nil, password: password.revealed)
    case .deleteStore(let id): try await service.deleteStore(id)
    }
    return .done
  }

  private func call(
    _ operation: String, target: String, _ body: @escaping @Sendable () async throws -> Void
  ) {
    spawn { [weak self] in
      let msg: Msg?
      do {
        try await body()
        msg = nil
      } catch let e as KMSError {
        msg = .status(StatusMessage("\(operation) \(target) failed: \(e.code): \(e.message)", kind: .error))
      } catch {
        msg = .status(StatusMessage("\(operation) \(target) failed: \(error)", kind: .error))
      }
      // Success needs no reload: the change arrives on the delta stream.
      if let msg { self?.dispatch(msg) }
    }
  }
}
