import Foundation

/// Deterministic formatting of times (the time zone comes from the config).
enum Fmt {
  /// Civil date and time of `date` in `tz`: the days-to-civil arithmetic of H. Hinnant's
  /// `civil_from_days`, because a `Calendar` and `String(format:)` per cell made a 10,000-store
  /// frame slow.
  static func fields(_ date: Date, _ tz: TimeZone) -> (
    year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
  ) {
    let t = Int(date.timeIntervalSince1970.rounded(.down)) + tz.secondsFromGMT(for: date)
    let days = t >= 0 ? t / 86_400 : (t - 86_399) / 86_400
    let seconds = t - days * 86_400
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    return (year, month, day, seconds / 3600, seconds % 3600 / 60, seconds % 60)
  }

  /// `v` in decimal with leading zeros to `width` digits.
  static func padded(_ v: Int, _ width: Int) -> String {
    let digits = String(v)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
  }

  /// `HH:mm:ss`
  static func time(_ date: Date, _ tz: TimeZone) -> String {
    let c = fields(date, tz)
    return "\(padded(c.hour, 2)):\(padded(c.minute, 2)):\(padded(c.second, 2))"
  }

  /// `yyyy-MM-dd HH:mm`
  static func dateTime(_ date: Date, _ tz: TimeZone) -> String {
    let c = fields(date, tz)
    return "\(Self.date(date, tz)) \(padded(c.hour, 2)):\(padded(c.minute, 2))"
  }

  /// `yyyy-MM-dd`
  static func date(_ date: Date, _ tz: TimeZone) -> String {
    let c = fields(date, tz)
    return "\(padded(c.year, 4))-\(padded(c.month, 2))-\(padded(c.day, 2))"
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
