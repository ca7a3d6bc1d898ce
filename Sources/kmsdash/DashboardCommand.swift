import ArgumentParser
import Dashboard
import Foundation
import KMSClient
import KMSModel
import KeyStoreEngine
import TerminalUI

extension ConfirmMode: ExpressibleByArgument {}
extension Theme: ExpressibleByArgument {}

/// `kmsdash` / `kmsdash dashboard`: the ncurses dashboard on the embedded engine.
struct DashboardCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dashboard",
    abstract: "Open the terminal dashboard on the embedded engine (the default command).",
    discussion: """
      Shows every custom key store with its live ConnectionState; d / c disconnect and connect
      with a confirmation dialog, Enter lists a store's keys, f opens the QA fault panel, ? lists
      every key. NO_COLOR in the environment has the same effect as --no-color.
      """)

  @OptionGroup var engineOptions: EngineOptions

  @Option(
    help: ArgumentHelp(
      "Watch a KMS endpoint instead of the embedded engine: a kmsdash serve, or AWS KMS (https://kms.REGION.amazonaws.com). Without it, --profile watches the profile's endpoint (AWS_ENDPOINT_URL_KMS, endpoint_url, …, else AWS KMS).",
      valueName: "url"))
  var endpoint: String?

  @Option(
    help: ArgumentHelp(
      "AWS profile (default: AWS_PROFILE, then default): keys, role_arn, sso_session, credential_process, … as the AWS CLI v2.",
      valueName: "name"))
  var profile: String?

  @Option(
    help: ArgumentHelp(
      "Seconds between refreshes with --endpoint (1 s while a store is transient).", valueName: "seconds"))
  var refresh: Double = 2

  @Flag(help: "Block every mutating action (connect, disconnect, fault injection).")
  var readOnly = false

  @Flag(help: "No colours; states stay distinguishable by text and attributes.")
  var noColor = false

  @Option(
    help: ArgumentHelp(
      "How to confirm disconnect/connect: plain (y) or typed (the store name).", valueName: "mode"))
  var confirm: ConfirmMode = .plain

  @Option(
    help: ArgumentHelp(
      "Colours: dark (white on black), light (black on white) or terminal (the terminal's own background and 16 colours). NO_COLOR still wins.",
      valueName: "theme"))
  var theme: Theme = .dark

  func validate() throws {
    guard refresh.isFinite, refresh >= 0.2, refresh <= 3600 else {
      throw ValidationError("--refresh must be between 0.2 and 3600 seconds.")
    }
    if endpoint == nil && profile == nil { return }
    let embeddedOnly: [(String, Bool)] = [
      ("--scenario", engineOptions.scenario != nil), ("--state", engineOptions.state != nil),
      ("--ephemeral", engineOptions.ephemeral), ("--reset", engineOptions.reset),
      ("--time-scale", engineOptions.timeScale != 1), ("--seed", engineOptions.seed != 0),
    ]
    let given = embeddedOnly.filter(\.1).map(\.0)
    if !given.isEmpty {
      throw ValidationError(
        "\(given.joined(separator: ", ")) apply to the embedded engine, not to --endpoint.")
    }
  }

  func run() async throws {
    // `--profile` alone watches that profile's KMS (its configured endpoint, else AWS's).
    if endpoint != nil || profile != nil { return try await runRemote(endpoint) }
    let stateStore = try engineOptions.openStateStore()
    let engine = try await engineOptions.makeEngine(store: stateStore)
    let backend =
      stateStore.map { "embedded engine, state \(abbreviatingHome($0.path))" }
      ?? "embedded engine (in memory)"
    let noColorEnv = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
    // The simulator's own latency model, scaled as the engine scales it.
    let latency = LatencyModel.named(engineOptions.latency) ?? .demo
    let scale = max(engineOptions.timeScale, 0.000_001)
    let config = DashboardConfig(
      backend: backend, readOnly: readOnly, confirm: confirm, color: !(noColor || noColorEnv),
      simulator: true,
      expected: ExpectedDurations(
        cloudHsmConnect: latency.connect.upperBound / scale,
        xksConnect: latency.xksConnect.upperBound / scale,
        disconnect: latency.disconnect.upperBound / scale), theme: theme)
    let code = await runTerminalDashboard(service: engine, control: engine, config: config)
    if code != 0 { throw ExitCode(code) }
  }

  /// The same dashboard through `KMSHTTPClient`: SigV4 with the standard AWS credential chain,
  /// live state by polling; the QA panel only when the endpoint is a kmsdash server.
  func runRemote(_ endpoint: String?) async throws {
    var url: URL?
    if let endpoint {
      guard let parsed = URL(string: endpoint), let scheme = parsed.scheme,
        ["http", "https"].contains(scheme),
        parsed.host != nil
      else {
        throw ValidationError("--endpoint must be an http:// or https:// URL (got '\(endpoint)').")
      }
      url = parsed
    }
    // Credentials are resolved and fetched here, before the dashboard takes the screen: an MFA
    // prompt, a credential_process or an expired SSO login talks to the plain terminal.
    let configuration: KMSHTTPClient.Configuration
    do {
      configuration = try await KMSHTTPClient.Configuration.resolve(
        endpoint: url, profile: profile, region: engineOptions.region,
        polling: PollingOptions(interval: .milliseconds(Int(refresh * 1000))))
    } catch {
      FileHandle.standardError.write(Data("kmsdash: \(error)\n".utf8))
      throw ExitCode(2)
    }
    let client = KMSHTTPClient(configuration: configuration)
    let isSimulator = (try? await client.isSimulator()) == true
    let noColorEnv = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
    var backend = "endpoint \(configuration.endpoint.absoluteString)"
    if let identity = configuration.identity { backend += " │ as \(identity.arn)" }
    let config = DashboardConfig(
      backend: backend, readOnly: readOnly, confirm: confirm, color: !(noColor || noColorEnv),
      simulator: isSimulator, theme: theme)
    let code = await runTerminalDashboard(
      service: client, control: isSimulator ? client : nil, config: config)
    await client.shutdown()
    if code != 0 { throw ExitCode(code) }
  }
}

/// Opens the terminal, runs the dashboard until it quits, restores the terminal, and returns the
/// exit status (130 after Ctrl-C, 128+n after a signal; 1 when the terminal cannot be opened).
@TerminalActor
func runTerminalDashboard(
  service: any DashboardBackend, control: (any SimulatorControl)?, config: DashboardConfig
) async -> Int32 {
  let terminal: NcursesTerminal
  do {
    terminal = try NcursesTerminal.open(
      options: TerminalOptions(color: config.color, defaultColors: config.theme.defaultColors))
  } catch {
    let message = "kmsdash: \(error)\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    return 1
  }
  let runtime = DashboardRuntime(terminal: terminal, service: service, control: control, config: config)
  return await runtime.run()
}

/// `/home/me/x` → `~/x`, for display.
func abbreviatingHome(_ path: String) -> String {
  guard let home = ProcessInfo.processInfo.environment["HOME"], !home.isEmpty, path.hasPrefix(home + "/")
  else {
    return path
  }
  return "~" + path.dropFirst(home.count)
}
