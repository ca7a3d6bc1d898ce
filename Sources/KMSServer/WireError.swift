import Foundation
import KMSModel
import NIOCore

/// An error as it goes on the wire: `{"__type": …, "message": …}` (KMS) or with `Message`
/// (CloudHSM v2), an HTTP status, and extra headers.
struct WireError: Error, Sendable {
  var type: String
  var message: String
  var status: Int
  var extraHeaders: [(String, String)] = []

  init(_ type: String, _ message: String, status: Int = 400) {
    self.type = type
    self.message = message
    self.status = status
  }

  init(_ error: KMSError) {
    self.init(error.code.rawValue, error.message, status: error.httpStatus)
  }

  /// The JSON body; `messageKey` is `message` for KMS and `Message` for CloudHSM v2.
  func body(messageKey: String) -> ByteBuffer {
    var text = "{\"__type\":"
    text += jsonString(type)
    text += ",\""
    text += messageKey
    text += "\":"
    text += jsonString(message)
    text += "}"
    return ByteBuffer(string: text)
  }

  static func serialization(_ message: String) -> WireError {
    WireError(KMSErrorCode.serializationException.rawValue, message)
  }

  static func unknownOperation(_ message: String) -> WireError {
    WireError(KMSErrorCode.unknownOperationException.rawValue, message)
  }

  static let internalFailure = WireError(
    KMSErrorCode.kmsInternalException.rawValue, "An internal error occurred. Try the request again.",
    status: 500)
}

/// A JSON string literal for `value`.
func jsonString(_ value: String) -> String {
  var out = "\""
  out.reserveCapacity(value.utf8.count + 2)
  for scalar in value.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    case let control where control.value < 0x20 || (0x7f...0x9f).contains(control.value):
      let hex = String(control.value, radix: 16)
      out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    case "\u{2028}": out += "\\u2028"
    case "\u{2029}": out += "\\u2029"
    default: out.unicodeScalars.append(scalar)
    }
  }
  out += "\""
  return out
}

extension WireError {
  /// Maps a decoding failure: a missing or null required member is a `ValidationException` in AWS's
  /// wording; wrong JSON types, invalid base64 and malformed JSON are `SerializationException`s.
  static func decoding(_ error: DecodingError) -> WireError {
    switch error {
    case .keyNotFound(let key, let context):
      let path = memberPath(context.codingPath + [key])
      return WireError(KMSError.validation([.missing(path)]))
    case .valueNotFound(_, let context):
      if context.codingPath.isEmpty {
        return .serialization("The request body must be a JSON object.")
      }
      return WireError(KMSError.validation([.missing(memberPath(context.codingPath))]))
    case .typeMismatch(let type, let context):
      if context.codingPath.isEmpty {
        return .serialization("The request body must be a JSON object.")
      }
      return .serialization(
        "Cannot deserialize member '\(wirePath(context.codingPath))': expected \(typeName(type)).")
    case .dataCorrupted(let context):
      if context.codingPath.isEmpty {
        return .serialization("The request body is not valid JSON.")
      }
      return .serialization(
        "Cannot deserialize member '\(wirePath(context.codingPath))': "
          + "the value is not valid for its type (blobs are standard base64).")
    @unknown default:
      return .serialization("The request body could not be deserialized.")
    }
  }

  /// AWS names members in lowerCamelCase in validation messages (`customKeyStoreId`).
  static func memberPath(_ path: [any CodingKey]) -> String {
    path.map { key in
      if let index = key.intValue { return "\(index + 1)" }
      let name = key.stringValue
      guard let first = name.first else { return name }
      return first.lowercased() + name.dropFirst()
    }.joined(separator: ".")
  }

  /// The member path as sent on the wire (`XksProxyAuthenticationCredential.AccessKeyId`).
  static func wirePath(_ path: [any CodingKey]) -> String {
    path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
  }

  private static func typeName(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: return "a string"
    case is Int.Type, is Int32.Type, is Int64.Type: return "an integer"
    case is Bool.Type: return "a boolean"
    case is Double.Type, is Date.Type: return "a number"
    case is Data.Type: return "a base64 string"
    default:
      let name = String(describing: type)
      if name.hasPrefix("Array") { return "a list" }
      if name.hasPrefix("Dictionary") { return "a map" }
      return "an object"
    }
  }
}
