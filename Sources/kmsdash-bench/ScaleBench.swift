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

    // The dashboard's input: one fleet snapshot, then its update and its view.
    var snapshotTime = Distribution()
    var snapshot: FleetSnapshot?
    for _ in 0..<5 {
      let started = ContinuousClock.now
      snapshot = try await engine.fleetSnapshot()
      snapshotTime.add(ContinuousClock.now - started)
    }
    report.line("  engine fleetSnapshot: \(snapshotTime.summary)")
    report.figure("scale_snapshot_p50_ms", snapshotTime.percentile(50))

    let size = Size(width: width, height: height)
    var state = DashboardState(
      config: DashboardConfig(backend: "embedded engine (benchmark)", timeZone: TimeZone(identifier: "UTC")!),
      size: size, now: Date())
    var applyTime = Distribution()
    for _ in 0..<5 {
      timed(&applyTime) { _ = update(&state, .snapshot(snapshot!, at: Date())) }
    }
    report.line("  dashboard update(.snapshot): \(applyTime.summary)")
    report.figure("scale_apply_snapshot_p50_ms", applyTime.percentile(50))

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
