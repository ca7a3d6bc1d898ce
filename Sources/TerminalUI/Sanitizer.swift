/// The one place where untrusted text is made inert before it can reach a `Buffer`.
///
/// Every string written into a `Buffer` goes through `Sanitizer.sanitize`. The scheme:
///
/// | input | placeholder |
/// | --- | --- |
/// | C0 controls U+0000–U+001F (NUL, BEL, BS, TAB, LF, CR, ESC, …) | the Unicode control picture U+2400 + code, e.g. `␛` for ESC, `␇` for BEL, `␍` for CR, `␊` for LF, `␉` for TAB |
/// | DEL U+007F | `␡` (U+2421) |
/// | C1 controls U+0080–U+009F (CSI, OSC, ST, …) | `�` (U+FFFD) |
/// | bidi controls U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069 | `�` (U+FFFD) |
/// | line/paragraph separators U+2028, U+2029 | `�` (U+FFFD) |
///
/// Every placeholder is one column wide and printable, so the text stays legible and aligned
/// and no control byte can ever be written to the terminal.
public enum Sanitizer {
  /// The placeholder for C1 controls, bidi controls and line/paragraph separators.
  public static let replacement: Unicode.Scalar = "\u{FFFD}"

  /// The placeholder for a scalar, or nil when the scalar is safe to show as is.
  public static func placeholder(for scalar: Unicode.Scalar) -> Unicode.Scalar? {
    let v = scalar.value
    switch v {
    case 0x00...0x1F: return Unicode.Scalar(0x2400 + v)
    case 0x7F: return "\u{2421}"
    case 0x80...0x9F: return replacement
    case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return replacement
    case 0x2028, 0x2029: return replacement
    default: return nil
    }
  }

  /// True when `scalar` must not reach the terminal.
  public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool { placeholder(for: scalar) != nil }

  /// `text` with every unsafe scalar replaced by its placeholder.
  public static func sanitize(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      out.append(placeholder(for: scalar) ?? scalar)
    }
    return String(out)
  }
}
