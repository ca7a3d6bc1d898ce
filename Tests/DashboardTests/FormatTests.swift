import Foundation
import KMSModel
import TerminalUI
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

@Suite struct ProgressTests {
  typealias F = Fixture

  @Test func progressBarInEighths() {
    #expect(progressBar(0) == "░░░░░")
    #expect(progressBar(0.5) == "██▌░░")
    #expect(progressBar(0.99) == "████▉")
    #expect(progressBar(1) == "█████")
    #expect(progressBar(3) == "█████")  // overdue stays full; the time says by how much
  }

  @Test func aConnectingRowShowsElapsedAgainstTheExpectedDuration() {
    var config = F.config()
    config.expected = ExpectedDurations(cloudHsmConnect: 40, xksConnect: 10, disconnect: 4)
    var s = F.state(config: config)
    #expect(stateText(s.store(id: F.staging)!, s) == "⠋ CONNECTING 12s/40s █▌░░░")
    s.press(.end)
    #expect(detailLines(s.selectedStore!, s)[3].1 == "CONNECTING since 14:13:08 (12s of up to 40s)")
    // Against AWS: up to 20 minutes for CloudHSM.
    let aws = F.state()
    #expect(stateText(aws.store(id: F.staging)!, aws) == "⠋ CONNECTING 12s/20m00s ░░░░░")
  }
}

@Suite struct ThemeTests {
  typealias F = Fixture

  @Test func eachThemeColoursTheStatesAndNoColorWins() {
    for (theme, transient) in [(Theme.dark, Color.yellow), (.light, .blue), (.terminal, .yellow)] {
      var config = F.config()
      config.theme = theme
      #expect(stateStyle(.connecting, config) == Style(fg: transient, attributes: .bold))
      #expect(stateStyle(.failed, config) == Style(fg: .red, attributes: .bold))
      config.color = false
      #expect(stateStyle(.connecting, config) == Style(attributes: .bold))
    }
    #expect(Theme.dark.defaultColors! == (.white, .black))
    #expect(Theme.light.defaultColors! == (.black, .white))
    #expect(Theme.terminal.defaultColors == nil)
  }
}
