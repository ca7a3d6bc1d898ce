import CNcursesw

/// A mouse event, at a cell counted from the top-left corner (0-based).
public struct MouseEvent: Sendable, Hashable, CustomStringConvertible {
  public enum Action: Sendable, Hashable {
    /// The left button went down (a click, or half of a double-click).
    case press
    case release
    /// A press and its release that arrived together (ncurses merges them).
    case click
    /// Two clicks that arrived together (ncurses merges them; slower ones come as presses).
    case doubleClick
    case wheelUp, wheelDown
    /// Another button went down (right, middle): reported, not used.
    case otherPress
  }

  public var action: Action
  public var x: Int
  public var y: Int

  public init(_ action: Action, x: Int, y: Int) {
    self.action = action
    self.x = x
    self.y = y
  }

  public var description: String { "\(action)@\(x),\(y)" }
}

/// Turns ncurses mouse events (`getmouse`) into `MouseEvent` values.
public enum MouseDecoder {
  /// The events kmsdash asks ncurses for: left press and release, and the wheel. Motion is not
  /// among them (no all-motion tracking), so moving the mouse sends nothing.
  public static let mask: mmask_t =
    TUI_BUTTON1_PRESSED | TUI_BUTTON1_RELEASED | TUI_BUTTON1_CLICKED | TUI_BUTTON1_DOUBLE_CLICKED
    | TUI_BUTTON1_TRIPLE_CLICKED | TUI_BUTTON3_PRESSED | TUI_BUTTON4_PRESSED | TUI_BUTTON5_PRESSED

  /// The bytes that switch mouse reporting off again (X10/normal tracking and SGR 1006), for the
  /// crash path, which cannot call ncurses.
  public static let disableSequence = "\u{1B}[?1006;1000l"

  /// One `MEVENT`'s button state and cell; nil for states kmsdash does not use.
  public static func decode(buttonState: mmask_t, x: Int32, y: Int32) -> MouseEvent? {
    let action: MouseEvent.Action
    if buttonState & TUI_BUTTON4_PRESSED != 0 {
      action = .wheelUp
    } else if buttonState & TUI_BUTTON5_PRESSED != 0 {
      action = .wheelDown
    } else if buttonState & (TUI_BUTTON1_DOUBLE_CLICKED | TUI_BUTTON1_TRIPLE_CLICKED) != 0 {
      action = .doubleClick
    } else if buttonState & TUI_BUTTON1_CLICKED != 0 {
      action = .click
    } else if buttonState & TUI_BUTTON1_PRESSED != 0 {
      action = .press
    } else if buttonState & TUI_BUTTON1_RELEASED != 0 {
      action = .release
    } else if buttonState & TUI_BUTTON3_PRESSED != 0 {
      action = .otherPress
    } else {
      return nil
    }
    guard x >= 0, y >= 0 else { return nil }
    return MouseEvent(action, x: Int(x), y: Int(y))
  }
}
