import Foundation
import TestSupport

/// The dashboard runtime's `Clock`, moved only by a test (see `VirtualTime`).
final class TestClock: Clock, Sendable {
  struct Instant: InstantProtocol {
    var offset: Duration

    func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
    func duration(to other: Instant) -> Duration { other.offset - offset }
    static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
  }

  private let time: VirtualTime

  init(onSleep: @escaping @Sendable () -> Void = {}) {
    time = VirtualTime(onSleep: onSleep)
  }

  var now: Instant { Instant(offset: time.now) }
  var minimumResolution: Duration { .zero }
  var sleeperCount: Int { time.sleeperCount }
  var nextDeadline: Instant? { time.nextDeadline.map(Instant.init) }

  func sleep(until deadline: Instant, tolerance: Duration?) async throws {
    try await time.sleep(until: deadline.offset)
  }

  func advance(by duration: Duration) { time.advance(by: duration) }
  func advance(to instant: Instant) { time.advance(to: instant.offset) }
}
