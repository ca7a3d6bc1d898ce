import Foundation
import KMSModel

/// Encodes a request, sends it through the transport and decodes the answer or the AWS error.
struct KMSCaller: Sendable {
  let transport: any KMSTransport
  /// For messages only.
  let endpoint: String

  func call<Response: Decodable>(
    _ service: KMSWireService, _ operation: String, _ request: some Encodable, as: Response.Type
  ) async throws -> Response {
    let body: Data
    do {
      body = try WireJSON.encoder().encode(request)
    } catch {
      throw KMSError(.serializationException, "Cannot encode the \(operation) request: \(error)")
    }
    let response = try await transport.send(
      KMSWireRequest(service: service, operation: operation, body: body))
    guard response.status == 200 else { throw KMSErrorDecoder.decode(response) }
    do {
      return try WireJSON.decoder().decode(
        Response.self, from: response.body.isEmpty ? Data("{}".utf8) : response.body)
    } catch {
      throw KMSTransportError(
        .invalidResponse, endpoint: endpoint,
        detail: "the \(service.targetPrefix).\(operation) answer does not decode (\(Self.describe(error)))")
    }
  }

  /// A short description of a decoding error (the member path and the problem), never values.
  static func describe(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return "\(type(of: error))" }
    func path(_ keys: [any CodingKey]) -> String {
      keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, let context): return "missing \(path(context.codingPath + [key]))"
    case .valueNotFound(_, let context): return "null \(path(context.codingPath))"
    case .typeMismatch(_, let context): return "wrong type at \(path(context.codingPath))"
    case .dataCorrupted(let context):
      return context.codingPath.isEmpty ? "not JSON" : "unexpected value at \(path(context.codingPath))"
    @unknown default: return "undecodable"
    }
  }
}

/// `{}` on the wire.
struct EmptyShape: Codable, Sendable {}

// MARK: The simulator target (mirrors Sources/KMSServer/SimulatorWire.swift)

struct ListFaultsWire: Codable, Sendable {
  var clusterId: String
  enum CodingKeys: String, CodingKey { case clusterId = "ClusterId" }
}

struct SetFaultWire: Codable, Sendable {
  var clusterId: String
  var fault: String
  var enabled: Bool?
  enum CodingKeys: String, CodingKey {
    case clusterId = "ClusterId"
    case fault = "Fault"
    case enabled = "Enabled"
  }
}

struct FaultsAnswerWire: Codable, Sendable {
  var clusterId: String?
  var faults: [String]?
  enum CodingKeys: String, CodingKey {
    case clusterId = "ClusterId"
    case faults = "Faults"
  }
}

struct SetHsmFailedWire: Codable, Sendable {
  var clusterId: String
  var hsmId: String
  var failed: Bool?
  enum CodingKeys: String, CodingKey {
    case clusterId = "ClusterId"
    case hsmId = "HsmId"
    case failed = "Failed"
  }
}

struct PredictConnectOutcomeWire: Codable, Sendable {
  var customKeyStoreId: String
  enum CodingKeys: String, CodingKey { case customKeyStoreId = "CustomKeyStoreId" }
}

struct PredictionAnswerWire: Codable, Sendable {
  var outcome: String
  var connectionErrorCode: String?
  var connectionState: String?
  var errorCode: String?
  var message: String?
  enum CodingKeys: String, CodingKey {
    case outcome = "Outcome"
    case connectionErrorCode = "ConnectionErrorCode"
    case connectionState = "ConnectionState"
    case errorCode = "ErrorCode"
    case message = "Message"
  }

  func prediction() throws -> ConnectPrediction {
    switch outcome {
    case "CONNECTED": return .connects
    case "FAILED":
      if let code = connectionErrorCode.flatMap(ConnectionErrorCodeType.init(rawValue:)) {
        return .fails(code)
      }
    case "REFUSED":
      return .refused(KMSErrorCode(errorCode ?? "UnknownError"), message ?? "")
    case "NO_CHANGE":
      if let state = connectionState.flatMap(ConnectionStateType.init(rawValue:)) { return .noChange(state) }
    default: break
    }
    throw KMSTransportError(
      .invalidResponse, endpoint: "-",
      detail: "PredictConnectOutcome answered an unknown outcome '\(outcome)'")
  }
}
