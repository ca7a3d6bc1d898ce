/// Box-drawing and layout helpers shared by the widgets.
public enum Border {
  /// Draws a single-line border around `rect` with an optional title, and returns the inner area.
  @discardableResult
  public static func draw(
    _ rect: Rect, title: String? = nil, style: Style = .plain, titleStyle: Style? = nil,
    in buffer: inout Buffer
  ) -> Rect {
    guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
    let clip = rect
    let horizontal = String(repeating: "─", count: rect.width - 2)
    buffer.put("┌" + horizontal + "┐", x: rect.x, y: rect.y, style: style, clip: clip)
    buffer.put("└" + horizontal + "┘", x: rect.x, y: rect.maxY - 1, style: style, clip: clip)
    for y in (rect.y + 1)..<(rect.maxY - 1) {
      buffer.put("│", x: rect.x, y: y, style: style, clip: clip)
      buffer.put("│", x: rect.maxX - 1, y: y, style: style, clip: clip)
    }
    if let title, !title.isEmpty, rect.width > 4 {
      let t = " " + title.truncated(toWidth: rect.width - 6) + " "
      buffer.put(t, x: rect.x + 2, y: rect.y, style: titleStyle ?? style.adding(.bold), clip: clip)
    }
    return rect.inset(by: 1)
  }
}

/// Greedy word wrap to `width` columns. Explicit newlines in `text` start new lines (they are
/// layout here, not content; everything else goes through the sanitiser when drawn).
public func wrap(_ text: String, width: Int) -> [String] {
  guard width > 0 else { return [] }
  var lines: [String] = []
  for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
    var current = ""
    for word in paragraph.split(separator: " ", omittingEmptySubsequences: true) {
      var w = String(word)
      if current.isEmpty {
        while w.displayWidth > width {
          let head = w.truncated(toWidth: width, ellipsis: false)
          lines.append(head)
          w = String(w.dropFirst(head.count))
        }
        current = w
      } else if current.displayWidth + 1 + w.displayWidth <= width {
        current += " " + w
      } else {
        lines.append(current)
        while w.displayWidth > width {
          let head = w.truncated(toWidth: width, ellipsis: false)
          lines.append(head)
          w = String(w.dropFirst(head.count))
        }
        current = w
      }
    }
    lines.append(current)
  }
  return lines
}

/// A bordered pane with a title; draws the frame and returns the inner area.
public struct Pane: Sendable {
  public var title: String
  public var style: Style
  public var focused: Bool

  public init(title: String, style: Style = .plain, focused: Bool = false) {
    self.title = title
    self.style = style
    self.focused = focused
  }

  @discardableResult
  public func render(in rect: Rect, buffer: inout Buffer) -> Rect {
    buffer.fill(rect, with: .blank)
    let borderStyle = focused ? style.adding(.bold) : style
    return Border.draw(rect, title: title, style: borderStyle, in: &buffer)
  }
}

/// One line with text on the left and on the right (header, footer, status line).
public struct StatusLine: Sendable {
  public var left: String
  public var right: String
  public var style: Style

  public init(left: String, right: String = "", style: Style = .reverse) {
    self.left = left
    self.right = right
    self.style = style
  }

  public func render(in rect: Rect, buffer: inout Buffer) {
    guard rect.height > 0, rect.width > 0 else { return }
    let row = Rect(x: rect.x, y: rect.y, width: rect.width, height: 1)
    buffer.fill(row, style: style)
    let rightWidth = min(right.displayWidth, max(0, rect.width - 1))
    let leftWidth = max(0, rect.width - rightWidth - (rightWidth > 0 ? 1 : 0))
    buffer.put(left.truncated(toWidth: leftWidth), x: rect.x, y: rect.y, style: style, clip: row)
    if rightWidth > 0 {
      buffer.put(
        right.truncated(toWidth: rightWidth), x: rect.maxX - rightWidth, y: rect.y, style: style,
        clip: row)
    }
  }
}

/// A list of key bindings in a bordered box, centred over whatever is below.
public struct HelpOverlay: Sendable {
  public struct Entry: Sendable, Hashable {
    public var keys: String
    public var description: String
    public init(_ keys: String, _ description: String) {
      self.keys = keys
      self.description = description
    }
  }

  public var title: String
  public var sections: [(String, [Entry])]
  public var scroll: Int

  public init(title: String = "Help", sections: [(String, [Entry])], scroll: Int = 0) {
    self.title = title
    self.sections = sections
    self.scroll = scroll
  }

  /// The lines of the overlay body (section headers, then "keys  description").
  public func lines(keyWidth: Int) -> [(String, Style)] {
    var out: [(String, Style)] = []
    for (i, (name, entries)) in sections.enumerated() {
      if i > 0 { out.append(("", .plain)) }
      out.append((name, .bold))
      for e in entries {
        out.append((e.keys.padded(toWidth: keyWidth) + "  " + e.description, .plain))
      }
    }
    return out
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    let keyWidth = sections.flatMap { $0.1 }.map { $0.keys.displayWidth }.max() ?? 0
    let body = lines(keyWidth: keyWidth)
    let fullTitle = title + " (Esc closes)"
    let contentWidth = max(body.map { $0.0.displayWidth }.max() ?? 0, fullTitle.displayWidth + 4)
    let box = area.centered(width: contentWidth + 4, height: body.count + 2)
    buffer.fill(box, with: .blank)
    let inner = Border.draw(box, title: fullTitle, style: .bold, in: &buffer)
    guard !inner.isEmpty else { return }
    let maxScroll = max(0, body.count - inner.height)
    let first = min(max(0, scroll), maxScroll)
    for (row, (text, style)) in body.dropFirst(first).prefix(inner.height).enumerated() {
      buffer.put(" " + text, x: inner.x, y: inner.y + row, style: style, clip: inner)
    }
    if maxScroll > 0 {
      let marker = first < maxScroll ? "↓ more" : "↑"
      buffer.put(marker, x: inner.maxX - marker.displayWidth, y: inner.maxY, style: .bold, clip: box)
    }
  }
}
