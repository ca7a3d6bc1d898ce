import Foundation
import Testing

/// `kmsdash serve` with SigV4 on, a dashboard on `--endpoint`, and the AWS CLI changing a store
/// underneath: the dashboard follows without a keypress (issue 5).
@Suite(.serialized) struct RemoteDashboardEndToEndTests {
  static let awsPath: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin")
    .split(separator: ":").map { "\($0)/aws" }.first { FileManager.default.isExecutableFile(atPath: $0) }
  static let awsMissing = "the AWS CLI is not installed: pip install awscli"

  @Test(.enabled(if: (tmuxPath != nil && awsPath != nil) || isCI, Comment(rawValue: awsMissing)))
  func awsCliDisconnectShowsUpOnARemoteDashboard() throws {
    guard requireTmux() else { throw E2EError(tmuxMissingMessage) }
    guard let aws = Self.awsPath else {
      Issue.record(Comment(rawValue: Self.awsMissing))
      return
    }
    let bin = try #require(kmsdashBinary(), "kmsdash binary not found next to the tests")
    let credentials = [
      "AWS_ACCESS_KEY_ID": "AKIDKMSDASHE2E000001", "AWS_SECRET_ACCESS_KEY": "kmsdash-e2e-secret",
      "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
      "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
    ]

    // The server: auth on (credentials from its environment), slow enough transitions to watch.
    let server = try ServeProcess(
      binary: bin, arguments: ["--ephemeral", "--time-scale", "0.2"], environment: credentials)
    let url = server.endpoint

    // The dashboard on the endpoint, signing with the same credentials from its environment.
    let t = try TmuxSession(
      command: "\(bin) --endpoint \(url) --refresh 0.3",
      env: credentials.merging(["SWIFT_BACKTRACE": "enable=no", "TERM": "xterm-256color"]) { $1 })
    t.waitFor(shows: ["hr-records", "endpoint \(url)"], timeout: 20)
    t.waitFor("hr-records CONNECTED") { _ in
      t.line(containing: "hr-records")?.contains("● CONNECTED") ?? false
    }

    // The AWS CLI disconnects the store; nobody touches the dashboard.
    _ = try runAWS(
      aws,
      [
        "kms", "disconnect-custom-key-store", "--endpoint-url", url, "--custom-key-store-id",
        "cks-0de30000000000003",
      ],
      environment: credentials)

    t.waitFor("hr-records DISCONNECTING", timeout: 15) { _ in
      t.line(containing: "hr-records")?.contains("DISCONNECTING") ?? false
    }
    t.waitFor("hr-records DISCONNECTED", timeout: 20) { _ in
      t.line(containing: "hr-records")?.contains("○ DISCONNECTED") ?? false
    }
    t.send("q")
    let end = t.waitFor("exit status") { $0.contains("EXIT=") }
    #expect(end.contains("EXIT=0"))
  }
}
