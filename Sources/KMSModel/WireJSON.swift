import Foundation

/// JSON coders configured as AWS JSON 1.1 expects: timestamps as epoch seconds (with a fraction),
/// blobs as standard base64. Every front door uses these so the wire format lives in one place.
public enum WireJSON {
  public static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.dateEncodingStrategy = .secondsSince1970
    encoder.dataEncodingStrategy = .base64
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
  }

  public static func decoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .secondsSince1970
    decoder.dataDecodingStrategy = .base64
    return decoder
  }
}
