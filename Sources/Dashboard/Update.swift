import Foundation
import KMSModel
import TerminalUI

/// Everything that can happen to the dashboard.
public enum Msg: Sendable, Equatable {
  case key(Key)
  case resize(Size)
  /// The clock advanced (animation tick while something is transient).
  case tick(Date)
  /// A fresh snapshot of the fleet, received at `at`.
  case snapshot(FleetSnapshot, at: Date)
  /// One committed change of the fleet, received at `at`.
  case delta(FleetDelta, at: Date)
  case loadFailed(code: String, message: String)
  case actionSucceeded(StoreAction, storeId: String)
  case actionFailed(operation: String, target: String, code: String, message: String)
  case prediction(storeId: String, String)
  /// SIGINT, SIGTERM, SIGHUP (or a closed pty).
  case signal(Int32)
}

/// Work for the runtime; results come back as messages.
public enum Effect: Sendable, Equatable {
  case loadSnapshot
  case connect(storeId: String)
  case disconnect(storeId: String)
  case setFault(SimulatorFault, enabled: Bool, clusterId: String)
  case setHsmFailed(clusterId: String, hsmId: String, failed: Bool)
  case createHsm(clusterId: String, availabilityZone: String)
  case deleteHsm(clusterId: String, hsmId: String)
  case predictConnect(storeId: String)
  /// Forget the previous frame and repaint everything (Ctrl-L).
  case redraw
  case quit(Int32)

  /// True for every effect that changes the engine or the simulator.
  public var isMutating: Bool {
    switch self {
    case .connect, .disconnect, .setFault, .setHsmFailed, .createHsm, .deleteHsm: true
    case .loadSnapshot, .predictConnect, .redraw, .quit: false
    }
  }
}

/// The key bindings, as the help overlay lists them. Every key handled in `update` is here.
public enum KeyBindings {
  public static func sections(readOnly: Bool, simulator: Bool) -> [(String, [HelpOverlay.Entry])] {
    var actions: [HelpOverlay.Entry] = []
    if readOnly {
      actions.append(.init("d / c", "disabled: read-only mode"))
    } else {
      actions.append(.init("d", "disconnect the selected store (confirm)"))
      actions.append(.init("c", "connect the selected store (confirm)"))
    }
    actions.append(.init("Enter", "keys of the selected store"))
    if simulator { actions.append(.init("f", "QA panel: faults of the store's cluster")) }
    actions.append(.init("r", "reload from the backend"))
    return [
      (
        "Move",
        [
          .init("j / ↓", "next row"), .init("k / ↑", "previous row"), .init("PgDn / PgUp", "page down / up"),
          .init("Home / g", "first row"), .init("End / G", "last row"),
        ]
      ),
      ("Stores", actions),
      (
        "View",
        [
          .init("/", "filter: name, ID, cluster, state (Esc clears)"),
          .init("s / S", "sort by next column / reverse order"), .init("1 … 8", "sort by column N"),
          .init("e", "toggle detail / event history pane"), .init("Esc", "back, close, cancel"),
          .init("Ctrl-L", "redraw the screen"),
        ]
      ),
      (
        "Dialogs",
        [
          .init("y / Enter", "confirm (Enter on the focused button)"), .init("n / Esc", "cancel"),
          .init("Tab / ← →", "move focus between buttons"),
        ]
      ),
      (
        "Command line (:)",
        [
          .init(":connect ID", "connect a store (ID or name; confirm)"),
          .init(":disconnect ID", "disconnect a store (ID or name; confirm)"),
          .init(":filter TEXT", "set the filter"), .init(":q", "quit"),
          .init("Tab", "complete store IDs and names"),
        ]
      ),
      (
        "QA panel (f)",
        simulator
          ? [
            .init("Space / Enter", "toggle the fault, fail/restore the HSM, or add an HSM"),
            .init("x", "delete the selected HSM"), .init("c / d", "connect / disconnect the store"),
          ] : [.init("—", "needs the simulator (embedded engine)")]
      ),
      ("General", [.init("?", "this help"), .init("q / Ctrl-C", "quit")]),
    ]
  }
}

// MARK: - update

/// Applies `msg` to `state` and returns the effects to run. Pure: no I/O, no clock.
public func update(_ state: inout DashboardState, _ msg: Msg) -> [Effect] {
  var effects = reduce(&state, msg)
  if state.config.readOnly {
    // Belt and braces: no mutating effect can leave a read-only dashboard.
    effects.removeAll { $0.isMutating }
  }
  return effects
}

private func reduce(_ state: inout DashboardState, _ msg: Msg) -> [Effect] {
  switch msg {
  case .resize(let size):
    state.size = size
    clampTables(&state)
    return []
  case .tick(let now):
    state.now = now
    state.highlightUntil = state.highlightUntil.filter { $0.value > now }
    return []
  case .snapshot(let snap, let at):
    return applySnapshot(&state, snap, at: at)
  case .delta(let delta, let at):
    return applyDelta(&state, delta, at: at)
  case .loadFailed(let code, let message):
    state.loadError = "\(code): \(message)"
    state.status = StatusMessage("Loading the fleet failed: \(code): \(message)", kind: .error)
    return []
  case .actionSucceeded(let action, let id):
    let name = state.store(id: id)?.customKeyStoreName ?? id
    state.status = StatusMessage("\(action.operation) accepted for \(name) (\(id))")
    return []  // the change itself arrives as a delta
  case .actionFailed(let operation, let target, let code, let message):
    // An error line, never a state change: a failed call changed nothing.
    state.status = StatusMessage("\(operation) \(target) failed: \(code): \(message)", kind: .error)
    return []
  case .prediction(let id, let text):
    if case .qa(var panel) = state.overlay, panel.storeId == id {
      panel.prediction = text
      state.overlay = .qa(panel)
    }
    return []
  case .signal(let signo):
    state.quitRequested = true
    state.exitCode = 128 + signo
    return [.quit(128 + signo)]
  case .key(let key):
    return handleKey(&state, key)
  }
}

private func applySnapshot(_ state: inout DashboardState, _ snap: FleetSnapshot, at: Date) -> [Effect] {
  state.now = max(state.now, at)
  state.loadError = nil
  if let old = state.snapshot {
    var changed = old.version != snap.version
    for s in snap.stores {
      guard let id = s.customKeyStoreId else { continue }
      let before = old.store(id: id)
      if before?.connectionState != s.connectionState || before?.connectionErrorCode != s.connectionErrorCode
      {
        state.highlightUntil[id] = at.addingTimeInterval(DashboardState.highlightDuration)
        changed = true
      }
    }
    if changed { state.lastChange = snap.events.last?.date ?? at }
  } else {
    state.lastChange = snap.events.last?.date ?? at
  }
  state.load(snap)
  return fleetChanged(&state)
}

/// One committed change: the snapshot is patched in place and only the rows it touched move, so
/// the cost follows the size of the change, not of the fleet.
private func applyDelta(_ state: inout DashboardState, _ delta: FleetDelta, at: Date) -> [Effect] {
  guard let version = state.snapshot?.version, delta.version <= version + 1 else {
    // A gap (or no snapshot yet) means deltas were missed: resynchronise from one snapshot.
    return [.loadSnapshot]
  }
  guard delta.version == version + 1 else { return [] }  // already reflected
  // Looked up store by store, without holding a copy of the snapshot: the state must hold the
  // only reference while the delta is applied in place.
  let highlighted = delta.stores.compactMap { s -> String? in
    guard let id = s.customKeyStoreId else { return nil }
    let before = state.store(id: id)
    let changed =
      before?.connectionState != s.connectionState || before?.connectionErrorCode != s.connectionErrorCode
    return changed ? id : nil
  }
  guard state.apply(delta) else { return [.loadSnapshot] }
  state.now = max(state.now, at)
  state.loadError = nil
  for id in highlighted {
    state.highlightUntil[id] = at.addingTimeInterval(DashboardState.highlightDuration)
  }
  state.lastChange = state.snapshot?.events.last?.date ?? at
  return fleetChanged(&state)
}

/// After the fleet changed: keep the selection and the screen on things that still exist.
private func fleetChanged(_ state: inout DashboardState) -> [Effect] {
  if state.selectedStoreId.flatMap({ state.store(id: $0) }) == nil {
    state.selectedStoreId = state.visibleStores.first?.customKeyStoreId
  }
  if case .keys(let id) = state.screen, state.store(id: id) == nil { state.screen = .stores }
  clampTables(&state)
  // A QA panel shows the predicted outcome of the next connect: refresh it with the fleet.
  if case .qa(let panel) = state.overlay { return [.predictConnect(storeId: panel.storeId)] }
  return []
}

/// Rows of the store table (excluding its header) for the current size.
func storeTableRows(_ state: DashboardState) -> Int {
  max(1, Layout(state).table.height - 1)
}

private func clampTables(_ state: inout DashboardState) {
  let count = state.visibleStores.count
  if let id = state.selectedStoreId, let i = state.visiblePosition(of: id) {
    state.storeTable.selected = i
  } else {
    state.storeTable.selected = min(state.storeTable.selected, max(0, count - 1))
    state.selectedStoreId = count == 0 ? nil : state.visibleStores[state.storeTable.selected].customKeyStoreId
  }
  state.storeTable.clamp(rowCount: count, visibleRows: storeTableRows(state))
  if case .keys(let id) = state.screen {
    let n = state.keyCount(inStore: id)
    state.keyTable.clamp(rowCount: n, visibleRows: max(1, Layout(state).table.height - 1))
  }
}

private func moveStoreSelection(_ state: inout DashboardState, to index: Int) {
  let visible = state.visibleStores
  guard !visible.isEmpty else { return }
  let i = min(max(0, index), visible.count - 1)
  state.selectedStoreId = visible[i].customKeyStoreId
  state.storeTable.selected = i
  state.storeTable.clamp(rowCount: visible.count, visibleRows: storeTableRows(state))
}

private func handleKey(_ state: inout DashboardState, _ key: Key) -> [Effect] {
  // Keys that work everywhere.
  switch key {
  case .ctrl("c"):
    state.quitRequested = true
    state.exitCode = 130
    return [.quit(130)]
  case .ctrl("l"):
    return [.redraw]
  case .resize:
    return []
  default: break
  }
  switch state.overlay {
  case .help(let scroll): return handleHelpKey(&state, key, scroll: scroll)
  case .dialog(let dialog): return handleDialogKey(&state, key, dialog)
  case .command(let input): return handleCommandKey(&state, key, input)
  case .filter(let input): return handleFilterKey(&state, key, input)
  case .qa(let panel): return handleQAKey(&state, key, panel)
  case nil: break
  }
  if case .keys(let id) = state.screen { return handleKeysScreenKey(&state, key, storeId: id) }
  return handleStoresKey(&state, key)
}

private func handleStoresKey(_ state: inout DashboardState, _ key: Key) -> [Effect] {
  let page = storeTableRows(state)
  let i = state.storeTable.selected
  switch key {
  case .char("q"):
    state.quitRequested = true
    return [.quit(0)]
  case .char("j"), .down: moveStoreSelection(&state, to: i + 1)
  case .char("k"), .up: moveStoreSelection(&state, to: i - 1)
  case .pageDown: moveStoreSelection(&state, to: i + page)
  case .pageUp: moveStoreSelection(&state, to: i - page)
  case .home, .char("g"): moveStoreSelection(&state, to: 0)
  case .end, .char("G"): moveStoreSelection(&state, to: Int.max / 2)
  case .char("?"): state.overlay = .help(scroll: 0)
  case .char("/"): state.overlay = .filter(TextInput(state.filter))
  case .char(":"):
    state.overlay = .command(TextInput())
    state.completions = []
  case .char("e"): state.lowerPane = state.lowerPane == .detail ? .events : .detail
  case .char("r"): return [.loadSnapshot]
  case .char("s"):
    setSort(&state, StoreColumn(rawValue: (state.sortColumn.rawValue + 1) % StoreColumn.allCases.count)!)
  case .char("S"):
    state.sortAscending.toggle()
    clampTables(&state)
  case .char(let c) where c.isNumber:
    if let n = c.wholeNumberValue, let col = StoreColumn(rawValue: n - 1) {
      if col == state.sortColumn {
        state.sortAscending.toggle()
        clampTables(&state)
      } else {
        setSort(&state, col)
      }
    }
  case .escape:
    if !state.filter.isEmpty {
      state.filter = ""
      clampTables(&state)
    }
  case .enter:
    if let id = state.selectedStore?.customKeyStoreId {
      state.screen = .keys(storeId: id)
      state.keyTable = TableState()
    }
  case .char("d"):
    if let s = state.selectedStore { return request(.disconnect, store: s, &state) }
    state.status = StatusMessage("No store selected", kind: .error)
  case .char("c"):
    if let s = state.selectedStore { return request(.connect, store: s, &state) }
    state.status = StatusMessage("No store selected", kind: .error)
  case .char("f"):
    return openQA(&state)
  default: break
  }
  return []
}

private func setSort(_ state: inout DashboardState, _ column: StoreColumn) {
  state.sortColumn = column
  state.sortAscending = true
  clampTables(&state)
}

private func handleKeysScreenKey(_ state: inout DashboardState, _ key: Key, storeId: String) -> [Effect] {
  let count = state.keyCount(inStore: storeId)
  let page = max(1, Layout(state).table.height - 1)
  switch key {
  case .char("q"):
    state.quitRequested = true
    return [.quit(0)]
  case .escape, .backspace, .left, .char("h"): state.screen = .stores
  case .char("j"), .down: state.keyTable.move(by: 1, rowCount: count, visibleRows: page)
  case .char("k"), .up: state.keyTable.move(by: -1, rowCount: count, visibleRows: page)
  case .pageDown: state.keyTable.move(by: page, rowCount: count, visibleRows: page)
  case .pageUp: state.keyTable.move(by: -page, rowCount: count, visibleRows: page)
  case .home, .char("g"): state.keyTable.move(by: -count, rowCount: count, visibleRows: page)
  case .end, .char("G"): state.keyTable.move(by: count, rowCount: count, visibleRows: page)
  case .char("?"): state.overlay = .help(scroll: 0)
  case .char("d"), .char("c"):
    if let s = state.store(id: storeId) {
      return request(key == .char("d") ? .disconnect : .connect, store: s, &state)
    }
  case .char("r"): return [.loadSnapshot]
  default: break
  }
  return []
}

/// Opens the confirmation dialog for `action`, or explains why the state forbids it.
func request(_ action: StoreAction, store s: CustomKeyStoresListEntry, _ state: inout DashboardState)
  -> [Effect]
{
  let id = s.customKeyStoreId ?? ""
  let name = s.customKeyStoreName ?? id
  if state.config.readOnly {
    state.status = StatusMessage(
      "Read-only mode: \(action.rawValue) is disabled (started with --read-only)", kind: .error)
    return []
  }
  let st = s.connectionState
  switch (action, st) {
  case (.connect, .failed):
    let code = s.connectionErrorCode?.rawValue ?? "unknown error"
    state.overlay = .dialog(
      ConfirmDialog(
        kind: .offerDisconnect, storeId: id, storeName: name, title: "Cannot connect \(name)",
        body: [
          "\(name) (\(id)) is FAILED (\(code)). A FAILED store must be disconnected first; connecting it now would fail with CustomKeyStoreInvalidStateException.",
          s.connectionErrorCode.map { "Remedy: \($0.remedy)" } ?? "",
          "Disconnect it first?",
        ].filter { !$0.isEmpty }, okLabel: "Disconnect…"))
    return []
  case (.connect, .disconnecting):
    state.status = StatusMessage(
      "Cannot connect \(name): it is DISCONNECTING; wait until it is DISCONNECTED", kind: .error)
    return []
  case (.connect, .connected), (.connect, .connecting):
    state.status = StatusMessage("\(name) is already \(st!.rawValue): nothing to connect")
    return []
  case (.disconnect, .disconnected), (.disconnect, .disconnecting):
    state.status = StatusMessage("Cannot disconnect \(name): it is already \(st!.rawValue)", kind: .error)
    return []
  default: break
  }
  state.overlay = .dialog(makeConfirmDialog(action, store: s, state))
  return []
}

func makeConfirmDialog(_ action: StoreAction, store s: CustomKeyStoresListEntry, _ state: DashboardState)
  -> ConfirmDialog
{
  let id = s.customKeyStoreId ?? ""
  let name = s.customKeyStoreName ?? id
  var body: [String]
  switch action {
  case .disconnect:
    let keys = state.keys(inStore: id)
    let affected = keys.filter { $0.keyState != .pendingDeletion }
    let aliases = affected.flatMap { state.snapshot?.aliases(forKey: $0.keyId) ?? [] }
    let aliasText: String
    if aliases.isEmpty {
      aliasText = "no aliases"
    } else if aliases.count > 5 {
      aliasText = "aliases " + aliases.prefix(5).joined(separator: ", ") + " and \(aliases.count - 5) more"
    } else {
      aliasText = (aliases.count == 1 ? "alias " : "aliases ") + aliases.joined(separator: ", ")
    }
    body = [
      "Disconnect \(name) (\(id))?",
      "\(affected.count) KMS key\(affected.count == 1 ? "" : "s") become Unavailable (\(aliasText)).",
      "Creating keys in this store and all cryptographic operations with its keys will fail until it is connected again.",
    ]
  case .connect:
    body = [
      "Connect \(name) (\(id))?",
      "The store shows CONNECTING, then CONNECTED, or FAILED with a connection error code. In AWS a CloudHSM connect can take up to 20 minutes.",
    ]
  }
  var typed: TextInput?
  if state.config.confirm == .typed {
    body.append("Type the store name to confirm.")
    typed = TextInput()
  }
  let verb = action == .disconnect ? "Disconnect" : "Connect"
  return ConfirmDialog(
    kind: .confirm(action), storeId: id, storeName: name, title: "\(verb) custom key store", body: body,
    typed: typed, okLabel: verb)
}

private func handleDialogKey(_ state: inout DashboardState, _ key: Key, _ dialog: ConfirmDialog) -> [Effect] {
  var d = dialog
  func confirm() -> [Effect] {
    guard d.canConfirm else {
      state.status = StatusMessage("Type the store name \"\(d.storeName)\" to confirm", kind: .error)
      state.overlay = .dialog(d)
      return []
    }
    state.overlay = nil
    switch d.kind {
    case .offerDisconnect:
      if let s = state.store(id: d.storeId) {
        state.overlay = .dialog(makeConfirmDialog(.disconnect, store: s, state))
      } else {
        state.status = StatusMessage("\(d.storeId) no longer exists", kind: .error)
      }
      return []
    case .confirm(let action):
      if state.config.readOnly {
        state.status = StatusMessage("Read-only mode: \(action.rawValue) is disabled", kind: .error)
        return []
      }
      state.status = StatusMessage("\(action.operation) requested for \(d.storeName) (\(d.storeId))…")
      return [action == .connect ? .connect(storeId: d.storeId) : .disconnect(storeId: d.storeId)]
    }
  }
  func cancel() -> [Effect] {
    state.overlay = nil
    state.status = StatusMessage("Cancelled; nothing changed")
    return []
  }
  switch key {
  case .escape: return cancel()
  case .tab, .backTab, .left, .right:
    d.focused = 1 - d.focused
    state.overlay = .dialog(d)
    return []
  case .enter:
    return d.focused == 1 ? confirm() : cancel()
  default: break
  }
  if var input = d.typed {
    if input.handle(key) {
      d.typed = input
      state.overlay = .dialog(d)
    }
    return []
  }
  switch key {
  case .char("y"), .char("Y"): return confirm()
  case .char("n"), .char("N"), .char("q"): return cancel()
  default: return []
  }
}

private func handleHelpKey(_ state: inout DashboardState, _ key: Key, scroll: Int) -> [Effect] {
  switch key {
  case .escape, .char("?"), .char("q"), .enter: state.overlay = nil
  case .char("j"), .down: state.overlay = .help(scroll: scroll + 1)
  case .char("k"), .up: state.overlay = .help(scroll: max(0, scroll - 1))
  case .pageDown: state.overlay = .help(scroll: scroll + 10)
  case .pageUp: state.overlay = .help(scroll: max(0, scroll - 10))
  default: break
  }
  return []
}

private func handleFilterKey(_ state: inout DashboardState, _ key: Key, _ input: TextInput) -> [Effect] {
  var input = input
  switch key {
  case .escape:
    state.filter = ""
    state.overlay = nil
  case .enter:
    state.overlay = nil
  default:
    input.handle(key)
    state.filter = input.text
    state.overlay = .filter(input)
  }
  clampTables(&state)
  return []
}

// MARK: Command line

/// Store IDs and names that complete `prefix` (case-insensitive).
func completionCandidates(_ state: DashboardState, prefix: String) -> [String] {
  let p = prefix.lowercased()
  var out: [String] = []
  for s in state.stores {
    if let id = s.customKeyStoreId, id.lowercased().hasPrefix(p) { out.append(id) }
    if let n = s.customKeyStoreName, n.lowercased().hasPrefix(p), !n.contains(" ") { out.append(n) }
  }
  return Array(Set(out)).sorted()
}

private let commandNames = ["connect", "disconnect", "filter", "quit", "q", "help"]

private func handleCommandKey(_ state: inout DashboardState, _ key: Key, _ input: TextInput) -> [Effect] {
  var input = input
  switch key {
  case .escape:
    state.overlay = nil
    state.completions = []
    return []
  case .tab:
    let text = input.text
    let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let candidates: [String]
    let prefix: String
    if parts.count <= 1 {
      prefix = parts.first ?? ""
      candidates = commandNames.filter { $0.hasPrefix(prefix) }
    } else {
      prefix = parts[1]
      candidates = completionCandidates(state, prefix: prefix)
    }
    state.completions = candidates
    if let common = commonPrefix(candidates), common.count >= prefix.count {
      let completed = candidates.count == 1 ? common + (parts.count <= 1 ? " " : "") : common
      input.set(parts.count <= 1 ? completed : parts[0] + " " + completed)
    }
    state.overlay = .command(input)
    return []
  case .enter:
    state.overlay = nil
    state.completions = []
    return runCommand(&state, input.text)
  case .backspace where input.text.isEmpty:
    state.overlay = nil
    return []
  default:
    input.handle(key)
    state.completions = []
    state.overlay = .command(input)
    return []
  }
}

private func commonPrefix(_ strings: [String]) -> String? {
  guard var p = strings.first else { return nil }
  for s in strings.dropFirst() {
    while !s.hasPrefix(p) { p.removeLast() }
  }
  return p
}

private func runCommand(_ state: inout DashboardState, _ line: String) -> [Effect] {
  let parts = line.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
  guard let cmd = parts.first else { return [] }
  let arg = parts.count > 1 ? parts[1] : ""
  switch cmd {
  case "q", "quit":
    state.quitRequested = true
    return [.quit(0)]
  case "help":
    state.overlay = .help(scroll: 0)
    return []
  case "filter":
    state.filter = arg
    clampTables(&state)
    return []
  case "connect", "disconnect":
    let action: StoreAction = cmd == "connect" ? .connect : .disconnect
    guard !arg.isEmpty else {
      state.status = StatusMessage("usage: :\(cmd) ID-or-name", kind: .error)
      return []
    }
    guard
      let s = state.stores.first(where: { $0.customKeyStoreId == arg })
        ?? state.stores.first(where: { $0.customKeyStoreName == arg })
    else {
      state.status = StatusMessage("No custom key store with ID or name \"\(arg)\"", kind: .error)
      return []
    }
    return request(action, store: s, &state)
  default:
    state.status = StatusMessage(
      "Unknown command :\(cmd) (try :connect, :disconnect, :filter, :q)", kind: .error)
    return []
  }
}

// MARK: QA panel

/// One row of the QA panel.
public enum QAItem: Sendable, Equatable {
  case fault(SimulatorFault, enabled: Bool)
  case hsm(id: String, az: String, state: String)
  case addHsm(az: String)
}

public func qaItems(_ state: DashboardState, _ panel: QAPanel) -> [QAItem] {
  guard let clusterId = panel.clusterId else { return [] }
  let faults = state.snapshot?.faults[clusterId] ?? []
  var items: [QAItem] = SimulatorFault.allCases.map { .fault($0, enabled: faults.contains($0)) }
  let cluster = state.snapshot?.cluster(clusterId)
  for h in (cluster?.hsms ?? []).sorted(by: {
    ($0.availabilityZone ?? "", $0.hsmId) < ($1.availabilityZone ?? "", $1.hsmId)
  }) {
    items.append(.hsm(id: h.hsmId, az: h.availabilityZone ?? "?", state: h.state?.rawValue ?? "?"))
  }
  let azs = Set((cluster?.subnetMapping ?? [:]).keys).union(cluster?.availabilityZones ?? []).sorted()
  for az in azs { items.append(.addHsm(az: az)) }
  return items
}

private func openQA(_ state: inout DashboardState) -> [Effect] {
  guard state.config.simulator else {
    state.status = StatusMessage(
      "The QA panel needs the simulator (embedded engine or kmsdash serve)", kind: .error)
    return []
  }
  guard let s = state.selectedStore, let id = s.customKeyStoreId else { return [] }
  guard let cluster = s.cloudHsmClusterId else {
    state.status = StatusMessage(
      "\(s.customKeyStoreName ?? id) is an external key store: faults apply to CloudHSM clusters",
      kind: .error)
    return []
  }
  state.overlay = .qa(QAPanel(storeId: id, clusterId: cluster))
  return [.predictConnect(storeId: id)]
}

private func handleQAKey(_ state: inout DashboardState, _ key: Key, _ panel: QAPanel) -> [Effect] {
  var p = panel
  let items = qaItems(state, p)
  switch key {
  case .escape, .char("q"), .char("f"):
    state.overlay = nil
    return []
  case .char("j"), .down: p.selected = min(p.selected + 1, max(0, items.count - 1))
  case .char("k"), .up: p.selected = max(0, p.selected - 1)
  case .home, .char("g"): p.selected = 0
  case .end, .char("G"): p.selected = max(0, items.count - 1)
  case .char(" "), .enter, .char("x"):
    guard p.selected < items.count, let cluster = p.clusterId else { break }
    if state.config.readOnly {
      state.status = StatusMessage("Read-only mode: fault injection is disabled", kind: .error)
      break
    }
    let item = items[p.selected]
    state.overlay = .qa(p)
    switch item {
    case .fault(let f, let enabled):
      guard key != .char("x") else { return [] }
      state.status = StatusMessage("\(enabled ? "Clearing" : "Setting") fault \(f.rawValue) on \(cluster)…")
      return [.setFault(f, enabled: !enabled, clusterId: cluster)]
    case .hsm(let id, _, let st):
      if key == .char("x") {
        state.status = StatusMessage("Deleting \(id)…")
        return [.deleteHsm(clusterId: cluster, hsmId: id)]
      }
      let fail = st == HsmState.active.rawValue
      state.status = StatusMessage("\(fail ? "Failing" : "Restoring") \(id)…")
      return [.setHsmFailed(clusterId: cluster, hsmId: id, failed: fail)]
    case .addHsm(let az):
      guard key != .char("x") else { return [] }
      state.status = StatusMessage("Creating an HSM in \(az)…")
      return [.createHsm(clusterId: cluster, availabilityZone: az)]
    }
  case .char("c"), .char("d"):
    if let s = state.store(id: p.storeId) {
      state.overlay = nil
      return request(key == .char("c") ? .connect : .disconnect, store: s, &state)
    }
  default: break
  }
  state.overlay = .qa(p)
  return []
}
