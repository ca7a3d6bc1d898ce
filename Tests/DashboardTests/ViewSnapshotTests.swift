import Foundation
import TerminalUI
import Testing

@testable import Dashboard

/// Text snapshots of every screen, pane, dialog and overlay at two sizes (120x30 and 80x24),
/// compared with the files in `Snapshots/`. Clock, time zone and fixture are fixed, so the output
/// is deterministic. After an intended change of the view, one command re-records every file:
///
///     RECORD_SNAPSHOTS=1 swift test --filter ViewSnapshotTests
///
/// and `git diff Tests/DashboardTests/Snapshots` shows what changed on screen.
@Suite struct ViewSnapshotTests {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Snapshots")
  static let recording = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil

  static var cases: [String] {
    ViewScenarios.sizes.flatMap { size in
      ViewScenarios.all(size).map { "\($0.0)_\(size.width)x\(size.height)" }
    }
  }

  @Test(arguments: cases)
  func screen(_ name: String) throws {
    let size = ViewScenarios.sizes.first { name.hasSuffix("_\($0.width)x\($0.height)") }!
    let scenario = String(name.dropLast("_\(size.width)x\(size.height)".count))
    let state = try #require(ViewScenarios.all(size).first { $0.0 == scenario }?.1)
    let text = view(state).text
    let file = Self.directory.appendingPathComponent("\(name).txt")
    if Self.recording {
      try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
      try text.write(to: file, atomically: true, encoding: .utf8)
      return
    }
    let expected = try String(contentsOf: file, encoding: .utf8)
    #expect(text == expected, "\(name) differs from Snapshots/\(name).txt; re-record with RECORD_SNAPSHOTS=1")
  }

  /// Every snapshot file belongs to a scenario (a removed scenario leaves no stale file).
  @Test func noStaleSnapshotFiles() throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path)
      .filter { $0.hasSuffix(".txt") }.map { String($0.dropLast(4)) }
    #expect(Set(files) == Set(Self.cases))
  }
}
