import Foundation
import KMSModel

/// Deterministic formatting of times (the time zone comes from the config).
enum Fmt {
  /// Civil date and time of `date` in `tz`.
  static func fields(_ date: Date, _ tz: TimeZone) -> CivilTime {
    CivilTime(secondsSince1970: Int(date.timeIntervalSince1970.rounded(.down)) + tz.secondsFromGMT(for: date))
  }

  private static let pad = CivilTime.padded

  /// `HH:mm:ss`
  static func time(_ date: Date, _ tz: TimeZone) -> String {
    let c = fields(date, tz)
    return "\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))"
  }

  /// `yyyy-MM-dd HH:mm`
  static func dateTime(_ date: Date, _ tz: TimeZone) -> String {
    let c = fields(date, tz)
    return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2)) \(pad(c.hour, 2)):\(pad(c.minute, 2))"
  }

  /// `yyyy-MM-dd`
  static func date(_ date: Date, _ tz: TimeZone) -> String {
    let c = fields(date, tz)
    return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))"
  }

  /// `7s`, `3m04s`, `1h02m`
  static func elapsed(_ seconds: TimeInterval) -> String {
    let s = max(0, Int(seconds))
    if s < 60 { return "\(s)s" }
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
  }

  /// Whole milliseconds of a duration.
  static func milliseconds(_ duration: Duration) -> Int {
    let (seconds, attoseconds) = duration.components
    return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
  }
}
