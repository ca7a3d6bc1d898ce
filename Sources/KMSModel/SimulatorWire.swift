// The fault-injection target, `KmsdashSimulator.<Op>`; these shapes are shared by the server
// (KMSServer) and its client (KMSClient, `kmsdash fault`) (AWS JSON 1.1, signed like KMS with signing
// name `kms`, errors with `message`). It exposes `SimulatorControl` to QA scripts:
//
// | X-Amz-Target                            | request                                   | response |
// |-----------------------------------------|-------------------------------------------|----------|
// | KmsdashSimulator.ListFaults             | {"ClusterId"}                             | {"ClusterId","Faults":[…],"AvailableFaults":[{"Name","Summary"}]} |
// | KmsdashSimulator.SetFault               | {"ClusterId","Fault","Enabled"?=true}     | same as ListFaults |
// | KmsdashSimulator.ClearFault             | {"ClusterId","Fault"}                     | same as ListFaults |
// | KmsdashSimulator.SetHsmFailed           | {"ClusterId","HsmId","Failed"?=true}      | {} |
// | KmsdashSimulator.SetKmsuserPassword     | {"ClusterId","Password"} (7–32 characters) | {} |
// | KmsdashSimulator.PredictConnectOutcome  | {"CustomKeyStoreId"}                      | {"Outcome","ConnectionErrorCode"?,"ConnectionState"?,"ErrorCode"?,"Message"?} |
//
// Fault names are the raw values of `SimulatorFault` (e.g. `KMSUSER_LOCKED_OUT`).

/// The fault target's operations.
public enum SimulatorOperation: String, Sendable, CaseIterable {
  case listFaults = "ListFaults"
  case setFault = "SetFault"
  case clearFault = "ClearFault"
  case setHsmFailed = "SetHsmFailed"
  case setKmsuserPassword = "SetKmsuserPassword"
  case predictConnectOutcome = "PredictConnectOutcome"
  case describeXksHealth = "DescribeXksHealth"
  case listXksProxyFaults = "ListXksProxyFaults"
  case setXksProxyFault = "SetXksProxyFault"
  case listXksVpcEndpointServices = "ListXksVpcEndpointServices"
  case setXksVpcEndpointServiceFault = "SetXksVpcEndpointServiceFault"
}

public struct ListFaultsRequest: Codable, Sendable, Equatable {
  public var clusterId: String
  enum CodingKeys: String, CodingKey { case clusterId = "ClusterId" }
  public init(clusterId: String) { self.clusterId = clusterId }
}

public struct SetFaultRequest: Codable, Sendable, Equatable {
  public var clusterId: String
  public var fault: String
  public var enabled: Bool?
  enum CodingKeys: String, CodingKey {
    case clusterId = "ClusterId"
    case fault = "Fault"
    case enabled = "Enabled"
  }
  public init(clusterId: String, fault: String, enabled: Bool? = nil) {
    self.clusterId = clusterId
    self.fault = fault
    self.enabled = enabled
  }
}

public struct FaultDescription: Codable, Sendable, Equatable {
  public var name: String
  public var summary: String
  enum CodingKeys: String, CodingKey {
    case name = "Name"
    case summary = "Summary"
  }
  public init(name: String, summary: String) {
    self.name = name
    self.summary = summary
  }
}

public struct ListFaultsResponse: Codable, Sendable, Equatable {
  public var clusterId: String
  public var faults: [String]
  public var availableFaults: [FaultDescription]
  /// The faults set, as `SimulatorFault`s (names this version does not know are left out).
  public var setFaults: Set<SimulatorFault> { Set(faults.compactMap(SimulatorFault.init(rawValue:))) }
  enum CodingKeys: String, CodingKey {
    case clusterId = "ClusterId"
    case faults = "Faults"
    case availableFaults = "AvailableFaults"
  }
  public init(clusterId: String, faults: [String], availableFaults: [FaultDescription]) {
    self.clusterId = clusterId
    self.faults = faults
    self.availableFaults = availableFaults
  }
}

public struct SetHsmFailedRequest: Codable, Sendable, Equatable {
  public var clusterId: String
  public var hsmId: String
  public var failed: Bool?
  enum CodingKeys: String, CodingKey {
    case clusterId = "ClusterId"
    case hsmId = "HsmId"
    case failed = "Failed"
  }
  public init(clusterId: String, hsmId: String, failed: Bool? = nil) {
    self.clusterId = clusterId
    self.hsmId = hsmId
    self.failed = failed
  }
}

/// The password is a secret: its description is masked, and validation messages never quote it.
public struct SetKmsuserPasswordRequest: Codable, Sendable, Equatable, CustomStringConvertible {
  public var clusterId: String
  public var password: String
  enum CodingKeys: String, CodingKey {
    case clusterId = "ClusterId"
    case password = "Password"
  }
  public init(clusterId: String, password: String) {
    self.clusterId = clusterId
    self.password = password
  }
  public var description: String { "SetKmsuserPasswordRequest(clusterId: \(clusterId), password: ••••••)" }
}

public struct EmptyResponse: Codable, Sendable, Equatable {
  public init() {}
}

public struct PredictConnectOutcomeRequest: Codable, Sendable, Equatable {
  public var customKeyStoreId: String
  enum CodingKeys: String, CodingKey { case customKeyStoreId = "CustomKeyStoreId" }
  public init(customKeyStoreId: String) { self.customKeyStoreId = customKeyStoreId }
}

public struct PredictConnectOutcomeResponse: Codable, Sendable, Equatable {
  /// `CONNECTED`, `FAILED`, `REFUSED` or `NO_CHANGE`.
  public var outcome: String
  public var connectionErrorCode: String?
  public var connectionState: String?
  public var errorCode: String?
  public var message: String?
  enum CodingKeys: String, CodingKey {
    case outcome = "Outcome"
    case connectionErrorCode = "ConnectionErrorCode"
    case connectionState = "ConnectionState"
    case errorCode = "ErrorCode"
    case message = "Message"
  }

  public init(_ prediction: ConnectPrediction) {
    switch prediction {
    case .connects:
      outcome = "CONNECTED"
    case .fails(let code):
      outcome = "FAILED"
      connectionErrorCode = code.rawValue
    case .refused(let code, let text):
      outcome = "REFUSED"
      errorCode = code.rawValue
      message = text
    case .noChange(let state):
      outcome = "NO_CHANGE"
      connectionState = state.rawValue
    }
  }

  /// The prediction this answer carries; nil for an outcome this version does not know.
  public var prediction: ConnectPrediction? {
    switch outcome {
    case "CONNECTED": return .connects
    case "FAILED":
      return connectionErrorCode.flatMap(ConnectionErrorCodeType.init(rawValue:)).map { .fails($0) }
    case "REFUSED": return .refused(KMSErrorCode(errorCode ?? "UnknownError"), message ?? "")
    case "NO_CHANGE":
      return connectionState.flatMap(ConnectionStateType.init(rawValue:)).map { .noChange($0) }
    default: return nil
    }
  }
}

extension ListFaultsRequest: AWSValidatable {
  public func validationFailures(at path: String) -> [ValidationFailure] {
    var failures: [ValidationFailure] = []
    failures.checkLength(clusterId, min: 1, at: path + "clusterId", sensitive: false)
    failures.checkLength(clusterId, max: 64, at: path + "clusterId", sensitive: false)
    return failures
  }
}

extension SetFaultRequest: AWSValidatable {
  public func validationFailures(at path: String) -> [ValidationFailure] {
    var failures: [ValidationFailure] = []
    failures.checkLength(clusterId, min: 1, at: path + "clusterId", sensitive: false)
    failures.checkLength(clusterId, max: 64, at: path + "clusterId", sensitive: false)
    failures.checkEnum(fault, SimulatorFault.self, at: path + "fault")
    return failures
  }
}

extension SetHsmFailedRequest: AWSValidatable {
  public func validationFailures(at path: String) -> [ValidationFailure] {
    var failures: [ValidationFailure] = []
    failures.checkLength(clusterId, min: 1, at: path + "clusterId", sensitive: false)
    failures.checkLength(hsmId, min: 1, at: path + "hsmId", sensitive: false)
    return failures
  }
}

extension SetKmsuserPasswordRequest: AWSValidatable {
  public func validationFailures(at path: String) -> [ValidationFailure] {
    var failures: [ValidationFailure] = []
    failures.checkLength(clusterId, min: 1, at: path + "clusterId", sensitive: false)
    failures.checkLength(clusterId, max: 64, at: path + "clusterId", sensitive: false)
    failures.checkLength(password, min: 7, at: path + "password", sensitive: true)
    failures.checkLength(password, max: 32, at: path + "password", sensitive: true)
    return failures
  }
}

extension PredictConnectOutcomeRequest: AWSValidatable {
  public func validationFailures(at path: String) -> [ValidationFailure] {
    var failures: [ValidationFailure] = []
    failures.checkLength(customKeyStoreId, min: 1, at: path + "customKeyStoreId", sensitive: false)
    failures.checkLength(customKeyStoreId, max: 64, at: path + "customKeyStoreId", sensitive: false)
    return failures
  }
}

extension ListFaultsResponse {
  public static func make(clusterId: String, faults: Set<SimulatorFault>) -> ListFaultsResponse {
    ListFaultsResponse(
      clusterId: clusterId, faults: faults.sorted().map(\.rawValue),
      availableFaults: SimulatorFault.allCases.map {
        FaultDescription(name: $0.rawValue, summary: $0.summary)
      })
  }
}
