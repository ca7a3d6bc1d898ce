import Foundation
import KMSModel
import Testing

/// Typed identifiers (issue 9): nothing empty or blank can be made into one, and the generated
/// accessors of the request shapes give one out only after the member's AWS constraints passed,
/// answering in AWS's words otherwise.
@Suite struct TypedIdentifierTests {
  private func failure<T>(_ body: () throws(KMSError) -> T) -> KMSError? {
    do {
      _ = try body()
      return nil
    } catch {
      return error
    }
  }

  @Test func emptyAndBlankTextIsNoIdentifier() {
    for text in ["", " ", "\t", " \n\t "] {
      #expect(KeyReference(rawValue: text) == nil)
      #expect(KeyID(rawValue: text) == nil)
      #expect(CustomKeyStoreID(rawValue: text) == nil)
      #expect(AliasName(rawValue: text) == nil)
      #expect(ClusterID(rawValue: text) == nil)
      #expect(HsmID(rawValue: text) == nil)
      #expect(XKSKeyID(rawValue: text) == nil)
      #expect(XKSKeyID(text as String?) == nil)
    }
    #expect(XKSKeyID(nil as String?) == nil)
    #expect(KeyReference(rawValue: " alias/x ")?.rawValue == " alias/x ")
    #expect(CustomKeyStoreID(rawValue: "cks-1")?.description == "cks-1")
  }

  @Test func decodingABlankIdentifierFails() throws {
    #expect(throws: DecodingError.self) { try JSONDecoder().decode([KeyID].self, from: Data(#"[" "]"#.utf8)) }
    #expect(try JSONDecoder().decode([KeyID].self, from: Data(#"["k-1"]"#.utf8)) == ["k-1"])
  }

  @Test func emptyMemberAnswersTheValidationExceptionOfValidate() throws {
    let request = EncryptRequest(keyId: "", plaintext: Data("x".utf8))
    let error = try #require(failure { () throws(KMSError) in try request.keyIdValue })
    #expect(error.code == .validationException)
    #expect(
      error.message
        == "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: "
        + "Member must have length greater than or equal to 1")
    #expect(error.message == failure { () throws(KMSError) in try request.validate() }?.message)

    let store = ConnectCustomKeyStoreRequest(customKeyStoreId: "")
    #expect(
      failure { () throws(KMSError) in try store.customKeyStoreIdValue }?.message
        == "1 validation error detected: Value '' at 'customKeyStoreId' failed to satisfy constraint: "
        + "Member must have length greater than or equal to 1")
  }

  @Test func blankMemberAnswersTheNotFoundOfItsKind() throws {
    let key = try #require(
      failure { () throws(KMSError) in try DescribeKeyRequest(keyId: "   ").keyIdValue })
    #expect(key.code == .notFoundException)
    #expect(key.message == "Invalid keyId '   '")

    let store = try #require(
      failure { () throws(KMSError) in
        try DisconnectCustomKeyStoreRequest(customKeyStoreId: " ").customKeyStoreIdValue
      })
    #expect(store.code == .customKeyStoreNotFoundException)

    // Patterns already refuse blank alias names, cluster IDs and external key IDs.
    let alias = try #require(
      failure { () throws(KMSError) in try CreateAliasRequest(aliasName: " ", targetKeyId: "k").aliasNameValue
      })
    #expect(alias.code == .validationException)
    #expect(
      alias.message.contains("Value ' ' at 'aliasName' failed to satisfy constraint: Member must satisfy"))
    let xks = try #require(
      failure { () throws(KMSError) in try CreateKeyRequest(xksKeyId: " ").xksKeyIdValue })
    #expect(xks.code == .validationException)
    let cluster = try #require(
      failure { () throws(KMSError) in
        try CreateHsmRequest(clusterId: "", availabilityZone: "a").clusterIdValue
      })
    #expect(cluster.code == .validationException)
  }

  @Test func accessorsGiveOutTheIdentifierOrNilWhenAbsent() throws {
    #expect(try DescribeKeyRequest(keyId: "alias/orders").keyIdValue == "alias/orders")
    #expect(try ListAliasesRequest().keyIdValue == nil)
    #expect(try CreateKeyRequest().customKeyStoreIdValue == nil)
    #expect(try CreateKeyRequest(customKeyStoreId: "cks-1", xksKeyId: "ext-1").xksKeyIdValue == "ext-1")
    #expect(try CreateKeyRequest(customKeyStoreId: "cks-1").customKeyStoreIdValue == "cks-1")
    #expect(
      try DeleteHsmRequest(clusterId: "cluster-abcdefghijk", hsmId: "hsm-abcdefghijk").hsmIdValue
        == "hsm-abcdefghijk")
  }

  @Test func namedAndStoredRefuseBlankText() throws {
    #expect(
      failure { () throws(KMSError) in try ClusterID.named("  ") }?.code == .cloudHsmResourceNotFoundException
    )
    #expect(
      failure { () throws(KMSError) in try CustomKeyStoreID.named("") }?.code
        == .customKeyStoreNotFoundException)
    #expect(try HsmID.named("hsm-1") == "hsm-1")
    let stored = try #require(
      failure { () throws(KMSError) in try XKSKeyID.stored(nil, "external key ID of key k") })
    #expect(stored.code == .kmsInternalException)
    #expect(stored.message == "The external key ID of key k is missing or blank.")
    #expect(failure { () throws(KMSError) in try XKSKeyID.stored(" ", "x") }?.code == .kmsInternalException)
    #expect(try XKSKeyID.stored("ext-1", "x") == "ext-1")
  }
}
