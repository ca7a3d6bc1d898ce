import CNcursesw
import Testing

@testable import TerminalUI

struct MouseDecoderTests {
  @Test func buttonStatesBecomeMouseEvents() {
    #expect(
      MouseDecoder.decode(buttonState: TUI_BUTTON1_PRESSED, x: 11, y: 5) == MouseEvent(.press, x: 11, y: 5))
    #expect(
      MouseDecoder.decode(buttonState: TUI_BUTTON1_RELEASED, x: 0, y: 0) == MouseEvent(.release, x: 0, y: 0))
    #expect(
      MouseDecoder.decode(buttonState: TUI_BUTTON4_PRESSED, x: 3, y: 4) == MouseEvent(.wheelUp, x: 3, y: 4))
    #expect(
      MouseDecoder.decode(buttonState: TUI_BUTTON5_PRESSED, x: 3, y: 4) == MouseEvent(.wheelDown, x: 3, y: 4))
    #expect(
      MouseDecoder.decode(buttonState: TUI_BUTTON3_PRESSED, x: 3, y: 4) == MouseEvent(.otherPress, x: 3, y: 4)
    )
    let click = MouseDecoder.decode(buttonState: TUI_BUTTON1_CLICKED, x: 3, y: 4)
    #expect(click == MouseEvent(.click, x: 3, y: 4))
    let double = MouseDecoder.decode(buttonState: TUI_BUTTON1_DOUBLE_CLICKED, x: 3, y: 4)
    #expect(double == MouseEvent(.doubleClick, x: 3, y: 4))
    #expect(MouseDecoder.decode(buttonState: 0, x: 3, y: 4) == nil)
    #expect(MouseDecoder.decode(buttonState: TUI_BUTTON1_PRESSED, x: -1, y: 4) == nil)
  }

  /// Motion is never asked for: an idle dashboard under a still or moving mouse gets nothing.
  @Test func theMaskHasNoMotionReporting() {
    #expect(MouseDecoder.mask & TUI_REPORT_MOUSE_POSITION == 0)
  }
}

struct TableHitTests {
  @Test func rowIndexFollowsTheWindowTheTableDraws() {
    let rect = Rect(x: 2, y: 3, width: 20, height: 5)  // header + 4 rows
    let state = TableState(selected: 9, offset: 0)  // clamped: rows 6…9 on screen
    var buf = Buffer(size: Size(width: 30, height: 10))
    let rows = (0..<12).map { TableRow([TableCell("row\($0)")]) }
    Table(columns: [TableColumn("N", minWidth: 5)], rows: rows, state: state).render(in: rect, buffer: &buf)
    for y in 4..<8 {
      let index = Table.rowIndex(atX: 5, y: y, in: rect, state: state, rowCount: 12)
      #expect(
        index.map {
          buf.text.split(separator: "\n", omittingEmptySubsequences: false)[y].contains("row\($0)")
        } == true, "y \(y)")
    }
    #expect(Table.rowIndex(atX: 5, y: 3, in: rect, state: state, rowCount: 12) == nil)  // header
    #expect(Table.rowIndex(atX: 1, y: 5, in: rect, state: state, rowCount: 12) == nil)  // left of it
    #expect(Table.rowIndex(atX: 5, y: 8, in: rect, state: state, rowCount: 12) == nil)  // below it
    // Fewer rows than lines: the empty lines are not rows.
    #expect(Table.rowIndex(atX: 5, y: 6, in: rect, state: TableState(), rowCount: 2) == nil)
  }

  @Test func scrollMovesTheWindowAndDragsTheSelectionOnlyWhenItLeaves() {
    var s = TableState(selected: 5, offset: 4)
    s.scroll(by: 3, rowCount: 20, visibleRows: 4)
    #expect(s == TableState(selected: 7, offset: 7))
    s.scroll(by: 100, rowCount: 20, visibleRows: 4)
    #expect(s == TableState(selected: 16, offset: 16))
    s.scroll(by: -2, rowCount: 20, visibleRows: 4)
    #expect(s == TableState(selected: 16, offset: 14))
    s.scroll(by: -100, rowCount: 20, visibleRows: 4)
    #expect(s == TableState(selected: 3, offset: 0))
  }
}

struct DialogGeometryTests {
  @Test func buttonsAndFieldsAreWhereTheyAreDrawn() {
    var dialog = Dialog(title: "T", body: ["Some body text"], buttons: ["Cancel", "Delete"], focused: 1)
    dialog.fields = [Dialog.Field(prompt: "Name: ", value: TextInput("abc"))]
    let area = Rect(x: 0, y: 1, width: 60, height: 20)
    var buf = Buffer(size: Size(width: 60, height: 22))
    dialog.render(in: area, buffer: &buf)
    let g = dialog.geometry(in: area)
    let lines = buf.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    func text(_ r: Rect) -> String {
      String(lines[r.y].dropFirst(r.x).prefix(r.width))
    }
    #expect(g.buttons.count == 2)
    #expect(text(g.buttons[0]) == "  Cancel  ")
    #expect(text(g.buttons[1]) == "[ Delete ]")
    #expect(g.fields.count == 1)
    #expect(text(g.fields[0]).hasPrefix("Name: abc"))
  }
}
