import Foundation
import HSMSimulator
import KMSModel
import KeyStoreEngine
import Testing

/// The five connection states, each reached through the engine's own operations.
enum StoreStateSetup: String, CaseIterable, Sendable, CustomTestStringConvertible {
  case disconnected, connecting, connected, disconnecting, failed

  var state: ConnectionStateType {
    switch self {
    case .disconnected: .disconnected
    case .connecting: .connecting
    case .connected: .connected
    case .disconnecting: .disconnecting
    case .failed: .failed
    }
  }

  var testDescription: String { state.rawValue }

  /// A store in this state on its own cluster (lineage "L-<name>").
  func make(_ f: Fixture, name: String = "store") async throws -> (store: String, cluster: String) {
    let cluster = try await f.cluster(lineage: "L-\(name)")
    let store = try await f.createStore(name, cluster: cluster)
    switch self {
    case .disconnected:
      break
    case .connecting:
      try await f.connect(store)
    case .connected:
      try await f.connectAndSettle(store)
    case .disconnecting:
      try await f.connectAndSettle(store)
      try await f.disconnect(store)
    case .failed:
      try await f.connect(store)
      try await f.fault(.networkErrors, on: cluster)
      try await f.settle()
      try await f.fault(.networkErrors, false, on: cluster)
    }
    try await f.expectState(store, state, errorCode: self == .failed ? .networkErrors : nil)
    return (store, cluster)
  }
}

/// kms-spec §2.5 UpdateCustomKeyStore: which property may change in which state, and every error.
@Suite struct UpdateCustomKeyStoreTests {
  @Test(arguments: StoreStateSetup.allCases)
  func renameAllowedOnlyWhenConnectedOrDisconnected(setup: StoreStateSetup) async throws {
    let f = Fixture()
    let (store, _) = try await setup.make(f)
    let request = UpdateCustomKeyStoreRequest(customKeyStoreId: store, newCustomKeyStoreName: "renamed")
    if setup == .connected || setup == .disconnected {
      try await f.update(request)
      #expect(try await f.entry(store).customKeyStoreName == "renamed")
    } else {
      await expectError(.customKeyStoreInvalidStateException) { try await f.update(request) }
      #expect(try await f.entry(store).customKeyStoreName == "store")
    }
    // The state is untouched either way.
    #expect(try await f.state(store) == setup.state)
  }

  @Test(arguments: StoreStateSetup.allCases)
  func passwordOnlyWhenDisconnected(setup: StoreStateSetup) async throws {
    let f = Fixture()
    let (store, _) = try await setup.make(f)
    let request = UpdateCustomKeyStoreRequest(customKeyStoreId: store, keyStorePassword: "NewPassw0rd")
    if setup == .disconnected {
      try await f.update(request)
    } else {
      await expectError(.customKeyStoreInvalidStateException) { try await f.update(request) }
    }
    #expect(try await f.state(store) == setup.state)
  }

  @Test(arguments: StoreStateSetup.allCases)
  func clusterOnlyWhenDisconnected(setup: StoreStateSetup) async throws {
    let f = Fixture()
    let (store, _) = try await setup.make(f)
    let related = try await f.cluster(lineage: "L-store")
    let request = UpdateCustomKeyStoreRequest(customKeyStoreId: store, cloudHsmClusterId: related)
    if setup == .disconnected {
      try await f.update(request)
      #expect(try await f.entry(store).cloudHsmClusterId == related)
    } else {
      await expectError(.customKeyStoreInvalidStateException) { try await f.update(request) }
      #expect(try await f.entry(store).cloudHsmClusterId != related)
    }
    #expect(try await f.state(store) == setup.state)
  }

  @Test func updatedPasswordIsUsedOnTheNextConnect() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    try await f.update(
      UpdateCustomKeyStoreRequest(customKeyStoreId: store, keyStorePassword: "WrongPassw0rd"))
    try await f.connectAndSettle(store)
    try await f.expectState(store, .failed, errorCode: .invalidCredentials)
  }

  @Test func switchToRelatedClusterAndConnect() async throws {
    let f = Fixture()
    let original = try await f.cluster(lineage: "backup")
    let store = try await f.createStore("s", cluster: original)
    let restored = try await f.cluster(lineage: "backup")
    try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, cloudHsmClusterId: restored))
    #expect(try await f.entry(store).cloudHsmClusterId == restored)
    // The original cluster is gone; the store now uses the restored one.
    try await f.fault(.clusterDeleted, on: original)
    try await f.connectAndSettle(store)
    try await f.expectState(store, .connected)
  }

  @Test func keysFollowTheStoreToARelatedCluster() async throws {
    let f = Fixture()
    let original = try await f.cluster(lineage: "backup")
    let store = try await f.createStore("s", cluster: original)
    try await f.connectAndSettle(store)
    let key = try await f.createKey(in: store)
    let blob = try await f.encrypt(key.keyId, "hello")
    try await f.disconnectAndSettle(store)
    let restored = try await f.cluster(lineage: "backup")
    // KMS rotated kmsuser's password on the first connect; the restored cluster has the known one.
    try await f.update(
      UpdateCustomKeyStoreRequest(
        customKeyStoreId: store, keyStorePassword: demoPassword, cloudHsmClusterId: restored))
    try await f.connectAndSettle(store)
    try await f.expectState(store, .connected)
    let decrypted = try await f.decrypt(blob)
    #expect(decrypted.plaintext == Data("hello".utf8))
    #expect(try await f.key(key.keyId).cloudHsmClusterId == restored)
  }

  @Test func unrelatedClusterIsNotRelated() async throws {
    let f = Fixture()
    let (store, original) = try await f.newStore()
    let unrelated = try await f.cluster(lineage: "elsewhere")
    await expectError(.cloudHsmClusterNotRelatedException) {
      try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, cloudHsmClusterId: unrelated))
    }
    #expect(try await f.entry(store).cloudHsmClusterId == original)
  }

  @Test func newClusterNotFound() async throws {
    let f = Fixture()
    let (store, _) = try await f.newStore()
    await expectError(.cloudHsmClusterNotFoundException) {
      try await f.update(
        UpdateCustomKeyStoreRequest(customKeyStoreId: store, cloudHsmClusterId: "cluster-zzzzzzzzzzz"))
    }
  }

  @Test func newClusterNotActive() async throws {
    let f = Fixture()
    let original = try await f.cluster(lineage: "backup")
    let store = try await f.createStore("s", cluster: original)
    let restored = try await f.cluster(lineage: "backup")
    try await f.fault(.clusterNotActive, on: restored)
    await expectError(.cloudHsmClusterNotActiveException) {
      try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, cloudHsmClusterId: restored))
    }
    #expect(try await f.entry(store).cloudHsmClusterId == original)
  }

  @Test func newClusterInvalidConfiguration() async throws {
    let f = Fixture()
    let original = try await f.cluster(lineage: "backup")
    let store = try await f.createStore("s", cluster: original)
    let single = try await f.cluster(zones: ["us-east-1a", "us-east-1b"], lineage: "backup")
    try await f.deleteHsms(single, keeping: 1)
    await expectError(.cloudHsmClusterInvalidConfigurationException) {
      try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, cloudHsmClusterId: single))
    }
    let oneZone = try await f.cluster(zones: ["us-east-1a"], hsmsPerZone: 2, lineage: "backup")
    await expectError(.cloudHsmClusterInvalidConfigurationException) {
      try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, cloudHsmClusterId: oneZone))
    }
    #expect(try await f.entry(store).cloudHsmClusterId == original)
  }

  @Test func nameInUse() async throws {
    let f = Fixture()
    _ = try await f.newStore("taken")
    let (store, _) = try await f.newStore("mine")
    await expectError(.customKeyStoreNameInUseException) {
      try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, newCustomKeyStoreName: "taken"))
    }
    #expect(try await f.entry(store).customKeyStoreName == "mine")
  }

  @Test func unknownStore() async throws {
    let f = Fixture()
    await expectError(.customKeyStoreNotFoundException) {
      try await f.update(
        UpdateCustomKeyStoreRequest(customKeyStoreId: "cks-0123456789abcdef0", newCustomKeyStoreName: "x"))
    }
  }

  @Test func refusedUpdateChangesNothing() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore("before")
    // The name alone would be allowed; the password is not: nothing may change.
    await expectError(.customKeyStoreInvalidStateException) {
      try await f.update(
        UpdateCustomKeyStoreRequest(
          customKeyStoreId: store, newCustomKeyStoreName: "after", keyStorePassword: "NewPassw0rd"))
    }
    #expect(try await f.entry(store).customKeyStoreName == "before")
  }

  @Test func renameThenFindByNewName() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore("old")
    try await f.update(UpdateCustomKeyStoreRequest(customKeyStoreId: store, newCustomKeyStoreName: "new"))
    let byName = try await f.engine.describeCustomKeyStores(
      DescribeCustomKeyStoresRequest(customKeyStoreName: "new"))
    #expect(byName.customKeyStores?.first?.customKeyStoreId == store)
    await expectError(.customKeyStoreNotFoundException) {
      try await f.engine.describeCustomKeyStores(DescribeCustomKeyStoresRequest(customKeyStoreName: "old"))
    }
    // The old name is free again.
    _ = try await f.newStore("old")
  }
}

/// kms-spec §2.6 DeleteCustomKeyStore.
@Suite struct DeleteCustomKeyStoreTests {
  @Test(arguments: StoreStateSetup.allCases)
  func deleteOnlyWhenDisconnected(setup: StoreStateSetup) async throws {
    let f = Fixture()
    let (store, _) = try await setup.make(f)
    if setup == .disconnected {
      try await f.delete(store)
      await expectError(.customKeyStoreNotFoundException) { try await f.entry(store) }
      #expect(try await f.allStores().isEmpty)
    } else {
      await expectError(.customKeyStoreInvalidStateException) { try await f.delete(store) }
      #expect(try await f.state(store) == setup.state)
    }
  }

  @Test func unknownStore() async throws {
    let f = Fixture()
    await expectError(.customKeyStoreNotFoundException) { try await f.delete("cks-0123456789abcdef0") }
  }

  @Test func storeWithKeysCannotBeDeleted() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    _ = try await f.createKey(in: store)
    try await f.disconnectAndSettle(store)
    await expectError(.customKeyStoreHasCMKsException) { try await f.delete(store) }
    try await f.expectState(store, .disconnected)
  }

  @Test func keysPendingDeletionStillCount() async throws {
    let f = Fixture()
    let (store, _) = try await f.connectedStore()
    let key = try await f.createKey(in: store)
    _ = try await f.engine.scheduleKeyDeletion(
      ScheduleKeyDeletionRequest(keyId: key.keyId, pendingWindowInDays: 7))
    try await f.disconnectAndSettle(store)
    await expectError(.customKeyStoreHasCMKsException) { try await f.delete(store) }
    // After the waiting period the key is gone, even though the store is disconnected.
    try await f.advance(by: 7 * 86_400 + 1)
    await expectError(.notFoundException) { try await f.key(key.keyId) }
    try await f.delete(store)
    #expect(try await f.allStores().isEmpty)
  }

  @Test func deleteLeavesTheClusterUntouched() async throws {
    let f = Fixture()
    let (store, cluster) = try await f.newStore()
    let before = try await f.hsms(cluster)
    try await f.delete(store)
    #expect(try await f.hsms(cluster) == before)
    #expect(try await f.clusterState(cluster) == .active)
  }

  @Test func deleteOneOfSeveral() async throws {
    let f = Fixture()
    let (a, _) = try await f.newStore("a")
    let (b, _) = try await f.newStore("b")
    let (c, _) = try await f.newStore("c")
    try await f.delete(b)
    #expect(try await f.allStores().compactMap(\.customKeyStoreId) == [a, c])
  }
}
