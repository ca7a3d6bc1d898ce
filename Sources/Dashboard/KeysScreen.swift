import KMSModel
import TerminalUI

/// Keys on the keys view of one store, dispatched through `KeyTable`.
func handleKeysScreenKey(_ state: inout DashboardState, _ key: Key, storeId: String) -> [Effect] {
  guard let command = KeyTable.command(for: key, in: .keys) else { return [] }
  switch command {
  case .connect, .disconnect:
    if let s = state.store(id: storeId) {
      return request(command == .disconnect ? .disconnect : .connect, store: s, &state)
    }
    return []
  case .createKey:
    if let s = state.store(id: storeId) { return requestCreateKey(s, &state) }
    return []
  default:
    return handleKeyListCommand(&state, command)
  }
}

/// Keys on the all-keys view (every key of the account), dispatched through `KeyTable`.
func handleAllKeysScreenKey(_ state: inout DashboardState, _ key: Key) -> [Effect] {
  guard let command = KeyTable.command(for: key, in: .allKeys) else { return [] }
  return handleKeyListCommand(&state, command)
}

/// Opens the all-keys view on its first key.
func openAllKeys(_ state: inout DashboardState) {
  state.screen = .allKeys
  state.keyTable = TableState()
}

/// What both key lists do alike: moving, the key actions on the selected key, help, the command
/// line, reload, back and quit.
private func handleKeyListCommand(_ state: inout DashboardState, _ command: KeyCommand) -> [Effect] {
  let count = state.keyCountOnScreen
  let page = max(1, Layout(state).table.height - 1)
  func selectedKey(_ action: DialogAction) -> [Effect] {
    guard let k = state.selectedKey else {
      state.status = StatusMessage("No key selected", kind: .error)
      return []
    }
    return requestKeyAction(action, key: k, &state)
  }
  switch command {
  case .quit: return quit(&state)
  case .back: state.screen = .stores
  case .moveDown: state.keyTable.move(by: 1, rowCount: count, visibleRows: page)
  case .moveUp: state.keyTable.move(by: -1, rowCount: count, visibleRows: page)
  case .pageDown: state.keyTable.move(by: page, rowCount: count, visibleRows: page)
  case .pageUp: state.keyTable.move(by: -page, rowCount: count, visibleRows: page)
  case .first: state.keyTable.move(by: -count, rowCount: count, visibleRows: page)
  case .last: state.keyTable.move(by: count, rowCount: count, visibleRows: page)
  case .help: state.overlay = .help(scroll: 0)
  case .openCommandLine:
    state.overlay = .command(TextInput())
    state.completions = []
  case .reload: return [.loadSnapshot]
  case .openAllKeys: openAllKeys(&state)
  case .enableKey: return selectedKey(.enableKey)
  case .disableKey: return selectedKey(.disableKey)
  case .scheduleDeletion: return selectedKey(.scheduleKeyDeletion)
  case .cancelDeletion: return selectedKey(.cancelKeyDeletion)
  case .addAlias: return selectedKey(.addAlias)
  case .removeAlias: return selectedKey(.removeAlias)
  default: break
  }
  return []
}
