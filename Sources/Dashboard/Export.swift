import Foundation
import KMSModel

/// `:export PATH`: the table on screen (stores after the filter and sort, or the keys of the open
/// store) as JSON (an array of objects) or CSV, by the path's extension.
func exportTable(_ state: inout DashboardState, path: String) -> [Effect] {
  let lower = path.lowercased()
  guard lower.hasSuffix(".json") || lower.hasSuffix(".csv") else {
    state.status = StatusMessage("usage: :export PATH.json or PATH.csv", kind: .error)
    return []
  }
  let (header, rows) = tableRows(state)
  let data = lower.hasSuffix(".csv") ? csv(header, rows) : json(header, rows)
  state.status = StatusMessage("Writing \(rows.count) rows to \(path)…")
  return [.writeFile(path: path, contents: data)]
}

/// `:events PATH`: the event history, oldest first, one JSON object a line, each connect and
/// disconnect outcome with the seconds it took.
func exportEvents(_ state: inout DashboardState, path: String) -> [Effect] {
  guard !path.isEmpty else {
    state.status = StatusMessage("usage: :events PATH", kind: .error)
    return []
  }
  let events = state.snapshot?.events ?? []
  let durations = outcomeDurations(events)
  var out = Data()
  for e in events {
    var object: [String: Any] = [
      "sequence": e.sequence, "date": iso8601(e.date), "kind": e.kind.rawValue, "summary": e.summary,
    ]
    if let v = e.customKeyStoreId { object["customKeyStoreId"] = v }
    if let v = e.clusterId { object["clusterId"] = v }
    if let v = e.connectionState { object["connectionState"] = v.rawValue }
    if let v = e.connectionErrorCode { object["connectionErrorCode"] = v.rawValue }
    if let d = durations[e.sequence] { object["durationSeconds"] = (d * 1000).rounded() / 1000 }
    if let line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
      out.append(line)
      out.append(0x0A)
    }
  }
  state.status = StatusMessage("Writing \(events.count) events to \(path)…")
  return [.writeFile(path: path, contents: out)]
}

/// For each event that ends a connect or a disconnect (CONNECTED, FAILED, DISCONNECTED after
/// CONNECTING / DISCONNECTING), the seconds since the store entered the transient state.
func outcomeDurations(_ events: [FleetEvent]) -> [UInt64: TimeInterval] {
  var started: [String: Date] = [:]
  var out: [UInt64: TimeInterval] = [:]
  for e in events where e.kind == .connectionStateChanged {
    guard let store = e.customKeyStoreId, let st = e.connectionState else { continue }
    if st.isTransient {
      started[store] = e.date
    } else if let since = started.removeValue(forKey: store) {
      out[e.sequence] = e.date.timeIntervalSince(since)
    }
  }
  return out
}

private func iso8601(_ date: Date) -> String {
  let c = Fmt.fields(date, TimeZone(identifier: "UTC")!)
  let p = CivilTime.padded
  return
    "\(p(c.year, 4))-\(p(c.month, 2))-\(p(c.day, 2))T\(p(c.hour, 2)):\(p(c.minute, 2)):\(p(c.second, 2))Z"
}

private func tableRows(_ state: DashboardState) -> ([String], [[String]]) {
  if state.screen.listsKeys {
    let header = [
      "KeyId", "KeyState", "Aliases", "CreationDate", "Description", "CustomKeyStoreId", "KeySpec",
      "KeyUsage",
    ]
    let rows = state.keysOnScreen.map { k in
      [
        k.keyId, k.keyState?.rawValue ?? "",
        (state.snapshot?.aliases(forKey: k.keyId) ?? []).joined(separator: " "),
        k.creationDate.map(iso8601) ?? "", k.description ?? "", state.store(ofKey: k.keyId) ?? "",
        k.keySpec?.rawValue ?? "", k.keyUsage?.rawValue ?? "",
      ]
    }
    return (header, rows)
  }
  let header = [
    "CustomKeyStoreName", "CustomKeyStoreId", "CustomKeyStoreType", "CloudHsmClusterId", "ActiveHsms",
    "TotalHsms",
    "Keys", "ConnectionState", "ConnectionErrorCode", "CreationDate",
  ]
  let rows = state.visibleStores.map { s -> [String] in
    let cluster = state.snapshot?.cluster(s.cloudHsmClusterId)
    let active: String = cluster.map { String($0.activeHsmCount) } ?? ""
    let total: String = cluster.map { String(($0.hsms ?? []).count) } ?? ""
    let keys = String(state.keyCount(inStore: s.customKeyStoreId))
    let created: String = s.creationDate.map(iso8601) ?? ""
    var row: [String] = [s.customKeyStoreName ?? "", s.customKeyStoreId ?? ""]
    row.append(s.customKeyStoreType?.rawValue ?? "AWS_CLOUDHSM")
    row += [s.cloudHsmClusterId ?? "", active, total, keys]
    row += [s.connectionState?.rawValue ?? "", s.connectionErrorCode?.rawValue ?? "", created]
    return row
  }
  return (header, rows)
}

private func json(_ header: [String], _ rows: [[String]]) -> Data {
  let objects = rows.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
  var data =
    (try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .prettyPrinted])) ?? Data()
  data.append(0x0A)
  return data
}

/// RFC 4180 fields; a field a spreadsheet would run as a formula (= + - @) starts with a quote.
private func csv(_ header: [String], _ rows: [[String]]) -> Data {
  func field(_ s: String) -> String {
    var s = s
    if let first = s.first, "=+-@".contains(first) { s = "'" + s }
    if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
      return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return s
  }
  let lines = ([header] + rows).map { $0.map(field).joined(separator: ",") }
  return Data((lines.joined(separator: "\r\n") + "\r\n").utf8)
}
