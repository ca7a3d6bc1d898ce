import Foundation
import HSMSimulator
import KMSModel
import KeyStoreEngine
import PropertyBased
import Testing

/// Random sequences of operations, fault injections and clock advances on a manual clock, with
/// the invariants of kms-spec §3 and §5.4 checked after every step.
@Suite struct EnginePropertyTests {
  /// Legal single observed transitions (§3.2, with the engine's decisions on open points 10.3/10.4).
  static let legal: [ConnectionStateType: Set<ConnectionStateType>] = [
    .disconnected: [.disconnected, .connecting],
    .connecting: [.connecting, .connected, .failed, .disconnecting],
    .connected: [.connected, .disconnecting],
    .failed: [.failed, .disconnecting],
    .disconnecting: [.disconnecting, .disconnected],
  ]

  struct KeyModel {
    var storeId: String
    var arn: String
    var enabled = true
    var deletionDate: Date?
  }

  /// What the test believes the engine holds.
  struct Model {
    var clusters: [String] = []
    var stores: [String: ConnectionStateType] = [:]
    var storeOrder: [String] = []
    var keys: [String: KeyModel] = [:]
    /// What the run reached, so a test can check the random walk is not trivial.
    var seenStates: Set<ConnectionStateType> = []
    var seenCodes: Set<ConnectionErrorCodeType> = []
    var keysCreated = 0
    var encryptions = 0
    /// Errors an operation returned that its service-model error list does not name.
    var unmodeledErrors: [String] = []

    func derived(_ key: KeyModel) -> KeyState {
      if key.deletionDate != nil { return .pendingDeletion }
      if stores[key.storeId] != .connected { return .unavailable }
      return key.enabled ? .enabled : .disabled
    }
  }

  enum Operation: Int, CaseIterable {
    case createStore, connect, disconnect, rename, changePassword, deleteStore
    case createKey, enableKey, disableKey, scheduleDeletion, cancelDeletion, encrypt
    case setFault, clearFault, hsmChange, advanceSmall, advanceLarge

    /// The KMS operation behind this step (the encrypt step checks its own errors).
    var kmsOperation: KMSOperation? {
      switch self {
      case .createStore: .createCustomKeyStore
      case .connect: .connectCustomKeyStore
      case .disconnect: .disconnectCustomKeyStore
      case .rename, .changePassword: .updateCustomKeyStore
      case .deleteStore: .deleteCustomKeyStore
      case .createKey: .createKey
      case .enableKey: .enableKey
      case .disableKey: .disableKey
      case .scheduleDeletion: .scheduleKeyDeletion
      case .cancelDeletion: .cancelKeyDeletion
      case .encrypt, .setFault, .clearFault, .hsmChange, .advanceSmall, .advanceLarge: nil
      }
    }
  }

  /// Operations with weights, so random walks reach keys and crypto often enough.
  static let weighted: [Operation] = [
    (Operation.createStore, 2), (.connect, 3), (.disconnect, 2), (.rename, 1), (.changePassword, 1),
    (.deleteStore, 1), (.createKey, 3), (.enableKey, 1), (.disableKey, 1), (.scheduleDeletion, 1),
    (.cancelDeletion, 1), (.encrypt, 3), (.setFault, 1), (.clearFault, 2), (.hsmChange, 1),
    (.advanceSmall, 2),
    (.advanceLarge, 3),
  ].flatMap { Array(repeating: $0.0, count: $0.1) }

  @Test func randomOperationSequencesKeepTheInvariants() async {
    await propertyCheck(count: 40, input: Gen.int(in: 0...9_999_999).array(of: 5...70)) { steps in
      do {
        _ = try await run(steps)
      } catch {
        Issue.record("unexpected error outside an operation: \(error)")
      }
    }
  }

  /// A fixed long run, so a regression shows up even without the random inputs.
  @Test func longFixedRun() async throws {
    var generator = SeededRandom(seed: 2024)
    let steps = (0..<600).map { _ in Int(generator.next() % 10_000_000) }
    let model = try await run(steps)
    #expect(model.seenStates == Set(ConnectionStateType.allCases), "\(model.seenStates)")
    #expect(model.seenCodes.count >= 2, "\(model.seenCodes)")
    #expect(model.keysCreated >= 5)
    #expect(model.encryptions >= 3)
  }

  @discardableResult
  func run(_ steps: [Int]) async throws -> Model {
    let f = Fixture(seed: UInt64(steps.first ?? 0))
    var model = Model()
    // Four clusters: two related (one backup lineage), two unrelated.
    model.clusters.append(try await f.cluster(lineage: "lineage-a"))
    model.clusters.append(try await f.cluster(lineage: "lineage-a"))
    model.clusters.append(
      try await f.cluster(zones: ["us-east-1a", "us-east-1b", "us-east-1c"], lineage: "lineage-b"))
    model.clusters.append(try await f.cluster(hsmsPerZone: 2, lineage: "lineage-c"))
    let passwords = [demoPassword, demoPassword, demoPassword, "WrongPassw0rd"]

    for (index, step) in steps.enumerated() {
      let operation = Self.weighted[step % Self.weighted.count]
      let p = step / Self.weighted.count
      let storeIds = model.storeOrder
      let store: String? = storeIds.isEmpty ? nil : storeIds[p % storeIds.count]
      let keyIds = model.keys.keys.sorted()
      let keyId: String? = keyIds.isEmpty ? nil : keyIds[p % keyIds.count]
      let cluster = model.clusters[p % model.clusters.count]
      let context = "step \(index) \(operation) p=\(p)"

      do {
        switch operation {
        case .createStore:
          let id = try await f.createStore(
            "s\(p % 6)", cluster: cluster, password: passwords[(p / 7) % passwords.count])
          if model.stores[id] == nil {
            model.stores[id] = .disconnected
            model.storeOrder.append(id)
          }
        case .connect:
          if let store { try await f.connect(store) }
        case .disconnect:
          if let store { try await f.disconnect(store) }
        case .rename:
          if let store {
            try await f.update(
              UpdateCustomKeyStoreRequest(customKeyStoreId: store, newCustomKeyStoreName: "r\(p % 6)"))
          }
        case .changePassword:
          if let store {
            try await f.update(
              UpdateCustomKeyStoreRequest(
                customKeyStoreId: store, keyStorePassword: passwords[p % passwords.count]))
          }
        case .deleteStore:
          if let store {
            try await f.delete(store)
            model.stores[store] = nil
            model.storeOrder.removeAll { $0 == store }
          }
        case .createKey:
          if let store {
            let key = try await f.createKey(in: store)
            #expect(
              model.stores[store] == .connected, "\(context): CreateKey succeeded on a store not CONNECTED")
            model.keys[key.keyId] = KeyModel(storeId: store, arn: key.arn ?? "")
            model.keysCreated += 1
          }
        case .enableKey:
          if let keyId {
            _ = try await f.engine.enableKey(EnableKeyRequest(keyId: keyId))
            model.keys[keyId]?.enabled = true
          }
        case .disableKey:
          if let keyId {
            _ = try await f.engine.disableKey(DisableKeyRequest(keyId: keyId))
            model.keys[keyId]?.enabled = false
          }
        case .scheduleDeletion:
          if let keyId {
            let response = try await f.engine.scheduleKeyDeletion(
              ScheduleKeyDeletionRequest(keyId: keyId, pendingWindowInDays: 7 + p % 24))
            model.keys[keyId]?.deletionDate = response.deletionDate
            #expect(response.deletionDate == f.clock.now().addingTimeInterval(Double(7 + p % 24) * 86_400))
          }
        case .cancelDeletion:
          if let keyId {
            _ = try await f.engine.cancelKeyDeletion(CancelKeyDeletionRequest(keyId: keyId))
            model.keys[keyId]?.deletionDate = nil
            model.keys[keyId]?.enabled = false
          }
        case .encrypt:
          // Half of the time prefer a key the rule says is usable, so successes are common too.
          let usable = keyIds.filter { model.keys[$0].map(model.derived) == .enabled }
          let chosen = p % 2 == 0 && !usable.isEmpty ? usable[(p / 2) % usable.count] : keyId
          if let keyId = chosen, let key = model.keys[keyId] {
            let expected = model.derived(key)
            do {
              let blob = try await f.encrypt(keyId, "p\(p)")
              #expect(expected == .enabled, "\(context): Encrypt succeeded with key state \(expected)")
              #expect(try await f.decrypt(blob).plaintext == Data("p\(p)".utf8))
              model.encryptions += 1
            } catch let error as KMSError {
              switch expected {
              case .enabled:
                // Only a connected store whose cluster cannot be reached.
                #expect(error.code == .kmsInvalidStateException, "\(context): \(error)")
              case .disabled:
                #expect(error == KMSError.keyDisabled(key.arn), "\(context): \(error)")
              case .pendingDeletion:
                #expect(error == KMSError.keyPendingDeletion(key.arn), "\(context): \(error)")
              default:
                #expect(error == KMSError.keyUnavailable(key.arn), "\(context): \(error)")
              }
            }
          }
        case .setFault:
          let fault = SimulatorFault.allCases[p % SimulatorFault.allCases.count]
          try await f.fault(fault, on: cluster)
        case .clearFault:
          // Clear every fault of the cluster (one random fault rarely matches the one set).
          for fault in try await f.engine.faults(clusterId: cluster) {
            try await f.fault(fault, false, on: cluster)
          }
        case .hsmChange:
          let described = try? await f.engine.describeClusters(DescribeClustersRequest())
          let hsms = described?.clusters?.first { $0.clusterId == cluster }?.hsms ?? []
          switch p % 4 {
          case 0:
            if let hsm = hsms.first {
              _ = try await f.engine.deleteHsm(DeleteHsmRequest(clusterId: cluster, hsmId: hsm.hsmId))
            }
          case 1:
            if let hsm = hsms.first(where: { $0.state == .active }) {
              try await f.engine.setHsmFailed(clusterId: cluster, hsmId: hsm.hsmId, failed: true)
            }
          case 2:
            if let hsm = hsms.first(where: { $0.state == .degraded }) {
              try await f.engine.setHsmFailed(clusterId: cluster, hsmId: hsm.hsmId, failed: false)
            }
          default:
            _ = try await f.engine.createHsm(
              CreateHsmRequest(clusterId: cluster, availabilityZone: ["us-east-1a", "us-east-1b"][p % 2]))
          }
        case .advanceSmall:
          try await f.advance(by: Double(p % 9))
        case .advanceLarge:
          try await f.advance(by: p % 2 == 0 ? settleTime : Double(p % 12) * 86_400)
        }
      } catch let error as KMSError {
        // Any AWS error is acceptable here; the invariants below decide whether the state is right.
        #expect(error.code != .kmsInternalException, "\(context): \(error)")
        if let kmsOperation = operation.kmsOperation, error.code != .validationException,
          !kmsOperation.modeledErrors.contains(error.code.rawValue)
        {
          model.unmodeledErrors.append("\(kmsOperation.rawValue) -> \(error)")
        }
      } catch {
        Issue.record("\(context): a non-AWS error escaped: \(error)")
      }

      try await checkInvariants(f, &model, context: context)
    }

    // No store stays transient once enough time has passed.
    try await f.settle()
    try await checkInvariants(f, &model, context: "final settle")
    for (id, state) in model.stores {
      #expect(state != .connecting && state != .disconnecting, "store \(id) stuck in \(state)")
    }
    return model
  }

  func checkInvariants(_ f: Fixture, _ model: inout Model, context: String) async throws {
    let now = f.clock.now()
    // Stores: nothing lost, nothing invented, only legal transitions, code iff FAILED.
    let listed = try await f.allStores(limit: 3)
    let listedIds = listed.compactMap(\.customKeyStoreId)
    #expect(Set(listedIds).count == listedIds.count, "\(context): a store listed twice")
    #expect(Set(listedIds) == Set(model.stores.keys), "\(context): stores lost or invented")
    for entry in listed {
      guard let id = entry.customKeyStoreId, let state = entry.connectionState else {
        Issue.record("\(context): entry without ID or state: \(entry)")
        continue
      }
      #expect(id.wholeMatch(of: storeIdPattern) != nil, "\(context): bad store ID \(id)")
      #expect(
        (entry.connectionErrorCode != nil) == (state == .failed),
        "\(context): \(id) \(state) code \(String(describing: entry.connectionErrorCode))")
      if let previous = model.stores[id] {
        #expect(
          Self.legal[previous]?.contains(state) == true,
          "\(context): illegal \(previous) -> \(state) for \(id)")
      }
      model.stores[id] = state
      model.seenStates.insert(state)
      if let code = entry.connectionErrorCode { model.seenCodes.insert(code) }
      #expect(entry.cloudHsmClusterId.map { model.clusters.contains($0) } == true)
    }

    // Keys whose waiting period has ended are gone; the rest are listed with the derived state.
    for (id, key) in model.keys {
      if let date = key.deletionDate, date <= now { model.keys[id] = nil }
    }
    let listedKeys = try await f.allKeys(limit: 4).compactMap(\.keyId)
    #expect(Set(listedKeys) == Set(model.keys.keys), "\(context): keys lost or invented")
    for (id, key) in model.keys {
      #expect(id.wholeMatch(of: keyIdPattern) != nil, "\(context): bad key ID \(id)")
      let metadata = try await f.key(id)
      let expected = model.derived(key)
      #expect(
        metadata.keyState == expected,
        "\(context): key \(id) is \(String(describing: metadata.keyState)), rule says \(expected)")
      #expect(metadata.enabled == (metadata.keyState == .enabled), "\(context): Enabled flag of \(id)")
      #expect(
        (metadata.deletionDate != nil) == (expected == .pendingDeletion), "\(context): DeletionDate of \(id)")
      #expect(metadata.customKeyStoreId == key.storeId)
    }

    // Clusters and HSMs keep AWS-shaped IDs.
    let clusters = try await f.engine.describeClusters(DescribeClustersRequest()).clusters ?? []
    for cluster in clusters {
      #expect(
        cluster.clusterId?.wholeMatch(of: clusterIdPattern) != nil,
        "\(context): \(String(describing: cluster.clusterId))")
      for hsm in cluster.hsms ?? [] {
        #expect(hsm.hsmId.wholeMatch(of: hsmIdPattern) != nil, "\(context): \(hsm.hsmId)")
      }
    }
  }
}
