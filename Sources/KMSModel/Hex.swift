/// Lowercase hexadecimal text of bytes: signatures, digests, page markers and material IDs all
/// print their bytes this way.
public enum Hex {
  public static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
    let digits: StaticString = "0123456789abcdef"
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
      out.append(digits.utf8Start[Int(byte >> 4)])
      out.append(digits.utf8Start[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
  }
}
