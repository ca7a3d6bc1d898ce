import Foundation
import KMSModel

/// The store table's order: every store sorted by the current column, and the ones the filter
/// keeps, in the same order. Built once per snapshot, sort or filter change (O(n log n) / O(n));
/// patched per changed store when a delta arrives: a store whose sort key and filter text did not
/// change does not move, one that did is removed and reinserted by binary search.
struct StoreOrder: Sendable, Equatable {
  /// What a store sorts by: a number for numeric columns, lower-cased text for the others.
  struct SortKey: Sendable, Equatable, Comparable {
    var number: Double = 0
    var text: String = ""

    static func < (a: SortKey, b: SortKey) -> Bool {
      a.number != b.number ? a.number < b.number : a.text < b.text
    }
  }

  /// One row: its sort key and the store's ID (the tie-breaker, so the order is total).
  struct Row: Sendable, Equatable {
    var key: SortKey
    var id: String
  }

  /// What the order knows about one store.
  struct Entry: Sendable, Equatable {
    var key: SortKey
    /// Lower-cased name, ID, cluster, state and error code, separated so no match spans two.
    var search: [UInt8]
    var transient: Bool
    var cluster: String?
  }

  private(set) var column: StoreColumn = .name
  private(set) var ascending = true
  /// The filter, lower-cased UTF-8 (empty: every store is visible).
  private(set) var needle: [UInt8] = []
  /// Every store, sorted.
  private(set) var sorted: [Row] = []
  /// The stores the filter keeps, sorted; unused (empty) while the filter is empty.
  private var filtered: [Row] = []
  private var entries: [String: Entry] = [:]
  private var storesByCluster: [String: Set<String>] = [:]
  /// Stores `CONNECTING` or `DISCONNECTING` (the spinner animates while there are any).
  private(set) var transientCount = 0
  /// Rows moved by `update` since the last rebuild (tests check a delta moves only what changed).
  private(set) var rowsMoved = 0

  /// The rows the table shows.
  var visible: [Row] { needle.isEmpty ? sorted : filtered }

  /// True while a store is between states.
  var hasTransient: Bool { transientCount > 0 }

  // MARK: Whole rebuilds

  /// Everything from one snapshot: O(n log n).
  mutating func rebuild(
    _ snapshot: FleetSnapshot?, _ keys: KeyBook, column: StoreColumn, ascending: Bool, filter: String
  ) {
    self.column = column
    self.ascending = ascending
    needle = Array(filter.lowercased().utf8)
    entries = [:]
    storesByCluster = [:]
    transientCount = 0
    rowsMoved = 0
    guard let snapshot else {
      sorted = []
      filtered = []
      return
    }
    entries.reserveCapacity(snapshot.stores.count)
    for store in snapshot.stores {
      guard let id = store.customKeyStoreId, entries[id] == nil else { continue }
      insertEntry(Self.entry(store, column, snapshot, keys), id: id)
    }
    resort()
  }

  /// A new sort: every key is recomputed (the column changed) and the rows sorted once.
  mutating func setSort(_ column: StoreColumn, ascending: Bool, _ snapshot: FleetSnapshot?, _ keys: KeyBook) {
    guard column != self.column || ascending != self.ascending else { return }
    let columnChanged = column != self.column
    self.column = column
    self.ascending = ascending
    if columnChanged, let snapshot {
      for id in entries.keys {
        if let store = snapshot.store(id: id) {
          entries[id]?.key = Self.sortKey(store, column, snapshot, keys)
        }
      }
    }
    resort()
  }

  /// A new filter: one byte search per store, in sorted order (O(n)).
  mutating func setFilter(_ text: String) {
    let needle = Array(text.lowercased().utf8)
    guard needle != self.needle else { return }
    self.needle = needle
    refilter()
  }

  private mutating func resort() {
    var rows = entries.map { Row(key: $0.value.key, id: $0.key) }
    let ascending = self.ascending
    rows.sort { Self.precedes($0, $1, ascending: ascending) }
    sorted = rows
    refilter()
  }

  private mutating func refilter() {
    guard !needle.isEmpty else {
      filtered = []
      return
    }
    filtered = sorted.filter { entries[$0.id].map { Self.contains($0.search, needle) } ?? false }
  }

  // MARK: Patching

  /// Brings the rows of these stores up to date with `snapshot`: a store that is gone is removed,
  /// a new one inserted, a changed one moved only if its sort key or filter text changed.
  /// O(log n) searches per store plus the shift of the array tail.
  mutating func update<S: Sequence<String>>(_ ids: S, in snapshot: FleetSnapshot, _ keys: KeyBook) {
    for id in ids {
      let old = entries[id]
      let new = snapshot.store(id: id).map { Self.entry($0, column, snapshot, keys) }
      if old == new { continue }
      if let old { removeEntry(old, id: id) }
      if let new { insertEntry(new, id: id) }
      let oldRow = old.map { Row(key: $0.key, id: id) }
      let newRow = new.map { Row(key: $0.key, id: id) }
      if oldRow != newRow {
        rowsMoved += 1
        if let oldRow { Self.removeRow(oldRow, from: &sorted, ascending: ascending) }
        if let newRow { Self.insertRow(newRow, into: &sorted, ascending: ascending) }
      }
      guard !needle.isEmpty else { continue }
      let wasIn = old.map { Self.contains($0.search, needle) } ?? false
      let isIn = new.map { Self.contains($0.search, needle) } ?? false
      if wasIn, let oldRow, !isIn || oldRow != newRow {
        Self.removeRow(oldRow, from: &filtered, ascending: ascending)
      }
      if isIn, let newRow, !wasIn || oldRow != newRow {
        Self.insertRow(newRow, into: &filtered, ascending: ascending)
      }
    }
  }

  /// The stores whose rows may change when a cluster changes (their HSM counts).
  func stores(ofCluster id: String) -> Set<String> { storesByCluster[id] ?? [] }

  /// The position of a store among the visible rows (binary search), nil if filtered out or gone.
  func position(of id: String) -> Int? {
    guard let entry = entries[id] else { return nil }
    let rows = visible
    let row = Row(key: entry.key, id: id)
    let at = Self.lowerBound(row, in: rows, ascending: ascending)
    return at < rows.count && rows[at].id == id ? at : nil
  }

  private mutating func insertEntry(_ entry: Entry, id: String) {
    entries[id] = entry
    if entry.transient { transientCount += 1 }
    if let cluster = entry.cluster { storesByCluster[cluster, default: []].insert(id) }
  }

  private mutating func removeEntry(_ entry: Entry, id: String) {
    entries[id] = nil
    if entry.transient { transientCount -= 1 }
    if let cluster = entry.cluster {
      storesByCluster[cluster]?.remove(id)
      if storesByCluster[cluster]?.isEmpty == true { storesByCluster[cluster] = nil }
    }
  }

  // Static, taking the array inout: a method on `self` that mutated `self.sorted` would make
  // Swift copy `self` for the call, and with it the whole array (O(n) per row).
  private static func lowerBound(_ row: Row, in rows: [Row], ascending: Bool) -> Int {
    rows.partitioningIndex { !precedes($0, row, ascending: ascending) }
  }

  private static func removeRow(_ row: Row, from rows: inout [Row], ascending: Bool) {
    let at = lowerBound(row, in: rows, ascending: ascending)
    if at < rows.count, rows[at] == row { rows.remove(at: at) }
  }

  private static func insertRow(_ row: Row, into rows: inout [Row], ascending: Bool) {
    rows.insert(row, at: lowerBound(row, in: rows, ascending: ascending))
  }

  // MARK: Keys and matching

  /// The table's order: by key (ascending or descending), then by ID ascending.
  static func precedes(_ a: Row, _ b: Row, ascending: Bool) -> Bool {
    if a.key != b.key { return ascending ? a.key < b.key : b.key < a.key }
    return a.id < b.id
  }

  static func entry(
    _ s: CustomKeyStoresListEntry, _ column: StoreColumn, _ snapshot: FleetSnapshot, _ keys: KeyBook
  ) -> Entry {
    Entry(
      key: sortKey(s, column, snapshot, keys),
      search: searchText(s, snapshot.source(ofRow: s.customKeyStoreId)),
      transient: s.connectionState?.isTransient == true,
      cluster: s.cloudHsmClusterId)
  }

  /// Lower-cased name, ID, cluster, state and error code, and in a many-source view the account,
  /// Region and profile (so `/eu-west-1` or `/111122223333` filters by them). IDs are matched as
  /// their own backend knows them.
  static func searchText(_ s: CustomKeyStoresListEntry, _ source: FleetSource? = nil) -> [UInt8] {
    let own = { (id: String?) in id.map { source == nil ? $0 : (FleetRowID.split($0)?.id ?? $0) } }
    return Array(
      [
        s.customKeyStoreName, own(s.customKeyStoreId), own(s.cloudHsmClusterId), s.connectionState?.rawValue,
        s.connectionErrorCode?.rawValue, source?.account, source?.region, source?.profile,
      ]
      .compactMap { $0?.lowercased() }.joined(separator: "\u{0}").utf8)
  }

  static func sortKey(
    _ s: CustomKeyStoresListEntry, _ c: StoreColumn, _ snapshot: FleetSnapshot, _ keys: KeyBook
  ) -> SortKey {
    switch c {
    case .name: SortKey(text: (s.customKeyStoreName ?? "").lowercased())
    case .id: SortKey(text: s.customKeyStoreId ?? "")
    case .type: SortKey(text: s.customKeyStoreType?.rawValue ?? "")
    case .cluster: SortKey(text: s.cloudHsmClusterId ?? "")
    case .hsms: SortKey(number: Double(snapshot.cluster(s.cloudHsmClusterId)?.activeHsmCount ?? 0))
    case .keys: SortKey(number: Double(keys.count(inStore: s.customKeyStoreId)))
    case .state: SortKey(text: (s.connectionState?.rawValue ?? "") + (s.connectionErrorCode?.rawValue ?? ""))
    case .created: SortKey(number: s.creationDate?.timeIntervalSince1970 ?? 0)
    case .account: SortKey(text: snapshot.source(ofRow: s.customKeyStoreId)?.account ?? "")
    case .region: SortKey(text: snapshot.source(ofRow: s.customKeyStoreId)?.region ?? "")
    }
  }

  static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty else { return true }
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
}
