import KMSModel
import TerminalUI

/// Keys on the store table, dispatched through `KeyTable`.
func handleStoresKey(_ state: inout DashboardState, _ key: Key) -> [Effect] {
  guard let command = KeyTable.command(for: key, in: .stores) else { return [] }
  let page = storeTableRows(state)
  let i = state.storeTable.selected
  func selected(_ body: (CustomKeyStoresListEntry) -> [Effect]) -> [Effect] {
    guard let s = state.selectedStore else {
      state.status = StatusMessage("No store selected", kind: .error)
      return []
    }
    return body(s)
  }
  switch command {
  case .quit: return quit(&state)
  case .moveDown: moveStoreSelection(&state, to: i + 1)
  case .moveUp: moveStoreSelection(&state, to: i - 1)
  case .pageDown: moveStoreSelection(&state, to: i + page)
  case .pageUp: moveStoreSelection(&state, to: i - page)
  case .first: moveStoreSelection(&state, to: 0)
  case .last: moveStoreSelection(&state, to: Int.max / 2)
  case .help: state.overlay = .help(scroll: 0)
  case .openFilter: state.overlay = .filter(TextInput(state.filter))
  case .openCommandLine:
    state.overlay = .command(TextInput())
    state.completions = []
  case .toggleLowerPane: state.lowerPane = state.lowerPane == .detail ? .events : .detail
  case .reload: return [.loadSnapshot]
  case .sortNext:
    setSort(&state, state.sortColumn.next(manySources: state.hasManySources))
  case .sortReverse:
    state.sortAscending.toggle()
    clampTables(&state)
  case .sortByColumn:
    if case .char(let c) = key, let n = c.wholeNumberValue, let col = StoreColumn(digit: n),
      !col.isSourceColumn || state.hasManySources
    {
      if col == state.sortColumn {
        state.sortAscending.toggle()
        clampTables(&state)
      } else {
        setSort(&state, col)
      }
    }
  case .clearFilter:
    if !state.filter.isEmpty {
      state.filter = ""
      clampTables(&state)
    }
  case .openKeys:
    if let id = state.selectedStore?.customKeyStoreId {
      state.screen = .keys(storeId: id)
      state.keyTable = TableState()
    }
  case .openAllKeys: openAllKeys(&state)
  case .disconnect: return selected { request(.disconnect, store: $0, &state) }
  case .connect: return selected { request(.connect, store: $0, &state) }
  case .openQA: return openQA(&state)
  case .openRunbook: return selected { openRunbook($0, &state) }
  case .createStore: return requestCreateStore(&state)
  case .renameStore: return selected { requestRenameStore($0, &state) }
  case .changePassword: return selected { requestChangePassword($0, &state) }
  case .deleteStore: return selected { requestDeleteStore($0, &state) }
  default: break
  }
  return []
}

private func setSort(_ state: inout DashboardState, _ column: StoreColumn) {
  state.sortColumn = column
  state.sortAscending = true
  clampTables(&state)
}
