import Foundation
import Testing

/// A running `kmsdash xks-proxy --ephemeral` on a free port (`--http` unless `tls`, then with its
/// generated certificate, whose CA file is `caPath`); terminated by `stop()`.
final class XKSProxyProcess: @unchecked Sendable {
  let process = Process()
  let url: String
  let logURL: URL
  /// With `tls`: the CA file the proxy printed (trust it with `serve --xks-ca-file`).
  let caPath: String?

  init(tls: Bool = false) async throws {
    logURL = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kmsdash-xks-\(UUID().uuidString.prefix(8)).log")
    _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
    process.executableURL = try Conformance.kmsdashBinary()
    process.arguments =
      ["xks-proxy"] + (tls ? [] : ["--http"]) + ["--ephemeral", "--host", "127.0.0.1", "--port", "0"]
    let outPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = try FileHandle(forWritingTo: logURL)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let reader = outPipe.fileHandleForReading
    // The address line, and with TLS the CA line printed after it.
    let address = tls ? #"https://127\.0\.0\.1:[0-9]+"# : #"http://127\.0\.0\.1:[0-9]+"#
    let found: (String, String?)? = await withCheckedContinuation { continuation in
      DispatchQueue.global().async {
        var buffer = Data()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
          let chunk = reader.availableData
          if chunk.isEmpty { break }
          buffer.append(chunk)
          let text = String(decoding: buffer, as: UTF8.self)
          let ca = text.range(of: #"CA certificate: [^\n]+\n"#, options: .regularExpression).map {
            String(text[$0].dropFirst("CA certificate: ".count).dropLast())
          }
          if let range = text.range(of: address, options: .regularExpression), !tls || ca != nil {
            continuation.resume(returning: (String(text[range]), ca))
            DispatchQueue.global().async { while !reader.availableData.isEmpty {} }
            return
          }
        }
        continuation.resume(returning: nil)
      }
    }
    guard let found else {
      process.terminate()
      throw Conformance.HarnessError(
        "kmsdash xks-proxy did not start: \((try? String(contentsOf: logURL, encoding: .utf8)) ?? "")")
    }
    (url, caPath) = found
  }

  var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

  func stop() {
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
    }
    try? FileManager.default.removeItem(at: logURL)
    // --ephemeral keeps its generated certificates in a directory of its own under the temp dir.
    if let caPath {
      let directory = URL(fileURLWithPath: caPath).deletingLastPathComponent()
      if directory.lastPathComponent.hasPrefix("kmsdash-xks-proxy-") {
        try? FileManager.default.removeItem(at: directory)
      }
    }
  }
}

/// Issue 10 end to end: `kmsdash xks-proxy --http --ephemeral` and `kmsdash serve --xks-route`
/// driven by boto3 and the AWS CLI, with faults set through `kmsdash fault --xks-proxy`.
@Suite(
  "XKS end to end with boto3 and the AWS CLI", .serialized,
  .enabled(if: Conformance.enabled, Comment(rawValue: Conformance.installHint)))
struct XKSEndToEndTests {
  @Test("boto3: create, connect, CreateKey, double encryption, every connect failure by a fault")
  func boto3Session() async throws {
    try Conformance.requireTools()
    let proxy = try await XKSProxyProcess()
    defer { proxy.stop() }
    let server = try await ServerProcess(arguments: ["--xks-route", "xks.kmsdash.test=\(proxy.url)"])
    defer { server.stop() }
    let output = try await server.python(
      """
      PROXY = \(String(reflecting: proxy.url))
      CREDENTIAL = {"AccessKeyId": "KMSDASHDEMOXKSACCESSKEY2",
                    "RawSecretAccessKey": "kmsdashDemoXksSecretKey0123456789abcdefghijk"}

      def proxy_fault(*args):
          result = subprocess.run([os.environ["KMSDASH_BINARY"], "fault", "--xks-proxy", PROXY, *args],
                                  capture_output=True, text=True, timeout=60)
          assert result.returncode == 0, f"kmsdash fault {args}: {result.stderr}"

      def create(name, **change):
          params = dict(CustomKeyStoreName=name, CustomKeyStoreType="EXTERNAL_KEY_STORE",
                        XksProxyUriEndpoint="https://xks.kmsdash.test", XksProxyUriPath="/demo/kms/xks/v1",
                        XksProxyConnectivity="PUBLIC_ENDPOINT", XksProxyAuthenticationCredential=CREDENTIAL)
          params.update(change)
          return kms.create_custom_key_store(**params)

      # Create checks the proxy with GetHealthStatus.
      expect_error("XksProxyIncorrectAuthenticationCredentialException", create, name="bad-secret",
                   XksProxyAuthenticationCredential={"AccessKeyId": "KMSDASHDEMOXKSACCESSKEY2",
                                                     "RawSecretAccessKey": "x" * 43})
      expect_error("XksProxyInvalidConfigurationException", create, name="bad-path",
                   XksProxyUriPath="/wrong/kms/xks/v1")
      expect_error("XksProxyUriUnreachableException", create, name="nowhere",
                   XksProxyUriEndpoint="https://unrouted.kmsdash.invalid")
      store_id = create("xks-e2e")["CustomKeyStoreId"]
      kms.connect_custom_key_store(CustomKeyStoreId=store_id)
      entry, _ = wait_state(store_id, "CONNECTED")
      assert entry["XksProxyConfiguration"]["AccessKeyId"] == "KMSDASHDEMOXKSACCESSKEY2", entry
      assert "RawSecretAccessKey" not in json.dumps(entry, default=str)

      # CreateKey checks the external key with GetKeyMetadata.
      key = kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="demo-aes-1")["KeyMetadata"]
      assert key["XksKeyConfiguration"] == {"Id": "demo-aes-1"}, key
      described = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
      assert described["Origin"] == "EXTERNAL_KEY_STORE" and described["XksKeyConfiguration"]["Id"] == "demo-aes-1"
      def create_key(xks_key_id):
          return kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId=xks_key_id)
      expect_error("XksKeyAlreadyInUseException", create_key, xks_key_id="demo-aes-1")
      expect_error("XksKeyNotFoundException", create_key, xks_key_id="no-such-key")
      for bad in ["demo-disabled", "demo-encrypt-only", "demo-decrypt-only", "demo-no-usage"]:
          expect_error("XksKeyInvalidConfigurationException", create_key, xks_key_id=bad)

      # Double encryption through the proxy, the encryption context bound.
      blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hello xks", EncryptionContext={"a": "b"})["CiphertextBlob"]
      assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"hello xks"
      err = expect_error("KMSInvalidStateException", kms.decrypt, CiphertextBlob=blob, EncryptionContext={"a": "c"})
      assert "corrupted, missing, or otherwise invalid" in err.response["Error"]["Message"], err
      data_key = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
      assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]

      # A slow proxy: the store stays CONNECTED, crypto fails with KMS's message.
      proxy_fault("--set", "latency=300")
      err = expect_error("KMSInvalidStateException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
      assert "did not respond in time" in err.response["Error"]["Message"], err
      assert store(store_id)["ConnectionState"] == "CONNECTED"

      # Each fault makes the next connect FAILED with its code.
      for fault_arg, code in [("latency=300", "XKS_PROXY_TIMED_OUT"),
                              ("error=AuthenticationFailedException", "INVALID_CREDENTIALS"),
                              ("error=InvalidUriPathException", "XKS_PROXY_INVALID_CONFIGURATION"),
                              ("error=AccessDeniedException", "XKS_PROXY_ACCESS_DENIED"),
                              ("malformed=HTML", "XKS_PROXY_INVALID_RESPONSE"),
                              ("ekm=UNAVAILABLE", "XKS_PROXY_NOT_REACHABLE"),
                              ("refuse-connections", "XKS_PROXY_NOT_REACHABLE")]:
          proxy_fault("--clear", "all")
          proxy_fault("--set", fault_arg)
          if store(store_id)["ConnectionState"] != "DISCONNECTED":
              kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
              wait_state(store_id, "DISCONNECTED")
          kms.connect_custom_key_store(CustomKeyStoreId=store_id)
          entry, _ = wait_state(store_id, "FAILED")
          assert entry.get("ConnectionErrorCode") == code, (fault_arg, entry)
      proxy_fault("--clear", "all")
      kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
      wait_state(store_id, "DISCONNECTED")
      err = expect_error("KMSInvalidStateException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
      assert "not connected to its external key store proxy" in err.response["Error"]["Message"], err
      kms.connect_custom_key_store(CustomKeyStoreId=store_id)
      wait_state(store_id, "CONNECTED")
      assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"hello xks"
      print("ok")
      """, name: "xks")
    #expect(
      output.status == 0,
      "python exit \(output.status)\n\(output.stdout)\n\(output.stderr)\n\(proxy.log.suffix(3000))")

    // The AWS CLI sees the store with its proxy configuration and no secret.
    let cli = try await server.aws([
      "kms", "describe-custom-key-stores", "--custom-key-store-name", "xks-e2e",
    ])
    #expect(cli.status == 0, "\(cli.stderr)")
    #expect(cli.stdout.contains("\"UriPath\": \"/demo/kms/xks/v1\""), "\(cli.stdout)")
    #expect(!cli.stdout.contains("kmsdashDemoXksSecretKey"))
    // The proxy logged one line per request with the kmsRequestId and never a secret or plaintext.
    #expect(proxy.log.contains("operation=Encrypt kmsRequestId="))
    #expect(!proxy.log.contains("kmsdashDemoXksSecretKey"))
    #expect(!proxy.log.contains("hello xks"))
  }

  @Test("curl --aws-sigv4 as an independent client of the proxy")
  func curlSignsForTheProxy() async throws {
    let curl = try? Conformance.runSync(
      "/usr/bin/env", ["curl", "--version"], environment: ProcessInfo.processInfo.environment)
    guard let curl, curl.status == 0 else {
      if Conformance.isCI { Issue.record("curl (≥ 7.75, for --aws-sigv4) is needed: apt-get install curl") }
      return
    }
    let proxy = try await XKSProxyProcess()
    defer { proxy.stop() }
    func call(_ path: String, _ body: String, user: String) throws -> Conformance.Output {
      try Conformance.runSync(
        "/usr/bin/env",
        [
          "curl", "-s", "--noproxy", "*", "--aws-sigv4", "aws:amz:us-east-1:kms-xks-proxy", "--user", user,
          "-X", "POST", "-H", "Content-Type: application/json", "--data", body, "-w", "\n%{http_code}",
          proxy.url + "/demo/kms/xks/v1" + path,
        ],
        environment: ProcessInfo.processInfo.environment)
    }
    let user = "KMSDASHDEMOXKSACCESSKEY2:kmsdashDemoXksSecretKey0123456789abcdefghijk"
    let health = try call(
      "/health", #"{"requestMetadata":{"kmsRequestId":"c1","kmsOperation":"KmsHealthCheck"}}"#, user: user)
    #expect(health.stdout.hasSuffix("\n200"), "\(health.stdout)")
    #expect(health.stdout.contains("\"ekmFleetDetails\""))
    let encrypt = try call(
      "/keys/demo-aes-1/encrypt",
      #"{"requestMetadata":{"awsPrincipalArn":"arn:aws:iam::1:root","kmsKeyArn":"arn:k","kmsOperation":"Encrypt","kmsRequestId":"c2"},"plaintext":"SGVsbG8gV29ybGQh","encryptionAlgorithm":"AES_GCM"}"#,
      user: user)
    #expect(
      encrypt.stdout.hasSuffix("\n200") && encrypt.stdout.contains("\"authenticationTag\""),
      "\(encrypt.stdout)")
    let wrong = try call(
      "/health", "{}", user: "KMSDASHDEMOXKSACCESSKEY2:" + String(repeating: "w", count: 43))
    #expect(
      wrong.stdout.hasSuffix("\n401") && wrong.stdout.contains("AuthenticationFailedException"),
      "\(wrong.stdout)")
  }
}
