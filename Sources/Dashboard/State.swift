import Foundation
import KMSModel
import TerminalUI

/// How a destructive action must be confirmed.
public enum ConfirmMode: String, Sendable, CaseIterable {
  /// `y` or Enter on the focused OK.
  case plain
  /// The store's name must be typed before OK is accepted.
  case typed
}

/// How long transitions are expected to take at most, for the progress bar of a transient store.
public struct ExpectedDurations: Sendable, Equatable {
  public var cloudHsmConnect: TimeInterval
  public var xksConnect: TimeInterval
  public var disconnect: TimeInterval

  public init(cloudHsmConnect: TimeInterval, xksConnect: TimeInterval, disconnect: TimeInterval) {
    self.cloudHsmConnect = cloudHsmConnect
    self.xksConnect = xksConnect
    self.disconnect = disconnect
  }

  /// AWS's documented durations: a CloudHSM connect can take up to 20 minutes, XKS about five.
  public static let aws = ExpectedDurations(cloudHsmConnect: 20 * 60, xksConnect: 5 * 60, disconnect: 90)

  /// The expected duration of the state a store is in, nil when it is not transient.
  public func of(_ store: CustomKeyStoresListEntry) -> TimeInterval? {
    switch store.connectionState {
    case .connecting: store.customKeyStoreType == .externalKeyStore ? xksConnect : cloudHsmConnect
    case .disconnecting: disconnect
    default: nil
    }
  }
}

/// Fixed settings of one dashboard session.
public struct DashboardConfig: Sendable, Equatable {
  /// What the header shows as the backend, e.g. "embedded engine" or an endpoint URL.
  public var backend: String
  public var readOnly: Bool
  public var confirm: ConfirmMode
  /// False for `NO_COLOR` / `--no-color`: the view uses attributes only.
  public var color: Bool
  /// True when a `SimulatorControl` is available (QA panel).
  public var simulator: Bool
  /// Time zone used for every timestamp on screen.
  public var timeZone: TimeZone
  /// True when an embedded XKS proxy's faults can be toggled (the XKS QA panel).
  public var xksControl = false
  /// How long connects and disconnects take at most (the simulator's latency model, or AWS's).
  public var expected: ExpectedDurations
  public var theme: Theme

  public init(
    backend: String = "embedded engine", readOnly: Bool = false, confirm: ConfirmMode = .plain,
    color: Bool = true, simulator: Bool = true, timeZone: TimeZone = .current,
    expected: ExpectedDurations = .aws, theme: Theme = .dark
  ) {
    self.expected = expected
    self.theme = theme
    self.backend = backend
    self.readOnly = readOnly
    self.confirm = confirm
    self.color = color
    self.simulator = simulator
    self.timeZone = timeZone
  }
}

/// The columns of the store table, in display order.
public enum StoreColumn: Int, Sendable, CaseIterable, Hashable {
  case name, id, type, cluster, hsms, keys, state, created
  /// Only in a view over many accounts and Regions.
  case account, region

  public var title: String {
    switch self {
    case .name: "NAME"
    case .id: "ID"
    case .type: "TYPE"
    case .cluster: "CLUSTER"
    case .hsms: "HSMS"
    case .keys: "KEYS"
    case .state: "STATE"
    case .created: "CREATED"
    case .account: "ACCOUNT"
    case .region: "REGION"
    }
  }

  /// The column `s` sorts by after this one: ACCOUNT and REGION only in a many-source view.
  public func next(manySources: Bool) -> StoreColumn {
    let columns = manySources ? StoreColumn.allCases : StoreColumn.allCases.filter { !$0.isSourceColumn }
    let at = columns.firstIndex(of: self) ?? 0
    return columns[(at + 1) % columns.count]
  }

  public var isSourceColumn: Bool { self == .account || self == .region }

  /// The column a digit key sorts by: 1 … 8, then 9 ACCOUNT and 0 REGION.
  public init?(digit: Int) {
    self.init(rawValue: digit == 0 ? 9 : digit - 1)
  }
}

/// The fault-injection panel for one store's cluster.
public struct QAPanel: Sendable, Equatable {
  public var storeId: String
  public var clusterId: String?
  public var selected: Int = 0
  public var prediction: String?
}

/// What covers the main screen, if anything.
public enum Overlay: Sendable, Equatable {
  case help(scroll: Int)
  case dialog(ConfirmDialog)
  case command(TextInput)
  case filter(TextInput)
  case qa(QAPanel)
  case xksQA(XKSQAPanel)
  /// The guided remedy in `DashboardState.runbook`.
  case runbook
}

/// Which main screen is shown.
public enum Screen: Sendable, Equatable {
  case stores
  /// The keys of one store (Enter on a store).
  case keys(storeId: String)
  /// Every KMS key of the account, in custom key stores or not (`K`, `:all-keys`).
  case allKeys

  /// True on a screen that lists keys.
  public var listsKeys: Bool {
    switch self {
    case .keys, .allKeys: true
    case .stores: false
    }
  }
}

/// The lower pane of the store screen.
public enum LowerPane: Sendable, Equatable {
  case detail, events
}

/// A line in the status bar.
public struct StatusMessage: Sendable, Equatable {
  public enum Kind: Sendable, Equatable { case info, error }
  public var text: String
  public var kind: Kind
  public init(_ text: String, kind: Kind = .info) {
    self.text = text
    self.kind = kind
  }
}

/// The whole dashboard as a value. `view` is a pure function of it.
public struct DashboardState: Sendable, Equatable {
  public var config: DashboardConfig
  public var size: Size
  /// The clock value of the latest message; views use it for elapsed times and the spinner.
  public var now: Date
  /// The fleet as last loaded and patched by deltas, without its keys (they are in `keyBook`).
  /// Set through `load(_:)` and `apply(_:)`, which keep the table's order in step.
  public private(set) var snapshot: FleetSnapshot?
  /// The fleet's keys, compact, per store.
  private(set) var keyBook = KeyBook()
  /// When the dashboard last saw the fleet change.
  public var lastChange: Date?
  public var loadError: String?
  public var screen: Screen = .stores
  public var lowerPane: LowerPane = .detail
  public var selectedStoreId: String?
  public var storeTable = TableState()
  public var keyTable = TableState()
  public var sortColumn: StoreColumn = .name {
    didSet { order.setSort(sortColumn, ascending: sortAscending, snapshot, keyBook) }
  }
  public var sortAscending = true {
    didSet { order.setSort(sortColumn, ascending: sortAscending, snapshot, keyBook) }
  }
  public var filter = "" { didSet { order.setFilter(filter) } }
  /// Stores after the filter and the sort, in the order the table shows them. Kept up to date when
  /// the snapshot, the filter or the sort changes, and patched per changed store by deltas, so a
  /// frame never filters or sorts the fleet.
  private(set) var order = StoreOrder()
  public var overlay: Overlay?
  /// A store or key ID an accepted create returned, selected once the fleet shows it.
  public var selectWhenSeen: String?
  /// The guided remedy under way, if any (kept while a step's dialog covers it).
  public var runbook: Runbook?
  public var status: StatusMessage?
  /// Rows briefly highlighted after a state change: store ID → highlight end.
  public var highlightUntil: [String: Date] = [:]
  /// Completion candidates shown under the command line.
  public var completions: [String] = []
  public var quitRequested = false
  /// Exit status to use when quitting (130 after Ctrl-C / SIGINT).
  public var exitCode: Int32 = 0

  public init(config: DashboardConfig, size: Size, now: Date) {
    self.config = config
    self.size = size
    self.now = now
  }

  public static let highlightDuration: TimeInterval = 2

  // MARK: The fleet

  /// Replaces the fleet with a whole snapshot and rebuilds the table's order (O(n log n)).
  public mutating func load(_ snapshot: FleetSnapshot) {
    keyBook = KeyBook(snapshot.keys, details: snapshot.keyDetails)
    var snap = snapshot
    snap.keys = []  // kept compact in `keyBook`: the full `KeyMetadata` of every key is not held
    snap.keyDetails = [:]
    self.snapshot = snap
    order.rebuild(snap, keyBook, column: sortColumn, ascending: sortAscending, filter: filter)
  }

  /// Applies the next delta in place and moves only the rows whose sort key or filter text
  /// changed. Returns false, changing nothing, when there is no snapshot yet or the delta does not
  /// follow it (the caller then loads a snapshot).
  public mutating func apply(_ delta: FleetDelta) -> Bool {
    guard var snap = snapshot else { return false }
    guard delta.version == snap.version + 1 else { return delta.version <= snap.version }
    // The stores whose rows may change, found before the delta removes anything.
    var touched = Set(delta.stores.compactMap(\.customKeyStoreId))
    touched.formUnion(delta.removedStoreIds)
    for key in delta.keys {
      if let store = key.customKeyStoreId { touched.insert(store) }
      if let store = keyBook.store(ofKey: key.keyId) { touched.insert(store) }
    }
    for id in delta.removedKeyIds {
      if let store = keyBook.store(ofKey: id) { touched.insert(store) }
    }
    for cluster in delta.clusters {
      if let id = cluster.clusterId { touched.formUnion(order.stores(ofCluster: id)) }
    }
    for id in delta.removedClusterIds { touched.formUnion(order.stores(ofCluster: id)) }
    // Patched in place: the state lets go of its reference first, so the lists are not copied.
    snapshot = nil
    var stores = delta
    stores.keys = []
    stores.removedKeyIds = []
    stores.keyDetails = [:]
    snap.apply(stores)
    snapshot = snap
    for key in delta.keys { keyBook.upsert(key, details: delta.keyDetails[key.keyId]) }
    for id in delta.removedKeyIds { keyBook.remove(id) }
    order.update(touched, in: snap, keyBook)
    return true
  }

  // MARK: Derived values

  public var stores: [CustomKeyStoresListEntry] { snapshot?.stores ?? [] }

  /// Stores after the filter and the sort, as the table shows them.
  public var visibleStores: VisibleStores { VisibleStores(rows: order.visible, snapshot: snapshot) }

  /// Where a store is among the visible rows (binary search), nil when filtered out or unknown.
  public func visiblePosition(of id: String) -> Int? { order.position(of: id) }

  public var selectedStore: CustomKeyStoresListEntry? {
    guard let snapshot else { return nil }
    if let id = selectedStoreId, order.position(of: id) != nil { return snapshot.store(id: id) }
    return order.visible.first.flatMap { snapshot.store(id: $0.id) }
  }

  public func store(id: String) -> CustomKeyStoresListEntry? { snapshot?.store(id: id) }

  /// True in a view over many accounts and Regions (rows carry their source).
  public var hasManySources: Bool { !(snapshot?.sources.isEmpty ?? true) }

  /// The account and Region a row belongs to (nil with one backend).
  public func source(ofRow id: String?) -> FleetSource? { snapshot?.source(ofRow: id) }

  /// An ID as its own account and Region know it (without the row's source prefix).
  public func ownID(_ id: String) -> String { snapshot?.ownID(id) ?? id }

  /// How dialogs and messages name a store: its own ID, and in a many-source view the account and
  /// Region it is in, so a confirmation cannot be mistaken for another account's store.
  public func storeLabel(_ id: String) -> String {
    guard let source = source(ofRow: id) else { return id }
    let account = source.account.isEmpty ? "profile \(source.profile ?? "?")" : "account \(source.account)"
    return "\(ownID(id)) in \(account), \(source.region)"
  }

  /// The keys of one store, oldest first, then by key ID.
  public func keys(inStore id: String?) -> [KeyRow] { keyBook.keys(inStore: id) }

  public func keyCount(inStore id: String?) -> Int { keyBook.count(inStore: id) }

  /// The store a key belongs to.
  public func store(ofKey id: String) -> String? { keyBook.store(ofKey: id) }

  /// How many keys of a store are in each key state.
  public func keyStateCounts(inStore id: String?) -> [KeyState?: Int] { keyBook.stateCounts(inStore: id) }

  /// The keys of one store as the keys view lists them: oldest first, then by key ID (the order
  /// the key book keeps).
  public func sortedKeys(inStore id: String?) -> [KeyRow] { keys(inStore: id) }

  /// Every key of the account, oldest first, then by key ID (the all-keys view).
  public var allKeys: [KeyRow] { keyBook.allKeys }

  /// A key by ID, in a custom key store or not.
  public func key(id: String) -> KeyRow? { keyBook.key(id) }

  /// The keys the current screen lists (none on the store table).
  public var keysOnScreen: [KeyRow] {
    switch screen {
    case .keys(let id): keyBook.keys(inStore: id)
    case .allKeys: keyBook.allKeys
    case .stores: []
    }
  }

  /// How many keys the current screen lists.
  public var keyCountOnScreen: Int {
    switch screen {
    case .keys(let id): keyBook.count(inStore: id)
    case .allKeys: keyBook.allCount
    case .stores: 0
    }
  }

  /// The key selected in the keys view or the all-keys view.
  public var selectedKey: KeyRow? {
    let keys = keysOnScreen
    return keys.indices.contains(keyTable.selected) ? keys[keyTable.selected] : nil
  }

  /// True while something on screen animates (a transient store, or a highlight).
  public var needsAnimation: Bool {
    order.hasTransient || highlightUntil.values.contains { $0 > now }
  }
}

/// The stores the table shows, in order: rows of the store order looked up in the snapshot.
public struct VisibleStores: RandomAccessCollection, Sendable {
  let rows: [StoreOrder.Row]
  let snapshot: FleetSnapshot?

  public var startIndex: Int { 0 }
  public var endIndex: Int { rows.count }

  public subscript(position: Int) -> CustomKeyStoresListEntry {
    let id = rows[position].id
    return snapshot?.store(id: id) ?? CustomKeyStoresListEntry(customKeyStoreId: id)
  }
}

extension Cluster {
  public var activeHsmCount: Int { (hsms ?? []).filter { $0.state == .active }.count }
  public var availabilityZones: [String] {
    Array(Set((hsms ?? []).compactMap(\.availabilityZone))).sorted()
  }
}

extension ConnectionStateType {
  public var isTransient: Bool { self == .connecting || self == .disconnecting }
}
