import AWSSigV4
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// `credential_process`: runs the command (split like a POSIX shell, as botocore's `shlex.split`,
/// without a shell) and reads the JSON it prints (`Version` 1, `AccessKeyId`, `SecretAccessKey`,
/// optional `SessionToken` and `Expiration`). A non-zero exit reports the command's stderr; a
/// command still running after `timeout` is killed (botocore waits forever; kmsdash would then
/// hang before the dashboard opens, so it gives up after 60 s by default).
struct ProcessCredentialSource: Sendable {
  var command: String
  var profile: String
  var environment: [String: String]
  var timeout: Duration = .seconds(60)
  var now: @Sendable () -> Date = { Date() }

  var sourceName: String { "credential_process of profile '\(profile)'" }

  func fetch() async throws -> ExpiringCredentials {
    let arguments: [String]
    do {
      arguments = try ShellWords.split(command)
    } catch {
      throw AWSCredentialError(source: sourceName, message: "the command cannot be parsed: \(error)")
    }
    guard let program = arguments.first else {
      throw AWSCredentialError(source: sourceName, message: "the command is empty")
    }
    let result: ProcessRunner.Result
    do {
      result = try await ProcessRunner.run(arguments, environment: environment, timeout: timeout)
    } catch let error as ProcessRunner.Failure {
      throw AWSCredentialError(
        source: sourceName, message: error.description,
        fix: "check the credential_process line of profile '\(profile)' in the config file")
    }
    if result.timedOut {
      throw AWSCredentialError(
        source: sourceName,
        message: "'\(program)' did not finish within \(timeout.components.seconds) s and was stopped"
          + Self.stderrSuffix(result.stderr),
        fix: "run the command by hand to see what it waits for (a prompt, a network call)")
    }
    guard result.status == 0 else {
      throw AWSCredentialError(
        source: sourceName,
        message: "'\(program)' exited with status \(result.status)" + Self.stderrSuffix(result.stderr))
    }
    return try parse(result.stdout, program: program)
  }

  static func stderrSuffix(_ stderr: Data) -> String {
    let text = String(decoding: stderr.prefix(2000), as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    return text.isEmpty ? "" : "; its stderr said:\n\(text)"
  }

  func parse(_ stdout: Data, program: String) throws -> ExpiringCredentials {
    guard let object = (try? JSONSerialization.jsonObject(with: stdout)) as? [String: Any] else {
      throw AWSCredentialError(
        source: sourceName,
        message:
          "'\(program)' did not print a JSON object on stdout (got \(stdout.count) bytes that are not JSON)",
        fix:
          "the command must print {\"Version\": 1, \"AccessKeyId\": …, \"SecretAccessKey\": …} and nothing else on stdout"
      )
    }
    let version = object["Version"]
    guard (version as? NSNumber)?.doubleValue == 1 else {
      let shown = version.map { "\($0)" } ?? "<Version key not provided>"
      throw AWSCredentialError(
        source: sourceName,
        message: "unsupported version '\(shown)' for credential process provider, supported versions: 1")
    }
    guard let keyId = object["AccessKeyId"] as? String, !keyId.isEmpty else {
      throw AWSCredentialError(source: sourceName, message: "missing required key in response: 'AccessKeyId'")
    }
    guard let secret = object["SecretAccessKey"] as? String, !secret.isEmpty else {
      throw AWSCredentialError(
        source: sourceName, message: "missing required key in response: 'SecretAccessKey'")
    }
    let token = (object["SessionToken"] as? String).flatMap { $0.isEmpty ? nil : $0 }
    var expiration: Date?
    if let text = object["Expiration"] as? String {
      guard let date = AWSWire.parseDate(text) else {
        throw AWSCredentialError(
          source: sourceName, message: "'Expiration' is not an ISO 8601 date (got '\(text.prefix(40))')")
      }
      guard date > now() else {
        throw AWSCredentialError(
          source: sourceName,
          message:
            "the credentials it printed expired at \(AWSWire.formatDate(date)) (now \(AWSWire.formatDate(now())))",
          fix: "check the command and this machine's clock")
      }
      expiration = date
    }
    return ExpiringCredentials(
      AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token), expiration: expiration
    )
  }
}

/// POSIX shell word splitting, as Python's `shlex.split` (posix=True, no comments).
enum ShellWords {
  struct Unbalanced: Error, CustomStringConvertible {
    var quote: Character
    var description: String { "no closing \(quote) quotation" }
  }

  static func split(_ text: String) throws -> [String] {
    var words: [String] = []
    var word = ""
    var inWord = false
    var iterator = Array(text).makeIterator()
    while let character = iterator.next() {
      switch character {
      case " ", "\t", "\n", "\r":
        if inWord {
          words.append(word)
          word = ""
          inWord = false
        }
      case "'":
        inWord = true
        var closed = false
        while let next = iterator.next() {
          if next == "'" {
            closed = true
            break
          }
          word.append(next)
        }
        if !closed { throw Unbalanced(quote: "'") }
      case "\"":
        inWord = true
        var closed = false
        while let next = iterator.next() {
          if next == "\"" {
            closed = true
            break
          }
          if next == "\\" {
            guard let escaped = iterator.next() else { break }
            if escaped == "\"" || escaped == "\\" || escaped == "$" || escaped == "`" || escaped == "\n" {
              word.append(escaped)
            } else {
              word.append("\\")
              word.append(escaped)
            }
            continue
          }
          word.append(next)
        }
        if !closed { throw Unbalanced(quote: "\"") }
      case "\\":
        inWord = true
        if let escaped = iterator.next() { word.append(escaped) }
      default:
        inWord = true
        word.append(character)
      }
    }
    if inWord { words.append(word) }
    return words
  }
}

/// Runs a program without a shell, collecting stdout and stderr, with a deadline.
enum ProcessRunner {
  struct Result: Sendable {
    var status: Int32
    var stdout: Data
    var stderr: Data
    var timedOut: Bool
  }

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// The executable for `name`: itself if it contains a `/`, else the first match on `PATH`.
  static func locate(_ name: String, path: String?) -> String? {
    if name.contains("/") { return name }
    let directories = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
    for directory in directories {
      let candidate = "\(directory)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  static func run(_ arguments: [String], environment: [String: String], timeout: Duration) async throws
    -> Result
  {
    guard let executable = locate(arguments[0], path: environment["PATH"]) else {
      throw Failure(description: "'\(arguments[0])' was not found on PATH")
    }
    guard FileManager.default.isExecutableFile(atPath: executable) else {
      throw Failure(description: "'\(executable)' does not exist or is not executable")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = Array(arguments.dropFirst())
    process.environment = environment
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = FileHandle.nullDevice

    let outBox = DataBox()
    let errBox = DataBox()
    let group = DispatchGroup()
    let exited = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in exited.signal() }
    do {
      try process.run()
    } catch {
      throw Failure(
        description: "'\(executable)' could not be started: \((error as NSError).localizedDescription)")
    }
    for (pipe, box) in [(stdout, outBox), (stderr, errBox)] {
      group.enter()
      DispatchQueue.global().async {
        box.set(pipe.fileHandleForReading.readDataToEndOfFile())
        group.leave()
      }
    }
    let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
    let pid = process.processIdentifier
    let timedOut: Bool = await withCheckedContinuation { continuation in
      DispatchQueue.global().async {
        if exited.wait(timeout: .now() + seconds) == .timedOut {
          // The whole process group (Foundation starts the child in its own), so a `sleep` the
          // script started dies too; then the child itself in case it is not a group leader.
          kill(-pid, SIGKILL)
          kill(pid, SIGKILL)
          exited.wait()
          continuation.resume(returning: true)
        } else {
          continuation.resume(returning: false)
        }
      }
    }
    // A grandchild holding the pipes open must not keep us waiting: read what is there.
    _ = await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      DispatchQueue.global().async {
        _ = group.wait(timeout: .now() + 2)
        continuation.resume()
      }
    }
    return Result(
      status: process.terminationStatus, stdout: outBox.get(), stderr: errBox.get(), timedOut: timedOut)
  }

  final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) {
      lock.lock()
      data = value
      lock.unlock()
    }
    func get() -> Data {
      lock.lock()
      defer { lock.unlock() }
      return data
    }
  }
}
