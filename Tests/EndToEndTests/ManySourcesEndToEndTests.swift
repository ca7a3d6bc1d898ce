import Foundation
import TestSupport
import Testing

/// Issue 12: two `kmsdash serve` (two accounts, each signing only its own access key, two Regions
/// each) plus moto_server, one dashboard over all of them from a saved view.
@Suite(.serialized) struct ManySourcesEndToEndTests {
  /// Whether Python can run moto's server (as `.ci/run` installs it).
  static let motoAvailable: Bool = {
    let check = Process()
    check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    check.arguments = ["python3", "-c", "import moto.server, flask"]
    check.standardOutput = FileHandle.nullDevice
    check.standardError = FileHandle.nullDevice
    guard (try? check.run()) != nil else { return false }
    check.waitUntilExit()
    return check.terminationStatus == 0
  }()
  static let motoMissing = "moto_server is not installed: python3 -m pip install 'moto[server]'"

  @Test(.enabled(if: (tmuxPath != nil && motoAvailable) || isCI, Comment(rawValue: motoMissing)))
  func oneTableOverTwoAccountsTwoRegionsAndMoto() throws {
    guard tmuxPath != nil else { throw E2EError(tmuxMissingMessage) }
    guard Self.motoAvailable else { throw E2EError(Self.motoMissing) }
    guard let bin = kmsdashBinary() else { throw E2EError("kmsdash binary not found next to the tests") }
    let quiet = ["SWIFT_BACKTRACE": "enable=no"]
    let serveA = try BackgroundServer(
      bin,
      [
        "serve", "--port", "0", "--ephemeral", "--time-scale", "0.2", "--account-id", "111111111111",
        "--access-key-id", "AKIDACCOUNTA00000001", "--secret-access-key", "secret-of-account-a",
      ], environment: quiet)
    let serveB = try BackgroundServer(
      bin,
      [
        "serve", "--port", "0", "--ephemeral", "--time-scale", "0.2", "--account-id", "222222222222",
        "--access-key-id", "AKIDACCOUNTB00000001", "--secret-access-key", "secret-of-account-b",
      ], environment: quiet)
    let motoServer = try BackgroundServer(
      "/usr/bin/env", ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"], environment: [:])
    let (urlA, urlB, urlMoto) = (try serveA.url(), try serveB.url(), try motoServer.url())

    // The AWS config: one profile per endpoint (endpoint_url covers KMS and STS, so each
    // profile's account comes from GetCallerIdentity), and the saved view in kmsdash's config.
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("kmsdash-e2e-many-\(getpid())")
    try FileManager.default.createDirectory(
      at: home.appendingPathComponent("xdg/kmsdash"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: home) }
    try """
    [profile acct-a]
    endpoint_url = \(urlA)
    [profile acct-b]
    endpoint_url = \(urlB)
    [profile moto]
    endpoint_url = \(urlMoto)
    """.write(to: home.appendingPathComponent("config"), atomically: true, encoding: .utf8)
    try """
    [acct-a]
    aws_access_key_id = AKIDACCOUNTA00000001
    aws_secret_access_key = secret-of-account-a
    [acct-b]
    aws_access_key_id = AKIDACCOUNTB00000001
    aws_secret_access_key = secret-of-account-b
    [moto]
    aws_access_key_id = AKIDMOTO000000000001
    aws_secret_access_key = secret-of-moto
    """.write(to: home.appendingPathComponent("credentials"), atomically: true, encoding: .utf8)
    try """
    # Both accounts and moto, in two Regions.
    [views.fleet]
    profiles = ["acct-a", "acct-b", "moto"]
    regions = ["us-east-1", "eu-west-1"]
    """.write(to: home.appendingPathComponent("xdg/kmsdash/config.toml"), atomically: true, encoding: .utf8)

    let t = try TmuxSession(
      command: "\(bin) --view fleet --refresh 0.3", width: 160, height: 40,
      env: quiet.merging([
        "TERM": "xterm-256color", "HOME": home.path,
        "XDG_CONFIG_HOME": home.appendingPathComponent("xdg").path,
        "AWS_CONFIG_FILE": home.appendingPathComponent("config").path,
        "AWS_SHARED_CREDENTIALS_FILE": home.appendingPathComponent("credentials").path,
        "AWS_EC2_METADATA_DISABLED": "true",
      ]) { $1 })

    // Every source in the strip with its status (grouped per account at this width); moto's lines
    // name the operation and the status.
    t.waitFor(
      shows: [
        "view fleet: 3 profiles × 2 Regions", "6 sources:", "111111111111 us-east-1 ok, eu-west-1 ok",
        "222222222222 us-east-1 ok, eu-west-1 ok",
        "123456789012 us-east-1 not supported, eu-west-1 not supported",
        "ACCOUNT", "REGION", "24 stores",
      ], timeout: 30)
    let motoLine = try #require(t.line(containing: "123456789012/eu-west-1 (profile moto): not supported"))
    #expect(motoLine.contains("DescribeCustomKeyStores not supported by this endpoint (HTTP 500)"))

    // The same store ID in four (account, Region) rows; only account B's eu-west-1 one changes.
    let rowB = "222222222222 eu-west-1 hr-records"
    t.waitFor(rowB + " CONNECTED") { _ in t.line(containing: rowB)?.contains("● CONNECTED") ?? false }
    t.send("/")
    t.type("222222222222")
    t.send("Enter")
    t.waitFor("12 of 24")
    // Sorted by name, then by row ID: account B's hr-records rows are the 5th (us-east-1) and 6th.
    t.send("j", "j", "j", "j", "j", "d")
    let dialog = t.waitFor(shows: ["Disconnect custom key store", "in account", "222222222222, eu-west-1)?"])
    #expect(dialog.contains("Disconnect hr-records (cks-0de30000000000003 in account"))
    t.send("y")
    t.waitFor(rowB + " DISCONNECTING", timeout: 15) { _ in
      t.line(containing: rowB)?.contains("DISCONNECTING") ?? false
    }
    t.waitFor(rowB + " DISCONNECTED", timeout: 20) { _ in
      t.line(containing: rowB)?.contains("○ DISCONNECTED") ?? false
    }
    #expect(t.line(containing: "222222222222 us-east-1 hr-records")?.contains("● CONNECTED") == true)
    t.send("Escape")
    t.waitFor("all rows again") { $0.contains("111111111111 eu-west-1 hr-records") }
    #expect(t.line(containing: "111111111111 eu-west-1 hr-records")?.contains("● CONNECTED") == true)
    #expect(t.line(containing: "111111111111 us-east-1 hr-records")?.contains("● CONNECTED") == true)

    // The action went to account B's endpoint, signed with account B's key, for eu-west-1.
    let logB = serveB.output
    let disconnects = logB.split(separator: "\n").filter {
      $0.contains("op=TrentService.DisconnectCustomKeyStore")
    }
    #expect(disconnects.count == 1)
    #expect(disconnects.first?.contains("access_key_id=AKIDACCOUNTB00000001") == true)
    #expect(!serveA.output.contains("op=TrentService.DisconnectCustomKeyStore"))
    #expect(!serveA.output.contains("AKIDACCOUNTB"))
    #expect(!logB.contains("AKIDACCOUNTA"))
    #expect(logB.contains("op=STS.GetCallerIdentity"))

    // Account A goes away: its two sources turn unreachable, the others stay.
    serveA.stop()
    // The strip no longer fits every source nor every account: it counts them by status.
    t.waitFor(
      shows: [
        "6 sources: 2 ok · 2 not supported · 2 unreachable",
        "111111111111/us-east-1 (profile acct-a): unreachable",
        "111111111111/eu-west-1 (profile acct-a): unreachable",
        "Cannot reach \(urlA)", "123456789012/us-east-1 (profile moto): not supported",
      ], timeout: 30)
    #expect(t.line(containing: rowB)?.contains("○ DISCONNECTED") == true)
    t.send("q")
    let end = t.waitFor("exit status") { $0.contains("EXIT=") }
    #expect(end.contains("EXIT=0"))
  }

  @Test func aMalformedConfigFileNamesTheFileAndTheLine() throws {
    guard let bin = kmsdashBinary() else { throw E2EError("kmsdash binary not found next to the tests") }
    let xdg = FileManager.default.temporaryDirectory.appendingPathComponent("kmsdash-e2e-badview-\(getpid())")
    try FileManager.default.createDirectory(
      at: xdg.appendingPathComponent("kmsdash"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: xdg) }
    let file = xdg.appendingPathComponent("kmsdash/config.toml")
    try "[views.fleet]\nprofiles = [\"a\"\nregions = [\"us-east-1\"]\n".write(
      to: file, atomically: true, encoding: .utf8)
    let output = try spawn(
      [
        "/bin/sh", "-c", "XDG_CONFIG_HOME='\(xdg.path)' SWIFT_BACKTRACE=enable=no '\(bin)' --view fleet 2>&1",
      ],
      capture: true)
    #expect(output.contains("kmsdash: \(file.path):3: not valid TOML"), "\(output)")
  }
}
