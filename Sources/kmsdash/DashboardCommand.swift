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
      every key. NO_COLOR in the environment has the same effect as --no-color. The mouse selects
      (click), opens (double-click), scrolls (wheel) and presses dialog buttons; Shift+drag still
      selects text in most terminals. $XDG_CONFIG_HOME/kmsdash/config.toml may set theme = "light"
      and mouse = false.
      """)

  @OptionGroup var engineOptions: EngineOptions

  @Option(
    help: ArgumentHelp(
      "Watch a KMS endpoint instead of the embedded engine: a kmsdash serve, or AWS KMS (https://kms.REGION.amazonaws.com). Without it, --profile watches the profile's endpoint (AWS_ENDPOINT_URL_KMS, endpoint_url, …, else AWS KMS).",
      valueName: "url"))
  var endpoint: String?

  @Option(
    help: ArgumentHelp(
      "AWS profile (default: AWS_PROFILE, then default): keys, role_arn, sso_session, credential_process, … as the AWS CLI v2. Repeat it (and --region) to watch many accounts and Regions in one table.",
      valueName: "name"))
  var profile: [String] = []

  @Flag(
    help:
      "With --profile: watch every Region enabled for each profile's account (ec2:DescribeRegions) instead of --region."
  )
  var allRegions = false

  @Option(
    help: ArgumentHelp(
      "A saved set of profiles and Regions from $XDG_CONFIG_HOME/kmsdash/config.toml ([views.NAME] with profiles, regions or all_regions = true).",
      valueName: "name"))
  var view: String?

  @Option(
    help: ArgumentHelp("Sources (profile × Region) refreshed at once at most, with many.", valueName: "n"))
  var concurrency = 8

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
      "Colours: dark (white on black, the default), light (black on white) or terminal (the terminal's own background and 16 colours). Wins over theme = in the config file; NO_COLOR still wins.",
      valueName: "theme"))
  var theme: Theme?

  @Flag(
    help:
      "No mouse reporting (as mouse = false in the config file): the terminal keeps every click for text selection."
  )
  var noMouse = false

  func validate() throws {
    guard refresh.isFinite, refresh >= 0.2, refresh <= 3600 else {
      throw ValidationError("--refresh must be between 0.2 and 3600 seconds.")
    }
    guard (1...64).contains(concurrency) else {
      throw ValidationError("--concurrency must be between 1 and 64.")
    }
    if view != nil && (!profile.isEmpty || !engineOptions.region.isEmpty || allRegions) {
      throw ValidationError(
        "--view names the profiles and Regions: give it without --profile, --region or --all-regions.")
    }
    if allRegions && !engineOptions.region.isEmpty {
      throw ValidationError("Give --all-regions or --region, not both.")
    }
    if endpoint == nil && profile.isEmpty && view == nil && !allRegions {
      if engineOptions.region.count > 1 {
        throw ValidationError(
          "Several --region need --profile (or --endpoint): the embedded engine has one Region.")
      }
      return
    }
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
    // A bad theme or mouse value in the config file stops here, before anything is opened.
    let appearance: Appearance
    do {
      appearance = try self.appearance()
    } catch {
      FileHandle.standardError.write(Data("kmsdash: \(error)\n".utf8))
      throw ExitCode(2)
    }
    // Many profiles or Regions (or a saved view): one table over all of them.
    if view != nil || allRegions || profile.count > 1 || engineOptions.region.count > 1 {
      return try await runMany(appearance)
    }
    // `--profile` alone watches that profile's KMS (its configured endpoint, else AWS's).
    if endpoint != nil || !profile.isEmpty { return try await runRemote(endpoint, appearance) }
    let stateStore = try engineOptions.openStateStore()
    let (engine, xksProxy) = try await engineOptions.makeDashboardEngine(store: stateStore)
    let backend =
      stateStore.map { "embedded engine, state \(abbreviatingHome($0.path))" }
      ?? "embedded engine (in memory)"
    // The simulator's own latency model, scaled as the engine scales it.
    let latency = LatencyModel.named(engineOptions.latency) ?? .demo
    let scale = max(engineOptions.timeScale, 0.000_001)
    let config = DashboardConfig(
      backend: backend, readOnly: readOnly, confirm: confirm, simulator: true,
      expected: ExpectedDurations(
        cloudHsmConnect: latency.connect.upperBound / scale,
        xksConnect: latency.xksConnect.upperBound / scale,
        disconnect: latency.disconnect.upperBound / scale)
    ).with(appearance)
    let code = await runTerminalDashboard(
      service: engine, control: engine, xksControl: xksProxy, config: config)
    if code != 0 { throw ExitCode(code) }
  }

  /// The same dashboard through `KMSHTTPClient`: SigV4 with the standard AWS credential chain,
  /// live state by polling; the QA panel only when the endpoint is a kmsdash server.
  func runRemote(_ endpoint: String?, _ appearance: Appearance) async throws {
    let url = try endpointURL()
    // Credentials are resolved and fetched here, before the dashboard takes the screen: an MFA
    // prompt, a credential_process or an expired SSO login talks to the plain terminal.
    let configuration: KMSHTTPClient.Configuration
    do {
      configuration = try await KMSHTTPClient.Configuration.resolve(
        endpoint: url, profile: profile.first, region: engineOptions.region.first,
        polling: PollingOptions(interval: .milliseconds(Int(refresh * 1000))))
    } catch {
      FileHandle.standardError.write(Data("kmsdash: \(error)\n".utf8))
      throw ExitCode(2)
    }
    let client = KMSHTTPClient(configuration: configuration)
    let isSimulator = (try? await client.isSimulator()) == true
    var backend = "endpoint \(configuration.endpoint.absoluteString)"
    if let identity = configuration.identity { backend += " │ as \(identity.arn)" }
    let config = DashboardConfig(
      backend: backend, readOnly: readOnly, confirm: confirm, simulator: isSimulator
    ).with(appearance)
    let code = await runTerminalDashboard(
      service: client, control: isSimulator ? client : nil, xksControl: isSimulator ? client : nil,
      config: config)
    await client.shutdown()
    if code != 0 { throw ExitCode(code) }
  }
}

extension DashboardCommand {
  func endpointURL() throws -> URL? {
    guard let endpoint else { return nil }
    guard let parsed = URL(string: endpoint), let scheme = parsed.scheme, ["http", "https"].contains(scheme),
      parsed.host != nil
    else {
      throw ValidationError("--endpoint must be an http:// or https:// URL (got '\(endpoint)').")
    }
    return parsed
  }

  /// `$XDG_CONFIG_HOME/kmsdash/config.toml` (else under `~/.config`), read and checked.
  func configFile() throws -> (path: String, config: KMSDashConfig) {
    let environment = ProcessInfo.processInfo.environment
    let path = KMSDashConfig.path(
      environment: environment, homeDirectory: environment["HOME"] ?? NSHomeDirectory())
    return (path, try KMSDashConfig.load(path: path))
  }

  /// Colours, theme and mouse: NO_COLOR > --no-color/--theme/--no-mouse > the config file > the
  /// defaults. A bad value in the file stops here, before the screen is taken.
  func appearance() throws -> Appearance {
    let (path, config) = try configFile()
    return try Appearance.resolve(
      noColorEnvironment: ProcessInfo.processInfo.environment["NO_COLOR"], noColorFlag: noColor,
      themeFlag: theme, noMouseFlag: noMouse,
      file: Appearance.FileSettings(
        file: path, theme: config.theme, themeLine: config.themeLine, mouse: config.mouse))
  }

  /// The profiles and Regions to watch: `--view NAME` from the config file, else the flags.
  func manySources() throws -> (profiles: [String?], regions: [String], allRegions: Bool) {
    guard let view else {
      return (profile.isEmpty ? [nil] : profile.map { $0 }, engineOptions.region, allRegions)
    }
    let (path, config) = try configFile()
    guard let saved = config.views[view] else {
      let known = config.views.keys.sorted()
      throw KMSDashConfigError(
        file: path,
        message: "no view '\(view)'"
          + (known.isEmpty ? " (the file defines none)" : " (defined: \(known.joined(separator: ", ")))"))
    }
    return (saved.profiles.map { $0 }, saved.regions, saved.allRegions)
  }

  /// One table over every (profile, Region): each its own client and poller, merged by a
  /// `FleetComposite`. Credentials are resolved once per profile before the screen is taken.
  func runMany(_ appearance: Appearance) async throws {
    // One gate for every source: at most `--concurrency` refreshes in flight, not one per source.
    let polling = PollingOptions(
      interval: .milliseconds(Int(refresh * 1000)), gate: RefreshGate(limit: concurrency))
    var members: [FleetComposite.Member] = []
    do {
      let url = try endpointURL()
      let (profiles, regions, everyRegion) = try manySources()
      var seen: Set<String> = []
      for name in profiles {
        let resolved = try await KMSHTTPClient.ResolvedProfile.resolve(
          profile: name, region: regions.first, polling: polling, identityEndpoint: url)
        let list =
          everyRegion
          ? try await resolved.enabledRegions() : regions.isEmpty ? [resolved.resolved.region] : regions
        for region in list where seen.insert("\(resolved.resolved.profile)\u{0}\(region)").inserted {
          let configuration = resolved.configuration(endpoint: url, region: region)
          let client = KMSHTTPClient(configuration: configuration)
          let key = String(members.count)
          let source = FleetSource(
            key: key, order: members.count, profile: resolved.resolved.profile,
            account: resolved.identity?.account ?? "", region: region,
            status: BackendStatus(
              endpoint: configuration.endpoint.absoluteString, region: region, profile: configuration.profile)
          )
          members.append(FleetComposite.Member(source: source, backend: client) { await client.shutdown() })
        }
      }
    } catch {
      FileHandle.standardError.write(Data("kmsdash: \(error)\n".utf8))
      for member in members { await member.shutdown() }
      throw ExitCode(2)
    }
    let composite = FleetComposite(members: members, concurrency: concurrency)
    let accounts = Set(members.map { $0.source.profile ?? "" }).count
    let regions = Set(members.map(\.source.region)).count
    let config = DashboardConfig(
      backend: (view.map { "view \($0): " } ?? "")
        + "\(accounts) profile\(accounts == 1 ? "" : "s") × \(regions) Region\(regions == 1 ? "" : "s")",
      readOnly: readOnly, confirm: confirm, simulator: false
    ).with(appearance)
    let code = await runTerminalDashboard(service: composite, control: nil, config: config)
    await composite.shutdown()
    if code != 0 { throw ExitCode(code) }
  }
}

/// Opens the terminal, runs the dashboard until it quits, restores the terminal, and returns the
/// exit status (130 after Ctrl-C, 128+n after a signal; 1 when the terminal cannot be opened).
@TerminalActor
func runTerminalDashboard(
  service: any DashboardBackend, control: (any SimulatorControl)?,
  xksControl: (any XKSProxyFaultControl)? = nil, config: DashboardConfig
) async -> Int32 {
  let terminal: NcursesTerminal
  do {
    terminal = try NcursesTerminal.open(
      options: TerminalOptions(
        color: config.color, defaultColors: config.theme.defaultColors, mouse: config.mouse))
  } catch {
    let message = "kmsdash: \(error)\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    return 1
  }
  let runtime = DashboardRuntime(
    terminal: terminal, service: service, control: control, xksControl: xksControl, config: config)
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

extension DashboardConfig {
  /// This configuration with the resolved colours, theme and mouse.
  func with(_ appearance: Appearance) -> DashboardConfig {
    var config = self
    config.color = appearance.color
    config.theme = appearance.theme
    config.mouse = appearance.mouse
    return config
  }
}
