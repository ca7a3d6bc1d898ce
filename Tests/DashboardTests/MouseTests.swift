import Foundation
import KMSModel
import TerminalUI
import Testing

@testable import Dashboard

private typealias F = Fixture

/// Clicks, double-clicks and the wheel, at coordinates read off the frame `view` drew.
struct MouseTests {
  /// Where `text` is on the rendered screen (column, row), the first time it appears.
  static func position(of text: String, in s: DashboardState, below minRow: Int = 0) throws -> (
    x: Int, y: Int
  ) {
    let lines = view(s).text.split(separator: "\n", omittingEmptySubsequences: false)
    for (y, line) in lines.enumerated() where y >= minRow {
      if let r = line.range(of: text) {
        return (String(line[..<r.lowerBound]).displayWidth, y)
      }
    }
    Issue.record("\(text) is not on screen:\n\(view(s).text)")
    throw CancellationError()
  }

  @discardableResult
  static func click(_ s: inout DashboardState, _ p: (x: Int, y: Int), at: Date = F.t0) -> [Effect] {
    update(&s, .mouse(MouseEvent(.press, x: p.x, y: p.y), at: at))
      + update(&s, .mouse(MouseEvent(.release, x: p.x, y: p.y), at: at.addingTimeInterval(0.05)))
  }

  @Test func aClickSelectsTheStoreUnderIt() throws {
    var s = F.state()
    #expect(s.selectedStore?.customKeyStoreName == "analytics-dr")
    let p = try Self.position(of: "payments-prod", in: s)
    Self.click(&s, p)
    #expect(s.selectedStoreId == F.payments)
    #expect(s.screen == .stores)
    #expect(s.storeTable.selected == s.visiblePosition(of: F.payments))
    // The detail pane follows the selection, as with j/k.
    #expect(view(s).text.contains("Detail: payments-prod"))
  }

  @Test func aDoubleClickOpensTheStoresKeysAsEnterDoes() throws {
    var s = F.state()
    let p = try Self.position(of: "payments-prod", in: s)
    Self.click(&s, p)
    Self.click(&s, p, at: F.t0.addingTimeInterval(0.3))
    #expect(s.screen == .keys(storeId: F.payments))
    var enter = F.state()
    enter.press(.char("j"), .char("j"), .enter)
    #expect(enter.screen == s.screen)
  }

  /// Events that reach ncurses in one read come merged: a click, or a double-click.
  @Test func mergedClicksAndDoubleClicksAsNcursesReportsThem() throws {
    var s = F.state()
    let ledger = try Self.position(of: "ledger-archive", in: s)
    _ = update(&s, .mouse(MouseEvent(.click, x: ledger.x, y: ledger.y), at: F.t0))
    #expect(s.selectedStoreId == F.ledger)
    #expect(s.screen == .stores)
    let payments = try Self.position(of: "payments-prod", in: s)
    let later = F.t0.addingTimeInterval(5)
    _ = update(&s, .mouse(MouseEvent(.doubleClick, x: payments.x, y: payments.y), at: later))
    #expect(s.screen == .keys(storeId: F.payments))
  }

  @Test func twoClicksFarApartOrOnDifferentRowsAreTwoClicks() throws {
    var s = F.state()
    let payments = try Self.position(of: "payments-prod", in: s)
    let ledger = try Self.position(of: "ledger-archive", in: s)
    Self.click(&s, payments)
    Self.click(&s, payments, at: F.t0.addingTimeInterval(1))
    #expect(s.screen == .stores)
    Self.click(&s, ledger, at: F.t0.addingTimeInterval(1.2))
    #expect(s.screen == .stores)
    #expect(s.selectedStoreId == F.ledger)
  }

  @Test func theHeaderTheBordersAndTheEmptyRowsBelowAreNotRows() throws {
    var s = F.state()
    let header = try Self.position(of: "NAME", in: s)
    Self.click(&s, header)
    Self.click(&s, header, at: F.t0.addingTimeInterval(0.1))
    #expect(s.selectedStoreId == F.analytics)
    #expect(s.screen == .stores)
    // The status line and footer are outside the table.
    Self.click(&s, (x: 5, y: s.size.height - 1))
    #expect(s.selectedStoreId == F.analytics)
  }

  @Test func theWheelScrollsTheTableAndTheSelectionStaysOnScreen() throws {
    var s = F.state(Size(width: 120, height: 30), snapshot: ScaleTests.largeFleet(100))
    let rows = Table.visibleRows(height: Layout(s).table.height)
    #expect(s.storeTable.offset == 0)
    _ = update(&s, .mouse(MouseEvent(.wheelDown, x: 10, y: 5), at: F.t0))
    #expect(s.storeTable.offset == 3)
    #expect(s.storeTable.selected == 3)  // dragged along: row 0 left the screen
    #expect(s.selectedStore?.customKeyStoreName == "store-00003")
    let text = view(s).text
    #expect(text.contains("store-00003") && !text.contains("store-00002 "))
    #expect(text.contains(String(format: "store-%05d", 3 + rows - 1)))
    // Up again: the window moves, the selection stays where it is (still on screen).
    _ = update(&s, .mouse(MouseEvent(.wheelUp, x: 10, y: 5), at: F.t0))
    #expect(s.storeTable.offset == 0)
    #expect(s.storeTable.selected == 3)
    // A click after scrolling lands on the row drawn there.
    for _ in 0..<5 { _ = update(&s, .mouse(MouseEvent(.wheelDown, x: 10, y: 5), at: F.t0)) }
    let p = try Self.position(of: "store-00020", in: s)
    Self.click(&s, p)
    #expect(s.selectedStore?.customKeyStoreName == "store-00020")
  }

  @Test func inTheKeysViewAClickSelectsAKeyAndTheWheelScrolls() throws {
    var s = F.state(Size(width: 120, height: 20), snapshot: ScaleTests.largeFleet(3))
    var snap = ScaleTests.largeFleet(3)
    snap.keys = (0..<60).map { F.key($0, store: String(format: "cks-%017d", 0), .enabled, "k\($0)") }
    s = F.state(Size(width: 120, height: 20), snapshot: snap)
    s.press(.enter)
    #expect(s.screen == .keys(storeId: String(format: "cks-%017d", 0)))
    let keys = s.keys(inStore: String(format: "cks-%017d", 0))
    let target = keys[4].keyId
    let p = try Self.position(of: target, in: s)
    Self.click(&s, p)
    #expect(s.selectedKey?.keyId == target)
    _ = update(&s, .mouse(MouseEvent(.wheelDown, x: 10, y: 5), at: F.t0))
    #expect(s.keyTable.offset == 3)
    #expect(s.selectedKey?.keyId == target)  // row 4 is still on screen
    #expect(!view(s).text.contains(keys[2].keyId))
  }

  @Test func inTheAllKeysViewAClickSelectsAKey() throws {
    var s = F.state()
    s.press(.char("K"))
    #expect(s.screen == .allKeys)
    let target = try #require(s.allKeys.dropFirst(3).first).keyId
    Self.click(&s, try Self.position(of: target, in: s))
    #expect(s.selectedKey?.keyId == target)
  }

  @Test func dialogButtonsAreClickable() throws {
    var s = F.state()
    s.press(.char("j"), .char("j"))  // payments-prod, CONNECTED
    s.press(.char("d"))
    guard case .dialog = s.overlay else {
      Issue.record("no dialog")
      return
    }
    // Cancel first: the dialog closes, nothing is asked of the backend.
    let cancel = try Self.position(of: "Cancel", in: s)
    #expect(Self.click(&s, cancel).isEmpty)
    #expect(s.overlay == nil)
    #expect(s.status?.text == "Cancelled; nothing changed")
    // The action's button runs it, as Tab + Enter would.
    s.press(.char("d"))
    let dialogTop = try Self.position(of: "Cancel", in: s).y
    let ok = try Self.position(of: "Disconnect", in: s, below: dialogTop)
    #expect(Self.click(&s, ok) == [.perform(.disconnect(CustomKeyStoreID(unchecked: F.payments)))])
    #expect(s.overlay == nil)
  }

  @Test func clickingADialogFieldTypesIntoIt() throws {
    var s = F.state()
    s.press(.char("n"))  // create a store: name, cluster, trust anchor, password
    guard case .dialog(let d) = s.overlay else {
      Issue.record("no dialog")
      return
    }
    #expect(d.fields.count >= 3)
    let prompt = try #require(d.fields.last?.label)
    let p = try Self.position(of: prompt, in: s)
    Self.click(&s, p)
    guard case .dialog(let after) = s.overlay else {
      Issue.record("the dialog closed")
      return
    }
    #expect(after.activeField == d.fields.count - 1)
  }

  @Test func aClickOutsideADialogDoesNothing() throws {
    var s = F.state()
    s.press(.char("d"))
    let before = s
    Self.click(&s, (x: 0, y: 3))
    #expect(s.overlay == before.overlay)
    #expect(s.selectedStoreId == before.selectedStoreId)
  }

  @Test func theWheelScrollsTheHelp() {
    var s = F.state()
    s.press(.char("?"))
    _ = update(&s, .mouse(MouseEvent(.wheelDown, x: 10, y: 10), at: F.t0))
    #expect(s.overlay == .help(scroll: 3))
  }

  @Test func releasesAndOtherButtonsDoNothing() {
    var s = F.state()
    let before = s
    #expect(update(&s, .mouse(MouseEvent(.release, x: 10, y: 4), at: F.t0)).isEmpty)
    #expect(update(&s, .mouse(MouseEvent(.otherPress, x: 10, y: 4), at: F.t0)).isEmpty)
    #expect(s == before)
  }

  @Test func theHelpListsEveryMouseBinding() {
    let entries = KeyTable.sections(readOnly: false, simulator: true).flatMap(\.1)
    for (_, bindings) in KeyTable.mouseBindings {
      for b in bindings { #expect(entries.contains(.init(b.label, b.help + " (mouse)"))) }
    }
    #expect(KeyTable.markdown().contains("| `double-click` | keys of the store (as Enter) (mouse) |"))
  }
}
