import Foundation
import HSMSimulator
import KMSModel
import Testing

@testable import KeyStoreEngine

/// The compact in-memory forms of key records and key material (issue 9's memory figure) behave
/// like the plain values they replaced, and save exactly as before.
@Suite struct RecordLayoutTests {
  private func record(_ keyId: String = "1234abcd-12ab-34cd-56ef-1234567890ab") -> KeyRecord {
    KeyRecord(
      KeyFields(
        keyId: keyId, sequence: 7, arn: "arn:aws:kms:us-east-1:111122223333:key/\(keyId)", origin: .awsKms,
        customKeyStoreId: "cks-1234567890abcdef0", xksKeyId: nil, description: "payments",
        creationDate: Date(timeIntervalSince1970: 1_700_000_000), enabled: true, deletionDate: nil,
        pendingWindowInDays: nil))
  }

  @Test func aCopyChangesAloneAndTheOriginalKeepsItsValue() {
    let original = record()
    var copy = original
    #expect(copy == original)
    copy.enabled = false
    copy.tags = [Tag(tagKey: "team", tagValue: "ledger")]
    #expect(original.enabled == true)
    #expect(original.tags == nil)
    #expect(copy.enabled == false)
    #expect(copy.tags == [Tag(tagKey: "team", tagValue: "ledger")])
    #expect(copy != original)
    var dictionary = ["k": original]
    dictionary["k"]?.description = "changed in place"
    #expect(original.description == "payments")
    #expect(dictionary["k"]?.description == "changed in place")
  }

  @Test func theArnIsDerivedFromOneSharedPrefixAndSavedWhole() throws {
    let key = record()
    #expect(key.arn == "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    let saved = try JSONSerialization.jsonObject(with: JSONEncoder().encode(key)) as? [String: Any]
    #expect(saved?["arn"] as? String == key.arn)
    let restored = try JSONDecoder().decode(KeyRecord.self, from: JSONEncoder().encode(key))
    #expect(restored == key)
    #expect(restored.arn == key.arn)
  }

  @Test func anArnThatDoesNotNameItsKeyIsKeptAsGiven() throws {
    let odd = KeyRecord(
      KeyFields(
        keyId: "k-1", sequence: 1, arn: "arn:aws:kms:eu-west-1:444455556666:key/other", origin: .awsKms,
        customKeyStoreId: nil, xksKeyId: nil, description: "", creationDate: Date(timeIntervalSince1970: 0),
        enabled: true, deletionDate: nil, pendingWindowInDays: nil))
    #expect(odd.arn == "arn:aws:kms:eu-west-1:444455556666:key/other")
    let restored = try JSONDecoder().decode(KeyRecord.self, from: JSONEncoder().encode(odd))
    #expect(restored.arn == odd.arn)
  }

  @Test func keyBytesOfEveryLengthRoundTripAndSaveInTheOldForm() throws {
    for count in [0, 16, 28, 31, 32, 33, 64, 1_218] {
      let data = Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
      let bytes = KeyBytes(bytes: data)
      #expect(bytes.bytes == data, "\(count) bytes")
      #expect(bytes.symmetricKey.withUnsafeBytes { Data($0) } == data, "\(count) bytes")
      let saved = try JSONEncoder().encode(bytes)
      let object = try JSONSerialization.jsonObject(with: saved) as? [String: String]
      #expect(object == ["bytes": data.base64EncodedString()], "\(count) bytes")
      #expect(try JSONDecoder().decode(KeyBytes.self, from: saved) == bytes, "\(count) bytes")
    }
    let random = KeyBytes.random()
    #expect(random.bytes.count == 32)
    #expect(random != KeyBytes.random())
    var changed = random
    changed.bytes = Data(repeating: 1, count: 32)
    #expect(changed != random)
    #expect(changed == KeyBytes(bytes: Data(repeating: 1, count: 32)))
  }

  @Test func materialEntriesChangeAloneAndSaveInTheOldForm() throws {
    let bytes = KeyBytes(bytes: Data(repeating: 7, count: 32))
    let original = MaterialEntry(lineage: "-----BEGIN CERTIFICATE-----", key: bytes)
    var copy = original
    copy.lineage = MaterialEntry.kmsManaged
    #expect(original.lineage == "-----BEGIN CERTIFICATE-----")
    #expect(copy.lineage == MaterialEntry.kmsManaged && copy.key == bytes)
    #expect(copy != original)
    let saved = try JSONSerialization.jsonObject(with: JSONEncoder().encode(original)) as? [String: Any]
    #expect(saved?["lineage"] as? String == "-----BEGIN CERTIFICATE-----")
    #expect((saved?["key"] as? [String: String])?["bytes"] == bytes.bytes.base64EncodedString())
    #expect(try JSONDecoder().decode(MaterialEntry.self, from: JSONEncoder().encode(original)) == original)
  }
}
