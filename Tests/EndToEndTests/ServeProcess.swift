import Foundation
import Testing

/// A `kmsdash serve` on a free port, its log in a temporary file, killed when released.
final class ServeProcess {
  let process = Process()
  let log: URL
  /// The endpoint the server printed (`http://127.0.0.1:PORT`).
  private(set) var endpoint = ""

  init(binary: String, arguments: [String], environment: [String: String]) throws {
    log = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kmsdash-e2e-serve-\(getpid())-\(UUID().uuidString.prefix(8)).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = ["serve", "--port", "0"] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
      .merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
    let handle = try FileHandle(forWritingTo: log)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
      if let match = text.firstMatch(of: /http:\/\/127\.0\.0\.1:[0-9]+/) {
        endpoint = String(match.output)
        return
      }
      usleep(50_000)
    }
    throw E2EError("kmsdash serve did not print its endpoint within 30 s: \(log.path)")
  }

  deinit {
    // SIGKILL: a child started by Foundation may inherit a blocked SIGTERM (see Tmux.swift).
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    try? FileManager.default.removeItem(at: log)
  }
}

/// Runs the AWS CLI with `environment`; returns its standard output, or throws with its status
/// and error output.
func runAWS(_ aws: String, _ arguments: [String], environment: [String: String]) throws -> String {
  let cli = Process()
  cli.executableURL = URL(fileURLWithPath: aws)
  cli.arguments = arguments
  cli.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  let out = Pipe()
  let err = Pipe()
  cli.standardOutput = out
  cli.standardError = err
  try cli.run()
  let output = out.fileHandleForReading.readDataToEndOfFile()
  let error = err.fileHandleForReading.readDataToEndOfFile()
  cli.waitUntilExit()
  guard cli.terminationStatus == 0 else {
    throw E2EError(
      "aws \(arguments.joined(separator: " ")) exited \(cli.terminationStatus): \(String(decoding: error, as: UTF8.self))"
    )
  }
  return String(decoding: output, as: UTF8.self)
}
