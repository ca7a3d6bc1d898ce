import Testing

@testable import Dashboard

/// NO_COLOR > --no-color / --theme / --no-mouse > the config file > the defaults.
struct AppearanceTests {
  static let file = "/home/me/.config/kmsdash/config.toml"

  func resolve(
    noColor env: String? = nil, noColorFlag: Bool = false, theme: Theme? = nil, noMouse: Bool = false,
    file: Appearance.FileSettings = .init(file: file)
  ) throws -> Appearance {
    try Appearance.resolve(
      noColorEnvironment: env, noColorFlag: noColorFlag, themeFlag: theme, noMouseFlag: noMouse, file: file)
  }

  @Test func defaultsAreDarkColouredWithTheMouse() throws {
    #expect(try resolve() == Appearance(color: true, theme: .dark, mouse: true))
  }

  @Test func theFileSetsTheThemeAndTheMouse() throws {
    let file = Appearance.FileSettings(file: Self.file, theme: "light", themeLine: 2, mouse: false)
    #expect(try resolve(file: file) == Appearance(color: true, theme: .light, mouse: false))
  }

  @Test func theFlagsWinOverTheFile() throws {
    let file = Appearance.FileSettings(file: Self.file, theme: "light", themeLine: 2, mouse: true)
    let flags = try resolve(theme: .terminal, noMouse: true, file: file)
    #expect(flags == Appearance(color: true, theme: .terminal, mouse: false))
  }

  @Test func noColorWinsOverEverything() throws {
    let file = Appearance.FileSettings(file: Self.file, theme: "light", themeLine: 2)
    #expect(try resolve(noColor: "1", theme: .dark, file: file).color == false)
    #expect(try resolve(noColor: "1", file: file).color == false)
    #expect(try resolve(noColorFlag: true, file: file).color == false)
    // NO_COLOR set but empty does not count (no-color.org).
    #expect(try resolve(noColor: "", file: file).color == true)
  }

  @Test func anUnknownThemeNamesTheFileTheLineAndTheValidNames() {
    let file = Appearance.FileSettings(file: Self.file, theme: "solarized", themeLine: 3)
    #expect(throws: Appearance.SettingError.self) { try resolve(file: file) }
    do {
      _ = try resolve(theme: .dark, file: file)
      Issue.record("a bad theme in the file was accepted")
    } catch let error as Appearance.SettingError {
      #expect(
        error.description
          == "\(Self.file):3: theme \"solarized\" is not a theme of kmsdash (valid: dark, light, terminal)")
    } catch {
      Issue.record("unexpected \(error)")
    }
  }
}
