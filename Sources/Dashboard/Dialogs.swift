import Foundation
import KMSModel
import TerminalUI

/// What a dialog asks the user to confirm.
public enum DialogAction: String, Sendable, Hashable, CaseIterable {
  case connect, disconnect
  case enableKey, disableKey, scheduleKeyDeletion, cancelKeyDeletion, createKey, addAlias, removeAlias
  case createStore, renameStore, changePassword, deleteStore

  /// The AWS operation, as status lines name it.
  public var operation: String {
    switch self {
    case .connect: "ConnectCustomKeyStore"
    case .disconnect: "DisconnectCustomKeyStore"
    case .enableKey: "EnableKey"
    case .disableKey: "DisableKey"
    case .scheduleKeyDeletion: "ScheduleKeyDeletion"
    case .cancelKeyDeletion: "CancelKeyDeletion"
    case .createKey: "CreateKey"
    case .addAlias: "CreateAlias"
    case .removeAlias: "DeleteAlias"
    case .createStore: "CreateCustomKeyStore"
    case .renameStore, .changePassword: "UpdateCustomKeyStore"
    case .deleteStore: "DeleteCustomKeyStore"
    }
  }
}

/// The older name of the connect / disconnect actions.
public typealias StoreAction = DialogAction

/// One option of a choice field; `unusable` says why it cannot be chosen.
public struct DialogChoice: Sendable, Equatable {
  public var value: String
  public var label: String
  public var unusable: String?
}

/// An input line of a dialog.
public struct DialogField: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    case text
    /// Typed masked; never shown, never logged.
    case secret
    /// Typed confirmation: the text must be one of `accepted`.
    case confirmation(accepted: [String])
    /// One of a list, changed with Space.
    case choice([DialogChoice])
  }

  public enum Name: String, Sendable, Equatable {
    case confirmation, days, description, alias, name, cluster, trustAnchor, password
  }

  public var name: Name
  public var label: String
  public var kind: Kind
  public var input: TextInput
  public var choice = 0

  public init(_ name: Name, _ label: String, _ kind: Kind = .text, text: String = "") {
    self.name = name
    self.label = label
    self.kind = kind
    self.input = TextInput(text)
  }

  var typesText: Bool {
    if case .choice = kind { return false }
    return true
  }

  var chosen: DialogChoice? {
    guard case .choice(let options) = kind, options.indices.contains(choice) else { return nil }
    return options[choice]
  }

  var value: String { chosen?.value ?? input.text }
}

/// A confirmation dialog. Its targets (store, key, alias) are captured when it opens: a refresh
/// of the table underneath cannot retarget it. Cancel has the focus when it opens.
public struct ConfirmDialog: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// Confirm `action` on the captured targets.
    case confirm(DialogAction)
    /// The state forbids connecting (FAILED): explain, and offer to disconnect first.
    case offerDisconnect
    /// A runbook step: set the kmsuser password in this (simulated) cluster.
    case setClusterPassword(clusterId: String)
  }

  public var kind: Kind
  public var storeId: String
  public var storeName: String
  /// The key the dialog acts on (key actions).
  public var keyId: String?
  public var title: String
  public var body: [String]
  public var fields: [DialogField] = []
  /// The field that receives typed keys.
  public var activeField = 0
  /// 0 = Cancel (the default focus), 1 = the action.
  public var focused: Int = 0
  public var okLabel: String

  public init(
    kind: Kind, storeId: String, storeName: String, keyId: String? = nil, title: String, body: [String],
    fields: [DialogField] = [], okLabel: String
  ) {
    self.kind = kind
    self.storeId = storeId
    self.storeName = storeName
    self.keyId = keyId
    self.title = title
    self.body = body
    self.fields = fields
    self.okLabel = okLabel
    // Typing goes first to the typed confirmation, if there is one (other fields have defaults).
    activeField =
      fields.firstIndex {
        if case .confirmation = $0.kind { return true }
        return false
      } ?? fields.firstIndex { $0.typesText } ?? 0
  }

  /// True when the dialog has a field letters are typed into.
  public var hasTextField: Bool { fields.contains { $0.typesText } }

  func field(_ name: DialogField.Name) -> DialogField? { fields.first { $0.name == name } }

  /// Why OK cannot be accepted yet; nil when it can.
  public var problem: String? {
    for f in fields {
      switch f.kind {
      case .confirmation(let accepted):
        if !accepted.contains(f.input.text) {
          return "Type " + accepted.map { "\"\($0)\"" }.joined(separator: " or ") + " to confirm"
        }
      case .choice(let options):
        guard let c = f.chosen else { return "\(f.label) has no option to choose (\(options.count))" }
        if let why = c.unusable { return "\(c.value) cannot be used: \(why)" }
      case .secret:
        let n = f.input.text.count
        if n < 7 || n > 32 { return "The kmsuser password must have 7 to 32 characters (it has \(n))" }
      case .text:
        break
      }
    }
    guard case .confirm(let action) = kind else { return nil }
    switch action {
    case .scheduleKeyDeletion:
      let text = field(.days)?.input.text ?? ""
      guard let days = Int(text), (7...30).contains(days) else {
        return "The waiting period is 7 to 30 days (\"\(text)\" is not)"
      }
    case .createKey, .addAlias:
      let alias = field(.alias)?.input.text ?? ""
      if alias.isEmpty {
        if action == .addAlias { return "Type the alias name (alias/…)" }
      } else if let e = validationError(CreateAliasRequest(aliasName: alias, targetKeyId: keyId ?? "x")) {
        return e
      } else if alias.hasPrefix("alias/aws/") {
        return "alias/aws/ is reserved for AWS managed keys"
      }
      if let e = validationError(CreateKeyRequest(description: field(.description)?.input.text)) { return e }
    case .createStore, .renameStore:
      let name = field(.name)?.input.text ?? ""
      if name.trimmingCharacters(in: .whitespaces).isEmpty { return "Type the store's name" }
      if name.count > 256 { return "A store name has at most 256 characters" }
      if action == .renameStore && name == storeName { return "The new name is the current name" }
      if action == .createStore && (field(.trustAnchor)?.input.text ?? "").isEmpty {
        return "Type the path of the trust anchor certificate (customerCA.crt)"
      }
    default: break
    }
    return nil
  }

  /// The operation OK runs, with the captured targets and the fields' values.
  public var operation: FleetOperation? {
    guard case .confirm(let action) = kind, problem == nil else { return nil }
    let store = CustomKeyStoreID(rawValue: storeId)
    let key = keyId.flatMap { KeyID(rawValue: $0) }
    switch action {
    case .connect: return store.map { .connect($0) }
    case .disconnect: return store.map { .disconnect($0) }
    case .enableKey: return key.map { .enableKey($0) }
    case .disableKey: return key.map { .disableKey($0) }
    case .scheduleKeyDeletion:
      guard let key, let days = Int(field(.days)?.input.text ?? "") else { return nil }
      return .scheduleKeyDeletion(key, days: days)
    case .cancelKeyDeletion: return key.map { .cancelKeyDeletion($0) }
    case .createKey:
      guard let store else { return nil }
      let alias = AliasName(rawValue: field(.alias)?.input.text ?? "")
      return .createKey(store, description: field(.description)?.input.text ?? "", alias: alias)
    case .addAlias:
      guard let key, let alias = AliasName(rawValue: field(.alias)?.input.text ?? "") else { return nil }
      return .createAlias(alias, key: key)
    case .removeAlias:
      return AliasName(rawValue: field(.alias)?.value ?? "").map { .deleteAlias($0) }
    case .createStore:
      guard let name = field(.name)?.input.text,
        let cluster = ClusterID(rawValue: field(.cluster)?.value ?? "")
      else { return nil }
      return .createStore(
        name: name, cluster: cluster, trustAnchorPath: field(.trustAnchor)?.input.text ?? "",
        password: Secret(field(.password)?.input.text ?? ""))
    case .renameStore:
      guard let store, let name = field(.name)?.input.text else { return nil }
      return .renameStore(store, name: name)
    case .changePassword:
      guard let store else { return nil }
      return .setStorePassword(store, Secret(field(.password)?.input.text ?? ""))
    case .deleteStore: return store.map { .deleteStore($0) }
    }
  }
}

private func validationError<R: AWSValidatable>(_ request: R) -> String? {
  do {
    try request.validate()
    return nil
  } catch {
    return error.message
  }
}

// MARK: - Key handling

/// What the dialog asks its parent to do after a key.
enum DialogOutcome: Equatable {
  case stay(ConfirmDialog)
  case cancelled
  /// OK pressed on a dialog whose problem prevents it: keep it open and say why.
  case refused(ConfirmDialog, String)
  case confirmed(ConfirmDialog)
}

extension ConfirmDialog {
  /// The dialog's own small update: keys edit fields and move focus; the parent maps the outcome
  /// to effects.
  func handle(_ key: Key) -> DialogOutcome {
    var d = self
    let command = KeyTable.command(for: key, in: .dialog, textField: hasTextField)
    func ok() -> DialogOutcome {
      if d.kind != .offerDisconnect, let why = d.problem { return .refused(d, why) }
      return .confirmed(d)
    }
    // Keys a choice field uses before anything else.
    if d.fields.indices.contains(d.activeField), !d.fields[d.activeField].typesText,
      case .choice(let options) = d.fields[d.activeField].kind, !options.isEmpty
    {
      switch key {
      case .char(" "), .right:
        d.fields[d.activeField].choice = (d.fields[d.activeField].choice + 1) % options.count
        return .stay(d)
      case .left:
        d.fields[d.activeField].choice = (d.fields[d.activeField].choice + options.count - 1) % options.count
        return .stay(d)
      default: break
      }
    }
    switch command {
    case .cancel?: return .cancelled
    case .pressFocused?: return d.focused == 1 ? ok() : .cancelled
    case .confirm?: return ok()
    case .switchButton?:
      d.focused = 1 - d.focused
      return .stay(d)
    case .nextField?:
      if !d.fields.isEmpty { d.activeField = (d.activeField + 1) % d.fields.count }
      return .stay(d)
    case .previousField?:
      if !d.fields.isEmpty { d.activeField = (d.activeField + d.fields.count - 1) % d.fields.count }
      return .stay(d)
    default:
      break
    }
    if d.fields.indices.contains(d.activeField), d.fields[d.activeField].typesText {
      _ = d.fields[d.activeField].input.handle(key)
    }
    return .stay(d)
  }
}

/// Applies a key to the open dialog and maps its outcome to effects.
func handleDialogKey(_ state: inout DashboardState, _ key: Key, _ dialog: ConfirmDialog) -> [Effect] {
  switch dialog.handle(key) {
  case .stay(let d):
    state.overlay = .dialog(d)
    return []
  case .cancelled:
    state.overlay = nil
    state.status = StatusMessage("Cancelled; nothing changed")
    runbookDialogCancelled(&state, dialog)
    return []
  case .refused(let d, let why):
    state.overlay = .dialog(d)
    state.status = StatusMessage(why, kind: .error)
    return []
  case .confirmed(let d):
    state.overlay = nil
    switch d.kind {
    case .setClusterPassword(let clusterId):
      return runbookSetClusterPassword(
        &state, clusterId: clusterId, Secret(d.field(.password)?.input.text ?? ""))
    case .offerDisconnect:
      if let s = state.store(id: d.storeId) {
        state.overlay = .dialog(makeConfirmDialog(.disconnect, store: s, id: d.storeId, state))
      } else {
        state.status = StatusMessage("\(d.storeId) no longer exists", kind: .error)
      }
      return []
    case .confirm(let action):
      if state.config.readOnly {
        state.status = StatusMessage("Read-only mode: \(action.operation) is disabled", kind: .error)
        return []
      }
      guard let op = d.operation else {
        state.status = StatusMessage("\(action.operation): nothing to do", kind: .error)
        return []
      }
      let what =
        d.keyId.map(state.ownID)
        ?? (d.storeId.isEmpty ? op.target : "\(d.storeName) (\(state.storeLabel(d.storeId)))")
      state.status = StatusMessage("\(action.operation) requested for \(what)…")
      return [.perform(op)]
    }
  }
}

// MARK: - Store dialogs

/// A phrase for a list of aliases: "no aliases", "alias a", "aliases a, b and 3 more".
func aliasPhrase(_ aliases: [String]) -> String {
  if aliases.isEmpty { return "no aliases" }
  if aliases.count > 5 {
    return "aliases " + aliases.prefix(5).joined(separator: ", ") + " and \(aliases.count - 5) more"
  }
  return (aliases.count == 1 ? "alias " : "aliases ") + aliases.joined(separator: ", ")
}

/// The typed-confirmation field `--confirm typed` adds to a dialog (the store name).
private func typedField(_ state: DashboardState, name: String) -> [DialogField] {
  state.config.confirm == .typed
    ? [DialogField(.confirmation, "Name: ", .confirmation(accepted: [name]))] : []
}

func makeConfirmDialog(
  _ action: DialogAction, store s: CustomKeyStoresListEntry, id: String, _ state: DashboardState
) -> ConfirmDialog {
  let name = s.customKeyStoreName ?? id
  var body: [String]
  switch action {
  case .disconnect:
    let affected = state.keys(inStore: id).filter { $0.keyState != .pendingDeletion }
    let aliases = affected.flatMap { (state.snapshot?.aliases(forKey: $0.keyId) ?? []).map(state.ownID) }
    body = [
      "Disconnect \(name) (\(state.storeLabel(id)))?",
      "\(affected.count) KMS key\(affected.count == 1 ? "" : "s") become Unavailable (\(aliasPhrase(aliases))).",
      "Creating keys in this store and all cryptographic operations with its keys will fail until it is connected again.",
    ]
  default:
    body = [
      "Connect \(name) (\(state.storeLabel(id)))?",
      "The store shows CONNECTING, then CONNECTED, or FAILED with a connection error code. In AWS a CloudHSM connect can take up to 20 minutes.",
    ]
  }
  let fields = typedField(state, name: name)
  if !fields.isEmpty { body.append("Type the store name to confirm.") }
  let verb = action == .disconnect ? "Disconnect" : "Connect"
  return ConfirmDialog(
    kind: .confirm(action == .disconnect ? .disconnect : .connect), storeId: id, storeName: name,
    title: "\(verb) custom key store", body: body, fields: fields, okLabel: verb)
}

/// Refuses an action under `--read-only`, with the reason in the status line.
func refusedReadOnly(_ action: DialogAction, _ state: inout DashboardState) -> Bool {
  guard state.config.readOnly else { return false }
  state.status = StatusMessage(
    "Read-only mode: \(action.operation) is disabled (started with --read-only)", kind: .error)
  return true
}

/// Opens the connect / disconnect dialog, or explains why the state forbids it.
func request(_ action: DialogAction, store s: CustomKeyStoresListEntry, _ state: inout DashboardState)
  -> [Effect]
{
  guard let id = actionableStoreId(s, &state) else { return [] }
  let name = s.customKeyStoreName ?? id
  if refusedReadOnly(action, &state) { return [] }
  let st = s.connectionState
  switch (action, st) {
  case (.connect, .failed):
    let code = s.connectionErrorCode?.rawValue ?? "unknown error"
    state.overlay = .dialog(
      ConfirmDialog(
        kind: .offerDisconnect, storeId: id, storeName: name, title: "Cannot connect \(name)",
        body: [
          "\(name) (\(state.storeLabel(id))) is FAILED (\(code)). A FAILED store must be disconnected first; connecting it now would fail with CustomKeyStoreInvalidStateException.",
          s.connectionErrorCode.map { "Remedy: \($0.remedy) (R walks it step by step)" } ?? "",
          "Disconnect it first?",
        ].filter { !$0.isEmpty }, okLabel: "Disconnect…"))
    return []
  case (.connect, .disconnecting):
    state.status = StatusMessage(
      "Cannot connect \(name): it is DISCONNECTING; wait until it is DISCONNECTED", kind: .error)
    return []
  case (.connect, .connected), (.connect, .connecting):
    state.status = StatusMessage("\(name) is already \(st!.rawValue): nothing to connect")
    return []
  case (.disconnect, .disconnected), (.disconnect, .disconnecting):
    state.status = StatusMessage("Cannot disconnect \(name): it is already \(st!.rawValue)", kind: .error)
    return []
  default: break
  }
  state.overlay = .dialog(makeConfirmDialog(action, store: s, id: id, state))
  return []
}

/// Why a cluster cannot back a new store (kms-spec §4.1), nil when it can.
func clusterUnusable(_ c: Cluster, _ state: DashboardState) -> String? {
  if let user = state.stores.first(where: { $0.cloudHsmClusterId == c.clusterId }) {
    return "in use by \(user.customKeyStoreName ?? user.customKeyStoreId ?? "a store")"
  }
  if c.state != .active { return "not ACTIVE (\(c.state?.rawValue ?? "?"))" }
  let activeAZs = Set((c.hsms ?? []).filter { $0.state == .active }.compactMap(\.availabilityZone))
  if activeAZs.count < 2 { return "fewer than two ACTIVE HSMs in different Availability Zones" }
  return nil
}

/// Opens the create-store dialog: name, a cluster (each unusable one with its reason), the trust
/// anchor file and the kmsuser password (masked).
func requestCreateStore(_ state: inout DashboardState, name: String = "") -> [Effect] {
  if refusedReadOnly(.createStore, &state) { return [] }
  let clusters = (state.snapshot?.clusters ?? []).sorted {
    (clusterUnusable($0, state) != nil ? 1 : 0, $0.clusterId ?? "")
      < (clusterUnusable($1, state) != nil ? 1 : 0, $1.clusterId ?? "")
  }
  var fields = [DialogField(.name, "Name: ", text: name)]
  if clusters.isEmpty {
    fields.append(DialogField(.cluster, "Cluster ID: "))
  } else {
    let choices = clusters.map { c in
      DialogChoice(
        value: c.clusterId ?? "", label: "\(c.clusterId ?? "?") (\(hsmSummary(c)))",
        unusable: clusterUnusable(c, state))
    }
    fields.append(DialogField(.cluster, "Cluster: ", .choice(choices)))
  }
  fields.append(DialogField(.trustAnchor, "Trust anchor file: "))
  fields.append(DialogField(.password, "kmsuser password: ", .secret))
  let usable = clusters.filter { clusterUnusable($0, state) == nil }.count
  state.overlay = .dialog(
    ConfirmDialog(
      kind: .confirm(.createStore), storeId: "", storeName: name, title: "Create a CloudHSM key store",
      body: [
        "A new store starts DISCONNECTED; connect it afterwards.",
        clusters.isEmpty
          ? "The backend lists no clusters: type the cluster ID."
          : "\(usable) of \(clusters.count) clusters can be used (Space picks the next).",
        "The trust anchor is the customerCA.crt the cluster was initialized with; the password is the kmsuser crypto user's.",
      ], fields: fields, okLabel: "Create"))
  return []
}

func requestRenameStore(_ s: CustomKeyStoresListEntry, _ state: inout DashboardState, name: String = "")
  -> [Effect]
{
  if refusedReadOnly(.renameStore, &state) { return [] }
  guard let id = actionableStoreId(s, &state) else { return [] }
  let old = s.customKeyStoreName ?? id
  guard s.connectionState == .connected || s.connectionState == .disconnected else {
    state.status = StatusMessage(
      "Cannot rename \(old): it is \(s.connectionState?.rawValue ?? "?"); a store is renamed only while CONNECTED or DISCONNECTED",
      kind: .error)
    return []
  }
  state.overlay = .dialog(
    ConfirmDialog(
      kind: .confirm(.renameStore), storeId: id, storeName: old, title: "Rename custom key store",
      body: ["Rename \(old) (\(id))? Its ID, keys and connection do not change."],
      fields: [DialogField(.name, "New name: ", text: name)], okLabel: "Rename"))
  return []
}

/// `known`: the password the runbook just set in the cluster, filled in (masked) for the user to
/// confirm.
func requestChangePassword(_ s: CustomKeyStoresListEntry, _ state: inout DashboardState, known: Secret? = nil)
  -> [Effect]
{
  if refusedReadOnly(.changePassword, &state) { return [] }
  guard let id = actionableStoreId(s, &state) else { return [] }
  let name = s.customKeyStoreName ?? id
  guard s.customKeyStoreType != .externalKeyStore else {
    state.status = StatusMessage("\(name) is an external key store: it has no kmsuser password", kind: .error)
    return []
  }
  guard s.connectionState == .disconnected else {
    state.status = StatusMessage(
      "Cannot set the password of \(name): it is \(s.connectionState?.rawValue ?? "?"); disconnect it first",
      kind: .error)
    return []
  }
  state.overlay = .dialog(
    ConfirmDialog(
      kind: .confirm(.changePassword), storeId: id, storeName: name, title: "Set the kmsuser password",
      body: [
        "Tell KMS the current password of the kmsuser crypto user of \(name) (\(id)).",
        known == nil
          ? "This does not change the password in the cluster; the next connect logs in with it."
          : "Filled in: the password just set in the cluster. The next connect logs in with it.",
      ], fields: [DialogField(.password, "kmsuser password: ", .secret, text: known?.revealed ?? "")],
      okLabel: "Save"))
  return []
}

func requestDeleteStore(_ s: CustomKeyStoresListEntry, _ state: inout DashboardState) -> [Effect] {
  if refusedReadOnly(.deleteStore, &state) { return [] }
  guard let id = actionableStoreId(s, &state) else { return [] }
  let name = s.customKeyStoreName ?? id
  guard s.connectionState == .disconnected else {
    state.status = StatusMessage(
      "Cannot delete \(name): it is \(s.connectionState?.rawValue ?? "?"); only a DISCONNECTED store can be deleted",
      kind: .error)
    return []
  }
  let keys = state.keys(inStore: id)
  guard keys.isEmpty else {
    let pending = keys.filter { $0.keyState == .pendingDeletion }.count
    state.status = StatusMessage(
      "Cannot delete \(name): it still has \(keys.count) KMS key\(keys.count == 1 ? "" : "s")"
        + (pending > 0 ? " (\(pending) pending deletion still count)" : "")
        + "; schedule their deletion and wait for it",
      kind: .error)
    return []
  }
  state.overlay = .dialog(
    ConfirmDialog(
      kind: .confirm(.deleteStore), storeId: id, storeName: name, title: "Delete custom key store",
      body: [
        "Delete \(name) (\(id))? This cannot be undone.",
        "Only the KMS record goes: the cluster \(s.cloudHsmClusterId ?? "—"), its HSMs and kmsuser stay, and a new store can use the cluster.",
        "Type the store name or ID to confirm.",
      ], fields: [DialogField(.confirmation, "Name or ID: ", .confirmation(accepted: [name, id]))],
      okLabel: "Delete"))
  return []
}

// MARK: - Key dialogs

/// The ID of a store row, or nil (saying so on the status line) for an entry without one: no
/// action is offered for it, so no empty ID is ever sent to a backend.
func actionableStoreId(_ s: CustomKeyStoresListEntry, _ state: inout DashboardState) -> String? {
  guard let id = CustomKeyStoreID(s.customKeyStoreId) else {
    state.status = StatusMessage(
      "\(s.customKeyStoreName ?? "This store") has no custom key store ID; nothing can be done with it",
      kind: .error)
    return nil
  }
  return id.rawValue
}

/// Opens the dialog of a key action, or says why the key's or the store's state forbids it.
func requestKeyAction(_ action: DialogAction, key k: KeyRow, _ state: inout DashboardState) -> [Effect] {
  if refusedReadOnly(action, &state) { return [] }
  let storeId = state.store(ofKey: k.keyId) ?? ""
  let store = state.store(id: storeId)
  // A key outside custom key stores is in the AWS KMS key store, always reachable.
  let storeName = store?.customKeyStoreName ?? (storeId.isEmpty ? "the AWS KMS key store" : storeId)
  let aliases = (state.snapshot?.aliases(forKey: k.keyId) ?? []).map(state.ownID)
  let keyText = state.storeLabel(k.keyId)
  let named = aliases.isEmpty ? keyText : "\(keyText) (\(aliases.joined(separator: ", ")))"
  let st = k.keyState
  let connected = storeId.isEmpty || store?.connectionState == .connected
  let notConnectedNote =
    "\(storeName) is \(store?.connectionState?.rawValue ?? "?"): the key shows Unavailable until the store is connected again, then takes this state."
  func refuse(_ why: String) -> [Effect] {
    state.status = StatusMessage(why, kind: .error)
    return []
  }
  func open(_ title: String, _ body: [String], _ fields: [DialogField] = [], ok: String) -> [Effect] {
    state.overlay = .dialog(
      ConfirmDialog(
        kind: .confirm(action), storeId: storeId, storeName: storeName, keyId: k.keyId, title: title,
        body: body,
        fields: fields, okLabel: ok))
    return []
  }
  switch action {
  case .enableKey:
    if st == .pendingDeletion {
      return refuse("Cannot enable \(k.keyId): it is PendingDeletion; cancel the deletion first")
    }
    if st == .enabled { return refuse("\(k.keyId) is already Enabled") }
    return open(
      "Enable KMS key",
      ["Enable \(named)?", "Cryptographic operations with it are allowed again (\(aliasPhrase(aliases)))."]
        + (connected ? [] : [notConnectedNote]), ok: "Enable")
  case .disableKey:
    if st == .pendingDeletion { return refuse("Cannot disable \(k.keyId): it is PendingDeletion") }
    if st == .disabled { return refuse("\(k.keyId) is already Disabled") }
    return open(
      "Disable KMS key",
      [
        "Disable \(named)?",
        "Every cryptographic operation with it fails with DisabledException until it is enabled (\(aliasPhrase(aliases)) stop working).",
      ] + (connected ? [] : [notConnectedNote]), ok: "Disable")
  case .scheduleKeyDeletion:
    if st == .pendingDeletion { return refuse("\(k.keyId) is already PendingDeletion") }
    return open(
      "Schedule key deletion",
      [
        "Schedule the deletion of \(named) in \(storeName)?",
        "It becomes PendingDeletion at once: every cryptographic operation with it fails, and data encrypted under it can never be decrypted once it is deleted (\(aliasPhrase(aliases)) stop working). It can be cancelled during the waiting period.",
        "Type the key ID\(aliases.isEmpty ? "" : " or an alias") to confirm.",
      ],
      [
        DialogField(.days, "Waiting period (7–30 days): ", text: "30"),
        DialogField(.confirmation, "Key ID or alias: ", .confirmation(accepted: [k.keyId] + aliases)),
      ], ok: "Schedule deletion")
  case .cancelKeyDeletion:
    guard st == .pendingDeletion else {
      return refuse(
        "\(k.keyId) is \(st?.rawValue ?? "?"), not PendingDeletion: there is no deletion to cancel")
    }
    return open(
      "Cancel key deletion",
      [
        "Cancel the pending deletion of \(named)?",
        "The key becomes Disabled (Unavailable while its store is not connected); enable it to use it again.",
      ], ok: "Cancel deletion")
  case .addAlias:
    if st == .pendingDeletion { return refuse("Cannot add an alias to \(k.keyId): it is PendingDeletion") }
    return open(
      "Add an alias", ["Add an alias to \(named)?"], [DialogField(.alias, "Alias: ", text: "alias/")],
      ok: "Add alias")
  case .removeAlias:
    guard !aliases.isEmpty else { return refuse("\(k.keyId) has no alias to remove") }
    var field = DialogField(
      .alias, "Alias: ", .choice(aliases.map { DialogChoice(value: $0, label: $0, unusable: nil) }))
    field.choice = 0
    return open(
      "Remove an alias",
      [
        "Remove an alias of \(k.keyId)? Callers that name the key by it fail with NotFoundException.",
        aliases.count > 1 ? "Space picks the next alias." : "",
      ].filter { !$0.isEmpty }, [field], ok: "Remove alias")
  default:
    return []
  }
}

/// Opens the create-key dialog for a store, or says why the store cannot take a new key.
func requestCreateKey(_ s: CustomKeyStoresListEntry, _ state: inout DashboardState) -> [Effect] {
  if refusedReadOnly(.createKey, &state) { return [] }
  guard let id = actionableStoreId(s, &state) else { return [] }
  let name = s.customKeyStoreName ?? id
  guard s.connectionState == .connected else {
    state.status = StatusMessage(
      "Cannot create a key in \(name): it is \(s.connectionState?.rawValue ?? "?"); a key is created only in a CONNECTED store",
      kind: .error)
    return []
  }
  if let c = state.snapshot?.cluster(s.cloudHsmClusterId) {
    let activeAZs = Set((c.hsms ?? []).filter { $0.state == .active }.compactMap(\.availabilityZone))
    if activeAZs.count < 2 {
      state.status = StatusMessage(
        "Cannot create a key in \(name): its cluster needs two ACTIVE HSMs in different Availability Zones (it has \(activeAZs.count))",
        kind: .error)
      return []
    }
  }
  state.overlay = .dialog(
    ConfirmDialog(
      kind: .confirm(.createKey), storeId: id, storeName: name, title: "Create a KMS key",
      body: [
        "Create a symmetric encryption key in \(name) (\(id))? Its key material is generated in the cluster.",
        "The alias is optional (alias/…); ↓ moves to it.",
      ],
      fields: [DialogField(.description, "Description: "), DialogField(.alias, "Alias: ")], okLabel: "Create")
  )
  return []
}
