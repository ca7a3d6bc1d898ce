/// A modal dialog: title, wrapped body, input fields, and buttons with focus.
public struct Dialog: Sendable {
  /// One input line under the body.
  public struct Field: Sendable, Hashable {
    public var prompt: String
    public var value: TextInput
    /// Shown as bullets (a password).
    public var masked: Bool
    /// The field that receives typed keys shows the cursor.
    public var active: Bool
    /// Shown instead of the text (a choice field: the chosen option).
    public var display: String?

    public init(
      prompt: String, value: TextInput, masked: Bool = false, active: Bool = true, display: String? = nil
    ) {
      self.prompt = prompt
      self.value = value
      self.masked = masked
      self.active = active
      self.display = display
    }
  }

  public var title: String
  public var body: [String]
  public var buttons: [String]
  public var focused: Int
  /// The input lines, shown under the body.
  public var fields: [Field]
  /// One prompt and input line (e.g. typed confirmation), shown under the body.
  public var input: (prompt: String, value: TextInput)? {
    get { fields.first.map { ($0.prompt, $0.value) } }
    set { fields = newValue.map { [Field(prompt: $0.prompt, value: $0.value)] } ?? [] }
  }
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
    self.fields = input.map { [Field(prompt: $0.prompt, value: $0.value)] } ?? []
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
    let height = lines.count + (fields.isEmpty ? 0 : fields.count + 1) + 4
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
    if !fields.isEmpty { y += 1 }
    let promptWidth = fields.map(\.prompt.displayWidth).max() ?? 0
    for field in fields where y < inner.maxY - 1 {
      let row = Rect(x: textRect.x, y: y, width: textRect.width, height: 1)
      let prompt = field.prompt.padded(toWidth: promptWidth)
      if let display = field.display {
        let used = buffer.put(prompt, x: row.x, y: y, style: style.adding(.bold), clip: row)
        buffer.put(
          display, x: row.x + used, y: y, style: field.active ? style.adding(.underline) : style, clip: row)
      } else {
        field.value.render(
          prompt: prompt, in: row, style: field.active ? style.adding(.underline) : style,
          mask: field.masked ? "•" : nil, cursor: field.active, buffer: &buffer)
      }
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
