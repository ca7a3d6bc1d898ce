import Foundation
import TerminalUI

/// What the mouse did, as the binding table names it.
public enum MouseGesture: Sendable, Hashable {
  case click, doubleClick, wheelDown, wheelUp
}

/// One mouse binding: the gestures, how the help names them, what they do.
public struct MouseBinding: Sendable, Hashable {
  public var gestures: [MouseGesture]
  public var label: String
  public var help: String
  public var command: KeyCommand

  init(_ gestures: [MouseGesture], _ label: String, _ help: String, _ command: KeyCommand) {
    self.gestures = gestures
    self.label = label
    self.help = help
    self.command = command
  }
}

/// What lies under a cell of the screen.
public enum MouseTarget: Sendable, Equatable {
  /// A row of the store table: its index among the visible stores.
  case storeRow(Int)
  /// A row of the keys view: its index among the store's keys.
  case keyRow(Int)
  /// A dialog's button (0: Cancel, 1: the action).
  case dialogButton(Int)
  case dialogField(Int)
  case nothing
}

/// The last left-button press, to tell a double-click from two clicks.
public struct LastPress: Sendable, Equatable {
  public var target: MouseTarget
  public var at: Date
}

/// Two presses on the same thing at most this far apart are a double-click.
let doubleClickInterval: TimeInterval = 0.4

/// Rows the wheel scrolls per notch.
let wheelRows = 3

/// What is under (`x`, `y`), from the layout and the widgets the view draws with (`Layout`,
/// `Table.rowIndex`, `Dialog.geometry`), so a click lands on what the user sees there.
func mouseTarget(_ state: DashboardState, x: Int, y: Int) -> MouseTarget {
  let layout = Layout(state)
  guard !layout.tooSmall else { return .nothing }
  switch state.overlay {
  case .dialog(let d):
    let geometry = dialogWidget(d).geometry(in: layout.overlay)
    if let i = geometry.buttons.firstIndex(where: { $0.contains(x: x, y: y) }) { return .dialogButton(i) }
    if let i = geometry.fields.firstIndex(where: { $0.contains(x: x, y: y) }) { return .dialogField(i) }
    return .nothing
  case nil:
    switch state.screen {
    case .stores:
      let row = Table.rowIndex(
        atX: x, y: y, in: layout.table, state: state.storeTable, rowCount: state.visibleStores.count)
      return row.map(MouseTarget.storeRow) ?? .nothing
    case .keys, .allKeys:
      let row = Table.rowIndex(
        atX: x, y: y, in: layout.table, state: state.keyTable, rowCount: state.keyCountOnScreen)
      return row.map(MouseTarget.keyRow) ?? .nothing
    }
  case .help, .command, .filter, .qa, .xksQA, .runbook:
    return .nothing
  }
}

/// Where mouse gestures land: the overlay on top, else the screen; nil while typing a command or
/// a filter.
private func mouseContext(_ state: DashboardState) -> KeyContext? {
  switch state.overlay {
  case .dialog: .dialog
  case .help: .help
  case .qa, .xksQA: .qa
  case .runbook: .runbook
  case .command, .filter: nil
  case nil: state.screen.helpContext
  }
}

/// A click or the wheel: turned into a gesture (a second press on the same target within
/// `doubleClickInterval` is a double-click; ncurses reports two clicks that reached it in one read
/// as one double-click), then dispatched through `KeyTable.mouseBindings`.
func handleMouse(_ state: inout DashboardState, _ event: MouseEvent, at: Date) -> [Effect] {
  let target = mouseTarget(state, x: event.x, y: event.y)
  let gesture: MouseGesture
  switch event.action {
  case .wheelDown: gesture = .wheelDown
  case .wheelUp: gesture = .wheelUp
  case .doubleClick:
    gesture = .doubleClick
    state.lastPress = nil
  case .press, .click:
    let since = state.lastPress.map { at.timeIntervalSince($0.at) }
    if let since, state.lastPress?.target == target, target != .nothing, since >= 0,
      since <= doubleClickInterval
    {
      gesture = .doubleClick
      state.lastPress = nil
    } else {
      gesture = .click
      state.lastPress = LastPress(target: target, at: at)
    }
  case .release, .otherPress:
    return []
  }
  guard let context = mouseContext(state) else { return [] }
  for command in KeyTable.commands(for: gesture, in: context) {
    if let effects = runMouseCommand(&state, command, context: context, target: target) { return effects }
  }
  return []
}

/// Runs one mouse command on `target`; nil when it does not apply there (the next binding is tried).
private func runMouseCommand(
  _ state: inout DashboardState, _ command: KeyCommand, context: KeyContext, target: MouseTarget
) -> [Effect]? {
  /// The key command `command` stands for, through the key handler (same checks, same dialogs).
  func asKey(_ command: KeyCommand, times: Int = 1) -> [Effect] {
    guard let key = KeyTable.key(for: command, in: context) else { return [] }
    return (0..<times).flatMap { _ in update(&state, .key(key)) }
  }
  switch (command, target) {
  case (.selectRow, .storeRow(let i)):
    moveStoreSelection(&state, to: i)
    return []
  case (.selectRow, .keyRow(let i)):
    selectKey(&state, i)
    return []
  case (.openKeys, .storeRow(let i)):
    moveStoreSelection(&state, to: i)
    return asKey(.openKeys)
  case (.scrollDown, _), (.scrollUp, _):
    scroll(&state, by: command == .scrollDown ? wheelRows : -wheelRows)
    return []
  case (.moveDown, _), (.moveUp, _):
    // The wheel in the help (a few lines per notch) and in the QA panel (one item).
    return asKey(command, times: context == .help ? wheelRows : 1)
  case (.pressButton, .dialogButton(let i)):
    guard case .dialog(var d) = state.overlay else { return nil }
    d.focused = i
    state.overlay = .dialog(d)
    return asKey(.pressFocused)
  case (.focusField, .dialogField(let i)):
    guard case .dialog(var d) = state.overlay else { return nil }
    d.activeField = i
    state.overlay = .dialog(d)
    return []
  default:
    return nil
  }
}

private func selectKey(_ state: inout DashboardState, _ index: Int) {
  guard state.screen.listsKeys else { return }
  state.keyTable.selected = index
  state.keyTable.clamp(rowCount: state.keyCountOnScreen, visibleRows: Layout(state).table.height - 1)
}

/// The wheel: the table's window moves; the selection only as far as it must to stay on screen.
private func scroll(_ state: inout DashboardState, by rows: Int) {
  let visibleRows = Table.visibleRows(height: Layout(state).table.height)
  switch state.screen {
  case .stores:
    let visible = state.visibleStores
    state.storeTable.scroll(by: rows, rowCount: visible.count, visibleRows: visibleRows)
    if !visible.isEmpty { state.selectedStoreId = visible[state.storeTable.selected].customKeyStoreId }
  case .keys, .allKeys:
    state.keyTable.scroll(by: rows, rowCount: state.keyCountOnScreen, visibleRows: visibleRows)
  }
}
