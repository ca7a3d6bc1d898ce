import Foundation
import HSMSimulator
import KMSModel

extension StoreRecord {
  /// The CloudHSM cluster of the store, typed for the HSM simulator (nil for an external store).
  var clusterIdentifier: ClusterID? { ClusterID(clusterId) }
}

extension KeyStoreEngine {
  func store(_ id: CustomKeyStoreID) throws(KMSError) -> StoreRecord {
    guard let store = stores[id.rawValue] else { throw KMSError.customKeyStoreNotFound(id.rawValue) }
    return store
  }

  /// Stores in creation order; the order is sorted again only when a store was added or removed.
  var storesInOrder: [StoreRecord] { storeOrder.compactMap { stores[$0.id] } }

  var storeOrder: [OrderedID] { storeOrderCache.ids(of: stores, sequence: \.sequence, id: \.id) }

  func entry(_ store: StoreRecord) -> CustomKeyStoresListEntry {
    CustomKeyStoresListEntry(
      customKeyStoreId: store.id, customKeyStoreName: store.name, cloudHsmClusterId: store.clusterId,
      trustAnchorCertificate: store.trustAnchor, connectionState: store.machine.connectionState,
      connectionErrorCode: store.machine.errorCode, creationDate: store.creationDate,
      customKeyStoreType: store.type,
      xksProxyConfiguration: store.xks.map { xks in
        XksProxyConfigurationType(
          connectivity: xks.connectivity, accessKeyId: xks.accessKeyId, uriEndpoint: xks.uriEndpoint,
          uriPath: xks.uriPath, vpcEndpointServiceName: xks.vpcEndpointServiceName,
          vpcEndpointServiceOwner: xks.vpcEndpointServiceOwner)
      })
  }

  /// Cluster requirements shared by create and update (kms-spec §4.1), in KMS's order.
  func checkClusterUsable(_ clusterId: ClusterID) throws(KMSError) -> SimulatedCluster {
    guard let cluster = fleet.cluster(clusterId), !cluster.isDeleted else {
      throw KMSError(.cloudHsmClusterNotFoundException, "No CloudHSM cluster with ID \(clusterId) was found.")
    }
    guard cluster.state == .active else {
      throw KMSError(
        .cloudHsmClusterNotActiveException,
        "The CloudHSM cluster \(clusterId) is not active (state \(cluster.state.rawValue)).")
    }
    return cluster
  }

  func checkClusterConfiguration(_ cluster: SimulatedCluster) throws(KMSError) {
    if Set(cluster.zones).count < 2 {
      throw KMSError(
        .cloudHsmClusterInvalidConfigurationException,
        "The CloudHSM cluster \(cluster.clusterId) must have private subnets in at least two Availability Zones."
      )
    }
    if cluster.faults.contains(.securityGroupMisconfigured) {
      throw KMSError(
        .cloudHsmClusterInvalidConfigurationException,
        "The security group \(cluster.securityGroup) of cluster \(cluster.clusterId) lacks the TCP 2223-2225 rules."
      )
    }
    if !cluster.hasTwoActiveHsmsInTwoZones {
      throw KMSError(
        .cloudHsmClusterInvalidConfigurationException,
        "The CloudHSM cluster \(cluster.clusterId) must contain at least two active HSMs in different Availability Zones."
      )
    }
  }

  func missingMembers(_ names: [(String, Bool)]) throws(KMSError) {
    let missing = names.filter { !$0.1 }.map { ValidationFailure.missing($0.0) }
    if !missing.isEmpty { throw KMSError.validation(missing) }
  }

  func forbiddenMembers(_ names: [(String, Bool)], storeType: CustomKeyStoreType) throws(KMSError) {
    let present = names.filter(\.1).map(\.0)
    if !present.isEmpty {
      throw KMSError(
        .validationException,
        "\(present.joined(separator: ", ")) cannot be used with a custom key store of type \(storeType.rawValue)."
      )
    }
  }

  // MARK: CreateCustomKeyStore (§2.1)

  public func createCustomKeyStore(_ request: CreateCustomKeyStoreRequest) async throws(KMSError)
    -> CreateCustomKeyStoreResponse
  {
    if request.customKeyStoreTypeValue == .externalKeyStore, xks.client != nil {
      // Every other check first, as KMS: the proxy is called only for a request that would pass.
      try rehearse { () throws(KMSError) in _ = try createCustomKeyStoreChanges(request, assigningId: nil) }
      try await xksHealthCheckBeforeCommit(
        operation: "CreateCustomKeyStore", endpoint: request.xksProxyUriEndpoint,
        path: request.xksProxyUriPath,
        credential: request.xksProxyAuthenticationCredential, connectivity: request.xksProxyConnectivityValue,
        existing: nil, vpcServiceName: request.xksProxyVpcEndpointServiceName,
        vpcServiceOwner: request.xksProxyVpcEndpointServiceOwner)
    }
    return try createCustomKeyStore(request, assigningId: nil)
  }

  /// CreateCustomKeyStore with a chosen store ID (scenario files document fixed IDs).
  public func createCustomKeyStore(_ request: CreateCustomKeyStoreRequest, assigningId: String?)
    throws(KMSError)
    -> CreateCustomKeyStoreResponse
  {
    try transaction { () throws(KMSError) -> CreateCustomKeyStoreResponse in
      try createCustomKeyStoreChanges(request, assigningId: assigningId)
    }
  }

  /// The checks and changes of the operation, without its transaction (rehearsed before an
  /// XKS proxy call; see `KeyStoreEngine+XKS.swift`).
  func createCustomKeyStoreChanges(_ request: CreateCustomKeyStoreRequest, assigningId: String?)
    throws(KMSError)
    -> CreateCustomKeyStoreResponse
  {

    try request.validate()
    if let assigningId {
      guard stores[assigningId] == nil, assigningId.wholeMatch(of: /cks-[0-9a-f]{17}/) != nil else {
        throw KMSError(
          .validationException,
          "The custom key store ID \(assigningId) is taken or not of the form cks-<17 hex digits>.")
      }
    }
    let type = request.customKeyStoreTypeValue ?? .awsCloudhsm
    let xksMembers: [(String, Bool)] = [
      ("xksProxyUriEndpoint", request.xksProxyUriEndpoint != nil),
      ("xksProxyUriPath", request.xksProxyUriPath != nil),
      ("xksProxyVpcEndpointServiceName", request.xksProxyVpcEndpointServiceName != nil),
      ("xksProxyVpcEndpointServiceOwner", request.xksProxyVpcEndpointServiceOwner != nil),
      ("xksProxyAuthenticationCredential", request.xksProxyAuthenticationCredential != nil),
      ("xksProxyConnectivity", request.xksProxyConnectivity != nil),
    ]
    switch type {
    case .awsCloudhsm:
      try forbiddenMembers(xksMembers, storeType: type)
      try missingMembers([
        ("cloudHsmClusterId", request.cloudHsmClusterId != nil),
        ("trustAnchorCertificate", request.trustAnchorCertificate != nil),
        ("keyStorePassword", request.keyStorePassword != nil),
      ])
      return try createCloudHsmStore(request, id: assigningId)
    case .externalKeyStore:
      try forbiddenMembers(
        [
          ("cloudHsmClusterId", request.cloudHsmClusterId != nil),
          ("trustAnchorCertificate", request.trustAnchorCertificate != nil),
          ("keyStorePassword", request.keyStorePassword != nil),
        ], storeType: type)
      try missingMembers(Array(xksMembers.filter { !$0.0.hasPrefix("xksProxyVpc") }))
      return try createExternalStore(request, id: assigningId)
    }
  }

  private func createCloudHsmStore(_ request: CreateCustomKeyStoreRequest, id: String?) throws(KMSError)
    -> CreateCustomKeyStoreResponse
  {
    guard let clusterId = try request.cloudHsmClusterIdValue else {
      throw KMSError.validation([.missing("cloudHsmClusterId")])
    }
    let trustAnchor = request.trustAnchorCertificate!
    let digest = fleet.digest(request.keyStorePassword!)
    // Idempotency (§2.1): an identical DISCONNECTED CloudHSM store is returned, before any
    // uniqueness check.
    if let same = storesInOrder.first(where: {
      $0.type == .awsCloudhsm && $0.machine.connectionState == .disconnected
        && $0.name == request.customKeyStoreName
        && $0.clusterId == clusterId.rawValue && $0.trustAnchor == trustAnchor && $0.passwordDigest == digest
    }) {
      return CreateCustomKeyStoreResponse(customKeyStoreId: same.id)
    }
    try checkNameFree(request.customKeyStoreName)
    try checkQuota()
    let cluster = try checkClusterUsable(clusterId)
    if let user = storesInOrder.first(where: { other in
      guard other.type == .awsCloudhsm,
        let otherCluster = other.clusterIdentifier.flatMap({ fleet.cluster($0) })
      else {
        return false
      }
      return otherCluster.clusterId == clusterId.rawValue
        || otherCluster.clusterCertificatePEM == cluster.clusterCertificatePEM
    }) {
      throw KMSError(
        .cloudHsmClusterInUseException,
        "The CloudHSM cluster \(clusterId) or a cluster that shares its backup history is already associated with custom key store \(user.id)."
      )
    }
    try checkClusterConfiguration(cluster)
    guard normalizedPEM(trustAnchor) == normalizedPEM(cluster.trustAnchorPEM) else {
      throw KMSError(
        .incorrectTrustAnchorException,
        "The trust anchor certificate does not match the one used to initialize cluster \(clusterId).")
    }
    return CreateCustomKeyStoreResponse(
      customKeyStoreId: insertStore(
        id: id, name: request.customKeyStoreName, type: .awsCloudhsm, clusterId: clusterId.rawValue,
        trustAnchor: trustAnchor,
        passwordDigest: digest, xks: nil))
  }

  private func createExternalStore(_ request: CreateCustomKeyStoreRequest, id: String?) throws(KMSError)
    -> CreateCustomKeyStoreResponse
  {
    let connectivity = request.xksProxyConnectivityValue!
    if connectivity == .vpcEndpointService {
      try missingMembers([("xksProxyVpcEndpointServiceName", request.xksProxyVpcEndpointServiceName != nil)])
    } else {
      try forbiddenMembers(
        [
          ("xksProxyVpcEndpointServiceName", request.xksProxyVpcEndpointServiceName != nil),
          ("xksProxyVpcEndpointServiceOwner", request.xksProxyVpcEndpointServiceOwner != nil),
        ], storeType: .externalKeyStore)
    }
    try checkNameFree(request.customKeyStoreName)
    try checkQuota()
    let credential = request.xksProxyAuthenticationCredential!
    let settings = XksSettings(
      connectivity: connectivity, accessKeyId: credential.accessKeyId,
      secretDigest: fleet.digest(credential.rawSecretAccessKey), uriEndpoint: request.xksProxyUriEndpoint!,
      uriPath: request.xksProxyUriPath!, vpcEndpointServiceName: request.xksProxyVpcEndpointServiceName,
      vpcEndpointServiceOwner: request.xksProxyVpcEndpointServiceName == nil
        ? nil : (request.xksProxyVpcEndpointServiceOwner ?? configuration.accountId),
      sealedSecret: sealXksSecret(credential.rawSecretAccessKey, accessKeyId: credential.accessKeyId),
      health: XKSStoreHealth(credentialSetAt: clock.now()))
    try checkXksUniqueness(settings, excluding: nil)
    return CreateCustomKeyStoreResponse(
      customKeyStoreId: insertStore(
        id: id, name: request.customKeyStoreName, type: .externalKeyStore, clusterId: nil, trustAnchor: nil,
        passwordDigest: nil, xks: settings))
  }

  func checkXksUniqueness(_ settings: XksSettings, excluding storeId: String?) throws(KMSError) {
    for other in storesInOrder where other.id != storeId {
      guard let theirs = other.xks else { continue }
      if theirs.uriEndpoint == settings.uriEndpoint && theirs.uriPath == settings.uriPath {
        throw KMSError(
          .xksProxyUriInUseException,
          "The proxy URI endpoint and path are already used by custom key store \(other.id).")
      }
      if theirs.uriEndpoint == settings.uriEndpoint
        && (theirs.connectivity == .vpcEndpointService || settings.connectivity == .vpcEndpointService)
      {
        throw KMSError(
          .xksProxyUriEndpointInUseException,
          "The proxy URI endpoint is already used by custom key store \(other.id).")
      }
      if let service = settings.vpcEndpointServiceName, service == theirs.vpcEndpointServiceName {
        throw KMSError(
          .xksProxyVpcEndpointServiceInUseException,
          "The VPC endpoint service is already used by custom key store \(other.id).")
      }
    }
  }

  func checkNameFree(_ name: String, excluding storeId: String? = nil) throws(KMSError) {
    if let other = stores.values.first(where: { $0.name == name && $0.id != storeId }) {
      throw KMSError(
        .customKeyStoreNameInUseException,
        "The custom key store name '\(name)' is already used by \(other.id).")
    }
  }

  func checkQuota() throws(KMSError) {
    if stores.count >= configuration.storeQuota {
      throw KMSError(
        .limitExceededException,
        "This account already has the maximum of \(configuration.storeQuota) custom key stores in \(configuration.region)."
      )
    }
  }

  private func insertStore(
    id assigned: String?, name: String, type: CustomKeyStoreType, clusterId: String?, trustAnchor: String?,
    passwordDigest: PasswordDigest?, xks: XksSettings?
  ) -> String {
    var id = assigned ?? SimulatedIDs.customKeyStore(&random)
    while stores[id] != nil { id = SimulatedIDs.customKeyStore(&random) }
    let now = clock.now()
    let store = StoreRecord(
      id: id, sequence: nextSequence(), name: name, type: type, clusterId: clusterId,
      trustAnchor: trustAnchor,
      passwordDigest: passwordDigest, xks: xks, creationDate: now,
      machine: ConnectionStateMachine(createdAt: now))
    stores[id] = store
    record(
      .storeCreated, storeId: id, clusterId: clusterId, state: .disconnected,
      summary: "\(name) (\(id)) created")
    return id
  }

  func normalizedPEM(_ pem: String) -> String {
    pem.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }.joined(separator: "\n")
  }

  // MARK: DescribeCustomKeyStores (§2.2)

  public func describeCustomKeyStores(_ request: DescribeCustomKeyStoresRequest) throws(KMSError)
    -> DescribeCustomKeyStoresResponse
  {
    try readOnly { () throws(KMSError) -> DescribeCustomKeyStoresResponse in
      try request.validate()
      if request.customKeyStoreId != nil && request.customKeyStoreName != nil {
        throw KMSError(
          .validationException, "Specify either the CustomKeyStoreId or the CustomKeyStoreName, not both.")
      }
      if let id = try request.customKeyStoreIdValue {
        let found = try store(id)
        return DescribeCustomKeyStoresResponse(customKeyStores: [entry(found)], truncated: false)
      }
      if let name = request.customKeyStoreName {
        guard let found = stores.values.first(where: { $0.name == name }) else {
          throw KMSError.customKeyStoreNameNotFound(name)
        }
        return DescribeCustomKeyStoresResponse(customKeyStores: [entry(found)], truncated: false)
      }
      let page = try paginate(
        ordered: storeOrder, item: { stores[$0] }, kind: "cks", limit: request.limit ?? 1000,
        marker: request.marker)
      return DescribeCustomKeyStoresResponse(
        customKeyStores: page.items.map(entry), nextMarker: page.nextMarker, truncated: page.nextMarker != nil
      )
    }
  }

  // MARK: ConnectCustomKeyStore (§2.3)

  public func connectCustomKeyStore(_ request: ConnectCustomKeyStoreRequest) throws(KMSError)
    -> ConnectCustomKeyStoreResponse
  {
    try transaction { () throws(KMSError) -> ConnectCustomKeyStoreResponse in
      try request.validate()
      var store = try store(request.customKeyStoreIdValue)
      let quick = store.clusterIdentifier.flatMap { fleet.quickConnectFailure(clusterId: $0) }
      let range =
        store.type == .awsCloudhsm ? configuration.latency.connect : configuration.latency.xksConnect
      var seconds = random.duration(in: range, timeScale: configuration.timeScale)
      if let cluster = store.clusterIdentifier.flatMap({ fleet.cluster($0) }),
        cluster.faults.contains(.slowConnect)
      {
        seconds *= 5
      }
      switch store.machine.connect(
        storeId: store.id, now: clock.now(), duration: seconds, quickFailure: quick)
      {
      case .refuse(let error):
        throw error
      case .scheduleAttempt:
        stores[store.id] = store
        recordTransition(store, from: .disconnected)
      case .noChange:
        break
      }
      return ConnectCustomKeyStoreResponse()
    }
  }

  // MARK: DisconnectCustomKeyStore (§2.4)

  public func disconnectCustomKeyStore(_ request: DisconnectCustomKeyStoreRequest) throws(KMSError)
    -> DisconnectCustomKeyStoreResponse
  {
    try transaction { () throws(KMSError) -> DisconnectCustomKeyStoreResponse in
      try request.validate()
      var store = try store(request.customKeyStoreIdValue)
      let before = store.machine.connectionState
      let seconds = random.duration(in: configuration.latency.disconnect, timeScale: configuration.timeScale)
      switch store.machine.disconnect(storeId: store.id, now: clock.now(), duration: seconds) {
      case .refuse(let error):
        throw error
      case .scheduleCompletion:
        stores[store.id] = store
        recordTransition(store, from: before)
      }
      return DisconnectCustomKeyStoreResponse()
    }
  }

  // MARK: UpdateCustomKeyStore (§2.5)

  public func updateCustomKeyStore(_ request: UpdateCustomKeyStoreRequest) async throws(KMSError)
    -> UpdateCustomKeyStoreResponse
  {
    if xks.client != nil, let storeId = try? request.customKeyStoreIdValue,
      let existing = stores[storeId.rawValue],
      existing.type == .externalKeyStore,
      request.xksProxyUriEndpoint != nil || request.xksProxyUriPath != nil
        || request.xksProxyAuthenticationCredential != nil || request.xksProxyConnectivity != nil
        || request.xksProxyVpcEndpointServiceName != nil || request.xksProxyVpcEndpointServiceOwner != nil
    {
      try rehearse { () throws(KMSError) in _ = try updateCustomKeyStoreChanges(request) }
      try await xksHealthCheckBeforeCommit(
        operation: "UpdateCustomKeyStore", endpoint: request.xksProxyUriEndpoint,
        path: request.xksProxyUriPath,
        credential: request.xksProxyAuthenticationCredential, connectivity: request.xksProxyConnectivityValue,
        existing: existing,
        vpcServiceName: request.xksProxyVpcEndpointServiceName.flatMap { $0.isEmpty ? nil : $0 },
        vpcServiceOwner: request.xksProxyVpcEndpointServiceOwner)
    }
    return try transaction { () throws(KMSError) -> UpdateCustomKeyStoreResponse in
      try updateCustomKeyStoreChanges(request)
    }
  }

  /// The checks and changes of UpdateCustomKeyStore, without its transaction.
  func updateCustomKeyStoreChanges(_ request: UpdateCustomKeyStoreRequest) throws(KMSError)
    -> UpdateCustomKeyStoreResponse
  {
    try request.validate()
    var store = try store(request.customKeyStoreIdValue)
    let cloudHsmMembers: [(String, Bool)] = [
      ("keyStorePassword", request.keyStorePassword != nil),
      ("cloudHsmClusterId", request.cloudHsmClusterId != nil),
    ]
    let xksAnyState: [(String, Bool)] = [
      ("xksProxyAuthenticationCredential", request.xksProxyAuthenticationCredential != nil),
      ("xksProxyUriPath", request.xksProxyUriPath != nil),
    ]
    let xksDisconnectedOnly: [(String, Bool)] = [
      ("xksProxyUriEndpoint", request.xksProxyUriEndpoint != nil),
      ("xksProxyConnectivity", request.xksProxyConnectivity != nil),
      ("xksProxyVpcEndpointServiceName", request.xksProxyVpcEndpointServiceName != nil),
      ("xksProxyVpcEndpointServiceOwner", request.xksProxyVpcEndpointServiceOwner != nil),
    ]
    let requiresDisconnected: Bool
    switch store.type {
    case .awsCloudhsm:
      try forbiddenMembers(xksAnyState + xksDisconnectedOnly, storeType: store.type)
      requiresDisconnected = cloudHsmMembers.contains(where: \.1)
    case .externalKeyStore:
      try forbiddenMembers(cloudHsmMembers, storeType: store.type)
      requiresDisconnected = xksDisconnectedOnly.contains(where: \.1)
    }
    switch store.machine.update(storeId: store.id, requiresDisconnected: requiresDisconnected) {
    case .proceed: break
    case .refuse(let error): throw error
    }
    if let newName = request.newCustomKeyStoreName { try checkNameFree(newName, excluding: store.id) }
    if let newClusterId = try request.cloudHsmClusterIdValue, newClusterId != store.clusterIdentifier {
      guard let newCluster = fleet.cluster(newClusterId), !newCluster.isDeleted else {
        throw KMSError(
          .cloudHsmClusterNotFoundException, "No CloudHSM cluster with ID \(newClusterId) was found.")
      }
      let original = store.clusterIdentifier.flatMap { fleet.cluster($0) }
      if let original, original.clusterCertificatePEM != newCluster.clusterCertificatePEM {
        throw KMSError(
          .cloudHsmClusterNotRelatedException,
          "The CloudHSM cluster \(newClusterId) does not share a backup history with \(original.clusterId)."
        )
      }
      _ = try checkClusterUsable(newClusterId)
      try checkClusterConfiguration(newCluster)
      store.clusterId = newClusterId.rawValue
    }
    if let password = request.keyStorePassword { store.passwordDigest = fleet.digest(password) }
    if var xks = store.xks {
      if let endpoint = request.xksProxyUriEndpoint { xks.uriEndpoint = endpoint }
      if let path = request.xksProxyUriPath { xks.uriPath = path }
      if let connectivity = request.xksProxyConnectivityValue { xks.connectivity = connectivity }
      if let service = request.xksProxyVpcEndpointServiceName {
        xks.vpcEndpointServiceName = service.isEmpty ? nil : service
      }
      if let owner = request.xksProxyVpcEndpointServiceOwner { xks.vpcEndpointServiceOwner = owner }
      if xks.connectivity == .publicEndpoint {
        xks.vpcEndpointServiceName = nil
        xks.vpcEndpointServiceOwner = nil
      } else if xks.vpcEndpointServiceName == nil {
        throw KMSError.validation([.missing("xksProxyVpcEndpointServiceName")])
      }
      if let credential = request.xksProxyAuthenticationCredential {
        xks.accessKeyId = credential.accessKeyId
        xks.secretDigest = fleet.digest(credential.rawSecretAccessKey)
        xks.sealedSecret = sealXksSecret(credential.rawSecretAccessKey, accessKeyId: credential.accessKeyId)
        xks.health = xks.health ?? XKSStoreHealth()
        xks.health?.credentialSetAt = clock.now()
      }
      try checkXksUniqueness(xks, excluding: store.id)
      store.xks = xks
    }
    if let newName = request.newCustomKeyStoreName { store.name = newName }
    stores[store.id] = store
    record(
      .storeUpdated, storeId: store.id, clusterId: store.clusterId,
      summary: "\(store.name) (\(store.id)) updated")
    return UpdateCustomKeyStoreResponse()
  }

  // MARK: DeleteCustomKeyStore (§2.6)

  public func deleteCustomKeyStore(_ request: DeleteCustomKeyStoreRequest) throws(KMSError)
    -> DeleteCustomKeyStoreResponse
  {
    try transaction { () throws(KMSError) -> DeleteCustomKeyStoreResponse in
      try request.validate()
      let store = try store(request.customKeyStoreIdValue)
      switch store.machine.delete(storeId: store.id) {
      case .proceed: break
      case .refuse(let error): throw error
      }
      let remaining = keyIdsByStore[store.id]?.count ?? 0  // committed keys: none is made in this call
      if remaining > 0 {
        throw KMSError(
          .customKeyStoreHasCMKsException,
          "Custom key store \(store.id) still holds \(remaining) KMS key(s), including keys pending deletion."
        )
      }
      stores[store.id] = nil
      record(
        .storeDeleted, storeId: store.id, clusterId: store.clusterId,
        summary: "\(store.name) (\(store.id)) deleted")
      return DeleteCustomKeyStoreResponse()
    }
  }
}
