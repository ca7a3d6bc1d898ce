import AWSSigV4
import Crypto
import Foundation
import KMSModel
import Synchronization

/// One HTTP request as the proxy sees it, whatever carried it (sockets, tests, the fuzzer).
public struct XKSHTTPRequest: Sendable {
  public var method: String
  public var path: String
  public var query: String
  public var headers: [(name: String, value: String)]
  public var body: Data

  public init(
    method: String, path: String, query: String = "", headers: [(name: String, value: String)], body: Data
  ) {
    self.method = method
    self.path = path
    self.query = query
    self.headers = headers
    self.body = body
  }

  /// Every value of the header `name` (lowercase), in order. Names are compared ASCII
  /// case-insensitively in place: the verifier asks for several headers per request.
  public func header(_ name: String) -> [String] {
    var values: [String] = []
    for field in headers where Self.equalsLowercased(field.name, name) { values.append(field.value) }
    return values
  }

  private static func equalsLowercased(_ candidate: String, _ lowercase: String) -> Bool {
    if candidate.utf8.contains(where: { $0 >= 0x80 }) { return candidate.lowercased() == lowercase }
    guard candidate.utf8.count == lowercase.utf8.count else { return false }
    for (byte, expected) in zip(candidate.utf8, lowercase.utf8) {
      let lowered = byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
      guard lowered == expected else { return false }
    }
    return true
  }
}

/// What to send back, and how.
public struct XKSHTTPResponse: Sendable {
  public enum Delivery: Sendable, Equatable {
    case normal
    /// Close the connection with a TCP reset before sending anything.
    case resetBeforeResponse
    /// Send the head and half of the body, then reset.
    case resetMidResponse
  }

  public var status: Int
  public var headers: [(name: String, value: String)]
  public var body: Data
  public var delayMilliseconds: Int = 0
  public var delivery: Delivery = .normal
  /// For the request log: the XKS operation, and the kmsRequestId when there was one.
  public var operation: String?
  public var kmsRequestId: String?

  public init(status: Int, contentType: String = "application/json", body: Data) {
    self.status = status
    headers = [("Content-Type", contentType)]
    self.body = body
  }

  public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// The XKS Proxy API v1 server logic over the simulated external key manager: routing by URI
/// prefix, SigV4 (`kms-xks-proxy`, ±5 minutes, two credentials per key store), the four
/// operations, the spec's error table, `/ping`, and the QA control endpoint (`/kmsdash/…`).
/// Thread-safe; the transport (sockets, in-process) only moves bytes.
public final class XKSProxyCore: Sendable {
  public let configuration: XKSProxyConfiguration
  public let ekm: ExternalKeyManager
  private let verifiers: [String: SigV4Verifier]
  private let now: @Sendable () -> Date
  private let state = Mutex(MutableState())
  /// Called when the certificate fault changes (the TLS server swaps its certificate).
  private let certificateObserver = Mutex<(@Sendable (XKSProxyFaults.Certificate) -> Void)?>(nil)

  struct MutableState {
    var faults = XKSProxyFaults()
    /// Per key store: the current second and the requests counted in it.
    var rate: [String: (second: Int64, count: Int)] = [:]
  }

  public static let vendor = "kmsdash"
  public static let model = "kmsdash simulated XKS proxy 1.0"
  public static let controlPrefix = "/kmsdash/"

  public init(
    configuration: XKSProxyConfiguration, ekm: ExternalKeyManager,
    now: @escaping @Sendable () -> Date = { Date() }
  ) {
    self.configuration = configuration
    self.ekm = ekm
    self.now = now
    var verifiers: [String: SigV4Verifier] = [:]
    let regions = configuration.regions.map(Set.init)
    for store in configuration.keyStores {
      verifiers[store.uriPath] = SigV4Verifier(
        credentials: store.credentials.map {
          AWSCredentials(accessKeyId: $0.accessKeyId, secretAccessKey: $0.secretAccessKey)
        }, allowedRegions: regions, clockSkew: 300)
    }
    self.verifiers = verifiers
  }

  public var faults: XKSProxyFaults { state.withLock { $0.faults } }

  /// Merges `patch` into the faults in force; returns them.
  @discardableResult
  public func setFaults(_ patch: XKSProxyFaults) throws(XKSProxyFaults.FaultError) -> XKSProxyFaults {
    try patch.validate()
    let (before, after) = state.withLock { state in
      let before = state.faults
      state.faults = before.merging(patch)
      return (before, state.faults)
    }
    if before.certificate != after.certificate {
      certificateObserver.withLock { $0 }?(after.certificate ?? .valid)
    }
    return after
  }

  public func clearFaults() {
    let before = state.withLock { state in
      let before = state.faults
      state.faults = XKSProxyFaults()
      return before
    }
    if before.certificate != nil { certificateObserver.withLock { $0 }?(.valid) }
  }

  public func observeCertificateFault(_ observer: @escaping @Sendable (XKSProxyFaults.Certificate) -> Void) {
    certificateObserver.withLock { $0 = observer }
  }

  // MARK: Routing

  enum Route {
    case health
    case key(String, XKSOperation)
  }

  /// Splits `[/prefix]/kms/xks/v1/<api>`; nil when the path is not shaped like an XKS API URI.
  static func parse(_ path: String) -> (uriPath: String, route: Route?)? {
    guard let range = path.range(of: "/kms/xks/v1/", options: .backwards) else { return nil }
    let uriPath = String(path[..<range.lowerBound]) + "/kms/xks/v1"
    let rest = path[range.upperBound...]
    if rest == "health" { return (uriPath, .health) }
    let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0] == "keys", !parts[1].isEmpty else { return (uriPath, nil) }
    let operation: XKSOperation
    switch parts[2] {
    case "metadata": operation = .getKeyMetadata
    case "encrypt": operation = .encrypt
    case "decrypt": operation = .decrypt
    default: return (uriPath, nil)
    }
    let segment = String(parts[1])
    let keyId =
      segment.utf8.contains(UInt8(ascii: "%")) ? (segment.removingPercentEncoding ?? segment) : segment
    return (uriPath, .key(keyId, operation))
  }

  /// Answers one request on the caller's thread. `signingKeys`: the caller's cache of derived
  /// SigV4 signing keys (one per connection, so no lock is taken); nil derives them each time.
  public func handle(_ request: XKSHTTPRequest, signingKeys: SigV4SigningKeyCache? = nil) -> XKSHTTPResponse {
    if request.path == "/ping" {
      return XKSHTTPResponse(status: 200, contentType: "text/plain", body: Data("pong".utf8))
    }
    if request.path.hasPrefix(Self.controlPrefix) { return control(request) }
    let faults = self.faults
    if faults.refuseConnections == true {
      // A refused connection: no HTTP at all, whatever the path or method.
      var response = XKSHTTPResponse(status: 0, body: Data())
      response.delivery = .resetBeforeResponse
      return response
    }
    guard let (uriPath, route) = Self.parse(request.path) else {
      return error(.invalidUriPathException, "The URI path \(printable(request.path)) is not an XKS API URI.")
    }
    guard let route else {
      return error(.invalidUriPathException, "The URI path \(printable(request.path)) is not an XKS API URI.")
    }
    let operation: XKSOperation
    switch route {
    case .health: operation = .getHealthStatus
    case .key(_, let op): operation = op
    }
    // The four API URIs accept POST only, whatever the prefix or signature (the spec's MUST).
    guard request.method == "POST" else {
      var response = XKSHTTPResponse(status: 405, body: Data())
      response.headers = [("Allow", "POST")]
      response.operation = operation.rawValue
      return response
    }
    var response = serve(
      request, uriPath: uriPath, route: route, operation: operation, faults: faults, signingKeys: signingKeys)
    response.operation = operation.rawValue
    return response
  }

  private static let signingNames: Set<String> = ["kms-xks-proxy"]

  private func serve(
    _ request: XKSHTTPRequest, uriPath: String, route: Route, operation: XKSOperation, faults: XKSProxyFaults,
    signingKeys: SigV4SigningKeyCache?
  ) -> XKSHTTPResponse {
    guard let verifier = verifiers[uriPath] else {
      return error(.invalidUriPathException, "No key store is configured at \(printable(uriPath)).")
    }
    let now = now()
    do {
      _ = try verifier.verify(
        method: request.method, path: request.path, query: request.query, header: request.header,
        payloadHash: SigV4.sha256Hex(request.body), services: Self.signingNames, now: now,
        signingKeys: signingKeys)
    } catch let failure {
      return error(
        .authenticationFailedException, "The request signature could not be verified: \(failure.message)")
    }
    var response = answer(
      request, uriPath: uriPath, route: route, operation: operation, faults: faults, now: now)
    if faults.applies(to: operation) {
      response.delayMilliseconds = faults.latencyMilliseconds ?? 0
      if faults.resetMidResponse == true { response.delivery = .resetMidResponse }
      if response.status == 200, let malformed = faults.malformed {
        response = spoil(response, malformed, operation: operation)
      }
    }
    return response
  }

  private func answer(
    _ request: XKSHTTPRequest, uriPath: String, route: Route, operation: XKSOperation, faults: XKSProxyFaults,
    now: Date
  ) -> XKSHTTPResponse {
    if let limit = faults.throttlePerSecond {
      let second = Int64(now.timeIntervalSince1970.rounded(.down))
      let count = state.withLock { state -> Int in
        var entry = state.rate[uriPath] ?? (second, 0)
        if entry.second != second { entry = (second, 0) }
        entry.count += 1
        state.rate[uriPath] = entry
        return entry.count
      }
      if count > limit {
        return error(.throttlingException, "More than \(limit) requests per second for this key store.")
      }
    }
    if faults.applies(to: operation), let name = faults.errorName.flatMap(XKSErrorName.init(rawValue:)) {
      return error(name, "Fault injected by kmsdash.")
    }
    if case .key(let keyId, let operation) = route, let plain = XKSPlainBody.parse(request.body) {
      return keyRequest(
        .plain(plain), keyId: keyId, operation: operation, metadata: plain.metadata, faults: faults)
    }
    guard let object = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any] else {
      if operation == .getHealthStatus { return health(faults) }
      return error(.validationException, "The request body is not a JSON object.")
    }
    switch route {
    case .health:
      var response = health(faults)
      response.kmsRequestId = (object["requestMetadata"] as? [String: Any])?["kmsRequestId"] as? String
      return response
    case .key(let keyId, let operation):
      let metadata: XKSRequestMetadata
      do {
        guard object["requestMetadata"] is [String: Any] else {
          return error(.validationException, "requestMetadata is missing.")
        }
        metadata =
          try JSONDecoder().decode(XKSMetadataOnlyRequest.self, from: request.body).requestMetadata ?? .init()
      } catch {
        return self.error(.validationException, "requestMetadata is not valid.")
      }
      return keyRequest(
        .json(request.body), keyId: keyId, operation: operation, metadata: metadata, faults: faults)
    }
  }

  /// A key request's body once `requestMetadata` is read: read on bytes (`XKSPlainBody`), or
  /// JSON for `JSONDecoder` to decode when the operation needs its members.
  enum KeyRequestBody {
    case plain(XKSPlainBody)
    case json(Data)

    var encryptRequest: XKSEncryptRequest? {
      switch self {
      case .plain(let body): return body.encryptRequest
      case .json(let data): return try? JSONDecoder().decode(XKSEncryptRequest.self, from: data)
      }
    }

    var decryptRequest: XKSDecryptRequest? {
      switch self {
      case .plain(let body): return body.decryptRequest
      case .json(let data): return try? JSONDecoder().decode(XKSDecryptRequest.self, from: data)
      }
    }
  }

  private func keyRequest(
    _ body: KeyRequestBody, keyId: String, operation: XKSOperation, metadata: XKSRequestMetadata,
    faults: XKSProxyFaults
  ) -> XKSHTTPResponse {
    var missing: [String] = []
    if metadata.kmsRequestId == nil { missing.append("kmsRequestId") }
    if metadata.kmsOperation == nil { missing.append("kmsOperation") }
    if metadata.awsPrincipalArn == nil { missing.append("awsPrincipalArn") }
    if operation != .getKeyMetadata && metadata.kmsKeyArn == nil { missing.append("kmsKeyArn") }
    if !missing.isEmpty {
      var response = error(
        .validationException, "requestMetadata lacks \(missing.joined(separator: ", ")).")
      response.kmsRequestId = metadata.kmsRequestId
      return response
    }
    var response = keyOperation(body, keyId: keyId, operation: operation, metadata: metadata, faults: faults)
    response.kmsRequestId = metadata.kmsRequestId
    return response
  }

  // MARK: Operations

  private func health(_ faults: XKSProxyFaults) -> XKSHTTPResponse {
    let healthy = ekm.deepHealthCheck()
    let members = ekm.fleet.enumerated().map { index, member in
      let status: String
      switch faults.ekmHealth {
      case .unavailable: status = "UNAVAILABLE"
      case .someDegraded: status = index % 2 == 0 ? "DEGRADED" : "ACTIVE"
      case .active, nil: status = healthy ? "ACTIVE" : "UNAVAILABLE"
      }
      return XKSEkmFleetMember(id: member.id, model: member.model, healthStatus: status)
    }
    return json(
      XKSHealthResponse(
        xksProxyFleetSize: 1, xksProxyVendor: Self.vendor, xksProxyModel: Self.model, ekmVendor: Self.vendor,
        ekmFleetDetails: members))
  }

  private func keyOperation(
    _ body: KeyRequestBody, keyId: String, operation: XKSOperation, metadata: XKSRequestMetadata,
    faults: XKSProxyFaults
  ) -> XKSHTTPResponse {
    if let denied = faults.deniedPrincipals,
      denied.contains("*") || denied.contains(metadata.awsPrincipalArn ?? "")
    {
      return error(.accessDeniedException, "The proxy's authorization policy denies this principal.")
    }
    guard let key = ekm.keys[keyId] else {
      return error(.keyNotFoundException, "No external key \(printable(keyId)).")
    }
    if faults.ekmHealth == .unavailable {
      return error(.internalException, "The external key manager is unavailable.")
    }
    let disabled = key.status != "ENABLED" || (faults.disabledKeys ?? []).contains(keyId)
    switch operation {
    case .getHealthStatus:
      return health(faults)
    case .getKeyMetadata:
      return json(
        XKSKeyMetadataResponse(
          keySpec: key.spec, keyUsage: key.usage, keyStatus: disabled ? "DISABLED" : "ENABLED"))
    case .encrypt:
      guard let request = body.encryptRequest else {
        return error(.validationException, "The Encrypt request is not valid.")
      }
      guard request.encryptionAlgorithm == "AES_GCM" else {
        return error(.validationException, "encryptionAlgorithm must be AES_GCM.")
      }
      guard let plaintext = request.plaintext.flatMap({ Data(base64Encoded: $0) }) else {
        return error(.validationException, "plaintext is missing or not Base64.")
      }
      var aad: Data?
      if let text = request.additionalAuthenticatedData {
        guard let decoded = Data(base64Encoded: text) else {
          return error(.validationException, "additionalAuthenticatedData is not Base64.")
        }
        aad = decoded
      }
      if let algorithm = request.ciphertextDataIntegrityValueAlgorithm, algorithm != "SHA_256" {
        return error(.validationException, "ciphertextDataIntegrityValueAlgorithm must be SHA_256.")
      }
      if plaintext.count > Self.maxPlaintext || (aad?.count ?? 0) > Self.maxAAD {
        return error(
          .unsupportedOperationException, "The plaintext or AAD is larger than this proxy supports.")
      }
      guard key.spec == "AES_256", key.usage.contains("ENCRYPT") else {
        return error(.invalidKeyUsageException, "The external key does not allow ENCRYPT.")
      }
      if disabled { return error(.invalidStateException, "The external key is disabled.") }
      guard let sealed = try? ekm.encrypt(keyId: keyId, plaintext: plaintext, aad: aad) else {
        return error(.internalException, "The external key manager failed.")
      }
      var cdiv: Data?
      if request.ciphertextDataIntegrityValueAlgorithm != nil {
        // Appendix C: hash first, then prove the output decrypts.
        let digest = SHA256.hash(
          data: XKSAAD.cdivInput(
            aad: aad, metadata: sealed.metadata, iv: sealed.iv, ciphertext: sealed.ciphertext, tag: sealed.tag
          ))
        cdiv = Data(digest)
        guard
          ekm.decrypt(
            keyId: keyId, ciphertext: sealed.ciphertext, iv: sealed.iv, tag: sealed.tag,
            metadata: sealed.metadata,
            aad: aad) == plaintext
        else { return error(.internalException, "The encrypt output did not decrypt.") }
      }
      return XKSHTTPResponse(status: 200, body: XKSPlainAnswer.encrypt(sealed, cdiv: cdiv))
    case .decrypt:
      guard let request = body.decryptRequest else {
        return error(.validationException, "The Decrypt request is not valid.")
      }
      guard request.encryptionAlgorithm == "AES_GCM" else {
        return error(.validationException, "encryptionAlgorithm must be AES_GCM.")
      }
      func decoded(_ text: String?) -> Data?? {
        guard let text else { return .some(nil) }
        guard let data = Data(base64Encoded: text) else { return nil }
        return .some(data)
      }
      guard let ciphertextField = decoded(request.ciphertext), let ciphertext = ciphertextField,
        let ivField = decoded(request.initializationVector), let iv = ivField,
        let tagField = decoded(request.authenticationTag), let tag = tagField,
        let aad = decoded(request.additionalAuthenticatedData),
        let metadata = decoded(request.ciphertextMetadata)
      else {
        return error(
          .validationException, "ciphertext, initializationVector and authenticationTag are required Base64.")
      }
      if ciphertext.count > Self.maxPlaintext || (aad?.count ?? 0) > Self.maxAAD {
        return error(
          .unsupportedOperationException, "The ciphertext or AAD is larger than this proxy supports.")
      }
      if (metadata?.count ?? 0) > 20 {
        return error(.validationException, "ciphertextMetadata is longer than 20 bytes.")
      }
      guard key.spec == "AES_256", key.usage.contains("DECRYPT") else {
        return error(.invalidKeyUsageException, "The external key does not allow DECRYPT.")
      }
      if disabled { return error(.invalidStateException, "The external key is disabled.") }
      guard [12, 16].contains(iv.count), tag.count == 16,
        let plaintext = ekm.decrypt(
          keyId: keyId, ciphertext: ciphertext, iv: iv, tag: tag, metadata: metadata, aad: aad)
      else {
        return error(
          .invalidCiphertextException,
          "The ciphertext, initialization vector, additional authenticated data or tag is invalid.")
      }
      return XKSHTTPResponse(status: 200, body: XKSPlainAnswer.decrypt(plaintext: plaintext))
    }
  }

  /// The proxy takes up to 8192 bytes of plaintext (the spec asks for 4300) and of AAD.
  static let maxPlaintext = 8192
  static let maxAAD = 8192

  // MARK: Faults that spoil an answer

  private func spoil(
    _ response: XKSHTTPResponse, _ malformed: XKSProxyFaults.Malformed, operation: XKSOperation
  )
    -> XKSHTTPResponse
  {
    var spoiled = response
    switch malformed {
    case .html:
      spoiled = XKSHTTPResponse(
        status: 200, contentType: "text/html",
        body: Data("<html><body><h1>Service Temporarily Unavailable</h1></body></html>".utf8))
    case .truncatedJSON:
      spoiled.body = response.body.prefix(response.body.count / 2)
    case .missingField, .wrongTypes:
      guard var object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
        break
      }
      let field: String
      switch operation {
      case .getHealthStatus: field = "ekmFleetDetails"
      case .getKeyMetadata: field = "keyUsage"
      case .encrypt: field = "authenticationTag"
      case .decrypt: field = "plaintext"
      }
      if malformed == .missingField {
        object[field] = nil
      } else {
        for key in object.keys { object[key] = object[key] is String ? 42 : "not-what-you-expected" }
      }
      spoiled.body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    case .wrongTagLength:
      guard operation == .encrypt,
        var object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]
      else { break }
      object["authenticationTag"] = Data(repeating: 7, count: 12).base64EncodedString()
      spoiled.body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
    spoiled.operation = response.operation
    spoiled.kmsRequestId = response.kmsRequestId
    spoiled.delayMilliseconds = response.delayMilliseconds
    spoiled.delivery = response.delivery
    return spoiled
  }

  // MARK: Control endpoint

  private func control(_ request: XKSHTTPRequest) -> XKSHTTPResponse {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    switch (request.method, request.path) {
    case ("GET", "/kmsdash/faults"):
      return XKSHTTPResponse(status: 200, body: (try? encoder.encode(faults)) ?? Data())
    case ("POST", "/kmsdash/faults"):
      guard let patch = try? JSONDecoder().decode(XKSProxyFaults.self, from: request.body) else {
        return controlError("The body is not a fault object.")
      }
      do {
        let now = try setFaults(patch)
        return XKSHTTPResponse(status: 200, body: (try? encoder.encode(now)) ?? Data())
      } catch {
        return controlError(error.description)
      }
    case ("POST", "/kmsdash/faults/clear"):
      clearFaults()
      return XKSHTTPResponse(status: 200, body: (try? encoder.encode(faults)) ?? Data())
    case ("GET", "/kmsdash/status"):
      struct Status: Encodable {
        var keyStores: [String]
        var keys: [XKSKeyMetadataResponse]
        var keyIds: [String]
        var faults: XKSProxyFaults
      }
      let ids = ekm.keys.keys.sorted()
      let status = Status(
        keyStores: configuration.keyStores.map(\.uriPath),
        keys: ids.map { ekm.keys[$0]! }.map {
          XKSKeyMetadataResponse(keySpec: $0.spec, keyUsage: $0.usage, keyStatus: $0.status)
        },
        keyIds: ids, faults: faults)
      return XKSHTTPResponse(status: 200, body: (try? encoder.encode(status)) ?? Data())
    default:
      return controlError(
        "Unknown control request \(request.method) \(printable(request.path)).", status: 404)
    }
  }

  private func controlError(_ message: String, status: Int = 400) -> XKSHTTPResponse {
    XKSHTTPResponse(status: status, body: (try? JSONEncoder().encode(["message": message])) ?? Data())
  }

  // MARK: Helpers

  func error(_ name: XKSErrorName, _ message: String) -> XKSHTTPResponse {
    let body = XKSErrorBody(errorName: name.rawValue, errorMessage: String(printable(message).prefix(511)))
    return XKSHTTPResponse(status: name.httpStatus, body: (try? JSONEncoder().encode(body)) ?? Data())
  }

  func json(_ value: some Encodable) -> XKSHTTPResponse {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return XKSHTTPResponse(status: 200, body: (try? encoder.encode(value)) ?? Data())
  }

  /// Printable ASCII only (the spec's rule for errorMessage; also keeps logs inert).
  func printable(_ text: String) -> String {
    String(
      String.UnicodeScalarView(
        text.unicodeScalars.prefix(200).map { (0x20...0x7E).contains($0.value) ? $0 : "?" }))
  }
}

extension XKSProxyCore: XKSInProcessExchange {
  /// The proxy without sockets, as `XKSProxyServer` delivers `handle`'s answers: the latency
  /// fault waits, a refused connection or a reset is a connection failure, and a certificate
  /// fault fails as its TLS handshake would.
  public func exchange(method: String, path: String, headers: [(name: String, value: String)], body: Data)
    async -> Result<(status: Int, body: Data), XKSCallFailure>
  {
    switch faults.certificate {
    case .expired?: return .failure(.tlsFailure("the proxy's certificate has expired"))
    case .wrongName?: return .failure(.tlsFailure("the proxy's certificate is for another host name"))
    case .valid?, nil: break
    }
    let response = handle(XKSHTTPRequest(method: method, path: path, headers: headers, body: body))
    if response.delayMilliseconds > 0 {
      try? await Task.sleep(for: .milliseconds(response.delayMilliseconds))
    }
    switch response.delivery {
    case .normal: return .success((response.status, response.body))
    case .resetBeforeResponse: return .failure(.notReachable("the proxy reset the connection"))
    case .resetMidResponse: return .failure(.notReachable("the proxy reset the connection mid-answer"))
    }
  }
}
