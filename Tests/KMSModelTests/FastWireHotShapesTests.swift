import Foundation
import KMSModel
import Testing

/// The hot responses' hand-written JSON must be exactly what JSONEncoder writes.
struct FastWireHotShapesTests {
  static func same(
    _ value: some FastWireEncodable & Encodable, sourceLocation: SourceLocation = #_sourceLocation
  )
    throws
  {
    let fast = String(decoding: FastWireJSONTests.bytes(value), as: UTF8.self)
    let slow = String(decoding: try FastWireJSONTests.encoded(value), as: UTF8.self)
    #expect(fast == slow, sourceLocation: sourceLocation)
  }

  static let awkward = "quote\" back\\slash /slash \u{0}\u{1F}\u{7F} é 漢字 🗝️ \u{2028}"

  static func blobs() -> [Data] {
    (0..<70).map { count in Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }) }
  }

  @Test func keyMetadataWithEveryMember() throws {
    let full = KeyMetadata(
      awsAccountId: "111122223333", keyId: "1234abcd-12ab-34cd-56ef-1234567890ab",
      arn: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      creationDate: Date(timeIntervalSince1970: 1_790_000_000.25), enabled: false, description: Self.awkward,
      keyUsage: .encryptDecrypt, keyState: .pendingDeletion,
      deletionDate: Date(timeIntervalSince1970: 1_790_604_800),
      validTo: Date(timeIntervalSince1970: 1_900_000_000.5), origin: .awsCloudhsm,
      customKeyStoreId: "cks-0de30000000000001", cloudHsmClusterId: "cluster-abcdefghijk",
      expirationModel: .keyMaterialDoesNotExpire, keyManager: .customer,
      customerMasterKeySpec: .symmetricDefault,
      keySpec: .symmetricDefault, encryptionAlgorithms: [.symmetricDefault],
      signingAlgorithms: SigningAlgorithmSpec.allCases,
      keyAgreementAlgorithms: KeyAgreementAlgorithmSpec.allCases,
      multiRegion: true, multiRegionConfiguration: MultiRegionConfiguration(),
      pendingDeletionWindowInDays: 7, macAlgorithms: MacAlgorithmSpec.allCases,
      xksKeyConfiguration: XksKeyConfigurationType(id: "ext-key-1"), currentKeyMaterialId: "material-1")
    try Self.same(full)
    try Self.same(DescribeKeyResponse(keyMetadata: full))
    try Self.same(KeyMetadata(keyId: "k"))
    try Self.same(DescribeKeyResponse())
    var empties = full
    empties.encryptionAlgorithms = []
    empties.xksKeyConfiguration = XksKeyConfigurationType()
    empties.description = ""
    try Self.same(empties)
  }

  @Test func blobsInEveryLengthAndEveryResponse() throws {
    for blob in Self.blobs() {
      try Self.same(
        EncryptResponse(ciphertextBlob: blob, keyId: "arn:k", encryptionAlgorithm: .symmetricDefault))
      try Self.same(
        DecryptResponse(
          keyId: "arn:k", plaintext: blob, encryptionAlgorithm: .symmetricDefault,
          ciphertextForRecipient: blob,
          keyMaterialId: "m"))
      try Self.same(
        GenerateDataKeyResponse(
          ciphertextBlob: blob, plaintext: blob, keyId: "arn:k", ciphertextForRecipient: blob,
          keyMaterialId: "m"))
      try Self.same(GenerateRandomResponse(plaintext: blob, ciphertextForRecipient: blob))
      try Self.same(GenerateRandomResponse(plaintext: blob))
    }
    try Self.same(EncryptResponse())
    try Self.same(DecryptResponse())
    try Self.same(GenerateDataKeyResponse())
    try Self.same(GenerateRandomResponse())
  }
}
