import Foundation
import KMSModel
import Testing

/// Validation of every length, pattern, range and enum with the AWS wording (kms-spec §1, §6.6).
@Suite struct ValidationTests {
  private func message(_ request: some AWSValidatable) -> String? {
    do {
      try request.validate()
      return nil
    } catch {
      #expect(error.code == .validationException)
      #expect(error.httpStatus == 400)
      return error.message
    }
  }

  @Test func emptyCustomKeyStoreIdUsesTheObservedAWSText() {
    #expect(
      message(ConnectCustomKeyStoreRequest(customKeyStoreId: ""))
        == "1 validation error detected: Value '' at 'customKeyStoreId' failed to satisfy constraint: "
        + "Member must have length greater than or equal to 1")
    #expect(
      message(DisconnectCustomKeyStoreRequest(customKeyStoreId: ""))?.contains("'customKeyStoreId'") == true)
    #expect(
      message(DeleteCustomKeyStoreRequest(customKeyStoreId: ""))?.contains("'customKeyStoreId'") == true)
    #expect(
      message(UpdateCustomKeyStoreRequest(customKeyStoreId: ""))?.contains("'customKeyStoreId'") == true)
  }

  @Test func oversizeId() {
    let id = String(repeating: "a", count: 65)
    #expect(
      message(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
        == "1 validation error detected: Value '\(id)' at 'customKeyStoreId' failed to satisfy constraint: "
        + "Member must have length less than or equal to 64")
    #expect(message(ConnectCustomKeyStoreRequest(customKeyStoreId: String(repeating: "a", count: 64))) == nil)
  }

  @Test func createNameLengths() {
    #expect(
      message(CreateCustomKeyStoreRequest(customKeyStoreName: ""))
        == "1 validation error detected: Value '' at 'customKeyStoreName' failed to satisfy constraint: "
        + "Member must have length greater than or equal to 1")
    let long = String(repeating: "n", count: 257)
    #expect(
      message(CreateCustomKeyStoreRequest(customKeyStoreName: long))?.hasSuffix(
        "at 'customKeyStoreName' failed to satisfy constraint: Member must have length less than or equal to 256"
      )
        == true)
    #expect(
      message(CreateCustomKeyStoreRequest(customKeyStoreName: String(repeating: "n", count: 256))) == nil)
  }

  @Test func clusterIdPattern() {
    // AWS's own documentation example breaks the pattern (it contains a `1`), kms-spec §1.
    #expect(
      message(CreateCustomKeyStoreRequest(customKeyStoreName: "s", cloudHsmClusterId: "cluster-1a23b4cdefg"))
        == "1 validation error detected: Value 'cluster-1a23b4cdefg' at 'cloudHsmClusterId' failed to satisfy "
        + "constraint: Member must satisfy regular expression pattern: cluster-[2-7a-zA-Z]{11,16}")
    #expect(
      message(CreateCustomKeyStoreRequest(customKeyStoreName: "s", cloudHsmClusterId: "cluster-234abcdefgh"))
        == nil)
    // Too short: length and pattern both fail.
    let short = message(
      CreateCustomKeyStoreRequest(customKeyStoreName: "s", cloudHsmClusterId: "cluster-abc"))
    #expect(short?.hasPrefix("2 validation errors detected: ") == true)
    #expect(short?.contains("Member must have length greater than or equal to 19") == true)
    #expect(short?.contains("; ") == true)
    #expect(
      message(
        UpdateCustomKeyStoreRequest(customKeyStoreId: "cks-1", cloudHsmClusterId: "cluster-000000000000"))?
        .contains("regular expression pattern") == true)
  }

  @Test func passwordIsSensitive() {
    #expect(
      message(CreateCustomKeyStoreRequest(customKeyStoreName: "s", keyStorePassword: "short"))
        == "1 validation error detected: Value at 'keyStorePassword' failed to satisfy constraint: "
        + "Member must have length greater than or equal to 7")
    let long = String(repeating: "p", count: 33)
    let text = message(UpdateCustomKeyStoreRequest(customKeyStoreId: "cks-1", keyStorePassword: long))
    #expect(text?.contains("Member must have length less than or equal to 32") == true)
    #expect(text?.contains(long) == false)
    #expect(message(CreateCustomKeyStoreRequest(customKeyStoreName: "s", keyStorePassword: "1234567")) == nil)
    #expect(
      message(
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "s", keyStorePassword: String(repeating: "p", count: 32)))
        == nil)
  }

  @Test func trustAnchorLengths() {
    #expect(
      message(CreateCustomKeyStoreRequest(customKeyStoreName: "s", trustAnchorCertificate: ""))?.contains(
        "'trustAnchorCertificate' failed to satisfy constraint: Member must have length greater than or equal to 1"
      )
        == true)
    #expect(
      message(
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "s", trustAnchorCertificate: String(repeating: "c", count: 5001))
      )?.contains("Member must have length less than or equal to 5000") == true)
  }

  @Test func wrongEnum() {
    #expect(
      message(CreateCustomKeyStoreRequest(customKeyStoreName: "s", customKeyStoreType: "HSM"))
        == "1 validation error detected: Value 'HSM' at 'customKeyStoreType' failed to satisfy constraint: "
        + "Member must satisfy enum value set: [AWS_CLOUDHSM, EXTERNAL_KEY_STORE]")
    #expect(
      message(CreateKeyRequest(keyUsage: "ENCRYPT"))?.contains(
        "Value 'ENCRYPT' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: [")
        == true)
    #expect(message(CreateKeyRequest(origin: "CLOUDHSM"))?.contains("at 'origin'") == true)
    #expect(message(CreateKeyRequest(keySpec: "AES"))?.contains("at 'keySpec'") == true)
    #expect(message(CreateKeyRequest(keySpec: "SYMMETRIC_DEFAULT", origin: "AWS_CLOUDHSM")) == nil)
  }

  @Test func limitAndMarker() {
    #expect(
      message(DescribeCustomKeyStoresRequest(limit: 0))
        == "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
        + "Member must have value greater than or equal to 1")
    #expect(
      message(DescribeCustomKeyStoresRequest(limit: 1001))?.contains(
        "Member must have value less than or equal to 1000") == true)
    #expect(message(DescribeCustomKeyStoresRequest(limit: 1000)) == nil)
    #expect(message(DescribeCustomKeyStoresRequest(marker: ""))?.contains("at 'marker'") == true)
    #expect(
      message(DescribeCustomKeyStoresRequest(marker: "bad\u{01}"))?.contains(
        "Member must satisfy regular expression pattern") == true)
    #expect(message(DescribeCustomKeyStoresRequest(marker: String(repeating: "m", count: 1025))) != nil)
    #expect(message(ListKeysRequest(limit: 0)) != nil)
    #expect(message(ListAliasesRequest(limit: 1001)) != nil)
  }

  @Test func describeBothIdAndNamePassesShapeValidation() {
    // Both are valid on their own; the engine rejects the combination.
    #expect(
      message(DescribeCustomKeyStoresRequest(customKeyStoreId: "cks-1", customKeyStoreName: "n")) == nil)
    #expect(message(DescribeCustomKeyStoresRequest(customKeyStoreName: "")) != nil)
  }

  @Test func generateRandomRange() {
    #expect(
      message(GenerateRandomRequest(numberOfBytes: 0))
        == "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: "
        + "Member must have value greater than or equal to 1")
    #expect(
      message(GenerateRandomRequest(numberOfBytes: 1025))
        == "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: "
        + "Member must have value less than or equal to 1024")
    #expect(message(GenerateRandomRequest(numberOfBytes: 1)) == nil)
    #expect(message(GenerateRandomRequest(numberOfBytes: 1024)) == nil)
    #expect(message(GenerateRandomRequest(numberOfBytes: 32, customKeyStoreId: "")) != nil)
  }

  @Test func keyRequests() {
    #expect(
      message(DescribeKeyRequest(keyId: ""))
        == "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: "
        + "Member must have length greater than or equal to 1")
    #expect(message(EnableKeyRequest(keyId: String(repeating: "k", count: 2049))) != nil)
    #expect(message(DisableKeyRequest(keyId: "")) != nil)
    #expect(message(CancelKeyDeletionRequest(keyId: "")) != nil)
    #expect(message(ScheduleKeyDeletionRequest(keyId: "k", pendingWindowInDays: 0)) != nil)
    #expect(message(CreateKeyRequest(customKeyStoreId: "")) != nil)
    #expect(message(CreateKeyRequest(description: String(repeating: "d", count: 8193))) != nil)
  }

  @Test func cryptoRequests() {
    // Plaintext is sensitive and a blob: no value is echoed.
    #expect(
      message(EncryptRequest(keyId: "alias/x", plaintext: Data()))
        == "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        + "Member must have length greater than or equal to 1")
    #expect(
      message(EncryptRequest(keyId: "alias/x", plaintext: Data(count: 4097)))?.contains(
        "Member must have length less than or equal to 4096") == true)
    #expect(message(EncryptRequest(keyId: "alias/x", plaintext: Data(count: 4096))) == nil)
    #expect(message(DecryptRequest(ciphertextBlob: Data())) != nil)
    #expect(message(DecryptRequest(ciphertextBlob: Data(count: 6145))) != nil)
    #expect(message(GenerateDataKeyRequest(keyId: "k", numberOfBytes: 0)) != nil)
    #expect(message(GenerateDataKeyRequest(keyId: "k", numberOfBytes: 1025)) != nil)
    #expect(
      message(GenerateDataKeyRequest(keyId: "k", keySpec: "AES_512"))?.contains("[AES_256, AES_128]") == true)
    #expect(message(EncryptRequest(keyId: "k", plaintext: Data([1]), encryptionAlgorithm: "AES")) != nil)
  }

  @Test func aliasNames() {
    #expect(
      message(CreateAliasRequest(aliasName: "alias/bad name", targetKeyId: "k"))
        == "1 validation error detected: Value 'alias/bad name' at 'aliasName' failed to satisfy constraint: "
        + "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")
    #expect(message(CreateAliasRequest(aliasName: "alias/good_name-1", targetKeyId: "k")) == nil)
    #expect(message(CreateAliasRequest(aliasName: "alias/x", targetKeyId: "")) != nil)
    #expect(message(DeleteAliasRequest(aliasName: "")) != nil)
  }

  @Test func xksMembers() {
    let request = CreateCustomKeyStoreRequest(
      customKeyStoreName: "x", customKeyStoreType: "EXTERNAL_KEY_STORE", xksProxyUriEndpoint: "http://proxy",
      xksProxyUriPath: "/kms/xks/v1",
      xksProxyAuthenticationCredential: .init(accessKeyId: "short", rawSecretAccessKey: "s"),
      xksProxyConnectivity: "PUBLIC")
    let text = message(request) ?? ""
    #expect(text.contains("at 'xksProxyUriEndpoint'"))
    #expect(text.contains("Value at 'xksProxyAuthenticationCredential.accessKeyId'"))
    #expect(text.contains("Value at 'xksProxyAuthenticationCredential.rawSecretAccessKey'"))
    #expect(text.contains("Value 'PUBLIC' at 'xksProxyConnectivity'"))
    #expect(!text.contains("'short'"))
  }

  @Test func missingMemberWording() {
    #expect(
      KMSError.validation([.missing("customKeyStoreId")]).message
        == "1 validation error detected: Value null at 'customKeyStoreId' failed to satisfy constraint: "
        + "Member must not be null")
  }

  @Test func lengthsCountUTF16Units() {
    // 64 characters outside the BMP are 128 UTF-16 units: over the limit of 64.
    let wide = String(repeating: "\u{1F510}", count: 33)
    #expect(message(ConnectCustomKeyStoreRequest(customKeyStoreId: wide)) != nil)
    #expect(
      message(ConnectCustomKeyStoreRequest(customKeyStoreId: String(repeating: "\u{1F510}", count: 32)))
        == nil)
  }
}
