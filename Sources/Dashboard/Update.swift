import Foundation
import KMSModel
import TerminalUI

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
  case .operationSucceeded(let op, let result):
    state.status = StatusMessage(succeededText(op, result: result, state))
    switch result {
    case .createdStore(let id): state.selectWhenSeen = id.rawValue
    case .createdKey(let id): state.selectWhenSeen = id.rawValue
    case .done, .deletionDate: break
    }
    selectCreated(&state)
    return runbookAfter(&state, op, failed: nil)  // the change itself arrives as a delta
  case .operationFailed(let op, let code, let message):
    // An error line, never a state change: a failed call changed nothing.
    state.status = StatusMessage("\(op.operation) \(op.target) failed: \(code): \(message)", kind: .error)
    return runbookAfter(&state, op, failed: "\(code): \(message)")
  case .fileWritten(let path, let bytes, let error):
    if let error {
      state.status = StatusMessage("Could not write \(path): \(error)", kind: .error)
    } else {
      state.status = StatusMessage("Wrote \(path) (\(bytes) bytes)")
    }
    return []
  case .prediction(let id, let text):
    if case .qa(var panel) = state.overlay, panel.storeId == id {
      panel.prediction = text
      state.overlay = .qa(panel)
    } else if case .xksQA(var panel) = state.overlay, panel.storeId == id {
      panel.prediction = text
      state.overlay = .xksQA(panel)
    }
    if var rb = state.runbook, rb.storeId == id {
      rb.prediction = text
      state.runbook = rb
    }
    return []
  case .xksFaults(let id, let faults):
    return receiveXKSFaults(&state, storeId: id, faults)
  case .status(let message):
    state.status = message
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
  selectCreated(&state)
  runbookProgress(&state)
  // A QA panel and a runbook show the predicted outcome of the next connect: refresh it with the
  // fleet.
  if case .qa(let panel) = state.overlay { return [.predictConnect(storeId: panel.storeId)] }
  if case .xksQA(let panel) = state.overlay { return [.predictConnect(storeId: panel.storeId)] }
  if case .runbook = state.overlay, let rb = state.runbook, state.config.simulator, !rb.finished {
    return [.predictConnect(storeId: rb.storeId)]
  }
  return []
}

/// Rows of the store table (excluding its header) for the current size.
func storeTableRows(_ state: DashboardState) -> Int {
  max(1, Layout(state).table.height - 1)
}

func clampTables(_ state: inout DashboardState) {
  let count = state.visibleStores.count
  if let id = state.selectedStoreId, let i = state.visiblePosition(of: id) {
    state.storeTable.selected = i
  } else {
    state.storeTable.selected = min(state.storeTable.selected, max(0, count - 1))
    state.selectedStoreId = count == 0 ? nil : state.visibleStores[state.storeTable.selected].customKeyStoreId
  }
  state.storeTable.clamp(rowCount: count, visibleRows: storeTableRows(state))
  if state.screen.listsKeys {
    state.keyTable.clamp(
      rowCount: state.keyCountOnScreen, visibleRows: max(1, Layout(state).table.height - 1))
  }
}

func moveStoreSelection(_ state: inout DashboardState, to index: Int) {
  let visible = state.visibleStores
  guard !visible.isEmpty else { return }
  let i = min(max(0, index), visible.count - 1)
  state.selectedStoreId = visible[i].customKeyStoreId
  state.storeTable.selected = i
  state.storeTable.clamp(rowCount: visible.count, visibleRows: storeTableRows(state))
}

/// What the status line says when the backend accepted an operation.
private func succeededText(_ op: FleetOperation, result: OperationResult, _ state: DashboardState) -> String {
  var target = op.target
  if let id = op.storeId?.rawValue, let name = state.store(id: id)?.customKeyStoreName {
    target = "\(name) (\(state.storeLabel(id)))"
  }
  let detail: String
  switch result {
  case .done: detail = ""
  case .createdStore(let id): detail = ": store \(id)"
  case .createdKey(let id): detail = ": key \(id)"
  case .deletionDate(let date):
    detail = date.map { ": deletion on \(Fmt.dateTime($0, state.config.timeZone))" } ?? ""
  }
  return "\(op.operation) accepted for \(target)\(detail)"
}

/// Selects the store or key an accepted create named, as soon as the fleet shows it (its delta
/// may arrive before or after the answer).
func selectCreated(_ state: inout DashboardState) {
  guard let id = state.selectWhenSeen else { return }
  if state.store(id: id) != nil {
    state.selectWhenSeen = nil
    if state.visiblePosition(of: id) == nil, !state.filter.isEmpty { state.filter = "" }
    state.selectedStoreId = id
    clampTables(&state)
  } else if state.key(id: id) != nil {
    state.selectWhenSeen = nil
    guard state.screen == .allKeys || state.screen == state.store(ofKey: id).map({ .keys(storeId: $0) }),
      let i = state.keysOnScreen.firstIndex(where: { $0.keyId == id })
    else { return }
    state.keyTable.selected = i
    clampTables(&state)
  }
}

/// Routes a key to the overlay on top, or to the screen: each has its own small handler.
private func handleKey(_ state: inout DashboardState, _ key: Key) -> [Effect] {
  switch KeyTable.command(for: key, in: .global) {
  case .interrupt?:
    state.quitRequested = true
    state.exitCode = 130
    return [.quit(130)]
  case .redraw?:
    return [.redraw]
  default: break
  }
  if key == .resize { return [] }
  switch state.overlay {
  case .help(let scroll): return handleHelpKey(&state, key, scroll: scroll)
  case .dialog(let dialog): return handleDialogKey(&state, key, dialog)
  case .command(let input): return handleCommandKey(&state, key, input)
  case .filter(let input): return handleFilterKey(&state, key, input)
  case .qa(let panel): return handleQAKey(&state, key, panel)
  case .xksQA(let panel): return handleXKSQAKey(&state, key, panel)
  case .runbook: return handleRunbookKey(&state, key)
  case nil: break
  }
  if case .keys(let id) = state.screen { return handleKeysScreenKey(&state, key, storeId: id) }
  if state.screen == .allKeys { return handleAllKeysScreenKey(&state, key) }
  return handleStoresKey(&state, key)
}

/// Quits with status 0.
func quit(_ state: inout DashboardState) -> [Effect] {
  state.quitRequested = true
  return [.quit(0)]
}
