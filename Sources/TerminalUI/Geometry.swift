/// A terminal size in columns and rows.
public struct Size: Sendable, Hashable, CustomStringConvertible {
  public var width: Int
  public var height: Int

  public init(width: Int, height: Int) {
    self.width = max(0, width)
    self.height = max(0, height)
  }

  public var description: String { "\(width)x\(height)" }
}

/// A rectangle of cells. Empty when width or height is zero.
public struct Rect: Sendable, Hashable, CustomStringConvertible {
  public var x: Int
  public var y: Int
  public var width: Int
  public var height: Int

  public init(x: Int, y: Int, width: Int, height: Int) {
    self.x = x
    self.y = y
    self.width = max(0, width)
    self.height = max(0, height)
  }

  public init(size: Size) { self.init(x: 0, y: 0, width: size.width, height: size.height) }

  public var minX: Int { x }
  public var minY: Int { y }
  public var maxX: Int { x + width }
  public var maxY: Int { y + height }
  public var isEmpty: Bool { width == 0 || height == 0 }
  public var size: Size { Size(width: width, height: height) }
  public var description: String { "(\(x),\(y) \(width)x\(height))" }

  public func contains(x px: Int, y py: Int) -> Bool {
    px >= x && px < maxX && py >= y && py < maxY
  }

  public func intersection(_ other: Rect) -> Rect {
    let nx = max(x, other.x)
    let ny = max(y, other.y)
    let mx = min(maxX, other.maxX)
    let my = min(maxY, other.maxY)
    return Rect(x: nx, y: ny, width: max(0, mx - nx), height: max(0, my - ny))
  }

  /// Shrinks the rectangle by `by` cells on every side.
  public func inset(by amount: Int) -> Rect {
    Rect(x: x + amount, y: y + amount, width: width - 2 * amount, height: height - 2 * amount)
  }

  /// Splits off `rows` rows from the top: (top, rest).
  public func splitTop(_ rows: Int) -> (Rect, Rect) {
    let r = min(max(0, rows), height)
    return (
      Rect(x: x, y: y, width: width, height: r),
      Rect(x: x, y: y + r, width: width, height: height - r)
    )
  }

  /// Splits off `rows` rows from the bottom: (rest, bottom).
  public func splitBottom(_ rows: Int) -> (Rect, Rect) {
    let r = min(max(0, rows), height)
    return (
      Rect(x: x, y: y, width: width, height: height - r),
      Rect(x: x, y: y + height - r, width: width, height: r)
    )
  }

  /// Splits off `columns` columns from the left: (left, rest).
  public func splitLeft(_ columns: Int) -> (Rect, Rect) {
    let c = min(max(0, columns), width)
    return (
      Rect(x: x, y: y, width: c, height: height),
      Rect(x: x + c, y: y, width: width - c, height: height)
    )
  }

  /// A rectangle of the given size centred in this one (clamped to fit).
  public func centered(width w: Int, height h: Int) -> Rect {
    let cw = min(w, width)
    let ch = min(h, height)
    return Rect(x: x + (width - cw) / 2, y: y + (height - ch) / 2, width: cw, height: ch)
  }
}
