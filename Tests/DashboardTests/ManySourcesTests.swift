import Foundation
import KMSModel
import TerminalUI
import Testing

@testable import Dashboard

/// A view over many accounts and Regions: ACCOUNT and REGION columns, the source strip, sorting
/// and filtering by source, dialogs naming the account and Region.
@Suite struct ManySourcesTests {
  typealias F = Fixture

  /// The fixture fleet in two accounts and Regions (same IDs in both), plus a moto source.
  static func snapshot() -> FleetSnapshot {
    let a = F.snapshot().qualified(source: "0")
    let b = F.snapshot().qualified(source: "1")
    var merged = FleetSnapshot(
      version: 1, region: "2 Regions", accountId: "3 accounts", stores: a.stores + b.stores,
      stateSince: a.stateSince.merging(b.stateSince) { $1 }, clusters: a.clusters + b.clusters,
      keys: a.keys + b.keys, aliases: a.aliases + b.aliases, events: a.events + b.events,
      faults: a.faults.merging(b.faults) { $1 })
    func status(_ health: BackendHealth, notes: [String] = []) -> BackendStatus {
      var status = BackendStatus(endpoint: "http://x", region: "us-east-1", lastRefresh: F.t0, notes: notes)
      status.health = health
      return status
    }
    merged.sources = [
      "0": FleetSource(
        key: "0", order: 0, profile: "prod", account: "111111111111", region: "us-east-1", status: status(.ok)
      ),
      "1": FleetSource(
        key: "1", order: 1, profile: "dr", account: "222222222222", region: "eu-west-1", status: status(.ok)),
      "2": FleetSource(
        key: "2", order: 2, profile: "moto", account: "123456789012", region: "us-east-1",
        status: status(
          .notSupported,
          notes: [
            "DescribeCustomKeyStores not supported by this endpoint (HTTP 500): no custom key stores to show."
          ])),
    ]
    return merged
  }

  static func state(_ size: Size = Size(width: 150, height: 30)) -> DashboardState {
    F.state(size, config: F.config(simulator: false), snapshot: snapshot())
  }

  @Test func theTableShowsAccountAndRegionAndEachSourcesOwnIDs() {
    let s = Self.state()
    let text = view(s).text
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(
      lines[1].hasPrefix(
        "3 sources: 111111111111/us-east-1 ok · 222222222222/eu-west-1 ok · 123456789012/us-east-1 not supported"
      ))
    #expect(
      lines[2].hasPrefix(
        "123456789012/us-east-1 (profile moto): not supported: DescribeCustomKeyStores not supported by this endpoint (HTTP 500)"
      ))
    #expect(lines[4].contains("ACCOUNT      REGION    NAME▲"))
    #expect(lines[5].contains("111111111111 us-east-1 analytics-dr"))
    #expect(lines[5].contains(" cks-0de30000000000002 "))
    #expect(lines[6].contains("222222222222 eu-west-1 analytics-dr"))
    #expect(!text.contains("1/cks-"))
    #expect(!text.contains("0/cluster-"))
    // The header names no single account or Region.
    #expect(!lines[0].contains("account 3 accounts"))
    #expect(text.contains("Account                 111111111111"))
    #expect(text.contains("Region                  us-east-1"))
  }

  @Test func theStripShortensToAccountsThenCountsWhenNarrow() {
    let sources = Self.snapshot().orderedSources
    #expect(
      sourceStripEntries(sources, width: 200).map(\.text)
        == sources.map { "\($0.label) \($0.health.rawValue)" })
    #expect(sourceStripEntries(sources, width: 102).map(\.text) == ["2 ok", "1 not supported"])
    var twoRegions = sources
    twoRegions.insert(
      FleetSource(key: "3", order: 3, profile: "prod", account: "111111111111", region: "ap-south-1"), at: 1)
    #expect(
      sourceStripEntries(twoRegions, width: 120).map(\.text) == [
        "111111111111 us-east-1 ok, ap-south-1 …", "222222222222 eu-west-1 ok",
        "123456789012 us-east-1 not supported",
      ])
  }

  @Test func sortByAccountAndRegionAndFilterByThem() {
    var s = Self.state()
    s.press(.char("0"))
    #expect(s.sortColumn == .region)
    #expect(
      s.visibleStores.prefix(4).map { s.source(ofRow: $0.customKeyStoreId)?.region }
        == Array(repeating: "eu-west-1", count: 4))
    s.press(.char("0"))
    #expect(!s.sortAscending)
    #expect(s.visibleStores.first.map { s.source(ofRow: $0.customKeyStoreId)?.region } == "us-east-1")
    s.press(.char("9"))
    #expect(s.sortColumn == .account)
    #expect(s.sortAscending)
    #expect(s.visibleStores.first.map { s.source(ofRow: $0.customKeyStoreId)?.account } == "111111111111")
    s.press(.char("/"))
    s.type("222222222222")
    s.press(.enter)
    #expect(s.visibleStores.count == 4)
    #expect(s.visibleStores.allSatisfy { $0.customKeyStoreId?.hasPrefix("1/") == true })
    s.press(.escape)
    s.press(.char("/"))
    s.type("dr")
    s.press(.enter)
    // The profile matches too: all of account B, plus analytics-dr of account A.
    #expect(s.visibleStores.count == 5)
  }

  @Test func sortingCyclesThroughTheSourceColumnsOnlyWithManySources() {
    var many = Self.state()
    var seen: [StoreColumn] = []
    for _ in 0..<10 {
      many.press(.char("s"))
      seen.append(many.sortColumn)
    }
    #expect(Set(seen) == Set(StoreColumn.allCases))
    var one = F.state()
    seen = []
    for _ in 0..<10 {
      one.press(.char("s"))
      seen.append(one.sortColumn)
    }
    #expect(!seen.contains(.account) && !seen.contains(.region))
    one.press(.char("9"))
    #expect(one.sortColumn != .account)
  }

  @Test func theDialogNamesAccountAndRegionAndTheEffectTargetsTheRow() throws {
    var s = Self.state()
    s.press(.char("/"))
    s.type("222222222222")
    s.press(.enter)
    while s.selectedStore?.customKeyStoreName != "payments-prod" { s.press(.down) }
    s.press(.char("d"))
    guard case .dialog(let dialog) = s.overlay else {
      Issue.record("no dialog")
      return
    }
    #expect(dialog.storeId == "1/\(F.payments)")
    #expect(
      dialog.body.first == "Disconnect payments-prod (\(F.payments) in account 222222222222, eu-west-1)?")
    #expect(
      dialog.body[1]
        == "3 KMS keys become Unavailable (aliases alias/payments/tokenization, alias/payments/pin).")
    let effects = s.press(.char("y"))
    #expect(effects == [.disconnect(storeId: "1/\(F.payments)")])
    #expect(
      s.status?.text
        == "DisconnectCustomKeyStore requested for payments-prod (\(F.payments) in account 222222222222, eu-west-1)…"
    )
  }
}
