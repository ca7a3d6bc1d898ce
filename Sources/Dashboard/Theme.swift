import KMSModel
import TerminalUI

/// The dashboard's colours. `NO_COLOR` / `--no-color` still wins: every style loses its colour.
public enum Theme: String, Sendable, CaseIterable {
  /// White on black, whatever the terminal's own colours.
  case dark
  /// Black on white, with colours that stay readable on a light background.
  case light
  /// The terminal's own background and foreground, and its 16 colours.
  case terminal

  /// What `Color.default` stands for (nil: the terminal's own colours).
  public var defaultColors: (fg: Color, bg: Color)? {
    switch self {
    case .dark: (.white, .black)
    case .light: (.black, .white)
    case .terminal: nil
    }
  }

  /// The style of each role on screen.
  public struct Palette: Sendable, Equatable {
    public var header: Style
    public var connected: Style
    public var transient: Style
    public var failed: Style
    public var disconnected: Style
    public var keyEnabled: Style
    public var keyUnavailable: Style
    public var keyPending: Style
    public var keyOther: Style
    public var error: Style
  }

  public var palette: Palette {
    switch self {
    case .dark, .terminal:
      Palette(
        header: Style(fg: .black, bg: .cyan), connected: Style(fg: .green),
        transient: Style(fg: .yellow, attributes: .bold), failed: Style(fg: .red, attributes: .bold),
        disconnected: Style(attributes: .dim), keyEnabled: Style(fg: .green),
        keyUnavailable: Style(fg: .yellow),
        keyPending: Style(fg: .red), keyOther: Style(attributes: .dim),
        error: Style(fg: .red, attributes: .bold))
    case .light:
      // Yellow and cyan wash out on white: blue and magenta carry those meanings instead.
      Palette(
        header: Style(fg: .white, bg: .blue), connected: Style(fg: .green, attributes: .bold),
        transient: Style(fg: .blue, attributes: .bold), failed: Style(fg: .red, attributes: .bold),
        disconnected: Style(attributes: .dim), keyEnabled: Style(fg: .green, attributes: .bold),
        keyUnavailable: Style(fg: .magenta), keyPending: Style(fg: .red), keyOther: Style(attributes: .dim),
        error: Style(fg: .red, attributes: .bold))
    }
  }
}

extension DashboardConfig {
  /// The style of a role: the theme's, without colour when colour is off.
  func style(_ role: KeyPath<Theme.Palette, Style>) -> Style {
    let style = theme.palette[keyPath: role]
    return color ? style : style.withoutColor
  }
}
