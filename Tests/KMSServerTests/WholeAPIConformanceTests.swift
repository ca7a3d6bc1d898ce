import Foundation
import Testing

/// Issue 14 through the real clients: the rest of the KMS API and every key spec, checked
/// against Python's `cryptography` (an independent implementation of RSA, ECDSA, ECDH, HMAC and
/// AES key wrap).
@Suite(
  "Issue 14: the whole KMS API through boto3 and the AWS CLI", .serialized,
  .enabled(if: Conformance.enabled, Comment(rawValue: Conformance.installHint)))
struct WholeAPIConformanceTests {
  static let cryptographyHint =
    "these tests check results with Python's cryptography: pip install cryptography"

  /// Whether Python's `cryptography` can be imported (checked once).
  static let cryptographyAvailable: Bool = {
    let output = try? Conformance.runSync(
      "/usr/bin/env", ["python3", "-c", "import cryptography"],
      environment: Conformance.clientEnvironment(region: "us-east-1"))
    return output?.status == 0
  }()

  /// Skips (naming the install command) without `cryptography`; fails instead on CI.
  static func requireCryptography(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    if cryptographyAvailable { return true }
    if Conformance.isCI {
      Issue.record(Comment(rawValue: cryptographyHint), sourceLocation: sourceLocation)
    } else {
      print("skipped: \(cryptographyHint)")
    }
    return false
  }

  /// An AWS CLI answer (`--output json`) as a dictionary.
  func json(_ output: Conformance.Output) throws -> [String: Any] {
    try #require(
      JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any],
      "not JSON: \(output.stdout) \(output.stderr)")
  }

  func expectScript(_ output: Conformance.Output, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(
      output.status == 0, "python exit \(output.status)\n\(output.stdout)\n\(output.stderr)",
      sourceLocation: sourceLocation)
  }

  @Test(
    "boto3: tags, policies, grants, rotation, every key spec, import, multi-Region, reset",
    .enabled(if: cryptographyAvailable || Conformance.isCI, "skipped: \(cryptographyHint)"))
  func wholeAPI() async throws {
    try Conformance.requireTools()
    try #require(Self.requireCryptography())
    let server = try await ServerProcess()
    defer { server.stop() }
    let output = try await server.python(Self.script, name: "issue14")
    expectScript(output)
    #expect(output.stdout.contains("checked: tags, policies, grants"), "\(output.stdout)")
    #expect(output.stdout.contains("ecc, secp256k1, hmac"), "\(output.stdout)")
    if output.status != 0 { print(server.log.suffix(4000)) }
  }

  @Test("boto3: a key policy denies a mapped principal; the account root is still allowed")
  func policyEnforcementByPrincipal() async throws {
    try Conformance.requireTools()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kmsdash-principals-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("principals.json")
    try Data(
      #"[{"AccessKeyId": "AKIDALICE00000000001", "SecretAccessKey": "alice-secret-0000000000000000000000000000", "Principal": "arn:aws:iam::111122223333:user/alice"}]"#
        .utf8
    ).write(to: file)
    let server = try await ServerProcess(arguments: ["--principals", file.path])
    defer { server.stop() }
    let output = try await server.python(
      #"""
      alice = boto3.client("kms", endpoint_url=ENDPOINT, region_name=REGION, config=CONFIG,
                           aws_access_key_id="AKIDALICE00000000001",
                           aws_secret_access_key="alice-secret-0000000000000000000000000000")
      key = kms.create_key()["KeyMetadata"]["KeyId"]
      alice.encrypt(KeyId=key, Plaintext=b"allowed by the default policy")
      policy = json.dumps({"Version": "2012-10-17", "Statement": [
          {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
          {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"},
           "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}]})
      kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy)
      e = expect_error("AccessDeniedException", alice.encrypt, KeyId=key, Plaintext=b"x")
      assert "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:Encrypt" in e.response["Error"]["Message"], e
      kms.encrypt(KeyId=key, Plaintext=b"root is not denied")
      alice.describe_key(KeyId=key)
      # Only alice may use this one: the root is refused, and a grant lets bob's role in.
      only = json.dumps({"Version": "2012-10-17", "Statement": [
          {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"}, "Action": "kms:*", "Resource": "*"}]})
      key2 = alice.create_key(Policy=only)["KeyMetadata"]["KeyId"]
      expect_error("MalformedPolicyDocumentException", kms.create_key, Policy=only)
      expect_error("AccessDeniedException", kms.encrypt, KeyId=key2, Plaintext=b"x")
      grant = alice.create_grant(KeyId=key2, GranteePrincipal="arn:aws:iam::111122223333:root", Operations=["Encrypt"])
      kms.encrypt(KeyId=key2, Plaintext=b"by grant")
      expect_error("AccessDeniedException", kms.generate_data_key, KeyId=key2, KeySpec="AES_256")
      # RetireGrant is decided by the grant: alice (who made it, allowed kms:* on the key) is not
      # its retiring principal; the account root is.
      e = expect_error("AccessDeniedException", alice.retire_grant, GrantToken=grant["GrantToken"])
      assert "kms:RetireGrant" in e.response["Error"]["Message"], e
      kms.retire_grant(GrantToken=grant["GrantToken"])
      expect_error("AccessDeniedException", kms.encrypt, KeyId=key2, Plaintext=b"x")
      print("policy enforcement ok")
      """#, name: "principals")
    expectScript(output)
  }

  @Test("AWS CLI: tag-resource, sign/verify, get-public-key and their errors")
  func cliSignAndTags() async throws {
    try Conformance.requireTools()
    let server = try await ServerProcess()
    defer { server.stop() }
    let created = try await server.aws([
      "kms", "create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY", "--tags",
      "TagKey=team,TagValue=qa",
    ])
    #expect(created.status == 0, "\(created.stderr)")
    let metadata = try #require(try json(created)["KeyMetadata"] as? [String: Any])
    let keyId = try #require(metadata["KeyId"] as? String)
    #expect(metadata["SigningAlgorithms"] as? [String] == ["ECDSA_SHA_256"])
    let tags = try await server.aws(["kms", "list-resource-tags", "--key-id", keyId])
    #expect((try json(tags)["Tags"] as? [[String: String]]) == [["TagKey": "team", "TagValue": "qa"]])
    let signed = try await server.aws([
      "kms", "sign", "--key-id", keyId, "--message", "hello", "--signing-algorithm", "ECDSA_SHA_256",
    ])
    #expect(signed.status == 0, "\(signed.stderr)")
    let signature = try #require(try json(signed)["Signature"] as? String)
    let file = server.directory.appendingPathComponent("sig.bin")
    try #require(Data(base64Encoded: signature)).write(to: file)
    let verified = try await server.aws([
      "kms", "verify", "--key-id", keyId, "--message", "hello", "--signature", "fileb://\(file.path)",
      "--signing-algorithm", "ECDSA_SHA_256",
    ])
    #expect(verified.status == 0, "\(verified.stderr)")
    #expect(try json(verified)["SignatureValid"] as? Bool == true)
    let tampered = try await server.aws([
      "kms", "verify", "--key-id", keyId, "--message", "hellO", "--signature", "fileb://\(file.path)",
      "--signing-algorithm", "ECDSA_SHA_256",
    ])
    #expect(tampered.status == 255)
    #expect(
      tampered.stderr.contains(
        "An error occurred (KMSInvalidSignatureException) when calling the Verify operation"))
    let wrongAlgorithm = try await server.aws([
      "kms", "sign", "--key-id", keyId, "--message", "hello", "--signing-algorithm", "RSASSA_PSS_SHA_256",
    ])
    #expect(
      wrongAlgorithm.stderr.contains(
        "An error occurred (InvalidKeyUsageException) when calling the Sign operation"))
    let publicKey = try await server.aws(["kms", "get-public-key", "--key-id", keyId])
    #expect((try json(publicKey)["KeySpec"] as? String) == "ECC_NIST_P256")
    let disabled = try await server.aws(["kms", "disable-key", "--key-id", keyId])
    #expect(disabled.status == 0)
    let refused = try await server.aws([
      "kms", "sign", "--key-id", keyId, "--message", "hello", "--signing-algorithm", "ECDSA_SHA_256",
    ])
    #expect(refused.stderr.contains("An error occurred (DisabledException) when calling the Sign operation"))
    let reset = try await Conformance.run(
      "/usr/bin/env", ["aws", "kms", "list-keys", "--endpoint-url", server.endpoint, "--output", "json"],
      environment: Conformance.clientEnvironment(region: "us-east-1"))
    #expect(reset.status == 0)
  }

  @Test("AWS CLI: each error of issue 14 by its exception name and AWS's message")
  func cliErrors() async throws {
    try Conformance.requireTools()
    let server = try await ServerProcess()
    defer { server.stop() }
    func newKey(_ arguments: [String] = []) async throws -> (id: String, arn: String) {
      let created = try await server.aws(["kms", "create-key"] + arguments)
      #expect(created.status == 0, "\(created.stderr)")
      let metadata = try #require(try json(created)["KeyMetadata"] as? [String: Any])
      return (try #require(metadata["KeyId"] as? String), try #require(metadata["Arn"] as? String))
    }
    /// The CLI's one-line error: exit 255 and "An error occurred (Code) when calling the Op operation…: message".
    func expectFailure(
      _ arguments: [String], _ code: String, _ operation: String, message: String? = nil,
      sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
      let output = try await server.aws(arguments)
      #expect(output.status == 255, "\(arguments): \(output.stdout)", sourceLocation: sourceLocation)
      // AWS CLI v1 adds " (reached max retries: N)" after the operation name.
      let expected = "An error occurred (\(code)) when calling the \(operation) operation"
      #expect(output.stderr.contains(expected), "\(output.stderr)", sourceLocation: sourceLocation)
      if let message {
        #expect(
          output.stderr.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(": \(message)"),
          "\(output.stderr)", sourceLocation: sourceLocation)
      }
    }
    let signing = try await newKey(["--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY"])
    let mac = try await newKey(["--key-spec", "HMAC_256", "--key-usage", "GENERATE_VERIFY_MAC"])
    let plain = try await newKey()

    // Wrong key usage, wrong algorithm.
    try await expectFailure(
      ["kms", "encrypt", "--key-id", signing.id, "--plaintext", "aGk="], "InvalidKeyUsageException",
      "Encrypt",
      message: "\(signing.arn) key usage is SIGN_VERIFY which is not valid for Encrypt.")
    try await expectFailure(
      ["kms", "generate-mac", "--key-id", mac.id, "--message", "aGk=", "--mac-algorithm", "HMAC_SHA_512"],
      "InvalidKeyUsageException", "GenerateMac",
      message: "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.")
    try await expectFailure(
      [
        "kms", "encrypt", "--key-id", plain.id, "--plaintext", "aGk=", "--encryption-algorithm",
        "RSAES_OAEP_SHA_256",
      ],
      "InvalidKeyUsageException", "Encrypt")

    // Disabled key.
    #expect(try await server.aws(["kms", "disable-key", "--key-id", mac.id]).status == 0)
    try await expectFailure(
      ["kms", "generate-mac", "--key-id", mac.id, "--message", "aGk=", "--mac-algorithm", "HMAC_SHA_256"],
      "DisabledException", "GenerateMac", message: "\(mac.arn) is disabled.")

    // Pending import.
    let external = try await newKey(["--origin", "EXTERNAL"])
    try await expectFailure(
      ["kms", "encrypt", "--key-id", external.id, "--plaintext", "aGk="], "KMSInvalidStateException",
      "Encrypt",
      message: "\(external.arn) is pending import.")

    // Invalid grant token.
    try await expectFailure(
      ["kms", "encrypt", "--key-id", plain.id, "--plaintext", "aGk=", "--grant-tokens", "not-a-token"],
      "InvalidGrantTokenException", "Encrypt", message: "The grant token is not valid.")
    try await expectFailure(
      ["kms", "retire-grant", "--grant-token", "not-a-token"], "InvalidGrantTokenException", "RetireGrant")

    // Policy lockout, and the bypass that accepts it.
    let lockout =
      #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/nobody"},"Action":"kms:*","Resource":"*"}]}"#
    try await expectFailure(
      ["kms", "put-key-policy", "--key-id", plain.id, "--policy-name", "default", "--policy", lockout],
      "MalformedPolicyDocumentException", "PutKeyPolicy",
      message: "The new key policy will not allow you to update the key policy in the future.")
    try await expectFailure(
      ["kms", "create-key", "--policy", lockout], "MalformedPolicyDocumentException", "CreateKey")

    // Alias names: letters, digits, '/', '_' and '-' after "alias/" (the model's pattern also
    // lets ':' through; KMS does not), and a name without the prefix is invalid, not unknown.
    try await expectFailure(
      ["kms", "create-alias", "--alias-name", "alias/my:alias", "--target-key-id", plain.id],
      "ValidationException", "CreateAlias", message: "alias/my:alias contains invalid characters for an alias"
    )
    #expect(
      try await server.aws([
        "kms", "create-alias", "--alias-name", "alias/my_alias-/", "--target-key-id", plain.id,
      ])
      .status == 0)
    try await expectFailure(
      ["kms", "delete-alias", "--alias-name", "wrongprefix/my-alias"], "ValidationException", "DeleteAlias",
      message:
        "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
    )
    try await expectFailure(
      ["kms", "delete-alias", "--alias-name", "alias/never-created"], "NotFoundException", "DeleteAlias")

    // Tag limits: reserved prefix, 50 tags per key, key and value lengths.
    try await expectFailure(
      ["kms", "tag-resource", "--key-id", plain.id, "--tags", "TagKey=aws:owner,TagValue=x"], "TagException",
      "TagResource")
    let fifty = (0..<50).map { "TagKey=k\($0),TagValue=v" }
    #expect(
      try await server.aws(["kms", "tag-resource", "--key-id", plain.id, "--tags"] + fifty).status == 0)
    try await expectFailure(
      ["kms", "tag-resource", "--key-id", plain.id, "--tags", "TagKey=one-more,TagValue=v"],
      "LimitExceededException", "TagResource")
    try await expectFailure(
      [
        "kms", "tag-resource", "--key-id", signing.id, "--tags",
        "TagKey=\(String(repeating: "k", count: 129)),TagValue=v",
      ],
      "ValidationException", "TagResource")

    // GetKeyLastUsage: the last successful cryptographic operation (the failures above are none).
    let signed = try await server.aws([
      "kms", "sign", "--key-id", signing.id, "--message", "aGk=", "--signing-algorithm", "ECDSA_SHA_256",
    ])
    #expect(signed.status == 0, "\(signed.stderr)")
    let usage = try json(try await server.aws(["kms", "get-key-last-usage", "--key-id", signing.id]))
    #expect((usage["KeyLastUsage"] as? [String: Any])?["Operation"] as? String == "Sign", "\(usage)")
    let unused = try json(try await server.aws(["kms", "get-key-last-usage", "--key-id", external.id]))
    #expect(unused["KeyLastUsage"] == nil && unused["TrackingStartDate"] != nil, "\(unused)")
  }

  @Test("kmsdash reset: asks without --yes, resets every Region with it, and explains its errors")
  func resetCommand() async throws {
    try Conformance.requireTools()
    let server = try await ServerProcess()
    defer { server.stop() }
    func keyCount(_ region: String) async throws -> Int {
      let listed = try await server.aws(["kms", "list-keys"], region: region)
      #expect(listed.status == 0, "\(listed.stderr)")
      let object = try #require(
        JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any], "\(listed.stdout)")
      return try #require(object["Keys"] as? [[String: Any]]).count
    }
    func reset(_ arguments: [String], secret: String? = nil) async throws -> Conformance.Output {
      try await Conformance.run(
        Conformance.kmsdashBinary().path, ["reset"] + arguments,
        environment: Conformance.clientEnvironment(region: "us-east-1", secret: secret))
    }
    let seeded = try await keyCount("us-east-1")
    let seededWest = try await keyCount("eu-west-1")
    #expect(try await server.aws(["kms", "create-key"]).status == 0)
    #expect(try await server.aws(["kms", "create-key"], region: "eu-west-1").status == 0)
    #expect(try await keyCount("us-east-1") == seeded + 1)

    // Without a terminal and without --yes it refuses, changing nothing.
    let refused = try await reset(["--endpoint", server.endpoint])
    #expect(refused.status != 0)
    #expect(refused.stderr.contains("add --yes to confirm without a terminal"), "\(refused.stderr)")
    #expect(try await keyCount("us-east-1") == seeded + 1)

    // A wrong secret is refused by the server, with what to do about it.
    let unsigned = try await reset(["--endpoint", server.endpoint, "--yes"], secret: "wrong-secret")
    #expect(unsigned.status == 1)
    #expect(unsigned.stderr.hasPrefix("kmsdash reset: An error occurred ("), "\(unsigned.stderr)")
    #expect(unsigned.stderr.contains("sign with the server's credentials"), "\(unsigned.stderr)")
    #expect(try await keyCount("us-east-1") == seeded + 1)

    let done = try await reset(["--endpoint", server.endpoint, "--yes"])
    #expect(done.status == 0, "\(done.stderr)")
    #expect(done.stdout.contains("every Region is back to its scenario"), "\(done.stdout)")
    #expect(try await keyCount("us-east-1") == seeded)
    #expect(try await keyCount("eu-west-1") == seededWest)

    // Nothing listening: a readable error, not a stack trace.
    server.stop()
    let unreachable = try await reset(["--endpoint", server.endpoint, "--yes"])
    #expect(unreachable.status == 1)
    #expect(
      unreachable.stderr.hasPrefix("kmsdash reset: cannot reach \(server.endpoint)"), "\(unreachable.stderr)")
    let badURL = try await reset(["--endpoint", "not a url", "--yes"])
    #expect(badURL.status != 0)
    #expect(badURL.stderr.contains("--endpoint must be an http(s) URL"), "\(badURL.stderr)")
  }

  static let script = #"""
    import base64, hashlib, hmac as pyhmac, os, urllib.request
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

    checked = []
    def ok(name):
        checked.append(name)

    def new_key(**kw):
        return kms.create_key(**kw)["KeyMetadata"]

    # --- tags, on CreateKey and after
    key = new_key(Description="tagged", Tags=[{"TagKey": "team", "TagValue": "a"}])
    kid = key["KeyId"]
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT" and key["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "env", "TagValue": "test"}, {"TagKey": "team", "TagValue": "b"}])
    tags = kms.list_resource_tags(KeyId=kid)["Tags"]
    assert tags == [{"TagKey": "team", "TagValue": "b"}, {"TagKey": "env", "TagValue": "test"}], tags
    kms.untag_resource(KeyId=kid, TagKeys=["env"])
    assert kms.list_resource_tags(KeyId=kid)["Tags"] == [{"TagKey": "team", "TagValue": "b"}]
    expect_error("TagException", kms.tag_resource, KeyId=kid, Tags=[{"TagKey": "aws:x", "TagValue": "y"}])
    expect_error("LimitExceededException", kms.tag_resource, KeyId=kid,
                 Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)])
    page = kms.list_resource_tags(KeyId=kid, Limit=1)
    assert page["Truncated"] is False
    ok("tags")

    # --- key policies
    policy = json.loads(kms.get_key_policy(KeyId=kid, PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"]["AWS"].endswith(":root"), policy
    assert kms.list_key_policies(KeyId=kid)["PolicyNames"] == ["default"]
    lockout = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/nobody"}, "Action": "kms:*", "Resource": "*"}]})
    e = expect_error("MalformedPolicyDocumentException", kms.put_key_policy, KeyId=kid, PolicyName="default", Policy=lockout)
    assert "will not allow you to update the key policy" in e.response["Error"]["Message"]
    expect_error("MalformedPolicyDocumentException", kms.put_key_policy, KeyId=kid, PolicyName="default", Policy="{not json")
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"}]})
    kms.put_key_policy(KeyId=kid, PolicyName="default", Policy=deny)
    assert json.loads(kms.get_key_policy(KeyId=kid)["Policy"])["Statement"][1]["Effect"] == "Deny"
    e = expect_error("AccessDeniedException", kms.encrypt, KeyId=kid, Plaintext=b"x")
    assert "explicit deny" in e.response["Error"]["Message"]
    kms.generate_data_key(KeyId=kid, KeySpec="AES_256")  # not denied
    kms.put_key_policy(KeyId=kid, Policy=lockout, BypassPolicyLockoutSafetyCheck=True)
    expect_error("AccessDeniedException", kms.describe_key, KeyId=kid)
    ok("policies")

    # --- grants
    gkey = new_key()["KeyId"]
    grant = kms.create_grant(KeyId=gkey, GranteePrincipal="arn:aws:iam::111122223333:role/app",
                             RetiringPrincipal="arn:aws:iam::111122223333:role/ops",
                             Operations=["Encrypt", "Decrypt"], Name="g1",
                             Constraints={"EncryptionContextSubset": {"app": "x"}})
    again = kms.create_grant(KeyId=gkey, GranteePrincipal="arn:aws:iam::111122223333:role/app",
                             RetiringPrincipal="arn:aws:iam::111122223333:role/ops",
                             Operations=["Decrypt", "Encrypt"], Name="g1",
                             Constraints={"EncryptionContextSubset": {"app": "x"}})
    assert again["GrantId"] == grant["GrantId"]
    grants = kms.list_grants(KeyId=gkey)["Grants"]
    assert len(grants) == 1 and grants[0]["Operations"] == ["Encrypt", "Decrypt"], grants
    retirable = kms.list_retirable_grants(RetiringPrincipal="arn:aws:iam::111122223333:role/ops")["Grants"]
    assert [g["GrantId"] for g in retirable] == [grant["GrantId"]]
    kms.encrypt(KeyId=gkey, Plaintext=b"x", GrantTokens=[grant["GrantToken"]])
    expect_error("InvalidGrantTokenException", kms.encrypt, KeyId=gkey, Plaintext=b"x", GrantTokens=["bogus"])
    expect_error("ValidationException", kms.create_grant, KeyId=gkey, GranteePrincipal="arn:aws:iam::111122223333:role/app",
                 Operations=["Sign"])
    expect_error("DryRunOperationException", kms.create_grant, KeyId=gkey,
                 GranteePrincipal="arn:aws:iam::111122223333:role/app", Operations=["Encrypt"], DryRun=True)
    assert len(kms.list_grants(KeyId=gkey)["Grants"]) == 1
    kms.retire_grant(GrantToken=grant["GrantToken"])
    assert kms.list_grants(KeyId=gkey)["Grants"] == []
    g2 = kms.create_grant(KeyId=gkey, GranteePrincipal="arn:aws:iam::111122223333:role/app", Operations=["Decrypt"])
    kms.revoke_grant(KeyId=gkey, GrantId=g2["GrantId"])
    expect_error("NotFoundException", kms.revoke_grant, KeyId=gkey, GrantId=g2["GrantId"])
    ok("grants")

    # --- rotation, UpdateAlias, UpdateKeyDescription
    rkey = new_key()["KeyId"]
    blob = kms.encrypt(KeyId=rkey, Plaintext=b"before rotation")["CiphertextBlob"]
    assert kms.get_key_rotation_status(KeyId=rkey)["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=rkey, RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=rkey)
    assert status["KeyRotationEnabled"] and status["RotationPeriodInDays"] == 180 and "NextRotationDate" in status
    before = kms.describe_key(KeyId=rkey)["KeyMetadata"]["CurrentKeyMaterialId"]
    kms.rotate_key_on_demand(KeyId=rkey)
    after = kms.describe_key(KeyId=rkey)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert before != after
    rotations = kms.list_key_rotations(KeyId=rkey)["Rotations"]
    assert len(rotations) == 1 and rotations[0]["RotationType"] == "ON_DEMAND" and rotations[0]["KeyMaterialState"] == "CURRENT"
    assert len(kms.list_key_rotations(KeyId=rkey, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]) == 2
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before rotation"
    kms.disable_key_rotation(KeyId=rkey)
    assert kms.get_key_rotation_status(KeyId=rkey)["KeyRotationEnabled"] is False
    kms.disable_key(KeyId=rkey)
    expect_error("DisabledException", kms.rotate_key_on_demand, KeyId=rkey)
    kms.enable_key(KeyId=rkey)
    store_key = kms.create_key(CustomKeyStoreId="cks-0de30000000000001", Origin="AWS_CLOUDHSM")["KeyMetadata"]["KeyId"]
    for op in (kms.enable_key_rotation, kms.rotate_key_on_demand, kms.get_key_rotation_status):
        expect_error("UnsupportedOperationException", op, KeyId=store_key)
    kms.tag_resource(KeyId=store_key, Tags=[{"TagKey": "in", "TagValue": "store"}])
    kms.create_alias(AliasName="alias/rot", TargetKeyId=rkey)
    kms.update_alias(AliasName="alias/rot", TargetKeyId=gkey)
    assert [a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/rot"] == [gkey]
    expect_error("NotFoundException", kms.update_alias, AliasName="alias/none", TargetKeyId=gkey)
    kms.update_key_description(KeyId=gkey, Description="new words")
    assert kms.describe_key(KeyId=gkey)["KeyMetadata"]["Description"] == "new words"
    ok("rotation, aliases, descriptions")

    # --- RSA: OAEP against cryptography, PSS and PKCS#1 v1.5, RAW and DIGEST
    HASHES = {"SHA_256": hashes.SHA256(), "SHA_384": hashes.SHA384(), "SHA_512": hashes.SHA512()}
    for size in (2048, 3072, 4096):
        enc = new_key(KeySpec=f"RSA_{size}", KeyUsage="ENCRYPT_DECRYPT")
        assert enc["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"], enc
        pub = serialization.load_der_public_key(kms.get_public_key(KeyId=enc["KeyId"])["PublicKey"])
        assert pub.key_size == size
        for alg, h in (("RSAES_OAEP_SHA_1", hashes.SHA1()), ("RSAES_OAEP_SHA_256", hashes.SHA256())):
            ct = pub.encrypt(b"secret %d" % size, padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None))
            got = kms.decrypt(KeyId=enc["KeyId"], CiphertextBlob=ct, EncryptionAlgorithm=alg)
            assert got["Plaintext"] == b"secret %d" % size and got["EncryptionAlgorithm"] == alg
            ct2 = kms.encrypt(KeyId=enc["KeyId"], Plaintext=b"round", EncryptionAlgorithm=alg)["CiphertextBlob"]
            assert kms.decrypt(KeyId=enc["KeyId"], CiphertextBlob=ct2, EncryptionAlgorithm=alg)["Plaintext"] == b"round"
        expect_error("ValidationException", kms.encrypt, KeyId=enc["KeyId"], Plaintext=b"x")
        expect_error("InvalidKeyUsageException", kms.encrypt, KeyId=enc["KeyId"], Plaintext=b"x",
                     EncryptionAlgorithm="SYMMETRIC_DEFAULT")
        expect_error("InvalidKeyUsageException", kms.sign, KeyId=enc["KeyId"], Message=b"m",
                     SigningAlgorithm="RSASSA_PSS_SHA_256")
        sig = new_key(KeySpec=f"RSA_{size}", KeyUsage="SIGN_VERIFY")
        spub = serialization.load_der_public_key(kms.get_public_key(KeyId=sig["KeyId"])["PublicKey"])
        for alg in sig["SigningAlgorithms"]:
            h = HASHES[alg[-7:]]
            pad = padding.PSS(mgf=padding.MGF1(h), salt_length=padding.PSS.AUTO) if "PSS" in alg else padding.PKCS1v15()
            message = b"message for " + alg.encode()
            s = kms.sign(KeyId=sig["KeyId"], Message=message, SigningAlgorithm=alg)["Signature"]
            spub.verify(s, message, pad, h)
            digest = hashlib.new(h.name, message).digest()
            s2 = kms.sign(KeyId=sig["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm=alg)["Signature"]
            spub.verify(s2, message, pad, h)
            assert kms.verify(KeyId=sig["KeyId"], Message=message, Signature=s, SigningAlgorithm=alg)["SignatureValid"]
            expect_error("KMSInvalidSignatureException", kms.verify, KeyId=sig["KeyId"], Message=message + b"!",
                         Signature=s, SigningAlgorithm=alg)
        expect_error("ValidationException", kms.sign, KeyId=sig["KeyId"], Message=b"short", MessageType="DIGEST",
                     SigningAlgorithm="RSASSA_PSS_SHA_256")
        expect_error("InvalidKeyUsageException", kms.sign, KeyId=sig["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
        expect_error("DryRunOperationException", kms.sign, KeyId=sig["KeyId"], Message=b"m",
                     SigningAlgorithm="RSASSA_PSS_SHA_256", DryRun=True)
    ok("rsa")

    # --- NIST ECC: ECDSA against cryptography, DeriveSharedSecret
    CURVES = {"P256": (ec.SECP256R1(), "ECDSA_SHA_256", hashes.SHA256()),
              "P384": (ec.SECP384R1(), "ECDSA_SHA_384", hashes.SHA384()),
              "P521": (ec.SECP521R1(), "ECDSA_SHA_512", hashes.SHA512())}
    for name, (curve, alg, h) in CURVES.items():
        sig = new_key(KeySpec=f"ECC_NIST_{name}", KeyUsage="SIGN_VERIFY")
        assert sig["SigningAlgorithms"] == [alg]
        pub = serialization.load_der_public_key(kms.get_public_key(KeyId=sig["KeyId"])["PublicKey"])
        s = kms.sign(KeyId=sig["KeyId"], Message=b"hello", SigningAlgorithm=alg)["Signature"]
        pub.verify(s, b"hello", ec.ECDSA(h))
        digest = hashlib.new(h.name, b"hello").digest()
        s2 = kms.sign(KeyId=sig["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm=alg)["Signature"]
        pub.verify(s2, digest, ec.ECDSA(utils.Prehashed(h)))
        local = ec.generate_private_key(curve)
        local_sig = local.sign(b"from python", ec.ECDSA(h))
        agree = new_key(KeySpec=f"ECC_NIST_{name}", KeyUsage="KEY_AGREEMENT")
        assert agree["KeyAgreementAlgorithms"] == ["ECDH"]
        apub = serialization.load_der_public_key(kms.get_public_key(KeyId=agree["KeyId"])["PublicKey"])
        peer = ec.generate_private_key(curve)
        peer_der = peer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        secret = kms.derive_shared_secret(KeyId=agree["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=peer_der)
        assert secret["SharedSecret"] == peer.exchange(ec.ECDH(), apub), name
        expect_error("InvalidKeyUsageException", kms.derive_shared_secret, KeyId=sig["KeyId"],
                     KeyAgreementAlgorithm="ECDH", PublicKey=peer_der)
        expect_error("InvalidKeyUsageException", kms.sign, KeyId=agree["KeyId"], Message=b"m", SigningAlgorithm=alg)
    expect_error("ValidationException", kms.create_key, KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT")
    ok("ecc")

    # --- ECC_SECG_P256K1 (kmsdash's own curve arithmetic: swift-crypto has no secp256k1)
    k1 = new_key(KeySpec="ECC_SECG_P256K1", KeyUsage="SIGN_VERIFY")
    assert k1["SigningAlgorithms"] == ["ECDSA_SHA_256"] and k1["KeySpec"] == "ECC_SECG_P256K1", k1
    k1pub = serialization.load_der_public_key(kms.get_public_key(KeyId=k1["KeyId"])["PublicKey"])
    assert k1pub.curve.name == "secp256k1", k1pub.curve.name
    for i in range(8):
        m = b"secp256k1 message %d" % i
        s = kms.sign(KeyId=k1["KeyId"], Message=m, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        k1pub.verify(s, m, ec.ECDSA(hashes.SHA256()))
        assert kms.verify(KeyId=k1["KeyId"], Message=m, Signature=s, SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"]
        d = hashlib.sha256(m).digest()
        s2 = kms.sign(KeyId=k1["KeyId"], Message=d, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        k1pub.verify(s2, d, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    expect_error("KMSInvalidSignatureException", kms.verify, KeyId=k1["KeyId"], Message=b"other", Signature=s,
                 SigningAlgorithm="ECDSA_SHA_256")
    expect_error("InvalidKeyUsageException", kms.sign, KeyId=k1["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_384")
    expect_error("ValidationException", kms.create_key, KeySpec="ECC_SECG_P256K1", KeyUsage="KEY_AGREEMENT")
    # Key material made by cryptography, imported: its signatures verify in kmsdash.
    ik = new_key(KeySpec="ECC_SECG_P256K1", KeyUsage="SIGN_VERIFY", Origin="EXTERNAL")["KeyId"]
    local = ec.generate_private_key(ec.SECP256K1())
    pkcs8 = local.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    params = kms.get_parameters_for_import(KeyId=ik, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256",
                                           WrappingKeySpec="RSA_4096")
    aes = os.urandom(32)
    wrapped = serialization.load_der_public_key(params["PublicKey"]).encrypt(
        aes, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)) \
        + aes_key_wrap_with_padding(aes, pkcs8)
    kms.import_key_material(KeyId=ik, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.get_public_key(KeyId=ik)["PublicKey"] == local.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    for i in range(8):
        m = b"signed by cryptography %d" % i
        theirs = local.sign(m, ec.ECDSA(hashes.SHA256()))
        assert kms.verify(KeyId=ik, Message=m, Signature=theirs, SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"]
        expect_error("KMSInvalidSignatureException", kms.verify, KeyId=ik, Message=m + b"!", Signature=theirs,
                     SigningAlgorithm="ECDSA_SHA_256")
    ok("secp256k1")

    # --- HMAC against Python's hmac
    for bits in (224, 256, 384, 512):
        mk = new_key(KeySpec=f"HMAC_{bits}", KeyUsage="GENERATE_VERIFY_MAC")
        alg = f"HMAC_SHA_{bits}"
        assert mk["MacAlgorithms"] == [alg]
        mac = kms.generate_mac(KeyId=mk["KeyId"], Message=b"data", MacAlgorithm=alg)["Mac"]
        assert len(mac) == bits // 8
        assert kms.verify_mac(KeyId=mk["KeyId"], Message=b"data", MacAlgorithm=alg, Mac=mac)["MacValid"]
        expect_error("KMSInvalidMacException", kms.verify_mac, KeyId=mk["KeyId"], Message=b"datb", MacAlgorithm=alg, Mac=mac)
        expect_error("InvalidKeyUsageException", kms.encrypt, KeyId=mk["KeyId"], Plaintext=b"x")
        expect_error("ValidationException", kms.create_key, KeySpec=f"HMAC_{bits}")
    # an imported HMAC key, so the MAC can be recomputed here
    hk = new_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", Origin="EXTERNAL")["KeyId"]
    params = kms.get_parameters_for_import(KeyId=hk, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    secret_bytes = os.urandom(32)
    wrap = serialization.load_der_public_key(params["PublicKey"])
    wrapped = wrap.encrypt(secret_bytes, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    kms.import_key_material(KeyId=hk, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    for payload in (b"", b"abc", b"x" * 4096):
        if not payload:
            continue
        mac = kms.generate_mac(KeyId=hk, Message=payload, MacAlgorithm="HMAC_SHA_256")["Mac"]
        assert mac == pyhmac.new(secret_bytes, payload, hashlib.sha256).digest()
    hk224 = new_key(KeySpec="HMAC_224", KeyUsage="GENERATE_VERIFY_MAC", Origin="EXTERNAL")["KeyId"]
    params = kms.get_parameters_for_import(KeyId=hk224, WrappingAlgorithm="RSAES_OAEP_SHA_1", WrappingKeySpec="RSA_3072")
    secret224 = os.urandom(28)
    wrapped = serialization.load_der_public_key(params["PublicKey"]).encrypt(
        secret224, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    kms.import_key_material(KeyId=hk224, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped)
    for payload in (b"a", b"q" * 55, b"z" * 64, b"w" * 1000):
        mac = kms.generate_mac(KeyId=hk224, Message=payload, MacAlgorithm="HMAC_SHA_224")["Mac"]
        assert mac == pyhmac.new(secret224, payload, hashlib.sha224).digest(), payload[:4]
    ok("hmac")

    # --- data key pairs
    sym = new_key()["KeyId"]
    for spec in ("RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1"):
        pair = kms.generate_data_key_pair(KeyId=sym, KeyPairSpec=spec, EncryptionContext={"a": "b"})
        private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
        pub_der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert pub_der == pair["PublicKey"], spec
        opened = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext={"a": "b"})
        assert opened["Plaintext"] == pair["PrivateKeyPlaintext"]
        nop = kms.generate_data_key_pair_without_plaintext(KeyId=sym, KeyPairSpec=spec)
        assert "PrivateKeyPlaintext" not in nop and nop["KeyPairSpec"] == spec
    expect_error("UnsupportedOperationException", kms.generate_data_key_pair, KeyId=store_key, KeyPairSpec="RSA_2048")
    rsa_enc = new_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyId"]
    expect_error("InvalidKeyUsageException", kms.generate_data_key_pair, KeyId=rsa_enc, KeyPairSpec="RSA_2048")
    expect_error("DryRunOperationException", kms.generate_data_key_pair, KeyId=sym, KeyPairSpec="ECC_NIST_P256", DryRun=True)
    ok("data key pairs")

    # --- imported symmetric key material
    ext = new_key(Origin="EXTERNAL")
    assert ext["KeyState"] == "PendingImport" and ext["Origin"] == "EXTERNAL", ext
    xid = ext["KeyId"]
    expect_error("KMSInvalidStateException", kms.encrypt, KeyId=xid, Plaintext=b"x")
    params = kms.get_parameters_for_import(KeyId=xid, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec="RSA_4096")
    material = os.urandom(32)
    aes = os.urandom(32)
    wrap = serialization.load_der_public_key(params["PublicKey"])
    wrapped = wrap.encrypt(aes, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)) \
        + aes_key_wrap_with_padding(aes, material)
    expect_error("InvalidImportTokenException", kms.import_key_material, KeyId=xid, ImportToken=b"nope" * 8,
                 EncryptedKeyMaterial=wrapped, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    kms.import_key_material(KeyId=xid, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    meta = kms.describe_key(KeyId=xid)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE", meta
    ct = kms.encrypt(KeyId=xid, Plaintext=b"imported")["CiphertextBlob"]
    kms.delete_imported_key_material(KeyId=xid)
    assert kms.describe_key(KeyId=xid)["KeyMetadata"]["KeyState"] == "PendingImport"
    expect_error("KMSInvalidStateException", kms.decrypt, CiphertextBlob=ct)
    params = kms.get_parameters_for_import(KeyId=xid, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    wrap = serialization.load_der_public_key(params["PublicKey"])
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    expect_error("IncorrectKeyMaterialException", kms.import_key_material, KeyId=xid, ImportToken=params["ImportToken"],
                 EncryptedKeyMaterial=wrap.encrypt(os.urandom(32), oaep), ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    kms.import_key_material(KeyId=xid, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrap.encrypt(material, oaep),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"imported"
    expect_error("UnsupportedOperationException", kms.get_parameters_for_import, KeyId=sym,
                 WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    ok("import")

    # --- multi-Region keys across the Regions serve separates
    west = boto3.client("kms", endpoint_url=ENDPOINT, region_name="eu-west-1", config=CONFIG)
    mrk = new_key(MultiRegion=True, Description="mrk")
    assert mrk["KeyId"].startswith("mrk-") and mrk["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    rep = kms.replicate_key(KeyId=mrk["KeyId"], ReplicaRegion="eu-west-1", Tags=[{"TagKey": "r", "TagValue": "w"}])
    rmeta = rep["ReplicaKeyMetadata"]
    assert rmeta["Arn"].startswith("arn:aws:kms:eu-west-1:") and rmeta["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert rep["ReplicaTags"] == [{"TagKey": "r", "TagValue": "w"}]
    expect_error("AlreadyExistsException", kms.replicate_key, KeyId=mrk["KeyId"], ReplicaRegion="eu-west-1")
    ct = kms.encrypt(KeyId=mrk["KeyId"], Plaintext=b"across regions")["CiphertextBlob"]
    assert west.decrypt(CiphertextBlob=ct)["Plaintext"] == b"across regions"
    primary = kms.describe_key(KeyId=mrk["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
    assert [r["Region"] for r in primary["ReplicaKeys"]] == ["eu-west-1"]
    kms.update_primary_region(KeyId=mrk["KeyId"], PrimaryRegion="eu-west-1")
    assert west.describe_key(KeyId=mrk["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert kms.describe_key(KeyId=mrk["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    expect_error("UnsupportedOperationException", kms.replicate_key, KeyId=sym, ReplicaRegion="eu-west-1")
    ok("multi-region")

    # --- reset, as moto's server mode does it
    before = len(kms.list_keys()["Keys"])
    urllib.request.urlopen(urllib.request.Request(ENDPOINT + "/moto-api/reset", data=b"", method="POST")).read()
    after_keys = kms.list_keys()["Keys"]
    assert len(after_keys) < before, (before, len(after_keys))
    expect_error("NotFoundException", kms.describe_key, KeyId=sym)
    expect_error("NotFoundException", west.describe_key, KeyId=mrk["KeyId"])
    assert len(kms.describe_custom_key_stores()["CustomKeyStores"]) == 6
    ok("reset")
    print("checked:", ", ".join(checked))
    """#
}
