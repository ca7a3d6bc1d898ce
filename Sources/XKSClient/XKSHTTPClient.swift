import AWSSigV4
import AsyncHTTPClient
import Crypto
import Foundation
import KMSModel
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The engine's side of XKS over real HTTP(S) (AsyncHTTPClient): signs every call with SigV4 as
/// `kms-xks-proxy`, bounds it by KMS's 250 ms (connect, TLS, request and answer together), and
/// turns every outcome into a typed `XKSCallFailure` or a checked answer.
public final class XKSHTTPClient: XKSProxyCalling {
  /// KMS's bound on every proxy call.
  public static let kmsTimeout: Duration = .milliseconds(250)
  /// Answers larger than this are malformed (a hostile proxy cannot make KMS buffer much).
  public static let maxAnswerBytes = 64 * 1024

  /// The connection pool in use. AsyncHTTPClient backs off (growing delays) after failed
  /// connection attempts, so a proxy that comes back would still fail KMS's calls for seconds;
  /// a call that could not connect replaces the pool instead (`renewPool`).
  private let pool: Mutex<HTTPClient>
  private let poolConfiguration: HTTPClient.Configuration
  /// Host of an `XksProxyUriEndpoint` → where its proxy really listens (`--xks-route`).
  public let routes: [String: URL]
  /// Host of an `XksProxyUriEndpoint` → a proxy in this process (the dashboard's embedded proxy).
  public let inProcess: [String: any XKSInProcessExchange]
  public let timeout: Duration
  private let now: @Sendable () -> Date
  /// The TLS context of the certificate probe: the same trust and client identity as the calls.
  private let probeTLS: NIOSSLContext

  /// A client certificate the engine presents to proxies that require mTLS (as AWS KMS presents
  /// `cks.kms.<region>.amazonaws.com`): PEM files of the certificate (chain) and its key.
  public struct ClientIdentity: Sendable, Equatable {
    public var certificatePath: String
    public var keyPath: String
    public init(certificatePath: String, keyPath: String) {
      self.certificatePath = certificatePath
      self.keyPath = keyPath
    }

    /// Presents this certificate when a server asks for one.
    func apply(to tls: inout TLSConfiguration) throws {
      tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) }
      tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem))
    }
  }

  /// - Parameters:
  ///   - routes: like curl's `--resolve`: calls for `https://HOST` go to the URL instead
  ///     (`http://` allowed there, for local work).
  ///   - caFile: a PEM file of extra trusted CAs (a private proxy CA).
  ///   - clientIdentity: the certificate presented when a proxy asks for one (mTLS).
  public init(
    routes: [String: URL] = [:], inProcess: [String: any XKSInProcessExchange] = [:], caFile: String? = nil,
    clientIdentity: ClientIdentity? = nil,
    timeout: Duration = XKSHTTPClient.kmsTimeout, now: @escaping @Sendable () -> Date = { Date() }
  ) throws {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.minimumTLSVersion = .tlsv12
    if let caFile {
      tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
    }
    try clientIdentity?.apply(to: &tls)
    probeTLS = try NIOSSLContext(configuration: tls)
    let milliseconds = Int64(
      timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
    var configuration = HTTPClient.Configuration(
      tlsConfiguration: tls, redirectConfiguration: .disallow,
      timeout: .init(connect: .milliseconds(milliseconds), read: .milliseconds(milliseconds)))
    configuration.httpVersion = .http1Only
    configuration.decompression = .disabled
    poolConfiguration = configuration
    pool = Mutex(Self.makePool(configuration))
    self.routes = routes
    self.inProcess = inProcess.reduce(into: [:]) { $0[$1.key.lowercased()] = $1.value }
    self.timeout = timeout
    self.now = now
  }

  deinit { try? pool.withLock { $0 }.syncShutdown() }

  public func shutdown() async throws { try await pool.withLock { $0 }.shutdown() }

  private static func makePool(_ configuration: HTTPClient.Configuration) -> HTTPClient {
    HTTPClient(
      eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
  }

  /// After a call through `failed` could not connect (refused, reset, TLS): later calls get a
  /// fresh pool with no backoff; the old one closes once its other calls are past their bound.
  private func renewPool(replacing failed: HTTPClient) {
    let configuration = poolConfiguration
    let stale: HTTPClient? = pool.withLock { current in
      guard current === failed else { return nil }  // another failed call renewed it already
      current = Self.makePool(configuration)
      return failed
    }
    guard let stale else { return }
    let grace = timeout + .seconds(1)
    Task {
      try? await Task.sleep(for: grace)
      try? await stale.shutdown()
    }
  }

  // MARK: XKSProxyCalling

  public func getHealthStatus(_ target: XKSProxyTarget, metadata: XKSRequestMetadata)
    async throws(XKSCallFailure)
    -> XKSHealthResponse
  {
    let answer: XKSHealthResponse = try await call(
      target, "/health", XKSMetadataOnlyRequest(requestMetadata: metadata))
    guard let size = answer.xksProxyFleetSize, size > 0, answer.xksProxyVendor != nil,
      answer.xksProxyModel != nil,
      answer.ekmVendor != nil, let fleet = answer.ekmFleetDetails, (1...10).contains(fleet.count),
      fleet.allSatisfy({
        $0.id != nil && $0.model != nil
          && ["ACTIVE", "DEGRADED", "UNAVAILABLE"].contains($0.healthStatus ?? "")
      })
    else { throw .malformedResponse("GetHealthStatus answer lacks or misstates a required member") }
    return answer
  }

  public func getKeyMetadata(_ target: XKSProxyTarget, keyId: XKSKeyID, metadata: XKSRequestMetadata)
    async throws(XKSCallFailure) -> XKSKeyMetadataResponse
  {
    let answer: XKSKeyMetadataResponse = try await call(
      target, "/keys/\(keyId)/metadata", XKSMetadataOnlyRequest(requestMetadata: metadata))
    guard answer.keySpec != nil, let usage = answer.keyUsage, usage.count <= 10, answer.keyStatus != nil
    else {
      throw .malformedResponse("GetKeyMetadata answer lacks keySpec, keyUsage or keyStatus")
    }
    return answer
  }

  public func encrypt(_ target: XKSProxyTarget, keyId: XKSKeyID, request: XKSEncryptRequest)
    async throws(XKSCallFailure) -> XKSEncryptResponse
  {
    let answer: XKSEncryptResponse = try await call(target, "/keys/\(keyId)/encrypt", request)
    guard let ciphertext = answer.ciphertext.flatMap({ Data(base64Encoded: $0) }),
      let iv = answer.initializationVector.flatMap({ Data(base64Encoded: $0) }), [12, 16].contains(iv.count),
      let tag = answer.authenticationTag.flatMap({ Data(base64Encoded: $0) }), tag.count == 16
    else { throw .malformedResponse("Encrypt answer lacks ciphertext, a 12/16-byte IV or a 16-byte tag") }
    var metadata: Data?
    if let text = answer.ciphertextMetadata {
      guard let decoded = Data(base64Encoded: text), decoded.count <= 20 else {
        throw .malformedResponse("ciphertextMetadata is not Base64 of at most 20 bytes")
      }
      metadata = decoded
    }
    if let plaintext = request.plaintext.flatMap({ Data(base64Encoded: $0) }),
      plaintext.count != ciphertext.count
    {
      throw .malformedResponse("the ciphertext is not as long as the plaintext")
    }
    if request.ciphertextDataIntegrityValueAlgorithm != nil {
      let aad = request.additionalAuthenticatedData.flatMap { Data(base64Encoded: $0) }
      let expected = Data(
        SHA256Digest.of(
          XKSAAD.cdivInput(aad: aad, metadata: metadata, iv: iv, ciphertext: ciphertext, tag: tag)))
      guard answer.ciphertextDataIntegrityValue.flatMap({ Data(base64Encoded: $0) }) == expected else {
        throw .malformedResponse("ciphertextDataIntegrityValue is missing or does not match")
      }
    }
    return answer
  }

  public func decrypt(_ target: XKSProxyTarget, keyId: XKSKeyID, request: XKSDecryptRequest)
    async throws(XKSCallFailure) -> XKSDecryptResponse
  {
    let answer: XKSDecryptResponse = try await call(target, "/keys/\(keyId)/decrypt", request)
    guard let plaintext = answer.plaintext.flatMap({ Data(base64Encoded: $0) }) else {
      throw .malformedResponse("Decrypt answer lacks a Base64 plaintext")
    }
    if let ciphertext = request.ciphertext.flatMap({ Data(base64Encoded: $0) }),
      ciphertext.count != plaintext.count
    {
      throw .invalidCiphertextReturned
    }
    return answer
  }

  public func serverCertificateNotAfter(_ target: XKSProxyTarget) async -> Date? {
    guard let base = baseURL(for: target), base.scheme == "https", let host = base.host,
      inProcess[host.lowercased()] == nil
    else { return nil }
    let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    return await PeerCertificateProbe.notAfter(
      host: bare, port: base.port ?? 443, context: probeTLS, timeout: timeout)
  }

  // MARK: One call

  /// The base URL calls for `target` go to, after `routes`.
  public func baseURL(for target: XKSProxyTarget) -> URL? {
    guard let endpoint = URL(string: target.uriEndpoint), let host = endpoint.host else { return nil }
    if inProcess[host.lowercased()] != nil { return endpoint }
    if let route = routes[host.lowercased()] { return route }
    return endpoint
  }

  func call<Body: Encodable, Answer: Decodable>(_ target: XKSProxyTarget, _ suffix: String, _ body: Body)
    async throws(XKSCallFailure) -> Answer
  {
    guard let base = baseURL(for: target), let host = base.host, let scheme = base.scheme else {
      throw .notReachable("the endpoint \(target.uriEndpoint) is not a URL")
    }
    let path = target.uriPath + suffix
    var authority = host.contains(":") ? "[\(host)]" : host
    if let port = base.port, !(scheme == "https" && port == 443), !(scheme == "http" && port == 80) {
      authority += ":\(port)"
    }
    let payload: Data
    do { payload = try JSONEncoder().encode(body) } catch {
      throw .malformedResponse("request not encodable")
    }
    let signer = SigV4Signer(
      credentials: AWSCredentials(accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey),
      region: target.region, service: "kms-xks-proxy")
    let signed = signer.sign(
      method: "POST", host: authority, path: path, headers: [("Content-Type", "application/json")],
      body: payload,
      date: now())
    let url = "\(scheme)://\(authority)\(path)"
    let headers = signed.headers.filter { $0.name.lowercased() != "host" }.map { [$0.name, $0.value] }
    let http = pool.withLock { $0 }
    let local = inProcess[host.lowercased()]
    let signedHeaders = signed.headers.map { (name: $0.name, value: $0.value) }
    let hostHeader = authority
    let timeout = self.timeout
    // The answer or the bound, whichever comes first. AsyncHTTPClient's own deadline covers
    // connecting and the answer's head, and tells a refused connection or a TLS failure from a
    // timeout; the timer here covers an answer whose body trickles in (slow loris): once the head
    // is in, the bound is strict, and the request is cancelled and not waited for.
    let outcome: Result<(Int, Data), XKSCallFailure> = await withCheckedContinuation { continuation in
      let once = ResumeOnce(continuation)
      let headReceived = Flag()
      let work = Task {
        if let local {
          // No connection to classify: the bound is strict from the start.
          headReceived.set()
          let answer = await local.exchange(method: "POST", path: path, headers: signedHeaders, body: payload)
          once.resume(answer.map { ($0.status, $0.body) })
          return
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for header in headers { request.headers.add(name: header[0], value: header[1]) }
        request.headers.add(name: "Host", value: hostHeader)
        request.body = .bytes(ByteBuffer(bytes: payload))
        do {
          let response = try await http.execute(request, deadline: .now() + .nanoseconds(timeout.nanoseconds))
          headReceived.set()
          let body = try await response.body.collect(upTo: Self.maxAnswerBytes)
          once.resume(.success((Int(response.status.code), Data(body.readableBytesView))))
        } catch {
          let failure = Self.classify(error)
          switch failure {
          case .notReachable, .tlsFailure: self.renewPool(replacing: http)
          case .proxyError, .malformedResponse, .timedOut, .invalidCiphertextReturned: break
          }
          once.resume(.failure(failure))
        }
      }
      Task {
        try? await Task.sleep(for: timeout + .milliseconds(25))
        if !headReceived.isSet {
          // No head yet: AsyncHTTPClient's deadline has fired or is about to, with the reason.
          try? await Task.sleep(for: .milliseconds(250))
        }
        if once.resume(.failure(.timedOut)) { work.cancel() }
      }
    }
    let (status, data) = try outcome.get()
    return try Self.interpret(status: status, body: data)
  }

  /// A status and body as KMS reads them.
  static func interpret<Answer: Decodable>(status: Int, body: Data) throws(XKSCallFailure) -> Answer {
    if status == 200 {
      do {
        return try JSONDecoder().decode(Answer.self, from: body)
      } catch {
        throw .malformedResponse("the 200 answer is not the expected JSON")
      }
    }
    guard let error = try? JSONDecoder().decode(XKSErrorBody.self, from: body),
      let name = error.errorName.flatMap(XKSErrorName.init(rawValue:)), name.httpStatus == status
    else { throw .malformedResponse("HTTP \(status) without a known errorName") }
    throw .proxyError(name)
  }

  /// Timeouts, refused or reset connections and TLS failures, told apart.
  static func classify(_ error: any Error) -> XKSCallFailure {
    if let failure = error as? XKSCallFailure { return failure }
    if let http = error as? HTTPClientError {
      switch http {
      case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .getConnectionFromPoolTimeout:
        return .timedOut
      case .tlsHandshakeTimeout:
        return .tlsFailure("TLS handshake timed out")
      case .remoteConnectionClosed:
        return .notReachable("the proxy closed the connection")
      default:
        break
      }
    }
    if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
      return .tlsFailure(String(describing: error))
    }
    if error is NIOTooManyBytesError {
      return .malformedResponse("answer larger than \(maxAnswerBytes) bytes")
    }
    if error is CancellationError { return .timedOut }
    let text = String(describing: error)
    if text.contains("SSL") || text.contains("TLS") || text.contains("certificate") {
      return .tlsFailure(text)
    }
    if error is HTTPParserError { return .malformedResponse("not HTTP") }
    return .notReachable(text)
  }
}

/// A flag set once, read from another task.
final class Flag: Sendable {
  private let value = Mutex(false)
  func set() { value.withLock { $0 = true } }
  var isSet: Bool { value.withLock { $0 } }
}

/// Resumes a continuation exactly once, from whichever task gets there first.
final class ResumeOnce<Value: Sendable>: Sendable {
  private let continuation: Mutex<CheckedContinuation<Value, Never>?>
  init(_ continuation: CheckedContinuation<Value, Never>) { self.continuation = Mutex(continuation) }

  /// True when this call resumed it.
  @discardableResult
  func resume(_ value: Value) -> Bool {
    guard
      let pending = continuation.withLock({ state -> CheckedContinuation<Value, Never>? in
        defer { state = nil }
        return state
      })
    else { return false }
    pending.resume(returning: value)
    return true
  }
}

extension Duration {
  var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

enum SHA256Digest {
  static func of(_ data: Data) -> [UInt8] { Array(SHA256.hash(data: data)) }
}
