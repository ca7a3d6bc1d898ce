import KMSModel
import TerminalUI

/// One row of the QA panel.
public enum QAItem: Sendable, Equatable {
  case fault(SimulatorFault, enabled: Bool)
  case hsm(id: String, az: String, state: HsmState?)
  case addHsm(az: String)
}

public func qaItems(_ state: DashboardState, _ panel: QAPanel) -> [QAItem] {
  guard let clusterId = panel.clusterId else { return [] }
  let faults = state.snapshot?.faults[clusterId] ?? []
  var items: [QAItem] = SimulatorFault.allCases.map { .fault($0, enabled: faults.contains($0)) }
  let cluster = state.snapshot?.cluster(clusterId)
  for h in (cluster?.hsms ?? []).sorted(by: {
    ($0.availabilityZone ?? "", $0.hsmId) < ($1.availabilityZone ?? "", $1.hsmId)
  }) {
    items.append(.hsm(id: h.hsmId, az: h.availabilityZone ?? "?", state: h.state))
  }
  let azs = Set((cluster?.subnetMapping ?? [:]).keys).union(cluster?.availabilityZones ?? []).sorted()
  for az in azs { items.append(.addHsm(az: az)) }
  return items
}

func openQA(_ state: inout DashboardState) -> [Effect] {
  guard state.config.simulator else {
    state.status = StatusMessage(
      "The QA panel needs the simulator (embedded engine or kmsdash serve)", kind: .error)
    return []
  }
  guard let s = state.selectedStore, let id = s.customKeyStoreId else { return [] }
  guard let cluster = s.cloudHsmClusterId else {
    state.status = StatusMessage(
      "\(s.customKeyStoreName ?? id) is an external key store: faults apply to CloudHSM clusters",
      kind: .error)
    return []
  }
  state.overlay = .qa(QAPanel(storeId: id, clusterId: cluster))
  return [.predictConnect(storeId: id)]
}

func handleQAKey(_ state: inout DashboardState, _ key: Key, _ panel: QAPanel) -> [Effect] {
  var p = panel
  let items = qaItems(state, p)
  guard let command = KeyTable.command(for: key, in: .qa) else { return [] }
  switch command {
  case .close:
    state.overlay = nil
    return []
  case .moveDown: p.selected = min(p.selected + 1, max(0, items.count - 1))
  case .moveUp: p.selected = max(0, p.selected - 1)
  case .first: p.selected = 0
  case .last: p.selected = max(0, items.count - 1)
  case .toggleItem, .deleteHsm:
    let delete = command == .deleteHsm
    guard p.selected < items.count, let cluster = p.clusterId else { break }
    if state.config.readOnly {
      state.status = StatusMessage("Read-only mode: fault injection is disabled", kind: .error)
      break
    }
    let item = items[p.selected]
    state.overlay = .qa(p)
    switch item {
    case .fault(let f, let enabled):
      guard !delete else { return [] }
      state.status = StatusMessage("\(enabled ? "Clearing" : "Setting") fault \(f.rawValue) on \(cluster)…")
      return [.setFault(f, enabled: !enabled, clusterId: cluster)]
    case .hsm(let id, _, let st):
      if delete {
        state.status = StatusMessage("Deleting \(id)…")
        return [.deleteHsm(clusterId: cluster, hsmId: id)]
      }
      let fail = st == .active
      state.status = StatusMessage("\(fail ? "Failing" : "Restoring") \(id)…")
      return [.setHsmFailed(clusterId: cluster, hsmId: id, failed: fail)]
    case .addHsm(let az):
      guard !delete else { return [] }
      state.status = StatusMessage("Creating an HSM in \(az)…")
      return [.createHsm(clusterId: cluster, availabilityZone: az)]
    }
  case .connect, .disconnect:
    if let s = state.store(id: p.storeId) {
      state.overlay = nil
      return request(command == .connect ? .connect : .disconnect, store: s, &state)
    }
  default: break
  }
  state.overlay = .qa(p)
  return []
}
