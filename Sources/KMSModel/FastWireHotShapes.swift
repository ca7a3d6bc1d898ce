import Foundation

/// Standard base64 with padding, straight into a byte array.
enum Base64Writer {
  private static let alphabet: [UInt8] = Array(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

  static func append(_ data: Data, to out: inout [UInt8]) {
    out.reserveCapacity(out.count + (data.count + 2) / 3 * 4)
    data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
      let table = alphabet
      var index = 0
      let count = input.count
      while index + 3 <= count {
        let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
        out.append(table[Int(value >> 18 & 63)])
        out.append(table[Int(value >> 12 & 63)])
        out.append(table[Int(value >> 6 & 63)])
        out.append(table[Int(value & 63)])
        index += 3
      }
      switch count - index {
      case 1:
        let value = UInt32(input[index]) << 16
        out.append(table[Int(value >> 18 & 63)])
        out.append(table[Int(value >> 12 & 63)])
        out.append(UInt8(ascii: "="))
        out.append(UInt8(ascii: "="))
      case 2:
        let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
        out.append(table[Int(value >> 18 & 63)])
        out.append(table[Int(value >> 12 & 63)])
        out.append(table[Int(value >> 6 & 63)])
        out.append(UInt8(ascii: "="))
      default: break
      }
    }
  }
}

// The hot responses (DescribeKey, Encrypt, Decrypt, GenerateDataKey, GenerateRandom), written
// by hand, byte for byte what `WireJSON.encoder()` writes (members in the encoder's sorted
// order; tests compare both on every member).

extension KeyMetadata: FastWireEncodable {
  public func writeJSON(to writer: inout JSONBytesWriter) {
    writer.beginObject()
    if let awsAccountId {
      writer.key("AWSAccountId")
      writer.string(awsAccountId)
    }
    if let arn {
      writer.key("Arn")
      writer.string(arn)
    }
    if let cloudHsmClusterId {
      writer.key("CloudHsmClusterId")
      writer.string(cloudHsmClusterId)
    }
    if let creationDate {
      writer.key("CreationDate")
      writer.date(creationDate)
    }
    if let currentKeyMaterialId {
      writer.key("CurrentKeyMaterialId")
      writer.string(currentKeyMaterialId)
    }
    if let customKeyStoreId {
      writer.key("CustomKeyStoreId")
      writer.string(customKeyStoreId)
    }
    if let customerMasterKeySpec {
      writer.key("CustomerMasterKeySpec")
      writer.string(customerMasterKeySpec.rawValue)
    }
    if let deletionDate {
      writer.key("DeletionDate")
      writer.date(deletionDate)
    }
    if let description {
      writer.key("Description")
      writer.string(description)
    }
    if let enabled {
      writer.key("Enabled")
      writer.bool(enabled)
    }
    if let encryptionAlgorithms {
      writer.key("EncryptionAlgorithms")
      Self.strings(encryptionAlgorithms.map(\.rawValue), &writer)
    }
    if let expirationModel {
      writer.key("ExpirationModel")
      writer.string(expirationModel.rawValue)
    }
    if let keyAgreementAlgorithms {
      writer.key("KeyAgreementAlgorithms")
      Self.strings(keyAgreementAlgorithms.map(\.rawValue), &writer)
    }
    writer.key("KeyId")
    writer.string(keyId)
    if let keyManager {
      writer.key("KeyManager")
      writer.string(keyManager.rawValue)
    }
    if let keySpec {
      writer.key("KeySpec")
      writer.string(keySpec.rawValue)
    }
    if let keyState {
      writer.key("KeyState")
      writer.string(keyState.rawValue)
    }
    if let keyUsage {
      writer.key("KeyUsage")
      writer.string(keyUsage.rawValue)
    }
    if let macAlgorithms {
      writer.key("MacAlgorithms")
      Self.strings(macAlgorithms.map(\.rawValue), &writer)
    }
    if let multiRegion {
      writer.key("MultiRegion")
      writer.bool(multiRegion)
    }
    if let multiRegionConfiguration {
      writer.key("MultiRegionConfiguration")
      writer.raw(Self.encoded(multiRegionConfiguration))
    }
    if let origin {
      writer.key("Origin")
      writer.string(origin.rawValue)
    }
    if let pendingDeletionWindowInDays {
      writer.key("PendingDeletionWindowInDays")
      writer.int(pendingDeletionWindowInDays)
    }
    if let signingAlgorithms {
      writer.key("SigningAlgorithms")
      Self.strings(signingAlgorithms.map(\.rawValue), &writer)
    }
    if let validTo {
      writer.key("ValidTo")
      writer.date(validTo)
    }
    if let xksKeyConfiguration {
      writer.key("XksKeyConfiguration")
      writer.beginObject()
      if let id = xksKeyConfiguration.id {
        writer.key("Id")
        writer.string(id)
      }
      writer.endObject()
    }
    writer.endObject()
  }

  private static func strings(_ values: [String], _ writer: inout JSONBytesWriter) {
    writer.beginArray()
    for value in values { writer.string(value) }
    writer.endArray()
  }

  /// Rare nested members go through the encoder itself (same bytes, no second implementation).
  private static func encoded(_ value: some Encodable) -> [UInt8] {
    (try? [UInt8](WireJSON.encoder().encode(value))) ?? Array("null".utf8)
  }
}

extension DescribeKeyResponse: FastWireEncodable {
  public func writeJSON(to writer: inout JSONBytesWriter) {
    writer.reserve(700)
    writer.beginObject()
    if let keyMetadata {
      writer.key("KeyMetadata")
      writer.separate()
      keyMetadata.writeJSON(to: &writer)
    }
    writer.endObject()
  }
}

extension EncryptResponse: FastWireEncodable {
  public func writeJSON(to writer: inout JSONBytesWriter) {
    writer.reserve(160 + (ciphertextBlob?.count ?? 0) * 4 / 3)
    writer.beginObject()
    if let ciphertextBlob {
      writer.key("CiphertextBlob")
      writer.base64(ciphertextBlob)
    }
    if let encryptionAlgorithm {
      writer.key("EncryptionAlgorithm")
      writer.string(encryptionAlgorithm.rawValue)
    }
    if let keyId {
      writer.key("KeyId")
      writer.string(keyId)
    }
    writer.endObject()
  }
}

extension DecryptResponse: FastWireEncodable {
  public func writeJSON(to writer: inout JSONBytesWriter) {
    writer.reserve(160 + ((plaintext?.count ?? 0) + (ciphertextForRecipient?.count ?? 0)) * 4 / 3)
    writer.beginObject()
    if let ciphertextForRecipient {
      writer.key("CiphertextForRecipient")
      writer.base64(ciphertextForRecipient)
    }
    if let encryptionAlgorithm {
      writer.key("EncryptionAlgorithm")
      writer.string(encryptionAlgorithm.rawValue)
    }
    if let keyId {
      writer.key("KeyId")
      writer.string(keyId)
    }
    if let keyMaterialId {
      writer.key("KeyMaterialId")
      writer.string(keyMaterialId)
    }
    if let plaintext {
      writer.key("Plaintext")
      writer.base64(plaintext)
    }
    writer.endObject()
  }
}

extension GenerateDataKeyResponse: FastWireEncodable {
  public func writeJSON(to writer: inout JSONBytesWriter) {
    writer.reserve(
      160 + ((ciphertextBlob?.count ?? 0) + (plaintext?.count ?? 0) + (ciphertextForRecipient?.count ?? 0))
        * 4
        / 3)
    writer.beginObject()
    if let ciphertextBlob {
      writer.key("CiphertextBlob")
      writer.base64(ciphertextBlob)
    }
    if let ciphertextForRecipient {
      writer.key("CiphertextForRecipient")
      writer.base64(ciphertextForRecipient)
    }
    if let keyId {
      writer.key("KeyId")
      writer.string(keyId)
    }
    if let keyMaterialId {
      writer.key("KeyMaterialId")
      writer.string(keyMaterialId)
    }
    if let plaintext {
      writer.key("Plaintext")
      writer.base64(plaintext)
    }
    writer.endObject()
  }
}

extension GenerateRandomResponse: FastWireEncodable {
  public func writeJSON(to writer: inout JSONBytesWriter) {
    writer.reserve(40 + ((plaintext?.count ?? 0) + (ciphertextForRecipient?.count ?? 0)) * 4 / 3)
    writer.beginObject()
    if let ciphertextForRecipient {
      writer.key("CiphertextForRecipient")
      writer.base64(ciphertextForRecipient)
    }
    if let plaintext {
      writer.key("Plaintext")
      writer.base64(plaintext)
    }
    writer.endObject()
  }
}
