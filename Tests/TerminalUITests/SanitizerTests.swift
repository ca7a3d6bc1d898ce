import Testing

@testable import TerminalUI

@Suite struct SanitizerTests {
  @Test(arguments: Array(0x00...0x1F) as [UInt32])
  func everyC0ControlBecomesAControlPicture(code: UInt32) {
    let s = String(Unicode.Scalar(code)!)
    let clean = Sanitizer.sanitize("a" + s + "b")
    #expect(clean == "a" + String(Unicode.Scalar(0x2400 + code)!) + "b")
  }

  @Test func namedC0Placeholders() {
    #expect(Sanitizer.sanitize("\u{1B}[31m") == "␛[31m")
    #expect(Sanitizer.sanitize("\u{07}") == "␇")
    #expect(Sanitizer.sanitize("a\r\nb") == "a␍␊b")
    #expect(Sanitizer.sanitize("\t") == "␉")
    #expect(Sanitizer.sanitize("\u{0}") == "␀")
  }

  @Test func deleteBecomesPlaceholder() {
    #expect(Sanitizer.sanitize("x\u{7F}") == "x␡")
  }

  @Test(arguments: Array(0x80...0x9F) as [UInt32])
  func everyC1ControlIsReplaced(code: UInt32) {
    let clean = Sanitizer.sanitize("a" + String(Unicode.Scalar(code)!) + "b")
    #expect(clean == "a\u{FFFD}b")
  }

  @Test(
    arguments: [
      0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
    ] as [UInt32])
  func everyBidiControlIsReplaced(code: UInt32) {
    let clean = Sanitizer.sanitize("ab" + String(Unicode.Scalar(code)!) + "cd")
    #expect(clean == "ab\u{FFFD}cd")
  }

  @Test func safeTextIsUnchanged() {
    let s = "prod-store ünïcödé 中文 ✓ ▶ ─"
    #expect(Sanitizer.sanitize(s) == s)
  }

  @Test func oscSequenceIsInertInABuffer() {
    var b = Buffer(width: 40, height: 1)
    b.put("\u{1B}]0;pwned\u{07}\u{9B}2J\u{202E}evil", x: 0, y: 0)
    #expect(b.text == "␛]0;pwned␇\u{FFFD}2J\u{FFFD}evil")
    for x in 0..<b.width {
      for scalar in b[x, 0].symbol.unicodeScalars {
        #expect(!Sanitizer.isUnsafe(scalar))
        #expect(scalar.value >= 0x20)
      }
    }
  }

  @Test func everyPlaceholderIsOneColumn() {
    for code in Array(0x00...0x1F) + [0x7F, 0x85, 0x202E] as [UInt32] {
      let p = Sanitizer.placeholder(for: Unicode.Scalar(code)!)!
      #expect(DisplayWidth.of(p) == 1)
    }
  }
}
