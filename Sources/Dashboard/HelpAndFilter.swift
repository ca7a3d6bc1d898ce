import TerminalUI

/// Keys on the `?` overlay.
func handleHelpKey(_ state: inout DashboardState, _ key: Key, scroll: Int) -> [Effect] {
  switch KeyTable.command(for: key, in: .help) {
  case .close?: state.overlay = nil
  case .moveDown?: state.overlay = .help(scroll: scroll + 1)
  case .moveUp?: state.overlay = .help(scroll: max(0, scroll - 1))
  case .pageDown?: state.overlay = .help(scroll: scroll + 10)
  case .pageUp?: state.overlay = .help(scroll: max(0, scroll - 10))
  default: break
  }
  return []
}

/// Keys on the `/` filter line: Enter and Esc from the table, the rest edits the text.
func handleFilterKey(_ state: inout DashboardState, _ key: Key, _ input: TextInput) -> [Effect] {
  var input = input
  switch KeyTable.command(for: key, in: .filter) {
  case .clearAndClose?:
    state.filter = ""
    state.overlay = nil
  case .keepFilter?:
    state.overlay = nil
  default:
    input.handle(key)
    state.filter = input.text
    state.overlay = .filter(input)
  }
  clampTables(&state)
  return []
}
