import Foundation
import Testing

@testable import Dashboard

@Suite struct RecordSnapshots {
  @Test(.enabled(if: ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil))
  func record() throws {
    let dir = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"]!
    for size in ViewScenarios.sizes {
      for (name, state) in ViewScenarios.all(size) {
        try view(state).text.write(
          toFile: "\(dir)/\(name)_\(size.width)x\(size.height).txt", atomically: true, encoding: .utf8)
      }
    }
  }
}
