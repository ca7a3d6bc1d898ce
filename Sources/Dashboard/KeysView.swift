import Foundation
import KMSModel
import TerminalUI

extension Screen {
  /// The help section the `?` overlay lists first on this screen.
  var helpContext: KeyContext {
    switch self {
    case .stores: .stores
    case .keys: .keys
    case .allKeys: .allKeys
    }
  }
}

/// The keys view of one store (Enter on a store).
func renderKeys(_ state: DashboardState, storeId: String, _ inner: Rect, _ buf: inout Buffer) {
  let s = state.store(id: storeId)
  let keys = state.keys(inStore: storeId)
  let title =
    "Keys of \(s?.customKeyStoreName ?? storeId) (\(state.storeLabel(storeId))): \(keys.count), store \(s?.connectionState?.rawValue ?? "?")  (Esc: back)"
  renderKeyList(state, title: title, keys: keys, empty: "This store has no KMS keys", inner, &buf)
}

/// Every KMS key of the account (`K`): keys of the AWS KMS key store of every key spec, and the
/// keys of the custom key stores, with the store each is in.
func renderAllKeys(_ state: DashboardState, _ inner: Rect, _ buf: inout Buffer) {
  let keys = state.allKeys
  let custom = state.stores.reduce(0) { $0 + state.keyCount(inStore: $1.customKeyStoreId) }
  let title =
    "All KMS keys: \(keys.count) (AWS KMS \(keys.count - custom), custom key stores \(custom))  (Esc: back)"
  renderKeyList(
    state, title: title, keys: keys, storeColumn: true, empty: "The account has no KMS keys", inner, &buf)
}

/// The columns a key list can show. The display order is the order of the cases; when the terminal
/// is too narrow for all of them, they are kept by `priority` (lower first) and the rest dropped.
enum KeyListColumn: CaseIterable, Sendable {
  case keyId, state, store, spec, usage, specAndUse, rotation, aliases, tags, created, description

  var priority: Int {
    switch self {
    case .keyId: 0
    case .state: 1
    case .aliases: 2
    case .spec, .specAndUse: 3
    case .usage: 4
    case .store: 5
    case .rotation: 6
    case .tags: 7
    case .description: 8
    case .created: 9
    }
  }

  /// The columns a list of that width offers: from 160 columns on, spec and usage apart and the
  /// creation date; narrower, the usage joins the spec where the spec allows more than one.
  static func offered(width: Int, storeColumn: Bool) -> [KeyListColumn] {
    let wide = width >= 160
    return allCases.filter { c in
      switch c {
      case .store: storeColumn
      case .spec, .usage, .created: wide
      case .specAndUse: !wide
      default: true
      }
    }
  }

  /// Of `columns` (display order), the ones that fit `width` at their minimum widths, chosen by
  /// priority, in display order.
  static func fitting(_ columns: [(KeyListColumn, TableColumn)], width: Int) -> [(KeyListColumn, TableColumn)]
  {
    var used = 0
    var kept: Set<Int> = []
    let byPriority = columns.indices.sorted { (columns[$0].0.priority, $0) < (columns[$1].0.priority, $1) }
    for i in byPriority {
      let need = columns[i].1.minWidth + (kept.isEmpty ? 0 : 1)
      if used + need <= width {
        kept.insert(i)
        used += need
      }
    }
    return columns.indices.filter(kept.contains).map { columns[$0] }
  }
}

/// A key list: only the rows on screen are built, so 100,000 keys cost no more than a few. Columns
/// are as wide as what the rows on screen show, and a narrow terminal drops the least important
/// ones (creation date, description, tags, rotation, store, usage) before the aliases.
private func renderKeyList(
  _ state: DashboardState, title: String, keys: [KeyRow], storeColumn: Bool = false, empty: String,
  _ inner: Rect, _ buf: inout Buffer
) {
  var title = title
  var window = state.keyTable
  let visibleRows = Table.visibleRows(height: inner.height)
  window.clamp(rowCount: keys.count, visibleRows: visibleRows)
  if keys.count > visibleRows { title += " [\(window.selected + 1)/\(keys.count)]" }
  let onScreen = keys[window.offset..<min(keys.count, window.offset + visibleRows)]
  let outer = Rect(x: inner.x - 1, y: inner.y - 1, width: inner.width + 2, height: inner.height + 2)
  Pane(title: title, focused: true).render(in: outer, buffer: &buf)
  func widest(_ title: String, _ text: (KeyRow) -> String) -> Int {
    onScreen.reduce(title.displayWidth) { max($0, text($1).displayWidth) }
  }
  let anyTags = onScreen.contains { $0.details?.tags.isEmpty == false }
  func offered(shortIds: Bool) -> [(KeyListColumn, TableColumn)] {
    KeyListColumn.offered(width: inner.width, storeColumn: storeColumn).map {
      c -> (KeyListColumn, TableColumn) in
      switch c {
      case .keyId:
        (
          c,
          TableColumn(
            "KEY ID", minWidth: widest("KEY ID") { keyIdText(state.ownID($0.keyId), short: shortIds) })
        )
      case .state: (c, TableColumn("STATE", minWidth: widest("STATE") { $0.keyState?.rawValue ?? "?" }))
      case .store: (c, TableColumn("STORE", minWidth: min(24, widest("STORE") { storeText(state, $0) })))
      case .spec: (c, TableColumn("SPEC", minWidth: widest("SPEC") { $0.keySpec?.rawValue ?? "" }))
      case .usage: (c, TableColumn("USAGE", minWidth: widest("USAGE") { $0.keyUsage?.rawValue ?? "" }))
      case .specAndUse: (c, TableColumn("SPEC / USE", minWidth: widest("SPEC / USE", specAndUse)))
      case .rotation:
        inner.width >= 160
          ? (c, TableColumn("ROTATION", minWidth: widest("ROTATION") { rotationText($0.details) }))
          : (c, TableColumn("ROT", minWidth: widest("ROT") { rotationText($0.details) }))
      case .aliases:
        (c, TableColumn("ALIASES", minWidth: min(16, widest("ALIASES") { aliasesText(state, $0) }), flex: 2))
      case .tags: (c, TableColumn("TAGS", minWidth: anyTags ? 10 : 4, flex: 1))
      case .created: (c, TableColumn("CREATED", minWidth: 16))
      case .description: (c, TableColumn("DESCRIPTION", minWidth: 11, flex: 2))
      }
    }
  }
  // The whole key ID while the aliases and the spec fit beside it; else its head and tail.
  var shortIds = false
  var shown = KeyListColumn.fitting(offered(shortIds: false), width: inner.width)
  if !shown.contains(where: { $0.0 == .aliases })
    || !shown.contains(where: { $0.0 == .spec || $0.0 == .specAndUse })
  {
    shortIds = true
    shown = KeyListColumn.fitting(offered(shortIds: true), width: inner.width)
  }
  let rows = onScreen.map { k -> TableRow in
    TableRow(shown.map { keyCell($0.0, k, state, shortIds: shortIds) })
  }
  Table(
    columns: shown.map(\.1), rows: rows,
    state: TableState(selected: window.selected - window.offset, offset: 0)
  )
  .render(in: inner, buffer: &buf)
  if keys.isEmpty {
    buf.put(empty, x: inner.x, y: inner.y + 1, style: .dim, clip: inner)
  }
}

/// One cell of a key list.
private func keyCell(_ column: KeyListColumn, _ k: KeyRow, _ state: DashboardState, shortIds: Bool)
  -> TableCell
{
  switch column {
  case .keyId: return TableCell(keyIdText(state.ownID(k.keyId), short: shortIds))
  case .state:
    let style: Style
    switch k.keyState {
    case .enabled: style = state.config.style(\.keyEnabled)
    case .unavailable: style = state.config.style(\.keyUnavailable)
    case .pendingDeletion: style = state.config.style(\.keyPending)
    default: style = state.config.style(\.keyOther)
    }
    return TableCell(k.keyState?.rawValue ?? "?", style: style)
  case .store:
    return TableCell(storeText(state, k), style: state.store(ofKey: k.keyId) == nil ? .dim : nil)
  case .spec: return TableCell(k.keySpec?.rawValue ?? "")
  case .usage: return TableCell(k.keyUsage?.rawValue ?? "")
  case .specAndUse: return TableCell(specAndUse(k))
  case .rotation:
    return TableCell(rotationText(k.details), style: k.details?.rotationEnabled == nil ? .dim : nil)
  case .aliases: return TableCell(aliasesText(state, k))
  case .tags: return TableCell(tagsText(k.details))
  case .created: return TableCell(k.creationDate.map { Fmt.dateTime($0, state.config.timeZone) } ?? "")
  case .description: return TableCell(k.description ?? "")
  }
}

/// A key ID as a narrow list shows it: the first 8 and the last 12 characters of a 36-character
/// ID ("1234abcd…56789abcdef0"), which tell keys apart; other IDs whole.
func keyIdText(_ id: String, short: Bool) -> String {
  guard short, id.count > 21 else { return id }
  return id.prefix(8) + "…" + id.suffix(12)
}

/// A key's aliases, comma-separated.
func aliasesText(_ state: DashboardState, _ key: KeyRow) -> String {
  (state.snapshot?.aliases(forKey: key.keyId) ?? []).map(state.ownID).joined(separator: ", ")
}

/// The key store a key is in: its custom key store's name (or ID), else "AWS KMS".
func storeText(_ state: DashboardState, _ key: KeyRow) -> String {
  guard let id = state.store(ofKey: key.keyId) else { return "AWS KMS" }
  return state.store(id: id)?.customKeyStoreName ?? state.ownID(id)
}

/// Automatic rotation in the keys view: the period while enabled, "off", or "—" for a key KMS
/// cannot rotate automatically (custom key store, asymmetric, HMAC, imported, replica).
func rotationText(_ details: KeyDetails?) -> String {
  switch details?.rotationEnabled {
  case true?: details?.rotationPeriodInDays.map { "\($0)d" } ?? "on"
  case false?: "off"
  case nil: "—"
  }
}

/// The narrow keys view's spec column: the key spec, and the usage in a word when the spec allows
/// more than one (RSA: encrypt or sign; NIST ECC: sign or agree; SM2: any of the three).
func specAndUse(_ key: KeyRow) -> String {
  guard let spec = key.keySpec else { return key.keyUsage?.rawValue ?? "" }
  let raw = spec.rawValue
  guard raw.hasPrefix("RSA_") || raw.hasPrefix("ECC_NIST_") || raw == "SM2", let usage = key.keyUsage else {
    return raw
  }
  let word =
    switch usage {
    case .encryptDecrypt: "encrypt"
    case .signVerify: "sign"
    case .generateVerifyMac: "mac"
    case .keyAgreement: "agree"
    }
  return "\(raw) \(word)"
}

/// Tags in the keys view: `key=value`, in the key's order.
func tagsText(_ details: KeyDetails?) -> String {
  (details?.tags ?? []).map { $0.tagValue.isEmpty ? $0.tagKey : "\($0.tagKey)=\($0.tagValue)" }
    .joined(separator: ", ")
}
