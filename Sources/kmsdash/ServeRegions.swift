import Foundation
import KMSServer
import KeyStoreEngine

/// One engine per region, created on the first request signed for that region and seeded with
/// the same scenario, so the region of a request's credential scope is the region in its ARNs.
final class ServeRegions: KMSBackendProvider, @unchecked Sendable {
  let configuration: EngineConfiguration
  let scenarioPath: String?
  let maxRegions: Int
  private let lock = NSLock()
  private var engines: [String: Task<KeyStoreEngine, any Error>] = [:]
  /// Engines already loaded: the fast path of every request.
  private var ready: [String: KeyStoreEngine] = [:]

  init(configuration: EngineConfiguration, scenarioPath: String?, maxRegions: Int = 16) {
    self.configuration = configuration
    self.scenarioPath = scenarioPath
    self.maxRegions = maxRegions
  }

  func backend(forRegion region: String) async throws -> KMSBackend {
    let engine = try await engine(forRegion: region)
    return KMSBackend(service: engine, control: engine)
  }

  func engine(forRegion region: String) async throws -> KeyStoreEngine {
    if let engine = lock.withLock({ ready[region] }) { return engine }
    let task: Task<KeyStoreEngine, any Error> = try lock.withLock {
      if let existing = engines[region] { return existing }
      guard region.wholeMatch(of: /[a-z]{2}(-[a-z]+)+-[0-9]{1,2}/) != nil else {
        throw KMSError(.invalidSignatureException, "Credential should be scoped to a valid region. ")
      }
      guard engines.count < maxRegions else {
        throw KMSError(
          .limitExceededException,
          "kmsdash serve simulates at most \(maxRegions) regions at once; '\(region)' would be one more.")
      }
      var configuration = self.configuration
      configuration.region = region
      let scenarioPath = self.scenarioPath
      let task = Task { () throws -> KeyStoreEngine in
        let engine = KeyStoreEngine(configuration: configuration)
        let fleet: Scenario
        if let scenarioPath {
          fleet = try Scenario.load(from: URL(fileURLWithPath: scenarioPath))
        } else {
          fleet = .demo
        }
        try await engine.load(fleet)
        return engine
      }
      engines[region] = task
      return task
    }
    let engine = try await task.value
    lock.withLock { ready[region] = engine }
    return engine
  }
}
