import Foundation

/// A response that can write its own AWS JSON 1.1 body, byte for byte what `WireJSON.encoder()`
/// produces (sorted keys, unescaped slashes, epoch-second dates). Used for responses that can be
/// megabytes: a 1,000-entry DescribeCustomKeyStores page carries 1,000 trust anchor PEMs.
public protocol FastWireEncodable {
  func writeJSON(to writer: inout JSONBytesWriter)
}

/// Appends JSON to a byte array. Object members are written by the caller in sorted order.
public struct JSONBytesWriter {
  public private(set) var bytes: [UInt8] = []
  private var needsComma = false

  public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

  /// Makes room for about `count` more bytes at once, instead of growing by doubling.
  public mutating func reserve(_ count: Int) { bytes.reserveCapacity(bytes.count + count) }

  public mutating func beginObject() {
    bytes.append(UInt8(ascii: "{"))
    needsComma = false
  }

  public mutating func endObject() {
    bytes.append(UInt8(ascii: "}"))
    needsComma = true
  }

  public mutating func beginArray() {
    bytes.append(UInt8(ascii: "["))
    needsComma = false
  }

  public mutating func endArray() {
    bytes.append(UInt8(ascii: "]"))
    needsComma = true
  }

  /// Starts a member or an array element.
  public mutating func key(_ name: StaticString) {
    separate()
    bytes.append(UInt8(ascii: "\""))
    name.withUTF8Buffer { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    needsComma = false
  }

  public mutating func separate() {
    if needsComma { bytes.append(UInt8(ascii: ",")) }
    needsComma = true
  }

  public mutating func string(_ value: String) {
    separate()
    bytes.append(UInt8(ascii: "\""))
    var value = value
    value.withUTF8 { utf8 in
      var runStart = 0
      for (i, byte) in utf8.enumerated()
      where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
        runStart = i + 1
        // Appended byte by byte: an array literal here would allocate once per escape.
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        default:
          bytes.append(UInt8(ascii: "u"))
          bytes.append(UInt8(ascii: "0"))
          bytes.append(UInt8(ascii: "0"))
          bytes.append(Self.hexDigit(byte >> 4))
          bytes.append(Self.hexDigit(byte & 0xF))
        }
      }
      bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
    }
    bytes.append(UInt8(ascii: "\""))
  }

  private static func hexDigit(_ value: UInt8) -> UInt8 {
    value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
  }

  public mutating func bool(_ value: Bool) {
    separate()
    bytes.append(contentsOf: (value ? "true" : "false").utf8)
  }

  public mutating func int(_ value: Int) {
    separate()
    bytes.append(contentsOf: String(value).utf8)
  }

  /// A blob as standard base64, as `JSONEncoder` writes `Data` with `.base64`.
  public mutating func base64(_ value: Data) {
    separate()
    bytes.append(UInt8(ascii: "\""))
    Base64Writer.append(value, to: &bytes)
    bytes.append(UInt8(ascii: "\""))
  }

  /// A value already encoded as JSON (by `JSONEncoder`, for rare nested members).
  public mutating func raw(_ json: some Sequence<UInt8>) {
    separate()
    bytes.append(contentsOf: json)
  }

  /// Seconds since 1970 as `JSONEncoder` writes a `Double`: integral values without ".0".
  public mutating func date(_ value: Date) {
    separate()
    var text = "\(value.timeIntervalSince1970)"
    if text.hasSuffix(".0") { text.removeLast(2) }
    bytes.append(contentsOf: text.utf8)
  }
}

extension DescribeCustomKeyStoresResponse: FastWireEncodable {
  public func writeJSON(to writer: inout JSONBytesWriter) {
    writer.beginObject()
    if let customKeyStores {
      // About what one CloudHSM entry takes, most of it the trust anchor PEM.
      writer.reserve(customKeyStores.count * 1600)
      writer.key("CustomKeyStores")
      writer.beginArray()
      for entry in customKeyStores {
        writer.separate()
        entry.writeJSON(to: &writer)
      }
      writer.endArray()
    }
    if let nextMarker {
      writer.key("NextMarker")
      writer.string(nextMarker)
    }
    if let truncated {
      writer.key("Truncated")
      writer.bool(truncated)
    }
    writer.endObject()
  }
}

extension CustomKeyStoresListEntry: FastWireEncodable {
  public func writeJSON(to writer: inout JSONBytesWriter) {
    writer.beginObject()
    if let cloudHsmClusterId {
      writer.key("CloudHsmClusterId")
      writer.string(cloudHsmClusterId)
    }
    if let connectionErrorCode {
      writer.key("ConnectionErrorCode")
      writer.string(connectionErrorCode.rawValue)
    }
    if let connectionState {
      writer.key("ConnectionState")
      writer.string(connectionState.rawValue)
    }
    if let creationDate {
      writer.key("CreationDate")
      writer.date(creationDate)
    }
    if let customKeyStoreId {
      writer.key("CustomKeyStoreId")
      writer.string(customKeyStoreId)
    }
    if let customKeyStoreName {
      writer.key("CustomKeyStoreName")
      writer.string(customKeyStoreName)
    }
    if let customKeyStoreType {
      writer.key("CustomKeyStoreType")
      writer.string(customKeyStoreType.rawValue)
    }
    if let trustAnchorCertificate {
      writer.key("TrustAnchorCertificate")
      writer.string(trustAnchorCertificate)
    }
    if let xksProxyConfiguration {
      writer.key("XksProxyConfiguration")
      xksProxyConfiguration.writeJSON(to: &writer)
    }
    writer.endObject()
  }
}

extension XksProxyConfigurationType: FastWireEncodable {
  public func writeJSON(to writer: inout JSONBytesWriter) {
    writer.beginObject()
    let members: [(StaticString, String?)] = [
      ("AccessKeyId", accessKeyId), ("Connectivity", connectivity?.rawValue), ("UriEndpoint", uriEndpoint),
      ("UriPath", uriPath), ("VpcEndpointServiceName", vpcEndpointServiceName),
      ("VpcEndpointServiceOwner", vpcEndpointServiceOwner),
    ]
    for (name, value) in members {
      guard let value else { continue }
      writer.key(name)
      writer.string(value)
    }
    writer.endObject()
  }
}
