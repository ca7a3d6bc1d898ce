import Foundation
import KMSModel
import TerminalUI

/// One `:` command: its name, its arguments and what the help says. The command line completes
/// and runs commands from this list; the help overlay lists it.
public struct CommandSpec: Sendable, Hashable {
  public enum Arg: String, Sendable, Hashable {
    case store = "STORE"
    case key = "KEY"
    case alias = "ALIAS"
    case days = "DAYS"
    case name = "NAME"
    case text = "TEXT"
    case path = "PATH"
  }

  public var name: String
  public var args: [Arg]
  public var help: String
  public var isMutating: Bool

  public var usage: String { ":" + ([name] + args.map(\.rawValue)).joined(separator: " ") }

  public static let all: [CommandSpec] = [
    .init(name: "connect", args: [.store], help: "connect a store (confirm)", isMutating: true),
    .init(name: "disconnect", args: [.store], help: "disconnect a store (confirm)", isMutating: true),
    .init(name: "enable-key", args: [.key], help: "enable a key (ID, ARN or alias)", isMutating: true),
    .init(name: "disable-key", args: [.key], help: "disable a key", isMutating: true),
    .init(
      name: "schedule-key-deletion", args: [.key, .days],
      help: "schedule a key's deletion (7–30 days; typed)",
      isMutating: true),
    .init(
      name: "cancel-key-deletion", args: [.key], help: "cancel a key's pending deletion", isMutating: true),
    .init(name: "create-key", args: [.store], help: "create a key in a CONNECTED store", isMutating: true),
    .init(name: "add-alias", args: [.key, .alias], help: "add an alias to a key", isMutating: true),
    .init(name: "remove-alias", args: [.alias], help: "delete an alias", isMutating: true),
    .init(name: "create-store", args: [], help: "create a CloudHSM key store", isMutating: true),
    .init(name: "rename-store", args: [.store, .name], help: "rename a store", isMutating: true),
    .init(name: "set-password", args: [.store], help: "set a store's kmsuser password", isMutating: true),
    .init(
      name: "delete-store", args: [.store], help: "delete a DISCONNECTED store without keys", isMutating: true
    ),
    .init(name: "remedy", args: [.store], help: "guided remedy of a FAILED store", isMutating: true),
    .init(name: "keys", args: [.store], help: "open a store's keys", isMutating: false),
    .init(
      name: "all-keys", args: [], help: "every KMS key of the account, any key store (K)", isMutating: false),
    .init(name: "export", args: [.path], help: "write the table shown (.json or .csv)", isMutating: false),
    .init(name: "events", args: [.path], help: "write the event history (JSON lines)", isMutating: false),
    .init(name: "filter", args: [.text], help: "set the filter", isMutating: false),
    .init(name: "help", args: [], help: "this help", isMutating: false),
    .init(name: "q", args: [], help: "quit (also :quit)", isMutating: false),
  ]

  static func named(_ name: String) -> CommandSpec? {
    if name == "quit" { return all.first { $0.name == "q" } }
    return all.first { $0.name == name }
  }
}

// MARK: Resolving arguments

extension DashboardState {
  /// A store by ID or name.
  func resolveStore(_ text: String) -> CustomKeyStoresListEntry? {
    stores.first { $0.customKeyStoreId == text } ?? stores.first { $0.customKeyStoreName == text }
  }

  /// A key (in a custom key store or not) by key ID, key ARN, alias name or alias ARN.
  func resolveKey(_ text: String) -> KeyRow? {
    var ref = text
    if ref.hasPrefix("arn:"), let slash = ref.firstIndex(of: "/"), ref.contains(":key/") {
      ref = String(ref[ref.index(after: slash)...])
    } else if ref.hasPrefix("arn:"), let colon = ref.range(of: ":alias/") {
      ref = "alias/" + ref[colon.upperBound...]
    }
    if ref.hasPrefix("alias/") {
      guard let target = snapshot?.aliases.first(where: { $0.aliasName == ref })?.targetKeyId else {
        return nil
      }
      ref = target
    }
    return key(id: ref)
  }
}

/// Candidates that complete `prefix` for an argument of `kind` (case-insensitive).
func completionCandidates(_ state: DashboardState, _ kind: CommandSpec.Arg, prefix: String) -> [String] {
  let p = prefix.lowercased()
  var out = Set<String>()
  switch kind {
  case .store:
    for s in state.stores {
      if let id = s.customKeyStoreId, id.lowercased().hasPrefix(p) { out.insert(id) }
      if let n = s.customKeyStoreName, n.lowercased().hasPrefix(p), !n.contains(" ") { out.insert(n) }
    }
  case .key:
    out = Set(keyAliases(state, prefix: p))
    for k in state.allKeys where k.keyId.lowercased().hasPrefix(p) { out.insert(k.keyId) }
  case .alias:
    out = Set(keyAliases(state, prefix: p))
  case .days:
    out = Set(["7", "30"].filter { $0.hasPrefix(p) })
  case .name, .text, .path:
    break
  }
  return out.sorted()
}

/// Aliases of the fleet's keys that start with `prefix` (lower-cased).
private func keyAliases(_ state: DashboardState, prefix: String) -> [String] {
  (state.snapshot?.aliases ?? []).compactMap { a in
    guard let name = a.aliasName, name.lowercased().hasPrefix(prefix), let target = a.targetKeyId,
      state.key(id: target) != nil
    else { return nil }
    return name
  }
}

/// Store IDs and names that complete `prefix`.
func completionCandidates(_ state: DashboardState, prefix: String) -> [String] {
  completionCandidates(state, .store, prefix: prefix)
}

// MARK: Keys

func handleCommandKey(_ state: inout DashboardState, _ key: Key, _ input: TextInput) -> [Effect] {
  var input = input
  switch KeyTable.command(for: key, in: .commandLine) {
  case .close?:
    state.overlay = nil
    state.completions = []
    return []
  case .complete?:
    complete(&state, &input)
    state.overlay = .command(input)
    return []
  case .run?:
    state.overlay = nil
    state.completions = []
    return runCommand(&state, input.text)
  default:
    break
  }
  if key == .backspace && input.text.isEmpty {
    state.overlay = nil
    return []
  }
  input.handle(key)
  state.completions = []
  state.overlay = .command(input)
  return []
}

/// Tab: completes the word under the cursor (the command, then each argument by its kind) to the
/// candidates' common prefix, and lists the candidates.
private func complete(_ state: inout DashboardState, _ input: inout TextInput) {
  let text = input.text
  var words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
  if words.isEmpty { words = [""] }
  let position = words.count - 1
  let prefix = words[position]
  let candidates: [String]
  if position == 0 {
    candidates = CommandSpec.all.map(\.name).filter { $0.hasPrefix(prefix) }
  } else if let spec = CommandSpec.named(words[0]), position - 1 < spec.args.count {
    candidates = completionCandidates(state, spec.args[position - 1], prefix: prefix)
  } else {
    candidates = []
  }
  state.completions = candidates
  guard let common = commonPrefix(candidates), common.count >= prefix.count else { return }
  words[position] = common + (candidates.count == 1 ? " " : "")
  input.set(words.joined(separator: " "))
}

private func commonPrefix(_ strings: [String]) -> String? {
  guard var p = strings.first else { return nil }
  for s in strings.dropFirst() {
    while !s.hasPrefix(p) { p.removeLast() }
  }
  return p
}

// MARK: Running

func runCommand(_ state: inout DashboardState, _ line: String) -> [Effect] {
  let words = line.split(separator: " ").map(String.init)
  guard let name = words.first else { return [] }
  guard let spec = CommandSpec.named(name) else {
    state.status = StatusMessage(
      "Unknown command :\(name) (Tab lists the commands, ? the help)", kind: .error)
    return []
  }
  let args = Array(words.dropFirst())
  /// The rest of the line from argument `i` on (names and filters may hold spaces).
  func rest(_ i: Int) -> String { args.dropFirst(i).joined(separator: " ") }
  let required = spec.args.filter { $0 != .text }.count
  guard args.count >= required else {
    state.status = StatusMessage("usage: \(spec.usage)", kind: .error)
    return []
  }
  func store(_ i: Int, _ body: (CustomKeyStoresListEntry) -> [Effect]) -> [Effect] {
    guard let s = state.resolveStore(args[i]) else {
      state.status = StatusMessage("No custom key store with ID or name \"\(args[i])\"", kind: .error)
      return []
    }
    return body(s)
  }
  func key(_ i: Int, _ body: (KeyRow) -> [Effect]) -> [Effect] {
    guard let k = state.resolveKey(args[i]) else {
      state.status = StatusMessage(
        "No KMS key with ID, ARN or alias \"\(args[i])\"", kind: .error)
      return []
    }
    return body(k)
  }
  /// Fills a field of the dialog the command opened.
  func prefill(_ field: DialogField.Name, _ text: String) {
    guard case .dialog(var d) = state.overlay, let i = d.fields.firstIndex(where: { $0.name == field }) else {
      return
    }
    d.fields[i].input.set(text)
    state.overlay = .dialog(d)
  }
  switch spec.name {
  case "q":
    return quit(&state)
  case "help":
    state.overlay = .help(scroll: 0)
  case "filter":
    state.filter = rest(0)
    clampTables(&state)
  case "connect", "disconnect":
    return store(0) { request(spec.name == "connect" ? .connect : .disconnect, store: $0, &state) }
  case "enable-key": return key(0) { requestKeyAction(.enableKey, key: $0, &state) }
  case "disable-key": return key(0) { requestKeyAction(.disableKey, key: $0, &state) }
  case "cancel-key-deletion": return key(0) { requestKeyAction(.cancelKeyDeletion, key: $0, &state) }
  case "schedule-key-deletion":
    return key(0) {
      let effects = requestKeyAction(.scheduleKeyDeletion, key: $0, &state)
      prefill(.days, args[1])
      return effects
    }
  case "add-alias":
    return key(0) {
      let effects = requestKeyAction(.addAlias, key: $0, &state)
      prefill(.alias, args[1])
      return effects
    }
  case "remove-alias":
    guard let k = state.resolveKey(args[0]), args[0].hasPrefix("alias/") else {
      state.status = StatusMessage("No alias \"\(args[0])\" of a KMS key", kind: .error)
      return []
    }
    let effects = requestKeyAction(.removeAlias, key: k, &state)
    if case .dialog(var d) = state.overlay, let i = d.fields.firstIndex(where: { $0.name == .alias }),
      case .choice(let options) = d.fields[i].kind,
      let at = options.firstIndex(where: { $0.value == args[0] })
    {
      d.fields[i].choice = at
      state.overlay = .dialog(d)
    }
    return effects
  case "create-key": return store(0) { requestCreateKey($0, &state) }
  case "create-store": return requestCreateStore(&state, name: rest(0))
  case "rename-store": return store(0) { requestRenameStore($0, &state, name: rest(1)) }
  case "set-password": return store(0) { requestChangePassword($0, &state) }
  case "delete-store": return store(0) { requestDeleteStore($0, &state) }
  case "remedy": return store(0) { openRunbook($0, &state) }
  case "keys":
    return store(0) {
      guard let id = actionableStoreId($0, &state) else { return [] }
      state.screen = .keys(storeId: id)
      state.keyTable = TableState()
      return []
    }
  case "all-keys":
    openAllKeys(&state)
  case "export":
    return exportTable(&state, path: rest(0))
  case "events":
    return exportEvents(&state, path: rest(0))
  default:
    break
  }
  return []
}
