import Foundation
import KMSModel
import TerminalUI

/// A guided remedy for a `FAILED` store: the documented way out of its `ConnectionErrorCode`
/// (kms-spec §3.4) as steps the user runs one at a time, each result shown as it arrives.
public struct Runbook: Sendable, Equatable {
  public enum Action: Sendable, Equatable {
    /// DisconnectCustomKeyStore; done when the store is DISCONNECTED.
    case disconnect
    /// Fix the cause in the cluster. With the simulator: clear these faults (done when they are
    /// gone); without it the user does it outside kmsdash and skips the step.
    case fixCluster(faults: [SimulatorFault])
    /// Add an HSM in this zone; done when the cluster has an ACTIVE HSM.
    case addHsm(availabilityZone: String)
    /// Set a new kmsuser password in the cluster, typed masked (the simulator's
    /// SetKmsuserPassword; on AWS the CloudHSM CLI, then the user skips the step). Unlocks a
    /// locked-out kmsuser; KMS keeps the old password until the next step.
    case setClusterPassword
    /// UpdateCustomKeyStore KeyStorePassword through the password dialog.
    case setPassword
    /// ConnectCustomKeyStore; done when CONNECTED, failed when FAILED.
    case connect
  }

  public enum Status: Sendable, Equatable {
    case pending, running
    case done(String)
    case failed(String)
    case skipped
  }

  public struct Step: Sendable, Equatable {
    public var title: String
    public var action: Action
    public var status: Status = .pending
  }

  public var storeId: String
  public var storeName: String
  public var clusterId: String?
  public var code: ConnectionErrorCodeType
  public var steps: [Step]
  /// What the next connect would end in (simulator only), refreshed with the fleet.
  public var prediction: String?
  /// The password the cluster step set, offered to the UpdateCustomKeyStore step; forgotten once
  /// KMS has it.
  public var clusterPassword: Secret?

  /// The first step not yet done or skipped.
  public var current: Int? {
    steps.firstIndex { s in
      switch s.status {
      case .pending, .running, .failed: true
      case .done, .skipped: false
      }
    }
  }

  public var finished: Bool { current == nil }
}

/// The cluster faults behind each code, in the simulator's terms.
private func faults(for code: ConnectionErrorCodeType) -> [SimulatorFault] {
  switch code {
  case .internalError: [.internalError]
  case .networkErrors: [.networkErrors]
  case .invalidCredentials: [.kmsuserPasswordChanged]
  case .clusterNotFound: [.clusterDeleted]
  case .insufficientFreeAddressesInSubnet: [.subnetFull]
  case .subnetNotFound: [.subnetDeleted]
  case .userLockedOut: [.kmsuserLockedOut]
  case .userLoggedIn: [.kmsuserLoggedIn]
  case .userNotFound: [.kmsuserMissing]
  default: []
  }
}

/// What the user does in the cluster for each code.
private func fixTitle(_ code: ConnectionErrorCodeType) -> String {
  switch code {
  case .internalError: "Wait for the internal error to clear"
  case .networkErrors: "Wait a few minutes for the network errors to clear"
  case .invalidCredentials: "Set a known kmsuser password in the cluster"
  case .clusterNotFound: "Restore the cluster from a backup (then point the store at it)"
  case .insufficientFreeAddressesInSubnet: "Free IP addresses in the cluster's subnets"
  case .subnetNotFound: "Recreate the cluster in valid subnets from a backup"
  case .userLockedOut: "Set a new kmsuser password in the cluster (unlocks it)"
  case .userLoggedIn: "Log kmsuser out of the cluster"
  case .userNotFound: "Create the kmsuser crypto user in the cluster"
  case .insufficientCloudhsmHsms: "Add an HSM to the cluster"
  default: "Fix the external key store proxy: " + code.remedy
  }
}

/// The steps of the remedy for `code` on `store`.
func makeRunbook(_ s: CustomKeyStoresListEntry, code: ConnectionErrorCodeType, _ state: DashboardState)
  -> Runbook
{
  let id = s.customKeyStoreId ?? ""
  var steps = [Runbook.Step(title: "Disconnect the store (clears the error code)", action: .disconnect)]
  let cluster = state.snapshot?.cluster(s.cloudHsmClusterId)
  if code == .insufficientCloudhsmHsms {
    let az =
      cluster.map { Set(($0.subnetMapping ?? [:]).keys).union($0.availabilityZones).sorted() }?.first
      ?? "us-east-1a"
    steps.append(.init(title: "Add an HSM in \(az)", action: .addHsm(availabilityZone: az)))
  } else if [.invalidCredentials, .userLockedOut].contains(code) {
    steps.append(
      .init(title: "Set a new kmsuser password in the cluster (typed masked)", action: .setClusterPassword))
  } else {
    let present = faults(for: code).filter {
      state.snapshot?.faults[s.cloudHsmClusterId ?? ""]?.contains($0) == true
    }
    steps.append(.init(title: fixTitle(code), action: .fixCluster(faults: present)))
  }
  if [.invalidCredentials, .userLockedOut, .userNotFound].contains(code) {
    steps.append(.init(title: "Tell KMS the kmsuser password (UpdateCustomKeyStore)", action: .setPassword))
  }
  steps.append(.init(title: "Connect the store", action: .connect))
  return Runbook(
    storeId: id, storeName: s.customKeyStoreName ?? id, clusterId: s.cloudHsmClusterId, code: code,
    steps: steps)
}

/// `R` / `:remedy`: opens the runbook of a FAILED store (or the one already under way).
func openRunbook(_ s: CustomKeyStoresListEntry, _ state: inout DashboardState) -> [Effect] {
  let id = s.customKeyStoreId ?? ""
  if let rb = state.runbook, rb.storeId == id {
    state.overlay = .runbook
    return state.config.simulator ? [.predictConnect(storeId: id)] : []
  }
  if refusedReadOnly(.connect, &state) { return [] }
  guard s.connectionState == .failed, let code = s.connectionErrorCode else {
    state.status = StatusMessage(
      "\(s.customKeyStoreName ?? id) is \(s.connectionState?.rawValue ?? "?"): a guided remedy is for a FAILED store",
      kind: .error)
    return []
  }
  state.runbook = makeRunbook(s, code: code, state)
  state.overlay = .runbook
  return state.config.simulator ? [.predictConnect(storeId: id)] : []
}

/// Keys on the runbook.
func handleRunbookKey(_ state: inout DashboardState, _ key: Key) -> [Effect] {
  guard var rb = state.runbook else {
    state.overlay = nil
    return []
  }
  switch KeyTable.command(for: key, in: .runbook) {
  case .close?:
    state.overlay = nil
    if rb.finished { state.runbook = nil }
    return []
  case .skipStep?:
    guard let i = rb.current else { return [] }
    rb.steps[i].status = .skipped
    state.runbook = rb
    state.status = StatusMessage("Skipped: \(rb.steps[i].title)")
    return []
  case .runStep?:
    return runStep(&state, &rb)
  default:
    return []
  }
}

private func runStep(_ state: inout DashboardState, _ rb: inout Runbook) -> [Effect] {
  defer { state.runbook = rb }
  guard let i = rb.current else {
    state.overlay = nil
    state.status = StatusMessage("The remedy is complete")
    return []
  }
  if refusedReadOnly(.connect, &state) { return [] }
  if rb.steps[i].status == .running {
    state.status = StatusMessage("Waiting for: \(rb.steps[i].title)")
    return []
  }
  guard let store = state.store(id: rb.storeId), let id = CustomKeyStoreID(rawValue: rb.storeId) else {
    rb.steps[i].status = .failed("the store no longer exists")
    return []
  }
  // The connect failed again: the remedy starts over for the code it failed with.
  if case .failed = rb.steps[i].status, rb.steps[i].action == .connect, store.connectionState == .failed,
    let code = store.connectionErrorCode
  {
    rb = makeRunbook(store, code: code, state)
    state.status = StatusMessage(
      "\(rb.storeName) FAILED with \(code.rawValue): a new remedy, from its first step")
    return state.config.simulator ? [.predictConnect(storeId: rb.storeId)] : []
  }
  switch rb.steps[i].action {
  case .disconnect:
    if store.connectionState == .disconnected {
      rb.steps[i].status = .done("already DISCONNECTED")
      return []
    }
    rb.steps[i].status = .running
    return [.perform(.disconnect(id))]
  case .fixCluster(let faults):
    guard state.config.simulator, let cluster = rb.clusterId, !faults.isEmpty else {
      state.status = StatusMessage("Do this outside kmsdash, then press s to go on")
      return []
    }
    rb.steps[i].status = .running
    return faults.map { .setFault($0, enabled: false, clusterId: cluster) }
  case .addHsm(let az):
    guard state.config.simulator, let cluster = rb.clusterId else {
      state.status = StatusMessage("Add the HSM with the CloudHSM console or CLI, then press s to go on")
      return []
    }
    rb.steps[i].status = .running
    return [.createHsm(clusterId: cluster, availabilityZone: az)]
  case .setClusterPassword:
    guard state.config.simulator, let cluster = rb.clusterId else {
      state.status = StatusMessage(
        "Do this outside kmsdash (CloudHSM CLI: user change-password --username kmsuser --role crypto-user), then press s"
      )
      return []
    }
    rb.steps[i].status = .running
    state.overlay = .dialog(
      ConfirmDialog(
        kind: .setClusterPassword(clusterId: cluster), storeId: rb.storeId, storeName: rb.storeName,
        title: "Set the kmsuser password in the cluster",
        body: [
          "Set a new password for the kmsuser crypto user in \(cluster), as an administrator would with the CloudHSM CLI. This unlocks a locked-out kmsuser.",
          "KMS keeps the old password until the next step tells it the new one.",
        ], fields: [DialogField(.password, "new kmsuser password: ", .secret)], okLabel: "Set"))
    return []
  case .setPassword:
    guard store.connectionState == .disconnected else {
      state.status = StatusMessage(
        "Disconnect first: the password is set only on a DISCONNECTED store", kind: .error)
      return []
    }
    rb.steps[i].status = .running
    return requestChangePassword(store, &state, known: rb.clusterPassword)
  case .connect:
    rb.steps[i].status = .running
    return [.perform(.connect(id))]
  }
}

/// After the fleet changed: steps waiting for a state are done (or failed) when it shows.
func runbookProgress(_ state: inout DashboardState) {
  guard var rb = state.runbook, let i = rb.current, rb.steps[i].status == .running else { return }
  guard let store = state.store(id: rb.storeId) else {
    rb.steps[i].status = .failed("the store no longer exists")
    state.runbook = rb
    return
  }
  let cluster = state.snapshot?.cluster(rb.clusterId)
  switch rb.steps[i].action {
  case .disconnect:
    if store.connectionState == .disconnected { rb.steps[i].status = .done("DISCONNECTED") }
  case .fixCluster(let faults):
    let present = state.snapshot?.faults[rb.clusterId ?? ""] ?? []
    if faults.allSatisfy({ !present.contains($0) }) {
      rb.steps[i].status = .done("cleared: " + faults.map(\.rawValue).joined(separator: ", "))
    }
  case .addHsm:
    if let cluster, cluster.activeHsmCount > 0 { rb.steps[i].status = .done("\(hsmSummary(cluster)) ACTIVE") }
  case .setPassword, .setClusterPassword:
    break  // done when the call is answered
  case .connect:
    if store.connectionState == .connected {
      rb.steps[i].status = .done("CONNECTED")
      state.status = StatusMessage("\(rb.storeName) is CONNECTED: the remedy is complete")
    } else if store.connectionState == .failed {
      rb.steps[i].status = .failed(
        "FAILED (\(store.connectionErrorCode?.rawValue ?? "?")); Enter starts the remedy for that code")
    }
  }
  state.runbook = rb
}

/// After an operation the runbook started was accepted or refused.
func runbookAfter(_ state: inout DashboardState, _ op: FleetOperation, failed: String?) -> [Effect] {
  guard var rb = state.runbook, let i = rb.current, rb.steps[i].status == .running,
    op.storeId?.rawValue == rb.storeId
  else { return [] }
  switch (rb.steps[i].action, op) {
  case (.setPassword, .setStorePassword):
    rb.steps[i].status = failed.map { .failed($0) } ?? .done("KeyStorePassword updated")
    if failed == nil { rb.clusterPassword = nil }  // KMS has it now
    state.overlay = .runbook
  case (.disconnect, .disconnect), (.connect, .connect):
    if let failed { rb.steps[i].status = .failed(failed) }
  default:
    return []
  }
  state.runbook = rb
  return state.config.simulator ? [.predictConnect(storeId: rb.storeId)] : []
}

/// The cluster step's dialog was confirmed: the password goes to the simulator, and is kept for
/// the UpdateCustomKeyStore step.
func runbookSetClusterPassword(_ state: inout DashboardState, clusterId: String, _ password: Secret)
  -> [Effect]
{
  state.overlay = state.runbook == nil ? nil : .runbook
  if refusedReadOnly(.changePassword, &state) { return [] }
  state.runbook?.clusterPassword = password
  state.status = StatusMessage("Setting the kmsuser password in \(clusterId)…")
  return [.setKmsuserPassword(clusterId: clusterId, password: password)]
}

/// The simulator answered the cluster step.
func runbookClusterPasswordSet(_ state: inout DashboardState, clusterId: String, error: String?) -> [Effect] {
  if let error {
    state.status = StatusMessage(
      "Setting the kmsuser password in \(clusterId) failed: \(error)", kind: .error)
  } else {
    state.status = StatusMessage(
      "kmsuser password set in \(clusterId); KMS still has the old one until UpdateCustomKeyStore")
  }
  guard var rb = state.runbook, let i = rb.current, rb.steps[i].status == .running,
    rb.steps[i].action == .setClusterPassword, rb.clusterId == clusterId
  else { return [] }
  if let error {
    rb.steps[i].status = .failed(error)
    rb.clusterPassword = nil
  } else {
    rb.steps[i].status = .done("set in \(clusterId) (kmsuser unlocked)")
  }
  state.runbook = rb
  return state.config.simulator ? [.predictConnect(storeId: rb.storeId)] : []
}

/// A runbook step's dialog was cancelled: back to the runbook, the step pending.
func runbookDialogCancelled(_ state: inout DashboardState, _ dialog: ConfirmDialog) {
  guard var rb = state.runbook, let i = rb.current, rb.steps[i].status == .running,
    rb.steps[i].action == .setPassword || rb.steps[i].action == .setClusterPassword,
    dialog.storeId == rb.storeId
  else { return }
  rb.steps[i].status = .pending
  state.runbook = rb
  state.overlay = .runbook
}

/// The runbook's lines as the overlay shows them.
func runbookLines(_ rb: Runbook, simulator: Bool) -> [(String, Style)] {
  var lines: [(String, Style)] = [
    ("\(rb.storeName) (\(rb.storeId)) FAILED: \(rb.code.rawValue)", .bold),
    (rb.code.meaning, .plain),
    ("", .plain),
  ]
  let current = rb.current
  for (i, step) in rb.steps.enumerated() {
    let mark: String
    var result = ""
    switch step.status {
    case .pending: mark = i == current ? "▶" : "○"
    case .running:
      mark = "…"
      result = " (running)"
    case .done(let text):
      mark = "✓"
      result = ": \(text)"
    case .failed(let text):
      mark = "✗"
      result = ": \(text)"
    case .skipped:
      mark = "–"
      result = " (skipped)"
    }
    var title = step.title
    if case .fixCluster(let faults) = step.action, simulator, !faults.isEmpty {
      title += " [simulator: clear " + faults.map(\.rawValue).joined(separator: ", ") + "]"
    }
    lines.append(("\(mark) \(i + 1). \(title)\(result)", i == current ? .bold : .plain))
  }
  lines.append(("", .plain))
  if simulator { lines.append(("Next connect: " + (rb.prediction ?? "…"), .bold)) }
  if let i = current, rb.steps[i].action == .setPassword, rb.steps[i].status == .pending,
    rb.prediction == ConnectPrediction.connects.description
  {
    lines.append(("The next connect already succeeds with the password KMS has: s skips this step.", .plain))
  }
  lines.append(
    (
      rb.finished
        ? "Done. Esc closes." : "Enter runs the step, s skips it (done outside kmsdash), Esc closes.", .dim
    ))
  return lines
}
