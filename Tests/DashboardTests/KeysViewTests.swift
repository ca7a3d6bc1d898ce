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
        "KEY ID                               STATE           SPEC              USAGE           ROTATION"))
    #expect(header.contains("TAGS"))
    #expect(try row(1).contains("Enabled         SYMMETRIC_DEFAULT ENCRYPT_DECRYPT 365d"))
    #expect(try row(1).contains("team=payments"))
    #expect(try row(1).contains("alias/payments/tok"))
    #expect(try row(2).contains("RSA_2048          SIGN_VERIFY     —"))
    #expect(try row(2).contains("env, owner=qa"))
    #expect(try row(3).contains("ECC_NIST_P256     KEY_AGREEMENT   —"))
    #expect(try row(4).contains("HMAC_256          GENERATE_VERIF… —"))
    #expect(try row(5).contains("SYMMETRIC_DEFAULT ENCRYPT_DECRYPT off"))
    #expect(try row(6).contains("RSA_4096          ENCRYPT_DECRYPT —"))
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
}
