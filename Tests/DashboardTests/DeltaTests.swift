import Foundation
import KMSModel
import PropertyBased
import TerminalUI
import Testing

@testable import Dashboard

private typealias F = Fixture

/// Deltas patch the dashboard in place: only changed rows move, and after any sequence of deltas,
/// sorts and filters, the table is what a fresh load of the same fleet would show.
@Suite struct DeltaTests {
  static func storeId(_ i: Int) -> String { String(format: "cks-%017d", i) }
  static func clusterId(_ i: Int) -> String { String(format: "cluster-%011d", i) }

  /// A delta changing one store's state moves that row and no other, wherever the sort puts it.
  @Test func aStateChangeMovesOnlyThatRow() throws {
    let fleet = ScaleTests.largeFleet(1_000)
    var s = F.state(Size(width: 200, height: 60), snapshot: fleet)
    s.press(.char("7"))  // sort by state
    #expect(s.sortColumn == .state)
    let before = s.visibleStores.map(\.customKeyStoreId)
    let movedBefore = s.order.rowsMoved
    let id = Self.storeId(500)  // CONNECTED
    var store = try #require(s.store(id: id))
    store.connectionState = .disconnecting
    let delta = FleetDelta(
      version: s.snapshot!.version + 1, stores: [store], stateSince: [id: F.t0],
      keys: fleet.keys(inStore: id).map {
        var k = $0
        k.keyState = .unavailable
        return k
      })
    #expect(update(&s, .delta(delta, at: F.t0)) == [])
    let after = s.visibleStores.map(\.customKeyStoreId)
    #expect(s.order.rowsMoved == movedBefore + 1)
    #expect(after.filter { $0 != id } == before.filter { $0 != id })
    // The only DISCONNECTING store sorts after every DISCONNECTED one: last.
    let at = try #require(after.firstIndex(of: id))
    #expect(at == after.count - 1)
    #expect(s.visibleStores[at - 1].connectionState == .disconnected)
    #expect(s.visiblePosition(of: id) == at)

    // Sorted by name, the same kind of change moves nothing at all.
    s.press(.char("1"))
    let byName = s.visibleStores.map(\.customKeyStoreId)
    let moved = s.order.rowsMoved
    store.connectionState = .disconnected
    #expect(update(&s, .delta(FleetDelta(version: s.snapshot!.version + 1, stores: [store]), at: F.t0)) == [])
    #expect(s.visibleStores.map(\.customKeyStoreId) == byName)
    #expect(s.order.rowsMoved == moved)
    #expect(s.store(id: id)?.connectionState == .disconnected)
  }

  /// The selection stays on its store when a delta moves rows above it.
  @Test func theSelectionFollowsItsStoreAcrossDeltas() throws {
    var s = F.state(Size(width: 200, height: 60), snapshot: ScaleTests.largeFleet(100))
    s.press(.char("7"))  // sort by state: CONNECTED first
    for _ in 0..<20 { s.press(.down) }
    let selected = try #require(s.selectedStoreId)
    // A store above the selection leaves the CONNECTED group (moves below it).
    var store = try #require(s.visibleStores.first)
    store.connectionState = .failed
    store.connectionErrorCode = .userLockedOut
    #expect(update(&s, .delta(FleetDelta(version: s.snapshot!.version + 1, stores: [store]), at: F.t0)) == [])
    #expect(s.selectedStoreId == selected)
    #expect(s.visibleStores[s.storeTable.selected].customKeyStoreId == selected)
  }

  /// A delta with keys and clusters updates the counts that the keys and HSMs columns sort by.
  @Test func keyAndClusterDeltasResortTheirColumns() throws {
    var s = F.state()
    s.press(.char("6"))  // sort by key count: staging (0), analytics (1), ledger (1), payments (4)
    #expect(s.visibleStores.map(\.customKeyStoreId) == [F.staging, F.analytics, F.ledger, F.payments])
    let keys = (10..<15).map { F.key($0, store: F.staging, .enabled, "new \($0)") }
    #expect(update(&s, .delta(FleetDelta(version: 2, keys: keys), at: F.t0)) == [])
    #expect(s.visibleStores.map(\.customKeyStoreId) == [F.analytics, F.ledger, F.payments, F.staging])
    #expect(update(&s, .delta(FleetDelta(version: 3, removedKeyIds: keys.map(\.keyId)), at: F.t0)) == [])
    #expect(s.visibleStores.map(\.customKeyStoreId) == [F.staging, F.analytics, F.ledger, F.payments])

    s.press(.char("5"))  // sort by active HSMs: payments 2/3 is one of four with 2
    var cluster = try #require(s.snapshot?.cluster("cluster-paymentsprd"))
    cluster.hsms = cluster.hsms!.map {
      var h = $0
      h.state = .active
      return h
    }
    #expect(update(&s, .delta(FleetDelta(version: 4, clusters: [cluster]), at: F.t0)) == [])
    #expect(s.visibleStores.last?.customKeyStoreId == F.payments)
  }

  // MARK: Property: incremental = rebuilt

  /// What the test believes the fleet is, as plain lists.
  struct Model {
    var version: UInt64 = 1
    var stores: [CustomKeyStoresListEntry] = []
    var stateSince: [String: Date] = [:]
    var clusters: [Cluster] = []
    var keys: [KeyMetadata] = []
    var keyDetails: [String: KeyDetails] = [:]
    var aliases: [AliasListEntry] = []
    var nextStore = 0
    var nextKey = 0

    var snapshot: FleetSnapshot {
      FleetSnapshot(
        version: version, region: "us-east-1", accountId: "111122223333", stores: stores,
        stateSince: stateSince, clusters: clusters, keys: keys, aliases: aliases, events: [], faults: [:],
        keyDetails: keyDetails)
    }
  }

  static let states: [ConnectionStateType] = [
    .connected, .connecting, .disconnected, .disconnecting, .failed,
  ]
  static let names = ["alpha", "Beta", "gamma", "delta-prod", "EPSILON", "zeta", "eta-dr", "theta"]
  static let filters = ["", "prod", "conn", "fail", "cluster-00000000002", "e", "zz", "DIS"]

  static func initial(_ count: Int) -> Model {
    var m = Model()
    m.clusters = (0..<4).map {
      F.cluster(
        Self.clusterId($0), [("hsm-\($0)a", "us-east-1a", .active), ("hsm-\($0)b", "us-east-1b", .degraded)])
    }
    for _ in 0..<count { addStore(&m, seed: m.nextStore * 7) }
    return m
  }

  static func addStore(_ m: inout Model, seed: Int) {
    let i = m.nextStore
    m.nextStore += 1
    let id = storeId(i)
    let state = states[seed % states.count]
    m.stores.append(
      CustomKeyStoresListEntry(
        customKeyStoreId: id, customKeyStoreName: "\(names[seed % names.count])-\(seed % 3)",
        cloudHsmClusterId: clusterId(seed % 4), connectionState: state,
        connectionErrorCode: state == .failed ? .userLockedOut : nil,
        creationDate: F.t0.addingTimeInterval(Double(seed % 5) * 60), customKeyStoreType: .awsCloudhsm))
    m.stateSince[id] = F.t0
  }

  /// One random step: a delta applied to the dashboard (and the same change to the model), or a
  /// sort or filter change. Returns the delta, if the step made one.
  static func step(_ m: inout Model, _ s: inout DashboardState, _ value: Int) -> FleetDelta? {
    let p = value / 10
    var delta = FleetDelta(version: m.version + 1)
    let storeIndex = m.stores.isEmpty ? nil : p % m.stores.count
    switch value % 10 {
    case 0, 1:  // a store changes state (its keys' effective state with it)
      guard let i = storeIndex else { return nil }
      let state = states[p % states.count]
      m.stores[i].connectionState = state
      m.stores[i].connectionErrorCode = state == .failed ? .userLockedOut : nil
      let id = m.stores[i].customKeyStoreId!
      m.stateSince[id] = F.t0.addingTimeInterval(Double(p))
      delta.stores = [m.stores[i]]
      delta.stateSince = [id: m.stateSince[id]!]
      for k in m.keys.indices where m.keys[k].customKeyStoreId == id {
        m.keys[k].keyState = state == .connected ? .enabled : .unavailable
        delta.keys.append(m.keys[k])
        delta.keyDetails[m.keys[k].keyId] = m.keyDetails[m.keys[k].keyId]
      }
    case 2:  // renamed, and a key's tags change (the key travels again with its details)
      guard let i = storeIndex else { return nil }
      m.stores[i].customKeyStoreName = "\(names[p % names.count])-\(p % 5)"
      delta.stores = [m.stores[i]]
      if !m.keys.isEmpty {
        let key = m.keys[p % m.keys.count]
        m.keyDetails[key.keyId] =
          p % 3 == 0 ? nil : KeyDetails(tags: [Tag(tagKey: "team", tagValue: "t\(p)")])
        delta.keys = [key]
        delta.keyDetails = m.keyDetails[key.keyId].map { [key.keyId: $0] } ?? [:]
      }
    case 3:  // created
      addStore(&m, seed: p)
      delta.stores = [m.stores.last!]
      delta.stateSince = [m.stores.last!.customKeyStoreId!: F.t0]
    case 4:  // deleted, with its keys and their aliases
      guard let i = storeIndex else { return nil }
      let id = m.stores.remove(at: i).customKeyStoreId!
      m.stateSince[id] = nil
      let gone = Set(m.keys.filter { $0.customKeyStoreId == id }.map(\.keyId))
      m.keys.removeAll { gone.contains($0.keyId) }
      for id in gone { m.keyDetails[id] = nil }
      let aliases = m.aliases.filter { gone.contains($0.targetKeyId ?? "") }.compactMap(\.aliasName)
      m.aliases.removeAll { gone.contains($0.targetKeyId ?? "") }
      delta.removedStoreIds = [id]
      delta.removedKeyIds = gone.sorted()
      delta.removedAliasNames = aliases
    case 5:  // a key created, sometimes with an alias
      guard let i = storeIndex else { return nil }
      let key = F.key(m.nextKey, store: m.stores[i].customKeyStoreId!, .enabled, "k\(m.nextKey)")
      m.nextKey += 1
      m.keys.append(key)
      delta.keys = [key]
      if p % 3 == 0 {
        m.keyDetails[key.keyId] = KeyDetails(tags: [Tag(tagKey: "env", tagValue: "p\(p)")])
        delta.keyDetails = [key.keyId: m.keyDetails[key.keyId]!]
      }
      if p % 2 == 0 {
        let alias = AliasListEntry(aliasName: "alias/k\(m.nextKey)", targetKeyId: key.keyId)
        m.aliases.append(alias)
        delta.aliases = [alias]
      }
    case 6:  // a key deleted
      guard !m.keys.isEmpty else { return nil }
      let key = m.keys.remove(at: p % m.keys.count)
      m.keyDetails[key.keyId] = nil
      let aliases = m.aliases.filter { $0.targetKeyId == key.keyId }.compactMap(\.aliasName)
      m.aliases.removeAll { $0.targetKeyId == key.keyId }
      delta.removedKeyIds = [key.keyId]
      delta.removedAliasNames = aliases
    case 7:  // an HSM fails or comes back
      let c = p % m.clusters.count
      let h = (p / 4) % 2
      m.clusters[c].hsms![h].state = m.clusters[c].hsms![h].state == .active ? .degraded : .active
      delta.clusters = [m.clusters[c]]
    case 8:  // the sort changes (key 1…8, again on the same column reverses it)
      s.press(.char(Character(String(p % 8 + 1))))
      return nil
    default:  // the filter changes
      s.press(.escape)
      let filter = filters[p % filters.count]
      if !filter.isEmpty {
        s.press(.char("/"))
        s.type(filter)
        s.press(.enter)
      }
      return nil
    }
    m.version += 1
    return delta
  }

  /// The rows a fresh reading of the fleet gives, computed independently of `StoreOrder`: string
  /// keys as the dashboard's first version built them, one full sort, one filter pass.
  static func expectedRows(_ snap: FleetSnapshot, _ s: DashboardState) -> [String] {
    let needle = s.filter.lowercased()
    func key(_ store: CustomKeyStoresListEntry) -> String {
      switch s.sortColumn {
      case .name: (store.customKeyStoreName ?? "").lowercased()
      case .id: store.customKeyStoreId ?? ""
      case .type: store.customKeyStoreType?.rawValue ?? ""
      case .cluster: store.cloudHsmClusterId ?? ""
      case .hsms: String(format: "%06d", snap.cluster(store.cloudHsmClusterId)?.activeHsmCount ?? 0)
      case .keys:
        String(format: "%08d", snap.keys.filter { $0.customKeyStoreId == store.customKeyStoreId }.count)
      case .state: (store.connectionState?.rawValue ?? "") + (store.connectionErrorCode?.rawValue ?? "")
      case .created: String(format: "%016.3f", store.creationDate?.timeIntervalSince1970 ?? 0)
      case .account: snap.source(ofRow: store.customKeyStoreId)?.account ?? ""
      case .region: snap.source(ofRow: store.customKeyStoreId)?.region ?? ""
      }
    }
    let matching = snap.stores.filter { store in
      needle.isEmpty
        || [
          store.customKeyStoreName, store.customKeyStoreId, store.cloudHsmClusterId,
          store.connectionState?.rawValue, store.connectionErrorCode?.rawValue,
        ].compactMap { $0?.lowercased() }.joined(separator: "\u{0}").contains(needle)
    }
    let ascending = s.sortAscending
    return matching.map { (key: key($0), id: $0.customKeyStoreId!) }.sorted { a, b in
      if a.key != b.key { return ascending ? a.key < b.key : a.key > b.key }
      return a.id < b.id
    }.map(\.id)
  }

  static func check(_ m: Model, _ s: DashboardState, _ context: String) {
    let truth = m.snapshot
    var withoutKeys = truth
    withoutKeys.keys = []  // the dashboard keeps its keys compact, per store
    withoutKeys.keyDetails = [:]
    #expect(s.snapshot == withoutKeys, "\(context): the patched snapshot differs")
    #expect(s.visibleStores.map { $0.customKeyStoreId! } == expectedRows(truth, s), "\(context): rows")
    for store in truth.stores {
      let id = store.customKeyStoreId!
      #expect(s.snapshot?.store(id: id) == store, "\(context): store \(id)")
      #expect(
        s.keys(inStore: id)
          == truth.keys.filter { $0.customKeyStoreId == id }.map {
            KeyRow($0, details: truth.keyDetails[$0.keyId])
          },
        "\(context): keys of \(id)")
    }
    for key in truth.keys {
      #expect(
        s.snapshot?.aliases(forKey: key.keyId)
          == truth.aliases.filter { $0.targetKeyId == key.keyId }.compactMap(\.aliasName).sorted(),
        "\(context): aliases of \(key.keyId)")
    }
    for cluster in truth.clusters { #expect(s.snapshot?.cluster(cluster.clusterId) == cluster) }
    // The selection is a visible row, at its position, or there is none.
    if let id = s.selectedStoreId {
      #expect(s.visiblePosition(of: id) == s.storeTable.selected, "\(context): selection \(id)")
    } else {
      #expect(s.visibleStores.isEmpty, "\(context): nothing selected with rows visible")
    }
    let transient = truth.stores.contains { $0.connectionState?.isTransient == true }
    let highlighted = s.highlightUntil.values.contains { $0 > s.now }
    #expect(s.needsAnimation == (transient || highlighted), "\(context): animation")
  }

  static func run(_ steps: [Int], stores: Int) {
    var m = initial(stores)
    var s = F.state(Size(width: 200, height: 60), snapshot: m.snapshot)
    check(m, s, "loaded")
    for (index, value) in steps.enumerated() {
      if let delta = step(&m, &s, value) {
        #expect(update(&s, .delta(delta, at: F.t0)) == [], "step \(index): the delta did not apply")
      }
      check(m, s, "step \(index) (\(value % 10))")
    }
  }

  @Test func randomDeltasSortsAndFiltersMatchAFreshLoad() async {
    await propertyCheck(count: 60, input: Gen.int(in: 0...999_999).array(of: 1...80)) { steps in
      Self.run(steps, stores: 12)
    }
  }

  /// A fixed long run over a larger fleet.
  @Test func longFixedRun() {
    var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    let steps = (0..<400).map { _ -> Int in
      seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((seed >> 33) % 1_000_000)
    }
    Self.run(steps, stores: 60)
  }
}
