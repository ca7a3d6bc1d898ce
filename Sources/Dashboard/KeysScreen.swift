import KMSModel
import TerminalUI

/// Keys on the keys view of one store, dispatched through `KeyTable`.
func handleKeysScreenKey(_ state: inout DashboardState, _ key: Key, storeId: String) -> [Effect] {
  guard let command = KeyTable.command(for: key, in: .keys) else { return [] }
  let count = state.keyCount(inStore: storeId)
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
  case .connect, .disconnect:
    if let s = state.store(id: storeId) {
      return request(command == .disconnect ? .disconnect : .connect, store: s, &state)
    }
  case .enableKey: return selectedKey(.enableKey)
  case .disableKey: return selectedKey(.disableKey)
  case .scheduleDeletion: return selectedKey(.scheduleKeyDeletion)
  case .cancelDeletion: return selectedKey(.cancelKeyDeletion)
  case .addAlias: return selectedKey(.addAlias)
  case .removeAlias: return selectedKey(.removeAlias)
  case .createKey:
    if let s = state.store(id: storeId) { return requestCreateKey(s, &state) }
  default: break
  }
  return []
}
