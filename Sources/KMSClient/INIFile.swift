import Foundation

/// A parsed AWS shared `config` or `credentials` file: sections of `key = value` settings.
///
/// Parsed as botocore does: `#` and `;` start comment lines (and inline comments after a
/// whitespace), blank lines are ignored, names and values are trimmed, keys are case-sensitive,
/// later settings win, and indented lines under a key with an empty value are a nested block
/// (`s3 =` then `  max_concurrent_requests = 20`), which kmsdash keeps as `parent.child`.
/// A line that fits none of these is an error naming the file and line number, never the line's
/// text (it may be a secret).
public struct INIFile: Sendable, Equatable {
  /// Section name (as written between the brackets, trimmed) → settings.
  public var sections: [String: [String: String]]
  /// Section names in the order they first appear.
  public var sectionOrder: [String]

  public init(sections: [String: [String: String]] = [:], sectionOrder: [String] = []) {
    self.sections = sections
    self.sectionOrder = sectionOrder
  }

  /// Parses `text`; `path` only names the file in errors.
  public static func parse(_ text: String, path: String) throws(AWSConfigurationError) -> INIFile {
    var file = INIFile()
    var current: String?
    var nestedParent: String?
    var lineNumber = 0
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
      lineNumber += 1
      var line = Substring(rawLine)
      if line.hasSuffix("\r") { line = line.dropLast() }
      if lineNumber == 1, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
      let indented = line.first == " " || line.first == "\t"

      if trimmed.hasPrefix("["), !indented || nestedParent == nil {
        guard let close = trimmed.firstIndex(of: "]") else {
          throw .malformedFile(path: path, line: lineNumber, problem: "a section header is missing its ']'")
        }
        let rest = stripComment(String(trimmed[trimmed.index(after: close)...]))
          .trimmingCharacters(in: .whitespaces)
        guard rest.isEmpty else {
          throw .malformedFile(
            path: path, line: lineNumber, problem: "unexpected text after a section header's ']'")
        }
        let name = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
          .trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else {
          throw .malformedFile(path: path, line: lineNumber, problem: "a section header has an empty name")
        }
        current = name
        nestedParent = nil
        if file.sections[name] == nil {
          file.sections[name] = [:]
          file.sectionOrder.append(name)
        }
        continue
      }

      guard let section = current else {
        throw .malformedFile(
          path: path, line: lineNumber,
          problem: "a setting appears before any section header (such as [default])")
      }
      guard let equals = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
        throw .malformedFile(
          path: path, line: lineNumber, problem: "expected 'name = value' or '[section]' (no '=' found)")
      }
      let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
      let value = stripComment(String(trimmed[trimmed.index(after: equals)...]))
        .trimmingCharacters(in: .whitespaces)
      guard !key.isEmpty else {
        throw .malformedFile(path: path, line: lineNumber, problem: "a setting has no name before '='")
      }
      if indented, let parent = nestedParent {
        file.sections[section, default: [:]]["\(parent).\(key)"] = value
        continue
      }
      file.sections[section, default: [:]][key] = value
      nestedParent = value.isEmpty ? key : nil
    }
    return file
  }

  /// Removes an inline comment: ` #` or ` ;` preceded by whitespace.
  private static func stripComment(_ value: String) -> String {
    var previousWasSpace = true
    for index in value.indices {
      let character = value[index]
      if (character == "#" || character == ";") && previousWasSpace {
        return String(value[..<index])
      }
      previousWasSpace = character == " " || character == "\t"
    }
    return value
  }
}
