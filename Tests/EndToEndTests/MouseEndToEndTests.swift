import Foundation
import Testing

/// The mouse through the real binary in tmux. tmux passes a mouse sequence typed into the pane
/// through to the application, in whatever encoding the application asked for: SGR 1006
/// (`ESC [ < b ; x ; y M`) when the terminfo entry has it (xterm-256color: kmous=\E[<, XM with
/// 1006), X10 (`ESC [ M` and three bytes) otherwise (tmux-256color, screen: kmous=\E[M). The
/// tests read which one the dashboard enabled from tmux and send that.
@Suite(.serialized) struct MouseEndToEndTests {
  let harness = DashboardEndToEndTests()

  struct MouseModes: Equatable {
    var any: Bool
    var sgr: Bool
    var buttonMotion: Bool
    var allMotion: Bool
  }

  func modes(_ t: TmuxSession) throws -> MouseModes {
    let text = try t.tmux(
      [
        "display", "-p", "-t", t.session,
        "#{mouse_any_flag} #{mouse_sgr_flag} #{mouse_button_flag} #{mouse_all_flag}",
      ], capture: true)
    let flags = text.split(whereSeparator: \.isWhitespace).map { $0 == "1" }
    guard flags.count == 4 else { throw E2EError("tmux mouse flags: \(text)") }
    return MouseModes(any: flags[0], sgr: flags[1], buttonMotion: flags[2], allMotion: flags[3])
  }

  /// One mouse report at the 0-based cell (x, y): button 0 = left, 64/65 = wheel up/down.
  func report(_ t: TmuxSession, button: Int, x: Int, y: Int, release: Bool = false) throws -> String {
    if try modes(t).sgr {
      return "\u{1B}[<\(button);\(x + 1);\(y + 1)\(release ? "m" : "M")"
    }
    let b = release ? 3 : button
    return "\u{1B}[M" + String(UnicodeScalar(UInt8(32 + b))) + String(UnicodeScalar(UInt8(33 + x)))
      + String(UnicodeScalar(UInt8(33 + y)))
  }

  /// Presses and releases, `times` in a row, typed into the pane at once: one write, so
  /// ncurses reads them together and reports a click or a double-click (when the reports trickle
  /// in one by one, as from a hand, the dashboard tells the double-click by its clock; the unit
  /// tests cover that).
  func click(_ t: TmuxSession, _ p: (x: Int, y: Int), times: Int = 1) throws {
    let once = try report(t, button: 0, x: p.x, y: p.y) + report(t, button: 0, x: p.x, y: p.y, release: true)
    t.type(String(repeating: once, count: times))
  }

  func wheel(_ t: TmuxSession, down: Bool, x: Int, y: Int) throws {
    t.type(try report(t, button: down ? 65 : 64, x: x, y: y))
  }

  /// Where `text` is on the screen (0-based column and row).
  func position(_ t: TmuxSession, of text: String) throws -> (x: Int, y: Int) {
    let screen = t.waitFor(text)
    for (y, line) in screen.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      if let r = line.range(of: text) { return (line[..<r.lowerBound].count, y) }
    }
    throw E2EError("\(text) not on screen:\n\(screen)")
  }

  func clickSelectsDoubleClickOpensWheelScrollsButtonsPress(term: String, sgr: Bool) throws {
    // tmux sets the pane's TERM itself (tmux-256color), so the command sets it.
    let t = try harness.start(prefix: "TERM=\(term) ")
    t.waitFor("payments-prod")
    let m = try modes(t)
    // Buttons only: no motion reporting, so a moving mouse sends nothing and idle stays idle.
    #expect(m == MouseModes(any: true, sgr: sgr, buttonMotion: false, allMotion: false), "TERM=\(term)")
    // Click: the row is selected and the detail pane follows.
    try click(t, try position(t, of: "hr-records"))
    t.waitFor("Detail: hr-records")
    // Double-click: its keys, as Enter.
    let payments = try position(t, of: "payments-prod")
    try click(t, payments, times: 2)
    t.waitFor("Keys of payments-prod")
    // The wheel scrolls the keys (12 of them, 9 on screen): the window moves three rows and the
    // selection with it.
    t.resize(width: 120, height: 15)
    t.waitFor("[1/12]")
    try wheel(t, down: true, x: 10, y: 5)
    t.waitFor("[4/12]")
    try wheel(t, down: false, x: 10, y: 5)
    t.send("Escape")
    t.resize(width: 120, height: 35)
    // A dialog's buttons: Cancel closes it, the action's button runs it.
    // The detail pane's lower lines show only once the dashboard has the full height again (the
    // dialog is placed, and clicked, at that size).
    t.waitFor(shows: ["Detail: payments-prod", "TrustAnchorCertificate"])
    t.send("d")
    try click(t, try position(t, of: "[ Cancel ]"))
    t.waitFor("Cancelled; nothing changed")
    t.send("d")
    let cancel = try position(t, of: "[ Cancel ]")
    let screen = t.screen().split(separator: "\n", omittingEmptySubsequences: false)
    let buttonRow = String(screen[cancel.y])
    let ok = try #require(
      buttonRow.range(
        of: "Disconnect", range: buttonRow.range(of: "[ Cancel ]")!.upperBound..<buttonRow.endIndex))
    try click(t, (buttonRow[..<ok.lowerBound].count + 2, cancel.y))
    t.waitFor("DisconnectCustomKeyStore accepted for payments-prod")
    t.send("q")
    harness.expectSaneExit(t, code: 0)
    // Mouse reporting is switched off with the rest of the terminal modes.
    #expect(try modes(t).any == false)
  }

  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func withSGR1006UnderXterm256color() throws {
    try clickSelectsDoubleClickOpensWheelScrollsButtonsPress(term: "xterm-256color", sgr: true)
  }

  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func withX10UnderTmux256color() throws {
    try clickSelectsDoubleClickOpensWheelScrollsButtonsPress(term: "tmux-256color", sgr: false)
  }

  /// --no-mouse: no mouse reporting is asked for; the terminal keeps clicks for text selection.
  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func noMouseAsksForNothing() throws {
    let t = try harness.start("--no-mouse")
    t.waitFor("payments-prod")
    #expect(try modes(t).any == false)
    t.send("q")
    harness.expectSaneExit(t, code: 0)
  }
}
