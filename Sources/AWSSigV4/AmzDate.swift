import Foundation
import KMSModel

/// The ISO-8601 basic format used by Signature V4 (`20150830T123600Z`), parsed and formatted
/// without `DateFormatter` (which is slow and not needed for a fixed UTC format).
public enum AmzDate {
  /// Formats `date` as `yyyyMMdd'T'HHmmss'Z'` in UTC (fractions of a second are dropped).
  public static func format(_ date: Date) -> String {
    let t = CivilTime(secondsSince1970: Int(date.timeIntervalSince1970.rounded(.down)))
    let pad = CivilTime.padded
    return pad(t.year, 4) + pad(t.month, 2) + pad(t.day, 2) + "T" + pad(t.hour, 2) + pad(t.minute, 2)
      + pad(t.second, 2) + "Z"
  }

  /// Parses `yyyyMMdd'T'HHmmss'Z'`; returns nil for anything else.
  public static func parse(_ text: String) -> Date? {
    let bytes = Array(text.utf8)
    guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else {
      return nil
    }
    func number(_ range: Range<Int>) -> Int? {
      var value = 0
      for index in range {
        let byte = bytes[index]
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        value = value * 10 + Int(byte - UInt8(ascii: "0"))
      }
      return value
    }
    guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
      let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
      (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
    else { return nil }
    let days = CivilTime.days(year: year, month: month, day: day)
    let total = days * 86_400 + hour * 3600 + minute * 60 + second
    return Date(timeIntervalSince1970: TimeInterval(total))
  }
}
