import Foundation
import KMSModel
import TerminalUI
import Testing

@testable import Dashboard

/// Key and store actions: each dialog's rules (captured IDs, Cancel focused, blast radius, typed
/// confirmation, refusals with the reason, read-only) and the operation it sends.
@Suite struct KeyActionTests {
  typealias F = Fixture
  static let key1 = String(format: "00000000-0000-4000-8000-%012d", 1)
  static let key2 = String(format: "00000000-0000-4000-8000-%012d", 2)
  static let key3 = String(format: "00000000-0000-4000-8000-%012d", 3)
  static let key4 = String(format: "00000000-0000-4000-8000-%012d", 4)

  /// The keys view of payments-prod (keys 1–4, oldest first), the first key selected.
  static func paymentsKeys(config: DashboardConfig = F.config()) -> DashboardState {
    var s = F.state(config: config)
    s.press(.char("j"), .char("j"), .enter)
    return s
  }

  static func dialog(_ s: DashboardState, sourceLocation: SourceLocation = #_sourceLocation) throws
    -> ConfirmDialog
  {
    guard case .dialog(let d) = s.overlay else {
      throw TestFailure(
        "no dialog open: overlay \(String(describing: s.overlay)), status \(s.status?.text ?? "none")")
    }
    return d
  }

  @Test func disableOpensADialogWithTheBlastRadiusAndCancelFocused() throws {
    var s = Self.paymentsKeys()
    #expect(s.press(.char("D")).isEmpty)
    let d = try Self.dialog(s)
    #expect(d.kind == .confirm(.disableKey))
    #expect(d.keyId == Self.key1)
    #expect(d.focused == 0)
    #expect(
      d.body == [
        "Disable \(Self.key1) (alias/payments/tokenization)?",
        "Every cryptographic operation with it fails with DisabledException until it is enabled (alias alias/payments/tokenization stop working).",
      ])
    #expect(s.press(.enter).isEmpty)  // Enter on the focused Cancel
    #expect(s.status?.text == "Cancelled; nothing changed")
    s.press(.char("D"))
    #expect(s.press(.char("y")) == [.perform(.disableKey(KeyID(unchecked: Self.key1)))])
    #expect(s.status?.text == "DisableKey requested for \(Self.key1)…")
  }

  @Test func stateRefusalsSayWhy() {
    var s = Self.paymentsKeys()
    s.press(.char("E"))
    #expect(s.overlay == nil)
    #expect(s.status == StatusMessage("\(Self.key1) is already Enabled", kind: .error))
    s.press(.char("u"))
    #expect(
      s.status?.text == "\(Self.key1) is Enabled, not PendingDeletion: there is no deletion to cancel")
    s.press(.end)  // key 4, PendingDeletion
    s.press(.char("E"))
    #expect(s.status?.text == "Cannot enable \(Self.key4): it is PendingDeletion; cancel the deletion first")
    s.press(.char("x"))
    #expect(s.status?.text == "\(Self.key4) is already PendingDeletion")
    s.press(.char("a"))
    #expect(s.status?.text == "Cannot add an alias to \(Self.key4): it is PendingDeletion")
    s.press(.up)  // key 3, Disabled, no alias
    s.press(.char("D"))
    #expect(s.status?.text == "\(Self.key3) is already Disabled")
    s.press(.char("A"))
    #expect(s.status?.text == "\(Self.key3) has no alias to remove")
    #expect(s.overlay == nil)
  }

  @Test func enableAnUnavailableKeyExplainsItWaitsForTheStore() throws {
    var s = F.state()
    s.press(.enter)  // analytics-dr, DISCONNECTED; key 5 Unavailable
    s.press(.char("E"))
    let d = try Self.dialog(s)
    #expect(
      d.body.last
        == "analytics-dr is DISCONNECTED: the key shows Unavailable until the store is connected again, then takes this state."
    )
    #expect(
      s.press(.char("y")) == [
        .perform(.enableKey(KeyID(unchecked: String(format: "00000000-0000-4000-8000-%012d", 5))))
      ])
  }

  @Test func scheduleDeletionNeedsTheKeyIdOrAliasAndAPeriodOf7To30Days() throws {
    var s = Self.paymentsKeys()
    s.press(.char("x"))
    var d = try Self.dialog(s)
    #expect(d.title == "Schedule key deletion")
    #expect(d.fields.map(\.name) == [.days, .confirmation])
    #expect(d.fields[0].input.text == "30")
    #expect(d.activeField == 1)  // typing goes to the confirmation
    #expect(d.body[1].contains("data encrypted under it can never be decrypted"))
    #expect(d.body[1].contains("(alias alias/payments/tokenization stop working)"))
    // "y" is typed into the field, not a confirmation; OK with a wrong text is refused.
    #expect(s.press(.char("y")).isEmpty)
    #expect(s.press(.tab, .enter).isEmpty)
    #expect(
      s.status?.text == "Type \"\(Self.key1)\" or \"alias/payments/tokenization\" to confirm")
    s.press(.backspace)
    s.type("alias/payments/tokenization")
    s.press(.up, .ctrl("u"))
    s.type("31")
    #expect(s.press(.enter).isEmpty)  // focus is still on OK
    #expect(s.status?.text == "The waiting period is 7 to 30 days (\"31\" is not)")
    s.press(.ctrl("u"))
    s.type("7")
    d = try Self.dialog(s)
    #expect(d.problem == nil)
    #expect(s.press(.enter) == [.perform(.scheduleKeyDeletion(KeyID(unchecked: Self.key1), days: 7))])
  }

  @Test func cancelDeletion() throws {
    var s = Self.paymentsKeys()
    s.press(.end, .char("u"))
    let d = try Self.dialog(s)
    #expect(
      d.body[1]
        == "The key becomes Disabled (Unavailable while its store is not connected); enable it to use it again."
    )
    #expect(s.press(.tab, .enter) == [.perform(.cancelKeyDeletion(KeyID(unchecked: Self.key4)))])
  }

  @Test func createKeyInAConnectedStoreWithAnOptionalAlias() throws {
    var s = Self.paymentsKeys()
    s.press(.char("n"))
    #expect(try Self.dialog(s).fields.map(\.name) == [.description, .alias])
    s.type("Settlement files")
    s.press(.down)
    s.type("alias/aws/x")
    s.press(.tab, .enter)
    #expect(s.status?.text == "alias/aws/ is reserved for AWS managed keys")
    s.press(.ctrl("u"))
    s.type("alias/bad name")
    s.press(.enter)
    #expect(
      s.status?.text.hasPrefix("1 validation error detected: Value 'alias/bad name' at 'aliasName'") == true)
    s.press(.ctrl("u"))
    s.type("alias/payments/settlement")
    #expect(
      s.press(.enter) == [
        .perform(
          .createKey(
            CustomKeyStoreID(unchecked: F.payments), description: "Settlement files",
            alias: AliasName(unchecked: "alias/payments/settlement")))
      ])
    // Without an alias, none is created.
    s.press(.char("n"), .tab, .enter)
    #expect(s.status?.text == "CreateKey requested for payments-prod (\(F.payments))…")
  }

  @Test func createKeyIsRefusedInAStoreThatIsNotConnected() {
    var s = F.state()
    s.press(.enter, .char("n"))  // analytics-dr, DISCONNECTED
    #expect(s.overlay == nil)
    #expect(
      s.status?.text
        == "Cannot create a key in analytics-dr: it is DISCONNECTED; a key is created only in a CONNECTED store"
    )
  }

  @Test func addAndRemoveAliases() throws {
    var s = Self.paymentsKeys()
    s.press(.char("a"))
    #expect(try Self.dialog(s).fields.first?.input.text == "alias/")
    s.type("cards")
    #expect(
      s.press(.tab, .enter) == [
        .perform(.createAlias(AliasName(unchecked: "alias/cards"), key: KeyID(unchecked: Self.key1)))
      ])
    s.press(.char("A"))
    let d = try Self.dialog(s)
    #expect(!d.hasTextField)
    #expect(
      d.body[0]
        == "Remove an alias of \(Self.key1)? Callers that name the key by it fail with NotFoundException.")
    #expect(
      s.press(.char("y")) == [.perform(.deleteAlias(AliasName(unchecked: "alias/payments/tokenization")))])
  }

  @Test func theDialogKeepsItsCapturedKeyWhenTheListChangesUnderneath() throws {
    var s = Self.paymentsKeys()
    s.press(.char("D"))
    // A new, older key arrives and takes the first row.
    let snap = try #require(s.snapshot)
    var older = F.key(9, store: F.payments, .enabled, "Older")
    older.creationDate = F.t0.addingTimeInterval(-999_999)
    _ = update(&s, .delta(FleetDelta(version: snap.version + 1, keys: [older]), at: F.t0))
    #expect(s.keys(inStore: F.payments).first?.keyId == older.keyId)
    #expect(s.press(.char("y")) == [.perform(.disableKey(KeyID(unchecked: Self.key1)))])
  }

  @Test func readOnlyRefusesEveryKeyActionWithTheReason() {
    var s = Self.paymentsKeys(config: F.config(readOnly: true))
    for (key, operation) in [
      ("E", "EnableKey"), ("D", "DisableKey"), ("x", "ScheduleKeyDeletion"), ("u", "CancelKeyDeletion"),
      ("n", "CreateKey"), ("a", "CreateAlias"), ("A", "DeleteAlias"),
    ] {
      #expect(s.press(.char(Character(key))).isEmpty)
      #expect(s.overlay == nil)
      #expect(
        s.status
          == StatusMessage(
            "Read-only mode: \(operation) is disabled (started with --read-only)", kind: .error))
    }
  }
}

@Suite struct StoreActionTests {
  typealias F = Fixture

  @Test func createStoreListsClustersWithWhyTheOthersAreUnusable() throws {
    var s = F.state(snapshot: F.snapshotWithSpareCluster())
    s.press(.char("n"))
    var d = try KeyActionTests.dialog(s)
    #expect(d.fields.map(\.name) == [.name, .cluster, .trustAnchor, .password])
    guard case .choice(let options) = d.fields[1].kind else {
      throw TestFailure("the cluster is not a choice")
    }
    #expect(options.map(\.value).first == "cluster-sparefree6q")
    #expect(
      Dictionary(uniqueKeysWithValues: options.map { ($0.value, $0.unusable ?? "usable") }) == [
        "cluster-sparefree6q": "usable",
        "cluster-singlehsm5x": "fewer than two ACTIVE HSMs in different Availability Zones",
        "cluster-paymentsprd": "in use by payments-prod", "cluster-analyticsdr": "in use by analytics-dr",
        "cluster-ledgerarch4": "in use by ledger-archive", "cluster-stagingenv3": "in use by staging-keys",
      ])
    #expect(d.body[1] == "1 of 6 clusters can be used (Space picks the next).")
    s.type("edge-2")
    s.press(.down, .char(" "))  // an unusable cluster
    s.press(.down)
    s.type("assets/certs/customerCA.crt")
    s.press(.down)
    s.type("short")
    s.press(.tab, .enter)
    #expect(s.status?.text == "cluster-analyticsdr cannot be used: in use by analytics-dr")
    s.press(.up, .up, .left)  // back to the spare cluster
    d = try KeyActionTests.dialog(s)
    #expect(d.fields[1].value == "cluster-sparefree6q")
    s.press(.enter)
    #expect(s.status?.text == "The kmsuser password must have 7 to 32 characters (it has 5)")
    s.press(.down, .down)
    s.type("Passw0rd")
    let effects = s.press(.enter)
    #expect(
      effects == [
        .perform(
          .createStore(
            name: "edge-2", cluster: ClusterID(unchecked: "cluster-sparefree6q"),
            trustAnchorPath: "assets/certs/customerCA.crt", password: Secret("shortPassw0rd")))
      ])
    #expect("\(effects)".contains("shortPassw0rd") == false)  // the password never prints
  }

  @Test func thePasswordIsTypedMaskedAndNeverReachesTheScreen() {
    var s = F.state(snapshot: F.snapshotWithSpareCluster())
    s.press(.char("n"), .down, .down, .down)
    s.type("Secret123")
    let screen = view(s).text
    #expect(!screen.contains("Secret123"))
    #expect(screen.contains("kmsuser password:  •••••••••"))
  }

  @Test func renameStore() throws {
    var s = F.state()
    s.press(.char("j"), .char("N"))  // ledger-archive FAILED
    #expect(
      s.status?.text
        == "Cannot rename ledger-archive: it is FAILED; a store is renamed only while CONNECTED or DISCONNECTED"
    )
    s.press(.char("j"), .char("N"))  // payments-prod
    s.type("payments-prod")
    s.press(.tab, .enter)
    #expect(s.status?.text == "The new name is the current name")
    s.press(.ctrl("u"))
    s.type("payments-eu")
    #expect(
      s.press(.enter) == [
        .perform(.renameStore(CustomKeyStoreID(unchecked: F.payments), name: "payments-eu"))
      ])
  }

  @Test func setPasswordOnlyWhileDisconnected() throws {
    var s = F.state()
    s.press(.char("j"), .char("j"), .char("P"))
    #expect(
      s.status?.text == "Cannot set the password of payments-prod: it is CONNECTED; disconnect it first")
    s.press(.home, .char("P"))
    s.type("NewPassw0rd")
    #expect(
      s.press(.tab, .enter) == [
        .perform(.setStorePassword(CustomKeyStoreID(unchecked: F.analytics), Secret("NewPassw0rd")))
      ])
  }

  @Test func deleteOnlyADisconnectedStoreWithoutKeysAfterTypingItsNameOrId() throws {
    var snap = F.snapshot()
    snap.stores[3].connectionState = .disconnected  // staging-keys, no keys
    var s = F.state(snapshot: snap)
    s.press(.char("j"), .char("j"), .char("X"))
    #expect(
      s.status?.text
        == "Cannot delete payments-prod: it is CONNECTED; only a DISCONNECTED store can be deleted")
    s.press(.home, .char("X"))
    #expect(
      s.status?.text
        == "Cannot delete analytics-dr: it still has 1 KMS key; schedule their deletion and wait for it")
    s.press(.end, .char("X"))
    let d = try KeyActionTests.dialog(s)
    #expect(d.body[0] == "Delete staging-keys (\(F.staging))? This cannot be undone.")
    #expect(d.focused == 0)
    s.press(.tab, .enter)
    #expect(s.status?.text == "Type \"staging-keys\" or \"\(F.staging)\" to confirm")
    s.type(F.staging)
    #expect(s.press(.enter) == [.perform(.deleteStore(CustomKeyStoreID(unchecked: F.staging)))])
  }

  @Test func pendingDeletionKeysStillBlockDeletion() {
    var snap = F.snapshot()
    snap.keys.removeAll { $0.customKeyStoreId == F.payments && $0.keyState != .pendingDeletion }
    snap.stores[0].connectionState = .disconnected
    var s = F.state(snapshot: snap)
    s.press(.char("j"), .char("j"), .char("X"))
    #expect(
      s.status?.text
        == "Cannot delete payments-prod: it still has 1 KMS key (1 pending deletion still count); schedule their deletion and wait for it"
    )
  }

  @Test func aCreatedStoreIsSelectedWhenItAppears() {
    var s = F.state()
    let id = "cks-0de3000000000000a"
    _ = update(
      &s,
      .operationSucceeded(
        .createStore(name: "aaa", cluster: "cluster-x", trustAnchorPath: "/p", password: Secret("Passw0rd!")),
        result: .createdStore(CustomKeyStoreID(unchecked: id))))
    #expect(s.status?.text == "CreateCustomKeyStore accepted for aaa: store \(id)")
    var store = F.store(id, "zzz-new", .disconnected, cluster: "cluster-x")
    store.customKeyStoreId = id
    _ = update(&s, .delta(FleetDelta(version: s.snapshot!.version + 1, stores: [store]), at: F.t0))
    #expect(s.selectedStoreId == id)
    #expect(s.selectedStore?.customKeyStoreName == "zzz-new")
  }
}

struct TestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// The key book keeps the keys view's order and the counts by state through every change.
@Suite struct KeyBookTests {
  @Test func orderAndCountsFollowUpsertsAndRemovals() {
    var rng = SystemRandomNumberGenerator()
    let states: [KeyState] = [.enabled, .disabled, .pendingDeletion, .unavailable]
    let stores = ["cks-a", "cks-b"]
    let placements: [String?] = stores + [nil]  // nil: a key of the account's AWS KMS key store
    var book = KeyBook()
    var truth: [String: KeyMetadata] = [:]
    for step in 0..<2_000 {
      let id = String(format: "00000000-0000-4000-8000-%012d", Int.random(in: 0..<60, using: &rng))
      if Bool.random(using: &rng) || truth[id] == nil {
        var key = KeyMetadata(
          keyId: id, creationDate: Date(timeIntervalSince1970: Double(Int.random(in: 0..<5, using: &rng))),
          keyState: states.randomElement(using: &rng),
          customKeyStoreId: placements.randomElement(using: &rng)!)
        if let old = truth[id] { key.creationDate = old.creationDate }  // a key's creation date never changes
        book.upsert(key)
        truth[id] = key
      } else {
        book.remove(id)
        truth[id] = nil
      }
      for store in stores {
        let expected = truth.values.filter { $0.customKeyStoreId == store }.map { KeyRow($0) }
          .sorted(by: KeyRow.listOrder)
        #expect(book.keys(inStore: store) == expected, "step \(step)")
        var counts: [KeyState?: Int] = [:]
        for k in expected { counts[k.keyState, default: 0] += 1 }
        #expect(book.stateCounts(inStore: store) == counts, "step \(step)")
      }
      #expect(book.allKeys == truth.values.map { KeyRow($0) }.sorted(by: KeyRow.listOrder), "step \(step)")
      for n in 0..<60 {
        let id = String(format: "00000000-0000-4000-8000-%012d", n)
        #expect(book.key(id) == truth[id].map { KeyRow($0) }, "step \(step): \(id)")
        #expect(book.store(ofKey: id) == truth[id]?.customKeyStoreId, "step \(step): store of \(id)")
      }
    }
    // Built whole from the same keys, the book is the one the changes led to.
    #expect(KeyBook(Array(truth.values)) == book)
  }

  @Test func aKeyListedTwiceKeepsItsLaterEntry() {
    let id = "00000000-0000-4000-8000-000000000001"
    let date = Date(timeIntervalSince1970: 1)
    let first = KeyMetadata(keyId: id, creationDate: date, keyState: .enabled, customKeyStoreId: "cks-a")
    let later = KeyMetadata(keyId: id, creationDate: date, keyState: .disabled, customKeyStoreId: "cks-b")
    let book = KeyBook([first, later])
    #expect(book.allKeys == [KeyRow(later)])
    #expect(book.keys(inStore: "cks-a").isEmpty)
    #expect(book.keys(inStore: "cks-b") == [KeyRow(later)])
    #expect(book.stateCounts(inStore: "cks-a").isEmpty)
    #expect(book.stateCounts(inStore: "cks-b") == [.disabled: 1])
    #expect(book.store(ofKey: id) == "cks-b")
  }
}
