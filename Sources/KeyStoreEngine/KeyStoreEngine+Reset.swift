import Foundation
import HSMSimulator
import KMSModel

/// Test isolation (issue 14): back to the scenario without a restart, as moto's
/// `POST /moto-api/reset` does.
extension KeyStoreEngine {
  /// Removes every store, key, alias, cluster and all key material in one transaction, then
  /// seeds the scenario again through the same transitions a new state file goes through. IDs
  /// drawn from the seed repeat those of a fresh start.
  public func reset(to scenario: Scenario) throws {
    try transaction { () throws(KMSError) in
      for id in Array(aliases.keys) { aliases[id] = nil }
      for id in Array(keys.keys) { keys[id] = nil }
      for id in Array(stores.keys) { stores[id] = nil }
      fleet.removeEverything(seed: configuration.seed)
      random = SeededRandom(seed: configuration.seed)
      record(.storeDeleted, summary: "Engine reset to its scenario")
    }
    try load(scenario)
  }
}
