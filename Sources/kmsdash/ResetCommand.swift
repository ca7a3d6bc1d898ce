import ArgumentParser
import Foundation
import KMSClient
import KMSModel

/// `kmsdash reset`: the client of `KmsdashSimulator.Reset` on a `kmsdash serve` (issue 14: a
/// fresh state per test without restarting the server).
struct ResetCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reset",
    abstract: "Return every Region of a kmsdash serve endpoint to its scenario, without a restart.",
    discussion: """
      Every key, alias, grant, tag, custom key store, cluster and fault of every Region the server \
      has served is discarded, and the scenario the server started with (--scenario, else the \
      demo fleet) is seeded again, with the IDs a fresh start gives. The same reset is served \
      unsigned on POST /moto-api/reset, for suites written for moto's server mode. With a state \
      file, the reset is saved like any other change.

      Asks first on a terminal; --yes does not ask (and is required without a terminal).

      Requests are signed with SigV4 using --access-key-id/--secret-access-key or \
      AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); without credentials they are \
      sent unsigned, which only a server started with --no-auth accepts.
      """)

  @OptionGroup var options: SimulatorEndpointOptions

  @Flag(help: "Reset without asking (every Region the server has served is reset).")
  var yes = false

  var endpoint: String { options.endpoint }

  func run() async throws {
    if !yes {
      guard isatty(STDIN_FILENO) == 1 else {
        throw ValidationError(
          "reset would discard every key and store of \(endpoint); add --yes to confirm without a terminal.")
      }
      FileHandle.standardError.write(
        Data("Discard every key, store and fault of \(endpoint) and seed its scenario again? [y/N] ".utf8))
      guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
        FileHandle.standardError.write(Data("Reset cancelled; \(endpoint) is unchanged.\n".utf8))
        throw ExitCode(1)
      }
    }
    let client = options.client()
    defer { Task { await client.shutdown() } }
    do {
      try await client.resetSimulator()
      print("Reset \(endpoint): every Region is back to its scenario.")
    } catch let error as KMSError {
      FileHandle.standardError.write(Data("kmsdash reset: \(Self.explain(error))\n".utf8))
      throw ExitCode(1)
    } catch {
      FileHandle.standardError.write(Data("kmsdash reset: cannot reach \(endpoint): \(error)\n".utf8))
      throw ExitCode(1)
    }
  }

  /// The AWS error, with what to do about the common ones.
  static func explain(_ error: KMSError) -> String {
    var text = "An error occurred (\(error.code.rawValue)): \(error.message)"
    switch error.code.rawValue {
    case "UnknownOperationException":
      text += " (is this a kmsdash serve endpoint? Only kmsdash serve offers KmsdashSimulator.Reset.)"
    case "UnrecognizedClientException", "InvalidSignatureException", "IncompleteSignatureException",
      "MissingAuthenticationTokenException":
      text +=
        " (sign with the server's credentials: --access-key-id/--secret-access-key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    default: break
    }
    return text
  }
}
