import Foundation

/// Deterministic formatting of times (the time zone comes from the config).
enum Fmt {
  private static func components(_ date: Date, _ tz: TimeZone) -> DateComponents {
    var cal = Calendar(identifier: .gregorian)
    cal.timeZone = tz
    return cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
  }

  /// `HH:mm:ss`
  static func time(_ date: Date, _ tz: TimeZone) -> String {
    let c = components(date, tz)
    return String(format: "%02d:%02d:%02d", c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
  }

  /// `yyyy-MM-dd HH:mm`
  static func dateTime(_ date: Date, _ tz: TimeZone) -> String {
    let c = components(date, tz)
    return String(
      format: "%04d-%02d-%02d %02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
  }

  /// `yyyy-MM-dd`
  static func date(_ date: Date, _ tz: TimeZone) -> String {
    let c = components(date, tz)
    return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
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
