import Foundation
import KMSModel
import TerminalUI
import Testing

@testable import Dashboard

private typealias F = Fixture

/// A fleet far larger than the screen: what is drawn, selected and filtered stays right.
struct ScaleTests {
  static func largeFleet(_ count: Int) -> FleetSnapshot {
    var snapshot = F.snapshot()
    snapshot.stores = (0..<count).map { i in
      F.store(
        String(format: "cks-%017d", i), String(format: "store-%05d", i),
        i % 10 == 9 ? .disconnected : .connected,
        cluster: String(format: "cluster-%011d", i), created: Double(i))
    }
    snapshot.keys = (0..<count * 2).map {
      F.key($0, store: String(format: "cks-%017d", $0 / 2), .enabled, "k\($0)")
    }
    return snapshot
  }

  @Test func endShowsAndSelectsTheLastOfTenThousandStores() {
    var s = F.state(Size(width: 200, height: 60), snapshot: Self.largeFleet(10_000))
    #expect(view(s).text.contains("store-00000"))
    s.press(.end)
    let text = view(s).text
    #expect(s.selectedStore?.customKeyStoreName == "store-09999")
    #expect(text.contains("store-09999"))
    #expect(text.contains("[10000/10000]"))
    #expect(!text.contains("store-00000 "))
    // The keys column counts through the snapshot's index.
    let row = text.split(separator: "\n").first { $0.contains("store-09999") && $0.contains("cks-") }
    #expect(row?.contains("  2 ") == true, "row: \(row ?? "none")")
  }

  @Test func filteringTenThousandStoresKeepsTheSortAndCountsMatches() {
    var s = F.state(Size(width: 200, height: 60), snapshot: Self.largeFleet(10_000))
    s.press(.char("/"))
    s.type("STORE-0424")  // case-insensitive
    s.press(.enter)
    #expect(
      s.visibleStores.map(\.customKeyStoreName) == (4240...4249).map { String(format: "store-%05d", $0) })
    #expect(view(s).text.contains("filter \"STORE-0424\": 10 of 10000"))
    s.press(.escape)
    #expect(s.visibleStores.count == 10_000)
  }

  @Test func snapshotLookupsFollowMutations() {
    var snapshot = F.snapshot()
    #expect(snapshot.store(id: F.ledger)?.customKeyStoreName == "ledger-archive")
    #expect(snapshot.cluster("cluster-paymentsprd")?.clusterId == "cluster-paymentsprd")
    #expect(
      snapshot.keyCount(inStore: F.payments)
        == snapshot.keys.filter { $0.customKeyStoreId == F.payments }.count)
    snapshot.stores.removeAll { $0.customKeyStoreId == F.ledger }
    snapshot.keys.append(F.key(999, store: F.analytics, .unavailable, "added"))
    #expect(snapshot.store(id: F.ledger) == nil)
    #expect(snapshot.store(id: F.staging)?.customKeyStoreName == "staging-keys")
    #expect(snapshot.keys(inStore: F.analytics).map(\.description).contains("added"))
    #expect(snapshot.store(id: nil) == nil && snapshot.keyCount(inStore: "cks-nope") == 0)
  }

  @Test func aStateChangeHighlightsNameAndStateOnly() {
    var s = F.state()
    let before = view(s)
    var snap = F.snapshot(version: 2)
    snap.stores[1].connectionState = .connected  // analytics-dr
    _ = update(&s, .snapshot(snap, at: F.t0))
    let after = view(s)
    let row = (0..<after.height).first { after.line($0).contains("analytics-dr") }!
    let underlined = (0..<after.width).filter { after[$0, row].style.attributes.contains(.underline) }
    #expect(!underlined.isEmpty)
    #expect(underlined.count < 60, "\(underlined.count) underlined cells")
    let changed = after.diff(from: before).filter { $0.y == row }
    #expect(changed.count < 60, "\(changed.count) cells of the row rewritten")
  }
}
