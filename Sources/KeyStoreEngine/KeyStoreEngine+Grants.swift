import Foundation
import HSMSimulator
import KMSModel

/// CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, and grant tokens
/// (issue 14). Grants live on their key's record, so they are saved and rolled back with it.
extension KeyStoreEngine {
  static let grantTokenPrefix = "kmsdash-grant-1."

  func makeGrantToken(keyId: String, grantId: String) -> String {
    let body = Data("\(keyId):\(grantId)".utf8).base64EncodedString()
    return Self.grantTokenPrefix + body + "." + random.hex(32)
  }

  /// The key and grant a token names; nil when the text is not a token this emulator issued.
  func parseGrantToken(_ token: String) -> (keyId: String, grantId: String)? {
    guard token.hasPrefix(Self.grantTokenPrefix) else { return nil }
    let parts = token.dropFirst(Self.grantTokenPrefix.count).split(separator: ".")
    guard parts.count == 2, let data = Data(base64Encoded: String(parts[0])),
      let text = String(data: data, encoding: .utf8)
    else { return nil }
    let fields = text.split(separator: ":", maxSplits: 1).map(String.init)
    guard fields.count == 2 else { return nil }
    return (fields[0], fields[1])
  }

  /// The grants that grant tokens stand for (a retired grant's token authorizes nothing).
  func grantsFromTokens(_ tokens: [String]) throws(KMSError) -> [GrantRecord] {
    var grants: [GrantRecord] = []
    for token in tokens {
      guard let (keyId, grantId) = parseGrantToken(token) else {
        throw KMSError(.invalidGrantTokenException, "The grant token is not valid.")
      }
      if let grant = keys[keyId]?.grants?.first(where: { $0.grantId == grantId }) { grants.append(grant) }
    }
    return grants
  }

  func grantConstraintsHold(_ grant: GrantRecord, _ context: [String: String]?) -> Bool {
    guard let constraints = grant.constraints else { return true }
    let given = context ?? [:]
    if let equals = constraints.encryptionContextEquals, equals != given { return false }
    if let subset = constraints.encryptionContextSubset, !subset.allSatisfy({ given[$0.key] == $0.value }) {
      return false
    }
    return true
  }

  /// The grant operations that make sense for a key of this spec and usage.
  static func grantOperations(for key: KeyRecord) -> Set<GrantOperation> {
    var allowed: Set<GrantOperation> = [.createGrant, .retireGrant, .describeKey]
    switch key.usage {
    case .encryptDecrypt:
      allowed.formUnion([.encrypt, .decrypt, .reEncryptFrom, .reEncryptTo])
      if key.isSymmetricEncryption {
        allowed.formUnion([
          .generateDataKey, .generateDataKeyWithoutPlaintext, .generateDataKeyPair,
          .generateDataKeyPairWithoutPlaintext,
        ])
      } else {
        allowed.insert(.getPublicKey)
      }
    case .signVerify: allowed.formUnion([.sign, .verify, .getPublicKey])
    case .generateVerifyMac: allowed.formUnion([.generateMac, .verifyMac])
    case .keyAgreement: allowed.formUnion([.deriveSharedSecret, .getPublicKey])
    }
    return allowed
  }

  func grantEntry(_ grant: GrantRecord, key: KeyRecord) -> GrantListEntry {
    GrantListEntry(
      keyId: key.arn, grantId: grant.grantId, name: grant.name, creationDate: grant.creationDate,
      granteePrincipal: grant.granteePrincipal, retiringPrincipal: grant.retiringPrincipal,
      issuingAccount: grant.issuingAccount, operations: grant.operations, constraints: grant.constraints)
  }

  public func createGrant(_ request: CreateGrantRequest) throws(KMSError) -> CreateGrantResponse {
    try transaction { () throws(KMSError) -> CreateGrantResponse in
      try request.validate()
      var key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "CreateGrant", grantTokens: request.grantTokens)
      try requireNotPendingDeletion(key)
      var operations: [GrantOperation] = []
      for raw in request.operations {
        guard let operation = GrantOperation(rawValue: raw) else {
          throw KMSError.validation([
            ValidationFailure(
              member: "operations", renderedValue: "[\(request.operations.joined(separator: ", "))]",
              constraint:
                "Member must satisfy constraint: [Member must satisfy enum value set: [\(GrantOperation.allCases.map(\.rawValue).joined(separator: ", "))]]"
            )
          ])
        }
        if !operations.contains(operation) { operations.append(operation) }
      }
      let allowed = Self.grantOperations(for: key)
      if let invalid = operations.first(where: { !allowed.contains($0) }) {
        throw KMSError(
          .validationException,
          "Grant operation \(invalid.rawValue) is not valid for a \(key.spec.rawValue) KMS key with key usage \(key.usage.rawValue)."
        )
      }
      if request.constraints != nil {
        let contextFree: Set<GrantOperation> = [
          .sign, .verify, .getPublicKey, .generateMac, .verifyMac, .deriveSharedSecret, .describeKey,
        ]
        if operations.contains(where: contextFree.contains) || !key.isSymmetricEncryption {
          throw KMSError(
            .validationException,
            "Encryption context grant constraints are valid only for cryptographic operations on symmetric encryption KMS keys."
          )
        }
      }
      var grants = key.grants ?? []
      if let name = request.name,
        let existing = grants.first(where: {
          $0.name == name && $0.granteePrincipal == request.granteePrincipal
            && $0.retiringPrincipal == request.retiringPrincipal && Set($0.operations) == Set(operations)
            && $0.constraints == request.constraints
        })
      {
        try dryRun(request.dryRun)
        return CreateGrantResponse(
          grantToken: makeGrantToken(keyId: key.keyId, grantId: existing.grantId), grantId: existing.grantId)
      }
      let grantId = random.hex(64)
      let token = makeGrantToken(keyId: key.keyId, grantId: grantId)
      grants.append(
        GrantRecord(
          grantId: grantId, name: request.name, granteePrincipal: request.granteePrincipal,
          retiringPrincipal: request.retiringPrincipal,
          issuingAccount: "arn:aws:iam::\(configuration.accountId):root",
          operations: operations, constraints: request.constraints, creationDate: clock.now(), token: token))
      key.grants = grants
      updateKey(key, summary: "Grant \(grantId.prefix(8))… created on \(key.keyId)")
      try dryRun(request.dryRun)
      return CreateGrantResponse(grantToken: token, grantId: grantId)
    }
  }

  public func listGrants(_ request: ListGrantsRequest) throws(KMSError) -> ListGrantsResponse {
    try readOnly { () throws(KMSError) -> ListGrantsResponse in
      try request.validate()
      let key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "ListGrants")
      let grants = (key.grants ?? []).filter {
        (request.grantId == nil || $0.grantId == request.grantId)
          && (request.granteePrincipal == nil || $0.granteePrincipal == request.granteePrincipal)
      }
      let page = try pageList(grants, kind: "grant", limit: request.limit ?? 50, marker: request.marker)
      return ListGrantsResponse(
        grants: page.items.map { grantEntry($0, key: key) }, nextMarker: page.nextMarker,
        truncated: page.nextMarker != nil)
    }
  }

  public func listRetirableGrants(_ request: ListRetirableGrantsRequest) throws(KMSError)
    -> ListRetirableGrantsResponse
  {
    try readOnly { () throws(KMSError) -> ListRetirableGrantsResponse in
      try request.validate()
      var entries: [GrantListEntry] = []
      for key in keysInOrder {
        for grant in key.grants ?? [] where grant.retiringPrincipal == request.retiringPrincipal {
          entries.append(grantEntry(grant, key: key))
        }
      }
      let page = try pageList(entries, kind: "retirable", limit: request.limit ?? 50, marker: request.marker)
      return ListRetirableGrantsResponse(
        grants: page.items, nextMarker: page.nextMarker, truncated: page.nextMarker != nil)
    }
  }

  /// Removes a grant from its key; NotFoundException when the key has no such grant.
  private func removeGrant(keyId: String, grantId: String, summary: String) throws(KMSError) {
    guard var key = keys[keyId], var grants = key.grants,
      let index = grants.firstIndex(where: { $0.grantId == grantId })
    else {
      throw KMSError(.notFoundException, "Grant ID \(grantId.prefix(128)) not found")
    }
    grants.remove(at: index)
    key.grants = grants.isEmpty ? nil : grants
    updateKey(key, summary: summary)
  }

  public func retireGrant(_ request: RetireGrantRequest) throws(KMSError) -> RetireGrantResponse {
    try transaction { () throws(KMSError) -> RetireGrantResponse in
      try request.validate()
      var keyId: String
      var grantId: String
      if let token = request.grantToken {
        guard let parsed = parseGrantToken(token) else {
          throw KMSError(.invalidGrantTokenException, "The grant token is not valid.")
        }
        (keyId, grantId) = parsed
        if let given = try request.keyIdValue, try resolveKeyById(given).keyId != keyId {
          throw KMSError(
            .invalidGrantTokenException,
            "The grant token does not belong to key \(given.rawValue.prefix(256)).")
        }
      } else if let given = try request.keyIdValue, let id = request.grantId {
        keyId = try resolveKeyById(given).keyId
        grantId = id
      } else {
        throw KMSError(.validationException, "Either GrantToken or both KeyId and GrantId must be specified.")
      }
      if let id = request.grantId, id != grantId {
        throw KMSError(.invalidGrantIdException, "The grant ID does not match the grant token.")
      }
      if let key = keys[keyId], let grant = key.grants?.first(where: { $0.grantId == grantId }) {
        try requireMayRetire(grant, key: key)
      }
      try removeGrant(keyId: keyId, grantId: grantId, summary: "Grant \(grantId.prefix(8))… retired")
      try dryRun(request.dryRun)
      return RetireGrantResponse()
    }
  }

  /// Who may retire a grant, as AWS decides it (the grant, not the key policy): the account that
  /// created it (its root), the grant's retiring principal, and its grantee principal when the grant
  /// includes RetireGrant. Anyone else gets AccessDeniedException.
  func requireMayRetire(_ grant: GrantRecord, key: KeyRecord) throws(KMSError) {
    let caller = callerPrincipal
    if caller == grant.issuingAccount || caller == "arn:aws:iam::\(configuration.accountId):root" { return }
    if let retiring = grant.retiringPrincipal, caller == retiring { return }
    if caller == grant.granteePrincipal, grant.operations.contains(.retireGrant) { return }
    throw KMSError(
      .accessDeniedException,
      "User: \(caller) is not authorized to perform: kms:RetireGrant on resource: \(key.arn) because the grant does not name it as retiring principal or allow its grantee to retire it"
    )
  }

  public func revokeGrant(_ request: RevokeGrantRequest) throws(KMSError) -> RevokeGrantResponse {
    try transaction { () throws(KMSError) -> RevokeGrantResponse in
      try request.validate()
      let key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "RevokeGrant")
      try removeGrant(
        keyId: key.keyId, grantId: request.grantId, summary: "Grant \(request.grantId.prefix(8))… revoked")
      try dryRun(request.dryRun)
      return RevokeGrantResponse()
    }
  }
}
