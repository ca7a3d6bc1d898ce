import Testing

@testable import TerminalUI

@Suite struct BufferTests {
  @Test func putClipsAndTrimsText() {
    var b = Buffer(width: 10, height: 2)
    let used = b.put("hello world", x: 2, y: 0)
    #expect(used == 8)
    b.put("ok", x: 0, y: 1)
    #expect(b.text == "  hello wo\nok")
  }

  @Test func putRespectsClipRect() {
    var b = Buffer(width: 10, height: 3)
    b.put("abcdefgh", x: -2, y: 1, clip: Rect(x: 1, y: 1, width: 4, height: 1))
    #expect(b.text == "\n defg\n")
    b.put("zzz", x: 0, y: 2, clip: Rect(x: 0, y: 0, width: 10, height: 2))
    #expect(b.line(2) == "          ")
  }

  @Test func wideGlyphsTakeTwoCellsAndAreRepaired() {
    var b = Buffer(width: 6, height: 1)
    #expect(b.put("中文", x: 0, y: 0) == 4)
    #expect(b[0, 0].symbol == "中")
    #expect(b[1, 0].isContinuation)
    #expect(b.text == "中文")
    // Overwrite the right half of 中: its left half becomes a space.
    b.put("x", x: 1, y: 0)
    #expect(b.text == " x文")
    // Overwrite the left half of 文: its right half becomes a space.
    b.put("y", x: 2, y: 0)
    #expect(b.text == " xy")
  }

  @Test func wideGlyphCutByRightEdgeBecomesSpace() {
    var b = Buffer(width: 3, height: 1)
    b.put("ab中", x: 0, y: 0)
    #expect(b.line(0) == "ab ")
  }

  @Test func variationSelectorFollowsWcwidth() {
    #expect("✉️".displayWidth == 1)
    #expect("é".displayWidth == 1)
    #expect("e\u{301}".displayWidth == 1)
    #expect("日本".displayWidth == 4)
    // Controls are measured as their placeholders.
    #expect("a\u{1B}b\u{202E}".displayWidth == 4)
    #expect("\u{1B}[31mred".truncated(toWidth: 4) == "\u{1B}[3…")
  }

  @Test func diffReportsOnlyChangedCells() {
    var a = Buffer(width: 20, height: 5)
    a.put("state: CONNECTED", x: 0, y: 2)
    var b = a
    b.put("state: FAILED   ", x: 0, y: 2)
    let changes = b.diff(from: a)
    #expect(changes.count == 8)  // the E of CONNECTED/FAILED is unchanged
    #expect(changes.allSatisfy { $0.y == 2 })
    #expect(b.diff(from: b).isEmpty)
    #expect(b.diff(from: nil).count == 100)
    #expect(b.diff(from: Buffer(width: 10, height: 5)).count == 100)
  }

  @Test func styleChangeIsADiff() {
    var a = Buffer(width: 4, height: 1)
    a.put("ab", x: 0, y: 0)
    var b = a
    b.setStyle(Style(fg: .red), in: Rect(x: 1, y: 0, width: 1, height: 1))
    #expect(b.diff(from: a).map(\.x) == [1])
    #expect(b[1, 0].style.fg == .red)
  }

  @Test func cellInitSanitises() {
    #expect(Cell("\u{1B}").symbol == "␛")
    #expect(Cell("").symbol == " ")
    #expect(Cell("\u{301}").symbol == " ")
  }

  @Test func truncateAndPad() {
    #expect("abcdef".truncated(toWidth: 4) == "abc…")
    #expect("abc".padded(toWidth: 5) == "abc  ")
    #expect("abc".padded(toWidth: 5, alignRight: true) == "  abc")
    #expect("中文字".truncated(toWidth: 4) == "中…")
  }

  @Test func rectSplits() {
    let r = Rect(x: 0, y: 0, width: 10, height: 10)
    let (top, rest) = r.splitTop(3)
    #expect(top == Rect(x: 0, y: 0, width: 10, height: 3))
    #expect(rest == Rect(x: 0, y: 3, width: 10, height: 7))
    #expect(r.centered(width: 4, height: 2) == Rect(x: 3, y: 4, width: 4, height: 2))
    #expect(r.inset(by: 1) == Rect(x: 1, y: 1, width: 8, height: 8))
  }
}
