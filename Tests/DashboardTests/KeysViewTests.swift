import Foundation
import KMSModel
import TerminalUI
import Testing

@testable import Dashboard

/// Issue 14: the keys view shows key spec, usage, rotation and tags for every kind of key.
@Suite struct KeysViewTests {
  static func id(_ n: Int) -> String { String(format: "00000000-0000-4000-8000-%012d", n) }

  static func key(_ n: Int, _ spec: KeySpec, _ usage: KeyUsageType) -> KeyMetadata {
    var key = Fixture.key(n, store: Fixture.payments, .enabled, "kind \(n)")
    key.keySpec = spec
    key.keyUsage = usage
    return key
  }

  @Test func everyKindOfKeyShowsSpecUsageRotationAndTags() throws {
    var snapshot = Fixture.snapshot()
    snapshot.keys = [
      Self.key(1, .symmetricDefault, .encryptDecrypt), Self.key(2, .rsa2048, .signVerify),
      Self.key(3, .eccNistP256, .keyAgreement), Self.key(4, .hmac256, .generateVerifyMac),
      Self.key(5, .symmetricDefault, .encryptDecrypt), Self.key(6, .rsa4096, .encryptDecrypt),
    ]
    snapshot.keyDetails = [
      Self.id(1): KeyDetails(
        rotationEnabled: true, rotationPeriodInDays: 365, tags: [Tag(tagKey: "team", tagValue: "payments")]),
      Self.id(2): KeyDetails(tags: [Tag(tagKey: "env", tagValue: ""), Tag(tagKey: "owner", tagValue: "qa")]),
      Self.id(5): KeyDetails(rotationEnabled: false),
    ]
    var state = Fixture.state(Size(width: 170, height: 16), snapshot: snapshot)
    state.press(.char("j"), .char("j"), .enter)
    let text = view(state).text
    let lines = text.split(separator: "\n").map(String.init)
    func row(_ n: Int) throws -> String { try #require(lines.first { $0.contains(Self.id(n)) }) }
    let header = try #require(lines.first { $0.contains("KEY ID") })
    #expect(
      header.contains(
        "KEY ID                               STATE   SPEC              USAGE               ROTATION")
    )
    #expect(header.contains("TAGS") && header.contains("CREATED") && header.contains("DESCRIPTION"))
    #expect(try row(1).contains("Enabled SYMMETRIC_DEFAULT ENCRYPT_DECRYPT     365d"))
    #expect(try row(1).contains("team=payments"))
    #expect(try row(1).contains("alias/payments"))
    #expect(try row(2).contains("RSA_2048          SIGN_VERIFY         —"))
    #expect(try row(2).contains("env, owner=qa"))
    #expect(try row(3).contains("ECC_NIST_P256     KEY_AGREEMENT       —"))
    #expect(try row(4).contains("HMAC_256          GENERATE_VERIFY_MAC —"))
    #expect(try row(5).contains("SYMMETRIC_DEFAULT ENCRYPT_DECRYPT     off"))
    #expect(try row(6).contains("RSA_4096          ENCRYPT_DECRYPT     —"))
  }

  /// At 120 columns the usage joins the spec where the spec leaves it open, the state, spec and
  /// rotation columns are as wide as the rows on screen need, and aliases, tags and descriptions
  /// share the rest (the creation date goes).
  @Test func at120ColumnsEveryKindOfKeyStaysReadable() throws {
    var snapshot = Fixture.snapshot()
    snapshot.keys = [
      Self.key(1, .symmetricDefault, .encryptDecrypt), Self.key(2, .rsa2048, .signVerify),
      Self.key(3, .eccNistP384, .keyAgreement), Self.key(4, .hmac512, .generateVerifyMac),
      Self.key(5, .rsa4096, .encryptDecrypt), Self.key(6, .eccSecgP256k1, .signVerify),
    ]
    snapshot.keyDetails = [
      Self.id(1): KeyDetails(
        rotationEnabled: true, rotationPeriodInDays: 2560, tags: [Tag(tagKey: "team", tagValue: "payments")]),
      Self.id(5): KeyDetails(rotationEnabled: false, tags: [Tag(tagKey: "env", tagValue: "")]),
    ]
    var state = Fixture.state(Size(width: 120, height: 16), snapshot: snapshot)
    state.press(.char("j"), .char("j"), .enter)
    let lines = view(state).text.split(separator: "\n").map(String.init)
    func row(_ n: Int) throws -> String { try #require(lines.first { $0.contains(Self.id(n)) }) }
    let header = try #require(lines.first { $0.contains("KEY ID") })
    let titles = ["KEY ID", "STATE", "SPEC / USE", "ROT", "ALIASES", "TAGS", "DESCRIPTION"]
    #expect(header.count == 120)
    // Every column keeps a readable width: aliases 19, tags 11, description 14.
    let starts = try titles.map { title in
      header.distance(from: header.startIndex, to: try #require(header.range(of: title)).lowerBound)
    }
    #expect(starts == [1, 38, 46, 66, 72, 92, 104], "\(header)")
    func cells(_ n: Int) throws -> [String] {
      let line = Array(try row(n))
      return starts.indices.map { i in
        let end = i + 1 < starts.count ? starts[i + 1] : line.count - 1
        return String(line[starts[i]..<end]).trimmingCharacters(in: .whitespaces)
      }
    }
    #expect(
      try cells(1) == [
        Self.id(1), "Enabled", "SYMMETRIC_DEFAULT", "2560d", "alias/payments/tok…", "team=payme…", "kind 1",
      ])
    #expect(
      try cells(2) == [Self.id(2), "Enabled", "RSA_2048 sign", "—", "alias/payments/pin", "", "kind 2"])
    #expect(try cells(3) == [Self.id(3), "Enabled", "ECC_NIST_P384 agree", "—", "", "", "kind 3"])
    #expect(try cells(4) == [Self.id(4), "Enabled", "HMAC_512", "—", "alias/old-export", "", "kind 4"])
    #expect(try cells(5) == [Self.id(5), "Enabled", "RSA_4096 encrypt", "off", "", "env", "kind 5"])
    #expect(try cells(6) == [Self.id(6), "Enabled", "ECC_SECG_P256K1", "—", "", "", "kind 6"])
  }

  /// A delta that changes a key's tags reaches the dashboard's keys view (the key travels again
  /// with its details; nothing else is fetched).
  @Test func aTagChangeInADeltaReachesTheKeysView() throws {
    let snapshot = Fixture.snapshot()
    var state = Fixture.state(Size(width: 170, height: 16), snapshot: snapshot)
    state.press(.char("j"), .char("j"), .enter)
    let key = try #require(snapshot.keys.first { $0.customKeyStoreId == Fixture.payments })
    #expect(!view(state).text.contains("owner=qa"))
    let applied = state.apply(
      FleetDelta(
        version: snapshot.version + 1, keys: [key],
        keyDetails: [
          key.keyId: KeyDetails(
            rotationEnabled: true, rotationPeriodInDays: 90, tags: [Tag(tagKey: "owner", tagValue: "qa")])
        ]))
    #expect(applied)
    let line = try #require(view(state).text.split(separator: "\n").first { $0.contains(key.keyId) })
    #expect(line.contains("90d") && line.contains("owner=qa"), "\(line)")
    #expect(
      state.keys(inStore: Fixture.payments).first { $0.keyId == key.keyId }?.details?.tags.first?.tagKey
        == "owner")
  }

  @Test func deltasCarryRotationAndTags() {
    var snapshot = Fixture.snapshot()
    var key = snapshot.keys[0]
    key.description = "tagged"
    var delta = FleetDelta(version: 2, keys: [key])
    delta.keyDetails[key.keyId] = KeyDetails(tags: [Tag(tagKey: "a", tagValue: "b")])
    let applied1 = snapshot.apply(delta)
    #expect(applied1)
    #expect(snapshot.keyDetails[key.keyId]?.tags == [Tag(tagKey: "a", tagValue: "b")])
    // The key again without details: its tags are gone.
    let applied2 = snapshot.apply(FleetDelta(version: 3, keys: [key]))
    #expect(applied2)
    #expect(snapshot.keyDetails[key.keyId] == nil)
    let applied3 = snapshot.apply(
      FleetDelta(version: 4, keys: [key], keyDetails: [key.keyId: KeyDetails(rotationEnabled: false)]))
    #expect(applied3)
    let applied4 = snapshot.apply(FleetDelta(version: 5, removedKeyIds: [key.keyId]))
    #expect(applied4)
    #expect(snapshot.keyDetails.isEmpty)
  }

  // MARK: The all-keys view

  /// `K` lists every key of the account: the AWS KMS key store's RSA, HMAC, ECC and symmetric keys
  /// beside the custom-store keys, with the store each is in, spec, usage, rotation and tags.
  @Test func allKeysViewListsEveryKindOfKeyWithItsStore() throws {
    var state = Fixture.state(Size(width: 170, height: 20), snapshot: Fixture.snapshotWithAccountKeys())
    state.press(.char("K"))
    #expect(state.screen == .allKeys)
    let lines = view(state).text.split(separator: "\n").map(String.init)
    func row(_ n: Int) throws -> String { try #require(lines.first { $0.contains(Self.id(n)) }) }
    #expect(lines[1].contains("All KMS keys: 10 (AWS KMS 4, custom key stores 6)"), "\(lines[1])")
    let header = try #require(lines.first { $0.contains("KEY ID") })
    #expect(
      header.contains("STATE           STORE          SPEC              USAGE               ROTATION"),
      "\(header)")
    // Oldest first: the account's keys were created a day before the custom-store keys.
    #expect(try row(7).contains("Enabled         AWS KMS        RSA_2048          SIGN_VERIFY         —"))
    #expect(try row(7).contains("alias/release") && row(7).contains("team=release"))
    #expect(try row(8).contains("AWS KMS        HMAC_256          GENERATE_VERIFY_MAC —"))
    #expect(try row(9).contains("AWS KMS        SYMMETRIC_DEFAULT ENCRYPT_DECRYPT     365d"))
    #expect(try row(10).contains("AWS KMS        ECC_NIST_P256     SIGN_VERIFY"))
    #expect(try row(1).contains("payments-prod  SYMMETRIC_DEFAULT ENCRYPT_DECRYPT"))
    #expect(try row(6).contains("Unavailable     ledger-archive"))
    let order = lines.compactMap { line in (1...10).first { line.contains(Self.id($0)) } }
    #expect(order == [7, 8, 9, 10, 1, 2, 3, 4, 5, 6])
    // The store table counts only custom-store keys.
    #expect(state.keyCount(inStore: Fixture.payments) == 4)
  }

  /// At 80 columns the columns go by priority: the aliases and the spec stay, the key ID shows its
  /// head and tail, and rotation, tags and description go before them.
  @Test func at80ColumnsTheAliasesAndTheSpecStayOnScreen() throws {
    var state = Fixture.state(Size(width: 80, height: 24), snapshot: Fixture.snapshotWithAccountKeys())
    state.press(.char("j"), .char("j"), .enter)  // payments-prod: a PendingDeletion key among them
    var lines = view(state).text.split(separator: "\n").map(String.init)
    var header = try #require(lines.first { $0.contains("KEY ID") })
    #expect(
      header.contains("STATE") && header.contains("SPEC / USE") && header.contains("ALIASES"), "\(header)")
    let pending = try #require(lines.first { $0.contains("PendingDeletion") })
    #expect(pending.contains("00000000…000000000004 PendingDeletion SYMMETRIC_DEFAULT"), "\(pending)")
    #expect(pending.contains("alias/old-export"), "\(pending)")
    state.press(.char("K"))
    lines = view(state).text.split(separator: "\n").map(String.init)
    header = try #require(lines.first { $0.contains("KEY ID") })
    #expect(header.contains("ALIASES") && header.contains("SPEC / USE"), "\(header)")
    let rsa = try #require(lines.first { $0.contains("000000000007") })
    #expect(rsa.contains("RSA_2048 sign") && rsa.contains("alias/release"), "\(rsa)")
    // Wide enough for the whole ID: it is shown whole.
    state.press(.escape)
    _ = update(&state, .resize(Size(width: 120, height: 24)))
    state.press(.enter)
    #expect(view(state).text.contains(Self.id(1)))
  }

  /// The key actions work on a key of the AWS KMS key store: no "store not connected" note, and the
  /// operation targets the key.
  @Test func keyActionsWorkInTheAllKeysView() throws {
    var state = Fixture.state(Size(width: 120, height: 30), snapshot: Fixture.snapshotWithAccountKeys())
    state.press(.char("K"))
    #expect(state.selectedKey?.keyId == Self.id(7))
    state.press(.char("D"))
    guard case .dialog(let dialog) = state.overlay else {
      Issue.record("no dialog: \(String(describing: state.overlay))")
      return
    }
    #expect(dialog.title == "Disable KMS key")
    #expect(!dialog.body.joined().contains("Unavailable until the store is connected"), "\(dialog.body)")
    let effects = state.press(.char("y"))
    #expect(effects == [.perform(.disableKey(KeyID(rawValue: Self.id(7))!))])
    // Schedule deletion names the AWS KMS key store.
    state.press(.char("j"), .char("x"))
    guard case .dialog(let schedule) = state.overlay else {
      Issue.record("no dialog")
      return
    }
    #expect(schedule.body.first == "Schedule the deletion of \(Self.id(8)) in the AWS KMS key store?")
    state.press(.escape)
    // :all-keys from the store table, and the key commands resolve keys outside custom stores.
    state.press(.escape)
    #expect(state.screen == .stores)
    state.press(.char(":"))
    state.type("all-keys")
    state.press(.enter)
    #expect(state.screen == .allKeys)
    state.press(.char(":"))
    state.type("enable-key alias/release")
    state.press(.enter)
    #expect(state.status?.text == "\(Self.id(7)) is already Enabled")
  }

  /// The engine's deltas carry keys outside custom key stores: a new HMAC key appears in the
  /// all-keys view, a state change moves it, a removal takes it away; the store counts stay.
  @Test func deltasReachTheAllKeysView() throws {
    let snapshot = Fixture.snapshotWithAccountKeys()
    var state = Fixture.state(Size(width: 170, height: 24), snapshot: snapshot)
    state.press(.char("K"))
    var hmac = Fixture.accountKey(11, .hmac512, .generateVerifyMac, "New MAC key")
    hmac.creationDate = Fixture.t0
    _ = update(&state, .delta(FleetDelta(version: 2, keys: [hmac]), at: Fixture.t0))
    var line = try #require(view(state).text.split(separator: "\n").first { $0.contains(Self.id(11)) })
    #expect(line.contains("Enabled         AWS KMS        HMAC_512          GENERATE_VERIFY_MAC"), "\(line)")
    #expect(state.allKeys.last?.keyId == Self.id(11))
    hmac.keyState = .disabled
    _ = update(&state, .delta(FleetDelta(version: 3, keys: [hmac]), at: Fixture.t0))
    line = try #require(view(state).text.split(separator: "\n").first { $0.contains(Self.id(11)) })
    #expect(line.contains("Disabled        AWS KMS"), "\(line)")
    #expect(state.allKeys.count == 11)
    _ = update(&state, .delta(FleetDelta(version: 4, removedKeyIds: [Self.id(11)]), at: Fixture.t0))
    #expect(!view(state).text.contains(Self.id(11)))
    #expect(state.allKeys.count == 10)
    #expect(state.keyCount(inStore: Fixture.payments) == 4)
  }

  /// `K` is in the binding table: the help lists it, on the store table and in the keys view.
  @Test func theHelpListsTheAllKeysView() {
    let sections = KeyTable.sections(readOnly: false, simulator: true)
    let stores = sections.first { $0.0 == KeyContext.stores.title }?.1 ?? []
    #expect(stores.contains { $0.keys == "K" })
    #expect(sections.contains { $0.0 == "All keys of the account (K)" })
    #expect(KeyTable.command(for: .char("K"), in: .keys) == .openAllKeys)
    #expect(KeyTable.command(for: .char("n"), in: .allKeys) == nil)
  }
}
