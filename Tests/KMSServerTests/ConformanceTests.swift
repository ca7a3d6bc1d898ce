import Foundation
import Testing

/// The real AWS CLI and boto3 against the built `kmsdash serve` (kms-spec §2, §6).
@Suite(
  "Conformance with the AWS CLI and boto3", .serialized,
  .enabled(if: Conformance.enabled, Comment(rawValue: Conformance.installHint)))
struct ConformanceTests {
  static let spareCluster = "cluster-sparefree6q"
  static let connectedStore = "cks-0de30000000000001"
  static let disconnectedStore = "cks-0de30000000000002"
  static let failedStore = "cks-0de30000000000004"

  var caPath: String { Conformance.packageRoot.appendingPathComponent("assets/certs/customerCA.crt").path }

  func json(_ output: Conformance.Output) throws -> [String: Any] {
    try #require(
      JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any],
      "not JSON: \(output.stdout) \(output.stderr)")
  }

  /// The CLI failed with exit code 255 and printed exactly this error code for this operation.
  func expectCLIError(
    _ output: Conformance.Output, _ code: String, _ operation: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(output.status == 255, "exit \(output.status): \(output.stderr)", sourceLocation: sourceLocation)
    #expect(
      output.stderr.contains("An error occurred (\(code)) when calling the \(operation) operation"),
      "\(output.stderr)", sourceLocation: sourceLocation)
  }

  func expectSuccess(_ output: Conformance.Output, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(output.status == 0, "exit \(output.status): \(output.stderr)", sourceLocation: sourceLocation)
  }

  func expectScript(_ output: Conformance.Output, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(
      output.status == 0, "python exit \(output.status)\n\(output.stdout)\n\(output.stderr)",
      sourceLocation: sourceLocation)
  }

  func waitForState(_ server: ServerProcess, _ storeId: String, _ wanted: String) async throws -> [String:
    Any]
  {
    let deadline = Date().addingTimeInterval(60)
    var last = ""
    while Date() < deadline {
      let output = try await server.aws([
        "kms", "describe-custom-key-stores", "--custom-key-store-id", storeId,
      ])
      expectSuccess(output)
      let store = try #require((try json(output)["CustomKeyStores"] as? [[String: Any]])?.first)
      last = store["ConnectionState"] as? String ?? ""
      if last == wanted { return store }
      try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("\(storeId) did not reach \(wanted); last \(last)")
    return [:]
  }

  @Test("AWS CLI: create, connect, key, encrypt/decrypt, disconnect, Unavailable, update, delete")
  func cliLifecycle() async throws {
    try Conformance.requireTools()
    let server = try await ServerProcess()
    defer { server.stop() }

    let described = try await server.aws(["kms", "describe-custom-key-stores"])
    expectSuccess(described)
    #expect((try json(described)["CustomKeyStores"] as? [Any])?.count == 6)

    let created = try await server.aws([
      "kms", "create-custom-key-store", "--custom-key-store-name", "cli-store",
      "--cloud-hsm-cluster-id", Self.spareCluster, "--trust-anchor-certificate", "file://\(caPath)",
      "--key-store-password", "DemoPassw0rd",
    ])
    expectSuccess(created)
    let storeId = try #require(try json(created)["CustomKeyStoreId"] as? String)
    #expect(storeId.hasPrefix("cks-"))
    let fresh = try await waitForState(server, storeId, "DISCONNECTED")
    #expect(fresh["ConnectionErrorCode"] == nil)
    #expect(fresh["CloudHsmClusterId"] as? String == Self.spareCluster)
    #expect(fresh["KeyStorePassword"] == nil)

    expectSuccess(
      try await server.aws(["kms", "connect-custom-key-store", "--custom-key-store-id", storeId]))
    _ = try await waitForState(server, storeId, "CONNECTED")

    let key = try await server.aws([
      "kms", "create-key", "--custom-key-store-id", storeId, "--origin", "AWS_CLOUDHSM", "--description",
      "cli key",
    ])
    expectSuccess(key)
    let metadata = try #require(try json(key)["KeyMetadata"] as? [String: Any])
    let keyId = try #require(metadata["KeyId"] as? String)
    #expect(metadata["Origin"] as? String == "AWS_CLOUDHSM")
    #expect(metadata["CustomKeyStoreId"] as? String == storeId)
    #expect((metadata["Arn"] as? String)?.hasPrefix("arn:aws:kms:us-east-1:") == true)

    let encrypted = try await server.aws(["kms", "encrypt", "--key-id", keyId, "--plaintext", "hello"])
    expectSuccess(encrypted)
    let blobText = try #require(try json(encrypted)["CiphertextBlob"] as? String)
    let blob = try #require(Data(base64Encoded: blobText))
    let blobFile = server.directory.appendingPathComponent("ciphertext.bin")
    try blob.write(to: blobFile)
    let decrypted = try await server.aws(["kms", "decrypt", "--ciphertext-blob", "fileb://\(blobFile.path)"])
    expectSuccess(decrypted)
    #expect(try json(decrypted)["Plaintext"] as? String == Data("hello".utf8).base64EncodedString())

    let dataKey = try await server.aws([
      "kms", "generate-data-key", "--key-id", keyId, "--key-spec", "AES_256",
    ])
    expectSuccess(dataKey)
    let plaintextKey = try #require(try json(dataKey)["Plaintext"] as? String)
    #expect(Data(base64Encoded: plaintextKey)?.count == 32)

    let random = try await server.aws([
      "kms", "generate-random", "--number-of-bytes", "24", "--custom-key-store-id", storeId,
    ])
    expectSuccess(random)
    let randomText = try #require(try json(random)["Plaintext"] as? String)
    #expect(Data(base64Encoded: randomText)?.count == 24)

    expectSuccess(
      try await server.aws([
        "kms", "update-custom-key-store", "--custom-key-store-id", storeId, "--new-custom-key-store-name",
        "cli-store-renamed",
      ]))

    expectSuccess(
      try await server.aws(["kms", "disconnect-custom-key-store", "--custom-key-store-id", storeId]))
    let disconnected = try await waitForState(server, storeId, "DISCONNECTED")
    #expect(disconnected["CustomKeyStoreName"] as? String == "cli-store-renamed")

    let unavailable = try await server.aws(["kms", "describe-key", "--key-id", keyId])
    expectSuccess(unavailable)
    let unavailableMetadata = try #require(try json(unavailable)["KeyMetadata"] as? [String: Any])
    #expect(unavailableMetadata["KeyState"] as? String == "Unavailable")
    #expect(unavailableMetadata["Enabled"] as? Bool == false)

    expectCLIError(
      try await server.aws(["kms", "encrypt", "--key-id", keyId, "--plaintext", "hello"]),
      "KMSInvalidStateException", "Encrypt")
    expectCLIError(
      try await server.aws(["kms", "decrypt", "--ciphertext-blob", "fileb://\(blobFile.path)"]),
      "KMSInvalidStateException", "Decrypt")
    expectCLIError(
      try await server.aws([
        "kms", "generate-random", "--number-of-bytes", "8", "--custom-key-store-id", storeId,
      ]),
      "CustomKeyStoreInvalidStateException", "GenerateRandom")
    expectCLIError(
      try await server.aws([
        "kms", "create-key", "--custom-key-store-id", storeId, "--origin", "AWS_CLOUDHSM",
      ]),
      "CustomKeyStoreInvalidStateException", "CreateKey")
    expectCLIError(
      try await server.aws(["kms", "delete-custom-key-store", "--custom-key-store-id", storeId]),
      "CustomKeyStoreHasCMKsException", "DeleteCustomKeyStore")
  }

  @Test("AWS CLI: every DisconnectCustomKeyStore error and the validation of long IDs")
  func cliDisconnectErrors() async throws {
    try Conformance.requireTools()
    let server = try await ServerProcess()
    defer { server.stop() }

    expectCLIError(
      try await server.aws([
        "kms", "disconnect-custom-key-store", "--custom-key-store-id", "cks-00000000000000000",
      ]),
      "CustomKeyStoreNotFoundException", "DisconnectCustomKeyStore")
    expectCLIError(
      try await server.aws([
        "kms", "disconnect-custom-key-store", "--custom-key-store-id", Self.disconnectedStore,
      ]),
      "CustomKeyStoreInvalidStateException", "DisconnectCustomKeyStore")
    let long = try await server.aws([
      "kms", "disconnect-custom-key-store", "--custom-key-store-id", String(repeating: "c", count: 65),
    ])
    expectCLIError(long, "ValidationException", "DisconnectCustomKeyStore")
    #expect(
      long.stderr.contains(
        "1 validation error detected: Value '\(String(repeating: "c", count: 65))' at 'customKeyStoreId' "
          + "failed to satisfy constraint: Member must have length less than or equal to 64"))
  }

  @Test("AWS CLI: the errors of Create, Describe, Connect, Update and Delete")
  func cliCustomKeyStoreErrors() async throws {
    try Conformance.requireTools()
    let server = try await ServerProcess()
    defer { server.stop() }
    func create(_ name: String, _ cluster: String, anchor: String? = nil) async throws -> Conformance.Output {
      try await server.aws([
        "kms", "create-custom-key-store", "--custom-key-store-name", name, "--cloud-hsm-cluster-id", cluster,
        "--trust-anchor-certificate", anchor ?? "file://\(caPath)", "--key-store-password", "DemoPassw0rd",
      ])
    }
    // Create
    expectCLIError(
      try await create("payments-prod", Self.spareCluster), "CustomKeyStoreNameInUseException",
      "CreateCustomKeyStore")
    expectCLIError(
      try await create("new-store", "cluster-nosuchclstr"), "CloudHsmClusterNotFoundException",
      "CreateCustomKeyStore")
    expectCLIError(
      try await create("new-store", "cluster-paymentsprd"), "CloudHsmClusterInUseException",
      "CreateCustomKeyStore")
    expectCLIError(
      try await create(
        "new-store", Self.spareCluster,
        anchor: "-----BEGIN CERTIFICATE-----\nMIIBnotit\n-----END CERTIFICATE-----\n"),
      "IncorrectTrustAnchorException", "CreateCustomKeyStore")
    expectCLIError(
      try await server.aws([
        "kms", "create-custom-key-store", "--custom-key-store-name", "new-store", "--cloud-hsm-cluster-id",
        "cluster-not_a_valid_id", "--trust-anchor-certificate", "file://\(caPath)", "--key-store-password",
        "DemoPassw0rd",
      ]), "ValidationException", "CreateCustomKeyStore")

    // Describe
    expectCLIError(
      try await server.aws([
        "kms", "describe-custom-key-stores", "--custom-key-store-id", "cks-00000000000000000",
      ]),
      "CustomKeyStoreNotFoundException", "DescribeCustomKeyStores")
    expectCLIError(
      try await server.aws(["kms", "describe-custom-key-stores", "--custom-key-store-name", "no-such-store"]),
      "CustomKeyStoreNotFoundException", "DescribeCustomKeyStores")
    expectCLIError(
      try await server.aws(["kms", "describe-custom-key-stores", "--marker", "bogus-marker", "--no-paginate"]
      ),
      "InvalidMarkerException", "DescribeCustomKeyStores")

    // Connect
    expectCLIError(
      try await server.aws([
        "kms", "connect-custom-key-store", "--custom-key-store-id", "cks-00000000000000000",
      ]),
      "CustomKeyStoreNotFoundException", "ConnectCustomKeyStore")
    expectCLIError(
      try await server.aws(["kms", "connect-custom-key-store", "--custom-key-store-id", Self.failedStore]),
      "CustomKeyStoreInvalidStateException", "ConnectCustomKeyStore")

    // Update
    expectCLIError(
      try await server.aws([
        "kms", "update-custom-key-store", "--custom-key-store-id", "cks-00000000000000000",
        "--new-custom-key-store-name", "x",
      ]), "CustomKeyStoreNotFoundException", "UpdateCustomKeyStore")
    expectCLIError(
      try await server.aws([
        "kms", "update-custom-key-store", "--custom-key-store-id", Self.connectedStore,
        "--key-store-password",
        "NewPassw0rd",
      ]), "CustomKeyStoreInvalidStateException", "UpdateCustomKeyStore")
    expectCLIError(
      try await server.aws([
        "kms", "update-custom-key-store", "--custom-key-store-id", Self.connectedStore,
        "--new-custom-key-store-name", "hr-records",
      ]), "CustomKeyStoreNameInUseException", "UpdateCustomKeyStore")
    expectCLIError(
      try await server.aws([
        "kms", "update-custom-key-store", "--custom-key-store-id", Self.disconnectedStore,
        "--cloud-hsm-cluster-id", "cluster-nosuchclstr",
      ]), "CloudHsmClusterNotFoundException", "UpdateCustomKeyStore")
    expectCLIError(
      try await server.aws([
        "kms", "update-custom-key-store", "--custom-key-store-id", Self.disconnectedStore,
        "--cloud-hsm-cluster-id", Self.spareCluster,
      ]), "CloudHsmClusterNotRelatedException", "UpdateCustomKeyStore")

    // Delete
    expectCLIError(
      try await server.aws([
        "kms", "delete-custom-key-store", "--custom-key-store-id", "cks-00000000000000000",
      ]),
      "CustomKeyStoreNotFoundException", "DeleteCustomKeyStore")
    expectCLIError(
      try await server.aws(["kms", "delete-custom-key-store", "--custom-key-store-id", Self.connectedStore]),
      "CustomKeyStoreInvalidStateException", "DeleteCustomKeyStore")
    expectCLIError(
      try await server.aws([
        "kms", "delete-custom-key-store", "--custom-key-store-id", Self.disconnectedStore,
      ]),
      "CustomKeyStoreHasCMKsException", "DeleteCustomKeyStore")

    // Delete, happy path: a new empty store.
    let created = try await create("short-lived", Self.spareCluster)
    expectSuccess(created)
    let storeId = try #require(try json(created)["CustomKeyStoreId"] as? String)
    expectSuccess(try await server.aws(["kms", "delete-custom-key-store", "--custom-key-store-id", storeId]))
    expectCLIError(
      try await server.aws(["kms", "describe-custom-key-stores", "--custom-key-store-id", storeId]),
      "CustomKeyStoreNotFoundException", "DescribeCustomKeyStores")
  }

  @Test("AWS CLI: the store quota gives LimitExceededException")
  func cliStoreQuota() async throws {
    try Conformance.requireTools()
    let server = try await ServerProcess(arguments: ["--store-quota", "6"])
    defer { server.stop() }
    expectCLIError(
      try await server.aws([
        "kms", "create-custom-key-store", "--custom-key-store-name", "one-too-many", "--cloud-hsm-cluster-id",
        Self.spareCluster, "--trust-anchor-certificate", "file://\(caPath)", "--key-store-password",
        "DemoPassw0rd",
      ]), "LimitExceededException", "CreateCustomKeyStore")
  }

  @Test("boto3: Disconnect from DISCONNECTING, empty ID, paginator, round trips, Unavailable keys")
  func boto3Behaviour() async throws {
    try Conformance.requireTools()
    let server = try await ServerProcess()
    defer { server.stop() }
    let output = try await server.python(
      #"""
      # Paginator with PageSize=1 returns every store exactly once.
      paginator = kms.get_paginator("describe_custom_key_stores")
      ids = [s["CustomKeyStoreId"] for page in paginator.paginate(PaginationConfig={"PageSize": 1})
             for s in page["CustomKeyStores"]]
      assert len(ids) == 6 and len(set(ids)) == 6, ids
      everything = kms.describe_custom_key_stores()["CustomKeyStores"]
      assert sorted(ids) == sorted(s["CustomKeyStoreId"] for s in everything)

      # Create and connect a store, then round trips.
      store_id = kms.create_custom_key_store(
          CustomKeyStoreName="boto-store", CloudHsmClusterId="cluster-sparefree6q",
          TrustAnchorCertificate=CA, KeyStorePassword="DemoPassw0rd")["CustomKeyStoreId"]
      assert store(store_id)["ConnectionState"] == "DISCONNECTED"
      kms.connect_custom_key_store(CustomKeyStoreId=store_id)
      entry, seen = wait_state(store_id, "CONNECTED")
      assert "CONNECTING" in seen or seen == ["CONNECTED"], seen
      meta = kms.create_key(CustomKeyStoreId=store_id, Origin="AWS_CLOUDHSM")["KeyMetadata"]
      key_id = meta["KeyId"]
      assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True, meta
      assert meta["CloudHsmClusterId"] == "cluster-sparefree6q", meta
      assert meta["Arn"].startswith(f"arn:aws:kms:{REGION}:"), meta["Arn"]
      blob = kms.encrypt(KeyId=key_id, Plaintext=b"\x00secret\xff", EncryptionContext={"app": "test"})["CiphertextBlob"]
      plain = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "test"})
      assert plain["Plaintext"] == b"\x00secret\xff" and plain["KeyId"] == meta["Arn"], plain
      expect_error("InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob, EncryptionContext={"app": "other"})
      data_key = kms.generate_data_key(KeyId=key_id, NumberOfBytes=64)
      assert len(data_key["Plaintext"]) == 64
      assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
      random = kms.generate_random(NumberOfBytes=1024, CustomKeyStoreId=store_id)["Plaintext"]
      assert len(random) == 1024

      # Disconnect twice in a row: the second finds DISCONNECTING.
      kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
      expect_error("CustomKeyStoreInvalidStateException", kms.disconnect_custom_key_store, CustomKeyStoreId=store_id)
      assert store(store_id)["ConnectionState"] in ("DISCONNECTING", "DISCONNECTED")
      wait_state(store_id, "DISCONNECTED")
      expect_error("CustomKeyStoreInvalidStateException", kms.disconnect_custom_key_store, CustomKeyStoreId=store_id)
      expect_error("CustomKeyStoreNotFoundException", kms.disconnect_custom_key_store,
                   CustomKeyStoreId="cks-00000000000000000")

      # Keys are Unavailable and crypto is refused while disconnected.
      meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
      assert meta["KeyState"] == "Unavailable" and meta["Enabled"] is False, meta
      error = expect_error("KMSInvalidStateException", kms.encrypt, KeyId=key_id, Plaintext=b"x")
      assert "is unavailable" in error.response["Error"]["Message"], error.response
      expect_error("KMSInvalidStateException", kms.decrypt, CiphertextBlob=blob, EncryptionContext={"app": "test"})
      expect_error("KMSInvalidStateException", kms.generate_data_key, KeyId=key_id, KeySpec="AES_256")
      expect_error("CustomKeyStoreInvalidStateException", kms.generate_random, NumberOfBytes=8,
                   CustomKeyStoreId=store_id)

      # An empty ID, sent past botocore's own check, is a ValidationException from the server.
      raw = boto3.client("kms", endpoint_url=ENDPOINT, region_name=REGION,
                         config=Config(parameter_validation=False, retries={"max_attempts": 1}))
      error = expect_error("ValidationException", raw.disconnect_custom_key_store, CustomKeyStoreId="")
      assert error.response["Error"]["Message"] == (
          "1 validation error detected: Value '' at 'customKeyStoreId' failed to satisfy constraint: "
          "Member must have length greater than or equal to 1"), error.response
      error = expect_error("ValidationException", raw.disconnect_custom_key_store, CustomKeyStoreId="c" * 65)
      assert "Member must have length less than or equal to 64" in error.response["Error"]["Message"]
      expect_error("ValidationException", raw.generate_random, NumberOfBytes=0)
      print("ok")
      """#, region: "eu-west-1")
    expectScript(output)
  }

  @Test("Wrongly signed and unsigned requests are refused")
  func authentication() async throws {
    try Conformance.requireTools()
    let server = try await ServerProcess()
    defer { server.stop() }
    expectCLIError(
      try await server.aws(
        ["kms", "describe-custom-key-stores"], secret: "not-the-right-secret-key-0000000000000"),
      "InvalidSignatureException", "DescribeCustomKeyStores")
    expectCLIError(
      try await server.aws(["kms", "describe-custom-key-stores", "--no-sign-request"]),
      "MissingAuthenticationTokenException", "DescribeCustomKeyStores")
    let output = try await server.python(
      #"""
      from botocore import UNSIGNED
      unsigned = boto3.client("kms", endpoint_url=ENDPOINT, region_name=REGION,
                              config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
      expect_error("MissingAuthenticationTokenException", unsigned.list_keys)
      stranger = boto3.client("kms", endpoint_url=ENDPOINT, region_name=REGION, config=CONFIG,
                              aws_access_key_id="AKIDSOMEONEELSE00000", aws_secret_access_key="x" * 40)
      expect_error("UnrecognizedClientException", stranger.list_keys)
      wrong = boto3.client("kms", endpoint_url=ENDPOINT, region_name=REGION, config=CONFIG,
                           aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="y" * 40)
      expect_error("InvalidSignatureException", wrong.list_keys)
      kms.list_keys()
      print("ok")
      """#)
    expectScript(output)
    #expect(!server.log.contains(Conformance.secretAccessKey), "the secret must never be logged")
  }

  @Test("AWS CLI and boto3: cloudhsmv2 describe-clusters, create-hsm, delete-hsm, faults")
  func cloudHSMAndFaults() async throws {
    try Conformance.requireTools()
    let server = try await ServerProcess()
    defer { server.stop() }
    let clusters = try await server.aws(["cloudhsmv2", "describe-clusters"])
    expectSuccess(clusters)
    let list = try #require(try json(clusters)["Clusters"] as? [[String: Any]])
    #expect(list.count == 7)
    #expect(
      list.contains { $0["ClusterId"] as? String == Self.spareCluster && $0["State"] as? String == "ACTIVE" })
    let filtered = try await server.aws([
      "cloudhsmv2", "describe-clusters", "--filters", "clusterIds=\(Self.spareCluster)",
    ])
    expectSuccess(filtered)
    #expect((try json(filtered)["Clusters"] as? [Any])?.count == 1)

    let output = try await server.python(
      #"""
      # Paging through DescribeClusters returns every cluster exactly once.
      pages = hsm.get_paginator("describe_clusters").paginate(PaginationConfig={"PageSize": 2})
      ids = [c["ClusterId"] for page in pages for c in page["Clusters"]]
      assert len(ids) == 7 and len(set(ids)) == 7, ids
      active = hsm.describe_clusters(Filters={"states": ["ACTIVE"]})["Clusters"]
      assert all(c["State"] == "ACTIVE" for c in active)
      try:
          hsm.describe_clusters(Filters={"clusterIds": ["cluster-nosuchclstr"]})
      except ClientError as error:
          assert "Message" in error.response["Error"], error.response

      # CreateHsm: CREATE_IN_PROGRESS, then ACTIVE on a background task.
      created = hsm.create_hsm(ClusterId="cluster-sparefree6q", AvailabilityZone="us-east-1a")["Hsm"]
      assert created["State"] == "CREATE_IN_PROGRESS", created
      deadline = time.time() + 30
      while time.time() < deadline:
          cluster = hsm.describe_clusters(Filters={"clusterIds": ["cluster-sparefree6q"]})["Clusters"][0]
          state = [h["State"] for h in cluster["Hsms"] if h["HsmId"] == created["HsmId"]][0]
          if state == "ACTIVE":
              break
          time.sleep(0.1)
      assert state == "ACTIVE", state
      error = expect_error("CloudHsmResourceNotFoundException", hsm.delete_hsm,
                           ClusterId="cluster-nosuchclstr", HsmId="hsm-abcdefghijk")
      assert error.response["Error"]["Message"], error.response

      def remove_all_hsms(cluster_id):
          cluster = hsm.describe_clusters(Filters={"clusterIds": [cluster_id]})["Clusters"][0]
          for h in cluster["Hsms"]:
              assert hsm.delete_hsm(ClusterId=cluster_id, HsmId=h["HsmId"])["HsmId"] == h["HsmId"]

      # A cluster without HSMs refuses a connect at once (quick failure, kms-spec 2.3).
      remove_all_hsms("cluster-analyticsdr")
      expect_error("CloudHsmClusterInvalidConfigurationException", kms.connect_custom_key_store,
                   CustomKeyStoreId="cks-0de30000000000002")
      assert store("cks-0de30000000000002")["ConnectionState"] == "DISCONNECTED"

      # HSMs removed while a connect runs: it ends FAILED with INSUFFICIENT_CLOUDHSM_HSMS.
      wait_state("cks-0de30000000000005", "CONNECTED")
      kms.disconnect_custom_key_store(CustomKeyStoreId="cks-0de30000000000005")
      wait_state("cks-0de30000000000005", "DISCONNECTED")
      kms.connect_custom_key_store(CustomKeyStoreId="cks-0de30000000000005")
      remove_all_hsms("cluster-stagingenv3")
      entry, seen = wait_state("cks-0de30000000000005", "FAILED")
      assert entry["ConnectionErrorCode"] == "INSUFFICIENT_CLOUDHSM_HSMS", entry
      assert seen[0] == "CONNECTING", seen

      # Faults over the wire, with kmsdash fault: kmsuser locked out -> FAILED / USER_LOCKED_OUT.
      store_id = kms.create_custom_key_store(
          CustomKeyStoreName="fault-store", CloudHsmClusterId="cluster-sparefree6q",
          TrustAnchorCertificate=CA, KeyStorePassword="DemoPassw0rd")["CustomKeyStoreId"]
      out = fault("--cluster", "cluster-sparefree6q", "--set", "KMSUSER_LOCKED_OUT")
      assert "KMSUSER_LOCKED_OUT" in out, out
      out = fault("--cluster", "cluster-sparefree6q", "--list")
      assert "KMSUSER_LOCKED_OUT" in out and "Available faults" in out, out
      kms.connect_custom_key_store(CustomKeyStoreId=store_id)
      entry, seen = wait_state(store_id, "FAILED")
      assert entry["ConnectionErrorCode"] == "USER_LOCKED_OUT", entry
      expect_error("CustomKeyStoreInvalidStateException", kms.connect_custom_key_store, CustomKeyStoreId=store_id)
      kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
      entry, seen = wait_state(store_id, "DISCONNECTED")
      assert "ConnectionErrorCode" not in entry, entry
      out = fault("--cluster", "cluster-sparefree6q", "--clear", "kmsuser-locked-out")
      assert "no faults set" in out, out
      kms.connect_custom_key_store(CustomKeyStoreId=store_id)
      wait_state(store_id, "CONNECTED")

      # A cluster that is not active refuses the connect at once.
      fault("--cluster", "cluster-hrrecords2b", "--set", "CLUSTER_NOT_ACTIVE")
      kms.disconnect_custom_key_store(CustomKeyStoreId="cks-0de30000000000003")
      wait_state("cks-0de30000000000003", "DISCONNECTED")
      expect_error("CloudHsmClusterNotActiveException", kms.connect_custom_key_store,
                   CustomKeyStoreId="cks-0de30000000000003")
      print("ok")
      """#)
    expectScript(output)
  }
}

/// The server binary's own behaviour (no AWS client needed).
@Suite("kmsdash serve process", .serialized)
struct ServeProcessTests {
  @Test func refusesToStartWithoutCredentials() async throws {
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
    environment["AWS_CONFIG_FILE"] = "/nonexistent"
    let output = try await Conformance.run(
      try Conformance.kmsdashBinary().path, ["serve", "--port", "0"], environment: environment)
    #expect(output.status != 0)
    #expect(output.stderr.contains("--no-auth"))
    #expect(output.stderr.contains("AWS_ACCESS_KEY_ID"))
    #expect(output.stderr.contains("--access-key-id"))
  }

  @Test func takesCredentialsFromTheEnvironmentAndStopsOnSIGTERM() async throws {
    var environment = ProcessInfo.processInfo.environment
    environment["AWS_ACCESS_KEY_ID"] = "AKIDFROMENVIRONMENT0"
    environment["AWS_SECRET_ACCESS_KEY"] = "from-the-environment"
    let server = try await ServerProcess(arguments: [], environment: environment, credentialFlags: false)
    defer { server.stop() }
    #expect(server.process.isRunning)
    server.process.terminate()
    let deadline = Date().addingTimeInterval(20)
    while server.process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
    #expect(!server.process.isRunning, "did not stop within 20 s of SIGTERM")
    if !server.process.isRunning { #expect(server.process.terminationStatus == 0) }
  }
}
