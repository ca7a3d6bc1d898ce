import Foundation
import HSMSimulator
import KMSModel

/// Test isolation (issue 14): back to the scenario without a restart, as moto's
/// `POST /moto-api/reset` does.
extension KeyStoreEngine {
  /// Removes every store, key, alias, cluster and all key material, then seeds the scenario
  /// again through the same operations a new state file goes through, all in one transaction:
  /// saved and published once, or (a failed save, a scenario that no longer loads) not at all.
  /// IDs drawn from the seed repeat those of a fresh start. The event history is kept, with a
  /// reset event; GetKeyLastUsage starts a new tracking period.
  public func reset(to scenario: Scenario) throws {
    try transaction { () throws(KMSError) in
      for id in Array(aliases.keys) { aliases[id] = nil }
      for id in Array(keys.keys) { keys[id] = nil }
      for id in Array(stores.keys) { stores[id] = nil }
      fleet.removeEverything(seed: configuration.seed)
      xks.vpcServices = [:]
      random = SeededRandom(seed: configuration.seed)
      record(.storeDeleted, summary: "Engine reset to its scenario")
      joinsTransactions = true
      defer { joinsTransactions = false }
      do {
        try load(scenario)
      } catch {
        throw KMSError(.kmsInternalException, "The reset could not seed the scenario again: \(error)")
      }
    }
    // Usage is in memory, not in the transaction: forgotten once the reset is committed.
    usageLog.restart(at: clock.now())
    // The scenario's external stores connect through their proxy, after the commit.
    startDueXKSCalls(now: clock.now())
  }
}
