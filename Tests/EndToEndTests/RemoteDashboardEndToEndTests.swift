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
    let log = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kmsdash-e2e-serve-\(getpid()).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let server = Process()
    server.executableURL = URL(fileURLWithPath: bin)
    server.arguments = ["serve", "--port", "0", "--ephemeral", "--time-scale", "0.2"]
    server.environment = ProcessInfo.processInfo.environment.merging(credentials) { $1 }
      .merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
    let logHandle = try FileHandle(forWritingTo: log)
    server.standardOutput = logHandle
    server.standardError = logHandle
    try server.run()
    defer {
      // SIGKILL: a child started by Foundation may inherit a blocked SIGTERM (see Tmux.swift).
      kill(server.processIdentifier, SIGKILL)
      server.waitUntilExit()
    }
    var endpoint: String?
    let deadline = Date().addingTimeInterval(30)
    while endpoint == nil, Date() < deadline {
      let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
      endpoint = text.firstMatch(of: /http:\/\/127\.0\.0\.1:[0-9]+/).map { String($0.output) }
      if endpoint == nil { usleep(50_000) }
    }
    let url = try #require(endpoint, "serve did not start")

    // The dashboard on the endpoint, signing with the same credentials from its environment.
    let t = try TmuxSession(
      command: "\(bin) --endpoint \(url) --refresh 0.3",
      env: credentials.merging(["SWIFT_BACKTRACE": "enable=no", "TERM": "xterm-256color"]) { $1 })
    t.waitFor(shows: ["hr-records", "endpoint \(url)"], timeout: 20)
    t.waitFor("hr-records CONNECTED") { _ in
      t.line(containing: "hr-records")?.contains("● CONNECTED") ?? false
    }

    // The AWS CLI disconnects the store; nobody touches the dashboard.
    let cli = Process()
    cli.executableURL = URL(fileURLWithPath: aws)
    cli.arguments = [
      "kms", "disconnect-custom-key-store", "--endpoint-url", url, "--custom-key-store-id",
      "cks-0de30000000000003",
    ]
    cli.environment = ProcessInfo.processInfo.environment.merging(credentials) { $1 }
    try cli.run()
    cli.waitUntilExit()
    #expect(cli.terminationStatus == 0)

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
