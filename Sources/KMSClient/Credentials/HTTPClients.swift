import AsyncHTTPClient
import Foundation
import NIOSSL

/// HTTP clients by trust roots: `HTTPClient.shared` for the system's, one client per CA bundle
/// (`AWS_CA_BUNDLE` / `ca_bundle`) otherwise, created once and kept for the life of the process
/// (so nothing needs shutting down).
public enum HTTPClients {
  private static let lock = NSLock()
  nonisolated(unsafe) private static var byBundle: [String: HTTPClient] = [:]

  /// The client for a CA bundle (nil: the shared one). Throws a readable error when the file is
  /// missing or holds no certificate.
  public static func client(caBundle: String?) throws(AWSConfigurationError) -> HTTPClient {
    guard let caBundle, !caBundle.isEmpty else { return .shared }
    lock.lock()
    defer { lock.unlock() }
    if let client = byBundle[caBundle] { return client }
    let certificates: [NIOSSLCertificate]
    do {
      certificates = try NIOSSLCertificate.fromPEMFile(caBundle)
    } catch {
      throw .invalidConfiguration(
        message: "The CA bundle \(caBundle) (AWS_CA_BUNDLE or ca_bundle) cannot be read as PEM certificates "
          + "(\(error)). Fix: point it at a PEM file of trusted root certificates.")
    }
    guard !certificates.isEmpty else {
      throw .invalidConfiguration(message: "The CA bundle \(caBundle) holds no certificate.")
    }
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.trustRoots = .certificates(certificates)
    let client = HTTPClient(
      eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
    byBundle[caBundle] = client
    return client
  }
}
