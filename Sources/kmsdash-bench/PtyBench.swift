import Dashboard
import Foundation
import KMSModel
import KeyStoreEngine
import Synchronization
import TerminalUI

/// Bytes read from the pty's master side, with the moment each read returned.
final class PtyReader: Sendable {
  struct Chunk: Sendable {
    var at: Date
    var count: Int
  }

  private let chunks = Mutex<[Chunk]>([])
  private let fd: Int32

  init(masterFD: Int32) {
    fd = masterFD
    let thread = Thread { [self] in
      var buffer = [UInt8](repeating: 0, count: 65536)
      while true {
        let n = read(self.fd, &buffer, buffer.count)
        if n <= 0 {
          if n < 0 && errno == EINTR { continue }
          return
        }
        let chunk = Chunk(at: Date(), count: n)
        self.chunks.withLock { $0.append(chunk) }
      }
    }
    thread.start()
  }

  var all: [Chunk] { chunks.withLock { $0 } }

  /// Bytes read in `[from, to)`.
  func bytes(from: Date, to: Date) -> Int {
    chunks.withLock { $0.filter { $0.at >= from && $0.at < to }.reduce(0) { $0 + $1.count } }
  }
}

/// One frame handed to the terminal: when, and what it showed.
struct DrawRecord: Sendable {
  var start: Date
  var end: Date
  var text: String
}

/// The real ncurses terminal, with every draw timed and kept for analysis.
@TerminalActor
final class TracingTerminal: Terminal {
  private let inner: NcursesTerminal
  private(set) var draws: [DrawRecord] = []

  init(_ inner: NcursesTerminal) { self.inner = inner }

  var size: Size { inner.size }
  var events: AsyncStream<TerminalEvent> { inner.events }
  func invalidate() { inner.invalidate() }
  func shutdown() { inner.shutdown() }

  func draw(_ buffer: Buffer) {
    let start = Date()
    inner.draw(buffer)  // returns once ncurses has written the bytes to the pty
    draws.append(DrawRecord(start: start, end: Date(), text: buffer.text))
  }
}

/// `kmsdash-bench pty`: the dashboard on the embedded demo fleet, drawing with ncurses on a
/// 120×40 pty whose other side this process reads. One store is disconnected and connected
/// again `cycles` times through the engine (not through the keyboard); every state change is
/// matched with the first frame that shows it.
struct PtyBench {
  var cycles = 25
  var timeScale = 10.0
  var storeId = "cks-0de30000000000006"
  var storeName = "edge-single-hsm"

  func run(_ report: Report) async throws {
    var size = winsize(ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
    var master: Int32 = -1
    var slave: Int32 = -1
    guard openpty(&master, &slave, nil, nil, &size) == 0 else {
      report.line("pty: openpty failed (errno \(errno))")
      throw BenchError.setup("openpty failed")
    }
    // The dashboard draws on fds 0 and 1, so they become the pty; the report keeps the old stdout.
    dup2(slave, 0)
    dup2(slave, 1)
    setenv("TERM", "xterm-256color", 1)
    let reader = PtyReader(masterFD: master)

    let started = Date()
    let engine = KeyStoreEngine(configuration: EngineConfiguration(timeScale: timeScale))
    try await engine.load(.demo)
    let tracing = try await Task { @TerminalActor in
      try TracingTerminal(NcursesTerminal.open(options: TerminalOptions(color: true)))
    }.value
    let runtime = await DashboardRuntime(
      terminal: tracing, service: engine, control: engine, config: DashboardConfig(backend: "embedded engine")
    )
    let running = Task { @TerminalActor in await runtime.run() }

    // The demo's staging-keys store starts CONNECTING: let the fleet and the screen settle.
    try await waitUntilSettled(engine)
    try await Task.sleep(for: .seconds(2.5))
    let firstDraw = await Task { @TerminalActor in tracing.draws.first }.value
    if let firstDraw {
      report.line(
        "pty: first frame \(fixed(firstDraw.end.timeIntervalSince(started) * 1000, 1)) ms after the engine was created"
      )
    }

    let measureFrom = Date()
    for _ in 0..<cycles {
      _ = try await engine.disconnectCustomKeyStore(
        DisconnectCustomKeyStoreRequest(customKeyStoreId: storeId))
      try await waitFor(engine, .disconnected)
      try await Task.sleep(for: .milliseconds(150))
      _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: storeId))
      try await waitFor(engine, .connected)
      try await Task.sleep(for: .milliseconds(150))
    }
    try await Task.sleep(for: .seconds(0.5))

    let changes = try await engine.fleetSnapshot().events.filter {
      $0.kind == .connectionStateChanged && $0.customKeyStoreId == storeId && $0.date >= measureFrom
    }
    let draws = await Task { @TerminalActor in tracing.draws }.value
    var latency = Distribution()
    var changeBytes = Distribution()
    var unmatched = 0
    for change in changes {
      guard let state = change.connectionState?.rawValue,
        let index = draws.firstIndex(where: { $0.start >= change.date && shows(state, in: $0.text) })
      else {
        unmatched += 1
        continue
      }
      latency.add(milliseconds: draws[index].end.timeIntervalSince(change.date) * 1000)
      let next = index + 1 < draws.count ? draws[index + 1].start : Date.distantFuture
      changeBytes.add(milliseconds: Double(reader.bytes(from: draws[index].start, to: next)))
    }
    // Quit as a user does: `q` typed on the terminal.
    var quitKey = UInt8(ascii: "q")
    _ = write(master, &quitKey, 1)
    _ = await running.value

    report.line("pty: \(changes.count) state changes of \(storeName) (\(cycles) disconnect/connect cycles)")
    report.line("pty: engine change → frame on the pty: \(latency.summary)")
    report.line(
      "pty: bytes written for the frame that shows a change: p50 \(fixed(changeBytes.percentile(50), 0))  "
        + "p99 \(fixed(changeBytes.percentile(99), 0))  max \(fixed(changeBytes.max, 0))")
    if unmatched > 0 { report.line("pty: \(unmatched) changes never appeared on screen") }
    report.figure("pty_changes", Double(changes.count))
    report.figure("pty_unmatched_changes", Double(unmatched))
    report.figure("pty_change_latency_p50_ms", latency.percentile(50))
    report.figure("pty_change_latency_p99_ms", latency.percentile(99))
    report.figure("pty_change_bytes_p50", changeBytes.percentile(50))
    report.figure("pty_change_bytes_max", changeBytes.max)
    if unmatched > 0 { throw BenchError.failed("\(unmatched) state changes never reached the screen") }
  }

  /// True when the table row of the store shows `state` as a whole word.
  private func shows(_ state: String, in text: String) -> Bool {
    guard let row = text.split(separator: "\n").first(where: { $0.contains(storeName) }) else { return false }
    return row.split(separator: " ").contains { $0 == state }
  }

  private func waitFor(_ engine: KeyStoreEngine, _ state: ConnectionStateType) async throws {
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      let page = try await engine.describeCustomKeyStores(
        DescribeCustomKeyStoresRequest(customKeyStoreId: storeId))
      if page.customKeyStores?.first?.connectionState == state { return }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw BenchError.failed("\(storeName) did not reach \(state.rawValue) within 30 s")
  }

  private func waitUntilSettled(_ engine: KeyStoreEngine) async throws {
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
      let stores =
        try await engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest()).customKeyStores ?? []
      if !stores.contains(where: { $0.connectionState == .connecting || $0.connectionState == .disconnecting }
      ) {
        return
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw BenchError.failed("the demo fleet did not settle within 60 s")
  }
}

enum BenchError: Error, CustomStringConvertible {
  case setup(String)
  case failed(String)
  case usage(String)

  var description: String {
    switch self {
    case .setup(let why), .failed(let why), .usage(let why): why
    }
  }
}
