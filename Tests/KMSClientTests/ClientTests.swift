import AWSSigV4
import Foundation
import KMSModel
import Testing

@testable import KMSClient

func makeClient(_ fake: FakeKMS, clock: TestClock = TestClock(), polling: PollingOptions = .init())
  -> KMSHTTPClient
{
  KMSHTTPClient(
    configuration: .init(
      endpoint: URL(string: "http://127.0.0.1:4599")!, region: "us-east-1",
      credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"), profile: "test",
      polling: polling),
    transport: fake, clock: clock)
}

@Suite struct ClientTests {
  @Test func requestEncodingTargetsAndBodies() async throws {
    let fake = FakeKMS()
    let client = makeClient(fake)
    _ = try await client.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: "cks-1"))
    let request = try #require(fake.requests.first)
    #expect(request.target == "TrentService.ConnectCustomKeyStore")
    #expect(request.service.signingName == "kms")
    #expect(String(decoding: request.body, as: UTF8.self) == #"{"CustomKeyStoreId":"cks-1"}"#)
    await client.shutdown()
  }

  @Test func awsErrorsBecomeKMSErrorsWithTheirCode() async throws {
    let fake = FakeKMS()
    fake.update {
      $0.failures = [
        .success(FakeKMS.error("com.amazonaws.kms#CustomKeyStoreInvalidStateException", "is FAILED"))
      ]
    }
    let client = makeClient(fake)
    await #expect(throws: KMSError(.customKeyStoreInvalidStateException, "is FAILED (Request ID: rid-1)")) {
      _ = try await client.disconnectCustomKeyStore(
        DisconnectCustomKeyStoreRequest(customKeyStoreId: "cks-1"))
    }
  }

  @Test func transportFailuresPassThrough() async throws {
    let fake = FakeKMS()
    let lost = KMSTransportError(.connectionFailed, endpoint: "http://127.0.0.1:4599", detail: "refused")
    fake.update { $0.failures = [.failure(lost)] }
    await #expect(throws: lost) {
      _ = try await makeClient(fake).listKeys(ListKeysRequest())
    }
  }

  @Test func undecodableAnswerIsAnInvalidResponse() async throws {
    let fake = FakeKMS()
    fake.update {
      $0.failures = [.success(KMSWireResponse(status: 200, body: Data(#"{"KeyMetadata":{}}"#.utf8)))]
    }
    let error = await #expect(throws: KMSTransportError.self) {
      _ = try await makeClient(fake).describeKey(DescribeKeyRequest(keyId: "k"))
    }
    #expect(error?.kind == .invalidResponse)
    #expect(error?.detail.contains("KeyMetadata.KeyId") == true)
  }

  @Test func simulatorControlsAgainstAKmsdashServer() async throws {
    let fake = FakeKMS()
    fake.update { $0.clusters = [Build.cluster("cluster-1", hsms: [])] }
    let client = makeClient(fake)
    #expect(try await client.isSimulator())
    try await client.setFault(.kmsuserLockedOut, enabled: true, clusterId: "cluster-1")
    #expect(try await client.faults(clusterId: "cluster-1") == [.kmsuserLockedOut])
    #expect(try await client.predictConnectOutcome(customKeyStoreId: "cks-1") == .fails(.userLockedOut))
    let setFault = try #require(fake.requests.first { $0.operation == "SetFault" })
    #expect(setFault.target == "KmsdashSimulator.SetFault")
    let body = try #require(try JSONSerialization.jsonObject(with: setFault.body) as? [String: Any])
    #expect(body["Fault"] as? String == "KMSUSER_LOCKED_OUT")
    #expect(body["Enabled"] as? Bool == true)
    // The probe ran once.
    #expect(
      fake.requests.filter {
        $0.operation == "ListFaults" && String(decoding: $0.body, as: UTF8.self).contains("kmsdashprobe")
      }.count == 1)
  }

  @Test func simulatorControlsRefusedElsewhere() async throws {
    let fake = FakeKMS()
    fake.update { $0.isSimulator = false }
    let client = makeClient(fake)
    #expect(try await client.isSimulator() == false)
    let error = await #expect(throws: KMSError.self) {
      try await client.setFault(.subnetFull, enabled: true, clusterId: "cluster-1")
    }
    #expect(error?.code == .unsupportedOperationException)
    #expect(error?.message.contains("only by a kmsdash server") == true)
    await #expect(throws: KMSError.self) {
      _ = try await client.createHsm(CreateHsmRequest(clusterId: "cluster-1", availabilityZone: "us-east-1a"))
    }
    // Never sent: creating an HSM on real AWS costs money.
    #expect(fake.count("CreateHsm") == 0)
    // DescribeClusters is not simulator-only.
    _ = try await client.describeClusters(DescribeClustersRequest())
    #expect(fake.requests.last?.target == "BaldrApiService.DescribeClusters")
  }

  @Test func probeIsNotCachedOnAnInconclusiveAnswer() async throws {
    let fake = FakeKMS()
    fake.update { $0.failures = [.success(FakeKMS.error("ThrottlingException"))] }
    let client = makeClient(fake)
    #expect(try await client.isSimulator() == false)
    #expect(try await client.isSimulator() == true)
  }

  @Test func configurationResolvesFromTheChainAndDerivesCloudHSMEndpoint() async throws {
    let chain = AWSCredentialChain(environment: try Fixture.environment(), homeDirectory: Fixture.emptyHome)
    let remote = try await KMSHTTPClient.Configuration.resolve(
      endpoint: nil, profile: "prod", region: nil, chain: chain, lookUpIdentity: false)
    #expect(remote.endpoint.absoluteString == "https://kms.eu-central-1.amazonaws.com")
    #expect(
      remote.effectiveCloudHSMEndpoint.absoluteString == "https://cloudhsmv2.eu-central-1.amazonaws.com")
    #expect(remote.profile == "prod")
    #expect(remote.credentials?.sessionToken == "tokenProdFile//+==")

    let local = try await KMSHTTPClient.Configuration.resolve(
      endpoint: URL(string: "http://127.0.0.1:4599"), profile: nil, region: "us-east-1", chain: chain)
    #expect(local.effectiveCloudHSMEndpoint == local.endpoint)
    let fromProfile = try await KMSHTTPClient.Configuration.resolve(
      endpoint: nil, profile: "local", region: nil, chain: chain, lookUpIdentity: false)
    #expect(fromProfile.endpoint.absoluteString == "http://127.0.0.1:4599")
  }
}
