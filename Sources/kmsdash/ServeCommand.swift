import AWSSigV4
import ArgumentParser
import EngineStorage
import Foundation
import KMSServer
import KeyStoreEngine
import Logging
import NIOCore

/// `kmsdash serve`: the engine behind an AWS-KMS-compatible endpoint (AWS JSON 1.1).
struct ServeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract: "Serve the simulated fleet as an AWS KMS (and CloudHSM v2 subset) endpoint.",
    discussion: """
      POST / with X-Amz-Target: TrentService.<Op> (KMS), BaldrApiService.<Op> (CloudHSM v2: \
      DescribeClusters, CreateHsm, DeleteHsm) or KmsdashSimulator.<Op> (fault injection: ListFaults, \
      SetFault, ClearFault, SetHsmFailed, PredictConnectOutcome), Content-Type \
      application/x-amz-json-1.1. Use it with `aws kms … --endpoint-url http://127.0.0.1:4599`.

      Requests must be signed with SigV4 by the credentials given with --access-key-id and \
      --secret-access-key, or else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and \
      AWS_SESSION_TOKEN, which requests must then carry) in this server's environment. The region \
      of a request's credential scope is the region of its ARNs: each region gets its own copy of \
      the scenario's fleet. --no-auth accepts unsigned requests (local use only).
      """)

  @Option(help: ArgumentHelp("Address to listen on.", valueName: "host"))
  var host = "127.0.0.1"

  @Option(
    help: ArgumentHelp("Port to listen on (0 picks a free one; the address is printed).", valueName: "port"))
  var port = 4599

  @OptionGroup var engine: EngineOptions

  @Flag(help: "Accept requests without a valid signature (never on a shared network).")
  var noAuth = false

  @Option(help: ArgumentHelp("Access key ID requests must be signed with.", valueName: "id"))
  var accessKeyId: String?

  @Option(help: ArgumentHelp("Secret access key requests must be signed with.", valueName: "secret"))
  var secretAccessKey: String?

  @Option(
    help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level")
  )
  var logLevel = "info"

  @Option(help: ArgumentHelp("Largest request body accepted, in bytes.", valueName: "bytes"))
  var maxBodyBytes = 256 * 1024

  @Option(
    help: ArgumentHelp(
      "JSON file mapping access keys to IAM principals for key policies and grants: "
        + #"[{"AccessKeyId": "...", "SecretAccessKey": "...", "Principal": "arn:aws:iam::111122223333:user/alice"}]. "#
        + "Each pair may also sign requests. Without it every caller is the account root.",
      valueName: "path"))
  var principals: String?

  struct PrincipalEntry: Decodable {
    var accessKeyId: String
    var secretAccessKey: String?
    var principal: String

    // The file's names are AWS's (as in `aws configure export-credentials`).
    enum CodingKeys: String, CodingKey {
      case accessKeyId = "AccessKeyId"
      case secretAccessKey = "SecretAccessKey"
      case principal = "Principal"
    }
  }

  func loadPrincipals() throws -> [PrincipalEntry] {
    guard let principals else { return [] }
    let data = try Data(contentsOf: URL(fileURLWithPath: principals))
    return try JSONDecoder().decode([PrincipalEntry].self, from: data)
  }

  @Option(
    help: ArgumentHelp("Event-loop threads serving connections (default: one per core).", valueName: "n"))
  var eventLoops: Int?

  func validate() throws {
    if let eventLoops, !(1...256).contains(eventLoops) {
      throw ValidationError("--event-loops must be between 1 and 256.")
    }
    guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
    guard Logger.Level(rawValue: logLevel) != nil else {
      throw ValidationError(
        "--log-level must be one of trace, debug, info, notice, warning, error, critical.")
    }
    guard (accessKeyId == nil) == (secretAccessKey == nil) else {
      throw ValidationError("Give both --access-key-id and --secret-access-key, or neither.")
    }
    guard engine.region.count <= 1 else {
      throw ValidationError(
        "Give --region once: it is the default Region; serve answers every Region a request is signed for.")
    }
    guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024.") }
  }

  static let missingCredentialsMessage = """
    kmsdash serve: no credentials to verify request signatures against.
    Fix it in one of these ways:
      - pass --access-key-id AKID --secret-access-key SECRET (and configure the AWS CLI with the same pair),
      - or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the server's environment,
      - or pass --no-auth to accept unsigned requests (local use only).
    """

  /// The credentials requests must be signed with: the flags, else the environment.
  func credentials(environment: [String: String]) -> AWSCredentials? {
    if let accessKeyId, let secretAccessKey {
      return AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey)
    }
    guard let keyId = environment["AWS_ACCESS_KEY_ID"], !keyId.isEmpty,
      let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
    else { return nil }
    let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    return AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token)
  }

  func run() async throws {
    let principalEntries: [PrincipalEntry]
    do {
      principalEntries = try loadPrincipals()
    } catch {
      FileHandle.standardError.write(Data("kmsdash serve: --principals \(principals ?? ""): \(error)\n".utf8))
      throw ExitCode(2)
    }
    let extraCredentials = principalEntries.compactMap { entry in
      entry.secretAccessKey.map { AWSCredentials(accessKeyId: entry.accessKeyId, secretAccessKey: $0) }
    }
    let authentication: KMSAuthentication
    let authSummary: String
    if noAuth {
      authentication = .disabled
      authSummary = "off (--no-auth)"
    } else if let credentials = credentials(environment: ProcessInfo.processInfo.environment) {
      authentication = .sigV4(SigV4Verifier(credentials: [credentials] + extraCredentials))
      authSummary = "SigV4, access key \(credentials.accessKeyId)"
    } else {
      FileHandle.standardError.write(Data((Self.missingCredentialsMessage + "\n").utf8))
      throw ExitCode(2)
    }

    var logger = Logger(
      label: "kmsdash.serve", factory: { label in StreamLogHandler.standardError(label: label) })
    logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

    let stateStore: SQLiteStateStore?
    do {
      stateStore = try engine.openStateStore()
    } catch {
      FileHandle.standardError.write(Data("kmsdash serve: \(error)\n".utf8))
      throw ExitCode(1)
    }
    let regions = ServeRegions(options: engine, stateStore: stateStore)
    do {
      // Load the default region now, so a broken scenario stops the server before it listens.
      _ = try await regions.engine(forRegion: engine.effectiveRegion)
    } catch {
      FileHandle.standardError.write(Data("kmsdash serve: \(error)\n".utf8))
      throw ExitCode(1)
    }
    // The certificate XKS proxies that require mTLS see (their --client-ca is its CA).
    let xksClientLine: String
    do {
      let client = try await engine.xksClientIdentity(
        region: engine.effectiveRegion, statePath: stateStore?.path)
      xksClientLine =
        "kmsdash serve: XKS mTLS client certificate \(client.identity.certificatePath)"
        + (client.caPath.map { " (CA \($0))" } ?? "") + "\n"
    } catch {
      FileHandle.standardError.write(Data("kmsdash serve: XKS client certificate: \(error)\n".utf8))
      throw ExitCode(1)
    }
    var serverOptions = KMSServerOptions(
      authentication: authentication, defaultRegion: engine.effectiveRegion, maxBodyBytes: maxBodyBytes)
    serverOptions.accountId = engine.accountId
    serverOptions.principals = Dictionary(
      principalEntries.map { ($0.accessKeyId, $0.principal) }, uniquingKeysWith: { _, last in last })
    let handler = KMSRequestHandler(options: serverOptions, backends: regions, logger: logger)
    if !["127.0.0.1", "::1", "localhost"].contains(host) {
      logger.warning("listening on a non-loopback address", metadata: ["host": "\(host)"])
    }
    let server = KMSHTTPServer(
      host: host, port: port, handler: handler, logger: logger, eventLoops: eventLoops ?? System.coreCount)
    try await server.run { boundHost, boundPort in
      let display = boundHost.contains(":") ? "[\(boundHost)]" : boundHost
      let line = "kmsdash serve: listening on http://\(display):\(boundPort) (auth: \(authSummary))\n"
      FileHandle.standardOutput.write(Data((line + xksClientLine).utf8))
    }
  }
}
