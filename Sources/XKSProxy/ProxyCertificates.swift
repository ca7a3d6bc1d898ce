import Crypto
import Foundation
import SwiftASN1
import X509

/// The proxy's TLS identity: a private CA, kept beside the state, and server certificates it
/// signs: the valid one (names `localhost`, `127.0.0.1`, `::1` and any given host names), and
/// for the QA faults an expired one and one for the wrong name.
public struct ProxyCertificates: Sendable {
  /// Where the files live: `ca.pem` (what a client trusts), `ca-key.pem`, `server.pem`,
  /// `server-key.pem`.
  public let directory: String
  public var caPath: String { (directory as NSString).appendingPathComponent("ca.pem") }
  var caKeyPath: String { (directory as NSString).appendingPathComponent("ca-key.pem") }
  public var certificatePath: String { (directory as NSString).appendingPathComponent("server.pem") }
  public var keyPath: String { (directory as NSString).appendingPathComponent("server-key.pem") }

  public init(directory: String) { self.directory = directory }

  public struct Leaf: Sendable {
    public var certificatePEM: String
    public var privateKeyPEM: String
  }

  /// Loads the CA and server certificate, creating them when missing (or when the server
  /// certificate lacks one of `names`, or expires within a day).
  public func ensure(names: [String]) async throws -> Leaf {
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let (caCertificate, caKey) = try await loadOrCreateCA()
    let wanted = Set(["localhost", "127.0.0.1", "::1"] + names)
    if let pem = try? String(contentsOfFile: certificatePath, encoding: .utf8),
      let keyPEM = try? String(contentsOfFile: keyPath, encoding: .utf8),
      let certificate = try? Certificate(pemEncoded: pem), certificate.issuer == caCertificate.subject,
      certificate.notValidAfter > Date().addingTimeInterval(86_400),
      wanted.isSubset(of: Self.names(of: certificate))
    {
      return Leaf(certificatePEM: pem, privateKeyPEM: keyPEM)
    }
    let leaf = try await issue(
      names: Array(wanted).sorted(), notBefore: Date().addingTimeInterval(-3600),
      notAfter: Date().addingTimeInterval(397 * 86_400), ca: caCertificate, caKey: caKey)
    try ProxyStateFile.writePrivate(Data(leaf.certificatePEM.utf8), to: certificatePath)
    try ProxyStateFile.writePrivate(Data(leaf.privateKeyPEM.utf8), to: keyPath)
    return leaf
  }

  /// A certificate for the QA faults, signed by the same CA (so only the fault is wrong).
  public func faulty(_ kind: XKSProxyFaults.Certificate, names: [String]) async throws -> Leaf? {
    let (caCertificate, caKey) = try await loadOrCreateCA()
    switch kind {
    case .valid:
      return nil
    case .expired:
      return try await issue(
        names: ["localhost", "127.0.0.1", "::1"] + names, notBefore: Date().addingTimeInterval(-30 * 86_400),
        notAfter: Date().addingTimeInterval(-86_400), ca: caCertificate, caKey: caKey)
    case .wrongName:
      return try await issue(
        names: ["wrong-name.invalid"], notBefore: Date().addingTimeInterval(-3600),
        notAfter: Date().addingTimeInterval(30 * 86_400), ca: caCertificate, caKey: caKey)
    }
  }

  /// A server certificate from the same CA valid until `notAfter` (a certificate about to
  /// expire, for `XksProxyCertificateDaysToExpire`).
  public func leaf(names: [String], notAfter: Date) async throws -> Leaf {
    let (caCertificate, caKey) = try await loadOrCreateCA()
    return try await issue(
      names: ["localhost", "127.0.0.1", "::1"] + names, notBefore: Date().addingTimeInterval(-3600),
      notAfter: notAfter, ca: caCertificate, caKey: caKey)
  }

  /// The client certificate KMS presents to proxies that require mTLS, `CN=commonName` (AWS:
  /// `cks.kms.<region>.amazonaws.com`), signed by this directory's CA (`caPath`, what a proxy's
  /// `--client-ca` trusts); created when missing, for another name, or expiring within a day.
  public func ensureClient(commonName: String) async throws -> (certificatePath: String, keyPath: String) {
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let (caCertificate, caKey) = try await loadOrCreateCA()
    let certificatePath = (directory as NSString).appendingPathComponent("client-\(commonName).pem")
    let keyPath = (directory as NSString).appendingPathComponent("client-\(commonName)-key.pem")
    if let pem = try? String(contentsOfFile: certificatePath, encoding: .utf8),
      FileManager.default.fileExists(atPath: keyPath),
      let certificate = try? Certificate(pemEncoded: pem), certificate.issuer == caCertificate.subject,
      certificate.notValidAfter > Date().addingTimeInterval(86_400),
      Self.commonNames(of: certificate) == [commonName]
    {
      return (certificatePath, keyPath)
    }
    let leaf = try await issue(
      names: [commonName], notBefore: Date().addingTimeInterval(-3600),
      notAfter: Date().addingTimeInterval(397 * 86_400), ca: caCertificate, caKey: caKey, usage: .clientAuth)
    try ProxyStateFile.writePrivate(Data(leaf.certificatePEM.utf8), to: certificatePath)
    try ProxyStateFile.writePrivate(Data(leaf.privateKeyPEM.utf8), to: keyPath)
    return (certificatePath, keyPath)
  }

  /// Days until the server certificate expires (the dashboard's `XksProxyCertificateDaysToExpire`).
  public func daysToExpiry() -> Int? {
    guard let pem = try? String(contentsOfFile: certificatePath, encoding: .utf8),
      let certificate = try? Certificate(pemEncoded: pem)
    else { return nil }
    return Int(certificate.notValidAfter.timeIntervalSinceNow / 86_400)
  }

  static func commonNames(of certificate: Certificate) -> [String] {
    certificate.subject.flatMap { relative in
      relative.filter { $0.type == .RDNAttributeType.commonName }.compactMap { String($0.value) }
    }
  }

  static func names(of certificate: Certificate) -> Set<String> {
    guard let san = try? certificate.extensions.subjectAlternativeNames else { return [] }
    var names: Set<String> = []
    for name in san {
      switch name {
      case .dnsName(let dns): names.insert(dns)
      case .ipAddress(let bytes):
        let raw = Array(bytes.bytes)
        if raw.count == 4 { names.insert(raw.map(String.init).joined(separator: ".")) }
        if raw.count == 16, raw == Array(repeating: 0, count: 15) + [1] { names.insert("::1") }
      default: break
      }
    }
    return names
  }

  private func loadOrCreateCA() async throws -> (Certificate, Certificate.PrivateKey) {
    if let pem = try? String(contentsOfFile: caPath, encoding: .utf8),
      let keyPEM = try? String(contentsOfFile: caKeyPath, encoding: .utf8),
      let certificate = try? Certificate(pemEncoded: pem),
      let key = try? P256.Signing.PrivateKey(pemRepresentation: keyPEM),
      certificate.notValidAfter > Date().addingTimeInterval(86_400)
    {
      return (certificate, Certificate.PrivateKey(key))
    }
    let key = P256.Signing.PrivateKey()
    let name = try DistinguishedName {
      OrganizationName("kmsdash")
      CommonName("kmsdash xks-proxy local CA")
    }
    let certificate = try Certificate(
      version: .v3, serialNumber: Certificate.SerialNumber(),
      publicKey: Certificate.PublicKey(key.publicKey), notValidBefore: Date().addingTimeInterval(-3600),
      notValidAfter: Date().addingTimeInterval(10 * 365 * 86_400), issuer: name, subject: name,
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
        Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
      }, issuerPrivateKey: Certificate.PrivateKey(key))
    try ProxyStateFile.writePrivate(Data(try certificate.serializeAsPEM().pemString.utf8), to: caPath)
    try ProxyStateFile.writePrivate(Data(key.pemRepresentation.utf8), to: caKeyPath)
    // The CA certificate is public: clients read it.
    chmod(caPath, 0o644)
    return (certificate, Certificate.PrivateKey(key))
  }

  private func issue(
    names: [String], notBefore: Date, notAfter: Date, ca: Certificate, caKey: Certificate.PrivateKey,
    usage: ExtendedKeyUsage.Usage = .serverAuth
  ) async throws -> Leaf {
    let key = P256.Signing.PrivateKey()
    let unique = Array(Set(names)).sorted()
    let subject = try DistinguishedName {
      OrganizationName("kmsdash")
      CommonName(unique.first { $0.contains(where: \.isLetter) } ?? "localhost")
    }
    let alternatives: [GeneralName] = unique.map { name in
      if let bytes = Self.ipBytes(name) { return .ipAddress(ASN1OctetString(contentBytes: bytes[...])) }
      return .dnsName(name)
    }
    let certificate = try Certificate(
      version: .v3, serialNumber: Certificate.SerialNumber(),
      publicKey: Certificate.PublicKey(key.publicKey), notValidBefore: notBefore, notValidAfter: notAfter,
      issuer: ca.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        Critical(KeyUsage(digitalSignature: true))
        try ExtendedKeyUsage([usage])
        SubjectAlternativeNames(alternatives)
      }, issuerPrivateKey: caKey)
    return Leaf(
      certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
  }

  static func ipBytes(_ text: String) -> [UInt8]? {
    if text == "::1" { return Array(repeating: 0, count: 15) + [1] }
    let parts = text.split(separator: ".")
    guard parts.count == 4 else { return nil }
    let bytes = parts.compactMap { UInt8($0) }
    return bytes.count == 4 ? bytes : nil
  }
}
