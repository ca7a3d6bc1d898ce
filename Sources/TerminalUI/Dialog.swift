/// A modal dialog: title, wrapped body, optional text input, and buttons with focus.
public struct Dialog: Sendable {
  public var title: String
  public var body: [String]
  public var buttons: [String]
  public var focused: Int
  /// A prompt and the input line (e.g. typed confirmation), shown under the body.
  public var input: (prompt: String, value: TextInput)?
  public var style: Style
  public var maxWidth: Int

  public init(
    title: String, body: [String], buttons: [String], focused: Int = 0,
    input: (prompt: String, value: TextInput)? = nil, style: Style = .plain, maxWidth: Int = 64
  ) {
    self.title = title
    self.body = body
    self.buttons = buttons
    self.focused = focused
    self.input = input
    self.style = style
    self.maxWidth = maxWidth
  }

  /// Button row text, focused button in [brackets] and reverse video.
  private func buttonLabels() -> [String] {
    buttons.enumerated().map { i, b in i == focused ? "[ \(b) ]" : "  \(b)  " }
  }

  /// The rectangle the dialog occupies inside `area`.
  public func frame(in area: Rect) -> Rect {
    let innerWidth = max(10, min(maxWidth, area.width - 4) - 4)
    let lines = body.flatMap { wrap($0, width: innerWidth) }
    let height = lines.count + (input == nil ? 0 : 2) + 4
    let width = innerWidth + 4
    return area.centered(width: width, height: height)
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    let box = frame(in: area)
    buffer.fill(box, style: style)
    let inner = Border.draw(box, title: title, style: style.adding(.bold), in: &buffer)
    guard !inner.isEmpty else { return }
    let textRect = Rect(x: inner.x + 1, y: inner.y, width: inner.width - 2, height: inner.height)
    var y = inner.y
    for line in body.flatMap({ wrap($0, width: textRect.width) }) {
      if y >= inner.maxY - 1 { break }
      buffer.put(line, x: textRect.x, y: y, style: style, clip: textRect)
      y += 1
    }
    if let input, y < inner.maxY - 2 {
      y += 1
      input.value.render(
        prompt: input.prompt, in: Rect(x: textRect.x, y: y, width: textRect.width, height: 1),
        style: style.adding(.underline), buffer: &buffer)
      y += 1
    }
    let labels = buttonLabels()
    let total = labels.map(\.displayWidth).reduce(0, +) + max(0, labels.count - 1) * 2
    var x = inner.x + max(0, (inner.width - total) / 2)
    let by = inner.maxY - 1
    for (i, l) in labels.enumerated() {
      let s = i == focused ? style.adding([.reverse, .bold]) : style
      x += buffer.put(l, x: x, y: by, style: s, clip: inner) + 2
    }
  }
}
