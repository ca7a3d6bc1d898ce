import AWSSigV4
import Crypto
import Foundation
import KMSModel
import Testing
import XKSProxy

/// The proxy against the XKS Proxy API v1 spec, in process (no sockets): every operation and
/// error of the error table, SigV4 with both credentials of a key store, and the faults.
@Suite struct ProxyTests {
  static let rotated = XKSProxyConfiguration.Credential(
    accessKeyId: "ROTATEDXKSACCESSKEY234567", secretAccessKey: "rotatedSecretKey0123456789abcdefghijklmnopq")
  static var configuration: XKSProxyConfiguration {
    var configuration = XKSProxyConfiguration.demo
    configuration.keyStores[0].credentials.append(rotated)
    configuration.keyStores.append(
      .init(
        uriPath: "/other/kms/xks/v1",
        credentials: [
          .init(accessKeyId: "OTHERSTOREACCESSKEY2345", secretAccessKey: String(repeating: "o", count: 43))
        ]
      ))
    return configuration
  }

  let core: XKSProxyCore
  let now = Date(timeIntervalSince1970: 1_800_000_000)

  init() throws {
    let configuration = Self.configuration
    let fixed = now
    core = XKSProxyCore(
      configuration: configuration, ekm: try ExternalKeyManager(configuration: configuration, state: nil),
      now: { fixed })
  }

  static let demoCredential = AWSCredentials(
    accessKeyId: XKSProxyConfiguration.demoAccessKeyId,
    secretAccessKey: XKSProxyConfiguration.demoSecretAccessKey)

  func send(
    _ path: String, _ body: [String: Any], credential: AWSCredentials = Self.demoCredential,
    method: String = "POST",
    date: Date? = nil, service: String = "kms-xks-proxy", sign: Bool = true
  ) -> XKSHTTPResponse {
    let data = try! JSONSerialization.data(withJSONObject: body)
    return sendRaw(
      path, data, credential: credential, method: method, date: date, service: service, sign: sign)
  }

  func sendRaw(
    _ path: String, _ data: Data, credential: AWSCredentials = Self.demoCredential, method: String = "POST",
    date: Date? = nil, service: String = "kms-xks-proxy", sign: Bool = true
  ) -> XKSHTTPResponse {
    var headers: [(name: String, value: String)] = [
      ("Host", "xks.example.com"), ("Content-Type", "application/json"),
    ]
    if sign {
      headers =
        SigV4Signer(credentials: credential, region: "us-east-1", service: service)
        .sign(
          method: method, host: "xks.example.com", path: path, headers: headers, body: data, date: date ?? now
        )
        .headers
    }
    return core.handle(XKSHTTPRequest(method: method, path: path, headers: headers, body: data))
  }

  static let base = "/demo/kms/xks/v1"
  static var metadata: [String: Any] {
    [
      "awsPrincipalArn": "arn:aws:iam::111122223333:user/Alice",
      "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      "kmsOperation": "Encrypt", "kmsRequestId": "4112f4d6-db54-4af4-ae30-c55a22a8dfae",
    ]
  }

  func object(_ response: XKSHTTPResponse) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]) ?? [:]
  }

  func expectError(
    _ response: XKSHTTPResponse, _ name: XKSErrorName, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(response.status == name.httpStatus, "\(response.bodyText)", sourceLocation: sourceLocation)
    #expect(object(response)["errorName"] as? String == name.rawValue, sourceLocation: sourceLocation)
    let message = object(response)["errorMessage"] as? String ?? ""
    #expect(message.count < 512 && message.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) })
  }

  func encrypt(
    _ key: String = "demo-aes-1", plaintext: Data = Data("Hello World!".utf8), aad: Data? = nil,
    cdiv: Bool = false,
    path: String = Self.base
  ) -> XKSHTTPResponse {
    var body: [String: Any] = [
      "requestMetadata": Self.metadata, "plaintext": plaintext.base64EncodedString(),
      "encryptionAlgorithm": "AES_GCM",
    ]
    if let aad { body["additionalAuthenticatedData"] = aad.base64EncodedString() }
    if cdiv { body["ciphertextDataIntegrityValueAlgorithm"] = "SHA_256" }
    return send("\(path)/keys/\(key)/encrypt", body)
  }

  func decrypt(
    _ sealed: [String: Any], key: String = "demo-aes-1", aad: Data? = nil, change: [String: Any] = [:]
  )
    -> XKSHTTPResponse
  {
    var body: [String: Any] = ["requestMetadata": Self.metadata, "encryptionAlgorithm": "AES_GCM"]
    for field in ["ciphertext", "ciphertextMetadata", "initializationVector", "authenticationTag"] {
      body[field] = sealed[field]
    }
    if let aad { body["additionalAuthenticatedData"] = aad.base64EncodedString() }
    for (key, value) in change { body[key] = value }
    return send("\(Self.base)/keys/\(key)/decrypt", body)
  }

  // MARK: Operations

  @Test func healthIsDeepAndComplete() {
    let response = send(
      "\(Self.base)/health", ["requestMetadata": ["kmsRequestId": "r", "kmsOperation": "KmsHealthCheck"]])
    #expect(response.status == 200)
    let body = object(response)
    #expect(body["xksProxyFleetSize"] as? Int == 1)
    #expect(body["xksProxyVendor"] as? String == "kmsdash")
    #expect(body["ekmVendor"] as? String == "kmsdash")
    let fleet = body["ekmFleetDetails"] as? [[String: Any]] ?? []
    #expect(fleet.count == 2)
    #expect(fleet.allSatisfy { $0["healthStatus"] as? String == "ACTIVE" })
    #expect(response.kmsRequestId == "r")
  }

  @Test func keyMetadataOfEveryDemoKey() {
    let expected: [String: ([String], String)] = [
      "demo-aes-1": (["ENCRYPT", "DECRYPT"], "ENABLED"), "demo-aes-2": (["ENCRYPT", "DECRYPT"], "ENABLED"),
      "demo-encrypt-only": (["ENCRYPT"], "ENABLED"), "demo-decrypt-only": (["DECRYPT"], "ENABLED"),
      "demo-no-usage": (["SIGN", "VERIFY"], "ENABLED"),
      "demo-disabled": (["ENCRYPT", "DECRYPT"], "DISABLED"),
    ]
    for (key, (usage, status)) in expected {
      let response = send(
        "\(Self.base)/keys/\(key)/metadata",
        [
          "requestMetadata": [
            "awsPrincipalArn": "arn:aws:iam::1:root", "kmsOperation": "CreateKey", "kmsRequestId": "x",
          ]
        ])
      #expect(response.status == 200)
      #expect(object(response)["keySpec"] as? String == "AES_256")
      #expect(object(response)["keyUsage"] as? [String] == usage)
      #expect(object(response)["keyStatus"] as? String == status)
    }
  }

  @Test func roundTripWithAndWithoutAAD() throws {
    for aad in [nil, Data("project=nile,department=marketing".utf8), Data(repeating: 1, count: 8192)] {
      for size in [1, 12, 4300] {
        let plaintext = Data((0..<size).map { UInt8($0 & 0xFF) })
        let sealed = encrypt(plaintext: plaintext, aad: aad)
        #expect(sealed.status == 200)
        let fields = object(sealed)
        #expect(Data(base64Encoded: fields["ciphertext"] as! String)?.count == size)
        #expect(Data(base64Encoded: fields["initializationVector"] as! String)?.count == 12)
        #expect(Data(base64Encoded: fields["authenticationTag"] as! String)?.count == 16)
        #expect((Data(base64Encoded: fields["ciphertextMetadata"] as! String)?.count ?? 99) <= 20)
        #expect(fields["ciphertextDataIntegrityValue"] == nil)
        let opened = decrypt(fields, aad: aad)
        #expect(opened.status == 200)
        #expect(Data(base64Encoded: object(opened)["plaintext"] as! String) == plaintext)
      }
    }
  }

  @Test func cdivIsReturnedWhenAskedAndMatchesAppendixC() throws {
    let aad = Data("project=nile,department=marketing".utf8)
    let fields = object(encrypt(aad: aad, cdiv: true))
    let decode = { (name: String) in Data(base64Encoded: fields[name] as! String)! }
    let expected = Data(
      SHA256.hash(
        data: aad + decode("ciphertextMetadata") + decode("initializationVector") + decode("ciphertext")
          + decode("authenticationTag")))
    #expect(decode("ciphertextDataIntegrityValue") == expected)
    // The spec's own example (Appendix C).
    let example = XKSAAD.cdivInput(
      aad: aad, metadata: Data("key_version=1".utf8), iv: Data(base64Encoded: "HMrlRw85cAJUd5Ax")!,
      ciphertext: Data(base64Encoded: "ghxkK1txeDNn3q8Y")!,
      tag: Data(base64Encoded: "vBxN2ncH1oEkR8WVXpmyYQ==")!)
    #expect(
      Data(SHA256.hash(data: example)).base64EncodedString() == "qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc="
    )
  }

  @Test func tamperingIsInvalidCiphertext() {
    let aad = Data("context".utf8)
    let fields = object(encrypt(aad: aad))
    func flipped(_ name: String) -> String {
      var bytes = Data(base64Encoded: fields[name] as! String)!
      bytes[0] ^= 1
      return bytes.base64EncodedString()
    }
    expectError(decrypt(fields, aad: Data("other".utf8)), .invalidCiphertextException)
    expectError(decrypt(fields, aad: nil), .invalidCiphertextException)
    expectError(
      decrypt(fields, aad: aad, change: ["authenticationTag": flipped("authenticationTag")]),
      .invalidCiphertextException)
    expectError(
      decrypt(fields, aad: aad, change: ["initializationVector": flipped("initializationVector")]),
      .invalidCiphertextException)
    expectError(
      decrypt(fields, aad: aad, change: ["ciphertext": flipped("ciphertext")]), .invalidCiphertextException)
    expectError(
      decrypt(fields, aad: aad, change: ["ciphertextMetadata": flipped("ciphertextMetadata")]),
      .invalidCiphertextException)
    expectError(
      decrypt(fields, aad: aad, change: ["authenticationTag": Data(count: 12).base64EncodedString()]),
      .invalidCiphertextException)
    // The metadata passed as AAD instead of as metadata does not decrypt (the spec's length rule).
    var moved = fields
    moved["ciphertextMetadata"] = nil
    expectError(
      decrypt(moved, aad: Data(base64Encoded: fields["ciphertextMetadata"] as! String)),
      .invalidCiphertextException)
    // Another key does not open it.
    expectError(decrypt(fields, key: "demo-aes-2", aad: aad), .invalidCiphertextException)
  }

  @Test func keyUsageAndStatus() {
    expectError(encrypt("demo-decrypt-only"), .invalidKeyUsageException)
    expectError(encrypt("demo-no-usage"), .invalidKeyUsageException)
    expectError(encrypt("demo-disabled"), .invalidStateException)
    let sealed = object(encrypt("demo-encrypt-only"))
    #expect(sealed["ciphertext"] != nil)
    expectError(decrypt(sealed, key: "demo-encrypt-only"), .invalidKeyUsageException)
    expectError(decrypt(sealed, key: "demo-no-usage"), .invalidKeyUsageException)
    expectError(decrypt(sealed, key: "demo-disabled"), .invalidStateException)
    expectError(decrypt(sealed, key: "demo-decrypt-only"), .invalidCiphertextException)
  }

  @Test func unknownKeyAndUnknownPaths() {
    expectError(encrypt("no-such-key"), .keyNotFoundException)
    expectError(
      send("\(Self.base)/keys/no-such-key/metadata", ["requestMetadata": Self.metadata]),
      .keyNotFoundException)
    expectError(encrypt(path: "/unknown/kms/xks/v1"), .invalidUriPathException)
    expectError(send("/kms/xks/v1/health", [:]), .invalidUriPathException)
    expectError(
      send("\(Self.base)/keys/demo-aes-1/sign", ["requestMetadata": Self.metadata]), .invalidUriPathException)
    expectError(send("/elsewhere", [:]), .invalidUriPathException)
  }

  @Test func getAndOtherMethodsAre405() {
    for path in [
      "\(Self.base)/health", "\(Self.base)/keys/demo-aes-1/metadata", "\(Self.base)/keys/demo-aes-1/encrypt",
      "\(Self.base)/keys/demo-aes-1/decrypt", "/unknown/kms/xks/v1/health",
    ] {
      for method in ["GET", "PUT", "DELETE"] {
        let response = sendRaw(path, Data(), method: method, sign: false)
        #expect(response.status == 405)
        #expect(response.headers.contains { $0.name == "Allow" && $0.value == "POST" })
      }
    }
    let ping = sendRaw("/ping", Data(), method: "GET", sign: false)
    #expect(ping.status == 200 && ping.bodyText == "pong")
  }

  @Test func missingOrEmptyRequestMetadata() {
    let path = "\(Self.base)/keys/demo-aes-1/encrypt"
    let plaintext = Data("x".utf8).base64EncodedString()
    expectError(send(path, ["plaintext": plaintext, "encryptionAlgorithm": "AES_GCM"]), .validationException)
    expectError(
      send(
        path, ["requestMetadata": [String: Any](), "plaintext": plaintext, "encryptionAlgorithm": "AES_GCM"]),
      .validationException)
    var noKeyArn = Self.metadata
    noKeyArn["kmsKeyArn"] = nil
    expectError(
      send(path, ["requestMetadata": noKeyArn, "plaintext": plaintext, "encryptionAlgorithm": "AES_GCM"]),
      .validationException)
    expectError(sendRaw(path, Data("not json".utf8)), .validationException)
    expectError(
      send(path, ["requestMetadata": Self.metadata, "plaintext": "%%%", "encryptionAlgorithm": "AES_GCM"]),
      .validationException)
    expectError(
      send(
        path, ["requestMetadata": Self.metadata, "plaintext": plaintext, "encryptionAlgorithm": "AES_CBC"]),
      .validationException)
    expectError(
      send(path, ["requestMetadata": Self.metadata, "plaintext": 42, "encryptionAlgorithm": "AES_GCM"]),
      .validationException)
    // An unknown kmsOperation and an odd kmsRequestId are accepted (the spec's MUST NOT).
    var odd = Self.metadata
    odd["kmsOperation"] = "BulkEncrypt"
    odd["kmsRequestId"] = "not-a-uuid ✓"
    #expect(
      send(path, ["requestMetadata": odd, "plaintext": plaintext, "encryptionAlgorithm": "AES_GCM"]).status
        == 200)
    // GetHealthStatus does not validate its metadata.
    #expect(send("\(Self.base)/health", [:]).status == 200)
  }

  @Test func tooLargeIsUnsupported() {
    expectError(encrypt(plaintext: Data(count: 8193)), .unsupportedOperationException)
    expectError(encrypt(aad: Data(count: 8193)), .unsupportedOperationException)
  }

  // MARK: Authentication

  @Test func signatureChecks() {
    let health: [String: Any] = ["requestMetadata": ["kmsRequestId": "r", "kmsOperation": "KmsHealthCheck"]]
    let path = "\(Self.base)/health"
    // Both credentials of the key store are accepted (rotation).
    #expect(send(path, health).status == 200)
    let rotated = AWSCredentials(
      accessKeyId: Self.rotated.accessKeyId, secretAccessKey: Self.rotated.secretAccessKey)
    #expect(send(path, health, credential: rotated).status == 200)
    // A wrong access key, a wrong secret, another store's credential, no signature.
    expectError(
      send(
        path, health, credential: AWSCredentials(accessKeyId: "UNKNOWNACCESSKEY23456", secretAccessKey: "x")),
      .authenticationFailedException)
    expectError(
      send(
        path, health,
        credential: AWSCredentials(
          accessKeyId: XKSProxyConfiguration.demoAccessKeyId, secretAccessKey: "wrong")),
      .authenticationFailedException)
    expectError(
      send(
        path, health,
        credential: AWSCredentials(
          accessKeyId: "OTHERSTOREACCESSKEY2345", secretAccessKey: String(repeating: "o", count: 43))),
      .authenticationFailedException)
    expectError(send(path, health, sign: false), .authenticationFailedException)
    // Another service name in the scope.
    expectError(send(path, health, service: "kms"), .authenticationFailedException)
    // ±5 minutes.
    #expect(send(path, health, date: now.addingTimeInterval(-290)).status == 200)
    #expect(send(path, health, date: now.addingTimeInterval(290)).status == 200)
    expectError(send(path, health, date: now.addingTimeInterval(-301)), .authenticationFailedException)
    expectError(send(path, health, date: now.addingTimeInterval(301)), .authenticationFailedException)
    // A body changed after signing.
    var tampered = SigV4Signer(
      credentials: Self.demoCredential, region: "us-east-1", service: "kms-xks-proxy"
    )
    .sign(host: "xks.example.com", path: path, headers: [], body: Data("{}".utf8), date: now).headers
    tampered.append(("X-Ignored", "1"))
    expectError(
      core.handle(XKSHTTPRequest(method: "POST", path: path, headers: tampered, body: Data("{ }".utf8))),
      .authenticationFailedException)
  }

  // MARK: Faults

  @Test func errorFaultsAnswerEveryNameWithItsStatus() throws {
    for name in XKSErrorName.allCases {
      try core.setFaults(
        {
          var f = XKSProxyFaults()
          f.errorName = name.rawValue
          return f
        }())
      expectError(encrypt(), name)
    }
    core.clearFaults()
    #expect(encrypt().status == 200)
  }

  @Test func faultsScopedToOperations() throws {
    var patch = XKSProxyFaults()
    patch.errorName = "KeyNotFoundException"
    patch.operations = ["Encrypt"]
    try core.setFaults(patch)
    expectError(encrypt(), .keyNotFoundException)
    #expect(send("\(Self.base)/health", [:]).status == 200)
  }

  @Test func ekmHealthFaults() throws {
    var patch = XKSProxyFaults()
    patch.ekmHealth = .unavailable
    try core.setFaults(patch)
    let fleet = object(send("\(Self.base)/health", [:]))["ekmFleetDetails"] as? [[String: Any]] ?? []
    #expect(fleet.allSatisfy { $0["healthStatus"] as? String == "UNAVAILABLE" })
    expectError(encrypt(), .internalException)
    patch.ekmHealth = .someDegraded
    try core.setFaults(patch)
    let degraded = object(send("\(Self.base)/health", [:]))["ekmFleetDetails"] as? [[String: Any]] ?? []
    #expect(degraded.map { $0["healthStatus"] as? String } == ["DEGRADED", "ACTIVE"])
    #expect(encrypt().status == 200)
  }

  @Test func throttleDenyDisable() throws {
    var patch = XKSProxyFaults()
    patch.throttlePerSecond = 2
    try core.setFaults(patch)
    #expect(encrypt().status == 200)
    #expect(encrypt().status == 200)
    expectError(encrypt(), .throttlingException)
    core.clearFaults()
    patch = XKSProxyFaults()
    patch.deniedPrincipals = ["arn:aws:iam::111122223333:user/Alice"]
    patch.disabledKeys = ["demo-aes-2"]
    try core.setFaults(patch)
    expectError(encrypt(), .accessDeniedException)
    #expect(send("\(Self.base)/health", [:]).status == 200)  // health is never subject to authorization
    core.clearFaults()
    patch.deniedPrincipals = nil
    try core.setFaults(patch)
    expectError(encrypt("demo-aes-2"), .invalidStateException)
    let metadata = send("\(Self.base)/keys/demo-aes-2/metadata", ["requestMetadata": Self.metadata])
    #expect(object(metadata)["keyStatus"] as? String == "DISABLED")
  }

  @Test func malformedAndDeliveryFaults() throws {
    for kind in XKSProxyFaults.Malformed.allCases {
      var patch = XKSProxyFaults()
      patch.malformed = kind
      try core.setFaults(patch)
      let response = encrypt()
      #expect(response.status == 200)
      let decoded = try? JSONDecoder().decode(XKSEncryptResponse.self, from: response.body)
      let tag = decoded?.authenticationTag.flatMap { Data(base64Encoded: $0) }
      #expect(decoded == nil || tag?.count != 16, "\(kind)")
    }
    core.clearFaults()
    var patch = XKSProxyFaults()
    patch.latencyMilliseconds = 300
    patch.resetMidResponse = true
    try core.setFaults(patch)
    #expect(encrypt().delayMilliseconds == 300)
    #expect(encrypt().delivery == .resetMidResponse)
    patch = XKSProxyFaults()
    patch.refuseConnections = true
    try core.setFaults(patch)
    #expect(encrypt().delivery == .resetBeforeResponse)
  }

  @Test func controlEndpoint() {
    let set = core.handle(
      XKSHTTPRequest(
        method: "POST", path: "/kmsdash/faults", headers: [],
        body: Data(#"{"errorName":"ThrottlingException"}"#.utf8)))
    #expect(set.status == 200)
    #expect(core.faults.errorName == "ThrottlingException")
    let bad = core.handle(
      XKSHTTPRequest(
        method: "POST", path: "/kmsdash/faults", headers: [], body: Data(#"{"errorName":"Nope"}"#.utf8)))
    #expect(bad.status == 400)
    _ = core.handle(XKSHTTPRequest(method: "POST", path: "/kmsdash/faults/clear", headers: [], body: Data()))
    #expect(core.faults == XKSProxyFaults())
  }

  // MARK: Configuration and state

  @Test func demoConfigurationAndConsoleFile() throws {
    try XKSProxyConfiguration.demo.validate()
    let text = try #require(XKSProxyConfiguration.demo.kmsConsoleConfiguration())
    let file = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    #expect(file?["XksProxyUriPath"] as? String == "/demo/kms/xks/v1")
    let credential = file?["XksProxyAuthenticationCredential"] as? [String: String]
    #expect(credential?["AccessKeyId"] == "KMSDASHDEMOXKSACCESSKEY2")
    #expect(credential?["RawSecretAccessKey"] == "kmsdashDemoXksSecretKey0123456789abcdefghijk")
  }

  @Test func malformedConfigurationsAreRefused() {
    var bad = XKSProxyConfiguration.demo
    bad.keyStores[0].uriPath = "/demo/kms/xks/v2"
    #expect(throws: (any Error).self) { try bad.validate() }
    bad = .demo
    bad.keyStores[0].credentials[0].accessKeyId = "lowercase-not-allowed-here"
    #expect(throws: (any Error).self) { try bad.validate() }
    bad = .demo
    bad.keyStores[0].credentials[0].secretAccessKey = "short"
    #expect(throws: (any Error).self) { try bad.validate() }
    bad = .demo
    bad.keys.append(.init(id: "bad id!", usage: []))
    #expect(throws: (any Error).self) { try bad.validate() }
    bad = .demo
    bad.ekmFleet = []
    #expect(throws: (any Error).self) { try bad.validate() }
  }

  @Test func keysSurviveARestart() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "xks-state-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let state = ProxyStateFile(path: directory.appendingPathComponent("proxy.json").path)
    let first = try ExternalKeyManager(configuration: .demo, state: state)
    let sealed = try first.encrypt(keyId: "demo-aes-1", plaintext: Data("kept".utf8), aad: nil)
    let second = try ExternalKeyManager(configuration: .demo, state: state)
    #expect(
      second.decrypt(
        keyId: "demo-aes-1", ciphertext: sealed.ciphertext, iv: sealed.iv, tag: sealed.tag,
        metadata: sealed.metadata,
        aad: nil) == Data("kept".utf8))
    // The file holds no key material in clear, and both files are private.
    let text = try String(contentsOfFile: state.path, encoding: .utf8)
    #expect(!text.contains("demo-aes-1\": \"" + "AAAA"))
    let mode = try FileManager.default.attributesOfItem(atPath: state.path)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    let keyMode = try FileManager.default.attributesOfItem(atPath: state.keyPath)[.posixPermissions] as? Int
    #expect(keyMode == 0o600)
  }
}
