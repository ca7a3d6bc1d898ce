import Foundation
import KMSModel
import TerminalUI
import Testing

@testable import Dashboard

/// The dashboard's XKS view (issue 10 §3): the detail pane of an external key store and the QA
/// panel of its embedded proxy, as text on screen.
@Suite struct XKSViewTests {
  typealias F = Fixture
  static let orders = "cks-0de30000000000009"
  static let slow = "cks-0de3000000000000a"

  static func xksStore(
    _ id: String, _ name: String, _ state: ConnectionStateType, code: ConnectionErrorCodeType? = nil
  )
    -> CustomKeyStoresListEntry
  {
    CustomKeyStoresListEntry(
      customKeyStoreId: id, customKeyStoreName: name, connectionState: state, connectionErrorCode: code,
      creationDate: F.t0.addingTimeInterval(-86_400 * 40), customKeyStoreType: .externalKeyStore,
      xksProxyConfiguration: XksProxyConfigurationType(
        connectivity: .publicEndpoint, accessKeyId: "KMSDASHDEMOXKSACCESSKEY2",
        uriEndpoint: "https://xks.demo.kmsdash.local", uriPath: "/demo/kms/xks/v1"))
  }

  /// The fixture fleet with two XKS stores: one healthy, one FAILED by a slow proxy.
  static func snapshot() -> FleetSnapshot {
    var snap = F.snapshot()
    snap.stores.append(xksStore(orders, "aaa-xks-orders", .connected))
    snap.stores.append(xksStore(slow, "aaa-xks-slow", .failed, code: .xksProxyTimedOut))
    snap.xksHealth[orders] = XKSStoreHealth(
      checkedAt: F.t0.addingTimeInterval(-10), checkOperation: "KmsHealthCheck", latencyMilliseconds: 12.4,
      proxyVendor: "kmsdash", proxyModel: "kmsdash simulated XKS proxy 1.0", ekmVendor: "kmsdash EKM",
      ekmFleet: [
        .init(id: "ekm-1", model: "sim", healthStatus: "ACTIVE"),
        .init(id: "ekm-2", model: "sim", healthStatus: "DEGRADED"),
      ],
      errorCounts: ["ThrottlingException": 3, "Timeout": 1],
      credentialSetAt: F.t0.addingTimeInterval(-86_400 * 30),
      certificateNotAfter: F.t0.addingTimeInterval(86_400 * 364.5))
    snap.xksHealth[slow] = XKSStoreHealth(
      checkedAt: F.t0.addingTimeInterval(-60), checkOperation: "ConnectCustomKeyStore",
      latencyMilliseconds: 276,
      failure: "timed out", connectOutcome: .xksProxyTimedOut, errorCounts: ["Timeout": 1],
      credentialSetAt: F.t0.addingTimeInterval(-86_400 * 100))
    return snap
  }

  static func state(_ config: DashboardConfig = F.config()) -> DashboardState {
    var config = config
    config.xksControl = true
    return F.state(Size(width: 120, height: 40), config: config, snapshot: snapshot())
  }

  /// The line of the screen that starts (after the pane border) with `label`.
  static func line(_ buffer: Buffer, _ label: String) -> String? {
    buffer.text.split(separator: "\n").map(String.init).first { $0.dropFirst().hasPrefix(label) }
      .map { $0.dropFirst().trimmingCharacters(in: CharacterSet(charactersIn: " │")) }
  }

  @Test func theDetailOfAHealthyXKSStore() throws {
    var s = Self.state()
    s.selectedStoreId = Self.orders
    let screen = view(s)
    #expect(
      Self.line(screen, "XksProxy UriEndpoint") == "XksProxy UriEndpoint    https://xks.demo.kmsdash.local")
    #expect(
      Self.line(screen, "XKS proxy") == "XKS proxy               kmsdash kmsdash simulated XKS proxy 1.0")
    #expect(
      Self.line(screen, "EKM fleet")
        == "EKM fleet               kmsdash EKM: 2 · ekm-1 ACTIVE, ekm-2 DEGRADED")
    #expect(
      Self.line(screen, "Last health check")
        == "Last health check       14:13:10 KmsHealthCheck, 12 ms of 250 ms")
    #expect(Self.line(screen, "  Next connect would be") == "Next connect would be CONNECTED")
    #expect(Self.line(screen, "Proxy errors") == "Proxy errors            ThrottlingException 3, Timeout 1")
    #expect(Self.line(screen, "Credential age") == "Credential age          30 d (set 2026-08-22 14:13)")
    #expect(Self.line(screen, "TLS certificate") == "TLS certificate         364 d to expiry (2027-09-21)")
  }

  @Test func aFailedXKSStoreShowsTheCodeTheLatencyAndTheRemedy() throws {
    var s = Self.state()
    s.selectedStoreId = Self.slow
    let screen = view(s)
    #expect(Self.line(screen, "ConnectionErrorCode") == "ConnectionErrorCode     XKS_PROXY_TIMED_OUT")
    #expect(Self.line(screen, "  Remedy")?.hasSuffix(ConnectionErrorCodeType.xksProxyTimedOut.remedy) == true)
    let check = try #require(Self.line(screen, "Last health check"))
    #expect(check == "Last health check       14:12:20 ConnectCustomKeyStore, 276 ms of 250 ms")
    #expect(Self.line(screen, "  Failure") == "Failure               timed out")
    #expect(
      Self.line(screen, "TLS certificate")
        == "TLS certificate         not seen (plain HTTP or no TLS call yet)")
    // Over the bound, the latency is drawn in the failure colour.
    let rows = screen.text.split(separator: "\n", omittingEmptySubsequences: false)
    let y = try #require(rows.firstIndex { $0.contains("276 ms of 250 ms") })
    let x = try #require(rows[y].firstIndex(of: "2")).utf16Offset(in: rows[y])
    #expect(screen[x, y].style.fg == .red)
  }

  /// Every XKS ConnectionErrorCode has a remedy the detail pane can show.
  @Test func everyXKSCodeHasARemedy() {
    let codes: [ConnectionErrorCodeType] = [
      .invalidCredentials, .xksProxyAccessDenied, .xksProxyInvalidConfiguration, .xksProxyInvalidResponse,
      .xksProxyInvalidTlsConfiguration, .xksProxyNotReachable, .xksProxyTimedOut,
      .xksVpcEndpointServiceInvalidConfiguration, .xksVpcEndpointServiceNotFound, .internalError,
      .networkErrors,
    ]
    for code in codes { #expect(!code.remedy.isEmpty && !code.meaning.isEmpty, "\(code)") }
  }

  @Test func theQAPanelTogglesTheProxysFaultsAndPredicts() throws {
    var s = Self.state()
    s.selectedStoreId = Self.slow
    let opened = s.press(.char("f"))
    #expect(opened == [.loadXKSFaults(storeId: Self.slow), .predictConnect(storeId: Self.slow)])
    #expect(view(s).text.contains("[?] LATENCY_300MS"))
    _ = update(&s, .xksFaults(storeId: Self.slow, [.latency300ms]))
    _ = update(&s, .prediction(storeId: Self.slow, "FAILED (XKS_PROXY_TIMED_OUT)"))
    let panel = view(s).text
    #expect(panel.contains("Next connect (after disconnect): FAILED (XKS_PROXY_TIMED_OUT)"))
    #expect(panel.contains("[x] LATENCY_300MS"))
    #expect(panel.contains("[ ] EKM_UNAVAILABLE"))
    #expect(panel.contains("QA: XKS proxy https://xks.demo.kmsdash.local of aaa-xks-slow"))
    #expect(s.press(.char(" ")) == [.setXKSFault(.latency300ms, enabled: false, storeId: Self.slow)])
    #expect(
      s.press(.char("j"), .enter) == [.setXKSFault(.refuseConnections, enabled: true, storeId: Self.slow)])
    // A delta refreshes the prediction; Esc closes.
    #expect(update(&s, .delta(FleetDelta(version: 2), at: F.t0)) == [.predictConnect(storeId: Self.slow)])
    s.press(.escape)
    #expect(s.overlay == nil)
  }

  static let vpcGood = "cks-0de3000000000000b"
  static let vpcBroken = "cks-0de3000000000000c"
  static let service = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
  static let brokenService = "com.amazonaws.vpce.us-east-1.vpce-svc-0aaaabbbbccccdddd"

  /// The XKS fleet plus two VPC_ENDPOINT_SERVICE stores: one whose service passes KMS's check,
  /// one whose service QA deleted (the store FAILED with the matching code).
  static func vpcSnapshot() -> FleetSnapshot {
    var snap = snapshot()
    func vpcStore(
      _ id: String, _ name: String, _ serviceName: String, _ state: ConnectionStateType,
      code: ConnectionErrorCodeType? = nil
    ) -> CustomKeyStoresListEntry {
      var entry = xksStore(id, name, state, code: code)
      entry.xksProxyConfiguration = XksProxyConfigurationType(
        connectivity: .vpcEndpointService, accessKeyId: "KMSDASHDEMOXKSACCESSKEY2",
        uriEndpoint: "https://xks-vpc.example.com", uriPath: "/demo/kms/xks/v1",
        vpcEndpointServiceName: serviceName)
      return entry
    }
    snap.stores.append(vpcStore(vpcGood, "aaa-xks-vpc", service, .connected))
    snap.stores.append(
      vpcStore(vpcBroken, "aaa-xks-vpc-broken", brokenService, .failed, code: .xksVpcEndpointServiceNotFound))
    var good = XKSStoreHealth(credentialSetAt: F.t0.addingTimeInterval(-86_400))
    good.vpcEndpointService = XKSVPCEndpointServiceStatus(
      serviceName: service,
      service: XKSVPCEndpointService(
        serviceName: service, privateDnsName: "xks-vpc.example.com",
        allowedPrincipals: ["cks.kms.us-east-1.amazonaws.com"]),
      connectOutcome: nil, problem: nil)
    snap.xksHealth[vpcGood] = good
    var broken = XKSStoreHealth(credentialSetAt: F.t0.addingTimeInterval(-86_400))
    broken.vpcEndpointService = XKSVPCEndpointServiceStatus(
      serviceName: brokenService,
      service: XKSVPCEndpointService(
        serviceName: brokenService, privateDnsName: "xks-vpc2.example.com",
        allowedPrincipals: ["cks.kms.us-east-1.amazonaws.com"], availabilityZones: 1,
        faults: [.deleted, .privateDnsUnverified]),
      connectOutcome: .xksVpcEndpointServiceNotFound,
      problem: "The VPC endpoint service \(brokenService) was not found.")
    snap.xksHealth[vpcBroken] = broken
    return snap
  }

  @Test func theDetailOfAVPCStoreShowsItsEndpointService() throws {
    var s = F.state(Size(width: 120, height: 40), snapshot: Self.vpcSnapshot())
    s.selectedStoreId = Self.vpcGood
    var screen = view(s)
    #expect(Self.line(screen, "XksProxy VpcEndpointSvc") == "XksProxy VpcEndpointSvc \(Self.service)")
    #expect(Self.line(screen, "VPC endpoint service") == "VPC endpoint service    xks-vpc.example.com, 2 AZs")
    #expect(
      Self.line(screen, "  KMS check")
        == "KMS check             passes (found, KMS allowed, private DNS verified, no acceptance, 2+ AZs)")
    s.selectedStoreId = Self.vpcBroken
    screen = view(s)
    #expect(
      Self.line(screen, "VPC endpoint service")
        == "VPC endpoint service    xks-vpc2.example.com, 1 AZ; faults: DELETED, PRIVATE_DNS_UNVERIFIED")
    #expect(
      Self.line(screen, "  KMS check")
        == "KMS check             XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND: The VPC endpoint service")
    let store = try #require(s.snapshot?.stores.first { $0.customKeyStoreId == Self.vpcBroken })
    let check = xksDetailLines(store, s).first { $0.0 == "  KMS check" }?.1
    #expect(
      check
        == "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND: The VPC endpoint service \(Self.brokenService) was not found."
    )
    // The store already FAILED with that code: its remedy is shown once, under the code.
    #expect(screen.text.components(separatedBy: "Remedy").count == 2)
    // A service missing from the account altogether.
    var snap = Self.vpcSnapshot()
    snap.xksHealth[Self.vpcBroken]?.vpcEndpointService?.service = nil
    var missing = F.state(Size(width: 120, height: 40), snapshot: snap)
    missing.selectedStoreId = Self.vpcBroken
    #expect(
      Self.line(view(missing), "VPC endpoint service")
        == "VPC endpoint service    \(Self.brokenService) is not in the account")
  }

  @Test func readOnlyAndOtherBackendsDoNotToggle() {
    var s = Self.state(F.config(readOnly: true))
    s.selectedStoreId = Self.orders
    s.press(.char("f"))
    _ = update(&s, .xksFaults(storeId: Self.orders, []))
    #expect(s.press(.char(" ")) == [])
    #expect(s.status?.text == "Read-only mode: fault injection is disabled")
    var other = F.state(Size(width: 120, height: 40), snapshot: Self.snapshot())
    other.selectedStoreId = Self.orders
    #expect(other.press(.char("f")) == [])
    #expect(other.status?.kind == .error)
    #expect(other.overlay == nil)
  }
}

/// Against AWS KMS (no kmsdash engine behind the endpoint) the XKS detail and QA panel say what
/// is not available instead of showing empty or stale lines.
@Suite struct XKSAgainstAWSViewTests {
  @Test func theDetailAndTheQAPanelSayWhatAWSDoesNotOffer() throws {
    var snapshot = XKSViewTests.snapshot()
    snapshot.xksHealth = [:]
    var config = Fixture.config()
    config.simulator = false
    var s = Fixture.state(Size(width: 120, height: 40), config: config, snapshot: snapshot)
    s.selectedStoreId = XKSViewTests.orders
    let screen = view(s)
    #expect(
      XKSViewTests.line(screen, "XKS proxy health")
        == "XKS proxy health        not available from AWS KMS (CloudWatch metrics XksProxy*)")
    #expect(XKSViewTests.line(screen, "TLS certificate") == nil)
    #expect(s.press(.char("f")) == [])
    #expect(s.overlay == nil)
    #expect(s.status?.text == "The QA panel needs the simulator (embedded engine or kmsdash serve)")
  }
}
