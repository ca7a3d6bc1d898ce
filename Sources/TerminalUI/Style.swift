/// One of the eight ANSI colours, or the terminal's default colour.
public enum Color: UInt8, Sendable, Hashable, CaseIterable {
  case `default`
  case black
  case red
  case green
  case yellow
  case blue
  case magenta
  case cyan
  case white
}

/// Text attributes that every terminal we target can show.
public struct Attributes: OptionSet, Sendable, Hashable {
  public let rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  public static let bold = Attributes(rawValue: 1 << 0)
  public static let dim = Attributes(rawValue: 1 << 1)
  public static let underline = Attributes(rawValue: 1 << 2)
  public static let reverse = Attributes(rawValue: 1 << 3)
  public static let italic = Attributes(rawValue: 1 << 4)
}

/// Foreground, background and attributes of one cell.
public struct Style: Sendable, Hashable {
  public var fg: Color
  public var bg: Color
  public var attributes: Attributes

  public init(fg: Color = .default, bg: Color = .default, attributes: Attributes = []) {
    self.fg = fg
    self.bg = bg
    self.attributes = attributes
  }

  public static let plain = Style()
  public static let bold = Style(attributes: .bold)
  public static let dim = Style(attributes: .dim)
  public static let reverse = Style(attributes: .reverse)

  /// The same style with extra attributes.
  public func adding(_ extra: Attributes) -> Style {
    var copy = self
    copy.attributes.formUnion(extra)
    return copy
  }

  /// The same style with the colours dropped (for `NO_COLOR`): attributes carry the meaning.
  public var withoutColor: Style { Style(attributes: attributes) }
}
