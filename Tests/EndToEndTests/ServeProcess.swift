import Foundation
import Testing

/// A background server for a test. Its output (stdout and stderr) is read as it arrives; a test
/// waits for a line it expects (the server's address) on a condition signalled by each chunk,
/// never by sleeping and looking again. Killed when stopped or released.
final class BackgroundServer: @unchecked Sendable {
  let process = Process()
  private let pipe = Pipe()
  private let arrived = NSCondition()
  private var captured = Data()  // guarded by `arrived`
  private var closed = false  // guarded by `arrived`

  init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
      .merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
    process.standardOutput = pipe
    process.standardError = pipe
    pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
      let chunk = handle.availableData
      guard let self else { return }
      self.arrived.lock()
      if chunk.isEmpty { self.closed = true } else { self.captured.append(chunk) }
      self.arrived.broadcast()
      self.arrived.unlock()
      if chunk.isEmpty { handle.readabilityHandler = nil }
    }
    try process.run()
  }

  /// Everything the server has printed so far.
  var output: String {
    arrived.lock()
    defer { arrived.unlock() }
    return String(decoding: captured, as: UTF8.self)
  }

  /// The first `http://127.0.0.1:PORT` the server prints; fails when it exits or stays silent.
  func url(timeout: TimeInterval = 30) throws -> String {
    let deadline = Date().addingTimeInterval(timeout)
    arrived.lock()
    defer { arrived.unlock() }
    while true {
      let text = String(decoding: captured, as: UTF8.self)
      if let match = text.firstMatch(of: /http:\/\/127\.0\.0\.1:[0-9]+/) { return String(match.output) }
      if closed || !arrived.wait(until: deadline) {
        throw E2EError("the server did not print its address:\n\(text)")
      }
    }
  }

  func stop() {
    if process.isRunning {
      // SIGKILL: a child started by Foundation may inherit a blocked SIGTERM (see Tmux.swift).
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
  }

  deinit { stop() }
}

/// A `kmsdash serve` on a free port.
final class ServeProcess {
  let server: BackgroundServer
  /// The endpoint the server printed (`http://127.0.0.1:PORT`).
  let endpoint: String

  init(binary: String, arguments: [String], environment: [String: String]) throws {
    server = try BackgroundServer(binary, ["serve", "--port", "0"] + arguments, environment: environment)
    endpoint = try server.url()
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
