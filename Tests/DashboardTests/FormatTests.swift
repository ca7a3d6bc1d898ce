import Foundation
import KMSModel
import Testing

@testable import Dashboard

struct FormatTests {
  /// The arithmetic agrees with Foundation's calendar, across eras, leap days and time zones.
  @Test func fieldsAgreeWithCalendar() {
    var random = SystemRandomNumberGenerator()
    let zones = ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"].compactMap(
      TimeZone.init(identifier:))
    let fixed: [TimeInterval] = [
      0, -1, 951_782_400, 951_868_799, 4_107_542_400, -2_208_988_800, 1_790_000_000.999,
    ]
    let dates = (fixed + (0..<500).map { _ in Double.random(in: -3e9..<5e9, using: &random) }).map(
      Date.init(timeIntervalSince1970:))
    for tz in zones {
      var calendar = Calendar(identifier: .gregorian)
      calendar.timeZone = tz
      for date in dates {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let f = Fmt.fields(date, tz)
        let mine: [Int] = [f.year, f.month, f.day, f.hour, f.minute, f.second]
        let theirs: [Int] = [c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!]
        #expect(mine == theirs, "\(date) in \(tz.identifier)")
      }
    }
    #expect(Fmt.date(Date(timeIntervalSince1970: 951_782_400), zones[0]) == "2000-02-29")
    #expect(Fmt.dateTime(Date(timeIntervalSince1970: 1_790_000_000), zones[0]) == "2026-09-21 14:13")
    #expect(Fmt.time(Date(timeIntervalSince1970: 1_790_000_000), zones[0]) == "14:13:20")
  }
}
