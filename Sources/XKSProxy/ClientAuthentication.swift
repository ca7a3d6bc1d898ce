import Foundation
import NIOCore
import NIOSSL
import X509

/// mTLS on the proxy (`kmsdash xks-proxy --client-ca FILE [--client-subject CN]`): a client
/// certificate is required and must chain to the configured CA; with a subject, its common name
/// must be that name too (AWS KMS presents `cks.kms.<region>.amazonaws.com`). A missing, untrusted
/// or wrongly named certificate fails the TLS handshake, which KMS reports as a TLS failure.
public struct XKSClientAuthentication: Sendable {
  public let trustRoots: [NIOSSLCertificate]
  /// The common name the client certificate must carry; nil accepts any certificate of the CA.
  public let subject: String?

  public init(caFile: String, subject: String?) throws {
    trustRoots = try NIOSSLCertificate.fromPEMFile(caFile)
    self.subject = subject
  }

  public init(trustRoots: [NIOSSLCertificate], subject: String?) {
    self.trustRoots = trustRoots
    self.subject = subject
  }

  /// A server configuration that asks for, and verifies, a client certificate.
  func apply(to configuration: inout TLSConfiguration) {
    configuration.certificateVerification = .noHostnameVerification
    configuration.trustRoots = .certificates(trustRoots)
    configuration.sendCANameList = true
  }

  /// The client's chain (leaf first) checked against the CA (RFC 5280, as of now), then the
  /// leaf's common name against `subject`.
  func verify(_ chain: [NIOSSLCertificate], _ promise: EventLoopPromise<NIOSSLVerificationResult>) {
    let roots = trustRoots
    let subject = subject
    promise.completeWithTask {
      func parse(_ certificate: NIOSSLCertificate) -> Certificate? {
        (try? certificate.toDERBytes()).flatMap { try? Certificate(derEncoded: $0) }
      }
      guard let first = chain.first, let leaf = parse(first) else { return .failed }
      var verifier = Verifier(rootCertificates: CertificateStore(roots.compactMap(parse))) {
        RFC5280Policy()
      }
      let result = await verifier.validate(
        leaf: leaf, intermediates: CertificateStore(chain.dropFirst().compactMap(parse)))
      guard case .validCertificate = result else { return .failed }
      if let subject, !ProxyCertificates.commonNames(of: leaf).contains(subject) { return .failed }
      return .certificateVerified
    }
  }
}
