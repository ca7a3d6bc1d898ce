import Foundation
import KMSModel
import TerminalUI

/// Runs the dashboard: feeds terminal events and engine results through `update`, performs the
/// effects against a `DashboardBackend` / `SimulatorControl`, and draws `view(state)` when it
/// changed. It has no timer of its own: it wakes for keys, engine changes, and (only while a
/// store is transient or a row is highlighted) a 10 Hz animation tick.
@TerminalActor
public final class DashboardRuntime {
  public private(set) var state: DashboardState
  private let terminal: any Terminal
  private let service: any DashboardBackend
  private let control: (any SimulatorControl)?
  private let clock: @Sendable () -> Date
  private var lastFrame: Buffer?
  private var lastRender = ContinuousClock.now.advanced(by: .seconds(-1))
  private var renderScheduled = false
  private var ticker: Task<Void, Never>?
  private var tasks: [Task<Void, Never>] = []
  private var loading = false
  private var reloadPending = false
  private var exitCode: Int32?
  /// Frames actually sent to the terminal (identical frames are skipped).
  public private(set) var framesDrawn = 0

  public init(
    terminal: any Terminal, service: any DashboardBackend, control: (any SimulatorControl)?,
    config: DashboardConfig, clock: @escaping @Sendable () -> Date = { Date() }
  ) {
    var cfg = config
    cfg.simulator = cfg.simulator && control != nil
    self.terminal = terminal
    self.service = service
    self.control = control
    self.clock = clock
    self.state = DashboardState(config: cfg, size: terminal.size, now: clock())
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
    scheduleRender()
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
    ticker?.cancel()
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
    scheduleRender()
  }

  private func manageTicker() {
    if state.needsAnimation {
      guard ticker == nil else { return }
      ticker = Task { [weak self] in
        while !Task.isCancelled {
          try? await Task.sleep(for: .milliseconds(100))
          guard let self, !Task.isCancelled else { return }
          self.dispatch(.tick(self.clock()))
        }
      }
    } else if let t = ticker {
      t.cancel()
      ticker = nil
    }
  }

  private func scheduleRender() {
    guard !renderScheduled else { return }
    renderScheduled = true
    // Runs after the jobs already queued on the terminal thread: bursts coalesce into one frame.
    let t = Task { [weak self] in
      guard let self else { return }
      let wait = self.lastRender.advanced(by: .milliseconds(16)) - ContinuousClock.now
      if wait > .zero { try? await Task.sleep(for: wait) }
      self.renderNow()
    }
    _ = t
  }

  private func renderNow() {
    renderScheduled = false
    guard exitCode == nil else { return }
    state.size = terminal.size
    let frame = view(state)
    if frame == lastFrame { return }  // nothing visible changed: write nothing
    terminal.draw(frame)
    lastFrame = frame
    lastRender = ContinuousClock.now
    framesDrawn += 1
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
      ticker?.cancel()
    case .redraw:
      lastFrame = nil
      terminal.invalidate()
    case .loadSnapshot:
      if loading {
        reloadPending = true
        return
      }
      loading = true
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
        self.loading = false
        self.dispatch(result)
        if self.reloadPending {
          self.reloadPending = false
          self.perform(.loadSnapshot)
        }
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
