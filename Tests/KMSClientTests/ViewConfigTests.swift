import Foundation
import Testing

@testable import KMSClient

/// `$XDG_CONFIG_HOME/kmsdash/config.toml`: saved views, and readable errors naming file and line.
@Suite struct ViewConfigTests {
  static let file = "/home/me/.config/kmsdash/config.toml"

  func error(_ text: String) -> KMSDashConfigError? {
    do {
      _ = try KMSDashConfig.parse(text, file: Self.file)
      return nil
    } catch let error as KMSDashConfigError {
      return error
    } catch {
      Issue.record("unexpected \(error)")
      return nil
    }
  }

  @Test func viewsWithRegionsOrEveryRegion() throws {
    let config = try KMSDashConfig.parse(
      """
      # Production, two Regions.
      [views.prod]
      profiles = ["prod-admin", "audit"]
      regions = ["us-east-1", "eu-west-1"]

      [views."all of it"]
      profiles = ["prod-admin"]
      all_regions = true
      """, file: Self.file)
    #expect(
      config.views == [
        "prod": SavedView(
          name: "prod", profiles: ["prod-admin", "audit"], regions: ["us-east-1", "eu-west-1"]),
        "all of it": SavedView(name: "all of it", profiles: ["prod-admin"], regions: [], allRegions: true),
      ])
    #expect(try KMSDashConfig.parse("", file: Self.file) == KMSDashConfig())
  }

  @Test func malformedTOMLNamesTheFileAndTheLine() throws {
    let e = try #require(error("[views.prod]\nprofiles = [\"a\"\nregions = [\"us-east-1\"]\n"))
    #expect(e.file == Self.file)
    #expect(e.line == 3)
    #expect(e.description.hasPrefix("\(Self.file):3: not valid TOML: "))
    let duplicate = try #require(
      error("[views.a]\nprofiles = [\"x\"]\nregions = [\"us-east-1\"]\n[views.a]\n"))
    #expect(duplicate.line == 4)
  }

  @Test func wrongContentsNameTheViewAndItsLine() throws {
    let typo = try #require(error("\n[views.prod]\nprofiles = [\"a\"]\nregion = [\"us-east-1\"]\n"))
    #expect(
      typo.description
        == "\(Self.file):2: view 'prod': unknown key 'region' (expected profiles, regions, all_regions)")
    #expect(
      error("[views.p]\nprofiles = \"a\"\nregions = [\"us-east-1\"]\n")?.message
        == "view 'p': 'profiles' must be an array of strings")
    #expect(
      error("[views.p]\nprofiles = [\"a\", 3]\nregions = [\"us-east-1\"]\n")?.message
        == "view 'p': 'profiles' must be an array of non-empty strings")
    #expect(
      error("[views.p]\nprofiles = [\"a\"]\n")?.message == "view 'p': give 'regions' or all_regions = true")
    #expect(
      error("[views.p]\nprofiles = [\"a\"]\nregions = [\"us-east-1\"]\nall_regions = true\n")?.message
        == "view 'p': give 'regions' or all_regions = true, not both")
    #expect(
      error("[views.p]\nprofiles = [\"a\"]\nregions = [\"Frankfurt\"]\n")?.message
        == "view 'p': 'Frankfurt' is not a Region name like us-east-1")
    #expect(
      error("[views.p]\nprofiles = []\nregions = [\"us-east-1\"]\n")?.message
        == "view 'p': 'profiles' must name at least one AWS profile")
    #expect(
      error("[view.p]\nprofiles = [\"a\"]\n")?.message
        == "unknown top-level key 'view' (expected theme, mouse or [views.NAME] tables)")
    #expect(error("views = 3\n")?.message == "'views' must be a table of [views.NAME] sections")
  }

  /// The dashboard's appearance: `theme` as written with its line (the dashboard knows the
  /// names), `mouse` as a boolean.
  @Test func themeAndMouseAtTheTop() throws {
    let config = try KMSDashConfig.parse(
      """
      # Light terminal, no mouse.
      theme = "light"
      mouse = false

      [views.prod]
      profiles = ["prod-admin"]
      regions = ["us-east-1"]
      """, file: Self.file)
    #expect(config.theme == "light")
    #expect(config.themeLine == 2)
    #expect(config.mouse == false)
    #expect(config.views.keys.sorted() == ["prod"])
    #expect(try KMSDashConfig.parse("theme = \"solarized\"\n", file: Self.file).theme == "solarized")
    #expect(try KMSDashConfig.parse("", file: Self.file).mouse == nil)
    let notBool = error("\n\nmouse = \"no\"\n")
    #expect(notBool?.line == 3)
    #expect(notBool?.message == "'mouse' must be true or false")
    let notString = error("theme = 3\n")
    #expect(notString?.description == "\(Self.file):1: 'theme' must be a string such as \"light\"")
    #expect(error("colour = \"red\"\n")?.line == 1)
  }

  @Test func theFileIsUnderXDGConfigHomeElseDotConfig() throws {
    #expect(
      KMSDashConfig.path(environment: ["XDG_CONFIG_HOME": "/x/cfg"], homeDirectory: "/home/me")
        == "/x/cfg/kmsdash/config.toml")
    #expect(
      KMSDashConfig.path(environment: ["XDG_CONFIG_HOME": "relative"], homeDirectory: "/home/me")
        == "/home/me/.config/kmsdash/config.toml")
    let missing = try KMSDashConfig.load(path: "/nonexistent/kmsdash/config.toml")
    #expect(missing.views.isEmpty)
    let binary = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kmsdash-config-\(getpid()).toml")
    try Data([0xFF, 0xFE, 0x00]).write(to: binary)
    defer { try? FileManager.default.removeItem(at: binary) }
    #expect(throws: KMSDashConfigError(file: binary.path, message: "is not UTF-8 text")) {
      try KMSDashConfig.load(path: binary.path)
    }
  }
}
