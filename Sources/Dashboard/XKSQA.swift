import Foundation
import KMSModel
import TerminalUI

/// The QA panel of an external key store (issue 10 §3): the embedded proxy's faults as toggles,
/// and the next connect as the proxy answers now.
public struct XKSQAPanel: Sendable, Equatable {
  public var storeId: String
  /// The faults in force; nil until the proxy told.
  public var faults: Set<XKSQAFault>?
  public var selected: Int = 0
  public var prediction: String?

  public init(storeId: String) { self.storeId = storeId }
}

/// Opens the XKS QA panel on an external key store (the `f` key).
func openXKSQA(_ state: inout DashboardState, _ store: CustomKeyStoresListEntry) -> [Effect] {
  guard let id = store.customKeyStoreId else { return [] }
  guard state.config.xksControl else {
    state.status = StatusMessage(
      "\(store.customKeyStoreName ?? id) is an external key store: its faults are those of its XKS proxy (kmsdash fault --xks-proxy URL …)",
      kind: .error)
    return []
  }
  state.overlay = .xksQA(XKSQAPanel(storeId: id))
  return [.loadXKSFaults(storeId: id), .predictConnect(storeId: id)]
}

/// The panel's answers: the proxy's faults, or why they cannot be read.
func receiveXKSFaults(_ state: inout DashboardState, storeId: String, _ faults: Set<XKSQAFault>) -> [Effect] {
  if case .xksQA(var panel) = state.overlay, panel.storeId == storeId {
    panel.faults = faults
    state.overlay = .xksQA(panel)
  }
  return []
}

func handleXKSQAKey(_ state: inout DashboardState, _ key: Key, _ panel: XKSQAPanel) -> [Effect] {
  var p = panel
  let items = XKSQAFault.allCases
  guard let command = KeyTable.command(for: key, in: .qa) else { return [] }
  switch command {
  case .close:
    state.overlay = nil
    return []
  case .moveDown: p.selected = min(p.selected + 1, items.count - 1)
  case .moveUp: p.selected = max(0, p.selected - 1)
  case .first: p.selected = 0
  case .last: p.selected = items.count - 1
  case .toggleItem:
    if state.config.readOnly {
      state.status = StatusMessage("Read-only mode: fault injection is disabled", kind: .error)
      break
    }
    guard let faults = p.faults else { break }
    let fault = items[p.selected]
    let enabled = !faults.contains(fault)
    let name = state.store(id: p.storeId)?.customKeyStoreName ?? p.storeId
    state.status = StatusMessage(
      "\(enabled ? "Setting" : "Clearing") \(fault.rawValue) on the proxy of \(name)…")
    p.prediction = nil
    state.overlay = .xksQA(p)
    return [.setXKSFault(fault, enabled: enabled, storeId: p.storeId)]
  case .connect, .disconnect:
    if let s = state.store(id: p.storeId) {
      state.overlay = nil
      return request(command == .connect ? .connect : .disconnect, store: s, &state)
    }
  default: break
  }
  state.overlay = .xksQA(p)
  return []
}

func renderXKSQA(_ state: DashboardState, _ panel: XKSQAPanel, _ area: Rect, _ buf: inout Buffer) {
  let store = state.store(id: panel.storeId)
  var lines: [(String, Style)] = []
  let label = store?.connectionState == .failed ? "Next connect (after disconnect): " : "Next connect: "
  lines.append((label + (panel.prediction ?? "asking the proxy…"), .bold))
  lines.append(("", .plain))
  lines.append(("Faults of the XKS proxy", .bold))
  var selectedLine = 0
  for (i, fault) in XKSQAFault.allCases.enumerated() {
    let mark = panel.faults.map { $0.contains(fault) ? "x" : " " } ?? "?"
    if i == panel.selected { selectedLine = lines.count }
    lines.append(
      (
        "[\(mark)] \(fault.rawValue.padded(toWidth: 30)) \(fault.summary)",
        i == panel.selected ? Style(attributes: .reverse) : .plain
      ))
  }
  let endpoint = store?.xksProxyConfiguration?.uriEndpoint ?? ""
  let title = "QA: XKS proxy \(endpoint) of \(store?.customKeyStoreName ?? panel.storeId)"
  renderPanelBox(title: title, lines: lines, selectedLine: selectedLine, area, &buf)
}
