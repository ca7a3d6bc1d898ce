import Foundation
import Testing

/// Issue 14: keys of every kind created through the AWS CLI against `kmsdash serve` appear in a
/// remote dashboard's all-keys view (`K`) with their spec and usage.
@Suite(.serialized) struct AllKeysEndToEndTests {
  static let awsMissing = "the AWS CLI is not installed: pip install awscli"

  @Test(
    .enabled(
      if: (tmuxPath != nil && RemoteDashboardEndToEndTests.awsPath != nil) || isCI,
      Comment(rawValue: awsMissing)))
  func rsaAndHmacKeysFromTheAWSCLIAppearInTheRemoteAllKeysView() throws {
    guard requireTmux() else { throw E2EError(tmuxMissingMessage) }
    guard let aws = RemoteDashboardEndToEndTests.awsPath else { throw E2EError(Self.awsMissing) }
    let bin = try #require(kmsdashBinary(), "kmsdash binary not found next to the tests")
    let credentials = [
      "AWS_ACCESS_KEY_ID": "AKIDKMSDASHE2E000002", "AWS_SECRET_ACCESS_KEY": "kmsdash-e2e-secret-2",
      "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
      "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
    ]
    let server = try ServeProcess(binary: bin, arguments: ["--ephemeral"], environment: credentials)
    let url = server.endpoint

    // Wide: spec and usage in columns of their own, and the tags.
    let t = try TmuxSession(
      command: "\(bin) --endpoint \(url) --refresh 0.3", width: 180,
      env: credentials.merging(["SWIFT_BACKTRACE": "enable=no", "TERM": "xterm-256color"]) { $1 })
    t.waitFor(shows: ["endpoint \(url)"], timeout: 20)
    t.send("K")
    t.waitFor("the all-keys view") { $0.contains("All KMS keys:") }

    // Created underneath, while the view is open.
    let rsa = try runAWS(
      aws,
      [
        "kms", "create-key", "--endpoint-url", url, "--key-spec", "RSA_3072", "--key-usage", "SIGN_VERIFY",
        "--description", "e2e release signing", "--tags", "TagKey=team,TagValue=release",
        "--query", "KeyMetadata.KeyId", "--output", "text",
      ], environment: credentials
    ).trimmingCharacters(in: .whitespacesAndNewlines)
    let hmac = try runAWS(
      aws,
      [
        "kms", "create-key", "--endpoint-url", url, "--key-spec", "HMAC_384", "--key-usage",
        "GENERATE_VERIFY_MAC", "--description", "e2e webhook MACs", "--query", "KeyMetadata.KeyId",
        "--output", "text",
      ], environment: credentials
    ).trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(rsa.count == 36 && hmac.count == 36, "\(rsa) \(hmac)")

    let screen = t.waitFor("both keys with spec and usage", timeout: 20) { screen in
      let lines = screen.split(separator: "\n")
      return lines.contains { $0.contains(rsa) && $0.contains("AWS KMS") && $0.contains("RSA_3072") }
        && lines.contains { $0.contains(hmac) && $0.contains("AWS KMS") && $0.contains("HMAC_384") }
    }
    let rsaLine = screen.split(separator: "\n").first { $0.contains(rsa) }.map(String.init) ?? ""
    #expect(rsaLine.contains("Enabled") && rsaLine.contains("team=relea"), "\(rsaLine)")  // "team=release", cut to its column
    #expect(rsaLine.contains("RSA_3072          SIGN_VERIFY "), "\(rsaLine)")
    let hmacLine = screen.split(separator: "\n").first { $0.contains(hmac) }.map(String.init) ?? ""
    #expect(hmacLine.contains("HMAC_384          GENERATE_VERIFY_MAC"), "\(hmacLine)")

    // A key action from the view: disable the HMAC key (the newest, so the last row); the AWS CLI
    // sees it.
    t.send("G")
    t.send("D")
    t.waitFor(shows: ["Disable KMS key", hmac])
    t.send("y")
    t.waitFor("the HMAC key Disabled", timeout: 15) { _ in
      t.line(containing: hmac)?.contains("Disabled") ?? false
    }
    let state = try runAWS(
      aws,
      [
        "kms", "describe-key", "--endpoint-url", url, "--key-id", hmac, "--query", "KeyMetadata.KeyState",
        "--output", "text",
      ], environment: credentials)
    #expect(state.trimmingCharacters(in: .whitespacesAndNewlines) == "Disabled")
    t.send("q")
  }
}
