import Foundation
import KMSModel
import TerminalUI

/// Where things go on screen; shared by `view` and `update` (page sizes).
struct Layout {
  static let minimum = Size(width: 60, height: 15)
  var header: Rect
  /// Many-source views: one line with every source's status, then one line per source that is
  /// not ok (at most `maxProblemLines`).
  var strip: Rect
  static let maxProblemLines = 4
  var table: Rect
  var lower: Rect
  var status: Rect
  var footer: Rect
  var tooSmall: Bool

  init(_ state: DashboardState) {
    let full = Rect(size: state.size)
    tooSmall = state.size.width < Layout.minimum.width || state.size.height < Layout.minimum.height
    let (h, belowHeader) = full.splitTop(1)
    let stripHeight =
      state.hasManySources && !tooSmall ? 1 + min(Layout.maxProblemLines, problemSources(state).count) : 0
    let (s, rest) = belowHeader.splitTop(stripHeight)
    let (main, bottom) = rest.splitBottom(2)
    header = h
    strip = s
    status = Rect(x: 0, y: bottom.y, width: bottom.width, height: bottom.height > 0 ? 1 : 0)
    footer = Rect(x: 0, y: bottom.y + 1, width: bottom.width, height: bottom.height > 1 ? 1 : 0)
    if state.screen.listsKeys {
      table = main.inset(by: 1)
      lower = Rect(x: 0, y: main.maxY, width: main.width, height: 0)
    } else {
      let rows = state.visibleStores.count
      let tableHeight = min(max(4, rows + 1), max(4, main.height / 2)) + 2
      let (t, l) = main.splitTop(tableHeight)
      table = t.inset(by: 1)
      lower = l
    }
  }
}

private let spinnerFrames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

/// The spinner glyph for `now` (10 frames per second; deterministic for a given clock value).
func spinner(_ now: Date) -> String {
  let i = Int((now.timeIntervalSince1970 * 10).rounded(.down)) % spinnerFrames.count
  return spinnerFrames[(i + spinnerFrames.count) % spinnerFrames.count]
}

/// The style that carries a connection state's meaning, in the theme's colours.
func stateStyle(_ s: ConnectionStateType?, _ config: DashboardConfig) -> Style {
  switch s {
  case .connected: config.style(\.connected)
  case .connecting, .disconnecting: config.style(\.transient)
  case .failed: config.style(\.failed)
  case .disconnected, nil: config.style(\.disconnected)
  }
}

/// The state cell: spinner and elapsed time while transient, the error code when FAILED.
func stateText(_ s: CustomKeyStoresListEntry, _ state: DashboardState) -> String {
  let st = s.connectionState?.rawValue ?? "?"
  switch s.connectionState {
  case .connecting, .disconnecting:
    var text = spinner(state.now) + " " + st
    if let id = s.customKeyStoreId, let since = state.snapshot?.stateSince[id] {
      let elapsed = state.now.timeIntervalSince(since)
      if let expected = state.config.expected.of(s) {
        // The time first: a narrow column cuts the bar, not the time.
        text +=
          " " + Fmt.elapsed(elapsed) + "/" + Fmt.elapsed(expected) + " " + progressBar(elapsed / expected)
      } else {
        text += " " + Fmt.elapsed(elapsed)
      }
    }
    return text
  case .failed:
    return "✗ " + st + " " + (s.connectionErrorCode?.rawValue ?? "")
  case .connected: return "● " + st
  default: return "○ " + st
  }
}

/// A five-cell bar for `fraction` (0…1; beyond 1 it stays full).
func progressBar(_ fraction: Double) -> String {
  let eighths = Int((min(max(fraction, 0), 1) * 40).rounded(.down))
  let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
  var bar = String(repeating: "█", count: eighths / 8)
  if bar.count < 5 { bar += partial[eighths % 8] }
  return bar + String(repeating: "░", count: max(0, 5 - bar.count))
}

func hsmSummary(_ cluster: Cluster?) -> String {
  guard let cluster else { return "—" }
  let total = (cluster.hsms ?? []).count
  let azs = cluster.availabilityZones.count
  return "\(cluster.activeHsmCount)/\(total) \(azs)AZ"
}

func storeTypeShort(_ t: CustomKeyStoreType?) -> String {
  switch t {
  case .awsCloudhsm, nil: "CloudHSM"
  case .externalKeyStore: "External"
  }
}

/// Renders the whole screen. Pure: the same state always gives the same buffer.
public func view(_ state: DashboardState) -> Buffer {
  var buf = Buffer(size: state.size)
  let layout = Layout(state)
  if layout.tooSmall {
    let lines = [
      "Terminal too small",
      "\(state.size.width)x\(state.size.height); kmsdash needs at least \(Layout.minimum.width)x\(Layout.minimum.height)",
      "Enlarge the window, or press q to quit",
    ]
    for (i, l) in lines.enumerated() {
      let y = state.size.height / 2 - 1 + i
      buf.put(
        l.truncated(toWidth: state.size.width), x: max(0, (state.size.width - l.displayWidth) / 2), y: y,
        style: i == 0 ? .bold : .plain)
    }
    return buf
  }
  renderHeader(state, layout.header, &buf)
  renderSourceStrip(state, layout.strip, &buf)
  switch state.screen {
  case .stores:
    renderStoreTable(state, layout.table, &buf)
    if state.lowerPane == .detail {
      renderDetail(state, layout.lower, &buf)
    } else {
      renderEvents(state, layout.lower, &buf)
    }
  case .keys(let id):
    renderKeys(state, storeId: id, layout.table, &buf)
  case .allKeys:
    renderAllKeys(state, layout.table, &buf)
  }
  renderStatus(state, layout.status, &buf)
  renderFooter(state, layout.footer, &buf)
  let area = Rect(x: 0, y: 1, width: state.size.width, height: state.size.height - 3)
  switch state.overlay {
  case .help(let scroll):
    HelpOverlay(
      title: "Keys",
      sections: KeyTable.sections(
        readOnly: state.config.readOnly, simulator: state.config.simulator,
        current: state.screen.helpContext),
      scroll: scroll
    ).render(in: area, buffer: &buf)
  case .dialog(let d):
    renderDialog(d, state, area, &buf)
  case .qa(let panel):
    renderQA(state, panel, area, &buf)
  case .xksQA(let panel):
    renderXKSQA(state, panel, area, &buf)
  case .runbook:
    if let rb = state.runbook { renderRunbook(state, rb, area, &buf) }
  case .command, .filter, nil:
    break
  }
  return buf
}

private func renderHeader(_ state: DashboardState, _ rect: Rect, _ buf: inout Buffer) {
  // Most important first; the account goes when the line is too narrow.
  var parts = ["kmsdash", state.config.backend]
  if let snap = state.snapshot, !state.hasManySources { parts.append(snap.region) }
  if let backend = state.snapshot?.backend {
    if let profile = backend.profile { parts.append("profile \(profile)") }
    if let error = backend.lastError {
      parts.append("ENDPOINT LOST (\(backend.consecutiveFailures)×): \(error)")
    } else if let refreshed = backend.lastRefresh {
      let latency = backend.lastLatency.map { " in \(Fmt.milliseconds($0)) ms" } ?? ""
      parts.append("refreshed \(Fmt.time(refreshed, state.config.timeZone))\(latency)")
    }
    parts += backend.notes
  }
  if let lc = state.lastChange { parts.append("last change \(Fmt.time(lc, state.config.timeZone))") }
  if state.config.readOnly { parts.append("READ-ONLY") }
  let right = state.snapshot.map { "\($0.stores.count) stores" } ?? "loading…"
  if let snap = state.snapshot, !state.hasManySources {
    let withAccount = parts + ["account \(snap.accountId)"]
    if withAccount.joined(separator: " │ ").displayWidth + right.displayWidth + 1 <= rect.width {
      parts = withAccount
    }
  }
  let left = parts.joined(separator: " │ ")
  StatusLine(left: left, right: right, style: state.config.color ? state.config.style(\.header) : .reverse)
    .render(in: rect, buffer: &buf)
}

/// Sources that are not ok, in header order.
func problemSources(_ state: DashboardState) -> [FleetSource] {
  (state.snapshot?.orderedSources ?? []).filter { $0.health != .ok && $0.health != .pending }
}

/// One source's problem in one line: its account/Region and profile, the status, and the error or
/// the note that names the operation.
func problemLine(_ source: FleetSource) -> String {
  var line = "\(source.label)"
  if let profile = source.profile { line += " (profile \(profile))" }
  line += ": \(source.health.rawValue)"
  if let status = source.status {
    if let error = status.lastError {
      line += " (\(status.consecutiveFailures)×): \(error)"
    } else if let note = status.notes.first {
      line += ": \(note)"
    }
  }
  return line
}

/// The strip's first line, as much detail as fits `width`: every source with its status, else
/// the Regions grouped per account, else how many sources have each status.
func sourceStripEntries(_ sources: [FleetSource], width: Int) -> [(text: String, health: BackendHealth?)] {
  let label = "\(sources.count) sources: "
  let each = sources.map { (text: "\($0.label) \($0.health.rawValue)", health: Optional($0.health)) }
  func fits(_ entries: [(text: String, health: BackendHealth?)]) -> Bool {
    label.displayWidth + entries.map(\.text.displayWidth).reduce(0, +) + 3 * max(0, entries.count - 1)
      <= width
  }
  if fits(each) { return each }
  var accounts: [String] = []
  var byAccount: [String: [FleetSource]] = [:]
  for source in sources {
    let who = source.account.isEmpty ? (source.profile ?? "?") : source.account
    if byAccount[who] == nil { accounts.append(who) }
    byAccount[who, default: []].append(source)
  }
  let grouped = accounts.map { who -> (text: String, health: BackendHealth?) in
    let members = byAccount[who] ?? []
    let regions = members.map { "\($0.region) \($0.health.rawValue)" }.joined(separator: ", ")
    let healths = Set(members.map(\.health))
    return ("\(who) \(regions)", healths.count == 1 ? healths.first : .failing)
  }
  if fits(grouped) { return grouped }
  var counts: [BackendHealth: Int] = [:]
  for source in sources { counts[source.health, default: 0] += 1 }
  let order: [BackendHealth] = [.ok, .pending, .notSupported, .accessDenied, .unreachable, .failing]
  return order.compactMap { health in counts[health].map { ("\($0) \(health.rawValue)", health) } }
}

private func renderSourceStrip(_ state: DashboardState, _ rect: Rect, _ buf: inout Buffer) {
  guard rect.height > 0 else { return }
  let sources = state.snapshot?.orderedSources ?? []
  var x = rect.x
  x += buf.put("\(sources.count) sources: ", x: x, y: rect.y, style: .bold, clip: rect)
  for (i, entry) in sourceStripEntries(sources, width: rect.width).enumerated() {
    let style: Style
    switch entry.health {
    case .ok: style = stateStyle(.connected, state.config)
    case .pending, nil: style = stateStyle(.disconnected, state.config)
    case .notSupported: style = stateStyle(.connecting, state.config)
    case .accessDenied, .unreachable, .failing: style = stateStyle(.failed, state.config)
    }
    let text = (i == 0 ? "" : " · ") + entry.text
    x += buf.put(text, x: x, y: rect.y, style: style, clip: rect)
  }
  let problems = problemSources(state)
  for (row, source) in problems.prefix(rect.height - 1).enumerated() {
    var line = problemLine(source)
    if row == rect.height - 2, problems.count > rect.height - 1 {
      line = "(+\(problems.count - row) more not ok) " + line
    }
    buf.put(
      line.truncated(toWidth: rect.width), x: rect.x, y: rect.y + 1 + row,
      style: state.config.color ? state.config.style(\.error) : .plain, clip: rect)
  }
}

private func renderStoreTable(_ state: DashboardState, _ inner: Rect, _ buf: inout Buffer) {
  let visible = state.visibleStores
  var title = "Custom key stores"
  if !state.filter.isEmpty {
    title += " (filter \"\(state.filter)\": \(visible.count) of \(state.stores.count))"
  }
  if visible.count > inner.height - 1 && !visible.isEmpty {
    title += " [\(state.storeTable.selected + 1)/\(visible.count)]"
  }
  let outer = Rect(x: inner.x - 1, y: inner.y - 1, width: inner.width + 2, height: inner.height + 2)
  Pane(title: title, focused: true).render(in: outer, buffer: &buf)
  let columns = [
    TableColumn(StoreColumn.name.title, minWidth: 14, flex: 2),
    TableColumn(StoreColumn.id.title, minWidth: 21),
    TableColumn(StoreColumn.type.title, minWidth: 8),
    TableColumn(StoreColumn.cluster.title, minWidth: 19),
    TableColumn(StoreColumn.hsms.title, minWidth: 7),
    TableColumn(StoreColumn.keys.title, minWidth: 5, alignRight: true),
    TableColumn(StoreColumn.state.title, minWidth: 22, flex: 1),
    TableColumn(StoreColumn.created.title, minWidth: 10),
    TableColumn(StoreColumn.account.title, minWidth: 12),
    TableColumn(StoreColumn.region.title, minWidth: 9),
  ]
  // Narrow terminals: keep name, state and ID first; many sources: account and Region right after.
  let order: [StoreColumn]
  if state.hasManySources {
    order =
      inner.width >= 150
      ? [.account, .region, .name, .id, .type, .cluster, .hsms, .keys, .state, .created]
      : inner.width >= 110
        ? [.account, .region, .name, .id, .state, .keys, .hsms]
        : [.account, .region, .name, .state, .id]
  } else {
    order =
      inner.width >= 120
      ? [.name, .id, .type, .cluster, .hsms, .keys, .state, .created]
      : inner.width >= 90
        ? [.name, .id, .state, .hsms, .keys, .cluster, .type, .created] : [.name, .state, .id, .keys, .hsms]
  }
  let cols = order.map { columns[$0.rawValue] }
  // Only the rows on screen are built: a 10,000-store fleet costs no more than a small one.
  var window = state.storeTable
  window.clamp(rowCount: visible.count, visibleRows: Table.visibleRows(height: inner.height))
  let onScreen = visible[
    window.offset..<min(visible.count, window.offset + Table.visibleRows(height: inner.height))]
  let rows: [TableRow] = onScreen.map { s in
    let id = s.customKeyStoreId ?? ""
    let cluster = state.snapshot?.cluster(s.cloudHsmClusterId)
    // A state change highlights the name and the state, not the whole row: the terminal then
    // rewrites about 40 cells for it instead of the full width.
    let highlighted = (state.highlightUntil[id] ?? .distantPast) > state.now
    let mark: Attributes = highlighted ? [.bold, .underline] : []
    let source = state.source(ofRow: id)
    let values: [StoreColumn: TableCell] = [
      .name: TableCell(s.customKeyStoreName ?? "", style: highlighted ? Style(attributes: mark) : nil),
      .id: TableCell(state.ownID(id)),
      .type: TableCell(storeTypeShort(s.customKeyStoreType)),
      .cluster: TableCell(s.cloudHsmClusterId.map(state.ownID) ?? "—"),
      .hsms: TableCell(s.customKeyStoreType == .externalKeyStore ? "—" : hsmSummary(cluster)),
      .keys: TableCell("\(state.keyCount(inStore: id))"),
      .state: TableCell(
        stateText(s, state), style: stateStyle(s.connectionState, state.config).adding(mark)),
      .created: TableCell(s.creationDate.map { Fmt.date($0, state.config.timeZone) } ?? ""),
      .account: TableCell(source.map { $0.account.isEmpty ? ($0.profile ?? "?") : $0.account } ?? ""),
      .region: TableCell(source?.region ?? ""),
    ]
    return TableRow(order.map { values[$0]! })
  }
  let sortIndex = order.firstIndex(of: state.sortColumn)
  Table(
    columns: cols, rows: rows, state: TableState(selected: window.selected - window.offset, offset: 0),
    sort: sortIndex.map { (column: $0, ascending: state.sortAscending) }
  ).render(in: inner, buffer: &buf)
  if state.snapshot == nil {
    buf.put(state.loadError ?? "Loading…", x: inner.x, y: inner.y + 1, clip: inner)
  } else if visible.isEmpty {
    buf.put(
      state.stores.isEmpty ? "No custom key stores" : "No store matches the filter", x: inner.x,
      y: inner.y + 1,
      style: .dim, clip: inner)
  }
}

/// The detail lines of one store: every DescribeCustomKeyStores field, the cluster and its HSMs
/// per AZ, keys by state, and for FAILED the meaning and remedy of the error code.
func detailLines(_ s: CustomKeyStoresListEntry, _ state: DashboardState) -> [(String, String, Style)] {
  let tz = state.config.timeZone
  var lines: [(String, String, Style)] = []
  let id = s.customKeyStoreId ?? ""
  lines.append(("CustomKeyStoreName", s.customKeyStoreName ?? "", .bold))
  lines.append(("CustomKeyStoreId", state.ownID(id), .plain))
  if let source = state.source(ofRow: id) {
    lines.append(("Account", source.account.isEmpty ? "unknown" : source.account, .plain))
    lines.append(("Region", source.region, .plain))
    if let profile = source.profile { lines.append(("Profile", profile, .plain)) }
  }
  lines.append(("CustomKeyStoreType", s.customKeyStoreType?.rawValue ?? "AWS_CLOUDHSM", .plain))
  var st = s.connectionState?.rawValue ?? "?"
  if let since = state.snapshot?.stateSince[id] {
    st += " since \(Fmt.time(since, tz))"
    // Elapsed time only while transient: the clock ticks only then, so it never goes stale.
    if s.connectionState?.isTransient == true {
      let elapsed = Fmt.elapsed(state.now.timeIntervalSince(since))
      st += state.config.expected.of(s).map { " (\(elapsed) of up to \(Fmt.elapsed($0)))" } ?? " (\(elapsed))"
    }
  }
  lines.append(("ConnectionState", st, stateStyle(s.connectionState, state.config)))
  if let code = s.connectionErrorCode {
    let red = stateStyle(.failed, state.config)
    lines.append(("ConnectionErrorCode", code.rawValue, red))
    lines.append(("  Meaning", code.meaning, .plain))
    lines.append(("  Remedy", code.remedy, .bold))
  }
  lines.append(("CreationDate", s.creationDate.map { Fmt.dateTime($0, tz) } ?? "", .plain))
  if let cid = s.cloudHsmClusterId {
    let cluster = state.snapshot?.cluster(cid)
    var text = state.ownID(cid)
    if let cluster {
      text +=
        " (\(cluster.state?.rawValue ?? "?")), \(cluster.activeHsmCount)/\((cluster.hsms ?? []).count) HSMs ACTIVE"
    } else if state.config.simulator {
      text += " (not found)"
    }
    lines.append(("CloudHsmClusterId", text, .plain))
    if let cluster {
      let byAZ = Dictionary(grouping: cluster.hsms ?? [], by: { $0.availabilityZone ?? "?" })
      for az in byAZ.keys.sorted() {
        let hsms = byAZ[az]!.sorted { $0.hsmId < $1.hsmId }
          .map { "\($0.hsmId) \($0.state?.rawValue ?? "?")" }.joined(separator: ", ")
        lines.append(("  " + az, hsms, .plain))
      }
    }
  }
  if let pem = s.trustAnchorCertificate {
    lines.append(("TrustAnchorCertificate", "PEM, \(pem.count) characters", .plain))
  }
  if let x = s.xksProxyConfiguration {
    lines.append(("XksProxy Connectivity", x.connectivity?.rawValue ?? "", .plain))
    lines.append(("XksProxy UriEndpoint", x.uriEndpoint ?? "", .plain))
    lines.append(("XksProxy UriPath", x.uriPath ?? "", .plain))
    lines.append(("XksProxy AccessKeyId", x.accessKeyId ?? "", .plain))
    if let v = x.vpcEndpointServiceName { lines.append(("XksProxy VpcEndpointSvc", v, .plain)) }
    if let o = x.vpcEndpointServiceOwner { lines.append(("XksProxy VpcSvcOwner", o, .plain)) }
  }
  lines += xksDetailLines(s, state)
  var counts: [String: Int] = [:]
  for (keyState, n) in state.keyStateCounts(inStore: id) {
    counts[keyState?.rawValue ?? "?", default: 0] += n
  }
  let total = state.keyCount(inStore: id)
  let byState = counts.keys.sorted().map { "\($0) \(counts[$0]!)" }.joined(separator: ", ")
  lines.append(("KMS keys", total == 0 ? "none" : "\(total): \(byState)", .plain))
  return lines
}

private func renderDetail(_ state: DashboardState, _ rect: Rect, _ buf: inout Buffer) {
  guard rect.height >= 3 else { return }
  guard let s = state.selectedStore else {
    Pane(title: "Detail").render(in: rect, buffer: &buf)
    return
  }
  let inner = Pane(title: "Detail: \(s.customKeyStoreName ?? "")  (e: events)").render(in: rect, buffer: &buf)
  let labelWidth = 24
  var y = inner.y
  let textWidth = inner.width - labelWidth - 1
  for (label, value, style) in detailLines(s, state) {
    guard y < inner.maxY else { break }
    buf.put(label.padded(toWidth: labelWidth - 1), x: inner.x, y: y, style: .dim, clip: inner)
    for (i, line) in wrap(value, width: max(1, textWidth)).enumerated() {
      guard y < inner.maxY else { break }
      buf.put(
        line, x: inner.x + labelWidth, y: y, style: i == 0 || style != .bold ? style : style, clip: inner)
      y += 1
    }
  }
}

private func renderEvents(_ state: DashboardState, _ rect: Rect, _ buf: inout Buffer) {
  guard rect.height >= 3 else { return }
  let inner = Pane(title: "Events, newest first  (e: detail)").render(in: rect, buffer: &buf)
  let all = state.snapshot?.events ?? []
  let events = all.reversed()
  // Each connect and disconnect outcome with how long it took.
  let durations = outcomeDurations(all)
  var y = inner.y
  for e in events {
    guard y < inner.maxY else { break }
    let t = Fmt.time(e.date, state.config.timeZone)
    var x = inner.x + buf.put(t + "  ", x: inner.x, y: y, style: .dim, clip: inner)
    let style = e.connectionState.map { stateStyle($0, state.config) } ?? .plain
    x += buf.put(e.summary, x: x, y: y, style: style, clip: inner)
    if let d = durations[e.sequence] {
      buf.put("  in \(Fmt.elapsed(d))", x: x, y: y, style: .dim, clip: inner)
    }
    y += 1
  }
  if events.isEmpty { buf.put("No events yet", x: inner.x, y: inner.y, style: .dim, clip: inner) }
}

private func renderStatus(_ state: DashboardState, _ rect: Rect, _ buf: inout Buffer) {
  guard rect.height > 0 else { return }
  switch state.overlay {
  case .command(let input):
    input.render(prompt: ":", in: rect, buffer: &buf)
    return
  case .filter(let input):
    input.render(prompt: "/", in: rect, buffer: &buf)
    return
  default: break
  }
  if let s = state.status {
    let style: Style =
      s.kind == .error
      ? state.config.style(\.error) : .plain
    buf.put(s.text.truncated(toWidth: rect.width), x: rect.x, y: rect.y, style: style, clip: rect)
  } else if !state.filter.isEmpty {
    buf.put("filter: \(state.filter)  (Esc clears)", x: rect.x, y: rect.y, style: .dim, clip: rect)
  }
}

private func renderFooter(_ state: DashboardState, _ rect: Rect, _ buf: inout Buffer) {
  guard rect.height > 0 else { return }
  var hints: [String]
  if case .command = state.overlay {
    hints = state.completions.isEmpty ? ["Tab complete", "Enter run", "Esc cancel"] : state.completions
  } else if case .filter = state.overlay {
    hints = ["Enter keep filter", "Esc clear"]
  } else if case .dialog(let d) = state.overlay {
    hints =
      d.hasTextField
      ? ["type the text", "↑/↓ field", "Tab to OK", "Enter press focused", "Esc cancel"]
      : ["y confirm", "n/Esc cancel", "Tab focus", "Enter press focused"]
  } else if case .qa = state.overlay {
    hints = ["Space toggle", "x delete HSM", "c connect", "d disconnect", "Esc close"]
  } else if case .xksQA = state.overlay {
    hints = ["Space toggle a proxy fault", "c connect", "d disconnect", "Esc close"]
  } else if case .runbook = state.overlay {
    hints = ["Enter run step", "s skip", "Esc close"]
  } else if state.screen.listsKeys {
    hints = ["Esc back", "j/k move"]
    if !state.config.readOnly {
      hints += ["E enable", "D disable", "x delete", "u undelete"]
      if case .keys = state.screen { hints.append("n new key") }
      hints.append("a/A alias")
    }
    if case .keys = state.screen { hints.append("K all keys") }
    hints += ["? help", "q quit"]
  } else {
    hints = ["q quit", "? help", "j/k move", "Enter keys", "K all keys"]
    if !state.config.readOnly { hints += ["d disconnect", "c connect", "n new store"] }
    hints += ["/ filter", ": command", "s sort", "e events"]
    if state.config.simulator { hints.append("f faults") }
  }
  if state.config.readOnly, !hints.contains(where: { $0.hasPrefix("READ") }) {
    hints.insert("READ-ONLY", at: 0)
  }
  StatusLine(left: hints.joined(separator: "  "), style: .reverse).render(in: rect, buffer: &buf)
}

private func renderDialog(_ d: ConfirmDialog, _ state: DashboardState, _ area: Rect, _ buf: inout Buffer) {
  var dialog = Dialog(
    title: d.title, body: d.body, buttons: ["Cancel", d.okLabel], focused: d.focused, maxWidth: 70)
  dialog.fields = d.fields.enumerated().map { i, f in
    var display: String?
    if case .choice(let options) = f.kind {
      if let c = f.chosen {
        display =
          "‹ \(c.label) ›" + (c.unusable.map { "  unusable: \($0)" } ?? "")
          + "  (\(f.choice + 1)/\(options.count))"
      } else {
        display = "none"
      }
    }
    var masked = false
    if case .secret = f.kind { masked = true }
    return Dialog.Field(
      prompt: f.label, value: f.input, masked: masked, active: i == d.activeField && d.fields.count > 0,
      display: display)
  }
  dialog.render(in: area, buffer: &buf)
}

private func renderRunbook(_ state: DashboardState, _ rb: Runbook, _ area: Rect, _ buf: inout Buffer) {
  let lines = runbookLines(rb, simulator: state.config.simulator)
  let width = min(area.width - 2, max(60, (lines.map { $0.0.displayWidth }.max() ?? 0) + 4))
  let box = area.centered(width: width, height: min(area.height, lines.count + 2))
  buf.fill(box, with: .blank)
  let inner = Border.draw(box, title: "Guided remedy: \(rb.code.rawValue)", style: .bold, in: &buf)
  guard !inner.isEmpty else { return }
  var y = inner.y
  for (text, style) in lines where y < inner.maxY {
    for line in wrap(text, width: max(1, inner.width - 2)) where y < inner.maxY {
      buf.put(" " + line, x: inner.x, y: y, style: style, clip: inner)
      y += 1
    }
  }
}

private func renderQA(_ state: DashboardState, _ panel: QAPanel, _ area: Rect, _ buf: inout Buffer) {
  let store = state.store(id: panel.storeId)
  let items = qaItems(state, panel)
  var lines: [(String, Style)] = []
  // A FAILED store connects only after a disconnect; the prediction is for that connect.
  let label = store?.connectionState == .failed ? "Next connect (after disconnect): " : "Next connect: "
  lines.append((label + (panel.prediction ?? "…"), .bold))
  lines.append(("", .plain))
  var selectedLine = 0
  for (i, item) in items.enumerated() {
    if i == 0 { lines.append(("Faults", .bold)) }
    if case .hsm = item, i > 0, case .fault = items[i - 1] { lines.append(("HSMs", .bold)) }
    if case .addHsm = item, i > 0, case .fault = items[i - 1] { lines.append(("HSMs", .bold)) }
    let text: String
    switch item {
    case .fault(let f, let on): text = "[\(on ? "x" : " ")] \(f.rawValue.padded(toWidth: 28)) \(f.summary)"
    case .hsm(let id, let az, let st): text = "    \(id)  \(az)  \(st?.rawValue ?? "?")"
    case .addHsm(let az): text = "  + add an HSM in \(az)"
    }
    if i == panel.selected { selectedLine = lines.count }
    lines.append((text, i == panel.selected ? Style(attributes: .reverse) : .plain))
  }
  if items.isEmpty { lines.append(("No cluster", .dim)) }
  let title = "QA: \(panel.clusterId ?? "") of \(store?.customKeyStoreName ?? panel.storeId)"
  renderPanelBox(title: title, lines: lines, selectedLine: selectedLine, area, &buf)
}

/// A centred, bordered list that keeps the selected line in view (the QA panels).
func renderPanelBox(
  title: String, lines: [(String, Style)], selectedLine: Int, _ area: Rect, _ buf: inout Buffer
) {
  let width = min(area.width - 2, max(60, (lines.map { $0.0.displayWidth }.max() ?? 0) + 4))
  let height = min(area.height, lines.count + 2)
  let box = area.centered(width: width, height: height)
  buf.fill(box, with: .blank)
  let inner = Border.draw(box, title: title, style: .bold, in: &buf)
  guard !inner.isEmpty else { return }
  let first = max(0, min(selectedLine - inner.height + 1, lines.count - inner.height))
  for (row, (text, style)) in lines.dropFirst(max(0, first)).prefix(inner.height).enumerated() {
    let r = Rect(x: inner.x, y: inner.y + row, width: inner.width, height: 1)
    if style.attributes.contains(.reverse) { buf.fill(r, style: style) }
    buf.put(" " + text, x: inner.x, y: inner.y + row, style: style, clip: inner)
  }
}
