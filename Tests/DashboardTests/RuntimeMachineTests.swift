import Testing

@testable import Dashboard

/// Every state × event of the runtime's machines: the result, and the state after it.
@Suite struct RuntimeMachineTests {
  // MARK: LoadMachine

  typealias L = LoadMachine.State

  @Test(arguments: [
    (L.idle, LoadMachine.Request.startLoad, L.loading),
    (.loading, .coalesced, .loadingThenReload),
    (.loadingThenReload, .coalesced, .loadingThenReload),
    (.stopped, .ignore, .stopped),
  ])
  func loadRequested(from: L, result: LoadMachine.Request, to: L) {
    var machine = LoadMachine(state: from)
    #expect(machine.loadRequested() == result)
    #expect(machine.state == to)
  }

  @Test(arguments: [
    (L.idle, LoadMachine.Finished.deliver, L.idle),
    (.loading, .deliver, .idle),
    (.loadingThenReload, .deliverAndStartLoad, .loading),
    (.stopped, .discard, .stopped),
  ])
  func loadFinished(from: L, result: LoadMachine.Finished, to: L) {
    var machine = LoadMachine(state: from)
    #expect(machine.loadFinished() == result)
    #expect(machine.state == to)
  }

  @Test(arguments: [
    (L.idle, LoadMachine.Stop.stopped), (.loading, .stopped), (.loadingThenReload, .stopped),
    (.stopped, .alreadyStopped),
  ])
  func loadStop(from: L, result: LoadMachine.Stop) {
    var machine = LoadMachine(state: from)
    #expect(machine.stop() == result)
    #expect(machine.state == .stopped)
  }

  /// Three requests during one load make one more load, not three.
  @Test func requestsDuringALoadCoalesceIntoOne() {
    var machine = LoadMachine()
    #expect(machine.loadRequested() == .startLoad)
    #expect(machine.loadRequested() == .coalesced)
    #expect(machine.loadRequested() == .coalesced)
    #expect(machine.loadRequested() == .coalesced)
    #expect(machine.loadFinished() == .deliverAndStartLoad)
    #expect(machine.loadFinished() == .deliver)
    #expect(machine.state == .idle)
  }

  // MARK: FrameMachine

  typealias R = FrameMachine.State
  static let ms = Duration.milliseconds

  @Test(arguments: [
    // Never drawn: at once.
    (R.idle(lastDrawn: nil), ms(5), FrameMachine.Request.schedule(after: .zero), R.scheduled(lastDrawn: nil)),
    // Drawn 4 ms ago: 12 ms more.
    (.idle(lastDrawn: ms(100)), ms(104), .schedule(after: ms(12)), .scheduled(lastDrawn: ms(100))),
    // Drawn exactly one interval ago, or longer: at once.
    (.idle(lastDrawn: ms(100)), ms(116), .schedule(after: .zero), .scheduled(lastDrawn: ms(100))),
    (.idle(lastDrawn: ms(100)), ms(5000), .schedule(after: .zero), .scheduled(lastDrawn: ms(100))),
    (.scheduled(lastDrawn: ms(100)), ms(104), .alreadyScheduled, .scheduled(lastDrawn: ms(100))),
    (.scheduled(lastDrawn: nil), ms(104), .alreadyScheduled, .scheduled(lastDrawn: nil)),
    (.stopped, ms(104), .ignore, .stopped),
  ])
  func frameRequested(from: R, now: Duration, result: FrameMachine.Request, to: R) {
    var machine = FrameMachine(state: from)
    #expect(machine.frameRequested(now: now) == result)
    #expect(machine.state == to)
  }

  @Test(arguments: [
    (R.idle(lastDrawn: ms(1)), FrameMachine.Due.ignore, R.idle(lastDrawn: ms(1))),
    (.scheduled(lastDrawn: ms(1)), .render, .idle(lastDrawn: ms(1))),
    (.scheduled(lastDrawn: nil), .render, .idle(lastDrawn: nil)),
    (.stopped, .ignore, .stopped),
  ])
  func frameDue(from: R, result: FrameMachine.Due, to: R) {
    var machine = FrameMachine(state: from)
    #expect(machine.frameDue() == result)
    #expect(machine.state == to)
  }

  @Test(arguments: [
    (R.idle(lastDrawn: ms(1)), false, FrameMachine.Rendered.write, R.idle(lastDrawn: ms(50))),
    (.idle(lastDrawn: ms(1)), true, .skip, .idle(lastDrawn: ms(1))),
    (.idle(lastDrawn: nil), false, .write, .idle(lastDrawn: ms(50))),
    (.scheduled(lastDrawn: ms(1)), false, .write, .scheduled(lastDrawn: ms(50))),
    (.scheduled(lastDrawn: ms(1)), true, .skip, .scheduled(lastDrawn: ms(1))),
    (.stopped, false, .skip, .stopped),
    (.stopped, true, .skip, .stopped),
  ])
  func frameRendered(from: R, identical: Bool, result: FrameMachine.Rendered, to: R) {
    var machine = FrameMachine(state: from)
    #expect(machine.frameRendered(identical: identical, now: Self.ms(50)) == result)
    #expect(machine.state == to)
  }

  @Test(arguments: [
    (R.idle(lastDrawn: nil), FrameMachine.Stop.stopped), (.scheduled(lastDrawn: ms(1)), .stopped),
    (.stopped, .alreadyStopped),
  ])
  func frameStop(from: R, result: FrameMachine.Stop) {
    var machine = FrameMachine(state: from)
    #expect(machine.stop() == result)
    #expect(machine.state == .stopped)
  }

  /// An identical frame is not "drawn": the next change is not held back by it.
  @Test func anIdenticalFrameDoesNotDelayTheNext() {
    var machine = FrameMachine(state: .idle(lastDrawn: Self.ms(0)))
    #expect(machine.frameRequested(now: Self.ms(20)) == .schedule(after: .zero))
    #expect(machine.frameDue() == .render)
    #expect(machine.frameRendered(identical: true, now: Self.ms(20)) == .skip)
    #expect(machine.frameRequested(now: Self.ms(21)) == .schedule(after: .zero))
  }

  // MARK: TickMachine

  typealias T = TickMachine.State

  @Test(arguments: [
    (T.idle, true, TickMachine.Change.startTicker, T.ticking),
    (.idle, false, .keep, .idle),
    (.ticking, true, .keep, .ticking),
    (.ticking, false, .cancelTicker, .idle),
    (.stopped, true, .keep, .stopped),
    (.stopped, false, .keep, .stopped),
  ])
  func animationNeeded(from: T, needed: Bool, result: TickMachine.Change, to: T) {
    var machine = TickMachine(state: from)
    #expect(machine.animationNeeded(needed) == result)
    #expect(machine.state == to)
  }

  @Test(arguments: [
    (T.idle, TickMachine.Change.keep), (.ticking, .cancelTicker), (.stopped, .keep),
  ])
  func tickStop(from: T, result: TickMachine.Change) {
    var machine = TickMachine(state: from)
    #expect(machine.stop() == result)
    #expect(machine.state == .stopped)
  }
}
