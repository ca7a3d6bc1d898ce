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

  public init(
    backend: String = "embedded engine", readOnly: Bool = false, confirm: ConfirmMode = .plain,
    color: Bool = true, simulator: Bool = true, timeZone: TimeZone = .current
  ) {
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
    }
  }
}

/// A mutating action on a store.
public enum StoreAction: String, Sendable, Hashable {
  case connect, disconnect

  /// The AWS operation name, as shown in status messages.
  public var operation: String {
    switch self {
    case .connect: "ConnectCustomKeyStore"
    case .disconnect: "DisconnectCustomKeyStore"
    }
  }
}

/// A confirmation dialog. The store is captured when the dialog opens: a refresh of the table
/// underneath cannot retarget it.
public struct ConfirmDialog: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// Confirm `action` on the captured store.
    case confirm(StoreAction)
    /// The state forbids connecting (FAILED): explain, and offer to disconnect first.
    case offerDisconnect
  }

  public var kind: Kind
  public var storeId: String
  public var storeName: String
  public var title: String
  public var body: [String]
  /// 0 = Cancel (the default focus), 1 = the action.
  public var focused: Int = 0
  /// The typed-confirmation input (with `--confirm typed`).
  public var typed: TextInput?
  public var okLabel: String

  /// True when OK may be accepted (typed confirmation matches the name, if required).
  public var canConfirm: Bool {
    guard let typed else { return true }
    return typed.text == storeName
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
}

/// Which main screen is shown.
public enum Screen: Sendable, Equatable {
  case stores
  /// The keys of one store (Enter on a store).
  case keys(storeId: String)
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
  public var snapshot: FleetSnapshot? {
    didSet {
      searchText = stores.map(Self.searchText)
      refreshSortOrder()
    }
  }
  /// When the dashboard last saw the fleet change.
  public var lastChange: Date?
  public var loadError: String?
  public var screen: Screen = .stores
  public var lowerPane: LowerPane = .detail
  public var selectedStoreId: String?
  public var storeTable = TableState()
  public var keyTable = TableState()
  public var sortColumn: StoreColumn = .name { didSet { refreshSortOrder() } }
  public var sortAscending = true { didSet { refreshSortOrder() } }
  public var filter = "" { didSet { if filter != oldValue { refreshVisibleStores() } } }
  /// Stores after the filter and the sort, as the table shows them. Kept up to date when the
  /// snapshot, the filter or the sort changes, so a frame never filters or sorts the fleet.
  public private(set) var visibleStores: [CustomKeyStoresListEntry] = []
  /// What the filter searches in, per store (parallel to `stores`): lower-cased UTF-8.
  private var searchText: [[UInt8]] = []
  /// Positions in `stores` in the order of the current sort.
  private var sortOrder: [Int] = []
  public var overlay: Overlay?
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

  // MARK: Derived values

  public var stores: [CustomKeyStoresListEntry] { snapshot?.stores ?? [] }

  /// Lower-cased name, ID, cluster, state and error code, separated so no match spans two.
  private static func searchText(_ s: CustomKeyStoresListEntry) -> [UInt8] {
    Array(
      [
        s.customKeyStoreName, s.customKeyStoreId, s.cloudHsmClusterId, s.connectionState?.rawValue,
        s.connectionErrorCode?.rawValue,
      ]
      .compactMap { $0?.lowercased() }.joined(separator: "\u{0}").utf8)
  }

  /// Sorts once per snapshot or sort change; each key is computed once, not per comparison.
  private mutating func refreshSortOrder() {
    let all = stores
    let snap = snapshot
    let column = sortColumn
    let keyed = all.indices.map {
      (key: Self.sortKey(all[$0], column, snap), id: all[$0].customKeyStoreId ?? "", at: $0)
    }
    let ascending = sortAscending
    sortOrder = keyed.sorted { a, b in
      if a.key != b.key { return ascending ? a.key < b.key : a.key > b.key }
      return a.id < b.id
    }.map(\.at)
    refreshVisibleStores()
  }

  /// Applies the filter to the sorted order: a byte search per store, fast enough per keystroke.
  private mutating func refreshVisibleStores() {
    let all = stores
    let needle = Array(filter.lowercased().utf8)
    guard !needle.isEmpty else {
      visibleStores = sortOrder.map { all[$0] }
      return
    }
    visibleStores = sortOrder.filter { Self.contains(searchText[$0], needle) }.map { all[$0] }
  }

  private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    return haystack.withUnsafeBufferPointer { h in
      needle.withUnsafeBufferPointer { n in
        let first = n[0]
        var i = 0
        let last = h.count - n.count
        while i <= last {
          if h[i] == first {
            var j = 1
            while j < n.count && h[i + j] == n[j] { j += 1 }
            if j == n.count { return true }
          }
          i += 1
        }
        return false
      }
    }
  }

  private static func sortKey(_ s: CustomKeyStoresListEntry, _ c: StoreColumn, _ snap: FleetSnapshot?)
    -> String
  {
    switch c {
    case .name: return (s.customKeyStoreName ?? "").lowercased()
    case .id: return s.customKeyStoreId ?? ""
    case .type: return s.customKeyStoreType?.rawValue ?? ""
    case .cluster: return s.cloudHsmClusterId ?? ""
    case .hsms:
      let n = snap?.cluster(s.cloudHsmClusterId)?.activeHsmCount ?? 0
      return String(format: "%06d", n)
    case .keys:
      return String(format: "%08d", snap?.keyCount(inStore: s.customKeyStoreId) ?? 0)
    case .state: return (s.connectionState?.rawValue ?? "") + (s.connectionErrorCode?.rawValue ?? "")
    case .created:
      return String(format: "%016.3f", s.creationDate?.timeIntervalSince1970 ?? 0)
    }
  }

  public var selectedStore: CustomKeyStoresListEntry? {
    let v = visibleStores
    // The table's selection is kept on the selected store's row: check it before searching.
    let row = storeTable.selected
    if row >= 0, row < v.count, let id = selectedStoreId, v[row].customKeyStoreId == id { return v[row] }
    if let id = selectedStoreId, let s = v.first(where: { $0.customKeyStoreId == id }) { return s }
    return v.first
  }

  public func store(id: String) -> CustomKeyStoresListEntry? { snapshot?.store(id: id) }

  /// True while something on screen animates (a transient store, or a highlight).
  public var needsAnimation: Bool {
    if stores.contains(where: { $0.connectionState == .connecting || $0.connectionState == .disconnecting }) {
      return true
    }
    return highlightUntil.values.contains { $0 > now }
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
