import Foundation
import HSMSimulator
import KMSModel
import KeyStoreEngine
import Testing

/// kms-spec §2.1 CreateCustomKeyStore: every CloudHSM row of the error table, plus idempotency.
@Suite struct CreateCustomKeyStoreTests {
  @Test func createdStoreIsDisconnectedWithoutErrorCode() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    let id = try await f.createStore("ExampleKeyStore", cluster: clusterId)
    #expect(id.wholeMatch(of: storeIdPattern) != nil, "\(id)")
    #expect(clusterId.wholeMatch(of: clusterIdPattern) != nil, "\(clusterId)")
    let entry = try await f.entry(id)
    #expect(entry.customKeyStoreId == id)
    #expect(entry.customKeyStoreName == "ExampleKeyStore")
    #expect(entry.connectionState == .disconnected)
    #expect(entry.connectionErrorCode == nil)
    #expect(entry.customKeyStoreType == .awsCloudhsm)
    #expect(entry.cloudHsmClusterId == clusterId)
    #expect(entry.trustAnchorCertificate == trustAnchorA)
    #expect(entry.creationDate == f.clock.now())
    #expect(entry.xksProxyConfiguration == nil)
  }

  @Test func createIsNotConnectedAutomatically() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    try await f.settle()
    try await f.expectState(store, .disconnected)
  }

  @Test func explicitCloudHsmTypeIsAccepted() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    let response = try await f.engine.createCustomKeyStore(
      CreateCustomKeyStoreRequest(
        customKeyStoreName: "typed", cloudHsmClusterId: clusterId, trustAnchorCertificate: trustAnchorA,
        keyStorePassword: demoPassword, customKeyStoreType: "AWS_CLOUDHSM"))
    let id = try #require(response.customKeyStoreId)
    #expect(try await f.entry(id).customKeyStoreType == .awsCloudhsm)
  }

  @Test func idempotentCreateReturnsTheExistingId() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    let first = try await f.createStore("same", cluster: clusterId)
    let second = try await f.createStore("same", cluster: clusterId)
    #expect(first == second)
    #expect(try await f.allStores().count == 1)
  }

  @Test func idempotencyOnlyAppliesToDisconnectedStores() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    let id = try await f.createStore("same", cluster: clusterId)
    try await f.connectAndSettle(id)
    try await f.expectState(id, .connected)
    await expectError(.customKeyStoreNameInUseException) {
      try await f.createStore("same", cluster: clusterId)
    }
    #expect(try await f.allStores().count == 1)
  }

  @Test func sameNameWithDifferentPropertiesIsNameInUse() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    _ = try await f.createStore("same", cluster: clusterId)
    // Another password: not the same properties, so not idempotent.
    await expectError(.customKeyStoreNameInUseException) {
      try await f.createStore("same", cluster: clusterId, password: "OtherPassw0rd")
    }
    let other = try await f.cluster()
    await expectError(.customKeyStoreNameInUseException) {
      try await f.createStore("same", cluster: other)
    }
    #expect(try await f.allStores().count == 1)
  }

  @Test func defaultQuotaIsTen() async throws {
    let f = Fixture()
    for index in 0..<10 {
      _ = try await f.createStore("store-\(index)", cluster: try await f.cluster())
    }
    let eleventh = try await f.cluster()
    await expectError(.limitExceededException) {
      try await f.createStore("store-10", cluster: eleventh)
    }
    #expect(try await f.allStores().count == 10)
  }

  @Test func configuredQuota() async throws {
    let f = Fixture(storeQuota: 2)
    let first = try await f.createStore("a", cluster: try await f.cluster())
    _ = try await f.createStore("b", cluster: try await f.cluster())
    let third = try await f.cluster()
    await expectError(.limitExceededException) { try await f.createStore("c", cluster: third) }
    // Stores in every state count; deleting one frees a slot.
    try await f.delete(first)
    _ = try await f.createStore("c", cluster: third)
    #expect(try await f.allStores().count == 2)
  }

  @Test func quotaCountsConnectedStoresToo() async throws {
    let f = Fixture(storeQuota: 1)
    _ = try await f.connectedStore("a")
    let other = try await f.cluster()
    await expectError(.limitExceededException) { try await f.createStore("b", cluster: other) }
  }

  @Test func clusterNotFound() async throws {
    let f = Fixture()
    await expectError(.cloudHsmClusterNotFoundException) {
      try await f.createStore("s", cluster: "cluster-zzzzzzzzzzz")
    }
    let deleted = try await f.cluster()
    try await f.fault(.clusterDeleted, on: deleted)
    await expectError(.cloudHsmClusterNotFoundException) {
      try await f.createStore("s", cluster: deleted)
    }
    #expect(try await f.allStores().isEmpty)
  }

  @Test func clusterNotActive() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    try await f.fault(.clusterNotActive, on: clusterId)
    #expect(try await f.clusterState(clusterId) != .active)
    await expectError(.cloudHsmClusterNotActiveException) {
      try await f.createStore("s", cluster: clusterId)
    }
    try await f.fault(.clusterNotActive, false, on: clusterId)
    _ = try await f.createStore("s", cluster: clusterId)
  }

  @Test func clusterInUseByAnotherStore() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    _ = try await f.createStore("first", cluster: clusterId)
    await expectError(.cloudHsmClusterInUseException) {
      try await f.createStore("second", cluster: clusterId)
    }
    #expect(try await f.allStores().count == 1)
  }

  @Test func relatedClusterIsInUse() async throws {
    let f = Fixture()
    let original = try await f.cluster(lineage: "backup-1")
    let restored = try await f.cluster(lineage: "backup-1")
    let unrelated = try await f.cluster(lineage: "backup-2")
    _ = try await f.createStore("first", cluster: original)
    await expectError(.cloudHsmClusterInUseException) {
      try await f.createStore("second", cluster: restored)
    }
    _ = try await f.createStore("third", cluster: unrelated)
  }

  @Test func clusterWithOneHsmIsInvalidConfiguration() async throws {
    let f = Fixture()
    let single = try await f.cluster(zones: ["us-east-1a"], hsmsPerZone: 1)
    await expectError(.cloudHsmClusterInvalidConfigurationException) {
      try await f.createStore("s", cluster: single)
    }
    #expect(try await f.allStores().isEmpty)
  }

  @Test func hsmsInOneZoneIsInvalidConfiguration() async throws {
    let f = Fixture()
    // Two subnets, but both ACTIVE HSMs in the same AZ.
    let clusterId = try await f.cluster(zones: ["us-east-1a", "us-east-1b"], hsmsPerZone: 2)
    for hsm in try await f.hsms(clusterId) where hsm.availabilityZone == "us-east-1b" {
      _ = try await f.engine.deleteHsm(DeleteHsmRequest(clusterId: clusterId, hsmId: hsm.hsmId))
    }
    #expect(try await f.hsms(clusterId).count == 2)
    await expectError(.cloudHsmClusterInvalidConfigurationException) {
      try await f.createStore("s", cluster: clusterId)
    }
  }

  @Test func subnetsInOneZoneIsInvalidConfiguration() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster(zones: ["us-east-1a"], hsmsPerZone: 2)
    await expectError(.cloudHsmClusterInvalidConfigurationException) {
      try await f.createStore("s", cluster: clusterId)
    }
  }

  @Test func failedHsmDoesNotCountAsActive() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    let hsm = try #require(try await f.hsms(clusterId).first)
    try await f.engine.setHsmFailed(clusterId: clusterId, hsmId: hsm.hsmId, failed: true)
    await expectError(.cloudHsmClusterInvalidConfigurationException) {
      try await f.createStore("s", cluster: clusterId)
    }
    try await f.engine.setHsmFailed(clusterId: clusterId, hsmId: hsm.hsmId, failed: false)
    _ = try await f.createStore("s", cluster: clusterId)
  }

  @Test func hsmBeingCreatedDoesNotCountUntilActive() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster(zones: ["us-east-1a", "us-east-1b"], hsmsPerZone: 1)
    let hsmB = try #require(try await f.hsms(clusterId).first { $0.availabilityZone == "us-east-1b" })
    _ = try await f.engine.deleteHsm(DeleteHsmRequest(clusterId: clusterId, hsmId: hsmB.hsmId))
    let created = try await f.engine.createHsm(
      CreateHsmRequest(clusterId: clusterId, availabilityZone: "us-east-1b"))
    let newHsm = try #require(created.hsm)
    #expect(newHsm.hsmId.wholeMatch(of: hsmIdPattern) != nil)
    #expect(newHsm.state == .createInProgress)
    await expectError(.cloudHsmClusterInvalidConfigurationException) {
      try await f.createStore("s", cluster: clusterId)
    }
    try await f.settle()
    #expect(try await f.hsms(clusterId).allSatisfy { $0.state == .active })
    _ = try await f.createStore("s", cluster: clusterId)
  }

  @Test func securityGroupMisconfiguredIsInvalidConfiguration() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    try await f.fault(.securityGroupMisconfigured, on: clusterId)
    await expectError(.cloudHsmClusterInvalidConfigurationException) {
      try await f.createStore("s", cluster: clusterId)
    }
  }

  @Test func incorrectTrustAnchor() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster(anchor: trustAnchorA)
    await expectError(.incorrectTrustAnchorException) {
      try await f.createStore("s", cluster: clusterId, anchor: trustAnchorB)
    }
    #expect(try await f.allStores().isEmpty)
  }

  @Test func wrongPasswordIsNotCheckedAtCreate() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    let id = try await f.createStore("s", cluster: clusterId, password: "WrongPassw0rd")
    try await f.expectState(id, .disconnected)
  }

  @Test(arguments: ["cluster", "anchor", "password"])
  func missingCloudHsmParameterIsValidationException(missing: String) async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    let request = CreateCustomKeyStoreRequest(
      customKeyStoreName: "s", cloudHsmClusterId: missing == "cluster" ? nil : clusterId,
      trustAnchorCertificate: missing == "anchor" ? nil : trustAnchorA,
      keyStorePassword: missing == "password" ? nil : demoPassword)
    await expectError(.validationException) { try await f.engine.createCustomKeyStore(request) }
    #expect(try await f.allStores().isEmpty)
  }

  @Test func sameClusterCanBeReusedAfterDelete() async throws {
    let f = Fixture()
    let clusterId = try await f.cluster()
    let first = try await f.createStore("first", cluster: clusterId)
    try await f.delete(first)
    let second = try await f.createStore("second", cluster: clusterId)
    #expect(first != second)
  }

  @Test func storeIdsAreUnique() async throws {
    let f = Fixture()
    var ids: Set<String> = []
    for index in 0..<10 {
      ids.insert(try await f.createStore("s\(index)", cluster: try await f.cluster()))
    }
    #expect(ids.count == 10)
  }
}

/// kms-spec §2.2 DescribeCustomKeyStores.
@Suite struct DescribeCustomKeyStoresTests {
  @Test func describeById() async throws {
    let f = Fixture()
    let (a, _) = try await f.newStore("a")
    _ = try await f.newStore("b")
    let response = try await f.engine.describeCustomKeyStores(
      DescribeCustomKeyStoresRequest(customKeyStoreId: a))
    #expect(response.customKeyStores?.map(\.customKeyStoreId) == [a])
    #expect(response.truncated == false)
    #expect(response.nextMarker == nil)
  }

  @Test func describeByName() async throws {
    let f = Fixture()
    _ = try await f.newStore("a")
    let (b, _) = try await f.newStore("b")
    let response = try await f.engine.describeCustomKeyStores(
      DescribeCustomKeyStoresRequest(customKeyStoreName: "b"))
    #expect(response.customKeyStores?.map(\.customKeyStoreId) == [b])
  }

  @Test func describeAllInCreationOrder() async throws {
    let f = Fixture()
    var ids: [String] = []
    for name in ["c", "a", "b"] { ids.append(try await f.newStore(name).store) }
    let response = try await f.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest())
    #expect(response.customKeyStores?.map(\.customKeyStoreId) == ids)
    #expect(response.truncated == false)
  }

  @Test func emptyFleet() async throws {
    let f = Fixture()
    let response = try await f.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest())
    #expect(response.customKeyStores == [])
    #expect(response.truncated == false)
  }

  @Test func unknownIdOrName() async throws {
    let f = Fixture()
    _ = try await f.newStore("a")
    await expectError(.customKeyStoreNotFoundException) {
      try await f.engine.describeCustomKeyStores(
        DescribeCustomKeyStoresRequest(customKeyStoreId: "cks-0000000000000000f"))
    }
    await expectError(.customKeyStoreNotFoundException) {
      try await f.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(customKeyStoreName: "nope"))
    }
  }

  @Test func bothIdAndNameIsValidationException() async throws {
    let f = Fixture()
    let (a, _) = try await f.newStore("a")
    await expectError(.validationException) {
      try await f.engine.describeCustomKeyStores(
        DescribeCustomKeyStoresRequest(customKeyStoreId: a, customKeyStoreName: "a"))
    }
  }

  @Test(arguments: [1, 2, 3, 7, 8, 1000])
  func pagingReturnsEveryStoreOnce(limit: Int) async throws {
    let f = Fixture()
    var ids: [String] = []
    for index in 0..<7 { ids.append(try await f.newStore("s\(index)").store) }
    var seen: [String] = []
    var marker: String?
    var pages = 0
    repeat {
      let page = try await f.engine.describeCustomKeyStores(
        DescribeCustomKeyStoresRequest(limit: limit, marker: marker))
      let stores = try #require(page.customKeyStores)
      #expect(stores.count <= limit)
      seen += stores.compactMap(\.customKeyStoreId)
      #expect(page.truncated != nil, "Truncated is always sent")
      if page.truncated == true {
        let next = try #require(page.nextMarker)
        #expect(next != marker, "botocore stops when it gets the same token twice")
        marker = next
      } else {
        #expect(page.nextMarker == nil)
        marker = nil
      }
      pages += 1
    } while marker != nil && pages < 20
    #expect(seen == ids)
    #expect(pages == (7 + limit - 1) / limit)
  }

  @Test func pagingSurvivesADeleteBetweenPages() async throws {
    let f = Fixture()
    var ids: [String] = []
    for index in 0..<4 { ids.append(try await f.newStore("s\(index)").store) }
    let first = try await f.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(limit: 2))
    #expect(first.customKeyStores?.compactMap(\.customKeyStoreId) == Array(ids[0..<2]))
    try await f.delete(ids[1])
    let next = try #require(first.nextMarker)
    let second = try await f.engine.describeCustomKeyStores(
      DescribeCustomKeyStoresRequest(limit: 2, marker: next))
    #expect(second.customKeyStores?.compactMap(\.customKeyStoreId) == Array(ids[2..<4]))
  }

  @Test(arguments: ["garbage", "x", "cks-0000000000000000f", "99"])
  func badMarkerIsInvalidMarkerException(marker: String) async throws {
    let f = Fixture()
    for index in 0..<3 { _ = try await f.newStore("s\(index)") }
    await expectError(.invalidMarkerException) {
      try await f.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(limit: 1, marker: marker))
    }
  }

  @Test func errorCodeOnlyWhenFailed() async throws {
    let f = Fixture()
    let (failed, _) = try await f.failedStore(.networkErrors)
    let (connected, _) = try await f.connectedStore("c")
    let (disconnected, _) = try await f.newStore("d")
    for entry in try await f.allStores() {
      if entry.customKeyStoreId == failed {
        #expect(entry.connectionState == .failed)
        #expect(entry.connectionErrorCode == .networkErrors)
      } else {
        #expect(entry.connectionErrorCode == nil)
      }
    }
    try await f.expectState(connected, .connected)
    try await f.expectState(disconnected, .disconnected)
  }

  @Test func passwordIsNeverReturned() async throws {
    let f = Fixture()
    let secret = "UniqueSecretPw9"
    let clusterId = try await f.cluster(kmsuserPassword: secret)
    _ = try await f.createStore("s", cluster: clusterId, password: secret)
    let response = try await f.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest())
    let json = String(decoding: try WireJSON.encoder().encode(response), as: UTF8.self)
    #expect(!json.contains(secret))
    #expect(!json.contains("KeyStorePassword"))
  }
}
