import Foundation
import TestSupport
import Testing

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
