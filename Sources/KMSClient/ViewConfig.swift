import Foundation
import TOMLKit

/// A saved view: the profiles and Regions a dashboard watches together (`--view NAME`).
public struct SavedView: Sendable, Equatable {
  public var name: String
  public var profiles: [String]
  public var regions: [String]
  /// Every Region enabled for the account (`ec2:DescribeRegions`) instead of `regions`.
  public var allRegions: Bool

  public init(name: String, profiles: [String], regions: [String], allRegions: Bool = false) {
    self.name = name
    self.profiles = profiles
    self.regions = regions
    self.allRegions = allRegions
  }
}

/// A config file that cannot be used: the file, the line when known, and what is wrong.
public struct KMSDashConfigError: Error, Sendable, Equatable, CustomStringConvertible {
  public var file: String
  public var line: Int?
  public var message: String

  public init(file: String, line: Int? = nil, message: String) {
    self.file = file
    self.line = line
    self.message = message
  }

  public var description: String {
    "\(file)\(line.map { ":\($0)" } ?? ""): \(message)"
  }
}

/// kmsdash's own config file, `$XDG_CONFIG_HOME/kmsdash/config.toml` (else
/// `~/.config/kmsdash/config.toml`):
///
/// ```toml
/// [views.prod]
/// profiles = ["prod-admin", "audit"]
/// regions = ["us-east-1", "eu-west-1"]
///
/// [views.everything]
/// profiles = ["prod-admin"]
/// all_regions = true
/// ```
///
/// and the dashboard's appearance, at the top (before any table):
///
/// ```toml
/// theme = "light"   # dark, light or terminal; --theme wins, NO_COLOR wins over both
/// mouse = false     # as --no-mouse
/// ```
///
/// Parsed with TOMLKit (toml++). Unknown keys are errors, not silently ignored: a typo such as
/// `region =` would otherwise watch nothing it was meant to.
public struct KMSDashConfig: Sendable, Equatable {
  public var views: [String: SavedView]
  /// `theme = "NAME"` as written (the dashboard checks the name against its themes).
  public var theme: String?
  /// The line of `theme =`, for a message about its value.
  public var themeLine: Int?
  /// `mouse = true|false`; nil when the file does not say.
  public var mouse: Bool?

  public init(
    views: [String: SavedView] = [:], theme: String? = nil, themeLine: Int? = nil, mouse: Bool? = nil
  ) {
    self.views = views
    self.theme = theme
    self.themeLine = themeLine
    self.mouse = mouse
  }

  /// Where the file is: `$XDG_CONFIG_HOME/kmsdash/config.toml`, else under `~/.config`.
  public static func path(environment: [String: String], homeDirectory: String) -> String {
    if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
      return xdg + "/kmsdash/config.toml"
    }
    return homeDirectory + "/.config/kmsdash/config.toml"
  }

  /// Reads and checks the file; a missing file is an empty config.
  public static func load(path: String) throws -> KMSDashConfig {
    guard FileManager.default.fileExists(atPath: path) else { return KMSDashConfig() }
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw KMSDashConfigError(file: path, message: "cannot be read (\(error.localizedDescription))")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw KMSDashConfigError(file: path, message: "is not UTF-8 text")
    }
    return try parse(text, file: path)
  }

  static let viewKeys: Set<String> = ["profiles", "regions", "all_regions"]

  /// Parses the text of a config file named `file` (for messages).
  public static func parse(_ text: String, file: String) throws -> KMSDashConfig {
    let root: TOMLTable
    do {
      root = try TOMLTable(string: text)
    } catch let error as TOMLParseError {
      throw KMSDashConfigError(
        file: file, line: error.source.begin.line,
        message: "not valid TOML: \(error.description) (column \(error.source.begin.column))")
    }
    // Lines of the view tables, for messages about their contents.
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    func line(ofView name: String) -> Int? {
      let headers = ["[views.\(name)]", "[views.\"\(name)\"]"]
      return lines.firstIndex { line in headers.contains(line.trimmingCharacters(in: .whitespaces)) }.map {
        $0 + 1
      }
    }
    /// The line of a top-level `key = …`.
    func line(ofKey key: String) -> Int? {
      lines.firstIndex { line in
        let t = line.trimmingCharacters(in: .whitespaces)
        return t.hasPrefix(key) && t.dropFirst(key.count).trimmingCharacters(in: .whitespaces).hasPrefix("=")
      }.map { $0 + 1 }
    }
    var views: [String: SavedView] = [:]
    for key in root.keys where !topLevelKeys.contains(key) {
      throw KMSDashConfigError(
        file: file, line: line(ofKey: key),
        message: "unknown top-level key '\(key)' (expected theme, mouse or [views.NAME] tables)")
    }
    var config = KMSDashConfig()
    if let value = root["theme"] {
      guard let name = value.string else {
        throw KMSDashConfigError(
          file: file, line: line(ofKey: "theme"), message: "'theme' must be a string such as \"light\"")
      }
      config.theme = name
      config.themeLine = line(ofKey: "theme")
    }
    if let value = root["mouse"] {
      guard let flag = value.bool else {
        throw KMSDashConfigError(
          file: file, line: line(ofKey: "mouse"), message: "'mouse' must be true or false")
      }
      config.mouse = flag
    }
    guard let viewsValue = root["views"] else { return config }
    guard let table = viewsValue.table else {
      throw KMSDashConfigError(file: file, message: "'views' must be a table of [views.NAME] sections")
    }
    for name in table.keys.sorted() {
      let at = line(ofView: name)
      func fail(_ message: String) -> KMSDashConfigError {
        KMSDashConfigError(file: file, line: at, message: "view '\(name)': \(message)")
      }
      guard let view = table[name]?.table else { throw fail("must be a table ([views.\(name)])") }
      for key in view.keys where !viewKeys.contains(key) {
        throw fail("unknown key '\(key)' (expected profiles, regions, all_regions)")
      }
      func strings(_ key: String) throws -> [String] {
        guard let value = view[key] else { return [] }
        guard let array = value.array else { throw fail("'\(key)' must be an array of strings") }
        return try array.map { item in
          guard let text = item.string, !text.isEmpty else {
            throw fail("'\(key)' must be an array of non-empty strings")
          }
          return text
        }
      }
      let profiles = try strings("profiles")
      let regions = try strings("regions")
      var allRegions = false
      if let value = view["all_regions"] {
        guard let flag = value.bool else { throw fail("'all_regions' must be true or false") }
        allRegions = flag
      }
      if profiles.isEmpty { throw fail("'profiles' must name at least one AWS profile") }
      if regions.isEmpty && !allRegions { throw fail("give 'regions' or all_regions = true") }
      if !regions.isEmpty && allRegions { throw fail("give 'regions' or all_regions = true, not both") }
      for region in regions where !AWSRegionName.isValid(region) {
        throw fail("'\(region)' is not a Region name like us-east-1")
      }
      views[name] = SavedView(name: name, profiles: profiles, regions: regions, allRegions: allRegions)
    }
    config.views = views
    return config
  }

  static let topLevelKeys: Set<String> = ["views", "theme", "mouse"]
}

/// Region names as AWS spells them (`us-east-1`, `ap-southeast-3`, `us-gov-west-1`, `cn-north-1`).
public enum AWSRegionName {
  public static func isValid(_ name: String) -> Bool {
    name.wholeMatch(of: /[a-z]{2}(-[a-z]+)+-[0-9]{1,2}/) != nil
  }
}
