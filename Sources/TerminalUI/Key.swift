import CNcursesw

/// A decoded key press.
public enum Key: Sendable, Hashable, CustomStringConvertible {
  case char(Character)
  /// Ctrl plus a lower-case letter (Ctrl-C is `.ctrl("c")`, Ctrl-L is `.ctrl("l")`).
  case ctrl(Character)
  case up, down, left, right
  case pageUp, pageDown, home, end
  case enter, escape, backspace, delete, insert, tab, backTab
  case function(Int)
  /// The terminal changed size (ncurses has already resized its screen).
  case resize
  case unknown(Int32)

  public var description: String {
    switch self {
    case .char(" "): return "Space"
    case .char(let c): return String(c)
    case .ctrl(let c): return "Ctrl-\(c.uppercased())"
    case .up: return "↑"
    case .down: return "↓"
    case .left: return "←"
    case .right: return "→"
    case .pageUp: return "PgUp"
    case .pageDown: return "PgDn"
    case .home: return "Home"
    case .end: return "End"
    case .enter: return "Enter"
    case .escape: return "Esc"
    case .backspace: return "Backspace"
    case .delete: return "Del"
    case .insert: return "Ins"
    case .tab: return "Tab"
    case .backTab: return "Shift-Tab"
    case .function(let n): return "F\(n)"
    case .resize: return "resize"
    case .unknown(let c): return "key(\(c))"
    }
  }
}

/// Turns `get_wch` results into `Key` values.
public enum KeyDecoder {
  /// `status` is the return value of `get_wch` (`OK` for a character, `KEY_CODE_YES` for a
  /// function key), `code` the value it stored. Returns nil for `ERR`.
  public static func decode(status: Int32, code: UInt32) -> Key? {
    if status == KEY_CODE_YES { return decodeFunctionKey(Int32(bitPattern: code)) }
    guard status == OK else { return nil }
    return decodeCharacter(code)
  }

  /// A character delivered by `get_wch` with status `OK`.
  public static func decodeCharacter(_ code: UInt32) -> Key {
    switch code {
    case 0x0D, 0x0A: return .enter
    case 0x1B: return .escape
    case 0x09: return .tab
    case 0x7F, 0x08: return .backspace
    case 0x01...0x1A:
      return .ctrl(Character(Unicode.Scalar(UInt8(0x60 + code))))
    case 0x00: return .ctrl("@")
    case 0x1C...0x1F: return .unknown(Int32(code))
    default:
      guard let scalar = Unicode.Scalar(code), !Sanitizer.isUnsafe(scalar) else {
        return .unknown(Int32(bitPattern: code))
      }
      return .char(Character(scalar))
    }
  }

  /// A function key code (`KEY_UP`, …) delivered with status `KEY_CODE_YES`.
  public static func decodeFunctionKey(_ code: Int32) -> Key {
    switch code {
    case KEY_UP: return .up
    case KEY_DOWN: return .down
    case KEY_LEFT: return .left
    case KEY_RIGHT: return .right
    case KEY_PPAGE: return .pageUp
    case KEY_NPAGE: return .pageDown
    case KEY_HOME: return .home
    case KEY_END: return .end
    case KEY_ENTER: return .enter
    case KEY_BACKSPACE: return .backspace
    case KEY_DC: return .delete
    case KEY_IC: return .insert
    case KEY_BTAB: return .backTab
    case KEY_RESIZE: return .resize
    case KEY_F0 + 1...KEY_F0 + 63: return .function(Int(code - KEY_F0))
    default: return .unknown(code)
    }
  }
}
