import ArgumentParser
import Foundation
import KeyStoreEngine

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

  @Option(help: ArgumentHelp("AWS Region used in ARNs.", valueName: "region"))
  var region: String = "us-east-1"

  @Option(help: ArgumentHelp("AWS account ID used in ARNs.", valueName: "id"))
  var accountId: String = "111122223333"

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
    guard region.wholeMatch(of: /[a-z]{2}(-[a-z]+)+-[0-9]/) != nil else {
      throw ValidationError("--region must look like us-east-1 (got '\(region)').")
    }
  }

  var configuration: EngineConfiguration {
    EngineConfiguration(
      region: region, accountId: accountId, storeQuota: storeQuota,
      latency: LatencyModel.named(latency) ?? .demo,
      timeScale: timeScale, seed: seed)
  }

  /// The engine with its fleet loaded: the scenario file if given, else the built-in demo.
  func makeEngine() async throws -> KeyStoreEngine {
    let engine = KeyStoreEngine(configuration: configuration)
    let fleet: Scenario
    if let scenario {
      fleet = try Scenario.load(from: URL(fileURLWithPath: scenario))
    } else {
      fleet = .demo
    }
    try await engine.load(fleet)
    return engine
  }
}
