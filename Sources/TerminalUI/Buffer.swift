/// One terminal cell: a grapheme cluster (already sanitised) and its style.
///
/// An empty `symbol` marks the right half of a wide glyph (a continuation cell).
public struct Cell: Sendable, Hashable {
  public private(set) var symbol: String
  public var style: Style
  /// Columns the symbol occupies, measured once when the cell is made (0: continuation).
  private var columns: UInt8

  /// A cell showing `symbol`. The symbol is sanitised and reduced to its first grapheme; a
  /// zero-width or empty symbol becomes a space.
  public init(_ symbol: String, style: Style = .plain) {
    let clean = Sanitizer.sanitize(symbol)
    if let first = clean.first, DisplayWidth.of(first) > 0 {
      self.symbol = String(first)
      self.columns = UInt8(DisplayWidth.of(first))
    } else {
      self.symbol = " "
      self.columns = 1
    }
    self.style = style
  }

  private init(raw: String, columns: Int, style: Style) {
    self.symbol = raw
    self.columns = UInt8(columns)
    self.style = style
  }

  public static let blank = Cell(raw: " ", columns: 1, style: .plain)
  static func continuation(_ style: Style) -> Cell { Cell(raw: "", columns: 0, style: style) }
  /// An already sanitised character whose width the caller measured.
  static func trusted(_ character: Character, columns: Int, style: Style) -> Cell {
    Cell(raw: String(character), columns: columns, style: style)
  }
  static func space(_ style: Style) -> Cell { Cell(raw: " ", columns: 1, style: style) }
  /// A printable ASCII byte (0x20–0x7E), from a table of ready-made one-byte strings.
  static func ascii(_ byte: UInt8, style: Style) -> Cell {
    Cell(raw: asciiSymbols[Int(byte &- 0x20)], columns: 1, style: style)
  }
  private static let asciiSymbols: [String] = (0x20...0x7E).map { String(UnicodeScalar(UInt8($0))) }

  public var isContinuation: Bool { columns == 0 }
  /// Columns the symbol occupies (0 for a continuation cell).
  public var width: Int { Int(columns) }
}

/// A change produced by `Buffer.diff(from:)`.
public struct CellChange: Sendable, Hashable {
  public var x: Int
  public var y: Int
  public var cell: Cell
}

/// A grid of cells that views draw into. Immediate mode: a frame renders a fresh buffer, and
/// the backend writes only `diff(from: previous)`.
public struct Buffer: Sendable, Hashable {
  public let size: Size
  public private(set) var cells: [Cell]

  public init(size: Size, fill: Cell = .blank) {
    self.size = size
    self.cells = Array(repeating: fill, count: size.width * size.height)
  }

  public init(width: Int, height: Int) { self.init(size: Size(width: width, height: height)) }

  public var width: Int { size.width }
  public var height: Int { size.height }
  public var area: Rect { Rect(size: size) }

  public subscript(_ x: Int, _ y: Int) -> Cell {
    get {
      guard x >= 0, y >= 0, x < size.width, y < size.height else { return .blank }
      return cells[y * size.width + x]
    }
  }

  /// Writes `string` (sanitised) starting at (x, y) and returns the number of columns used.
  /// Nothing is drawn outside `clip` (default: the whole buffer); a wide glyph that would be
  /// cut by the right edge is replaced by a space.
  @discardableResult
  public mutating func put(
    _ string: String, x: Int, y: Int, style: Style = .plain, clip: Rect? = nil
  ) -> Int {
    let bounds = (clip ?? area).intersection(area)
    guard y >= bounds.minY, y < bounds.maxY else { return 0 }
    // Printable ASCII (most of every frame) needs no sanitising and no grapheme breaking.
    if string.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) {
      var cx = x
      for byte in string.utf8 {
        if cx >= bounds.maxX { break }
        if cx >= bounds.minX { setCell(x: cx, y: y, .ascii(byte, style: style)) }
        cx += 1
      }
      return max(0, cx - x)
    }
    let clean = Sanitizer.sanitize(string)
    var cx = x
    for ch in clean {
      let w = DisplayWidth.of(ch)
      if w == 0 { continue }  // a stray combining mark or format character: nothing to place
      if cx >= bounds.maxX { break }
      if cx < bounds.minX {
        cx += w
        continue
      }
      if w == 2 && cx + 1 >= bounds.maxX {
        setCell(x: cx, y: y, .space(style))
        cx += 1
        break
      }
      setCell(x: cx, y: y, .trusted(ch, columns: w, style: style))
      if w == 2 { setCell(x: cx + 1, y: y, .continuation(style)) }
      cx += w
    }
    return max(0, cx - x)
  }

  /// Fills `rect` with `cell` (default: spaces in `style`).
  public mutating func fill(_ rect: Rect, with cell: Cell) {
    let r = rect.intersection(area)
    guard !r.isEmpty else { return }
    for y in r.minY..<r.maxY {
      for x in r.minX..<r.maxX { setCell(x: x, y: y, cell) }
    }
  }

  public mutating func fill(_ rect: Rect, style: Style) {
    fill(rect, with: Cell(" ", style: style))
  }

  /// Changes the style of every cell in `rect`, keeping the symbols.
  public mutating func setStyle(_ style: Style, in rect: Rect) {
    let r = rect.intersection(area)
    guard !r.isEmpty else { return }
    for y in r.minY..<r.maxY {
      for x in r.minX..<r.maxX { cells[y * size.width + x].style = style }
    }
  }

  /// Applies `transform` to the style of every cell in `rect`.
  public mutating func updateStyle(in rect: Rect, _ transform: (inout Style) -> Void) {
    let r = rect.intersection(area)
    guard !r.isEmpty else { return }
    for y in r.minY..<r.maxY {
      for x in r.minX..<r.maxX { transform(&cells[y * size.width + x].style) }
    }
  }

  /// Sets one cell, repairing any wide glyph it half-overwrites.
  public mutating func set(x: Int, y: Int, _ cell: Cell) {
    guard x >= 0, y >= 0, x < size.width, y < size.height else { return }
    if cell.width == 2 {
      guard x + 1 < size.width else {
        setCell(x: x, y: y, .space(cell.style))
        return
      }
      setCell(x: x, y: y, cell)
      setCell(x: x + 1, y: y, .continuation(cell.style))
    } else {
      setCell(x: x, y: y, cell)
    }
  }

  private mutating func setCell(x: Int, y: Int, _ cell: Cell) {
    guard x >= 0, y >= 0, x < size.width, y < size.height else { return }
    let i = y * size.width + x
    let old = cells[i]
    // Overwriting the right half of a wide glyph: blank its left half.
    if old.isContinuation && !cell.isContinuation && x > 0 {
      cells[i - 1] = .space(cells[i - 1].style)
    }
    // Overwriting the left half of a wide glyph: blank its right half.
    if old.width == 2 && x + 1 < size.width && cells[i + 1].isContinuation {
      cells[i + 1] = .space(cells[i + 1].style)
    }
    cells[i] = cell
  }

  /// Row `y` as text (continuation cells contribute nothing).
  public func line(_ y: Int) -> String {
    guard y >= 0, y < size.height else { return "" }
    var s = ""
    for x in 0..<size.width { s += cells[y * size.width + x].symbol }
    return s
  }

  /// All rows joined by newlines, each with trailing spaces trimmed.
  public var text: String {
    (0..<size.height).map { y -> String in
      var l = line(y)
      while l.last == " " { l.removeLast() }
      return l
    }.joined(separator: "\n")
  }

  /// The cells that differ from `previous`; every cell when the sizes differ.
  public func diff(from previous: Buffer?) -> [CellChange] {
    var out: [CellChange] = []
    guard let previous, previous.size == size else {
      out.reserveCapacity(cells.count)
      for (i, c) in cells.enumerated() {
        out.append(CellChange(x: i % size.width, y: i / size.width, cell: c))
      }
      return out
    }
    for i in cells.indices where cells[i] != previous.cells[i] {
      out.append(CellChange(x: i % size.width, y: i / size.width, cell: cells[i]))
    }
    return out
  }
}
