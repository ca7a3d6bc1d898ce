import Foundation
import KMSModel
import KeyStoreEngine
import Testing
import XKSClient
import XKSProxy

/// `VPC_ENDPOINT_SERVICE` connectivity against simulated endpoint services: Create/Update raise
/// AWS's exceptions, connect fails with `XKS_VPC_ENDPOINT_SERVICE_*` while a service is broken,
/// and once it is mended the proxy at the private DNS name answers through the route. Services
/// and their faults are saved with the engine.
@Suite(.serialized) struct XKSVPCEndpointServiceTests {
  static let serviceName = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
  static let otherServiceName = "com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210"
  static let credential = XksProxyAuthenticationCredentialType(
    accessKeyId: XKSProxyConfiguration.demoAccessKeyId,
    rawSecretAccessKey: XKSProxyConfiguration.demoSecretAccessKey)

  static func request(
    _ name: String, service: String?, endpoint: String = "https://xks-vpc.example.com",
    path: String = XKSProxyConfiguration.demoUriPath, owner: String? = nil
  ) -> CreateCustomKeyStoreRequest {
    CreateCustomKeyStoreRequest(
      customKeyStoreName: name, customKeyStoreType: "EXTERNAL_KEY_STORE", xksProxyUriEndpoint: endpoint,
      xksProxyUriPath: path, xksProxyVpcEndpointServiceName: service, xksProxyVpcEndpointServiceOwner: owner,
      xksProxyAuthenticationCredential: credential, xksProxyConnectivity: "VPC_ENDPOINT_SERVICE")
  }

  func expectKMSError(
    _ code: KMSErrorCode, containing text: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> some Any
  ) async {
    do {
      _ = try await body()
      Issue.record("expected \(code.rawValue)", sourceLocation: sourceLocation)
    } catch let error as KMSError {
      #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
      if let text {
        #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
      }
    } catch {
      Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
  }

  @Test func createConnectBreakAndMendThroughTheRoute() async throws {
    let core = XKSProxyCore(
      configuration: .demo, ekm: try ExternalKeyManager(configuration: .demo, state: nil))
    let proxy = XKSProxyServer(core: core, tls: nil, threads: 1) { _ in }
    let port = try await proxy.start(host: "127.0.0.1", port: 0).port
    defer { Task { await proxy.shutdown() } }
    let client = try XKSHTTPClient(
      routes: ["xks-vpc.example.com": URL(string: "http://127.0.0.1:\(port)")!], timeout: .seconds(3))
    let saved = RecordingStateStore()
    let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
    let engine = try await KeyStoreEngine(clock: clock, stateStore: saved)
    await engine.useXKSProxy(client)
    try await engine.addXKSVPCEndpointServices([
      XKSVPCEndpointService(
        serviceName: Self.serviceName, privateDnsName: "xks-vpc.example.com",
        allowedPrincipals: ["cks.kms.us-east-1.amazonaws.com"]),
      XKSVPCEndpointService(
        serviceName: Self.otherServiceName, privateDnsName: "other-vpc.example.com",
        privateDnsVerified: false,
        allowedPrincipals: ["cks.kms.us-east-1.amazonaws.com"]),
    ])

    // Create: a service not in the account, or not allowing KMS, is not found; one that breaks
    // a requirement, or whose private DNS name is not the endpoint's host, is invalid.
    await expectKMSError(.xksProxyVpcEndpointServiceNotFoundException) {
      try await engine.createCustomKeyStore(
        Self.request("vpc", service: "com.amazonaws.vpce.us-east-1.vpce-svc-00000000000000000"))
    }
    await expectKMSError(.xksProxyVpcEndpointServiceNotFoundException, containing: "444455556666") {
      try await engine.createCustomKeyStore(
        Self.request("vpc", service: Self.serviceName, owner: "444455556666"))
    }
    await expectKMSError(.xksProxyVpcEndpointServiceInvalidConfigurationException, containing: "not verified")
    {
      try await engine.createCustomKeyStore(
        Self.request("vpc", service: Self.otherServiceName, endpoint: "https://other-vpc.example.com"))
    }
    await expectKMSError(
      .xksProxyVpcEndpointServiceInvalidConfigurationException, containing: "private DNS name"
    ) {
      try await engine.createCustomKeyStore(
        Self.request("vpc", service: Self.serviceName, endpoint: "https://elsewhere.example.com"))
    }
    _ = try await engine.setXKSVPCEndpointServiceFault(
      .principalNotAllowed, enabled: true, serviceName: Self.serviceName)
    await expectKMSError(
      .xksProxyVpcEndpointServiceNotFoundException, containing: "cks.kms.us-east-1.amazonaws.com"
    ) {
      try await engine.createCustomKeyStore(Self.request("vpc", service: Self.serviceName))
    }
    _ = try await engine.setXKSVPCEndpointServiceFault(
      .principalNotAllowed, enabled: false, serviceName: Self.serviceName)
    // Created (KMS does not call the proxy for a VPC store before connecting), then in use.
    let id = try #require(
      try await engine.createCustomKeyStore(Self.request("vpc", service: Self.serviceName)).customKeyStoreId)
    #expect(await engine.xksHealth(customKeyStoreId: id)?.checkedAt == nil)
    await expectKMSError(.xksProxyVpcEndpointServiceInUseException) {
      try await engine.createCustomKeyStore(
        Self.request("vpc-2", service: Self.serviceName, endpoint: "https://xks-vpc3.example.com"))
    }

    func connect() async throws -> CustomKeyStoresListEntry {
      _ = try await engine.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
      clock.advance(by: 3600)
      try await engine.runDueWork()
      await engine.xksCallsSettled()
      return try #require(
        try await engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(customKeyStoreId: id))
          .customKeyStores?.first)
    }
    func disconnect() async throws {
      _ = try await engine.disconnectCustomKeyStore(DisconnectCustomKeyStoreRequest(customKeyStoreId: id))
      clock.advance(by: 3600)
      try await engine.runDueWork()
    }

    // Connect goes through the route to the proxy at the private DNS name; a key works.
    #expect(try await connect().connectionState == .connected)
    #expect(await engine.xksHealth(customKeyStoreId: id)?.checkOperation == "ConnectCustomKeyStore")
    let key = try #require(
      try await engine.createKey(
        CreateKeyRequest(origin: "EXTERNAL_KEY_STORE", customKeyStoreId: id, xksKeyId: "demo-aes-1")
      ).keyMetadata)
    let sealed = try await engine.encrypt(EncryptRequest(keyId: key.keyId, plaintext: Data("vpc".utf8)))
    #expect(
      try await engine.decrypt(DecryptRequest(ciphertextBlob: sealed.ciphertextBlob)).plaintext
        == Data("vpc".utf8))

    // Each broken service: the next connect fails with its code, without calling the proxy.
    let cases: [(XKSVPCEndpointServiceFault, ConnectionErrorCodeType)] = [
      (.deleted, .xksVpcEndpointServiceNotFound), (.principalNotAllowed, .xksVpcEndpointServiceNotFound),
      (.privateDnsUnverified, .xksVpcEndpointServiceInvalidConfiguration),
      (.acceptanceRequired, .xksVpcEndpointServiceInvalidConfiguration),
      (.singleAvailabilityZone, .xksVpcEndpointServiceInvalidConfiguration),
    ]
    for (fault, code) in cases {
      try await disconnect()
      _ = try await engine.setXKSVPCEndpointServiceFault(fault, enabled: true, serviceName: Self.serviceName)
      #expect(try await engine.predictConnectOutcome(customKeyStoreId: id) == .fails(code), "\(fault)")
      let entry = try await connect()
      #expect(entry.connectionState == .failed, "\(fault)")
      #expect(entry.connectionErrorCode == code, "\(fault)")
      _ = try await engine.setXKSVPCEndpointServiceFault(fault, enabled: false, serviceName: Self.serviceName)
    }
    await expectKMSError(.notFoundException) {
      try await engine.setXKSVPCEndpointServiceFault(.deleted, enabled: true, serviceName: "no-such-service")
    }

    // Mended: connected again through the route. A fault survives a restart, as the services do.
    try await disconnect()
    #expect(try await connect().connectionState == .connected)
    _ = try await engine.setXKSVPCEndpointServiceFault(
      .acceptanceRequired, enabled: true, serviceName: Self.serviceName)
    let restarted = try await KeyStoreEngine(clock: clock, stateStore: saved)
    #expect(await restarted.xksVpcEndpointServices() == (await engine.xksVpcEndpointServices()))
    #expect(await restarted.xksVpcEndpointServices().first?.faults == [.acceptanceRequired])
    try await client.shutdown()
  }
}
