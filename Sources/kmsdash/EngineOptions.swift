import ArgumentParser
import EngineStorage
import Foundation
import KeyStoreEngine
import XKSClient
import XKSProxy

/// Flags that build the embedded engine; shared by the dashboard and `kmsdash serve`.
struct EngineOptions: ParsableArguments {
  @Option(help: ArgumentHelp("Scenario file that seeds the fleet (JSON).", valueName: "path"))
  var scenario: String?

  @Option(
    help: ArgumentHelp(
      "Speed-up factor for simulated durations (10 = ten times faster).", valueName: "factor"))
  var timeScale: Double = 1

  @Option(
    help: ArgumentHelp("Seed for simulated durations and IDs, so a run can be replayed.", valueName: "n"))
  var seed: UInt64 = 0

  @Option(
    help: ArgumentHelp("Latency preset: demo (seconds) or realistic (AWS's minutes).", valueName: "preset"))
  var latency: String = "demo"

  @Option(help: ArgumentHelp("Maximum number of custom key stores (AWS default 10).", valueName: "n"))
  var storeQuota: Int = 10

  @Option(
    help: ArgumentHelp(
      "AWS Region (embedded engine: the Region in ARNs; default us-east-1). With --endpoint/--profile, repeat it to watch several Regions in one view.",
      valueName: "region"))
  var region: [String] = []

  var effectiveRegion: String { region.first ?? "us-east-1" }

  @Option(help: ArgumentHelp("AWS account ID used in ARNs.", valueName: "id"))
  var accountId: String = "111122223333"

  @Option(
    help: ArgumentHelp(
      "State file (default $XDG_STATE_HOME/kmsdash/state.sqlite, else ~/.local/state/kmsdash/state.sqlite).",
      valueName: "path"))
  var state: String?

  @Flag(help: "Keep everything in memory; nothing is read from or written to a state file.")
  var ephemeral = false

  @Flag(help: "Erase the state file and seed it again from the scenario (asks first; see --yes).")
  var reset = false

  @Flag(help: "With --reset: do not ask.")
  var yes = false

  @Option(
    name: .customLong("xks-route"),
    help: ArgumentHelp(
      "Send XKS proxy calls for https://HOST to URL instead (repeatable, like curl --resolve; http:// allowed).",
      valueName: "HOST=URL"))
  var xksRoutes: [String] = []

  @Option(
    help: ArgumentHelp(
      "PEM file of extra CAs to trust for XKS proxies (a private proxy CA).", valueName: "path"))
  var xksCaFile: String?

  @Option(
    name: .customLong("xks-timeout-ms"),
    help: ArgumentHelp(
      "KMS's bound on each XKS proxy call, in milliseconds (default 250, as AWS; raise it only for a slow test machine).",
      valueName: "ms"))
  var xksTimeoutMilliseconds: Int = 250

  @Option(
    name: .customLong("xks-client-cert"),
    help: ArgumentHelp(
      "mTLS: client certificate (PEM) presented to XKS proxies (default: one generated beside the state, CN=cks.kms.<region>.amazonaws.com).",
      valueName: "path"))
  var xksClientCert: String?

  @Option(
    name: .customLong("xks-client-key"),
    help: ArgumentHelp("Private key (PEM) of --xks-client-cert.", valueName: "path"))
  var xksClientKey: String?

  /// The client certificate the engine of `region` presents to proxies that require mTLS: the
  /// flags', else one generated beside the state file (in a temporary directory with
  /// --ephemeral), named as AWS KMS names itself, `cks.kms.<region>.amazonaws.com`.
  func xksClientIdentity(region: String, statePath: String?) async throws -> (
    identity: XKSHTTPClient.ClientIdentity, caPath: String?
  ) {
    if let xksClientCert, let xksClientKey {
      return (XKSHTTPClient.ClientIdentity(certificatePath: xksClientCert, keyPath: xksClientKey), nil)
    }
    let directory =
      statePath.map { $0 + ".xks-client" }
      ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("kmsdash-xks-client-\(getpid())")
    let certificates = ProxyCertificates(directory: directory)
    let paths = try await certificates.ensureClient(commonName: "cks.kms.\(region).amazonaws.com")
    return (
      XKSHTTPClient.ClientIdentity(certificatePath: paths.certificatePath, keyPath: paths.keyPath),
      certificates.caPath
    )
  }

  /// `--xks-route` as host → base URL.
  func parsedXKSRoutes() throws -> [String: URL] {
    var routes: [String: URL] = [:]
    for route in xksRoutes {
      let parts = route.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, !parts[0].isEmpty, let url = URL(string: parts[1]), let scheme = url.scheme,
        ["http", "https"].contains(scheme), url.host != nil, url.path.isEmpty || url.path == "/"
      else {
        throw ValidationError(
          "--xks-route takes HOST=URL, e.g. xks.example.com=http://127.0.0.1:4600 (got '\(route)').")
      }
      routes[parts[0].lowercased()] = url
    }
    return routes
  }

  func validate() throws {
    guard timeScale.isFinite, timeScale > 0, timeScale <= 1_000_000 else {
      throw ValidationError("--time-scale must be a number greater than 0 (got \(timeScale)).")
    }
    guard LatencyModel.named(latency) != nil else {
      throw ValidationError("--latency must be 'demo' or 'realistic' (got '\(latency)').")
    }
    guard (1...10_000).contains(storeQuota) else {
      throw ValidationError("--store-quota must be between 1 and 10000.")
    }
    guard accountId.wholeMatch(of: /[0-9]{12}/) != nil else {
      throw ValidationError("--account-id must be 12 digits (got '\(accountId)').")
    }
    for name in region where name.wholeMatch(of: /[a-z]{2}(-[a-z]+)+-[0-9]{1,2}/) == nil {
      throw ValidationError("--region must look like us-east-1 (got '\(name)').")
    }
    if ephemeral && (state != nil || reset) {
      throw ValidationError("--ephemeral keeps no state file: it cannot be combined with --state or --reset.")
    }
    if yes && !reset { throw ValidationError("--yes only goes with --reset.") }
    _ = try parsedXKSRoutes()
    if (xksClientCert == nil) != (xksClientKey == nil) {
      throw ValidationError("Give both --xks-client-cert and --xks-client-key, or neither.")
    }
    for file in [xksClientCert, xksClientKey].compactMap({ $0 })
    where !FileManager.default.isReadableFile(atPath: file) {
      throw ValidationError("\(file) cannot be read.")
    }
    if let xksCaFile, !FileManager.default.isReadableFile(atPath: xksCaFile) {
      throw ValidationError("--xks-ca-file \(xksCaFile) cannot be read.")
    }
    guard (1...60_000).contains(xksTimeoutMilliseconds) else {
      throw ValidationError("--xks-timeout-ms must be between 1 and 60000 (got \(xksTimeoutMilliseconds)).")
    }
  }

  var configuration: EngineConfiguration {
    EngineConfiguration(
      region: effectiveRegion, accountId: accountId, storeQuota: storeQuota,
      latency: LatencyModel.named(latency) ?? .demo,
      timeScale: timeScale, seed: seed)
  }

  /// The scenario that seeds a new state in `region`: the file if given, else the built-in demo
  /// with its clusters in that Region's Availability Zones.
  func loadScenario(region: String? = nil) throws -> Scenario {
    guard let scenario else { return Scenario.demo.placed(in: region ?? effectiveRegion) }
    return try Scenario.load(from: URL(fileURLWithPath: scenario))
  }

  /// Opens (and with --reset, erases) the state file; nil with --ephemeral. Holds the file's
  /// lock for as long as the returned store lives.
  func openStateStore() throws -> SQLiteStateStore? {
    if ephemeral { return nil }
    let path = try state ?? SQLiteStateStore.defaultPath()
    let store = try SQLiteStateStore(path: path)
    if reset {
      if !yes {
        guard isatty(STDIN_FILENO) == 1 else {
          throw ValidationError("--reset would erase \(store.path); add --yes to confirm without a terminal.")
        }
        FileHandle.standardError.write(
          Data("Erase \(store.path) and seed it again from the scenario? [y/N] ".utf8))
        guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
          throw ValidationError("Reset cancelled; \(store.path) is unchanged.")
        }
      }
      try store.removeAll()
    }
    return store
  }

  /// An engine for `region` on `store` (resumed if the store holds its state, else seeded from
  /// the scenario), or in memory when `store` is nil.
  func makeEngine(region: String? = nil, store: (any StateStore)?) async throws -> KeyStoreEngine {
    let engine = try await openEngine(region: region, store: store)
    if await engine.startedEmpty { try await engine.load(loadScenario(region: region)) }
    // External key stores talk to their proxies over real HTTP(S) with KMS's 250 ms bound,
    // presenting a client certificate to proxies that require mTLS.
    let identity = try await xksClientIdentity(
      region: region ?? effectiveRegion, statePath: (store as? SQLiteStateStore)?.path)
    await engine.useXKSProxy(
      try XKSHTTPClient(
        routes: parsedXKSRoutes(), caFile: xksCaFile, clientIdentity: identity.identity,
        timeout: .milliseconds(xksTimeoutMilliseconds)))
    // QA: the faults of the proxies that are kmsdash's (`KmsdashSimulator.SetXksProxyFault`).
    await engine.useXKSFaultControl(
      RoutedXKSProxyControl(
        routes: try parsedXKSRoutes(), caFile: xksCaFile, clientIdentity: identity.identity))
    return engine
  }

  /// The dashboard's engine: as `makeEngine`, with the embedded XKS proxy reached in-process
  /// (no port needed); a new demo fleet also gets the proxy's three external key stores.
  func makeDashboardEngine(store: SQLiteStateStore?) async throws -> (KeyStoreEngine, EmbeddedXKSProxy) {
    let engine = try await openEngine(store: store)
    let proxy = try EmbeddedXKSProxy(engine: engine, statePath: store.map { $0.path + ".xks-ekm.json" })
    let identity = try await xksClientIdentity(region: effectiveRegion, statePath: store?.path)
    await engine.useXKSProxy(
      try XKSHTTPClient(
        routes: parsedXKSRoutes(), inProcess: proxy.exchanges, caFile: xksCaFile,
        clientIdentity: identity.identity, timeout: .milliseconds(xksTimeoutMilliseconds)))
    if await engine.startedEmpty {
      try await engine.load(loadScenario())
      if scenario == nil { try await EmbeddedXKSProxy.seed(engine, proxy: proxy) }
    }
    return (engine, proxy)
  }

  /// The engine, resumed from `store` or empty, without a scenario or an XKS client yet.
  private func openEngine(region: String? = nil, store: (any StateStore)?) async throws -> KeyStoreEngine {
    var configuration = self.configuration
    if let region { configuration.region = region }
    let engine: KeyStoreEngine
    if let store {
      engine = try await KeyStoreEngine(
        configuration: configuration,
        stateStore: NamespacedStateStore(base: store, namespace: configuration.region))
    } else {
      engine = KeyStoreEngine(configuration: configuration)
    }
    return engine
  }
}
