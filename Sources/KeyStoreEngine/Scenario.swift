import Foundation
import HSMSimulator
import KMSModel

/// A fleet description (`assets/scenarios/*.json`). Loading replays it through the engine's own
/// operations, so every seeded state is one the state machine can reach.
public struct Scenario: Sendable, Decodable {
  public struct ClusterEntry: Sendable, Decodable {
    public var id: String
    public var zones: [String]
    public var hsmsPerZone: Int?
    /// nil: the cluster has no kmsuser crypto user.
    public var kmsuserPassword: String?
    /// A path relative to the scenario file, or an inline PEM.
    public var trustAnchor: String
    public var lineage: String?
    /// After the stores are set up, HSMs outside these zones are deleted (e.g. a single-HSM cluster).
    public var finalHsmZones: [String]?
  }

  public struct KeyEntry: Sendable, Decodable {
    public var description: String?
    public var aliases: [String]?
    public var enabled: Bool?
    public var pendingDeletionDays: Int?
  }

  public struct StoreEntry: Sendable, Decodable {
    public var id: String?
    public var name: String
    public var cluster: String
    public var password: String
    public var state: ConnectionStateType
    /// Faults set on the cluster while it connects (needed for FAILED).
    public var faults: [SimulatorFault]?
    public var keys: [KeyEntry]?
  }

  /// A simulated VPC endpoint service for XKS stores with VPC_ENDPOINT_SERVICE connectivity.
  public struct VPCEndpointServiceEntry: Sendable, Decodable {
    public var serviceName: String
    public var privateDnsName: String
    public var privateDnsVerified: Bool?
    /// Default: the KMS principal of the engine's Region, `cks.kms.<region>.amazonaws.com`.
    public var allowedPrincipals: [String]?
    public var acceptanceRequired: Bool?
    public var availabilityZones: Int?
  }

  public var description: String?
  public var clusters: [ClusterEntry]
  public var stores: [StoreEntry]
  public var xksVpcEndpointServices: [VPCEndpointServiceEntry]?
  /// Trust anchor PEMs by cluster index, resolved when the file was read.
  var trustAnchors: [String] = []
  /// Where the scenario came from, for error messages.
  public private(set) var source = "<scenario>"

  enum CodingKeys: String, CodingKey { case description, clusters, stores, xksVpcEndpointServices }

  /// The built-in demo fleet (a copy of assets/scenarios/demo.json).
  /// The demo fleet's trust anchor (`assets/certs/customerCA.crt`), for fleets built in code.
  public static var demoTrustAnchor: String { EmbeddedDemo.customerCA }

  public static var demo: Scenario {
    // The embedded copy is checked by a test; failing here is a build defect, not user input.
    try! parse(
      Data(EmbeddedDemo.scenarioJSON.utf8), source: "assets/scenarios/demo.json",
      readTrustAnchor: { path in
        guard path == "../certs/customerCA.crt" else { throw CocoaError(.fileNoSuchFile) }
        return EmbeddedDemo.customerCA
      })
  }

  /// The same fleet in another Region: Availability Zones named after the scenario's Region
  /// (`us-east-1b`) are renamed after `region` (`eu-west-1b`), so a demo served in eu-west-1 does
  /// not show us-east-1 zones. Zones of other Regions are left as written.
  public func placed(in region: String, from written: String = "us-east-1") -> Scenario {
    guard region != written else { return self }
    func rename(_ zone: String) -> String {
      guard zone.hasPrefix(written), zone.count == written.count + 1 else { return zone }
      return region + zone.suffix(1)
    }
    var placed = self
    for index in placed.clusters.indices {
      placed.clusters[index].zones = placed.clusters[index].zones.map(rename)
      placed.clusters[index].finalHsmZones = placed.clusters[index].finalHsmZones?.map(rename)
    }
    return placed
  }

  public static func load(from url: URL) throws(ScenarioError) -> Scenario {
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw ScenarioError(
        file: url.path, place: "file", problem: "cannot be read (\(error.localizedDescription))")
    }
    let directory = url.deletingLastPathComponent()
    return try parse(
      data, source: url.path,
      readTrustAnchor: { path in
        try String(contentsOf: URL(fileURLWithPath: path, relativeTo: directory), encoding: .utf8)
      })
  }

  static func parse(_ data: Data, source: String, readTrustAnchor: (String) throws -> String)
    throws(ScenarioError)
    -> Scenario
  {
    var scenario: Scenario
    do {
      scenario = try JSONDecoder().decode(Scenario.self, from: data)
    } catch let error as DecodingError {
      throw ScenarioError(decoding: error, file: source)
    } catch {
      throw ScenarioError(file: source, place: "file", problem: "is not valid JSON")
    }
    scenario.source = source
    let clusterIds = Set(scenario.clusters.map(\.id))
    for (index, cluster) in scenario.clusters.enumerated() {
      let place = "clusters[\(index)].trustAnchor"
      if cluster.trustAnchor.hasPrefix("-----BEGIN") {
        scenario.trustAnchors.append(cluster.trustAnchor)
        continue
      }
      do {
        scenario.trustAnchors.append(try readTrustAnchor(cluster.trustAnchor))
      } catch {
        throw ScenarioError(file: source, place: place, problem: "cannot read '\(cluster.trustAnchor)'")
      }
    }
    for (index, store) in scenario.stores.enumerated() {
      if !clusterIds.contains(store.cluster) {
        throw ScenarioError(
          file: source, place: "stores[\(index)].cluster",
          problem: "'\(store.cluster)' is not a cluster of this scenario")
      }
      if store.state == .failed && (store.faults ?? []).isEmpty {
        throw ScenarioError(
          file: source, place: "stores[\(index)].faults",
          problem: "a FAILED store needs faults that make its connect fail")
      }
      if store.state == .disconnecting {
        throw ScenarioError(
          file: source, place: "stores[\(index)].state",
          problem: "DISCONNECTING cannot be seeded; use DISCONNECTED")
      }
    }
    return scenario
  }
}

/// A scenario problem: which file, where in it, and what is wrong.
public struct ScenarioError: Error, Sendable, Equatable, CustomStringConvertible {
  public var file: String
  public var place: String
  public var problem: String

  public init(file: String, place: String, problem: String) {
    self.file = file
    self.place = place
    self.problem = problem
  }

  init(decoding error: DecodingError, file: String) {
    func path(_ codingPath: [any CodingKey]) -> String {
      let rendered = codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }
        .joined()
      return rendered.hasPrefix(".")
        ? String(rendered.dropFirst()) : (rendered.isEmpty ? "top level" : rendered)
    }
    self.file = file
    switch error {
    case .keyNotFound(let key, let context):
      place = path(context.codingPath + [key])
      problem = "is missing"
    case .typeMismatch(let type, let context):
      place = path(context.codingPath)
      problem = "should be \(Self.typeName(type))"
    case .valueNotFound(let type, let context):
      place = path(context.codingPath)
      problem = "should be \(Self.typeName(type)), not null"
    case .dataCorrupted(let context):
      place = path(context.codingPath)
      problem =
        context.codingPath.isEmpty
        ? "is not valid JSON" : "has an invalid value (\(context.debugDescription))"
    @unknown default:
      place = "file"
      problem = "cannot be decoded"
    }
  }

  static func typeName(_ type: Any.Type) -> String {
    let name = String(describing: type)
    switch name {
    case "String": return "a string"
    case "Int", "Double": return "a number"
    case "Bool": return "true or false"
    default:
      return name.hasPrefix("Array") ? "a list" : (name.hasPrefix("Dictionary") ? "an object" : "a \(name)")
    }
  }

  public var description: String { "\(file): \(place) \(problem)" }
}

extension KeyStoreEngine {
  /// Replays a scenario through the engine's operations. Seeded states are reached through the
  /// real transitions; a store seeded CONNECTING is left connecting.
  public func load(_ scenario: Scenario) throws(ScenarioError) {
    func fail(_ place: String, _ error: KMSError) -> ScenarioError {
      ScenarioError(file: scenario.source, place: place, problem: "\(error.code.rawValue): \(error.message)")
    }
    do {
      try addXKSVPCEndpointServices(
        (scenario.xksVpcEndpointServices ?? []).map {
          XKSVPCEndpointService(
            serviceName: $0.serviceName, privateDnsName: $0.privateDnsName,
            privateDnsVerified: $0.privateDnsVerified ?? true,
            allowedPrincipals: $0.allowedPrincipals ?? [
              XKSVPCEndpointService.kmsPrincipal(region: configuration.region)
            ],
            acceptanceRequired: $0.acceptanceRequired ?? false, availabilityZones: $0.availabilityZones ?? 2)
        })
    } catch { throw fail("xksVpcEndpointServices", error) }
    for (index, cluster) in scenario.clusters.enumerated() {
      do {
        try addCluster(
          ClusterSpec(
            id: cluster.id, availabilityZones: cluster.zones, hsmsPerZone: cluster.hsmsPerZone ?? 1,
            kmsuserPassword: cluster.kmsuserPassword, trustAnchorPEM: scenario.trustAnchors[index],
            lineage: cluster.lineage))
      } catch { throw fail("clusters[\(index)]", error) }
    }
    var stillConnecting: [String] = []
    for (index, entry) in scenario.stores.enumerated() {
      let place = "stores[\(index)]"
      do {
        let id = try createCustomKeyStore(
          CreateCustomKeyStoreRequest(
            customKeyStoreName: entry.name, cloudHsmClusterId: entry.cluster,
            trustAnchorCertificate: scenario.trustAnchors[
              scenario.clusters.firstIndex { $0.id == entry.cluster }!],
            keyStorePassword: entry.password), assigningId: entry.id
        ).customKeyStoreId!
        let request = ConnectCustomKeyStoreRequest(customKeyStoreId: id)
        if entry.state == .connecting {
          stillConnecting.append(id)
          continue
        }
        if entry.state != .disconnected || !(entry.keys ?? []).isEmpty {
          _ = try connectCustomKeyStore(request)
          try completePendingTransitions()
          try createKeys(entry.keys ?? [], in: id, place: place, scenario: scenario)
        }
        if entry.state == .disconnected || entry.state == .failed,
          stores[id]?.machine.connectionState == .connected
        {
          _ = try disconnectCustomKeyStore(DisconnectCustomKeyStoreRequest(customKeyStoreId: id))
          try completePendingTransitions()
        }
        if entry.state == .failed {
          _ = try connectCustomKeyStore(request)
          for fault in entry.faults ?? [] { try setFault(fault, enabled: true, clusterId: entry.cluster) }
          try completePendingTransitions()
        }
        if let state = stores[id]?.machine.connectionState, state != entry.state {
          throw ScenarioError(
            file: scenario.source, place: "\(place).state",
            problem: "asked for \(entry.state.rawValue) but the store ended \(state.rawValue)")
        }
      } catch let error as KMSError {
        throw fail(place, error)
      } catch let error as ScenarioError {
        throw error
      } catch {
        throw ScenarioError(file: scenario.source, place: place, problem: "\(error)")
      }
    }
    for (index, cluster) in scenario.clusters.enumerated() {
      guard let zones = cluster.finalHsmZones else { continue }
      for hsm in ClusterID(cluster.id).flatMap({ fleet.cluster($0) })?.hsms ?? []
      where !zones.contains(hsm.availabilityZone) {
        do {
          _ = try deleteHsm(DeleteHsmRequest(clusterId: cluster.id, hsmId: hsm.hsmId))
        } catch { throw fail("clusters[\(index)].finalHsmZones", error) }
      }
    }
    // Stores seeded CONNECTING start now and finish on the background task.
    _ = stillConnecting.map { id in
      try? connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
    }
  }

  private func createKeys(
    _ entries: [Scenario.KeyEntry], in storeId: String, place: String, scenario: Scenario
  )
    throws(KMSError)
  {
    for entry in entries {
      let key = try createKey(
        CreateKeyRequest(
          description: entry.description, origin: OriginType.awsCloudhsm.rawValue, customKeyStoreId: storeId),
        verified: nil
      ).keyMetadata!
      for alias in entry.aliases ?? [] {
        _ = try createAlias(CreateAliasRequest(aliasName: alias, targetKeyId: key.keyId))
      }
      if entry.enabled == false { _ = try disableKey(DisableKeyRequest(keyId: key.keyId)) }
      if let days = entry.pendingDeletionDays {
        _ = try scheduleKeyDeletion(ScheduleKeyDeletionRequest(keyId: key.keyId, pendingWindowInDays: days))
      }
    }
  }
}
