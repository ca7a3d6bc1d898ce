/// RFC 8259 syntax check run before `JSONDecoder`, which is lenient where AWS is not: it accepts
/// trailing commas and, silently, duplicate members. AWS answers both with
/// `SerializationException`, and so do we.
public enum StrictJSON {
  /// Deeper nesting than any AWS request needs is refused rather than recursed into.
  public static let maximumDepth = 64

  /// nil when `bytes` is one well-formed JSON value with no duplicate member names in any
  /// object; otherwise what is wrong, for the error message.
  public static func problem(in bytes: some Collection<UInt8>) -> String? {
    // Read in place when the bytes are contiguous (a request body is): no copy per request.
    if let answer = bytes.withContiguousStorageIfAvailable(check) { return answer }
    return Array(bytes).withUnsafeBufferPointer(check)
  }

  private static func check(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
    var parser = Parser(bytes: bytes)
    do throws(Failure) {
      parser.skipWhitespace()
      try parser.value(depth: 0)
      parser.skipWhitespace()
      guard parser.atEnd else { throw Failure("unexpected data after the JSON value", at: parser.position) }
      return nil
    } catch {
      return "\(error.reason) at byte \(error.position)"
    }
  }

  struct Failure: Error {
    var reason: String
    var position: Int
    init(_ reason: String, at position: Int) {
      self.reason = reason
      self.position = position
    }
  }

  struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    var atEnd: Bool { position >= bytes.count }
    var current: UInt8? { atEnd ? nil : bytes[position] }

    mutating func skipWhitespace() {
      while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
      guard current == byte else { throw Failure("expected \(what)", at: position) }
      position += 1
    }

    mutating func value(depth: Int) throws(Failure) {
      guard depth < StrictJSON.maximumDepth else { throw Failure("nesting is too deep", at: position) }
      switch current {
      case UInt8(ascii: "{"): try object(depth: depth)
      case UInt8(ascii: "["): try array(depth: depth)
      case UInt8(ascii: "\""): _ = try string()
      case UInt8(ascii: "t"): try literal("true")
      case UInt8(ascii: "f"): try literal("false")
      case UInt8(ascii: "n"): try literal("null")
      case let c? where c == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c):
        try number()
      case nil: throw Failure("unexpected end of the body", at: position)
      default: throw Failure("unexpected character", at: position)
      }
    }

    mutating func object(depth: Int) throws(Failure) {
      var names: Set<[UInt8]> = []
      try elements(closing: "}") { (parser: inout Parser) throws(Failure) in
        let start = parser.position
        guard parser.current == UInt8(ascii: "\"") else {
          throw Failure("expected a member name", at: parser.position)
        }
        guard names.insert(try parser.string()).inserted else {
          throw Failure("duplicate member name", at: start)
        }
        parser.skipWhitespace()
        try parser.expect(UInt8(ascii: ":"), "':'")
        parser.skipWhitespace()
        try parser.value(depth: depth + 1)
      }
    }

    mutating func array(depth: Int) throws(Failure) {
      try elements(closing: "]") { (parser: inout Parser) throws(Failure) in
        try parser.value(depth: depth + 1)
      }
    }

    /// After an opening bracket: nothing, or `element` separated by commas, then `closing`.
    /// A comma before `closing` (a trailing comma) fails in `element`.
    mutating func elements(
      closing: Unicode.Scalar, _ element: (inout Parser) throws(Failure) -> Void
    ) throws(Failure) {
      let close = UInt8(ascii: closing)
      position += 1
      skipWhitespace()
      if current == close {
        position += 1
        return
      }
      while true {
        skipWhitespace()
        try element(&self)
        skipWhitespace()
        if current == UInt8(ascii: ",") {
          position += 1
          continue
        }
        try expect(close, "',' or '\(closing)'")
        return
      }
    }

    /// A string; returns its content with escapes decoded to code units, so `"\u0041"` and `"A"`
    /// count as the same member name.
    mutating func string() throws(Failure) -> [UInt8] {
      position += 1
      var content: [UInt8] = []
      while let c = current {
        position += 1
        switch c {
        case UInt8(ascii: "\""): return content
        case UInt8(ascii: "\\"):
          guard let e = current else { break }
          position += 1
          switch e {
          case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): content.append(e)
          case UInt8(ascii: "b"): content.append(0x08)
          case UInt8(ascii: "f"): content.append(0x0C)
          case UInt8(ascii: "n"): content.append(0x0A)
          case UInt8(ascii: "r"): content.append(0x0D)
          case UInt8(ascii: "t"): content.append(0x09)
          case UInt8(ascii: "u"):
            var unit: UInt16 = 0
            for _ in 0..<4 {
              guard let h = current, let digit = Self.hexValue(h) else {
                throw Failure("invalid \\u escape", at: position)
              }
              unit = unit << 4 | UInt16(digit)
              position += 1
            }
            // As UTF-8, so an escaped name equals its literal spelling.
            if unit < 0x80 {
              content.append(UInt8(unit))
            } else if unit < 0x800 {
              content += [0xC0 | UInt8(unit >> 6), 0x80 | UInt8(unit & 0x3F)]
            } else {
              content += [
                0xE0 | UInt8(unit >> 12), 0x80 | UInt8((unit >> 6) & 0x3F), 0x80 | UInt8(unit & 0x3F),
              ]
            }
          default: throw Failure("invalid escape", at: position - 1)
          }
        case 0x00..<0x20: throw Failure("unescaped control character in a string", at: position - 1)
        default: content.append(c)
        }
      }
      throw Failure("unterminated string", at: position)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
      default: nil
      }
    }

    mutating func literal(_ word: String) throws(Failure) {
      for b in word.utf8 {
        guard current == b else { throw Failure("invalid literal", at: position) }
        position += 1
      }
    }

    mutating func digits() -> Int {
      let start = position
      while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { position += 1 }
      return position - start
    }

    mutating func number() throws(Failure) {
      let start = position
      if current == UInt8(ascii: "-") { position += 1 }
      if current == UInt8(ascii: "0") {
        position += 1
      } else if digits() == 0 {
        throw Failure("invalid number", at: start)
      }
      if current == UInt8(ascii: ".") {
        position += 1
        guard digits() > 0 else { throw Failure("invalid number", at: start) }
      }
      if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
        position += 1
        if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
        guard digits() > 0 else { throw Failure("invalid number", at: start) }
      }
    }
  }
}
