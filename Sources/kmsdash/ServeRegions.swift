import Foundation
import KMSServer
import KeyStoreEngine

/// One engine per region, created on the first request signed for that region and seeded with
/// the same scenario, so the region of a request's credential scope is the region in its ARNs.
final class ServeRegions: ResettableBackendProvider, RegionPeers, @unchecked Sendable {
  let options: EngineOptions
  let stateStore: (any StateStore)?
  let maxRegions: Int
  private let lock = NSLock()
  private var engines: [String: Task<KeyStoreEngine, any Error>] = [:]
  /// Engines already loaded: the fast path of every request.
  private var ready: [String: KeyStoreEngine] = [:]

  init(options: EngineOptions, stateStore: (any StateStore)?, maxRegions: Int = 16) {
    self.options = options
    self.stateStore = stateStore
    self.maxRegions = maxRegions
  }

  func backend(forRegion region: String) async throws -> KMSBackend {
    let engine = try await engine(forRegion: region)
    return KMSBackend(service: engine, control: engine)
  }

  func readyBackend(forRegion region: String) -> KMSBackend? {
    lock.withLock { ready[region] }.map { KMSBackend(service: $0, control: $0) }
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
      let options = self.options
      let stateStore = self.stateStore
      let task = Task { [unowned self] () throws -> KeyStoreEngine in
        let engine = try await options.makeEngine(region: region, store: stateStore)
        await engine.setRegionPeers(self)
        return engine
      }
      engines[region] = task
      return task
    }
    let engine = try await task.value
    lock.withLock { ready[region] = engine }
    return engine
  }

  /// Every region back to the scenario, without a restart (issue 14: fresh state per test).
  func resetAll() async throws {
    for (region, engine) in lock.withLock({ Array(ready) }) {
      try await engine.reset(to: options.loadScenario(region: region))
    }
  }
}
