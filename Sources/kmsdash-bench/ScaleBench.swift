import Dashboard
import Foundation
import HTTPTypes
import KMSModel
import KMSServer
import KeyStoreEngine
import Logging
import NIOCore
import TerminalUI

/// `kmsdash-bench scale`: a fleet of many stores and keys, measured where a user would feel it —
/// building the dashboard's state, drawing a frame, scrolling, filtering, and paging through
/// DescribeCustomKeyStores (engine call, and the whole AWS JSON 1.1 request path).
struct ScaleBench {
  var stores = 10_000
  var keysPerStore = 10
  var width = 200
  var height = 60
  var repetitions = 200

  func run(_ report: Report) async throws {
    report.line("scale: \(stores) stores, \(stores * keysPerStore) keys, frame \(width)×\(height)")
    // As the dashboard's runtime does at start (this process is the dashboard on its engine).
    // KMSDASH_BENCH_DEFAULT_MALLOC=1 keeps glibc's defaults, to measure what the settings change.
    if ProcessInfo.processInfo.environment["KMSDASH_BENCH_DEFAULT_MALLOC"] != "1" {
      FreePages.settleAllocatorForLargeFleets()
    }
    let clock = ManualClock()
    let engine = KeyStoreEngine(
      configuration: EngineConfiguration(
        storeQuota: stores, keyQuota: stores * keysPerStore, eventHistoryLimit: 500),
      clock: clock)

    let buildStarted = ContinuousClock.now
    try await build(engine, clock: clock)
    let buildTime = ContinuousClock.now - buildStarted
    let afterBuild = residentMemory()
    report.line(
      "  built in \(fixed(milliseconds(buildTime) / 1000, 1)) s; RSS \(fixed(afterBuild.current, 1)) MiB")
    report.figure("scale_build_seconds", milliseconds(buildTime) / 1000)
    // Heap profiling (`heaptrack`): what is still allocated at exit is the fleet's live data.
    if ProcessInfo.processInfo.environment["KMSDASH_BENCH_EXIT_AFTER"] == "build" { exit(0) }

    // The change stream, subscribed before the dashboard loads (as the runtime does).
    let changes = await engine.changes()
    var deltas = changes.makeAsyncIterator()

    // What a resynchronisation costs (a gap in the deltas, or `r`): one whole fleet snapshot.
    var snapshotTime = Distribution()
    for _ in 0..<3 {
      let started = ContinuousClock.now
      let snapshot = try await engine.fleetSnapshot()
      snapshotTime.add(ContinuousClock.now - started)
      precondition(snapshot.stores.count == stores)
    }
    report.line("  engine fleetSnapshot (resync only): \(snapshotTime.summary)")
    report.figure("scale_snapshot_p50_ms", snapshotTime.percentile(50))

    let size = Size(width: width, height: height)
    var state = DashboardState(
      config: DashboardConfig(backend: "embedded engine (benchmark)", timeZone: TimeZone(identifier: "UTC")!),
      size: size, now: Date())
    var applyTime = Distribution()
    for _ in 0..<3 {
      let snapshot = try await engine.fleetSnapshot()
      timed(&applyTime) { _ = update(&state, .snapshot(snapshot, at: Date())) }
    }
    report.line("  dashboard update(.snapshot) (load / resync): \(applyTime.summary)")
    report.figure("scale_apply_snapshot_p50_ms", applyTime.percentile(50))
    // As the dashboard's runtime does after each whole-fleet load.
    FreePages.returnToSystem()
    let loaded = residentMemory()
    report.line("  RSS with the dashboard loaded: \(fixed(loaded.current, 1)) MiB")
    report.figure("scale_rss_loaded_mib", loaded.current)
    if ProcessInfo.processInfo.environment["KMSDASH_BENCH_EXIT_AFTER"] == "load" { exit(0) }

    var render = Distribution()
    var frame = view(state)
    for _ in 0..<repetitions { frame = timed(&render) { view(state) } }
    precondition(frame.text.contains("\(stores) stores"), "the frame does not show the fleet:\n\(frame.text)")
    report.line("  frame render \(width)×\(height): \(render.summary)")
    report.figure("scale_render_p50_ms", render.percentile(50))
    report.figure("scale_render_p99_ms", render.percentile(99))

    // Scrolling: a key, its update, and the next frame, as the runtime does it.
    func keystrokes(_ keys: [Key]) -> Distribution {
      var d = Distribution()
      for key in keys {
        timed(&d) {
          _ = update(&state, .key(key))
          frame = view(state)
        }
      }
      return d
    }
    let lineScroll = keystrokes(Array(repeating: .down, count: 500) + Array(repeating: .up, count: 100))
    let pageScroll = keystrokes(
      Array(repeating: .pageDown, count: 150) + [.end, .home] + Array(repeating: .pageDown, count: 48))
    report.line("  scroll j/k (key → frame): \(lineScroll.summary)")
    report.line("  scroll PgDn/End/Home (key → frame): \(pageScroll.summary)")
    report.figure("scale_scroll_line_p99_ms", lineScroll.percentile(99))
    report.figure("scale_scroll_page_p99_ms", pageScroll.percentile(99))

    // Filtering: `/`, then the text one character at a time (the table follows each keystroke).
    let needle = "store-0424"
    let filter = keystrokes([.char("/")] + needle.map { .char($0) } + [.enter])
    let matches = frame.text.contains("filter \"\(needle)\"")
    precondition(matches, "the filter is not shown:\n\(frame.text)")
    report.line("  filter \"\(needle)\" typed (key → frame): \(filter.summary)")
    report.figure("scale_filter_p99_ms", filter.percentile(99))
    let clear = keystrokes([.escape])
    report.line("  clear the filter (Esc → frame): \(clear.summary)")
    report.figure("scale_filter_clear_ms", clear.max)

    // The keys view of one store and back.
    let keysView = keystrokes([.enter, .escape])
    report.line("  open a store's keys and back: \(keysView.summary)")
    // Scrolling in the keys view: the frame builds only the rows on screen, so a store with
    // 100,000 keys (--stores 1 --keys-per-store 100000) scrolls at the cost of one with 10.
    _ = keystrokes([.enter])
    let keyScroll = keystrokes(
      Array(repeating: .down, count: 300) + [.end] + Array(repeating: .pageUp, count: 50) + [.home])
    precondition(frame.text.contains("Keys of "), "the keys view is not shown:\n\(frame.text)")
    report.line("  keys view of a \(keysPerStore)-key store, scroll (key → frame): \(keyScroll.summary)")
    report.figure("scale_keys_scroll_p99_ms", keyScroll.percentile(99))
    _ = keystrokes([.escape])

    try await deltaPath(engine, clock, &deltas, &state, report)

    try await describePages(engine, report)

    let end = residentMemory()
    report.line("  RSS \(fixed(end.current, 1)) MiB, peak \(fixed(end.peak, 1)) MiB")
    report.figure("scale_rss_mib", end.current)
    report.figure("scale_rss_peak_mib", end.peak)
  }

  /// Clusters, stores and keys through the engine's own operations; one store in ten
  /// disconnected afterwards (its keys Unavailable), so the table has more than one state.
  private func build(_ engine: KeyStoreEngine, clock: ManualClock) async throws {
    let anchor = Scenario.demoTrustAnchor
    let zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    var ids: [String] = []
    for index in 0..<stores {
      let cluster = try await engine.addCluster(
        ClusterSpec(availabilityZones: [zones[index % 3], zones[(index + 1) % 3]], trustAnchorPEM: anchor))
      let created = try await engine.createCustomKeyStore(
        CreateCustomKeyStoreRequest(
          customKeyStoreName: String(format: "store-%05d", index), cloudHsmClusterId: cluster,
          trustAnchorCertificate: anchor, keyStorePassword: "DemoPassw0rd"))
      ids.append(created.customKeyStoreId!)
    }
    // Connect everything, then let the simulated time pass once: due work is applied in one go,
    // not once per store.
    for id in ids {
      _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
    }
    clock.advance(by: 3600)
    try await engine.completePendingTransitions()
    for (index, id) in ids.enumerated() {
      for key in 0..<keysPerStore {
        _ = try await engine.createKey(
          CreateKeyRequest(
            description: "key \(key) of store \(index)", origin: OriginType.awsCloudhsm.rawValue,
            customKeyStoreId: id))
      }
    }
    for id in ids.enumerated().filter({ $0.offset % 10 == 9 }).map(\.element) {
      _ = try await engine.disconnectCustomKeyStore(DisconnectCustomKeyStoreRequest(customKeyStoreId: id))
    }
    clock.advance(by: 3600)
    try await engine.completePendingTransitions()
  }

  /// Engine change → frame, through the delta path the runtime uses: an engine call commits and
  /// publishes a delta; the dashboard applies it (`update(.delta)`) and draws the next frame. Each
  /// sample runs from just before the engine call to the finished frame. Measured twice: sorted by
  /// name (a state change moves no row) and sorted by state (every change moves its row).
  private func deltaPath(
    _ engine: KeyStoreEngine, _ clock: ManualClock, _ deltas: inout AsyncStream<FleetDelta>.Iterator,
    _ state: inout DashboardState,
    _ report: Report
  ) async throws {
    let ids = state.stores.compactMap(\.customKeyStoreId)
    var version = state.snapshot?.version ?? 0
    // Drain what the resync snapshots already reflect.
    func nextFrame() async throws -> (update: Duration, view: Duration, delta: FleetDelta) {
      while let delta = await deltas.next() {
        if delta.version <= version { continue }
        version = delta.version
        let started = ContinuousClock.now
        let effects = update(&state, .delta(delta, at: Date()))
        precondition(effects.isEmpty, "the delta did not apply: \(effects)")
        let updated = ContinuousClock.now
        let frame = view(state)
        precondition(frame.width == width)
        return (updated - started, ContinuousClock.now - updated, delta)
      }
      throw BenchError.setup("the change stream ended")
    }

    for (label, column) in [("sorted by name", StoreColumn.name), ("sorted by state", .state)] {
      _ = update(&state, .key(.char(Character(String(column.rawValue + 1)))))
      precondition(state.sortColumn == column)
      var total = Distribution()
      var calls = Distribution()
      var toFrame = Distribution()
      var updates = Distribution()
      var frames = Distribution()
      var keysPerDelta = 0
      // Spread over the fleet: disconnect connected stores, connect disconnected ones.
      let picks = stride(from: 0, to: ids.count, by: Swift.max(1, ids.count / 100)).prefix(100)
      for index in picks {
        let id = ids[index]
        let connected = state.store(id: id)?.connectionState == .connected
        let started = ContinuousClock.now
        if connected {
          _ = try await engine.disconnectCustomKeyStore(DisconnectCustomKeyStoreRequest(customKeyStoreId: id))
        } else {
          _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
        }
        let answered = ContinuousClock.now
        let (u, v, delta) = try await nextFrame()
        total.add(ContinuousClock.now - started)
        calls.add(answered - started)
        toFrame.add(ContinuousClock.now - answered)
        updates.add(u)
        frames.add(v)
        keysPerDelta = Swift.max(keysPerDelta, delta.keys.count)
        precondition(state.store(id: id)?.connectionState?.isTransient == true, "\(id) did not change")
      }
      // The background transitions finish together: one delta with every store that changed.
      clock.advance(by: 3600)
      let started = ContinuousClock.now
      try await engine.completePendingTransitions()
      let (u, v, delta) = try await nextFrame()
      let batch = ContinuousClock.now - started
      report.line(
        "  engine change → frame (\(label), \(total.count) changes, ≤ \(keysPerDelta) keys per delta):")
      report.line("    total (call → frame): \(total.summary)")
      report.line("    engine call (commit, publish, answer): \(calls.summary)")
      report.line("    delta → frame (receive, update, view): \(toFrame.summary)")
      report.line("    update(.delta): \(updates.summary)")
      report.line("    view:   \(frames.summary)")
      report.line(
        "    \(delta.stores.count) transitions finishing in one delta → frame: \(fixed(milliseconds(batch), 2)) ms (update \(fixed(milliseconds(u), 2)), view \(fixed(milliseconds(v), 2)))"
      )
      let tag = column == .name ? "name" : "state"
      report.figure("scale_change_to_frame_\(tag)_p50_ms", total.percentile(50))
      report.figure("scale_change_to_frame_\(tag)_p99_ms", total.percentile(99))
      report.figure("scale_engine_call_\(tag)_p99_ms", calls.percentile(99))
      report.figure("scale_delta_to_frame_\(tag)_p50_ms", toFrame.percentile(50))
      report.figure("scale_delta_to_frame_\(tag)_p99_ms", toFrame.percentile(99))
      report.figure("scale_delta_update_\(tag)_p99_ms", updates.percentile(99))
      report.figure("scale_batch_delta_to_frame_\(tag)_ms", milliseconds(batch))
    }
  }

  /// Every page of DescribeCustomKeyStores with Limit 1000, ten times over.
  private func describePages(_ engine: KeyStoreEngine, _ report: Report) async throws {
    var direct = Distribution()
    var pages = 0
    for _ in 0..<10 {
      var marker: String?
      repeat {
        let started = ContinuousClock.now
        let page = try await engine.describeCustomKeyStores(
          DescribeCustomKeyStoresRequest(limit: 1000, marker: marker))
        direct.add(ContinuousClock.now - started)
        pages += 1
        marker = page.nextMarker
      } while marker != nil
    }
    report.line("  DescribeCustomKeyStores Limit=1000, engine call: \(direct.summary)")
    report.figure("scale_describe_page_engine_p99_ms", direct.percentile(99))

    // The same pages through the AWS JSON 1.1 front door (routing, decoding, JSON encoding).
    let handler = KMSRequestHandler(
      options: KMSServerOptions(authentication: .disabled),
      backends: SingleBackendProvider(engine),
      logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
    var fields = HTTPFields()
    fields[HTTPField.Name("X-Amz-Target")!] = "TrentService.DescribeCustomKeyStores"
    fields[.contentType] = KMSRequestHandler.contentType
    var wire = Distribution()
    var bytes = 0
    for _ in 0..<10 {
      var marker: String?
      repeat {
        var body = #"{"Limit":1000"#
        if let marker { body += #","Marker":"\#(marker)""# }
        body += "}"
        let started = ContinuousClock.now
        let response = await handler.handle(
          method: "POST", path: "/", query: "", authority: "127.0.0.1", headers: fields,
          body: ByteBuffer(string: body))
        wire.add(ContinuousClock.now - started)
        precondition(response.status == 200, "DescribeCustomKeyStores failed: \(response.bodyText)")
        bytes = Swift.max(bytes, response.body.readableBytes)
        let decoded =
          try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        marker = decoded?["NextMarker"] as? String
      } while marker != nil
    }
    report.line(
      "  DescribeCustomKeyStores Limit=1000, request → JSON response: \(wire.summary); \(bytes / 1024) KiB per page"
    )
    report.figure("scale_describe_page_wire_p50_ms", wire.percentile(50))
    report.figure("scale_describe_page_wire_p99_ms", wire.percentile(99))
  }
}
