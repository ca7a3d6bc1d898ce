/// A table column: title, width policy and alignment.
public struct TableColumn: Sendable, Hashable {
  public var title: String
  /// Minimum width in columns.
  public var minWidth: Int
  /// Share of the remaining width after every column got its minimum (0 = fixed).
  public var flex: Int
  public var alignRight: Bool

  public init(_ title: String, minWidth: Int, flex: Int = 0, alignRight: Bool = false) {
    self.title = title
    self.minWidth = minWidth
    self.flex = flex
    self.alignRight = alignRight
  }
}

/// One table cell: text and style.
public struct TableCell: Sendable, Hashable, ExpressibleByStringLiteral {
  public var text: String
  public var style: Style?

  public init(_ text: String, style: Style? = nil) {
    self.text = text
    self.style = style
  }

  public init(stringLiteral value: String) { self.init(value) }
}

/// One row; `style` applies to the whole row, a cell's own style wins over it.
public struct TableRow: Sendable, Hashable {
  public var cells: [TableCell]
  public var style: Style

  public init(_ cells: [TableCell], style: Style = .plain) {
    self.cells = cells
    self.style = style
  }
}

/// Selection and scroll position of a table, kept by the app between frames.
public struct TableState: Sendable, Hashable {
  public var selected: Int
  public var offset: Int

  public init(selected: Int = 0, offset: Int = 0) {
    self.selected = selected
    self.offset = offset
  }

  /// Clamps the selection to `rowCount` rows and scrolls so that it is visible in
  /// `visibleRows` rows.
  public mutating func clamp(rowCount: Int, visibleRows: Int) {
    if rowCount == 0 {
      selected = 0
      offset = 0
      return
    }
    selected = min(max(0, selected), rowCount - 1)
    let visible = max(1, visibleRows)
    if selected < offset { offset = selected }
    if selected >= offset + visible { offset = selected - visible + 1 }
    offset = min(max(0, offset), max(0, rowCount - visible))
  }

  /// Moves the selection by `delta` rows (negative: up), clamped.
  public mutating func move(by delta: Int, rowCount: Int, visibleRows: Int) {
    selected += delta
    clamp(rowCount: rowCount, visibleRows: visibleRows)
  }

  /// Scrolls the window by `delta` rows (the mouse wheel); the selection moves only as far as it
  /// must to stay on screen.
  public mutating func scroll(by delta: Int, rowCount: Int, visibleRows: Int) {
    guard rowCount > 0 else { return clamp(rowCount: rowCount, visibleRows: visibleRows) }
    let visible = max(1, visibleRows)
    offset = min(max(0, offset + delta), max(0, rowCount - visible))
    selected = min(max(selected, offset), min(rowCount - 1, offset + visible - 1))
    clamp(rowCount: rowCount, visibleRows: visibleRows)
  }
}

/// A table with a header row, a sort indicator, a selected row and vertical scrolling.
public struct Table: Sendable {
  public var columns: [TableColumn]
  public var rows: [TableRow]
  public var state: TableState
  /// Index of the sorted column and its direction, shown as ▲ / ▼ in the header.
  public var sort: (column: Int, ascending: Bool)?
  public var headerStyle: Style
  public var selectedStyle: Style
  public var showsSelection: Bool

  public init(
    columns: [TableColumn], rows: [TableRow], state: TableState = TableState(),
    sort: (column: Int, ascending: Bool)? = nil, headerStyle: Style = .bold,
    selectedStyle: Style = .reverse, showsSelection: Bool = true
  ) {
    self.columns = columns
    self.rows = rows
    self.state = state
    self.sort = sort
    self.headerStyle = headerStyle
    self.selectedStyle = selectedStyle
    self.showsSelection = showsSelection
  }

  /// Column widths for a total width (columns separated by one space). Columns that do not
  /// fit at their minimum width are dropped from the right.
  public func layout(width: Int) -> [Int] {
    var widths: [Int] = []
    var used = 0
    for c in columns {
      let need = c.minWidth + (widths.isEmpty ? 0 : 1)
      if used + need > width { break }
      widths.append(c.minWidth)
      used += need
    }
    let spare = width - used
    let flexTotal = zip(columns, widths).map { $0.0.flex }.reduce(0, +)
    if spare > 0 && flexTotal > 0 {
      var given = 0
      var lastFlex = -1
      for i in widths.indices where columns[i].flex > 0 {
        let extra = spare * columns[i].flex / flexTotal
        widths[i] += extra
        given += extra
        lastFlex = i
      }
      if lastFlex >= 0 { widths[lastFlex] += spare - given }
    }
    return widths
  }

  /// Rows that fit below the header in a rect of the given height.
  public static func visibleRows(height: Int) -> Int { max(0, height - 1) }

  /// The part of `rowCount` rows a table in `rect` shows for `state`: the selection clamped and
  /// scrolled into view. Rendering and hit-testing both go through it.
  public static func window(_ state: TableState, rowCount: Int, in rect: Rect) -> TableState {
    var window = state
    window.clamp(rowCount: rowCount, visibleRows: visibleRows(height: rect.height))
    return window
  }

  /// The screen row of the `line`-th visible row (0: the first row under the header).
  public static func rowY(line: Int, in rect: Rect) -> Int { rect.y + 1 + line }

  /// Which of `rowCount` rows (window `state`) is drawn at screen row `y` of a table in `rect`;
  /// nil for the header, the space below the last row, or outside the table.
  public static func rowIndex(atX x: Int, y: Int, in rect: Rect, state: TableState, rowCount: Int) -> Int? {
    guard rect.contains(x: x, y: y) else { return nil }
    let line = y - rowY(line: 0, in: rect)
    let window = window(state, rowCount: rowCount, in: rect)
    guard line >= 0, line < visibleRows(height: rect.height), window.offset + line < rowCount else {
      return nil
    }
    return window.offset + line
  }

  public func render(in rect: Rect, buffer: inout Buffer) {
    guard rect.height > 0, rect.width > 0 else { return }
    let widths = layout(width: rect.width)
    // Header
    var x = rect.x
    for (i, w) in widths.enumerated() {
      var title = columns[i].title
      if let sort, sort.column == i {
        title = title.truncated(toWidth: max(0, w - 1)) + (sort.ascending ? "▲" : "▼")
      }
      buffer.put(
        title.padded(toWidth: w, alignRight: columns[i].alignRight), x: x, y: rect.y,
        style: headerStyle, clip: rect)
      x += w + 1
    }
    let st = Table.window(state, rowCount: rows.count, in: rect)
    let visible = Table.visibleRows(height: rect.height)
    for line in 0..<visible {
      let index = st.offset + line
      guard index < rows.count else { break }
      let row = rows[index]
      let y = Table.rowY(line: line, in: rect)
      let selected = showsSelection && index == st.selected
      let rowRect = Rect(x: rect.x, y: y, width: rect.width, height: 1)
      var rowStyle = row.style
      if selected { rowStyle = rowStyle.adding(selectedStyle.attributes) }
      buffer.fill(rowRect, style: selected ? rowStyle : .plain)
      x = rect.x
      for (i, w) in widths.enumerated() {
        let cell = i < row.cells.count ? row.cells[i] : TableCell("")
        var style = cell.style ?? row.style
        if selected { style = style.adding(selectedStyle.attributes) }
        buffer.put(
          cell.text.padded(toWidth: w, alignRight: columns[i].alignRight), x: x, y: y, style: style,
          clip: rowRect)
        x += w + 1
      }
    }
  }
}
