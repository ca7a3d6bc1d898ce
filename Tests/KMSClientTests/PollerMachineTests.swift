import Testing

@testable import KMSClient

/// Every state × event of the poller's loop machine: the result, and the state after it.
@Suite struct PollerMachineTests {
  typealias S = PollerMachine.State

  @Test(arguments: [
    (S.idle, PollerMachine.Subscribed.startLoop, S.refreshing(wakeRequested: false)),
    (.refreshing(wakeRequested: false), .alreadyPolling, .refreshing(wakeRequested: false)),
    (.refreshing(wakeRequested: true), .alreadyPolling, .refreshing(wakeRequested: true)),
    (.sleeping(.seconds(2)), .alreadyPolling, .sleeping(.seconds(2))),
    (.stopped, .finishStream, .stopped),
  ])
  func subscribed(from: S, result: PollerMachine.Subscribed, to: S) {
    var machine = PollerMachine(state: from)
    #expect(machine.subscribed() == result)
    #expect(machine.state == to)
  }

  @Test(arguments: [
    (S.idle, PollerMachine.RefreshFinished.exitLoop, S.idle),
    (.refreshing(wakeRequested: false), .sleep(.seconds(4)), .sleeping(.seconds(4))),
    (.refreshing(wakeRequested: true), .refreshAgain, .refreshing(wakeRequested: false)),
    (.sleeping(.seconds(2)), .sleep(.seconds(2)), .sleeping(.seconds(2))),
    (.stopped, .exitLoop, .stopped),
  ])
  func refreshFinished(from: S, result: PollerMachine.RefreshFinished, to: S) {
    var machine = PollerMachine(state: from)
    #expect(machine.refreshFinished(delay: .seconds(4)) == result)
    #expect(machine.state == to)
  }

  @Test(arguments: [
    (S.idle, PollerMachine.SleepEnded.exitLoop, S.idle),
    (.refreshing(wakeRequested: false), .refresh, .refreshing(wakeRequested: false)),
    (.refreshing(wakeRequested: true), .refresh, .refreshing(wakeRequested: true)),
    (.sleeping(.seconds(2)), .refresh, .refreshing(wakeRequested: false)),
    (.stopped, .exitLoop, .stopped),
  ])
  func sleepEnded(from: S, result: PollerMachine.SleepEnded, to: S) {
    var machine = PollerMachine(state: from)
    #expect(machine.sleepEnded() == result)
    #expect(machine.state == to)
  }

  @Test(arguments: [
    (S.idle, PollerMachine.Wake.nothingToWake, S.idle),
    (.refreshing(wakeRequested: false), .refreshQueued, .refreshing(wakeRequested: true)),
    (.refreshing(wakeRequested: true), .refreshQueued, .refreshing(wakeRequested: true)),
    (.sleeping(.seconds(2)), .wakeSleeper, .refreshing(wakeRequested: false)),
    (.stopped, .nothingToWake, .stopped),
  ])
  func wakeRequested(from: S, result: PollerMachine.Wake, to: S) {
    var machine = PollerMachine(state: from)
    #expect(machine.wakeRequested() == result)
    #expect(machine.state == to)
  }

  @Test(arguments: [
    (S.idle, PollerMachine.Unsubscribed.noLoop, S.idle),
    (.refreshing(wakeRequested: false), .cancelLoop, .idle),
    (.refreshing(wakeRequested: true), .cancelLoop, .idle),
    (.sleeping(.seconds(2)), .cancelLoop, .idle),
    (.stopped, .noLoop, .stopped),
  ])
  func lastSubscriberLeft(from: S, result: PollerMachine.Unsubscribed, to: S) {
    var machine = PollerMachine(state: from)
    #expect(machine.lastSubscriberLeft() == result)
    #expect(machine.state == to)
  }

  @Test(arguments: [
    (S.idle, PollerMachine.Stop.finish),
    (.refreshing(wakeRequested: false), .cancelLoopAndFinish),
    (.refreshing(wakeRequested: true), .cancelLoopAndFinish),
    (.sleeping(.seconds(2)), .cancelLoopAndFinish),
    (.stopped, .alreadyStopped),
  ])
  func stop(from: S, result: PollerMachine.Stop) {
    var machine = PollerMachine(state: from)
    #expect(machine.stop() == result)
    #expect(machine.state == .stopped)
  }

  /// A wake during a refresh makes exactly one more refresh, then the loop sleeps.
  @Test func aWakeDuringARefreshRefreshesOnceMoreWithoutSleeping() {
    var machine = PollerMachine()
    #expect(machine.subscribed() == .startLoop)
    #expect(machine.wakeRequested() == .refreshQueued)
    #expect(machine.wakeRequested() == .refreshQueued)
    #expect(machine.refreshFinished(delay: .seconds(2)) == .refreshAgain)
    #expect(machine.refreshFinished(delay: .seconds(2)) == .sleep(.seconds(2)))
    #expect(machine.wakeRequested() == .wakeSleeper)
    #expect(machine.sleepEnded() == .refresh)
    #expect(machine.refreshFinished(delay: .seconds(8)) == .sleep(.seconds(8)))
  }
}
