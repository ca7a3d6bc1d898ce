import CNcursesw
import Testing

@testable import TerminalUI

@Suite struct KeyDecoderTests {
  @Test func characters() {
    #expect(KeyDecoder.decode(status: OK, code: UInt32(UInt8(ascii: "q"))) == .char("q"))
    #expect(KeyDecoder.decode(status: OK, code: 0x4E2D) == .char("中"))
    #expect(KeyDecoder.decode(status: OK, code: 0x0D) == .enter)
    #expect(KeyDecoder.decode(status: OK, code: 0x0A) == .enter)
    #expect(KeyDecoder.decode(status: OK, code: 0x1B) == .escape)
    #expect(KeyDecoder.decode(status: OK, code: 0x09) == .tab)
    #expect(KeyDecoder.decode(status: OK, code: 0x7F) == .backspace)
    #expect(KeyDecoder.decode(status: OK, code: 0x08) == .backspace)
    #expect(KeyDecoder.decode(status: OK, code: 0x03) == .ctrl("c"))
    #expect(KeyDecoder.decode(status: OK, code: 0x0C) == .ctrl("l"))
    #expect(KeyDecoder.decode(status: OK, code: 0x9B) == .unknown(0x9B))
    #expect(KeyDecoder.decode(status: ERR, code: 0) == nil)
  }

  @Test func functionKeys() {
    let table: [(Int32, Key)] = [
      (KEY_UP, .up), (KEY_DOWN, .down), (KEY_LEFT, .left), (KEY_RIGHT, .right),
      (KEY_PPAGE, .pageUp), (KEY_NPAGE, .pageDown), (KEY_HOME, .home), (KEY_END, .end),
      (KEY_ENTER, .enter), (KEY_BACKSPACE, .backspace), (KEY_DC, .delete), (KEY_BTAB, .backTab),
      (KEY_RESIZE, .resize), (KEY_F0 + 1, .function(1)), (KEY_F0 + 12, .function(12)),
    ]
    for (code, key) in table {
      #expect(KeyDecoder.decode(status: KEY_CODE_YES, code: UInt32(code)) == key)
    }
    // Octal values straight from curses.h, to catch a broken import.
    #expect(KeyDecoder.decodeFunctionKey(0o403) == .up)
    #expect(KeyDecoder.decodeFunctionKey(0o632) == .resize)
  }

  @Test func descriptions() {
    #expect(Key.ctrl("c").description == "Ctrl-C")
    #expect(Key.pageDown.description == "PgDn")
    #expect(Key.char(" ").description == "Space")
  }
}
