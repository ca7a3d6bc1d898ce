import Foundation
import HSMSimulator
import KMSModel

/// A key policy as far as a single-account emulator evaluates it: statements with Effect,
/// Principal/NotPrincipal, Action/NotAction. Statements with a Condition never match (the
/// emulator has no request context to test them against); Resource is always the key.
struct KeyPolicyDocument {
  struct Statement {
    var allow: Bool
    /// nil: NotPrincipal was given.
    var principals: [String]
    var notPrincipal: Bool
    var actions: [String]
    var notAction: Bool
    var hasCondition: Bool
  }

  var statements: [Statement]

  static func malformed(_ message: String) -> KMSError {
    KMSError(.malformedPolicyDocumentException, message)
  }

  /// Parses and checks a policy document; MalformedPolicyDocumentException when it is not one.
  init(_ text: String) throws(KMSError) {
    guard let data = text.data(using: .utf8),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { throw Self.malformed("The key policy is not a valid JSON policy document.") }
    let raw: [[String: Any]]
    if let list = object["Statement"] as? [[String: Any]] {
      raw = list
    } else if let one = object["Statement"] as? [String: Any] {
      raw = [one]
    } else {
      throw Self.malformed("The key policy must contain a Statement.")
    }
    func strings(_ value: Any?) -> [String]? {
      if let single = value as? String { return [single] }
      if let list = value as? [String] { return list }
      return nil
    }
    var statements: [Statement] = []
    for entry in raw {
      guard let effect = entry["Effect"] as? String, effect == "Allow" || effect == "Deny" else {
        throw Self.malformed("Each policy statement needs an Effect of Allow or Deny.")
      }
      let principalValue = entry["Principal"] ?? entry["NotPrincipal"]
      var principals: [String] = []
      if let star = principalValue as? String, star == "*" {
        principals = ["*"]
      } else if let map = principalValue as? [String: Any] {
        for (kind, value) in map {
          guard let list = strings(value) else {
            throw Self.malformed("Policy contains a statement with one or more invalid principals.")
          }
          for principal in list {
            if kind == "AWS" {
              let valid =
                principal == "*" || principal.wholeMatch(of: /[0-9]{12}/) != nil
                || principal.wholeMatch(of: /arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[^\s]+/) != nil
              guard valid else {
                throw Self.malformed("Policy contains a statement with one or more invalid principals.")
              }
              principals.append(principal)
            } else {
              principals.append("\(kind):\(principal)")
            }
          }
        }
      } else {
        throw Self.malformed("Policy contains a statement with one or more invalid principals.")
      }
      guard let actions = strings(entry["Action"] ?? entry["NotAction"]), !actions.isEmpty else {
        throw Self.malformed("Each policy statement needs an Action.")
      }
      statements.append(
        Statement(
          allow: effect == "Allow", principals: principals, notPrincipal: entry["NotPrincipal"] != nil,
          actions: actions, notAction: entry["NotAction"] != nil, hasCondition: entry["Condition"] != nil))
    }
    self.statements = statements
  }

  enum Decision { case allowed, explicitDeny, implicitDeny }

  func evaluate(principal: String, accountId: String, action: String) -> Decision {
    var allowed = false
    for statement in statements where !statement.hasCondition {
      let principalMatches = statement.principals.contains {
        Self.principal($0, matches: principal, accountId: accountId)
      }
      guard principalMatches != statement.notPrincipal else { continue }
      let actionMatches = statement.actions.contains { Self.glob($0, matches: action) }
      guard actionMatches != statement.notAction else { continue }
      if !statement.allow { return .explicitDeny }
      allowed = true
    }
    return allowed ? .allowed : .implicitDeny
  }

  /// The account (its ID or root ARN) stands for every principal in it: the emulator has no IAM
  /// policies, so what a key policy delegates to IAM is allowed.
  static func principal(_ pattern: String, matches caller: String, accountId: String) -> Bool {
    if pattern == "*" || pattern == caller { return true }
    let callerAccount = caller.split(separator: ":", omittingEmptySubsequences: false).dropFirst(4).first.map(
      String.init)
    let account = pattern.wholeMatch(of: /[0-9]{12}/) != nil ? pattern : nil
    if let account, account == callerAccount { return true }
    if pattern.hasSuffix(":root"),
      let patternAccount = pattern.split(separator: ":", omittingEmptySubsequences: false).dropFirst(4).first,
      String(patternAccount) == callerAccount
    {
      return true
    }
    return false
  }

  /// IAM action matching: case-insensitive, `*` and `?` wildcards.
  static func glob(_ pattern: String, matches text: String) -> Bool {
    let p = Array(pattern.lowercased())
    let t = Array(text.lowercased())
    var (pi, ti, star, mark) = (0, 0, -1, 0)
    while ti < t.count {
      if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
        pi += 1
        ti += 1
      } else if pi < p.count && p[pi] == "*" {
        star = pi
        mark = ti
        pi += 1
      } else if star >= 0 {
        pi = star + 1
        mark += 1
        ti = mark
      } else {
        return false
      }
    }
    while pi < p.count && p[pi] == "*" { pi += 1 }
    return pi == p.count
  }
}

extension KeyStoreEngine {
  /// The caller's principal ARN (the account root unless the front door mapped an access key).
  var callerPrincipal: String {
    CallerIdentity.principal ?? "arn:aws:iam::\(configuration.accountId):root"
  }

  /// The policy KMS gives a key created without one.
  func defaultPolicy() -> String {
    """
    {
      "Version" : "2012-10-17",
      "Id" : "key-default-1",
      "Statement" : [ {
        "Sid" : "Enable IAM User Permissions",
        "Effect" : "Allow",
        "Principal" : {
          "AWS" : "arn:aws:iam::\(configuration.accountId):root"
        },
        "Action" : "kms:*",
        "Resource" : "*"
      } ]
    }
    """
  }

  /// Checks a policy given to CreateKey, PutKeyPolicy or ReplicateKey, including the lockout
  /// safety check; returns what to store (nil: the default policy).
  func checkNewPolicy(_ policy: String?, bypass: Bool) throws(KMSError) -> String? {
    guard let policy else { return nil }
    let document = try KeyPolicyDocument(policy)
    if !bypass,
      document.evaluate(
        principal: callerPrincipal, accountId: configuration.accountId, action: "kms:PutKeyPolicy")
        != .allowed
    {
      throw KMSError(
        .malformedPolicyDocumentException,
        "The new key policy will not allow you to update the key policy in the future.")
    }
    return policy
  }

  /// AccessDeniedException unless the key policy, or a grant (by principal or by grant token),
  /// allows the caller `operation` on the key. Grant tokens must be ones this engine issued.
  func authorize(
    _ key: KeyRecord, _ operation: String, grantTokens: [String]? = nil, context: [String: String]? = nil
  ) throws(KMSError) {
    let tokenGrants = try grantsFromTokens(grantTokens ?? [])
    guard let policy = key.policy else { return }  // the default policy allows the whole account
    let principal = callerPrincipal
    let action = "kms:\(operation)"
    let decision =
      (try? KeyPolicyDocument(policy))?.evaluate(
        principal: principal, accountId: configuration.accountId, action: action) ?? .implicitDeny
    switch decision {
    case .allowed: return
    case .explicitDeny:
      throw KMSError(
        .accessDeniedException,
        "User: \(principal) is not authorized to perform: \(action) on resource: \(key.arn) with an explicit deny in a resource-based policy"
      )
    case .implicitDeny:
      let candidates = (key.grants ?? []).filter { $0.granteePrincipal == principal } + tokenGrants
      if candidates.contains(where: { grant in
        grant.operations.contains { $0.rawValue == operation } && grantConstraintsHold(grant, context)
      }) {
        return
      }
      throw KMSError(
        .accessDeniedException,
        "User: \(principal) is not authorized to perform: \(action) on resource: \(key.arn) because no resource-based policy allows the \(action) action"
      )
    }
  }

  // MARK: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies

  func checkPolicyName(_ name: String?) throws(KMSError) {
    if let name, name != "default" {
      throw KMSError(.notFoundException, "No such policy exists")
    }
  }

  public func getKeyPolicy(_ request: GetKeyPolicyRequest) throws(KMSError) -> GetKeyPolicyResponse {
    try readOnly { () throws(KMSError) -> GetKeyPolicyResponse in
      try request.validate()
      let key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "GetKeyPolicy")
      try checkPolicyName(request.policyName)
      return GetKeyPolicyResponse(policy: key.policy ?? defaultPolicy(), policyName: "default")
    }
  }

  public func putKeyPolicy(_ request: PutKeyPolicyRequest) throws(KMSError) -> PutKeyPolicyResponse {
    try transaction { () throws(KMSError) -> PutKeyPolicyResponse in
      try request.validate()
      var key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "PutKeyPolicy")
      try checkPolicyName(request.policyName)
      key.policy = try checkNewPolicy(request.policy, bypass: request.bypassPolicyLockoutSafetyCheck ?? false)
      updateKey(key, summary: "Key \(key.keyId) policy replaced")
      return PutKeyPolicyResponse()
    }
  }

  public func listKeyPolicies(_ request: ListKeyPoliciesRequest) throws(KMSError) -> ListKeyPoliciesResponse {
    try readOnly { () throws(KMSError) -> ListKeyPoliciesResponse in
      try request.validate()
      let key = try resolveKeyById(request.keyIdValue)
      try authorize(key, "ListKeyPolicies")
      let page = try pageList(
        ["default"], kind: "policy", limit: request.limit ?? 100, marker: request.marker)
      return ListKeyPoliciesResponse(
        policyNames: page.items, nextMarker: page.nextMarker, truncated: page.nextMarker != nil)
    }
  }

  // MARK: Shared helpers of the issue-14 operations

  /// A key by key ID or key ARN only (the operations whose KeyId does not take aliases).
  func resolveKeyById(_ reference: KeyReference) throws(KMSError) -> KeyRecord {
    let text = reference.rawValue
    if text.hasPrefix("alias/") || text.contains(":alias/") {
      throw KMSError(.notFoundException, "Invalid keyId \(text.prefix(256))")
    }
    return try resolveKey(reference)
  }

  static func isMultiRegionKeyId(_ identifier: String) -> Bool {
    identifier.count == 36 && identifier.hasPrefix("mrk-")
      && identifier.dropFirst(4).allSatisfy { $0.isHexDigit && !$0.isUppercase }
  }

  /// `Limit`/`Marker` paging over a short list in its order (tags, grants, rotations).
  func pageList<Item>(_ items: [Item], kind: String, limit: Int, marker: String?) throws(KMSError) -> Page<
    Item
  > {
    let ordered = items.indices.map { OrderedID(sequence: UInt64($0 + 1), id: String($0)) }
    return try paginate(
      ordered: ordered, item: { Int($0).map { items[$0] } }, kind: kind, limit: limit, marker: marker)
  }

  /// Refuses the change on a key that is pending deletion (the key-state table's KMSInvalidState).
  func requireNotPendingDeletion(_ key: KeyRecord) throws(KMSError) {
    if key.deletionDate != nil { throw KMSError.keyPendingDeletion(key.arn) }
    if key.awaitingReplicaDeletion == true {
      throw KMSError(.kmsInvalidStateException, "\(key.arn) is pending replica deletion.")
    }
  }
}
