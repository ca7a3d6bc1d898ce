import Foundation
import Testing

/// Drives the real kmsdash binary in a private tmux server (terminal-notes §5).
@Suite(.serialized) struct DashboardEndToEndTests {
  /// The dashboard in a private tmux session. Throws (failing the test) when tmux or the binary
  /// is missing; without CI a missing tmux disables the tests through their trait instead.
  func start(
    _ args: String = "", width: Int = 120, height: Int = 35, env: [String: String] = [:], prefix: String = ""
  ) throws -> TmuxSession {
    guard requireTmux() else { throw E2EError(tmuxMissingMessage) }
    guard let bin = kmsdashBinary() else {
      throw E2EError("kmsdash binary not found next to the tests; run swift build first")
    }
    var environment = [
      "SWIFT_BACKTRACE": "enable=no", "TERM": "xterm-256color", "AWS_EC2_METADATA_DISABLED": "true",
    ]
    environment.merge(env) { $1 }
    return try TmuxSession(
      command: "\(prefix)\(bin) \(args)",
      width: width, height: height, env: environment)
  }

  func expectSaneExit(_ t: TmuxSession, code: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    let s = t.waitFor("exit status", sourceLocation: sourceLocation) {
      $0.contains("EXIT=") && $0.contains("TTY:")
    }
    #expect(s.contains("EXIT=\(code)"), "screen:\n\(s)", sourceLocation: sourceLocation)
    #expect(s.contains("TTY: isig icanon echo"), "screen:\n\(s)", sourceLocation: sourceLocation)
    #expect(!t.alternateScreenOn(), sourceLocation: sourceLocation)
  }

  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func demoFleetDisconnectConnectForbiddenCancelFilterResizeQuit() throws {
    let t = try start()
    t.waitFor("payments-prod")
    t.waitFor(shows: [
      "6 stores", "analytics-dr", "edge-single-hsm", "hr-records", "ledger-archive", "staging-keys",
      "FAILED USER_LOCKED_OUT",
    ])

    // Select payments-prod with the filter, then disconnect it: d, y.
    t.send("/")
    t.type("payments")
    t.send("Enter")
    t.waitFor("filter \"payments\": 1 of 6")
    t.waitFor("payments-prod is CONNECTED") { $0.contains("● CONNECTED") }
    t.send("d")
    t.waitFor(shows: ["Disconnect payments-prod (cks-", "KMS keys become Unavailable"])
    t.send("y")
    t.waitFor("DISCONNECTING", timeout: 5)
    t.waitFor("DISCONNECTED after DISCONNECTING", timeout: 15) {
      $0.contains("○ DISCONNECTED") && !$0.contains("DISCONNECTING")
    }

    // Connect it back: c, y.
    t.send("c")
    t.waitFor("Connect payments-prod (cks-")
    t.send("y")
    t.waitFor("CONNECTING", timeout: 5)
    t.waitFor("● CONNECTED", timeout: 20)

    // A cancelled dialog changes nothing.
    t.send("d")
    t.waitFor("Disconnect payments-prod (cks-")
    t.send("n")
    t.waitFor(shows: ["Cancelled; nothing changed", "● CONNECTED"], lacks: ["DISCONNECTING"])

    // A FAILED store cannot be connected: the dialog says why and offers to disconnect.
    t.send("Escape")
    t.send("/")
    t.type("ledger")
    t.send("Enter")
    t.waitFor("filter \"ledger\": 1 of 6")
    t.send("c")
    t.waitFor(shows: ["Cannot connect ledger-archive", "must be disconnected first", "Disconnect it first?"])
    t.send("Escape")

    // Filter hides the other stores.
    t.send("Escape")
    t.send("/")
    t.type("hr-rec")
    t.send("Enter")
    t.waitFor(shows: ["filter \"hr-rec\": 1 of 6", "hr-records"], lacks: ["payments-prod"])
    t.send("Escape")
    t.waitFor("payments-prod")

    // Resize: smaller, too small, and back; with a dialog open too.
    t.resize(width: 70, height: 20)
    t.waitFor("70-column layout") { s in
      s.split(separator: "\n").allSatisfy { $0.count <= 70 } && s.contains("NAME")
    }
    t.resize(width: 40, height: 10)
    t.waitFor("Terminal too small")
    t.resize(width: 100, height: 30)
    t.waitFor("payments-prod")
    t.send("Home")  // analytics-dr, DISCONNECTED
    t.send("c")
    t.waitFor("Connect analytics-dr")
    t.resize(width: 80, height: 24)
    t.waitFor("Connect analytics-dr")
    t.send("Escape")
    t.waitFor("Cancelled; nothing changed")

    t.send("q")
    expectSaneExit(t, code: 0)
  }

  /// The signal tests below arrive while a confirmation dialog is open.
  func openConnectDialog(_ t: TmuxSession) {
    t.waitFor("payments-prod")
    t.send("Home")  // analytics-dr, DISCONNECTED
    t.send("c")
    t.waitFor("Connect analytics-dr")
  }

  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func ctrlCRestoresTheTerminal() throws {
    let t = try start()
    openConnectDialog(t)
    t.send("C-c")
    expectSaneExit(t, code: 130)
  }

  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func sigtermRestoresTheTerminal() throws {
    let t = try start()
    openConnectDialog(t)
    let pid = try #require(t.childPid(named: "kmsdash"), "kmsdash process of this session not found")
    kill(pid, SIGTERM)  // by process ID: only the binary this session started
    expectSaneExit(t, code: 143)
  }

  /// 100 resizes in about two seconds, down to 1×1 and back, with a dialog open half-way: the
  /// dashboard survives, ends drawn for the final size, and quits cleanly.
  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func resizeStormLeavesAWorkingDashboard() throws {
    let t = try start()
    t.waitFor("payments-prod")
    let sizes = [
      (120, 35), (40, 10), (1, 1), (200, 60), (80, 24), (20, 5), (132, 43), (60, 15), (2, 2), (100, 30),
    ]
    for i in 0..<100 {
      if i == 50 {
        t.send("j")
        t.send("d")
      }
      let (w, h) = sizes[i % sizes.count]
      t.resize(width: w, height: h)  // each resize is a tmux round trip: no pause needed
    }
    t.resize(width: 120, height: 35)
    let screen = t.waitFor("redrawn at 120x35 with the dialog") {
      $0.contains("Disconnect edge-single-hsm") && $0.contains("payments-prod")
    }
    #expect(!screen.contains("EXIT="), "the dashboard died during the storm:\n\(screen)")
    t.send("n")
    t.waitFor("Cancelled; nothing changed")
    t.send("q")
    expectSaneExit(t, code: 0)
  }

  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func sighupRestoresTheTerminal() throws {
    let t = try start()
    openConnectDialog(t)
    let pid = try #require(t.childPid(named: "kmsdash"), "kmsdash process of this session not found")
    kill(pid, SIGHUP)
    expectSaneExit(t, code: 129)
  }

  /// A crash (a fatal signal, as a segmentation fault delivers it) with a dialog open: the crash
  /// handler restores the terminal before the process dies.
  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func crashWithADialogOpenRestoresTheTerminal() throws {
    let t = try start()
    t.waitFor("payments-prod")
    t.send("j")  // edge-single-hsm, CONNECTED
    t.send("d")
    t.waitFor("Disconnect edge-single-hsm")
    let pid = try #require(t.childPid(named: "kmsdash"), "kmsdash process of this session not found")
    kill(pid, SIGSEGV)
    let s = t.waitFor("exit status") { $0.contains("EXIT=") && $0.contains("TTY:") }
    #expect(s.contains("EXIT=139"), "screen:\n\(s)")
    #expect(s.contains("TTY: isig icanon echo"), "screen:\n\(s)")
    #expect(!t.alternateScreenOn())
  }

  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func closedPtyEndsTheProcess() throws {
    let t = try start()
    t.waitFor("payments-prod")
    let pid = try #require(t.childPid(named: "kmsdash"), "kmsdash process of this session not found")
    _ = try t.tmux(["kill-server"])  // closes the pty: POLLHUP / SIGHUP must end the dashboard
    let deadline = Date().addingTimeInterval(5)
    while kill(pid, 0) == 0 && Date() < deadline { usleep(50_000) }
    let alive = kill(pid, 0) == 0
    if alive { kill(pid, SIGKILL) }  // by ID: never leave an orphan behind
    #expect(!alive, "kmsdash kept running after its pty closed")
  }

  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func unknownTermGivesAReadableError() throws {
    // tmux sets TERM in the pane itself, so override it on the command line.
    let t = try start(prefix: "env TERM=no-such-terminal-kmsdash ")
    // The message and the shell's EXIT= line arrive separately: wait for both.
    let s = t.waitFor("the error and the exit status") {
      $0.contains("unknown terminal type") && $0.contains("EXIT=")
    }
    #expect(s.contains("TERM=\"no-such-terminal-kmsdash\""))
    #expect(s.contains("EXIT=1"))
  }

  /// TERM=dumb cannot address the cursor: a readable refusal, not a screen of garbage.
  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func dumbTerminalGivesAReadableError() throws {
    let t = try start(prefix: "env TERM=dumb ")
    // The shell prints EXIT= and then the TTY: line: wait for everything asserted below.
    let s = t.waitFor(shows: ["cannot move the cursor", "EXIT=", "TTY:"])
    #expect(s.contains("TERM=\"dumb\""))
    #expect(s.contains("EXIT=1"))
    #expect(s.contains("TTY: isig icanon echo"), "screen:\n\(s)")
  }

  /// NO_COLOR: no colour escape reaches the pty, and the states stay distinguishable.
  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func noColorWritesNoColourSequences() throws {
    guard requireTmux() else { throw E2EError(tmuxMissingMessage) }
    let raw = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kmsdash-e2e-\(getpid())-nocolor.bin")
    defer { try? FileManager.default.removeItem(at: raw) }
    let t = try start(env: ["NO_COLOR": "1"])
    t.pipePane(to: raw.path)
    t.send("C-l")  // repaint everything through the pipe
    t.waitFor(shows: ["FAILED USER_LOCKED_OUT", "● CONNECTED", "○ DISCONNECTED"])
    t.send("q")
    expectSaneExit(t, code: 0)
    let text = String(decoding: try Data(contentsOf: raw), as: UTF8.self)
    #expect(text.contains("payments-prod"))
    // SGR 30–38, 40–48, 90–97 and 100–107 set colours (39/49 only reset to the default);
    // bold, dim, underline and reverse are what NO_COLOR leaves.
    let sgr = try Regex(#"\x1B\[([0-9;]*)m"#)
    var colours: [String] = []
    for match in text.matches(of: sgr) {
      let parameters = String(text[match.range]).dropFirst(2).dropLast().split(separator: ";").compactMap {
        Int($0)
      }
      let setsColour = parameters.contains {
        (30...38).contains($0) || (40...48).contains($0) || (90...97).contains($0) || (100...107).contains($0)
      }
      if setsColour {
        colours.append(String(text[match.range]).replacingOccurrences(of: "\u{1B}", with: "ESC"))
      }
    }
    #expect(colours.isEmpty, "colour sequences with NO_COLOR: \(Set(colours).sorted())")
  }

  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func hostileStoreNameRendersInert() throws {
    guard requireTmux() else { throw E2EError(tmuxMissingMessage) }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kmsdash-e2e-\(getpid())-hostile")
    try FileManager.default.createDirectory(
      at: dir.appendingPathComponent("certs"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.copyItem(
      at: repositoryRoot.appendingPathComponent("assets/certs/customerCA.crt"),
      to: dir.appendingPathComponent("certs/customerCA.crt"))
    let scenarioDir = dir.appendingPathComponent("scenarios")
    try FileManager.default.createDirectory(at: scenarioDir, withIntermediateDirectories: true)
    let hostile = #"evil\u001b]0;pwned\u0007\u009b2J\u202egnp.exe\u001b[31mRED"#
    // Every C0 and C1 control, an OSC 8 hyperlink and every bidi override/isolate, as JSON escapes.
    // It sorts first, so it is the selected store and the detail pane shows it whole.
    let c0 = (0..<0x20).map { String(format: "\\u%04x", UInt32($0)) }.joined()
    let c1 = (0x80..<0xA0).map { String(format: "\\u%04x", UInt32($0)) }.joined()
    let osc8 = #"\u001b]8;;https://evil.example/\u001b\\click\u001b]8;;\u001b\\"#
    let bidi = ["202a", "202b", "202c", "202d", "202e", "2066", "2067", "2068", "2069"].map { "\\u" + $0 }
      .joined()
    let controls = "ctl" + c0 + c1 + osc8 + bidi + "end"
    let json = """
      { "clusters": [ { "id": "cluster-hostilename2", "zones": ["us-east-1a", "us-east-1b"], "hsmsPerZone": 1,
          "kmsuserPassword": "DemoPassw0rd", "trustAnchor": "../certs/customerCA.crt" },
          { "id": "cluster-hostilenamez", "zones": ["us-east-1a", "us-east-1b"], "hsmsPerZone": 1,
          "kmsuserPassword": "DemoPassw0rd", "trustAnchor": "../certs/customerCA.crt" } ],
        "stores": [ { "id": "cks-0de3000000000000e", "name": "\(hostile)", "cluster": "cluster-hostilename2",
          "password": "DemoPassw0rd", "state": "CONNECTED" },
          { "id": "cks-0de3000000000000f", "name": "\(controls)", "cluster": "cluster-hostilenamez",
          "password": "DemoPassw0rd", "state": "DISCONNECTED" } ] }
      """
    let scenario = scenarioDir.appendingPathComponent("hostile.json")
    try json.write(to: scenario, atomically: true, encoding: .utf8)
    let raw = dir.appendingPathComponent("raw.bin").path
    let t = try start("--scenario \(scenario.path)")
    t.pipePane(to: raw)
    t.send("C-l")  // repaint everything through the pipe
    t.waitFor(shows: ["evil␛]0;pwned␇", "2 stores", "ctl␀␁␂␃", "␌␍␎␏␐"])
    t.send("j")  // the other store: its whole name in the detail pane
    t.waitFor("␛[31mRED")
    t.send("q")
    expectSaneExit(t, code: 0)
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw)))
    #expect(!bytes.isEmpty)
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(text.contains("evil"))
    #expect(!text.contains("\u{1B}]0;pwned"), "OSC sequence reached the terminal")
    #expect(!bytes.contains(0x07), "BEL reached the terminal")
    #expect(
      !text.unicodeScalars.contains { (0x80...0x9F).contains($0.value) }, "C1 control reached the terminal")
    #expect(!text.unicodeScalars.contains { $0.value == 0x202E }, "bidi override reached the terminal")
    #expect(!text.contains("\u{1B}[31mRED"), "the name's SGR sequence reached the terminal")
    #expect(!text.contains("\u{1B}]8;"), "an OSC 8 hyperlink reached the terminal")
    let bidiControls: ClosedRange<UInt32> = 0x202A...0x202E
    let isolates: ClosedRange<UInt32> = 0x2066...0x2069
    #expect(
      !text.unicodeScalars.contains { bidiControls.contains($0.value) || isolates.contains($0.value) },
      "a bidi control reached the terminal")
    // ncurses itself writes ESC, CR, LF, BS, TAB and SO/SI (its G0/G1 charset switch, which
    // xterm-256color's sgr0 includes); no other C0 byte may appear. The name's own SO/SI are shown
    // as ␎␏ on screen, checked above.
    let strayC0 = bytes.filter { $0 < 0x20 && ![0x08, 0x09, 0x0A, 0x0D, 0x0E, 0x0F, 0x1B].contains($0) }
    #expect(strayC0.isEmpty, "C0 controls reached the terminal: \(Set(strayC0).sorted())")
    #expect(text.contains("␛[31mRED"))
  }
}
