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
    guard response.status == 200 else {
      throw KMSErrorDecoder.decode(response, operation: "\(service.targetPrefix).\(operation)")
    }
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
