import Testing

@testable import TerminalUI

@Suite struct WidgetTests {
  func table(selected: Int = 0, height: Int = 4) -> (Buffer, Table) {
    let t = Table(
      columns: [
        TableColumn("NAME", minWidth: 6, flex: 1), TableColumn("KEYS", minWidth: 5, alignRight: true),
      ],
      rows: (1...5).map { TableRow([TableCell("row\($0)"), TableCell("\($0 * 10)")]) },
      state: TableState(selected: selected), sort: (column: 1, ascending: false))
    var b = Buffer(width: 16, height: height)
    t.render(in: b.area, buffer: &b)
    return (b, t)
  }

  @Test func tableRendersHeaderSortIndicatorAndRows() {
    let (b, _) = table()
    #expect(
      b.text == """
        NAME       KEYS▼
        row1          10
        row2          20
        row3          30
        """)
    #expect(b[0, 1].style.attributes.contains(.reverse))
    #expect(!b[0, 2].style.attributes.contains(.reverse))
    #expect(b[0, 0].style.attributes.contains(.bold))
  }

  @Test func tableScrollsToSelection() {
    let (b, _) = table(selected: 4)
    #expect(
      b.text == """
        NAME       KEYS▼
        row3          30
        row4          40
        row5          50
        """)
  }

  @Test func tableStateClampAndMove() {
    var s = TableState()
    s.move(by: 10, rowCount: 5, visibleRows: 3)
    #expect(s.selected == 4)
    #expect(s.offset == 2)
    s.move(by: -4, rowCount: 5, visibleRows: 3)
    #expect(s == TableState(selected: 0, offset: 0))
    s.clamp(rowCount: 0, visibleRows: 3)
    #expect(s == TableState(selected: 0, offset: 0))
  }

  @Test func tableDropsColumnsThatDoNotFit() {
    let t = Table(columns: [TableColumn("A", minWidth: 5), TableColumn("B", minWidth: 5)], rows: [])
    #expect(t.layout(width: 8) == [5])
    #expect(t.layout(width: 11) == [5, 5])
  }

  @Test func dialogRendersWithFocusedButton() {
    let d = Dialog(
      title: "Disconnect", body: ["Disconnect store cks-1?"], buttons: ["Cancel", "OK"], focused: 0,
      maxWidth: 30)
    var b = Buffer(width: 34, height: 7)
    d.render(in: b.area, buffer: &b)
    #expect(
      b.text == """

          ┌─ Disconnect ───────────────┐
          │ Disconnect store cks-1?    │
          │                            │
          │     [ Cancel ]    OK       │
          └────────────────────────────┘

        """)
    #expect(b[9, 4].style.attributes.contains(.reverse))
  }

  @Test func dialogWithInput() {
    let d = Dialog(
      title: "Confirm", body: ["Type the name"], buttons: ["Cancel", "OK"], focused: 1,
      input: (prompt: "> ", value: TextInput("abc")), maxWidth: 24)
    var b = Buffer(width: 24, height: 8)
    d.render(in: b.area, buffer: &b)
    #expect(
      b.text == """
          ┌─ Confirm ────────┐
          │ Type the name    │
          │                  │
          │ > abc            │
          │                  │
          │  Cancel    [ OK ]│
          └──────────────────┘

        """)
  }

  @Test func textInputEditing() {
    var t = TextInput()
    for c in "hello" { t.handle(.char(c)) }
    t.handle(.left)
    t.handle(.left)
    t.handle(.backspace)
    #expect(t.text == "helo")
    #expect(t.cursor == 2)
    t.handle(.home)
    t.handle(.delete)
    #expect(t.text == "elo")
    t.handle(.end)
    t.handle(.char("!"))
    #expect(t.text == "elo!")
    t.handle(.ctrl("u"))
    #expect(t.text == "")
    let handled = t.handle(.enter)
    #expect(!handled)
  }

  @Test func textInputRenderScrollsAndShowsCursor() {
    var b = Buffer(width: 10, height: 1)
    TextInput("abcdefghijkl").render(prompt: ":", in: b.area, buffer: &b)
    #expect(b.text == ":efghijkl")
    #expect(b[9, 0].style.attributes.contains(.reverse))
  }

  @Test func textInputRenderSanitises() {
    var b = Buffer(width: 10, height: 1)
    TextInput("a\u{1B}b").render(prompt: "/", in: b.area, buffer: &b)
    #expect(b.text == "/a␛b")
  }

  @Test func paneAndStatusLine() {
    var b = Buffer(width: 12, height: 4)
    let inner = Pane(title: "Detail").render(in: Rect(x: 0, y: 0, width: 12, height: 3), buffer: &b)
    #expect(inner == Rect(x: 1, y: 1, width: 10, height: 1))
    StatusLine(left: "left", right: "right").render(in: Rect(x: 0, y: 3, width: 12, height: 1), buffer: &b)
    #expect(
      b.text == """
        ┌─ Detail ─┐
        │          │
        └──────────┘
        left   right
        """)
    #expect(b[0, 3].style.attributes.contains(.reverse))
  }

  @Test func helpOverlay() {
    let h = HelpOverlay(sections: [
      ("Move", [.init("j/↓", "down"), .init("k/↑", "up")]), ("Quit", [.init("q", "quit")]),
    ])
    var b = Buffer(width: 30, height: 9)
    h.render(in: b.area, buffer: &b)
    #expect(
      b.text == """
          ┌─ Help (Esc closes) ───┐
          │ Move                  │
          │ j/↓  down             │
          │ k/↑  up               │
          │                       │
          │ Quit                  │
          │ q    quit             │
          └───────────────────────┘

        """)
  }

  @Test func wrapBreaksWordsAndLongTokens() {
    #expect(wrap("the quick brown fox", width: 9) == ["the quick", "brown fox"])
    #expect(wrap("abcdefghij", width: 4) == ["abcd", "efgh", "ij"])
    #expect(wrap("a\nb", width: 4) == ["a", "b"])
  }
}
