/// How the dashboard looks and listens, from the environment, the flags and the config file.
public struct Appearance: Sendable, Equatable {
  public var color: Bool
  public var theme: Theme
  public var mouse: Bool

  public init(color: Bool, theme: Theme, mouse: Bool) {
    self.color = color
    self.theme = theme
    self.mouse = mouse
  }

  /// A config file's value the dashboard cannot use: the file, the line, and the valid values.
  public struct SettingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
  }

  /// The file's settings (`theme = "…"`, `mouse = …`), as read from `file`.
  public struct FileSettings: Sendable, Equatable {
    public var file: String
    public var theme: String?
    public var themeLine: Int?
    public var mouse: Bool?

    public init(file: String, theme: String? = nil, themeLine: Int? = nil, mouse: Bool? = nil) {
      self.file = file
      self.theme = theme
      self.themeLine = themeLine
      self.mouse = mouse
    }
  }

  /// Colour: `NO_COLOR` (non-empty) or `--no-color` turn it off, whatever the theme. Theme:
  /// `--theme`, else the file's `theme`, else dark. Mouse: `--no-mouse`, else the file's `mouse`,
  /// else on. A theme name the dashboard does not have is an error naming the file, the line and
  /// the valid names, even when `--theme` overrides it (the file is wrong either way).
  public static func resolve(
    noColorEnvironment: String?, noColorFlag: Bool, themeFlag: Theme?, noMouseFlag: Bool, file: FileSettings
  ) throws(SettingError) -> Appearance {
    var fileTheme: Theme?
    if let name = file.theme {
      guard let theme = Theme(rawValue: name) else {
        let valid = Theme.allCases.map(\.rawValue).joined(separator: ", ")
        throw SettingError(
          file: file.file, line: file.themeLine,
          message: "theme \"\(name)\" is not a theme of kmsdash (valid: \(valid))")
      }
      fileTheme = theme
    }
    let noColor = noColorFlag || !(noColorEnvironment ?? "").isEmpty
    return Appearance(
      color: !noColor, theme: themeFlag ?? fileTheme ?? .dark, mouse: !noMouseFlag && (file.mouse ?? true))
  }
}
