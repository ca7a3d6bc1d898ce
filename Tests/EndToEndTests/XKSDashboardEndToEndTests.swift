import Foundation
import Testing

/// The demo fleet's external key stores in the real binary (issue 10 §3): the embedded proxy
/// needs no port, the detail pane shows what KMS saw of the proxy, and the QA panel's toggles
/// change what the next connect does.
extension DashboardEndToEndTests {
  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func xksStoresFromDetailToQAToReconnect() throws {
    let t = try start("--ephemeral --time-scale 20", height: 45)
    t.waitFor(shows: ["9 stores", "xks-orders", "● CONNECTED", "FAILED XKS_PROXY_TIME"])
    t.send("/")
    t.type("xks-latency")
    t.send("Enter")
    t.waitFor(shows: [
      "filter \"xks-latency\": 1 of 9", "ConnectionErrorCode     XKS_PROXY_TIMED_OUT",
      "XksProxy UriEndpoint    https://xks-slow.demo.kmsdash.local",
      "ConnectCustomKeyStore, ", "ms of 250 ms", "  Next connect would be XKS_PROXY_TIMED_OUT",
      "Proxy errors            Timeout 1",
    ])
    // The QA panel: the latency fault is on, and the proxy says the next connect times out.
    t.send("f")
    t.waitFor(shows: [
      "QA: XKS proxy https://xks-slow.demo.kmsdash.local of xks-latency",
      "Next connect (after disconnect): FAILED (XKS_PROXY_TIMED_OUT)", "[x] LATENCY_300MS",
    ])
    t.send("Space")
    t.waitFor(shows: ["[ ] LATENCY_300MS", "Next connect (after disconnect): CONNECTED"], timeout: 15)
    // Disconnect, then connect from the panel: the real GetHealthStatus now answers in time.
    t.send("Escape")
    t.send("d")
    t.waitFor("Disconnect xks-latency (cks-")
    t.send("y")
    t.waitFor("DISCONNECTED", timeout: 15) { $0.contains("○ DISCONNECTED") }
    t.send("c")
    t.waitFor("Connect xks-latency (cks-")
    t.send("y")
    t.waitFor(shows: ["● CONNECTED", "  Next connect would be CONNECTED", "EKM fleet"], timeout: 20)
    // The healthy store's keys: aliases and the Enabled state, through the proxy.
    t.send("/")
    t.send("C-u")
    t.type("xks-orders")
    t.send("Enter")
    t.waitFor("filter \"xks-orders\": 1 of 9")
    t.send("Enter")
    t.waitFor(shows: ["Keys of xks-orders", "Order payloads", "alias/xks/orders", "Enabled"])
    t.send("Escape")
    t.send("q")
    expectSaneExit(t, code: 0)
  }
}
