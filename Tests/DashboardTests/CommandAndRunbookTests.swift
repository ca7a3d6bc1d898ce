import Foundation
import KMSModel
import TerminalUI
import Testing

@testable import Dashboard

/// The `:` commands open the same dialogs as the keys, with their arguments filled in.
@Suite struct CommandTests {
  typealias F = Fixture
  static let key1 = KeyActionTests.key1
  static let key2 = KeyActionTests.key2

  static func run(_ line: String, _ s: inout DashboardState) -> [Effect] {
    s.press(.char(":"))
    s.type(line)
    return s.press(.enter)
  }

  @Test func keyCommandsTakeAnIdAnArnOrAnAlias() throws {
    for ref in [
      Self.key2, "alias/payments/pin", "arn:aws:kms:us-east-1:111122223333:key/\(Self.key2)",
      "arn:aws:kms:us-east-1:111122223333:alias/payments/pin",
    ] {
      var s = F.state()
      _ = Self.run("disable-key \(ref)", &s)
      let d = try KeyActionTests.dialog(s)
      #expect(d.kind == .confirm(.disableKey))
      #expect(d.keyId == Self.key2)
      #expect(s.press(.char("y")) == [.perform(.disableKey(KeyID(unchecked: Self.key2)))])
    }
    var s = F.state()
    _ = Self.run("enable-key alias/nope", &s)
    #expect(
      s.status
        == StatusMessage(
          "No KMS key with ID, ARN or alias \"alias/nope\"", kind: .error))
  }

  @Test func scheduleKeyDeletionFillsTheDays() throws {
    var s = F.state()
    _ = Self.run("schedule-key-deletion alias/payments/pin 8", &s)
    let d = try KeyActionTests.dialog(s)
    #expect(d.fields.first { $0.name == .days }?.input.text == "8")
    s.type("alias/payments/pin")
    #expect(s.press(.tab, .enter) == [.perform(.scheduleKeyDeletion(KeyID(unchecked: Self.key2), days: 8))])
    _ = Self.run("schedule-key-deletion alias/payments/pin", &s)
    #expect(s.status == StatusMessage("usage: :schedule-key-deletion KEY DAYS", kind: .error))
  }

  @Test func storeCommands() throws {
    var s = F.state()
    _ = Self.run("rename-store payments-prod payments eu", &s)
    #expect(try KeyActionTests.dialog(s).fields.first?.input.text == "payments eu")
    s.press(.escape)
    _ = Self.run("create-key payments-prod", &s)
    #expect(try KeyActionTests.dialog(s).kind == .confirm(.createKey))
    s.press(.escape)
    _ = Self.run("delete-store analytics-dr", &s)
    #expect(s.status?.text.hasPrefix("Cannot delete analytics-dr: it still has 1 KMS key") == true)
    _ = Self.run("set-password \(F.analytics)", &s)
    #expect(try KeyActionTests.dialog(s).kind == .confirm(.changePassword))
    s.press(.escape)
    _ = Self.run("create-store edge 2", &s)
    #expect(try KeyActionTests.dialog(s).fields.first?.input.text == "edge 2")
    s.press(.escape)
    _ = Self.run("remedy ledger-archive", &s)
    #expect(s.overlay == .runbook)
    s.press(.escape)
    _ = Self.run("add-alias \(Self.key1) alias/cards", &s)
    #expect(
      s.press(.tab, .enter) == [
        .perform(.createAlias(AliasName(unchecked: "alias/cards"), key: KeyID(unchecked: Self.key1)))
      ])
    _ = Self.run("remove-alias alias/old-export", &s)
    #expect(s.press(.char("y")) == [.perform(.deleteAlias(AliasName(unchecked: "alias/old-export")))])
    _ = Self.run("keys ledger-archive", &s)
    #expect(s.screen == .keys(storeId: F.ledger))
  }

  @Test func readOnlyRefusesMutatingCommands() {
    var s = F.state(config: F.config(readOnly: true))
    _ = Self.run("delete-store analytics-dr", &s)
    #expect(
      s.status
        == StatusMessage(
          "Read-only mode: DeleteCustomKeyStore is disabled (started with --read-only)", kind: .error))
    _ = Self.run("create-store", &s)
    #expect(s.overlay == nil)
  }

  @Test func completionFollowsTheArgumentKind() {
    var s = F.state()
    s.press(.char(":"))
    s.type("disable-key alias/pay")
    s.press(.tab)
    #expect(s.completions == ["alias/payments/pin", "alias/payments/tokenization"])
    #expect(s.overlay == .command(TextInput("disable-key alias/payments/")))
    s.press(.ctrl("u"))
    s.type("schedule-key-deletion alias/old-export ")
    s.press(.tab)
    #expect(s.completions == ["30", "7"])
    s.press(.ctrl("u"))
    s.type("rename-store led")
    s.press(.tab)
    #expect(s.overlay == .command(TextInput("rename-store ledger-archive ")))
    s.press(.ctrl("u"))
    s.type("sched")
    s.press(.tab)
    #expect(s.overlay == .command(TextInput("schedule-key-deletion ")))
  }

  @Test func exportWritesTheTableAsCsvOrJson() throws {
    var s = F.state()
    s.filter = "prod"
    let effects = Self.run("export /tmp/stores.csv", &s)
    let csv = """
      CustomKeyStoreName,CustomKeyStoreId,CustomKeyStoreType,CloudHsmClusterId,ActiveHsms,TotalHsms,Keys,ConnectionState,ConnectionErrorCode,CreationDate\r
      payments-prod,cks-0de30000000000001,AWS_CLOUDHSM,cluster-paymentsprd,2,3,4,CONNECTED,,2026-08-22T14:13:21Z\r

      """
    #expect(effects == [.writeFile(path: "/tmp/stores.csv", contents: Data(csv.utf8))])
    #expect(s.status?.text == "Writing 1 rows to /tmp/stores.csv…")
    s.press(.enter)  // the keys of payments-prod
    guard case .writeFile(_, let data)? = Self.run("export /tmp/keys.json", &s).first else {
      throw TestFailure("no file written")
    }
    let rows = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: String]])
    #expect(rows.map { $0["KeyId"] } == (1...4).map { String(format: "00000000-0000-4000-8000-%012d", $0) })
    #expect(rows[0]["Aliases"] == "alias/payments/tokenization")
    _ = Self.run("export /tmp/x.txt", &s)
    #expect(s.status == StatusMessage("usage: :export PATH.json or PATH.csv", kind: .error))
  }

  @Test func csvFieldsAreQuotedAndFormulasDisarmed() throws {
    var snap = F.snapshot()
    snap.stores[0].customKeyStoreName = "=HYPERLINK(\"x\"),b"
    var s = F.state(snapshot: snap)
    guard case .writeFile(_, let data)? = Self.run("export /tmp/s.csv", &s).first else {
      throw TestFailure("no file written")
    }
    let text = String(decoding: data, as: UTF8.self)
    #expect(text.contains("\r\n\"'=HYPERLINK(\"\"x\"\"),b\",cks-0de30000000000001,"))
  }

  @Test func eventsAreJsonLinesWithOutcomeDurations() throws {
    var snap = F.snapshot()
    snap.events.append(
      FleetEvent(
        sequence: 3, date: F.t0.addingTimeInterval(30), kind: .connectionStateChanged,
        customKeyStoreId: F.staging,
        connectionState: .connected, summary: "staging-keys CONNECTING → CONNECTED"))
    var s = F.state(snapshot: snap)
    guard case .writeFile(let path, let data)? = Self.run("events /tmp/events.jsonl", &s).first else {
      throw TestFailure("no file written")
    }
    #expect(path == "/tmp/events.jsonl")
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    #expect(lines.count == 3)
    #expect(
      lines[2]
        == #"{"connectionState":"CONNECTED","customKeyStoreId":"cks-0de30000000000005","date":"2026-09-21T14:13:50Z","durationSeconds":42,"kind":"connectionStateChanged","sequence":3,"summary":"staging-keys CONNECTING → CONNECTED"}"#
    )
    #expect(!lines[0].contains("durationSeconds"))
  }

  @Test func fileResults() {
    var s = F.state()
    _ = update(&s, .fileWritten(path: "/tmp/a.csv", bytes: 12, error: nil))
    #expect(s.status == StatusMessage("Wrote /tmp/a.csv (12 bytes)"))
    _ = update(&s, .fileWritten(path: "/nope/a.csv", bytes: 12, error: "No such file or directory"))
    #expect(s.status == StatusMessage("Could not write /nope/a.csv: No such file or directory", kind: .error))
  }
}

/// The guided remedy walks a FAILED store back to CONNECTED, one confirmed step at a time.
@Suite struct RunbookTests {
  typealias F = Fixture

  func deliver(_ s: inout DashboardState, _ change: (inout FleetDelta) -> Void) -> [Effect] {
    var delta = FleetDelta(version: s.snapshot!.version + 1)
    change(&delta)
    return update(&s, .delta(delta, at: F.t0))
  }

  func ledger(_ s: DashboardState, _ state: ConnectionStateType) -> CustomKeyStoresListEntry {
    var store = s.store(id: F.ledger)!
    store.connectionState = state
    store.connectionErrorCode = nil
    return store
  }

  @Test func userLockedOutFromFailedToConnected() throws {
    var s = F.state()
    s.press(.char("j"))
    #expect(s.press(.char("R")) == [.predictConnect(storeId: F.ledger)])
    let rb = try #require(s.runbook)
    #expect(
      rb.steps.map(\.title) == [
        "Disconnect the store (clears the error code)",
        "Set a new kmsuser password in the cluster (unlocks it)",
        "Tell KMS the kmsuser password (UpdateCustomKeyStore)", "Connect the store",
      ])
    #expect(rb.steps[1].action == .fixCluster(faults: [.kmsuserLockedOut]))
    // 1. Disconnect: running until the store shows DISCONNECTED.
    #expect(s.press(.enter) == [.perform(.disconnect(CustomKeyStoreID(unchecked: F.ledger)))])
    #expect(s.runbook?.steps[0].status == .running)
    #expect(s.press(.enter).isEmpty)
    #expect(s.status?.text == "Waiting for: Disconnect the store (clears the error code)")
    let disconnected = ledger(s, .disconnected)
    _ = deliver(&s) { $0.stores = [disconnected] }
    #expect(s.runbook?.steps[0].status == .done("DISCONNECTED"))
    // 2. Clear the lockout in the (simulated) cluster.
    #expect(
      s.press(.enter) == [.setFault(.kmsuserLockedOut, enabled: false, clusterId: "cluster-ledgerarch4")])
    _ = deliver(&s) { $0.faults = ["cluster-ledgerarch4": []] }
    #expect(s.runbook?.steps[1].status == .done("cleared: KMSUSER_LOCKED_OUT"))
    _ = update(&s, .prediction(storeId: F.ledger, "CONNECTED"))
    #expect(
      view(s).text.contains("The next connect already succeeds with the password KMS has: s skips this step.")
    )
    // 3. The password dialog, cancelled: back to the runbook, the step still to do.
    s.press(.enter)
    #expect(try KeyActionTests.dialog(s).kind == .confirm(.changePassword))
    s.press(.escape)
    #expect(s.overlay == .runbook)
    #expect(s.runbook?.steps[2].status == .pending)
    s.press(.char("s"))
    #expect(s.runbook?.steps[2].status == .skipped)
    // 4. Connect, and CONNECTED ends it.
    #expect(s.press(.char("y")) == [.perform(.connect(CustomKeyStoreID(unchecked: F.ledger)))])
    let connecting = ledger(s, .connecting)
    _ = deliver(&s) { $0.stores = [connecting] }
    #expect(s.runbook?.steps[3].status == .running)
    let connected = ledger(s, .connected)
    _ = deliver(&s) { $0.stores = [connected] }
    #expect(s.runbook?.steps[3].status == .done("CONNECTED"))
    #expect(s.runbook?.finished == true)
    #expect(s.status?.text == "ledger-archive is CONNECTED: the remedy is complete")
    s.press(.escape)
    #expect(s.overlay == nil)
    #expect(s.runbook == nil)
  }

  @Test func aFailedConnectStartsTheRemedyOfTheNewCode() throws {
    var s = F.state()
    s.press(.char("j"), .char("R"))
    s.press(.char("s"), .char("s"), .char("s"))
    let disconnected = ledger(s, .disconnected)
    _ = deliver(&s) { $0.stores = [disconnected] }
    s.press(.enter)
    var failed = ledger(s, .failed)
    failed.connectionErrorCode = .invalidCredentials
    _ = deliver(&s) { $0.stores = [failed] }
    #expect(
      s.runbook?.steps[3].status
        == .failed("FAILED (INVALID_CREDENTIALS); Enter starts the remedy for that code"))
    s.press(.enter)
    #expect(s.runbook?.code == .invalidCredentials)
    #expect(s.runbook?.steps.allSatisfy { $0.status == .pending } == true)
  }

  @Test func aRemedyIsForAFailedStore() {
    var s = F.state()
    s.press(.char("R"))
    #expect(
      s.status
        == StatusMessage("analytics-dr is DISCONNECTED: a guided remedy is for a FAILED store", kind: .error))
    #expect(s.runbook == nil)
  }
}

/// One table of key bindings drives dispatch and the help.
@Suite struct KeyTableTests {
  typealias F = Fixture

  @Test func everyBindingIsReachableAndNoKeyIsBoundTwice() {
    for (context, bindings) in KeyTable.bindings {
      for b in bindings {
        for key in b.keys {
          #expect(
            KeyTable.binding(for: key, in: context, textField: b.withoutTextField ? false : true) == b
              || KeyTable.binding(for: key, in: context) == b,
            "\(key) in \(context) does not reach \(b.label)")
        }
      }
    }
  }

  @Test func theHelpListsEveryBindingAndEveryCommand() {
    let sections = KeyTable.sections(readOnly: false, simulator: true)
    let entries = sections.flatMap(\.1)
    for (_, bindings) in KeyTable.bindings {
      for b in bindings { #expect(entries.contains(.init(b.label, b.help))) }
    }
    for c in CommandSpec.all { #expect(entries.contains(.init(c.usage, c.help))) }
    // The keys that had drifted out of the help.
    #expect(entries.contains(.init("Esc / h / ← / Backspace", "back to the stores")))
    #expect(entries.contains(.init(":help", "this help")))
    #expect(entries.contains(.init("n / q", "cancel (dialogs without a text field)")))
  }

  @Test func readOnlyHelpMarksEveryActionDisabled() {
    let entries = KeyTable.sections(readOnly: true, simulator: true).flatMap(\.1)
    #expect(entries.contains(.init("E", "disabled: read-only mode")))
    #expect(entries.contains(.init(":delete-store STORE", "disabled: read-only mode")))
    #expect(!entries.contains { $0.description.hasPrefix("disconnect the selected store") })
  }

  /// Walks every binding of the store table and the keys view and checks it does what the help
  /// says.
  @Test(arguments: [KeyContext.stores, .keys, .allKeys])
  func everyBindingDoesWhatTheHelpSays(_ context: KeyContext) throws {
    for b in try #require(KeyTable.bindings[context]) {
      var s = F.state()
      if context == .keys { s.press(.char("j"), .char("j"), .enter) }  // payments-prod
      if context == .allKeys { s.press(.char("K")) }
      s.press(.char("j"))  // not on the first row, so moves show
      let before = s
      let effects = s.press(b.keys[0])
      let what = "\(b.label) (\(b.help))"
      let selected = context == .stores ? s.storeTable.selected : s.keyTable.selected
      let lastRow = context == .allKeys ? 5 : 3
      switch b.command {
      case .moveDown: #expect(selected == 2, "\(what)")
      case .moveUp, .first: #expect(selected == 0, "\(what)")
      case .pageDown, .last: #expect(selected == lastRow, "\(what)")
      case .pageUp: #expect(selected == 0, "\(what)")
      case .openKeys: #expect(s.screen == .keys(storeId: F.ledger), "\(what)")
      case .openAllKeys: #expect(s.screen == .allKeys && s.keyTable.selected == 0, "\(what)")
      case .back: #expect(s.screen == .stores, "\(what)")
      case .help: #expect(s.overlay == .help(scroll: 0), "\(what)")
      case .openFilter: #expect(s.overlay == .filter(TextInput()), "\(what)")
      case .openCommandLine: #expect(s.overlay == .command(TextInput()), "\(what)")
      case .quit: #expect(effects == [.quit(0)] && s.quitRequested, "\(what)")
      case .reload: #expect(effects == [.loadSnapshot], "\(what)")
      case .toggleLowerPane: #expect(s.lowerPane == .events, "\(what)")
      case .sortNext: #expect(s.sortColumn == .id, "\(what)")
      case .sortReverse: #expect(!s.sortAscending, "\(what)")
      case .sortByColumn: #expect(!s.sortAscending && s.sortColumn == .name, "\(what)")  // "1": name again
      case .clearFilter: #expect(s.filter.isEmpty, "\(what)")
      case .openQA: #expect(effects == [.predictConnect(storeId: F.ledger)], "\(what)")
      case .openRunbook: #expect(s.overlay == .runbook && s.runbook?.storeId == F.ledger, "\(what)")
      case .connect, .disconnect, .createStore, .renameStore, .changePassword, .deleteStore, .enableKey,
        .disableKey, .scheduleDeletion, .cancelDeletion, .createKey, .addAlias, .removeAlias:
        // An action opens its dialog or says why the state forbids it: something visible changes.
        #expect(s.overlay != before.overlay || s.status != before.status, "\(what)")
      default:
        Issue.record("no expectation for \(what)")
      }
    }
  }

  /// The README's key table is generated from the bindings. Re-record with
  /// RECORD_SNAPSHOTS=1 swift test --filter KeyTableTests.
  @Test func theReadmeKeyTableIsGeneratedFromTheBindings() throws {
    let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("README.md")
    var text = try String(contentsOf: readme, encoding: .utf8)
    let begin =
      "<!-- keys:begin (generated from KeyTable; RECORD_SNAPSHOTS=1 swift test --filter KeyTableTests) -->"
    let end = "<!-- keys:end -->"
    let a = try #require(text.range(of: begin), "README.md has no \(begin) marker")
    let b = try #require(text.range(of: end), "README.md has no \(end) marker")
    let generated = "\n" + KeyTable.markdown() + "\n"
    if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil {
      text.replaceSubrange(a.upperBound..<b.lowerBound, with: generated)
      try text.write(to: readme, atomically: true, encoding: .utf8)
      return
    }
    #expect(String(text[a.upperBound..<b.lowerBound]) == generated)
  }
}
