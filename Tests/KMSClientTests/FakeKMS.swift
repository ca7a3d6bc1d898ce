import Foundation
import KMSModel
import TestSupport

@testable import KMSClient

/// A scripted endpoint behind the `KMSTransport` seam: a small fleet answered with paging, plus
/// injected failures. Records every request.
final class FakeKMS: KMSTransport {
  struct State {
    var stores: [CustomKeyStoresListEntry] = []
    /// Every key, custom-store or not.
    var keys: [KeyMetadata] = []
    var aliases: [AliasListEntry] = []
    var clusters: [Cluster] = []
    var faults: [String: [String]] = [:]
    var isSimulator = true
    /// `DescribeClusters` answers `AccessDeniedException`.
    var denyClusters = false
    /// Answers (or transport errors) used before the fleet, in order, for any request.
    var failures: [Result<KMSWireResponse, KMSTransportError>] = []
    var pageSize = 2
    var requests: [KMSWireRequest] = []
    /// A fixed answer per target.
    var canned: [String: KMSWireResponse] = [:]
    /// Automatic rotation period per key ID, for the keys whose rotation is on.
    var rotation: [String: Int] = [:]
    /// Tags per key ID (`ListResourceTags`).
    var tags: [String: [Tag]] = [:]
  }

  let state: Locked<State>

  init(_ state: State = State()) { self.state = Locked(state) }

  func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
  var requests: [KMSWireRequest] { state.withLock { $0.requests } }
  func count(_ operation: String) -> Int { requests.filter { $0.operation == operation }.count }
  func clearRequests() { state.withLock { $0.requests = [] } }

  static func error(_ type: String, _ message: String = "m", status: Int = 400) -> KMSWireResponse {
    KMSWireResponse(
      status: status, headers: ["x-amzn-RequestId": "rid-1"],
      body: Data(#"{"__type":"\#(type)","message":"\#(message)"}"#.utf8))
  }

  func send(_ request: KMSWireRequest) async throws -> KMSWireResponse {
    try state.withLock { state in
      state.requests.append(request)
      if !state.failures.isEmpty {
        return try state.failures.removeFirst().get()
      }
      if let canned = state.canned[request.target] { return canned }
      return try Self.answer(request, &state)
    }
  }

  private static func ok(_ value: some Encodable) throws -> KMSWireResponse {
    KMSWireResponse(
      status: 200, headers: ["x-amzn-RequestId": "rid-ok"], body: try WireJSON.encoder().encode(value))
  }

  private static func page<T>(_ items: [T], marker: String?, size: Int) -> ([T], String?) {
    let start = marker.flatMap(Int.init) ?? 0
    let end = min(items.count, start + size)
    return (Array(items[start..<end]), end < items.count ? String(end) : nil)
  }

  private static func answer(_ request: KMSWireRequest, _ state: inout State) throws -> KMSWireResponse {
    let decoder = WireJSON.decoder()
    switch request.target {
    case "TrentService.DescribeCustomKeyStores":
      let input = try decoder.decode(DescribeCustomKeyStoresRequest.self, from: request.body)
      let (items, next) = page(state.stores, marker: input.marker, size: state.pageSize)
      return try ok(
        DescribeCustomKeyStoresResponse(customKeyStores: items, nextMarker: next, truncated: next != nil))
    case "TrentService.ListKeys":
      let input = try decoder.decode(ListKeysRequest.self, from: request.body)
      let entries = state.keys.map { KeyListEntry(keyId: $0.keyId, keyArn: $0.arn) }
      let (items, next) = page(entries, marker: input.marker, size: state.pageSize)
      return try ok(ListKeysResponse(keys: items, nextMarker: next, truncated: next != nil))
    case "TrentService.DescribeKey":
      let input = try decoder.decode(DescribeKeyRequest.self, from: request.body)
      guard let key = state.keys.first(where: { $0.keyId == input.keyId }) else {
        return error("NotFoundException", "Key '\(input.keyId)' does not exist")
      }
      return try ok(DescribeKeyResponse(keyMetadata: key))
    case "TrentService.EnableKey":
      let input = try decoder.decode(EnableKeyRequest.self, from: request.body)
      let id = KMSHTTPClient.keyId(from: input.keyId)
      guard let at = state.keys.firstIndex(where: { $0.keyId == id }) else {
        return error("NotFoundException", "Key '\(input.keyId)' does not exist")
      }
      state.keys[at].keyState = .enabled
      state.keys[at].enabled = true
      return KMSWireResponse(status: 200, body: Data("{}".utf8))
    case "TrentService.GetKeyRotationStatus":
      let input = try decoder.decode(GetKeyRotationStatusRequest.self, from: request.body)
      let period = state.rotation[input.keyId]
      return try ok(
        GetKeyRotationStatusResponse(
          keyRotationEnabled: period != nil, keyId: input.keyId, rotationPeriodInDays: period))
    case "TrentService.ListResourceTags":
      let input = try decoder.decode(ListResourceTagsRequest.self, from: request.body)
      return try ok(ListResourceTagsResponse(tags: state.tags[input.keyId] ?? [], truncated: false))
    case "TrentService.ListAliases":
      let input = try decoder.decode(ListAliasesRequest.self, from: request.body)
      let (items, next) = page(state.aliases, marker: input.marker, size: state.pageSize)
      return try ok(ListAliasesResponse(aliases: items, nextMarker: next, truncated: next != nil))
    case "TrentService.ConnectCustomKeyStore", "TrentService.DisconnectCustomKeyStore":
      return KMSWireResponse(status: 200, body: Data("{}".utf8))
    case "BaldrApiService.DescribeClusters":
      if state.denyClusters {
        return KMSWireResponse(
          status: 400,
          body: Data(
            #"{"__type":"AccessDeniedException","Message":"not authorized: cloudhsm:DescribeClusters"}"#.utf8)
        )
      }
      let input = try decoder.decode(DescribeClustersRequest.self, from: request.body)
      let wanted = input.filters?["clusterIds"]
      let clusters = state.clusters.filter { wanted?.contains($0.clusterId ?? "") ?? true }
      let (items, next) = page(clusters, marker: input.nextToken, size: state.pageSize)
      return try ok(DescribeClustersResponse(clusters: items, nextToken: next))
    case _ where request.service == .simulator:
      guard state.isSimulator else {
        return error("UnknownOperationException", "")
      }
      let object = try JSONSerialization.jsonObject(with: request.body) as? [String: Any] ?? [:]
      let clusterId = object["ClusterId"] as? String ?? ""
      switch request.operation {
      case "ListFaults", "SetFault":
        guard state.clusters.contains(where: { $0.clusterId == clusterId }) else {
          return error("CloudHsmResourceNotFoundException", "Cluster \(clusterId) not found.")
        }
        if request.operation == "SetFault", let fault = object["Fault"] as? String {
          if object["Enabled"] as? Bool ?? true {
            state.faults[clusterId, default: []].append(fault)
          } else {
            state.faults[clusterId]?.removeAll { $0 == fault }
          }
        }
        return KMSWireResponse(
          status: 200,
          body: try JSONSerialization.data(withJSONObject: [
            "ClusterId": clusterId, "Faults": state.faults[clusterId] ?? [], "AvailableFaults": [],
          ]))
      case "PredictConnectOutcome":
        return KMSWireResponse(
          status: 200, body: Data(#"{"Outcome":"FAILED","ConnectionErrorCode":"USER_LOCKED_OUT"}"#.utf8))
      default:
        return KMSWireResponse(status: 200, body: Data("{}".utf8))
      }
    default:
      return error("UnknownOperationException", "no \(request.target)")
    }
  }
}

/// The poller's clock, moved only by a test (see `VirtualTime`): each requested delay is
/// recorded, and `sleeper()` waits until something sleeps, so a test steps the poller's loop
/// without waiting for real time.
final class TestClock: PollingClock {
  private let start = Date(timeIntervalSince1970: 1_700_000_000)
  private let time = VirtualTime()

  func now() -> Date { start.addingTimeInterval(time.now.seconds) }
  var sleeps: [Duration] { time.requestedSleeps }
  var sleeperCount: Int { time.sleeperCount }

  /// Moves the clock and ends every sleep that is due.
  func advance(by seconds: TimeInterval) { time.advance(by: .interval(seconds)) }

  /// Returns once something sleeps on this clock.
  func sleeper() async { await time.sleeper() }

  func sleep(for duration: Duration) async throws { try await time.sleep(for: duration) }
}

// MARK: Fleet builders

enum Build {
  static let account = "111122223333"

  static func store(
    _ id: String, _ state: ConnectionStateType, cluster: String? = "cluster-1", name: String? = nil
  )
    -> CustomKeyStoresListEntry
  {
    CustomKeyStoresListEntry(
      customKeyStoreId: id, customKeyStoreName: name ?? "store-\(id)", cloudHsmClusterId: cluster,
      connectionState: state, creationDate: Date(timeIntervalSince1970: 1_600_000_000),
      customKeyStoreType: .awsCloudhsm)
  }

  static func key(_ id: String, store: String?, state: KeyState = .enabled) -> KeyMetadata {
    KeyMetadata(
      awsAccountId: account, keyId: id, arn: "arn:aws:kms:us-east-1:\(account):key/\(id)",
      enabled: state == .enabled,
      keyState: state, origin: store == nil ? .awsKms : .awsCloudhsm, customKeyStoreId: store,
      cloudHsmClusterId: store == nil ? nil : "cluster-1")
  }

  static func cluster(_ id: String, hsms: [(String, HsmState)]) -> Cluster {
    Cluster(
      clusterId: id,
      hsms: hsms.map { Hsm(availabilityZone: "us-east-1a", clusterId: id, hsmId: $0.0, state: $0.1) },
      state: .active)
  }
}

/// A value behind a lock (tests only; `Mutex` needs macOS 15).
final class Locked<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value

  init(_ value: Value) { self.value = value }

  func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}
