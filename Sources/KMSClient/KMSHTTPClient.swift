import AWSSigV4
import Foundation
import KMSModel

/// `KeyStoreService` and `SimulatorControl` over HTTP: AWS JSON 1.1 to any KMS endpoint (a
/// `kmsdash serve`, or real AWS KMS), SigV4-signed, with live state by polling.
///
/// ```swift
/// let client = try KMSHTTPClient(endpoint: url, profile: "prod", region: "eu-west-1")
/// for await _ in await client.changes() { render(try await client.fleetSnapshot()) }
/// ```
///
/// The QA controls (`SimulatorControl`, except `describeClusters`) work only against a kmsdash
/// server; elsewhere they throw `UnsupportedOperationException`. `isSimulator()` says which.
public final class KMSHTTPClient: KeyStoreService, SimulatorControl, FleetObserving, FleetActions {
  public struct Configuration: Sendable {
    /// The KMS endpoint, e.g. `http://127.0.0.1:4599` or `https://kms.eu-west-1.amazonaws.com`.
    public var endpoint: URL
    /// Where CloudHSM v2 (`BaldrApiService`) is served. nil: `https://cloudhsmv2.<region>.amazonaws.com`
    /// when `endpoint` is AWS's own KMS host, else `endpoint` itself (a kmsdash server serves both).
    public var cloudHSMEndpoint: URL?
    public var region: String
    /// nil sends unsigned requests (only a `kmsdash serve --no-auth` accepts them).
    public var credentials: AWSCredentials?
    /// When set, requests are signed with its current credentials (temporary credentials are
    /// refreshed before they expire); `credentials` is then ignored.
    public var credentialProvider: (any AWSCredentialProvider)?
    /// Shown in the dashboard's header.
    public var profile: String?
    /// Who the credentials are (`sts:GetCallerIdentity`), when it was looked up.
    public var identity: AWSCallerIdentity?
    /// Where the credentials come from, for the header. Never a secret.
    public var credentialSource: String?
    /// Per-request deadline.
    public var timeout: Duration
    public var polling: PollingOptions
    /// A PEM file of trusted roots (`AWS_CA_BUNDLE` / `ca_bundle`); nil: the system's.
    public var caBundle: String?

    public init(
      endpoint: URL, region: String, credentials: AWSCredentials?, profile: String? = nil,
      cloudHSMEndpoint: URL? = nil, timeout: Duration = .seconds(10), polling: PollingOptions = .init(),
      credentialProvider: (any AWSCredentialProvider)? = nil, caBundle: String? = nil
    ) {
      self.endpoint = endpoint
      self.region = region
      self.credentials = credentials
      self.profile = profile
      self.cloudHSMEndpoint = cloudHSMEndpoint
      self.timeout = timeout
      self.polling = polling
      self.credentialProvider = credentialProvider
      self.caBundle = caBundle
    }

    /// Resolves `--endpoint URL --profile NAME --region R` through the AWS credential chain, as the
    /// AWS CLI v2 does, and fetches the first credentials (so an MFA prompt, a `credential_process`
    /// or an expired SSO login happens before the dashboard takes the screen).
    ///
    /// KMS endpoint: `endpoint`, else `AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL`, the `kms`
    /// entry of the profile's services section, the profile's `endpoint_url`, else AWS's KMS host
    /// for the region (FIPS / dual-stack as configured). CloudHSM v2 likewise
    /// (`AWS_ENDPOINT_URL_CLOUDHSM_V2`, `cloudhsm_v2`), defaulting to the KMS endpoint when that is
    /// not AWS's (a kmsdash server serves both).
    ///
    /// The identity (`sts:GetCallerIdentity`) is looked up when `lookUpIdentity` is set and STS
    /// is either configured or the KMS endpoint is AWS's own; failures leave it nil.
    public static func resolve(
      endpoint: URL?, profile: String?, region: String?, chain: AWSCredentialChain = AWSCredentialChain(),
      polling: PollingOptions = .init(), fetch: CredentialFetchContext? = nil, lookUpIdentity: Bool = true
    ) async throws -> Configuration {
      let profile = try await ResolvedProfile.resolve(
        profile: profile, region: region, chain: chain, polling: polling, fetch: fetch,
        lookUpIdentity: lookUpIdentity, identityEndpoint: endpoint)
      return profile.configuration(endpoint: endpoint, region: profile.resolved.region)
    }

    static func isAWSHost(_ url: URL) -> Bool {
      guard let host = url.host?.lowercased() else { return false }
      return host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn")
        || host.hasSuffix(".api.aws")
        || host.hasSuffix(".api.amazonwebservices.com.cn")
    }

    /// The CloudHSM v2 endpoint in effect.
    public var effectiveCloudHSMEndpoint: URL {
      if let cloudHSMEndpoint { return cloudHSMEndpoint }
      guard let host = endpoint.host?.lowercased(), endpoint.scheme?.lowercased() == "https" else {
        return endpoint
      }
      for prefix in ["kms.", "kms-fips."] where host.hasPrefix(prefix) && host.contains(".amazonaws.com") {
        let rest = host.dropFirst(prefix.count)
        if let dot = rest.firstIndex(of: ".") {
          let region = String(rest[..<dot])
          return URL(string: "https://\(Self.awsHost("cloudhsmv2", region: region))")!
        }
      }
      return endpoint
    }

    static func awsHost(_ service: String, region: String) -> String {
      region.hasPrefix("cn-") ? "\(service).\(region).amazonaws.com.cn" : "\(service).\(region).amazonaws.com"
    }
  }

  /// One profile resolved once (credentials fetched, identity looked up), for any number of
  /// Regions: a view over many Regions asks for MFA or runs a `credential_process` once per
  /// profile, and every Region's client signs with the same refreshing provider.
  public struct ResolvedProfile: Sendable {
    public var resolved: AWSResolvedConfiguration
    public var provider: any AWSCredentialProvider
    /// Who the credentials are (`sts:GetCallerIdentity`), when it was looked up.
    public var identity: AWSCallerIdentity?
    public var polling: PollingOptions
    /// The credentials fetched while resolving.
    public var firstCredentials: AWSCredentials
    let http: any AWSHTTPSending
    let now: @Sendable () -> Date

    /// Resolves `--profile NAME` through the AWS credential chain, as the AWS CLI v2 does, and
    /// fetches the first credentials (so an MFA prompt, a `credential_process` or an expired SSO
    /// login happens before the dashboard takes the screen).
    ///
    /// The identity (`sts:GetCallerIdentity`) is looked up when `lookUpIdentity` is set and STS
    /// is either configured or the KMS endpoint is AWS's own; failures leave it nil.
    public static func resolve(
      profile: String?, region: String?, chain: AWSCredentialChain = AWSCredentialChain(),
      polling: PollingOptions = .init(), fetch: CredentialFetchContext? = nil, lookUpIdentity: Bool = true,
      identityEndpoint: URL? = nil
    ) async throws -> ResolvedProfile {
      let resolved = try chain.resolve(profile: profile, region: region)
      let endpoints = resolved.endpoints
      let url = identityEndpoint ?? endpoints.url(.kms, region: resolved.region)
      let httpClient = try HTTPClients.client(caBundle: resolved.caBundle)
      let http: any AWSHTTPSending = fetch?.http ?? AsyncHTTPSender(client: httpClient)
      let context =
        fetch
        ?? CredentialFetchContext(
          http: http, homeDirectory: chain.homeDirectory, environment: chain.environment,
          mfaCode: TerminalPrompt.mfaCode)
      let provider = resolved.plan.makeProvider(context)
      let first = try await provider.credentials()
      var identity: AWSCallerIdentity?
      if lookUpIdentity && (endpoints.configured(.sts) != nil || Configuration.isAWSHost(url)) {
        let sts = STSClient(
          endpoint: endpoints.url(.sts, region: resolved.region),
          region: AWSEndpointResolver.stsSigningRegion(resolved.region), http: context.http,
          timeout: .seconds(5), now: context.now)
        identity = try? await sts.getCallerIdentity(credentials: try await provider.credentials())
      }
      return ResolvedProfile(
        resolved: resolved, provider: provider, identity: identity, polling: polling, firstCredentials: first,
        http: context.http,
        now: context.now)
    }

    /// The client configuration for one Region: the KMS endpoint as the CLI resolves it for that
    /// Region (or `endpoint`), the same credentials.
    public func configuration(endpoint: URL?, region: String) -> Configuration {
      let endpoints = resolved.endpoints
      let url = endpoint ?? endpoints.url(.kms, region: region)
      var configuration = Configuration(
        endpoint: url, region: region, credentials: firstCredentials,
        // Credentials from the environment use no profile; do not claim one in the header.
        profile: resolved.credentialSource == "environment" ? nil : resolved.profile,
        cloudHSMEndpoint: endpoints.configured(.cloudHSMV2)?.url
          ?? (Configuration.isAWSHost(url) ? endpoints.url(.cloudHSMV2, region: region) : nil),
        polling: polling, credentialProvider: provider, caBundle: resolved.caBundle)
      configuration.credentialSource = resolved.credentialSource
      configuration.identity = identity
      return configuration
    }

    /// The Regions enabled for this profile's account (`ec2:DescribeRegions`, which lists the
    /// Regions enabled by default and those opted in), sorted.
    public func enabledRegions() async throws -> [String] {
      let ec2 = EC2RegionsClient(
        endpoint: resolved.endpoints.url(.ec2, region: resolved.region), region: resolved.region, http: http,
        now: now)
      return try await ec2.describeRegions(credentials: try await provider.credentials())
    }
  }

  public let configuration: Configuration
  let caller: KMSCaller
  let probe: SimulatorProbe
  let poller: FleetPoller

  /// A client over AsyncHTTPClient (`HTTPClient.shared`, or one trusting `caBundle`).
  public convenience init(configuration: Configuration) {
    let transport = HTTPTransport(
      endpoints: [
        .kms: configuration.endpoint, .simulator: configuration.endpoint,
        .cloudHSM: configuration.effectiveCloudHSMEndpoint,
      ],
      signer: KMSRequestSigner(credentials: configuration.credentials, region: configuration.region),
      // `resolve` already loaded the bundle (and reported a bad one); this finds it cached.
      timeout: configuration.timeout,
      client: (try? HTTPClients.client(caBundle: configuration.caBundle)) ?? .shared,
      credentialProvider: configuration.credentialProvider)
    self.init(configuration: configuration, transport: transport)
  }

  /// `kmsdash --endpoint URL [--profile NAME] [--region R]`: credentials and region from the AWS
  /// chain (environment, shared files, roles, SSO, processes, metadata), then the HTTP client.
  public convenience init(
    endpoint: URL?, profile: String?, region: String?, chain: AWSCredentialChain = AWSCredentialChain(),
    polling: PollingOptions = .init()
  ) async throws {
    self.init(
      configuration: try await Configuration.resolve(
        endpoint: endpoint, profile: profile, region: region, chain: chain, polling: polling))
  }

  /// A client over any transport (tests use a scripted one) and clock.
  public init(
    configuration: Configuration, transport: any KMSTransport, clock: any PollingClock = SystemPollingClock()
  ) {
    self.configuration = configuration
    caller = KMSCaller(transport: transport, endpoint: configuration.endpoint.absoluteString)
    probe = SimulatorProbe(caller: caller)
    poller = FleetPoller(
      caller: caller, probe: probe, clock: clock, options: configuration.polling,
      identity: BackendStatus(
        endpoint: configuration.endpoint.absoluteString, region: configuration.region,
        profile: configuration.profile))
  }

  /// Stops polling; every `changes()` stream finishes.
  public func shutdown() async {
    await poller.stop()
  }

  // MARK: Plumbing

  private func kms<Response: Decodable>(_ operation: String, _ request: some Encodable) async throws
    -> Response
  {
    try await caller.call(.kms, operation, request, as: Response.self)
  }

  /// A call that changes the fleet: refresh right after it, so the dashboard sees the change at once.
  /// `key`: the key it changed (ID or ARN), described again on that refresh.
  private func change<Response: Decodable>(_ operation: String, _ request: some Encodable, key: String? = nil)
    async throws -> Response
  {
    let response: Response = try await kms(operation, request)
    await poller.refreshSoon(key: key.map(Self.keyId(from:)))
    return response
  }

  /// The key ID of a key ID or key ARN (an alias stays as it is: no key of that ID is listed).
  static func keyId(from reference: String) -> String {
    guard reference.hasPrefix("arn:"), let range = reference.range(of: ":key/") else { return reference }
    return String(reference[range.upperBound...])
  }

  // MARK: KeyStoreService

  public func createCustomKeyStore(_ request: CreateCustomKeyStoreRequest) async throws
    -> CreateCustomKeyStoreResponse
  { try await change("CreateCustomKeyStore", request) }

  public func describeCustomKeyStores(_ request: DescribeCustomKeyStoresRequest) async throws
    -> DescribeCustomKeyStoresResponse
  { try await kms("DescribeCustomKeyStores", request) }

  public func connectCustomKeyStore(_ request: ConnectCustomKeyStoreRequest) async throws
    -> ConnectCustomKeyStoreResponse
  { try await change("ConnectCustomKeyStore", request) }

  public func disconnectCustomKeyStore(_ request: DisconnectCustomKeyStoreRequest) async throws
    -> DisconnectCustomKeyStoreResponse
  { try await change("DisconnectCustomKeyStore", request) }

  public func updateCustomKeyStore(_ request: UpdateCustomKeyStoreRequest) async throws
    -> UpdateCustomKeyStoreResponse
  { try await change("UpdateCustomKeyStore", request) }

  public func deleteCustomKeyStore(_ request: DeleteCustomKeyStoreRequest) async throws
    -> DeleteCustomKeyStoreResponse
  { try await change("DeleteCustomKeyStore", request) }

  public func createKey(_ request: CreateKeyRequest) async throws -> CreateKeyResponse {
    try await change("CreateKey", request)
  }

  public func describeKey(_ request: DescribeKeyRequest) async throws -> DescribeKeyResponse {
    try await kms("DescribeKey", request)
  }

  public func listKeys(_ request: ListKeysRequest) async throws -> ListKeysResponse {
    try await kms("ListKeys", request)
  }

  public func enableKey(_ request: EnableKeyRequest) async throws -> EnableKeyResponse {
    try await change("EnableKey", request, key: request.keyId)
  }

  public func disableKey(_ request: DisableKeyRequest) async throws -> DisableKeyResponse {
    try await change("DisableKey", request, key: request.keyId)
  }

  public func scheduleKeyDeletion(_ request: ScheduleKeyDeletionRequest) async throws
    -> ScheduleKeyDeletionResponse
  { try await change("ScheduleKeyDeletion", request, key: request.keyId) }

  public func cancelKeyDeletion(_ request: CancelKeyDeletionRequest) async throws -> CancelKeyDeletionResponse
  {
    try await change("CancelKeyDeletion", request, key: request.keyId)
  }

  public func createAlias(_ request: CreateAliasRequest) async throws -> CreateAliasResponse {
    try await change("CreateAlias", request)
  }

  public func deleteAlias(_ request: DeleteAliasRequest) async throws -> DeleteAliasResponse {
    try await change("DeleteAlias", request)
  }

  public func listAliases(_ request: ListAliasesRequest) async throws -> ListAliasesResponse {
    try await kms("ListAliases", request)
  }

  public func encrypt(_ request: EncryptRequest) async throws -> EncryptResponse {
    try await kms("Encrypt", request)
  }

  public func decrypt(_ request: DecryptRequest) async throws -> DecryptResponse {
    try await kms("Decrypt", request)
  }

  public func reEncrypt(_ request: ReEncryptRequest) async throws -> ReEncryptResponse {
    try await kms("ReEncrypt", request)
  }

  public func generateDataKey(_ request: GenerateDataKeyRequest) async throws -> GenerateDataKeyResponse {
    try await kms("GenerateDataKey", request)
  }

  public func generateDataKeyWithoutPlaintext(_ request: GenerateDataKeyWithoutPlaintextRequest) async throws
    -> GenerateDataKeyWithoutPlaintextResponse
  { try await kms("GenerateDataKeyWithoutPlaintext", request) }

  public func generateRandom(_ request: GenerateRandomRequest) async throws -> GenerateRandomResponse {
    try await kms("GenerateRandom", request)
  }

  public func tagResource(_ request: TagResourceRequest) async throws -> TagResourceResponse {
    try await change("TagResource", request, key: request.keyId)
  }

  public func untagResource(_ request: UntagResourceRequest) async throws -> UntagResourceResponse {
    try await change("UntagResource", request, key: request.keyId)
  }

  public func listResourceTags(_ request: ListResourceTagsRequest) async throws -> ListResourceTagsResponse {
    try await kms("ListResourceTags", request)
  }

  public func getKeyPolicy(_ request: GetKeyPolicyRequest) async throws -> GetKeyPolicyResponse {
    try await kms("GetKeyPolicy", request)
  }

  public func putKeyPolicy(_ request: PutKeyPolicyRequest) async throws -> PutKeyPolicyResponse {
    try await change("PutKeyPolicy", request)
  }

  public func listKeyPolicies(_ request: ListKeyPoliciesRequest) async throws -> ListKeyPoliciesResponse {
    try await kms("ListKeyPolicies", request)
  }

  public func createGrant(_ request: CreateGrantRequest) async throws -> CreateGrantResponse {
    try await change("CreateGrant", request)
  }

  public func listGrants(_ request: ListGrantsRequest) async throws -> ListGrantsResponse {
    try await kms("ListGrants", request)
  }

  public func listRetirableGrants(_ request: ListRetirableGrantsRequest) async throws
    -> ListRetirableGrantsResponse
  {
    try await kms("ListRetirableGrants", request)
  }

  public func retireGrant(_ request: RetireGrantRequest) async throws -> RetireGrantResponse {
    try await change("RetireGrant", request)
  }

  public func revokeGrant(_ request: RevokeGrantRequest) async throws -> RevokeGrantResponse {
    try await change("RevokeGrant", request)
  }

  public func enableKeyRotation(_ request: EnableKeyRotationRequest) async throws -> EnableKeyRotationResponse
  {
    try await change("EnableKeyRotation", request, key: request.keyId)
  }

  public func disableKeyRotation(_ request: DisableKeyRotationRequest) async throws
    -> DisableKeyRotationResponse
  {
    try await change("DisableKeyRotation", request, key: request.keyId)
  }

  public func getKeyRotationStatus(_ request: GetKeyRotationStatusRequest) async throws
    -> GetKeyRotationStatusResponse
  {
    try await kms("GetKeyRotationStatus", request)
  }

  public func rotateKeyOnDemand(_ request: RotateKeyOnDemandRequest) async throws -> RotateKeyOnDemandResponse
  {
    try await change("RotateKeyOnDemand", request)
  }

  public func listKeyRotations(_ request: ListKeyRotationsRequest) async throws -> ListKeyRotationsResponse {
    try await kms("ListKeyRotations", request)
  }

  public func updateAlias(_ request: UpdateAliasRequest) async throws -> UpdateAliasResponse {
    try await change("UpdateAlias", request)
  }

  public func updateKeyDescription(_ request: UpdateKeyDescriptionRequest) async throws
    -> UpdateKeyDescriptionResponse
  {
    try await change("UpdateKeyDescription", request, key: request.keyId)
  }

  public func getKeyLastUsage(_ request: GetKeyLastUsageRequest) async throws -> GetKeyLastUsageResponse {
    try await kms("GetKeyLastUsage", request)
  }

  public func getParametersForImport(_ request: GetParametersForImportRequest) async throws
    -> GetParametersForImportResponse
  {
    try await change("GetParametersForImport", request)
  }

  public func importKeyMaterial(_ request: ImportKeyMaterialRequest) async throws -> ImportKeyMaterialResponse
  {
    try await change("ImportKeyMaterial", request, key: request.keyId)
  }

  public func deleteImportedKeyMaterial(_ request: DeleteImportedKeyMaterialRequest) async throws
    -> DeleteImportedKeyMaterialResponse
  {
    try await change("DeleteImportedKeyMaterial", request, key: request.keyId)
  }

  public func replicateKey(_ request: ReplicateKeyRequest) async throws -> ReplicateKeyResponse {
    try await change("ReplicateKey", request)
  }

  public func updatePrimaryRegion(_ request: UpdatePrimaryRegionRequest) async throws
    -> UpdatePrimaryRegionResponse
  {
    try await change("UpdatePrimaryRegion", request)
  }

  public func getPublicKey(_ request: GetPublicKeyRequest) async throws -> GetPublicKeyResponse {
    try await kms("GetPublicKey", request)
  }

  public func sign(_ request: SignRequest) async throws -> SignResponse {
    try await kms("Sign", request)
  }

  public func verify(_ request: VerifyRequest) async throws -> VerifyResponse {
    try await kms("Verify", request)
  }

  public func generateMac(_ request: GenerateMacRequest) async throws -> GenerateMacResponse {
    try await kms("GenerateMac", request)
  }

  public func verifyMac(_ request: VerifyMacRequest) async throws -> VerifyMacResponse {
    try await kms("VerifyMac", request)
  }

  public func deriveSharedSecret(_ request: DeriveSharedSecretRequest) async throws
    -> DeriveSharedSecretResponse
  {
    try await kms("DeriveSharedSecret", request)
  }

  public func generateDataKeyPair(_ request: GenerateDataKeyPairRequest) async throws
    -> GenerateDataKeyPairResponse
  {
    try await kms("GenerateDataKeyPair", request)
  }

  public func generateDataKeyPairWithoutPlaintext(_ request: GenerateDataKeyPairWithoutPlaintextRequest)
    async throws -> GenerateDataKeyPairWithoutPlaintextResponse
  {
    try await kms("GenerateDataKeyPairWithoutPlaintext", request)
  }

  /// The latest polled snapshot; the first call waits for the first refresh (and throws if it fails).
  public func fleetSnapshot() async throws -> FleetSnapshot {
    try await poller.snapshot()
  }

  /// What each refresh changed (or that the endpoint is lost or recovers), as deltas; starts polling.
  public func changes() async -> AsyncStream<FleetDelta> {
    await poller.subscribe()
  }

  // MARK: SimulatorControl

  /// Whether the endpoint is a kmsdash server (answers the `KmsdashSimulator` target). Cached once
  /// known; a network failure throws.
  public func isSimulator() async throws -> Bool {
    try await probe.isSimulator()
  }

  func requireSimulator(_ operation: String) async throws {
    guard try await probe.isSimulator() else {
      throw KMSError(
        .unsupportedOperationException,
        "\(operation) is offered only by a kmsdash server; \(configuration.endpoint.absoluteString) is not one."
      )
    }
  }

  /// Works on real AWS too (CloudHSM v2, signing name `cloudhsm`).
  public func describeClusters(_ request: DescribeClustersRequest) async throws -> DescribeClustersResponse {
    try await caller.call(.cloudHSM, "DescribeClusters", request, as: DescribeClustersResponse.self)
  }

  /// Simulator only: on real AWS this would create a billable HSM.
  public func createHsm(_ request: CreateHsmRequest) async throws -> CreateHsmResponse {
    try await requireSimulator("CreateHsm")
    let response = try await caller.call(.cloudHSM, "CreateHsm", request, as: CreateHsmResponse.self)
    await poller.refreshSoon()
    return response
  }

  /// Simulator only: on real AWS this would delete a production HSM.
  public func deleteHsm(_ request: DeleteHsmRequest) async throws -> DeleteHsmResponse {
    try await requireSimulator("DeleteHsm")
    let response = try await caller.call(.cloudHSM, "DeleteHsm", request, as: DeleteHsmResponse.self)
    await poller.refreshSoon()
    return response
  }

  public func setHsmFailed(clusterId: String, hsmId: String, failed: Bool) async throws {
    try await requireSimulator("SetHsmFailed")
    _ = try await caller.call(
      .simulator, "SetHsmFailed", SetHsmFailedRequest(clusterId: clusterId, hsmId: hsmId, failed: failed),
      as: EmptyResponse.self)
    await poller.refreshSoon()
  }

  public func setFault(_ fault: SimulatorFault, enabled: Bool, clusterId: String) async throws {
    try await requireSimulator("SetFault")
    _ = try await caller.call(
      .simulator, "SetFault", SetFaultRequest(clusterId: clusterId, fault: fault.rawValue, enabled: enabled),
      as: ListFaultsResponse.self)
    await poller.refreshSoon()
  }

  public func setKmsuserPassword(_ password: String, clusterId: String) async throws {
    try await requireSimulator("SetKmsuserPassword")
    _ = try await caller.call(
      .simulator, "SetKmsuserPassword", SetKmsuserPasswordRequest(clusterId: clusterId, password: password),
      as: EmptyResponse.self)
    await poller.refreshSoon()
  }

  /// `KmsdashSimulator.Reset`: every Region of a `kmsdash serve` back to its scenario (`kmsdash
  /// reset`). Not probed first, like `listFaults`: the endpoint's own error is the answer.
  public func resetSimulator() async throws {
    _ = try await caller.call(.simulator, "Reset", EmptyResponse(), as: EmptyResponse.self)
    await poller.refreshSoon()
  }

  /// The cluster's faults with every fault available and its summary (`kmsdash fault --list`).
  /// Not probed first: the endpoint's own error (an authentication failure, an unknown
  /// operation on a server that is not kmsdash) is the answer.
  public func listFaults(clusterId: String) async throws -> ListFaultsResponse {
    try await caller.call(
      .simulator, "ListFaults", ListFaultsRequest(clusterId: clusterId), as: ListFaultsResponse.self)
  }

  public func faults(clusterId: String) async throws -> Set<SimulatorFault> {
    try await requireSimulator("ListFaults")
    return try await caller.faults(clusterId: clusterId)
  }

  public func predictConnectOutcome(customKeyStoreId: String) async throws -> ConnectPrediction {
    try await requireSimulator("PredictConnectOutcome")
    let answer = try await caller.call(
      .simulator, "PredictConnectOutcome", PredictConnectOutcomeRequest(customKeyStoreId: customKeyStoreId),
      as: PredictConnectOutcomeResponse.self)
    guard let prediction = answer.prediction else {
      throw KMSTransportError(
        .invalidResponse, endpoint: "-",
        detail: "PredictConnectOutcome answered an unknown outcome '\(answer.outcome)'")
    }
    return prediction
  }
}

extension KMSCaller {
  func faults(clusterId: String) async throws -> Set<SimulatorFault> {
    try await call(
      .simulator, "ListFaults", ListFaultsRequest(clusterId: clusterId), as: ListFaultsResponse.self
    )
    .setFaults
  }
}

/// Finds out once whether the endpoint is a kmsdash server: a `KmsdashSimulator.ListFaults` call
/// for a cluster that does not exist answers `CloudHsmResourceNotFoundException` there, and
/// `UnknownOperationException` (or `UnsupportedOperationException`) anywhere else.
actor SimulatorProbe {
  static let probeClusterId = "cluster-kmsdashprobe"
  static let simulatorCodes: Set<KMSErrorCode> = [
    .cloudHsmResourceNotFoundException, .cloudHsmClusterNotFoundException,
  ]
  static let notSimulatorCodes: Set<KMSErrorCode> = [
    .unknownOperationException, .unsupportedOperationException, KMSErrorCode("UnknownOperation"),
    KMSErrorCode("InvalidAction"), KMSErrorCode("404"),
  ]

  let caller: KMSCaller
  private(set) var known: Bool?

  init(caller: KMSCaller) { self.caller = caller }

  func isSimulator() async throws -> Bool {
    if let known { return known }
    do {
      _ = try await caller.faults(clusterId: Self.probeClusterId)
      known = true
    } catch let error as KMSError {
      if Self.simulatorCodes.contains(error.code) {
        known = true
      } else if Self.notSimulatorCodes.contains(error.code) {
        known = false
      } else {
        return false  // e.g. denied or throttled: not cached, asked again next time
      }
    }
    return known ?? false
  }
}
