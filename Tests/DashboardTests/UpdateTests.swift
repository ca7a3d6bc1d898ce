import Foundation
import KMSModel
import TerminalUI
import Testing

@testable import Dashboard

@Suite struct UpdateTests {
  typealias F = Fixture

  @Test func loadsSelectFirstRowSortedByName() {
    let s = F.state()
    #expect(
      s.visibleStores.map(\.customKeyStoreName) == [
        "analytics-dr", "ledger-archive", "payments-prod", "staging-keys",
      ])
    #expect(s.selectedStoreId == F.analytics)
  }

  @Test func navigationKeys() {
    var s = F.state()
    s.press(.char("j"))
    #expect(s.selectedStoreId == F.ledger)
    s.press(.down, .down)
    #expect(s.selectedStoreId == F.staging)
    s.press(.down)
    #expect(s.selectedStoreId == F.staging)
    s.press(.char("k"))
    #expect(s.selectedStoreId == F.payments)
    s.press(.home)
    #expect(s.selectedStoreId == F.analytics)
    s.press(.end)
    #expect(s.selectedStoreId == F.staging)
    s.press(.pageUp)
    #expect(s.selectedStoreId == F.analytics)
    s.press(.pageDown)
    #expect(s.selectedStoreId == F.staging)
    s.press(.char("g"))
    #expect(s.selectedStoreId == F.analytics)
    s.press(.char("G"))
    #expect(s.selectedStoreId == F.staging)
  }

  @Test func disconnectDialogCapturesStoreAndFocusesCancel() {
    var s = F.state()
    s.press(.char("j"), .char("j"))  // payments-prod
    #expect(s.press(.char("d")).isEmpty)
    guard case .dialog(let d) = s.overlay else {
      Issue.record("no dialog")
      return
    }
    #expect(d.storeId == F.payments)
    #expect(d.focused == 0)
    #expect(d.kind == .confirm(.disconnect))
    #expect(
      d.body.contains(
        "3 KMS keys become Unavailable (aliases alias/payments/tokenization, alias/payments/pin)."))
    #expect(d.body.contains { $0.contains("all cryptographic operations") })
    #expect(s.press(.char("y")) == [.disconnect(storeId: F.payments)])
    #expect(s.overlay == nil)
  }

  @Test func dialogKeepsCapturedIdWhenTableChangesUnderneath() {
    var s = F.state()
    s.press(.char("j"), .char("j"), .char("d"))
    // A refresh arrives: payments-prod is gone from its row (a new store sorts before it, and the
    // selection moves); the dialog must still target the store it was opened for.
    var snap = F.snapshot(version: 2)
    snap.stores.insert(
      F.store("cks-0de3000000000000a", "aaa-new", .disconnected, cluster: "cluster-x"), at: 0)
    _ = update(&s, .snapshot(snap, at: F.t0.addingTimeInterval(1)))
    s.press(.home)  // keys go to the dialog, not the table
    #expect(s.press(.tab, .enter) == [.disconnect(storeId: F.payments)])
  }

  @Test func enterOnFocusedCancelAndEscAndNCancel() {
    for cancelKeys in [[Key.enter], [.escape], [.char("n")], [.tab, .tab, .enter]] {
      var s = F.state()
      s.press(.char("j"), .char("j"), .char("d"))
      var effects: [Effect] = []
      for k in cancelKeys { effects += s.press(k) }
      #expect(effects.isEmpty)
      #expect(s.overlay == nil)
      #expect(s.status?.text == "Cancelled; nothing changed")
    }
  }

  @Test func typedConfirmationRequiresTheName() {
    var s = F.state(config: F.config(confirm: .typed))
    s.press(.char("j"), .char("j"), .char("d"))
    #expect(s.press(.char("y")).isEmpty)  // typed into the input, not a confirmation
    #expect(s.press(.tab, .enter).isEmpty)  // "y" is not the name
    guard case .dialog = s.overlay else {
      Issue.record("dialog closed")
      return
    }
    s.press(.tab, .backspace)
    s.type("payments-prod")
    #expect(s.press(.tab, .enter) == [.disconnect(storeId: F.payments)])
  }

  @Test func connectOnFailedExplainsAndOffersDisconnect() {
    var s = F.state()
    s.press(.char("j"))  // ledger-archive, FAILED
    #expect(s.press(.char("c")).isEmpty)
    guard case .dialog(let d) = s.overlay else {
      Issue.record("no dialog")
      return
    }
    #expect(d.kind == .offerDisconnect)
    #expect(d.body[0].contains("must be disconnected first"))
    #expect(d.body.contains { $0.hasPrefix("Remedy: Disconnect, change the kmsuser password") })
    #expect(s.press(.char("y")).isEmpty)  // accepting the offer opens the disconnect dialog
    guard case .dialog(let d2) = s.overlay else {
      Issue.record("no disconnect dialog")
      return
    }
    #expect(d2.kind == .confirm(.disconnect))
    #expect(s.press(.char("y")) == [.disconnect(storeId: F.ledger)])
  }

  @Test func forbiddenActionsExplainInStatusLine() {
    var s = F.state()
    s.press(.char("d"))  // analytics-dr is DISCONNECTED
    #expect(s.overlay == nil)
    #expect(s.status?.text == "Cannot disconnect analytics-dr: it is already DISCONNECTED")
    s.press(.char("j"), .char("j"), .char("c"))  // payments-prod CONNECTED
    #expect(s.status?.text == "payments-prod is already CONNECTED: nothing to connect")
  }

  @Test func connectDialogOnDisconnectedStore() {
    var s = F.state()
    s.press(.char("c"))
    #expect(s.press(.tab, .enter) == [.connect(storeId: F.analytics)])
  }

  @Test func engineErrorsShowTheExceptionName() {
    var s = F.state()
    let e = update(
      &s,
      .operationFailed(
        .connect(CustomKeyStoreID(unchecked: F.ledger)), code: .customKeyStoreInvalidStateException,
        message: "The custom key store is FAILED."))
    #expect(e == [])
    #expect(s.status?.kind == .error)
    #expect(s.status?.text.contains("CustomKeyStoreInvalidStateException") == true)
  }

  @Test func aFailedSaveIsAnErrorLineNeverAStateChange() {
    var s = F.state()
    let before = s.snapshot
    s.press(.char("d"))
    let e = update(
      &s,
      .operationFailed(
        .disconnect(CustomKeyStoreID(unchecked: F.payments)), code: .kmsInternalException,
        message: "The change could not be saved to the state file, so it was not made: disk full"))
    #expect(e == [])  // no reload, no optimistic state: the engine changed nothing
    #expect(s.snapshot == before)
    #expect(s.status?.kind == .error)
    #expect(s.status?.text.contains("KMSInternalException") == true)
    #expect(s.status?.text.contains("so it was not made") == true)
  }

  @Test func aDeltaUpdatesTheRowAndAGapReloads() throws {
    var s = F.state()
    let snapshot = try #require(s.snapshot)
    var store = try #require(snapshot.store(id: F.payments))
    store.connectionState = .disconnecting
    let delta = FleetDelta(version: snapshot.version + 1, stores: [store], stateSince: [F.payments: F.t0])
    #expect(update(&s, .delta(delta, at: F.t0)) == [])
    #expect(s.snapshot?.store(id: F.payments)?.connectionState == .disconnecting)
    #expect(s.snapshot?.version == snapshot.version + 1)
    #expect(s.highlightUntil[F.payments] != nil)
    // A delta that skips a version cannot be applied: one snapshot brings the dashboard back.
    let skipped = FleetDelta(version: snapshot.version + 3, stores: [store])
    #expect(update(&s, .delta(skipped, at: F.t0)) == [.loadSnapshot])
    #expect(s.snapshot?.version == snapshot.version + 1)
  }

  @Test func readOnlyBlocksEveryMutatingPath() {
    var s = F.state(config: F.config(readOnly: true))
    var effects: [Effect] = []
    effects += s.press(.char("d"))
    #expect(s.status?.text.contains("Read-only") == true)
    for i in 0..<4 {
      s.press(.home)
      for _ in 0..<i { s.press(.down) }
      effects += s.press(.char("d"), .char("y"), .enter, .char("c"), .char("y"), .tab, .enter)
      effects += s.press(.char(":"))
      effects += s.type("disconnect \(s.selectedStoreId!)")
      effects += s.press(.enter, .char("y"), .tab, .enter)
      effects += s.press(.char(":"))
      effects += s.type("connect \(s.selectedStoreId!)")
      effects += s.press(.enter, .char("y"), .tab, .enter)
      effects += s.press(.char("f"))
      for _ in 0..<20 { effects += s.press(.char(" "), .char("x"), .enter, .down) }
      effects += s.press(.escape, .enter, .char("d"), .char("y"), .char("c"), .char("y"), .escape)
    }
    #expect(!effects.contains { $0.isMutating })
  }

  @Test func readOnlyFiltersMutatingEffectsCentrally() {
    // Even if a dialog was somehow open, confirming in read-only mode produces no effect.
    var s = F.state(config: F.config(readOnly: true))
    s.overlay = .dialog(makeConfirmDialog(.disconnect, store: s.store(id: F.payments)!, id: F.payments, s))
    #expect(s.press(.char("y")).isEmpty)
  }

  @Test func commandLineConnectAndDisconnect() {
    var s = F.state()
    s.press(.char(":"))
    s.type("disconnect payments-prod")
    s.press(.enter)
    guard case .dialog(let d) = s.overlay else {
      Issue.record("no dialog")
      return
    }
    #expect(d.storeId == F.payments)
    s.press(.escape, .char(":"))
    s.type("connect \(F.analytics)")
    s.press(.enter)
    #expect(s.press(.char("y")) == [.connect(storeId: F.analytics)])
    s.press(.char(":"))
    s.type("connect nope")
    s.press(.enter)
    #expect(s.status?.text == "No custom key store with ID or name \"nope\"")
    s.press(.char(":"))
    s.type("frobnicate")
    s.press(.enter)
    #expect(s.status?.kind == .error)
  }

  @Test func commandLineCompletion() {
    var s = F.state()
    s.press(.char(":"))
    s.type("disc")
    s.press(.tab)
    #expect(s.overlay == .command(TextInput("disconnect ")))
    s.type("pay")
    s.press(.tab)
    #expect(s.overlay == .command(TextInput("disconnect payments-prod ")))
    s.press(.ctrl("u"))
    s.type("connect cks-0de3")
    s.press(.tab)
    #expect(s.overlay == .command(TextInput("connect cks-0de3000000000000")))
    #expect(s.completions == [F.payments, F.analytics, F.ledger, F.staging].sorted())
    s.press(.escape)
    #expect(s.overlay == nil)
  }

  @Test func filterBySubstringOfNameIdClusterOrState() {
    var s = F.state()
    s.press(.char("/"))
    s.type("FAIL")
    #expect(s.visibleStores.map(\.customKeyStoreId) == [F.ledger])
    s.press(.enter)
    #expect(s.filter == "FAIL")
    #expect(s.selectedStoreId == F.ledger)
    s.press(.escape)
    #expect(s.filter.isEmpty)
    s.press(.char("/"))
    s.type("stagingenv")
    #expect(s.visibleStores.map(\.customKeyStoreId) == [F.staging])
    s.press(.escape)
    #expect(s.visibleStores.count == 4)
  }

  @Test func sortByAnyColumn() {
    var s = F.state()
    s.press(.char("7"))  // STATE
    #expect(s.sortColumn == .state)
    #expect(s.visibleStores.map(\.customKeyStoreId) == [F.payments, F.staging, F.analytics, F.ledger])
    s.press(.char("7"))
    #expect(!s.sortAscending)
    s.press(.char("s"))
    #expect(s.sortColumn == .created)
    #expect(s.sortAscending)
    s.press(.char("S"))
    #expect(s.visibleStores.first?.customKeyStoreId == F.staging)
    // ACCOUNT (9) and REGION (0) exist only in a view over many accounts and Regions.
    for c in StoreColumn.allCases where !c.isSourceColumn {
      s.press(.char(Character(String(c.rawValue + 1))))
      #expect(s.sortColumn == c)
      #expect(s.visibleStores.count == 4)
    }
  }

  @Test func stateChangeHighlightsRowAndAnimates() {
    var s = F.state()
    var snap = F.snapshot(version: 2, paymentsState: .disconnecting)
    snap.stores[3].connectionState = .connected  // staging done: nothing transient but payments
    _ = update(&s, .snapshot(snap, at: F.t0.addingTimeInterval(1)))
    #expect(s.highlightUntil[F.payments] == F.t0.addingTimeInterval(3))
    #expect(s.highlightUntil[F.staging] != nil)
    #expect(s.highlightUntil[F.analytics] == nil)
    #expect(s.needsAnimation)
    #expect(s.lastChange != nil)
    snap.stores[0].connectionState = .disconnected
    snap.version = 3
    _ = update(&s, .snapshot(snap, at: F.t0.addingTimeInterval(2)))
    _ = update(&s, .tick(F.t0.addingTimeInterval(10)))
    #expect(s.highlightUntil.isEmpty)
    #expect(!s.needsAnimation)  // idle: nothing transient, no highlight: no ticks needed
  }

  @Test func keysViewHelpEventsAndQuit() {
    var s = F.state()
    s.press(.char("j"), .char("j"), .enter)
    #expect(s.screen == .keys(storeId: F.payments))
    s.press(.escape)
    #expect(s.screen == .stores)
    s.press(.char("?"))
    #expect(s.overlay == .help(scroll: 0))
    s.press(.down)
    #expect(s.overlay == .help(scroll: 1))
    s.press(.escape, .char("e"))
    #expect(s.lowerPane == .events)
    #expect(s.press(.ctrl("l")) == [.redraw])
    #expect(s.press(.char("q")) == [.quit(0)])
    var t = F.state()
    #expect(t.press(.ctrl("c")) == [.quit(130)])
    var u = F.state()
    #expect(update(&u, .signal(15)) == [.quit(143)])
  }

  @Test func qaPanelTogglesFaultsAndPredicts() {
    var s = F.state()
    s.press(.char("j"))  // ledger-archive
    #expect(s.press(.char("f")) == [.predictConnect(storeId: F.ledger)])
    guard case .qa(let p) = s.overlay else {
      Issue.record("no panel")
      return
    }
    #expect(p.clusterId == "cluster-ledgerarch4")
    let items = qaItems(s, p)
    #expect(items.contains(.fault(.kmsuserLockedOut, enabled: true)))
    #expect(items.contains(.hsm(id: "hsm-fffffffffff", az: "us-east-1a", state: .active)))
    #expect(items.contains(.addHsm(az: "us-east-1c")))
    #expect(
      s.press(.char(" ")) == [.setFault(.clusterNotActive, enabled: true, clusterId: "cluster-ledgerarch4")])
    let lockedIndex = items.firstIndex(of: .fault(.kmsuserLockedOut, enabled: true))!
    for _ in 0..<lockedIndex { s.press(.down) }
    #expect(
      s.press(.enter) == [.setFault(.kmsuserLockedOut, enabled: false, clusterId: "cluster-ledgerarch4")])
    let hsmIndex = items.firstIndex(of: .hsm(id: "hsm-fffffffffff", az: "us-east-1a", state: .active))!
    for _ in lockedIndex..<hsmIndex { s.press(.down) }
    #expect(
      s.press(.char(" ")) == [
        .setHsmFailed(clusterId: "cluster-ledgerarch4", hsmId: "hsm-fffffffffff", failed: true)
      ])
    #expect(s.press(.char("x")) == [.deleteHsm(clusterId: "cluster-ledgerarch4", hsmId: "hsm-fffffffffff")])
    _ = update(&s, .prediction(storeId: F.ledger, "FAILED (USER_LOCKED_OUT)"))
    guard case .qa(let p2) = s.overlay else {
      Issue.record("the QA panel closed: \(String(describing: s.overlay))")
      return
    }
    #expect(p2.prediction == "FAILED (USER_LOCKED_OUT)")
    // A new snapshot refreshes the prediction.
    #expect(update(&s, .snapshot(F.snapshot(version: 9), at: F.t0)) == [.predictConnect(storeId: F.ledger)])
    s.press(.escape)
    #expect(s.overlay == nil)
  }

  @Test func qaPanelNeedsSimulator() {
    var s = F.state(config: F.config(simulator: false))
    #expect(s.press(.char("f")).isEmpty)
    #expect(s.overlay == nil)
    #expect(s.status?.kind == .error)
  }

  @Test func resizeClampsSelectionScroll() {
    var s = F.state(Size(width: 80, height: 16))
    s.press(.end)
    _ = update(&s, .resize(Size(width: 60, height: 15)))
    #expect(s.storeTable.selected == 3)
    #expect(s.storeTable.offset <= 3)
  }
}
