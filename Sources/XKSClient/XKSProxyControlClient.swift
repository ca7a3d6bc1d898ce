import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A client of a `kmsdash xks-proxy`'s QA control endpoint (`/kmsdash/faults`), used by
/// `kmsdash fault --xks-proxy URL` and the tests. Bodies are the proxy's fault JSON.
public struct XKSProxyControlClient: Sendable {
  public let baseURL: String
  public let caFile: String?
  /// Presented when the proxy requires mTLS.
  public let clientIdentity: XKSHTTPClient.ClientIdentity?
  /// false: the proxy's certificate is not checked, so a certificate fault (expired, wrong
  /// name) can still be cleared. The control endpoint takes no credential, so nothing secret
  /// is sent to a proxy that is not the one meant.
  public let verifyCertificate: Bool

  public init(
    baseURL: String, caFile: String? = nil, clientIdentity: XKSHTTPClient.ClientIdentity? = nil,
    verifyCertificate: Bool = true
  ) {
    self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    self.caFile = caFile
    self.clientIdentity = clientIdentity
    self.verifyCertificate = verifyCertificate
  }

  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// GET `/kmsdash/faults` (body nil) or POST a patch / `clear`; returns the faults in force as JSON.
  public func send(path: String, body: Data?) async throws -> Data {
    var tls = TLSConfiguration.makeClientConfiguration()
    if let caFile { tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))] }
    if !verifyCertificate { tls.certificateVerification = .none }
    try clientIdentity?.apply(to: &tls)
    let client = HTTPClient(
      eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton),
      configuration: HTTPClient.Configuration(tlsConfiguration: tls))
    do {
      var request = HTTPClientRequest(url: baseURL + path)
      if let body {
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
      }
      let response = try await client.execute(request, timeout: .seconds(10))
      let answer = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
      try await client.shutdown()
      guard response.status == .ok else {
        throw Failure(description: "HTTP \(response.status.code): \(String(decoding: answer, as: UTF8.self))")
      }
      return answer
    } catch {
      try? await client.shutdown()
      throw error
    }
  }
}
