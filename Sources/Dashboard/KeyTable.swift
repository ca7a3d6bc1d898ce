import KMSModel
import TerminalUI

/// Where a key press lands: a main screen or the overlay on top of it.
public enum KeyContext: String, Sendable, CaseIterable, Hashable {
  case stores, keys, allKeys, dialog, commandLine, filter, qa, runbook, help, global

  /// The help overlay's section title.
  public var title: String {
    switch self {
    case .global: "Everywhere"
    case .stores: "Store table"
    case .keys: "Keys view (Enter on a store)"
    case .allKeys: "All keys of the account (K)"
    case .dialog: "Dialogs"
    case .commandLine: "Command line (:)"
    case .filter: "Filter (/)"
    case .qa: "QA panel (f)"
    case .runbook: "Guided remedy (R on a FAILED store)"
    case .help: "This help"
    }
  }
}

/// What a key binding does. Each screen's handler switches over the commands of its context.
public enum KeyCommand: Sendable, Hashable {
  // Everywhere
  case interrupt, redraw
  // Moving in a list
  case moveDown, moveUp, pageDown, pageUp, first, last
  // Screens and overlays
  case quit, help, openFilter, openCommandLine, toggleLowerPane, reload, back, close
  case sortNext, sortReverse, sortByColumn, clearFilter, openKeys, openAllKeys, openQA, openRunbook
  // Store actions
  case connect, disconnect, createStore, renameStore, changePassword, deleteStore
  // Key actions
  case enableKey, disableKey, scheduleDeletion, cancelDeletion, createKey, addAlias, removeAlias
  // Dialogs
  case confirm, cancel, pressFocused, switchButton, nextField, previousField, nextChoice
  // Command line and filter
  case complete, run, keepFilter, clearAndClose
  // QA panel
  case toggleItem, deleteHsm
  // Runbook
  case runStep, skipStep

  /// True when the command changes the backend (refused under `--read-only`).
  public var isMutating: Bool {
    switch self {
    case .connect, .disconnect, .createStore, .renameStore, .changePassword, .deleteStore, .enableKey,
      .disableKey, .scheduleDeletion, .cancelDeletion, .createKey, .addAlias, .removeAlias, .toggleItem,
      .deleteHsm, .runStep, .openRunbook:
      true
    default: false
    }
  }
}

/// One key binding: the keys, how the help names them, what they do.
public struct KeyBinding: Sendable, Hashable {
  public var keys: [Key]
  /// How the help overlay and the README name the keys ("j / ↓").
  public var label: String
  public var help: String
  public var command: KeyCommand
  /// Only with the simulator (embedded engine or `kmsdash serve`).
  public var simulatorOnly: Bool
  /// Only in a dialog without a text field (y / n); otherwise the key is typed into the field.
  public var withoutTextField: Bool

  init(
    _ keys: [Key], _ label: String, _ help: String, _ command: KeyCommand, simulatorOnly: Bool = false,
    withoutTextField: Bool = false
  ) {
    self.keys = keys
    self.label = label
    self.help = help
    self.command = command
    self.simulatorOnly = simulatorOnly
    self.withoutTextField = withoutTextField
  }
}

/// The one table of key bindings. `update` dispatches through it and the `?` overlay and the
/// README's key table are generated from it, so the help cannot drift from what the keys do.
public enum KeyTable {
  private static let moves: [KeyBinding] = [
    KeyBinding([.char("j"), .down], "j / ↓", "next row", .moveDown),
    KeyBinding([.char("k"), .up], "k / ↑", "previous row", .moveUp),
    KeyBinding([.pageDown], "PgDn", "page down", .pageDown),
    KeyBinding([.pageUp], "PgUp", "page up", .pageUp),
    KeyBinding([.home, .char("g")], "Home / g", "first row", .first),
    KeyBinding([.end, .char("G")], "End / G", "last row", .last),
  ]

  /// The actions on the selected key, in both key lists.
  private static let keyActions: [KeyBinding] = [
    KeyBinding(
      [.escape, .backspace, .left, .char("h")], "Esc / h / ← / Backspace", "back to the stores", .back),
    KeyBinding([.char("E")], "E", "enable the selected key", .enableKey),
    KeyBinding([.char("D")], "D", "disable the selected key", .disableKey),
    KeyBinding([.char("x")], "x", "schedule deletion (7–30 days; typed)", .scheduleDeletion),
    KeyBinding([.char("u")], "u", "cancel the key's pending deletion", .cancelDeletion),
    KeyBinding([.char("a")], "a", "add an alias to the selected key", .addAlias),
    KeyBinding([.char("A")], "A", "remove an alias of the selected key", .removeAlias),
  ]

  private static let listCommon: [KeyBinding] = [
    KeyBinding([.char(":")], ":", "command line", .openCommandLine),
    KeyBinding([.char("r")], "r", "reload from the backend", .reload),
    KeyBinding([.char("?")], "?", "this help", .help),
    KeyBinding([.char("q")], "q", "quit", .quit),
  ]

  public static let bindings: [KeyContext: [KeyBinding]] = [
    .global: [
      KeyBinding([.ctrl("c")], "Ctrl-C", "quit (exit status 130)", .interrupt),
      KeyBinding([.ctrl("l")], "Ctrl-L", "redraw the screen", .redraw),
    ],
    .stores: moves + [
      KeyBinding([.enter], "Enter", "keys of the selected store", .openKeys),
      KeyBinding(
        [.char("K")], "K",
        "every KMS key of the account: AWS KMS keys (symmetric, RSA, ECC, HMAC) and custom-store keys",
        .openAllKeys),
      KeyBinding([.char("c")], "c", "connect the selected store (confirm)", .connect),
      KeyBinding([.char("d")], "d", "disconnect the selected store (confirm)", .disconnect),
      KeyBinding([.char("R")], "R", "guided remedy for a FAILED store, step by step", .openRunbook),
      KeyBinding([.char("n")], "n", "create a custom key store", .createStore),
      KeyBinding([.char("N")], "N", "rename the selected store", .renameStore),
      KeyBinding([.char("P")], "P", "set the store's kmsuser password (DISCONNECTED)", .changePassword),
      KeyBinding([.char("X")], "X", "delete the selected store (DISCONNECTED, no keys; typed)", .deleteStore),
      KeyBinding([.char("f")], "f", "QA panel: faults of the store's cluster", .openQA, simulatorOnly: true),
      KeyBinding([.char("/")], "/", "filter: name, ID, cluster, state", .openFilter),
      KeyBinding([.escape], "Esc", "clear the filter", .clearFilter),
      KeyBinding([.char("s")], "s", "sort by the next column", .sortNext),
      KeyBinding([.char("S")], "S", "reverse the sort order", .sortReverse),
      // 9 and 0 sort by ACCOUNT and REGION in a view over many accounts and Regions.
      KeyBinding(
        (Array(1...9) + [0]).map { .char(Character("\($0)")) }, "1 … 8",
        "sort by column N (again: reverse)", .sortByColumn),
      KeyBinding([.char("e")], "e", "toggle the detail / event history pane", .toggleLowerPane),
      KeyBinding([.char(":")], ":", "command line", .openCommandLine),
      KeyBinding([.char("r")], "r", "reload from the backend", .reload),
      KeyBinding([.char("?")], "?", "this help", .help),
      KeyBinding([.char("q")], "q", "quit", .quit),
    ],
    .keys: moves + keyActions + [
      KeyBinding([.char("n")], "n", "create a key in this store (CONNECTED)", .createKey),
      KeyBinding([.char("c")], "c", "connect this store (confirm)", .connect),
      KeyBinding([.char("d")], "d", "disconnect this store (confirm)", .disconnect),
      KeyBinding([.char("K")], "K", "every KMS key of the account", .openAllKeys),
    ] + listCommon,
    .allKeys: moves + keyActions + listCommon,
    .dialog: [
      KeyBinding([.enter], "Enter", "press the focused button (Cancel is focused first)", .pressFocused),
      KeyBinding([.escape], "Esc", "cancel", .cancel),
      KeyBinding([.tab, .backTab], "Tab / Shift-Tab", "move focus between the buttons", .switchButton),
      KeyBinding([.down], "↓", "next field", .nextField),
      KeyBinding([.up], "↑", "previous field", .previousField),
      KeyBinding([.char(" ")], "Space", "next choice (on a choice field)", .nextChoice),
      KeyBinding(
        [.char("y"), .char("Y")], "y", "confirm (dialogs without a text field)", .confirm,
        withoutTextField: true),
      KeyBinding(
        [.char("n"), .char("N"), .char("q")], "n / q", "cancel (dialogs without a text field)", .cancel,
        withoutTextField: true),
      KeyBinding(
        [.left, .right], "← / →", "move focus between the buttons (no text field)", .switchButton,
        withoutTextField: true),
    ],
    .commandLine: [
      KeyBinding([.enter], "Enter", "run the command", .run),
      KeyBinding([.tab], "Tab", "complete the command, a store, a key or an alias", .complete),
      KeyBinding([.escape], "Esc", "close", .close),
    ],
    .filter: [
      KeyBinding([.enter], "Enter", "keep the filter", .keepFilter),
      KeyBinding([.escape], "Esc", "clear the filter and close", .clearAndClose),
    ],
    .qa: [
      KeyBinding([.char("j"), .down], "j / ↓", "next item", .moveDown),
      KeyBinding([.char("k"), .up], "k / ↑", "previous item", .moveUp),
      KeyBinding([.home, .char("g")], "Home / g", "first item", .first),
      KeyBinding([.end, .char("G")], "End / G", "last item", .last),
      KeyBinding(
        [.char(" "), .enter], "Space / Enter", "toggle the fault, fail/restore the HSM, or add an HSM",
        .toggleItem),
      KeyBinding([.char("x")], "x", "delete the selected HSM", .deleteHsm),
      KeyBinding([.char("c")], "c", "connect the store (confirm)", .connect),
      KeyBinding([.char("d")], "d", "disconnect the store (confirm)", .disconnect),
      KeyBinding([.escape, .char("q"), .char("f")], "Esc / q / f", "close", .close),
    ],
    .runbook: [
      KeyBinding([.enter, .char("y")], "Enter / y", "run the current step", .runStep),
      KeyBinding([.char("s")], "s", "skip the step (done outside kmsdash)", .skipStep),
      KeyBinding([.escape, .char("q")], "Esc / q", "close (steps already run stay done)", .close),
    ],
    .help: [
      KeyBinding([.char("j"), .down], "j / ↓", "scroll down", .moveDown),
      KeyBinding([.char("k"), .up], "k / ↑", "scroll up", .moveUp),
      KeyBinding([.pageDown], "PgDn", "page down", .pageDown),
      KeyBinding([.pageUp], "PgUp", "page up", .pageUp),
      KeyBinding([.escape, .char("?"), .char("q"), .enter], "Esc / ? / q / Enter", "close", .close),
    ],
  ]

  /// The command `key` runs in `context`, nil when the key is not bound there. `textField`: the
  /// dialog has a text field (letters are typed into it).
  public static func command(for key: Key, in context: KeyContext, textField: Bool = false) -> KeyCommand? {
    binding(for: key, in: context, textField: textField)?.command
  }

  public static func binding(for key: Key, in context: KeyContext, textField: Bool = false) -> KeyBinding? {
    for b in bindings[context] ?? [] where b.keys.contains(key) {
      if b.withoutTextField && textField { continue }
      return b
    }
    return nil
  }

  /// The contexts in the order the help lists them.
  public static let order: [KeyContext] = [
    .stores, .keys, .allKeys, .dialog, .commandLine, .filter, .qa, .runbook, .help, .global,
  ]

  /// The help overlay's sections. Read-only mode lists the actions as disabled; without the
  /// simulator the QA bindings are left out.
  public static func sections(readOnly: Bool, simulator: Bool, current: KeyContext? = nil)
    -> [(String, [HelpOverlay.Entry])]
  {
    var out: [(String, [HelpOverlay.Entry])] = []
    // The screen the user is on comes first.
    let contexts = current.map { c in [c] + order.filter { $0 != c } } ?? order
    for context in contexts {
      var entries: [HelpOverlay.Entry] = []
      if context == .qa && !simulator {
        out.append((context.title, [.init("—", "needs the simulator (embedded engine or kmsdash serve)")]))
        continue
      }
      for b in bindings[context] ?? [] {
        if b.simulatorOnly && !simulator { continue }
        if readOnly && b.command.isMutating {
          entries.append(.init(b.label, "disabled: read-only mode"))
        } else {
          entries.append(.init(b.label, b.help))
        }
      }
      out.append((context.title, entries))
      if context == .commandLine {
        out.append(
          (
            "Commands (:NAME …; Tab completes)",
            CommandSpec.all.map { c in
              .init(c.usage, readOnly && c.isMutating ? "disabled: read-only mode" : c.help)
            }
          ))
      }
    }
    return out
  }

  /// The README's key table, generated from the bindings (`kmsdash keys --markdown`).
  public static func markdown() -> String {
    var lines: [String] = []
    for (title, entries) in sections(readOnly: false, simulator: true) {
      lines.append("| \(title) | |")
      lines.append("| --- | --- |")
      for e in entries {
        let keys = e.keys.replacingOccurrences(of: "|", with: "\\|")
        lines.append("| `\(keys)` | \(e.description) |")
      }
      lines.append("")
    }
    return lines.joined(separator: "\n")
  }
}
