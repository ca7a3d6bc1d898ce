import AsyncHTTPClient
import Foundation
import KMSModel
import NIOCore
import NIOHTTP1

/// `KMSTransport` over AsyncHTTPClient: POST to the endpoint with SigV4-signed AWS JSON 1.1
/// headers; TLS for `https` endpoints (system trust roots).
///
/// Uses `HTTPClient.shared` unless given a client, so nothing needs shutting down.
public struct HTTPTransport: KMSTransport {
  /// Where each service is served (KMS, and CloudHSM v2, which real AWS serves on another host).
  public var endpoints: [KMSWireService: URL]
  public var signer: KMSRequestSigner
  /// When set, each request is signed with the provider's current credentials (refreshed before
  /// they expire) instead of `signer.credentials`.
  public var credentialProvider: (any AWSCredentialProvider)?
  /// Per-request deadline, connect included.
  public var timeout: Duration
  /// Largest answer accepted.
  public var maxResponseBytes: Int
  public var userAgent: String
  public var now: @Sendable () -> Date
  private let client: HTTPClient

  public init(
    endpoints: [KMSWireService: URL], signer: KMSRequestSigner, timeout: Duration = .seconds(10),
    maxResponseBytes: Int = 16 * 1024 * 1024, userAgent: String = "kmsdash",
    client: HTTPClient = .shared, now: @escaping @Sendable () -> Date = { Date() },
    credentialProvider: (any AWSCredentialProvider)? = nil
  ) {
    self.endpoints = endpoints
    self.signer = signer
    self.credentialProvider = credentialProvider
    self.timeout = timeout
    self.maxResponseBytes = maxResponseBytes
    self.userAgent = userAgent
    self.client = client
    self.now = now
  }

  public func send(_ request: KMSWireRequest) async throws -> KMSWireResponse {
    guard let endpoint = endpoints[request.service] ?? endpoints[.kms] else {
      throw KMSTransportError(.invalidEndpoint, endpoint: "-", detail: "no endpoint for \(request.service)")
    }
    let display = endpoint.absoluteString
    guard let scheme = endpoint.scheme?.lowercased(), scheme == "http" || scheme == "https",
      let host = endpoint.host, !host.isEmpty
    else {
      throw KMSTransportError(
        .invalidEndpoint, endpoint: display, detail: "use http://HOST[:PORT] or https://HOST")
    }
    let hostHeader = Self.hostHeader(endpoint)
    let path = endpoint.path.isEmpty ? "/" : endpoint.path
    var signer = self.signer
    if let credentialProvider { signer.credentials = try await credentialProvider.credentials() }
    var httpRequest = HTTPClientRequest(url: display)
    httpRequest.method = .POST
    for header in signer.headers(
      for: request, host: hostHeader, path: path, date: now(), userAgent: userAgent)
    {
      httpRequest.headers.add(name: header.name, value: header.value)
    }
    httpRequest.headers.add(name: "Accept-Encoding", value: "identity")
    httpRequest.body = .bytes(ByteBuffer(bytes: request.body))

    let (seconds, attoseconds) = timeout.components
    let amount = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    do {
      let response = try await client.execute(httpRequest, timeout: amount)
      let body = try await response.body.collect(upTo: maxResponseBytes)
      var headers: [String: String] = [:]
      for header in response.headers { headers[header.name.lowercased()] = header.value }
      return KMSWireResponse(status: Int(response.status.code), headers: headers, body: Data(buffer: body))
    } catch let error as KMSTransportError {
      throw error
    } catch is CancellationError {
      throw CancellationError()
    } catch {
      throw Self.classify(error, endpoint: display)
    }
  }

  /// `host[:port]` as AsyncHTTPClient sends it: the port only when it is not the scheme's default.
  static func hostHeader(_ endpoint: URL) -> String {
    var host = endpoint.host ?? ""
    if host.contains(":") { host = "[\(host)]" }
    let defaultPort = endpoint.scheme?.lowercased() == "https" ? 443 : 80
    if let port = endpoint.port, port != defaultPort { return "\(host):\(port)" }
    return host
  }

  static func classify(_ error: any Error, endpoint: String) -> KMSTransportError {
    if let error = error as? HTTPClientError {
      switch error {
      case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
        return KMSTransportError(.timedOut, endpoint: endpoint, detail: "\(error)")
      default:
        return KMSTransportError(.connectionFailed, endpoint: endpoint, detail: "\(error)")
      }
    }
    let typeName = String(describing: type(of: error))
    if typeName.contains("SSL") || typeName.contains("TLS") {
      return KMSTransportError(.tls, endpoint: endpoint, detail: "\(error)")
    }
    return KMSTransportError(.connectionFailed, endpoint: endpoint, detail: "\(error)")
  }
}

extension Data {
  fileprivate init(buffer: ByteBuffer) {
    self = buffer.withUnsafeReadableBytes { Data($0) }
  }
}
