import Crypto
import Foundation
import HSMSimulator
import KMSModel

/// What the engine keeps about XKS proxy calls in flight. Not saved: after a restart a connect
/// that was waiting for its health check runs its attempt again.
struct XKSEngineState {
  /// Injected by the app (`XKSClient`); nil keeps XKS stores offline (no proxy is ever called,
  /// and connects succeed at once, as before XKS was simulated).
  var client: (any XKSProxyCalling)?
  /// QA control of the proxies behind external stores (`kmsdash serve`: `kmsdash xks-proxy`s
  /// reached through `--xks-route`); nil: their faults cannot be set through the engine.
  var faultControl: (any XKSProxyEndpointFaultControl)?
  /// The simulated VPC endpoint services by name (saved in the engine's meta record).
  var vpcServices: [String: XKSVPCEndpointService] = [:]
  /// Stores whose connect attempt waits for a GetHealthStatus answer, with the attempt's token.
  var probes: [String: UInt64] = [:]
  var nextToken: UInt64 = 0
  /// Calls running outside the actor, so tests can wait for them (`xksCallsSettled`).
  var tasks: [UInt64: Task<Void, Never>] = [:]
  /// The next periodic `KmsHealthCheck` round (while some XKS store is CONNECTED).
  var nextHealthCheckAt: Date?
  /// The external key stores, and those CONNECTED, kept from what each commit touched (no
  /// fleet scan).
  var externalStores: Set<String> = []
  var connectedStores: Set<String> = []
  /// Proxy errors of crypto calls (reads, which never write) by store and name, folded into the
  /// store's saved health by its next health check.
  var unsavedErrors: [String: [String: Int]] = [:]

  /// KMS checks every few minutes; divided by `--time-scale`.
  static let healthCheckInterval: TimeInterval = 300
}

extension KeyStoreEngine {
  // MARK: Wiring

  /// Gives the engine its XKS proxy client (the app injects `XKSHTTPClient`).
  public func useXKSProxy(_ client: (any XKSProxyCalling)?) { xks.client = client }

  /// Waits until every proxy call started by the engine has answered and its result is applied
  /// (tests on a manual clock: advance, `runDueWork()`, then this).
  public func xksCallsSettled() async {
    while let (id, task) = xks.tasks.first {
      await task.value
      xks.tasks[id] = nil
    }
  }

  /// What the engine last saw of a store's proxy (saved with the store), with the crypto errors
  /// counted since.
  public func xksHealth(customKeyStoreId: String) -> XKSStoreHealth? {
    guard let store = stores[customKeyStoreId], var health = xksSavedHealth(store) else { return nil }
    for (name, count) in xks.unsavedErrors[customKeyStoreId] ?? [:] {
      health.errorCounts[name, default: 0] += count
    }
    return health
  }

  /// The store's saved health, with its VPC endpoint service as the account has it now (what a
  /// commit publishes: the crypto errors not yet saved are left to `xksHealth`).
  func xksSavedHealth(_ store: StoreRecord) -> XKSStoreHealth? {
    guard let settings = store.xks, var health = settings.health else { return nil }
    if settings.connectivity == .vpcEndpointService, let name = settings.vpcEndpointServiceName {
      let failure = xksVPCConnectFailure(store)
      health.vpcEndpointService = XKSVPCEndpointServiceStatus(
        serviceName: name, service: xks.vpcServices[name], connectOutcome: failure?.0, problem: failure?.1)
    }
    return health
  }

  /// Counts a failed proxy call of a crypto operation (in memory until the next health check).
  func noteXKSFailure(storeId: String?, _ failure: XKSCallFailure) {
    guard let storeId else { return }
    xks.unsavedErrors[storeId, default: [:]][failure.errorLabel, default: 0] += 1
  }

  /// The store's health after a GetHealthStatus answer, with the errors counted since the last one.
  func healthAfter(
    _ store: StoreRecord, operation: String, date: Date, milliseconds: Double?,
    _ result: Result<XKSHealthResponse, XKSCallFailure>, certificateNotAfter: Date? = nil
  ) -> XKSStoreHealth {
    var health = store.xks?.health ?? XKSStoreHealth()
    if let certificateNotAfter { health.certificateNotAfter = certificateNotAfter }
    health.checkedAt = date
    health.checkOperation = operation
    health.latencyMilliseconds = milliseconds
    health.connectOutcome = Self.connectionErrorCode(for: result)
    for (name, count) in xks.unsavedErrors[store.id] ?? [:] { health.errorCounts[name, default: 0] += count }
    switch result {
    case .success(let answer):
      health.failure = nil
      health.proxyVendor = answer.xksProxyVendor
      health.proxyModel = answer.xksProxyModel
      health.ekmVendor = answer.ekmVendor
      health.ekmFleet = (answer.ekmFleetDetails ?? []).map {
        XKSStoreHealth.EKMMember(id: $0.id ?? "?", model: $0.model, healthStatus: $0.healthStatus ?? "?")
      }
    case .failure(let failure):
      health.failure = failure.description
      health.errorCounts[failure.errorLabel, default: 0] += 1
    }
    return health
  }

  /// Measures one proxy call on the wall clock (the 250 ms bound is real time, not demo time).
  static func timed<T>(_ body: () async throws(XKSCallFailure) -> T) async -> (
    Result<T, XKSCallFailure>, Double
  ) {
    let started = ContinuousClock.now
    let result: Result<T, XKSCallFailure>
    do throws(XKSCallFailure) {
      result = .success(try await body())
    } catch {
      result = .failure(error)
    }
    let elapsed = ContinuousClock.now - started
    return (result, Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
  }

  // MARK: Periodic KmsHealthCheck (background work, from the driver only)

  /// Files a touched store in or out of the CONNECTED external stores (after a commit or rollback);
  /// a store that left CONNECTING forgets its probe in flight, whose answer is then ignored.
  func updateXKSConnected(_ storeId: String) {
    if stores[storeId]?.machine.connectionState != .connecting { xks.probes[storeId] = nil }
    let store = stores[storeId].flatMap { $0.type == .externalKeyStore ? $0 : nil }
    if store != nil { xks.externalStores.insert(storeId) } else { xks.externalStores.remove(storeId) }
    if store?.machine.connectionState == .connected {
      xks.connectedStores.insert(storeId)
    } else {
      xks.connectedStores.remove(storeId)
    }
  }

  /// When the next round is due; set while some XKS store is CONNECTED and a client exists.
  func xksHealthCheckDue() -> Date? {
    guard xks.client != nil, !xks.connectedStores.isEmpty else {
      xks.nextHealthCheckAt = nil
      return nil
    }
    if xks.nextHealthCheckAt == nil {
      xks.nextHealthCheckAt = clock.now() + XKSEngineState.healthCheckInterval / configuration.timeScale
    }
    return xks.nextHealthCheckAt
  }

  /// The proxy calls of the background work that fell due: the GetHealthStatus of each XKS
  /// connect attempt and the periodic `KmsHealthCheck` round. Called by the driver after its
  /// transaction committed, never inside one: the calls run outside the actor, and each answer
  /// commits (or is recorded) when it comes back.
  func startDueXKSCalls(now: Date) {
    precondition(!inTransaction, "proxy calls never start inside a transaction")
    guard xks.client != nil else { return }
    let due = storeDueDates.compactMap { id, due in
      due <= now && xks.probes[id] == nil ? stores[id].map { ($0, due) } : nil
    }.sorted { ($0.1, $0.0.sequence) < ($1.1, $1.0.sequence) }
    for (store, _) in due where runsXKSProbe(store) && store.machine.connectionState == .connecting {
      startXKSConnectProbe(store)
    }
    runXKSHealthChecksIfDue(now: now)
    recomputeNextDue()
  }

  /// Starts a `KmsHealthCheck` GetHealthStatus for every CONNECTED external store when a round
  /// is due. The answers are recorded, never change a state: a dead proxy leaves a store CONNECTED.
  func runXKSHealthChecksIfDue(now: Date) {
    guard let due = xks.nextHealthCheckAt, due <= now, let client = xks.client else { return }
    xks.nextHealthCheckAt = now + XKSEngineState.healthCheckInterval / configuration.timeScale
    for storeId in xks.connectedStores.sorted() {
      guard let store = stores[storeId], let target = xksTarget(store) else { continue }
      xks.nextToken &+= 1
      let token = xks.nextToken
      let date = now
      let metadata = XKSRequestMetadata(
        kmsOperation: "KmsHealthCheck", kmsRequestId: UUID().uuidString.lowercased())
      startTask(token) { [weak self] in
        let (result, milliseconds) = await Self.timed { () async throws(XKSCallFailure) in
          try await client.getHealthStatus(target, metadata: metadata)
        }
        let notAfter = await Self.certificateNotAfter(client, target, after: result)
        await self?.xksHealthChecked(
          storeId, token, date: date, milliseconds: milliseconds, result, certificateNotAfter: notAfter)
      }
    }
  }

  /// A periodic check answered: its record commits in a transaction of its own (published as a
  /// delta), and never changes the connection state. A failed save drops this record; the next
  /// round records again.
  func xksHealthChecked(
    _ storeId: String, _ token: UInt64, date: Date, milliseconds: Double,
    _ result: Result<XKSHealthResponse, XKSCallFailure>, certificateNotAfter: Date? = nil
  ) {
    xks.tasks[token] = nil
    guard var store = stores[storeId], store.xks != nil else { return }
    let health = healthAfter(
      store, operation: "KmsHealthCheck", date: date, milliseconds: milliseconds, result,
      certificateNotAfter: certificateNotAfter)
    store.xks?.health = health
    do {
      try transaction { () throws(KMSError) in stores[storeId] = store }
      xks.unsavedErrors[storeId] = nil
    } catch {
      return
    }
  }

  // MARK: The store's secret

  /// The XKS secret is kept sealed (AES-GCM under a key derived from the engine's pepper, which
  /// the state store encrypts at rest): KMS must sign with it, so a digest is not enough.
  private var secretKey: SymmetricKey {
    HKDF<SHA256>.deriveKey(
      inputKeyMaterial: fleet.pepper.symmetricKey, info: Data("kmsdash xks proxy secret v1".utf8),
      outputByteCount: 32)
  }

  func sealXksSecret(_ secret: String, accessKeyId: String) -> Data? {
    try? AES.GCM.seal(Data(secret.utf8), using: secretKey, authenticating: Data(accessKeyId.utf8)).combined
  }

  func xksTarget(_ store: StoreRecord) -> XKSProxyTarget? {
    guard let settings = store.xks, let sealed = settings.sealedSecret,
      let box = try? AES.GCM.SealedBox(combined: sealed),
      let clear = try? AES.GCM.open(box, using: secretKey, authenticating: Data(settings.accessKeyId.utf8))
    else { return nil }
    return XKSProxyTarget(
      uriEndpoint: settings.uriEndpoint, uriPath: settings.uriPath, accessKeyId: settings.accessKeyId,
      secretAccessKey: String(decoding: clear, as: UTF8.self), region: configuration.region)
  }

  func xksMetadata(operation: String, keyArn: String? = nil) -> XKSRequestMetadata {
    XKSRequestMetadata(
      awsPrincipalArn: "arn:aws:iam::\(configuration.accountId):root", kmsKeyArn: keyArn,
      kmsOperation: operation,
      kmsRequestId: UUID().uuidString.lowercased())
  }

  // MARK: ConnectCustomKeyStore: the health check runs outside the actor

  /// Whether a store's due connect attempt is an XKS health check (then the engine starts it
  /// and the machine decides when the answer comes back).
  func runsXKSProbe(_ store: StoreRecord) -> Bool { store.type == .externalKeyStore && xks.client != nil }

  /// Starts the GetHealthStatus call of a due connect attempt. Until it answers, the store stays
  /// CONNECTING and its deadline is left out of the due work.
  func startXKSConnectProbe(_ store: StoreRecord) {
    precondition(!inTransaction, "proxy calls never start inside a transaction")
    guard xks.probes[store.id] == nil, let client = xks.client else { return }
    xks.nextToken &+= 1
    let token = xks.nextToken
    xks.probes[store.id] = token
    let storeId = store.id
    if let (code, message) = xksVPCConnectFailure(store) {
      // The endpoint service fails KMS's checks: the proxy is not called.
      startTask(token) { [weak self] in
        await self?.xksConnectProbeFinished(
          storeId, token, .failure(.notReachable(message)), vpcFailure: code)
      }
      return
    }
    guard let target = xksTarget(store) else {
      // No usable credential (a store saved before secrets were kept): the proxy would refuse it.
      startTask(token) { [weak self] in
        await self?.xksConnectProbeFinished(
          storeId, token, .failure(.proxyError(.authenticationFailedException)))
      }
      return
    }
    let metadata = XKSRequestMetadata(
      kmsOperation: "ConnectCustomKeyStore", kmsRequestId: UUID().uuidString.lowercased())
    startTask(token) { [weak self] in
      let (result, milliseconds) = await Self.timed { () async throws(XKSCallFailure) in
        try await client.getHealthStatus(target, metadata: metadata)
      }
      let notAfter = await Self.certificateNotAfter(client, target, after: result)
      await self?.xksConnectProbeFinished(
        storeId, token, result, milliseconds: milliseconds, certificateNotAfter: notAfter)
    }
  }

  /// After a health check answered over TLS: the `notAfter` of the certificate the proxy
  /// presents (outside the timed call, so the latency stays the call's own).
  static func certificateNotAfter(
    _ client: any XKSProxyCalling, _ target: XKSProxyTarget,
    after result: Result<XKSHealthResponse, XKSCallFailure>
  ) async -> Date? {
    guard case .success = result else { return nil }
    return await client.serverCertificateNotAfter(target)
  }

  private func startTask(_ token: UInt64, _ body: @escaping @Sendable () async -> Void) {
    xks.tasks[token] = Task.detached { await body() }
  }

  /// The health check answered: the machine turns it into CONNECTED or FAILED with a code.
  func xksConnectProbeFinished(
    _ storeId: String, _ token: UInt64, _ result: Result<XKSHealthResponse, XKSCallFailure>,
    milliseconds: Double? = nil, certificateNotAfter: Date? = nil, vpcFailure: ConnectionErrorCodeType? = nil
  ) {
    xks.tasks[token] = nil
    guard xks.probes[storeId] == token else { return }
    xks.probes[storeId] = nil
    let outcome = vpcFailure ?? Self.connectionErrorCode(for: result)
    do {
      try transaction { () throws(KMSError) in
        guard var store = stores[storeId] else { return }
        let before = store.machine.connectionState
        let now = clock.now()
        switch store.machine.attemptFinished(outcome, at: now) {
        case .connected, .failed:
          if vpcFailure == nil {
            // No proxy call was made when the endpoint service failed: the health record stays.
            let health = healthAfter(
              store, operation: "ConnectCustomKeyStore", date: now, milliseconds: milliseconds, result,
              certificateNotAfter: certificateNotAfter)
            store.xks?.health = health
          }
          stores[storeId] = store
          recordTransition(store, from: before, at: now)
          if let outcome {
            record(
              .connectionStateChanged, storeId: storeId, state: .failed, code: outcome, at: now,
              summary: "\(store.name) (\(storeId)): "
                + (vpcFailure == nil ? "GetHealthStatus failed: " : "VPC endpoint service: ")
                + Self.describe(result))
          }
        case .discarded:
          return
        }
      }
      xks.unsavedErrors[storeId] = nil
    } catch {
      // Not saved: the store is still CONNECTING with its attempt due, so the driver runs it again.
      recomputeNextDue()
    }
  }

  static func describe(_ result: Result<XKSHealthResponse, XKSCallFailure>) -> String {
    switch result {
    case .success: "every external key manager is UNAVAILABLE"
    case .failure(let failure): failure.description
    }
  }

  /// Connect outcome → `ConnectionErrorCode` (nil: CONNECTED). The guide names the codes but not
  /// every proxy answer; the README's table records these decisions.
  static func connectionErrorCode(for result: Result<XKSHealthResponse, XKSCallFailure>)
    -> ConnectionErrorCodeType?
  {
    switch result {
    case .success(let health):
      let fleet = health.ekmFleetDetails ?? []
      return fleet.allSatisfy({ $0.healthStatus == "UNAVAILABLE" }) ? .xksProxyNotReachable : nil
    case .failure(let failure):
      switch failure {
      case .proxyError(let name):
        switch name {
        case .authenticationFailedException: return .invalidCredentials
        case .accessDeniedException: return .xksProxyAccessDenied
        case .invalidUriPathException, .invalidStateException: return .xksProxyInvalidConfiguration
        case .throttlingException: return .xksProxyNotReachable
        case .dependencyTimeoutException: return .xksProxyTimedOut
        case .validationException, .internalException, .invalidCiphertextException, .invalidKeyUsageException,
          .keyNotFoundException, .unsupportedOperationException:
          return .xksProxyInvalidResponse
        }
      case .malformedResponse, .invalidCiphertextReturned: return .xksProxyInvalidResponse
      case .timedOut: return .xksProxyTimedOut
      case .notReachable: return .xksProxyNotReachable
      case .tlsFailure: return .xksProxyInvalidTlsConfiguration
      }
    }
  }

  /// The code a connect of this XKS store would fail with if its proxy answered as it does now
  /// (nil: it would connect, or the store is not an XKS store with a client). Records nothing.
  func predictXKSConnect(customKeyStoreId: CustomKeyStoreID) async -> ConnectionErrorCodeType? {
    guard let store = stores[customKeyStoreId.rawValue], runsXKSProbe(store), let client = xks.client else {
      return nil
    }
    if let (code, _) = xksVPCConnectFailure(store) { return code }
    guard let target = xksTarget(store) else { return .invalidCredentials }
    let metadata = XKSRequestMetadata(
      kmsOperation: "ConnectCustomKeyStore", kmsRequestId: UUID().uuidString.lowercased())
    let (result, _) = await Self.timed { () async throws(XKSCallFailure) in
      try await client.getHealthStatus(target, metadata: metadata)
    }
    return Self.connectionErrorCode(for: result)
  }

  // MARK: Create and UpdateCustomKeyStore: GetHealthStatus with the new values

  /// For a PUBLIC_ENDPOINT external store with a proxy client: the proxy named by the request
  /// (merged with the store for an update) answers GetHealthStatus, or the matching `XksProxy…`
  /// exception is thrown. Called before the transaction, outside it; the transaction then
  /// re-checks everything else.
  func xksHealthCheckBeforeCommit(
    operation: String, endpoint: String?, path: String?, credential: XksProxyAuthenticationCredentialType?,
    connectivity: XksProxyConnectivityType?, existing: StoreRecord?, vpcServiceName: String? = nil,
    vpcServiceOwner: String? = nil
  ) async throws(KMSError) {
    guard let client = xks.client else { return }
    // VPC_ENDPOINT_SERVICE: KMS checks the endpoint service; it calls the proxy only on connect.
    if (connectivity ?? existing?.xks?.connectivity) == .vpcEndpointService {
      try checkXKSVPCEndpointService(
        name: vpcServiceName ?? existing?.xks?.vpcEndpointServiceName,
        owner: vpcServiceOwner ?? existing?.xks?.vpcEndpointServiceOwner,
        endpoint: endpoint ?? existing?.xks?.uriEndpoint)
      return
    }
    let base = existing.flatMap(xksTarget)
    guard (connectivity ?? existing?.xks?.connectivity) == .publicEndpoint,
      let uriEndpoint = endpoint ?? base?.uriEndpoint, let uriPath = path ?? base?.uriPath,
      let accessKeyId = credential?.accessKeyId ?? base?.accessKeyId,
      let secret = credential?.rawSecretAccessKey ?? base?.secretAccessKey
    else { return }
    let target = XKSProxyTarget(
      uriEndpoint: uriEndpoint, uriPath: uriPath, accessKeyId: accessKeyId, secretAccessKey: secret,
      region: configuration.region)
    let metadata = XKSRequestMetadata(kmsOperation: operation, kmsRequestId: UUID().uuidString.lowercased())
    do {
      let health = try await client.getHealthStatus(target, metadata: metadata)
      if (health.ekmFleetDetails ?? []).allSatisfy({ $0.healthStatus == "UNAVAILABLE" }) {
        throw KMSError(.xksProxyUriUnreachableException, XKSMessages.ekmUnavailable)
      }
    } catch let failure as XKSCallFailure {
      throw Self.storeException(for: failure)
    } catch let error as KMSError {
      throw error
    } catch {
      throw KMSError(.kmsInternalException, "\(error)")
    }
  }

  static func storeException(for failure: XKSCallFailure) -> KMSError {
    let message = XKSMessages.message(for: failure)
    switch failure {
    case .proxyError(let name) where !healthErrorNames.contains(name):
      // An errorName GetHealthStatus never answers (the spec's table has no Create/Update entry
      // for it): an answer KMS cannot interpret, whatever its own wording would be for a key.
      return KMSError(.xksProxyInvalidResponseException, XKSMessages.cannotInterpret)
    case .proxyError(.authenticationFailedException):
      return KMSError(.xksProxyIncorrectAuthenticationCredentialException, message)
    case .proxyError(.invalidUriPathException):
      return KMSError(.xksProxyInvalidConfigurationException, message)
    case .proxyError(.throttlingException), .proxyError(.dependencyTimeoutException), .timedOut,
      .notReachable,
      .tlsFailure:
      return KMSError(.xksProxyUriUnreachableException, message)
    case .proxyError, .malformedResponse, .invalidCiphertextReturned:
      return KMSError(.xksProxyInvalidResponseException, message)
    }
  }

  /// The errorNames the spec lets GetHealthStatus answer (everything but ValidationException,
  /// AccessDeniedException and the key errors); ValidationException reads as "cannot interpret".
  static let healthErrorNames: Set<XKSErrorName> = [
    .validationException, .authenticationFailedException, .invalidUriPathException, .throttlingException,
    .dependencyTimeoutException, .internalException,
  ]

  // MARK: CreateKey: GetKeyMetadata

  /// The proxy's answer for `XksKeyId`, when the request is a CreateKey in a CONNECTED external
  /// store and a client is injected; nil otherwise (the transaction reports what is wrong).
  func verifyExternalKey(_ request: CreateKeyRequest) async throws(KMSError) -> ExternalKeyVerdict? {
    guard let client = xks.client, let storeId = try? request.customKeyStoreIdValue,
      let xksKeyId = try? request.xksKeyIdValue, let store = stores[storeId.rawValue],
      store.type == .externalKeyStore
    else { return nil }
    // Every other check first, as KMS: GetKeyMetadata only for a request that would pass.
    do {
      try rehearse { () throws(KMSError) in _ = try createKeyChanges(request, verified: .rehearsal) }
    } catch
      where error.code == .customKeyStoreInvalidStateException
      && stores[storeId.rawValue]?.machine.connectionState != .connected
    {
      // KMS's wording for an external key store that is not connected to its proxy.
      throw KMSError(.customKeyStoreInvalidStateException, XKSMessages.notConnected)
    }
    guard let target = xksTarget(store) else {
      throw KMSError(.customKeyStoreInvalidStateException, XKSMessages.authentication)
    }
    let metadata = XKSRequestMetadata(
      awsPrincipalArn: "arn:aws:iam::\(configuration.accountId):root", kmsOperation: "CreateKey",
      kmsRequestId: UUID().uuidString.lowercased())
    do {
      let answer = try await client.getKeyMetadata(target, keyId: xksKeyId, metadata: metadata)
      return ExternalKeyVerdict(storeId: storeId, xksKeyId: xksKeyId, metadata: answer)
    } catch {
      throw Self.createKeyException(for: error)
    }
  }

  static func createKeyException(for failure: XKSCallFailure) -> KMSError {
    let message = XKSMessages.message(for: failure)
    switch failure {
    case .proxyError(.keyNotFoundException): return KMSError(.xksKeyNotFoundException, message)
    case .proxyError(.invalidStateException), .proxyError(.invalidKeyUsageException):
      return KMSError(.xksKeyInvalidConfigurationException, message)
    case .proxyError(.unsupportedOperationException):
      return KMSError(.xksKeyInvalidResponseException, message)
    case .proxyError(.accessDeniedException): return KMSError(.kmsInvalidStateException, message)
    case .proxyError(.invalidCiphertextException):
      // Not an answer GetKeyMetadata can give (there is no ciphertext): uninterpretable.
      return KMSError(.customKeyStoreInvalidStateException, XKSMessages.cannotInterpret)
    default: return KMSError(.customKeyStoreInvalidStateException, message)
    }
  }

  /// Inside the CreateKey transaction: the verdict must be for this store and key, and the key
  /// must be AES_256, allow ENCRYPT and DECRYPT, and be ENABLED.
  func checkExternalKey(_ verdict: ExternalKeyVerdict?, storeId: CustomKeyStoreID, xksKeyId: XKSKeyID)
    throws(KMSError)
  {
    guard xks.client != nil else { return }
    if verdict?.isRehearsal == true { throw Self.rehearsalReached }
    guard let verdict, verdict.storeId == storeId, verdict.xksKeyId == xksKeyId else {
      throw KMSError(.customKeyStoreInvalidStateException, XKSMessages.notConnected)
    }
    let answer = verdict.metadata
    if answer.keySpec != "AES_256" {
      throw KMSError(
        .xksKeyInvalidConfigurationException,
        "The external key \(xksKeyId) has key spec \(answer.keySpec ?? "none"); KMS keys in an external key store need AES_256."
      )
    }
    let usage = answer.keyUsage ?? []
    if !usage.contains("ENCRYPT") || !usage.contains("DECRYPT") {
      throw KMSError(.xksKeyInvalidConfigurationException, XKSMessages.keyUsage)
    }
    if answer.keyStatus != "ENABLED" {
      throw KMSError(.xksKeyInvalidConfigurationException, XKSMessages.keyNotEnabled)
    }
  }

  // MARK: Cryptography: double encryption through the proxy

  /// The XKS key a request names, when it is one and a client is injected.
  func xksKey(_ reference: KeyReference?) -> KeyRecord? {
    guard xks.client != nil, let reference, let key = try? resolveKey(reference),
      let storeId = key.customKeyStoreId, stores[storeId]?.type == .externalKeyStore
    else { return nil }
    return key
  }

  /// Key state checks for an XKS key (the XKS wording for an unavailable one), then the proxy
  /// target and the KMS-side material.
  private func xksReady(_ key: KeyRecord) throws(KMSError) -> (XKSProxyTarget, SymmetricKey) {
    switch effectiveState(key) {
    case .pendingDeletion: throw KMSError.keyPendingDeletion(key.arn)
    case .unavailable: throw KMSError(.kmsInvalidStateException, XKSMessages.notConnected)
    case .disabled: throw KMSError.keyDisabled(key.arn)
    default: break
    }
    guard let store = key.customKeyStoreId.flatMap({ stores[$0] }), let target = xksTarget(store) else {
      throw KMSError(.kmsInvalidStateException, XKSMessages.authentication)
    }
    guard let material = fleet.keyMaterial(keyId: key.keyId, clusterId: nil) else {
      throw KMSError(.kmsInternalException, "The key material of \(key.arn) is missing.")
    }
    return (target, material)
  }

  /// Encrypts `plaintext` for an XKS key: KMS's own layer first, then the proxy's AES-GCM with
  /// the blob header and the encryption context as AAD. Returns the blob.
  func xksSeal(
    _ plaintext: Data, key: KeyRecord, context: [String: String]?, operation: String, dryRun flag: Bool?
  )
    async throws(KMSError) -> Data
  {
    guard let client = xks.client else { throw KMSError(.kmsInternalException, "No XKS proxy client.") }
    let (target, material) = try xksReady(key)
    let inner: Data
    do {
      inner = try CiphertextBlob.seal(
        plaintext, keyId: key.keyId, material: material, encryptionContext: context)
    } catch {
      throw KMSError(.kmsInternalException, "Encryption failed.")
    }
    try dryRun(flag)
    let header = XKSBlob.header(keyId: key.keyId)
    let aad = header + XKSBlob.canonical(context)
    let request = XKSEncryptRequest(
      requestMetadata: xksMetadata(operation: operation, keyArn: key.arn),
      plaintext: inner.base64EncodedString(),
      additionalAuthenticatedData: aad.base64EncodedString(), ciphertextDataIntegrityValueAlgorithm: "SHA_256"
    )
    let xksKeyId = try XKSKeyID.stored(key.xksKeyId, "external key ID of key \(key.keyId)")
    let answer: XKSEncryptResponse
    do {
      answer = try await client.encrypt(target, keyId: xksKeyId, request: request)
    } catch {
      noteXKSFailure(storeId: key.customKeyStoreId, error)
      throw KMSError(.kmsInvalidStateException, XKSMessages.message(for: error))
    }
    guard let ciphertext = answer.ciphertext.flatMap({ Data(base64Encoded: $0) }),
      let iv = answer.initializationVector.flatMap({ Data(base64Encoded: $0) }),
      let tag = answer.authenticationTag.flatMap({ Data(base64Encoded: $0) })
    else { throw KMSError(.kmsInvalidStateException, XKSMessages.cannotInterpret) }
    let metadata = answer.ciphertextMetadata.flatMap { Data(base64Encoded: $0) } ?? Data()
    return XKSBlob.assemble(header: header, metadata: metadata, iv: iv, tag: tag, ciphertext: ciphertext)
  }

  /// Decrypts an XKS blob: the proxy's layer, then KMS's own. nil when `blob` is not an XKS blob.
  func xksOpen(_ blob: Data, keyId requested: KeyReference?, context: [String: String]?, operation: String)
    async throws(KMSError) -> (KeyRecord, Data)?
  {
    guard let parsed = XKSBlob.parse(blob) else { return nil }
    guard let client = xks.client else { throw KMSError(.kmsInternalException, "No XKS proxy client.") }
    guard let key = keys[parsed.keyId] else {
      if let requested { _ = try resolveKey(requested) }
      throw KMSError(
        .invalidCiphertextException, "The ciphertext is invalid or was not produced by this service.")
    }
    if let requested, try resolveKey(requested).keyId != key.keyId {
      throw KMSError(
        .incorrectKeyException,
        "The key ID in the request does not identify the KMS key that encrypted the ciphertext.")
    }
    let (target, material) = try xksReady(key)
    let xksKeyId = try XKSKeyID.stored(key.xksKeyId, "external key ID of key \(key.keyId)")
    let aad = parsed.header + XKSBlob.canonical(context)
    let request = XKSDecryptRequest(
      requestMetadata: xksMetadata(operation: operation, keyArn: key.arn),
      ciphertext: parsed.ciphertext.base64EncodedString(),
      ciphertextMetadata: parsed.metadata.isEmpty ? nil : parsed.metadata.base64EncodedString(),
      additionalAuthenticatedData: aad.base64EncodedString(),
      initializationVector: parsed.iv.base64EncodedString(),
      authenticationTag: parsed.tag.base64EncodedString())
    let answer: XKSDecryptResponse
    do {
      answer = try await client.decrypt(target, keyId: xksKeyId, request: request)
    } catch {
      noteXKSFailure(storeId: key.customKeyStoreId, error)
      throw KMSError(.kmsInvalidStateException, XKSMessages.message(for: error))
    }
    guard let inner = answer.plaintext.flatMap({ Data(base64Encoded: $0) }),
      let innerParsed = CiphertextBlob.parse(inner),
      innerParsed.keyId == key.keyId,
      let plaintext = CiphertextBlob.open(innerParsed, material: material, encryptionContext: context)
    else { throw KMSError(.kmsInvalidStateException, XKSMessages.invalidCiphertextReturned) }
    return (key, plaintext)
  }

  // MARK: The operations for XKS keys (the +Crypto entry points route here)

  func xksEncrypt(_ request: EncryptRequest, key: KeyRecord) async throws(KMSError) -> EncryptResponse {
    try request.validate()
    try authorize(key, "Encrypt", grantTokens: request.grantTokens, context: request.encryptionContext)
    try checkAlgorithm(request.encryptionAlgorithm, key: key)
    let blob = try await xksSeal(
      request.plaintext, key: key, context: request.encryptionContext, operation: "Encrypt",
      dryRun: request.dryRun)
    return EncryptResponse(ciphertextBlob: blob, keyId: key.arn, encryptionAlgorithm: .symmetricDefault)
  }

  func xksDecrypt(_ request: DecryptRequest) async throws(KMSError) -> DecryptResponse? {
    guard xks.client != nil, let blob = request.ciphertextBlob, XKSBlob.parse(blob) != nil else { return nil }
    try request.validate()
    if request.recipient != nil {
      throw KMSError(
        .unsupportedOperationException, "Recipient (Nitro Enclaves attestation) is not supported.")
    }
    try dryRun(request.dryRun)
    guard
      let (key, plaintext) = try await xksOpen(
        blob, keyId: request.keyIdValue, context: request.encryptionContext, operation: "Decrypt")
    else { return nil }
    try authorize(key, "Decrypt", grantTokens: request.grantTokens, context: request.encryptionContext)
    try checkAlgorithm(request.encryptionAlgorithm, key: key, operation: "Decrypt")
    return DecryptResponse(keyId: key.arn, plaintext: plaintext, encryptionAlgorithm: .symmetricDefault)
  }

  /// ReEncrypt where the source blob or the destination key is XKS; nil when neither is.
  func xksReEncrypt(_ request: ReEncryptRequest) async throws(KMSError) -> ReEncryptResponse? {
    let sourceIsXKS = xks.client != nil && (request.ciphertextBlob.map { XKSBlob.parse($0) != nil } ?? false)
    let destination = xksKey(try? request.destinationKeyIdValue)
    guard sourceIsXKS || destination != nil else { return nil }
    try request.validate()
    guard let blob = request.ciphertextBlob else { throw KMSError.validation([.missing("ciphertextBlob")]) }
    let source: KeyRecord
    let plaintext: Data
    if sourceIsXKS,
      let opened = try await xksOpen(
        blob, keyId: request.sourceKeyIdValue, context: request.sourceEncryptionContext,
        operation: "ReEncrypt")
    {
      (source, plaintext) = opened
    } else {
      (source, plaintext) = try open(
        blob, keyId: request.sourceKeyIdValue, context: request.sourceEncryptionContext,
        algorithm: request.sourceEncryptionAlgorithm)
    }
    try authorize(
      source, "ReEncryptFrom", grantTokens: request.grantTokens, context: request.sourceEncryptionContext)
    try checkAlgorithm(request.sourceEncryptionAlgorithm, key: source, operation: "ReEncrypt")
    let target = try resolveKey(request.destinationKeyIdValue)
    try authorize(
      target, "ReEncryptTo", grantTokens: request.grantTokens, context: request.destinationEncryptionContext)
    try checkAlgorithm(request.destinationEncryptionAlgorithm, key: target, operation: "ReEncrypt")
    let sealed: Data
    var destinationAlgorithm = EncryptionAlgorithmSpec.symmetricDefault
    if destination != nil {
      sealed = try await xksSeal(
        plaintext, key: target, context: request.destinationEncryptionContext, operation: "ReEncrypt",
        dryRun: request.dryRun)
    } else if target.isSymmetricEncryption {
      sealed = try seal(plaintext, key: target, context: request.destinationEncryptionContext)
      try dryRun(request.dryRun)
    } else {
      (sealed, destinationAlgorithm) = try sealAsymmetric(
        plaintext, key: target, algorithm: request.destinationEncryptionAlgorithm)
      try dryRun(request.dryRun)
    }
    return ReEncryptResponse(
      ciphertextBlob: sealed, sourceKeyId: source.arn, keyId: target.arn,
      sourceEncryptionAlgorithm: source.isSymmetricEncryption
        ? .symmetricDefault : try asymmetricAlgorithm(request.sourceEncryptionAlgorithm, key: source),
      destinationEncryptionAlgorithm: destinationAlgorithm)
  }

  func xksGenerateDataKey(_ request: GenerateDataKeyRequest, key: KeyRecord) async throws(KMSError)
    -> GenerateDataKeyResponse
  {
    try request.validate()
    if request.recipient != nil {
      throw KMSError(
        .unsupportedOperationException, "Recipient (Nitro Enclaves attestation) is not supported.")
    }
    let length = try dataKeyLength(
      keySpec: request.keySpecValue, numberOfBytes: request.numberOfBytes, specGiven: request.keySpec != nil)
    try authorize(
      key, "GenerateDataKey", grantTokens: request.grantTokens, context: request.encryptionContext)
    let plaintext = KeyCrypto.randomBytes(length)
    let blob = try await xksSeal(
      plaintext, key: key, context: request.encryptionContext, operation: "GenerateDataKey",
      dryRun: request.dryRun)
    return GenerateDataKeyResponse(ciphertextBlob: blob, plaintext: plaintext, keyId: key.arn)
  }

  func xksGenerateDataKeyWithoutPlaintext(_ request: GenerateDataKeyWithoutPlaintextRequest, key: KeyRecord)
    async throws(KMSError) -> GenerateDataKeyWithoutPlaintextResponse
  {
    try request.validate()
    let length = try dataKeyLength(
      keySpec: request.keySpecValue, numberOfBytes: request.numberOfBytes, specGiven: request.keySpec != nil)
    try authorize(
      key, "GenerateDataKeyWithoutPlaintext", grantTokens: request.grantTokens,
      context: request.encryptionContext)
    let blob = try await xksSeal(
      KeyCrypto.randomBytes(length), key: key, context: request.encryptionContext,
      operation: "GenerateDataKeyWithoutPlaintext", dryRun: request.dryRun)
    return GenerateDataKeyWithoutPlaintextResponse(ciphertextBlob: blob, keyId: key.arn)
  }
}

/// The proxy's answer for an external key, carried from the call into the CreateKey transaction.
struct ExternalKeyVerdict: Sendable {
  /// nil for the rehearsal.
  var storeId: CustomKeyStoreID?
  var xksKeyId: XKSKeyID?
  var metadata: XKSKeyMetadataResponse
  var isRehearsal = false

  /// Stands for the answer while the other checks are rehearsed.
  static let rehearsal = ExternalKeyVerdict(
    storeId: nil, xksKeyId: nil, metadata: .init(keySpec: nil, keyUsage: nil, keyStatus: nil),
    isRehearsal: true
  )
}

extension KeyStoreEngine {
  static let rehearsalReached = KMSError(KMSErrorCode("KmsdashRehearsalReachedTheProxyCall"), "")

  /// Runs an operation's checks and changes in a transaction that is always rolled back: it
  /// throws what the operation would throw before its proxy call, and nothing when the call
  /// would be next. Nothing is saved or published.
  func rehearse(_ body: () throws(KMSError) -> Void) throws(KMSError) {
    do {
      try transaction { () throws(KMSError) in
        try body()
        throw Self.rehearsalReached
      }
    } catch {
      if error.code == Self.rehearsalReached.code { return }
      throw error
    }
  }
}

/// The blob of an XKS key (kms-spec §5.6 leaves the format to us): the proxy's fields embedded
/// around its ciphertext of KMS's own blob.
///
///     "KDSX" | version (1) | key ID length (1) | key ID | metadata length (1) | metadata
///     | IV length (1) | IV | tag (16) | proxy ciphertext
///
/// The header (through the key ID) and the canonical encryption context are the proxy's AAD.
enum XKSBlob {
  static let magic = Data("KDSX".utf8)
  static let version: UInt8 = 1

  struct Parsed {
    var keyId: String
    var header: Data
    var metadata: Data
    var iv: Data
    var tag: Data
    var ciphertext: Data
  }

  /// A cheap test of the magic and version (the hot path's read view declines such blobs).
  static func looksLikeOne(_ blob: Data) -> Bool {
    blob.count > magic.count + 1 && blob.prefix(magic.count).elementsEqual(magic)
      && blob[blob.startIndex + magic.count] == version
  }

  static func header(keyId: String) -> Data {
    let id = Data(keyId.utf8)
    return magic + Data([version, UInt8(id.count)]) + id
  }

  static func assemble(header: Data, metadata: Data, iv: Data, tag: Data, ciphertext: Data) -> Data {
    header + Data([UInt8(metadata.count)]) + metadata + Data([UInt8(iv.count)]) + iv + tag + ciphertext
  }

  static func parse(_ blob: Data) -> Parsed? {
    let bytes = [UInt8](blob)
    var index = magic.count + 2
    guard bytes.count > index, Data(bytes[0..<magic.count]) == magic, bytes[magic.count] == version else {
      return nil
    }
    let idLength = Int(bytes[magic.count + 1])
    func take(_ count: Int) -> Data? {
      guard count >= 0, index + count <= bytes.count else { return nil }
      defer { index += count }
      return Data(bytes[index..<(index + count)])
    }
    guard idLength > 0, let id = take(idLength), let keyId = String(data: id, encoding: .utf8) else {
      return nil
    }
    let header = Data(bytes[0..<index])
    guard let metadataLength = take(1).map({ Int($0[$0.startIndex]) }), metadataLength <= 20,
      let metadata = take(metadataLength), let ivLength = take(1).map({ Int($0[$0.startIndex]) }),
      [12, 16].contains(ivLength), let iv = take(ivLength), let tag = take(16)
    else { return nil }
    let ciphertext = Data(bytes[index...])
    guard !ciphertext.isEmpty else { return nil }
    return Parsed(keyId: keyId, header: header, metadata: metadata, iv: iv, tag: tag, ciphertext: ciphertext)
  }

  /// The encryption context as KMS's own layer binds it (length-prefixed pairs).
  static func canonical(_ context: [String: String]?) -> Data { CiphertextBlob.canonical(context) }
}
