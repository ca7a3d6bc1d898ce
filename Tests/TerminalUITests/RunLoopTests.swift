import Testing

@testable import TerminalUI

@TerminalActor private func onLoopThread() -> Bool { TerminalRunLoop.shared.isOnLoopThread }
@TerminalActor private func identity(_ i: Int) -> Int { i }

@Suite struct RunLoopTests {
  @Test func terminalActorRunsOnTheLoopThread() async {
    #expect(await onLoopThread())
    #expect(!TerminalRunLoop.shared.isOnLoopThread)
  }

  @Test func manyJobsAllRun() async {
    let total = await withTaskGroup(of: Int.self) { group in
      for i in 0..<200 { group.addTask { await identity(i) } }
      return await group.reduce(0, +)
    }
    #expect(total == (0..<200).reduce(0, +))
  }

  @Test @TerminalActor func recordingTerminalCountsChangedCells() {
    let t = RecordingTerminal(size: Size(width: 10, height: 2))
    var b = Buffer(width: 10, height: 2)
    t.draw(b)
    b.put("x", x: 3, y: 1)
    t.draw(b)
    #expect(t.changedCells == [20, 1])
  }
}
