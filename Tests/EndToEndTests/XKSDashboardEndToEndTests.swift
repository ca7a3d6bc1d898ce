import Foundation
import TestSupport
import Testing

/// The demo fleet's external key stores in the real binary (issue 10 §3): the embedded proxy
/// needs no port, the detail pane shows what KMS saw of the proxy, and the QA panel's toggles
/// change what the next connect does.
extension DashboardEndToEndTests {
  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func xksStoresFromDetailToQAToReconnect() throws {
    let t = try start("--ephemeral --time-scale 20", height: 45)
    t.waitFor(shows: ["9 stores", "xks-orders", "● CONNECTED", "FAILED XKS_PROXY_TIME"])
    t.send("/")
    t.type("xks-latency")
    t.send("Enter")
    t.waitFor(shows: [
      "filter \"xks-latency\": 1 of 9", "ConnectionErrorCode     XKS_PROXY_TIMED_OUT",
      "XksProxy UriEndpoint    https://xks-slow.demo.kmsdash.local",
      "ConnectCustomKeyStore, ", "ms of 250 ms", "  Next connect would be XKS_PROXY_TIMED_OUT",
      "Proxy errors            Timeout 1",
    ])
    // The QA panel: the latency fault is on, and the proxy says the next connect times out.
    t.send("f")
    t.waitFor(shows: [
      "QA: XKS proxy https://xks-slow.demo.kmsdash.local of xks-latency",
      "Next connect (after disconnect): FAILED (XKS_PROXY_TIMED_OUT)", "[x] LATENCY_300MS",
    ])
    t.send("Space")
    t.waitFor(shows: ["[ ] LATENCY_300MS", "Next connect (after disconnect): CONNECTED"], timeout: 15)
    // Disconnect, then connect from the panel: the real GetHealthStatus now answers in time.
    t.send("Escape")
    t.send("d")
    t.waitFor("Disconnect xks-latency (cks-")
    t.send("y")
    t.waitFor("DISCONNECTED", timeout: 15) { $0.contains("○ DISCONNECTED") }
    t.send("c")
    t.waitFor("Connect xks-latency (cks-")
    t.send("y")
    t.waitFor(shows: ["● CONNECTED", "  Next connect would be CONNECTED", "EKM fleet"], timeout: 20)
    // The healthy store's keys: aliases and the Enabled state, through the proxy.
    t.send("/")
    t.send("C-u")
    t.type("xks-orders")
    t.send("Enter")
    t.waitFor("filter \"xks-orders\": 1 of 9")
    t.send("Enter")
    t.waitFor(shows: ["Keys of xks-orders", "Order payloads", "alias/xks/orders", "Enabled"])
    t.send("Escape")
    t.send("q")
    expectSaneExit(t, code: 0)
  }
}

/// The XKS panel of a remote dashboard (`kmsdash --endpoint URL`) on a `kmsdash serve` whose
/// external key store talks to a real `kmsdash xks-proxy` over a socket: what the detail pane shows
/// comes from serve's simulator operations (`DescribeXksHealth`, `ListXksProxyFaults`,
/// `SetXksProxyFault`, `PredictConnectOutcome`), and the QA panel breaks and mends the proxy.
@Suite(.serialized) struct XKSRemoteDashboardEndToEndTests {
  static let credentials = [
    "AWS_ACCESS_KEY_ID": "AKIDKMSDASHE2E000001", "AWS_SECRET_ACCESS_KEY": "kmsdash-e2e-secret",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
  ]

  @Test(
    .disabled(
      "unfinished: up to the QA toggle it passes; the Encrypt failure after EKM_UNAVAILABLE does not show as a proxy error on screen yet"
    ),
    .enabled(
      if: (tmuxPath != nil && RemoteDashboardEndToEndTests.awsPath != nil) || isCI,
      Comment(rawValue: RemoteDashboardEndToEndTests.awsMissing)))
  func xksPanelOnARemoteDashboard() throws {
    guard requireTmux() else { throw E2EError(tmuxMissingMessage) }
    let aws = try #require(RemoteDashboardEndToEndTests.awsPath, "\(RemoteDashboardEndToEndTests.awsMissing)")
    let bin = try #require(kmsdashBinary(), "kmsdash binary not found next to the tests")
    let proxy = try BackgroundServer(
      bin, ["xks-proxy", "--http", "--ephemeral", "--host", "127.0.0.1", "--port", "0"], environment: [:])
    defer { proxy.stop() }
    let proxyURL = try proxy.url()
    // --time-scale 60: the periodic KmsHealthCheck (every 300 s on AWS) comes every 5 s.
    let server = try ServeProcess(
      binary: bin,
      arguments: ["--ephemeral", "--time-scale", "60", "--xks-route", "xks.kmsdash.test=\(proxyURL)"],
      environment: Self.credentials)
    let url = server.endpoint
    // AWS CLI v1 would fetch an https:// argument (the proxy endpoint) unless told not to.
    let config = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kmsdash-e2e-awscfg-\(UUID().uuidString.prefix(8))")
    try Data("[default]\ncli_follow_urlparam = false\n".utf8).write(to: config)
    defer { try? FileManager.default.removeItem(at: config) }
    let cliEnvironment = Self.credentials.merging(["AWS_CONFIG_FILE": config.path]) { $1 }
    func kms(_ arguments: [String]) throws -> String {
      try runAWS(
        aws, ["kms"] + arguments + ["--endpoint-url", url, "--output", "text"], environment: cliEnvironment
      ).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    let storeId = try kms([
      "create-custom-key-store", "--custom-key-store-name", "xks-remote", "--custom-key-store-type",
      "EXTERNAL_KEY_STORE", "--xks-proxy-uri-endpoint", "https://xks.kmsdash.test", "--xks-proxy-uri-path",
      "/demo/kms/xks/v1", "--xks-proxy-connectivity", "PUBLIC_ENDPOINT",
      "--xks-proxy-authentication-credential",
      "AccessKeyId=KMSDASHDEMOXKSACCESSKEY2,RawSecretAccessKey=kmsdashDemoXksSecretKey0123456789abcdefghijk",
      "--query", "CustomKeyStoreId",
    ])
    #expect(storeId.hasPrefix("cks-"), "\(storeId)")
    _ = try kms(["connect-custom-key-store", "--custom-key-store-id", storeId])

    let t = try TmuxSession(
      command: "\(bin) --endpoint \(url) --refresh 0.3", height: 50,
      env: Self.credentials.merging(["SWIFT_BACKTRACE": "enable=no", "TERM": "xterm-256color"]) { $1 })
    t.waitFor(shows: ["xks-remote", "endpoint \(url)"], timeout: 20)
    t.waitFor("xks-remote CONNECTED", timeout: 30) { _ in
      t.line(containing: "xks-remote")?.contains("● CONNECTED") ?? false
    }
    let keyId = try kms([
      "create-key", "--origin", "EXTERNAL_KEY_STORE", "--custom-key-store-id", storeId, "--xks-key-id",
      "demo-aes-1", "--query", "KeyMetadata.KeyId",
    ])
    t.send("/")
    t.type("xks-remote")
    t.send("Enter")
    // What serve recorded of the proxy, over the wire.
    t.waitFor(
      shows: [
        "XksProxy UriEndpoint    https://xks.kmsdash.test", "XKS proxy               kmsdash",
        "EKM fleet", "ACTIVE", "ms of 250 ms", "  Next connect would be CONNECTED",
        "Proxy errors            none",
        "TLS certificate         not seen (plain HTTP or no TLS call yet)",
      ], timeout: 20)

    // The QA panel reads the real proxy's faults through serve; EKM_UNAVAILABLE is the 11th toggle.
    t.send("f")
    t.waitFor(shows: [
      "QA: XKS proxy https://xks.kmsdash.test of xks-remote", "[ ] EKM_UNAVAILABLE",
      "Next connect: no change (already CONNECTED)",
    ])
    for _ in 0..<10 { t.send("j") }
    t.send("Space")
    t.waitFor(shows: ["[x] EKM_UNAVAILABLE"], timeout: 15)
    t.send("Escape")
    // A crypto call now fails at the proxy: the store stays CONNECTED, the error is counted, and
    // the next periodic health check sees the whole EKM fleet down.
    do {
      _ = try kms(["encrypt", "--key-id", keyId, "--plaintext", "aGVsbG8="])
      Issue.record("encrypt succeeded with every EKM UNAVAILABLE")
    } catch let error as E2EError {
      #expect("\(error)".contains("KMSInvalidStateException"), "\(error)")
    }
    t.waitFor(shows: ["Proxy errors            InternalException 1"], timeout: 15)
    t.waitFor(
      shows: ["UNAVAILABLE", "KmsHealthCheck", "  Next connect would be XKS_PROXY_NOT_REACHABLE"], timeout: 30
    )
    #expect(t.line(containing: "xks-remote")?.contains("● CONNECTED") == true)

    // Mended from the panel: the prediction and then the health record follow.
    t.send("f")
    t.waitFor("[x] EKM_UNAVAILABLE")
    for _ in 0..<10 { t.send("j") }
    t.send("Space")
    t.waitFor(shows: ["[ ] EKM_UNAVAILABLE"], timeout: 15)
    t.send("Escape")
    t.waitFor(shows: ["  Next connect would be CONNECTED"], timeout: 30)
    t.send("q")
    let end = t.waitFor("exit status") { $0.contains("EXIT=") }
    #expect(end.contains("EXIT=0"))
  }
}
