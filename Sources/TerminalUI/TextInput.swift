/// An editable single line of text with a cursor (command line, filter, typed confirmation).
public struct TextInput: Sendable, Hashable {
  public private(set) var text: String
  /// Cursor position as a character offset in `text` (0...count).
  public private(set) var cursor: Int

  public init(_ text: String = "") {
    self.text = text
    self.cursor = text.count
  }

  public mutating func insert(_ c: Character) {
    let i = text.index(text.startIndex, offsetBy: cursor)
    text.insert(c, at: i)
    cursor += 1
  }

  public mutating func insert(_ s: String) { for c in s { insert(c) } }

  public mutating func backspace() {
    guard cursor > 0 else { return }
    let i = text.index(text.startIndex, offsetBy: cursor - 1)
    text.remove(at: i)
    cursor -= 1
  }

  public mutating func deleteForward() {
    guard cursor < text.count else { return }
    let i = text.index(text.startIndex, offsetBy: cursor)
    text.remove(at: i)
  }

  public mutating func moveLeft() { cursor = max(0, cursor - 1) }
  public mutating func moveRight() { cursor = min(text.count, cursor + 1) }
  public mutating func moveHome() { cursor = 0 }
  public mutating func moveEnd() { cursor = text.count }

  public mutating func set(_ newText: String) {
    text = newText
    cursor = newText.count
  }

  /// Applies an editing key; returns false when the key is not an editing key.
  @discardableResult
  public mutating func handle(_ key: Key) -> Bool {
    switch key {
    case .char(let c):
      insert(c)
    case .backspace: backspace()
    case .delete: deleteForward()
    case .left: moveLeft()
    case .right: moveRight()
    case .home, .ctrl("a"): moveHome()
    case .end, .ctrl("e"): moveEnd()
    case .ctrl("u"): set("")
    default: return false
    }
    return true
  }

  /// Draws `prompt` and the text in one row, scrolled so the cursor is visible; the cursor is a
  /// reverse-video cell (none when `cursor` is false). With `mask`, every character is drawn as
  /// the mask (a password): the text itself never reaches the buffer.
  public func render(
    prompt: String, in rect: Rect, style: Style = .plain, mask: Character? = nil,
    cursor showCursor: Bool = true,
    buffer: inout Buffer
  ) {
    guard rect.height > 0, rect.width > 0 else { return }
    let row = Rect(x: rect.x, y: rect.y, width: rect.width, height: 1)
    buffer.fill(row, style: style)
    let used = buffer.put(prompt, x: rect.x, y: rect.y, style: style.adding(.bold), clip: row)
    let avail = rect.width - used - 1
    guard avail > 0 else { return }
    let chars = mask.map { Array(repeating: $0, count: text.count) } ?? Array(Sanitizer.sanitize(text))
    // Scroll so the cursor stays in view.
    var start = 0
    while DisplayWidth.of(String(chars[start..<cursor])) > avail { start += 1 }
    var x = rect.x + used
    for (i, c) in chars.enumerated() where i >= start {
      let w = DisplayWidth.of(c)
      if x + w > rect.maxX { break }
      let here = showCursor && i == cursor
      buffer.put(String(c), x: x, y: rect.y, style: here ? style.adding(.reverse) : style, clip: row)
      x += w
    }
    if showCursor && cursor == chars.count && x < rect.maxX {
      buffer.put(" ", x: x, y: rect.y, style: style.adding(.reverse), clip: row)
    }
  }
}
