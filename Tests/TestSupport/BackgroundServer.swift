import Foundation

public struct BackgroundServerError: Error, CustomStringConvertible {
  public let message: String
  public var description: String { message }
}

/// A background server for a test. Its output (stdout and stderr) is read as it arrives; a test
/// waits for a line it expects (the server's address) on a condition signalled by each chunk,
/// never by sleeping and looking again. Killed when stopped or released.
public final class BackgroundServer: @unchecked Sendable {
  public let process = Process()
  private let pipe = Pipe()
  private let arrived = NSCondition()
  private var captured = Data()  // guarded by `arrived`
  private var closed = false  // guarded by `arrived`

  public init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
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
  public var output: String {
    arrived.lock()
    defer { arrived.unlock() }
    return String(decoding: captured, as: UTF8.self)
  }

  /// The first `http://127.0.0.1:PORT` the server prints; fails when it exits or stays silent.
  public func url(timeout: TimeInterval = 30) throws -> String {
    let deadline = Date().addingTimeInterval(timeout)
    arrived.lock()
    defer { arrived.unlock() }
    while true {
      let text = String(decoding: captured, as: UTF8.self)
      if let match = text.firstMatch(of: /http:\/\/127\.0\.0\.1:[0-9]+/) { return String(match.output) }
      if closed || !arrived.wait(until: deadline) {
        throw BackgroundServerError(message: "the server did not print its address:\n\(text)")
      }
    }
  }

  public func stop() {
    if process.isRunning {
      // SIGKILL: a child started by Foundation may inherit a blocked SIGTERM (see the end-to-end tests' Tmux.swift).
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
  }

  deinit { stop() }
}
