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

  /// Where the parts of the dialog go inside `area`: the input lines and the buttons. Rendering
  /// and hit-testing (mouse clicks) both use it.
  public struct Geometry: Sendable, Equatable {
    public var box: Rect
    public var inner: Rect
    /// One rect per field that fits, in order.
    public var fields: [Rect]
    /// One rect per button, in order (the label with its padding or brackets).
    public var buttons: [Rect]
  }

  public func geometry(in area: Rect) -> Geometry {
    let box = frame(in: area)
    // As `Border.draw` leaves it.
    let inner =
      box.width >= 2 && box.height >= 2 ? box.inset(by: 1) : Rect(x: box.x, y: box.y, width: 0, height: 0)
    guard !inner.isEmpty else { return Geometry(box: box, inner: inner, fields: [], buttons: []) }
    let textWidth = inner.width - 2
    var y = inner.y
    for _ in body.flatMap({ wrap($0, width: textWidth) }) {
      if y >= inner.maxY - 1 { break }
      y += 1
    }
    if !fields.isEmpty { y += 1 }
    var fieldRects: [Rect] = []
    for _ in fields where y < inner.maxY - 1 {
      fieldRects.append(Rect(x: inner.x + 1, y: y, width: textWidth, height: 1))
      y += 1
    }
    let labels = buttonLabels()
    let total = labels.map(\.displayWidth).reduce(0, +) + max(0, labels.count - 1) * 2
    var x = inner.x + max(0, (inner.width - total) / 2)
    var buttonRects: [Rect] = []
    for l in labels {
      let width = min(l.displayWidth, max(0, inner.maxX - x))
      buttonRects.append(Rect(x: x, y: inner.maxY - 1, width: width, height: 1))
      x += l.displayWidth + 2
    }
    return Geometry(box: box, inner: inner, fields: fieldRects, buttons: buttonRects)
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    let geometry = geometry(in: area)
    let box = geometry.box
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
    let promptWidth = fields.map(\.prompt.displayWidth).max() ?? 0
    for (field, row) in zip(fields, geometry.fields) {
      let y = row.y
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
    }
    for (i, (l, rect)) in zip(buttonLabels(), geometry.buttons).enumerated() {
      let s = i == focused ? style.adding([.reverse, .bold]) : style
      buffer.put(l, x: rect.x, y: rect.y, style: s, clip: inner)
    }
  }
}
