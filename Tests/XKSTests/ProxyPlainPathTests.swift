import AWSSigV4
import Foundation
import KMSModel
import Testing

@testable import XKSProxy

// The proxy's fast path: bodies read on bytes (`XKSPlainBody`), answers written by hand
// (`XKSPlainAnswer`), signing keys cached per connection, the request log's formatting. Every
// request is also sent in a form the byte reader hands over to `JSONSerialization`/`JSONDecoder`
// (a `\u002f` escape: the same decoded values), and both answers must be the same.
extension ProxyTests {
  func send(
    _ path: String, _ body: String, credential: AWSCredentials = Self.demoCredential, date: Date? = nil,
    signingKeys: SigV4SigningKeyCache? = nil
  ) -> XKSHTTPResponse {
    let data = Data(body.utf8)
    let headers = SigV4Signer(credentials: credential, region: "us-east-1", service: "kms-xks-proxy")
      .sign(
        host: "xks.example.com", path: path, headers: [("Content-Type", "application/json")], body: data,
        date: date ?? now
      ).headers
    return core.handle(
      XKSHTTPRequest(method: "POST", path: path, headers: headers, body: data), signingKeys: signingKeys)
  }

  /// A body as KMS's client (`JSONEncoder`) writes it: slashes as `\/`. With `general`, each `\/`
  /// becomes `\u002f`, which only the general path reads; the decoded values are the same.
  static func body(_ members: [(String, String)], metadata: String? = Self.escapedMetadata, general: Bool)
    -> String
  {
    var parts: [String] = []
    if let metadata { parts.append("\"requestMetadata\": \(metadata)") }
    for (name, value) in members { parts.append("\"\(name)\": \(value)") }
    let text = "{" + parts.joined(separator: ", ") + "}"
    return general ? text.replacingOccurrences(of: "\\/", with: "\\u002f") : text
  }

  static let escapedMetadata =
    #"{"awsPrincipalArn":"arn:aws:iam::111122223333:user\/Alice","kmsKeyArn":"arn:aws:kms:us-east-1:111122223333:key\/1234abcd-12ab-34cd-56ef-1234567890ab","kmsOperation":"Encrypt","kmsRequestId":"4112f4d6-db54-4af4-ae30-c55a22a8dfae"}"#

  static func quoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "/", with: "\\/") + "\""
  }

  static let plaintext = Data((0..<200).map { UInt8($0) })  // its Base64 holds slashes
  static let aad = Data("project=nile?/department=marketing".utf8)

  /// The bytes `XKSProxyCore.json` writes (`JSONEncoder`, sorted keys, unescaped slashes).
  func encoderBytes(_ value: some Encodable) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value)
  }

  @Test func encryptAndDecryptAnswersAreTheEncodersBytes() throws {
    for general in [false, true] {
      for cdiv in [false, true] {
        var members = [
          ("plaintext", Self.quoted(Self.plaintext.base64EncodedString())),
          ("encryptionAlgorithm", "\"AES_GCM\""),
          ("additionalAuthenticatedData", Self.quoted(Self.aad.base64EncodedString())),
        ]
        if cdiv { members.append(("ciphertextDataIntegrityValueAlgorithm", "\"SHA_256\"")) }
        let sealed = send("\(Self.base)/keys/demo-aes-1/encrypt", Self.body(members, general: general))
        #expect(sealed.status == 200, "\(sealed.bodyText)")
        #expect(sealed.kmsRequestId == "4112f4d6-db54-4af4-ae30-c55a22a8dfae")
        let decoded = try JSONDecoder().decode(XKSEncryptResponse.self, from: sealed.body)
        #expect(sealed.body == (try encoderBytes(decoded)), "\(sealed.bodyText)")
        #expect((decoded.ciphertextDataIntegrityValue != nil) == cdiv)

        let decrypt = [
          ("ciphertext", Self.quoted(decoded.ciphertext!)),
          ("ciphertextMetadata", Self.quoted(decoded.ciphertextMetadata!)),
          ("initializationVector", Self.quoted(decoded.initializationVector!)),
          ("authenticationTag", Self.quoted(decoded.authenticationTag!)),
          ("encryptionAlgorithm", "\"AES_GCM\""),
          ("additionalAuthenticatedData", Self.quoted(Self.aad.base64EncodedString())),
        ]
        let opened = send("\(Self.base)/keys/demo-aes-1/decrypt", Self.body(decrypt, general: general))
        #expect(opened.status == 200, "\(opened.bodyText)")
        let plain = try JSONDecoder().decode(XKSDecryptResponse.self, from: opened.body)
        #expect(plain.plaintext.flatMap { Data(base64Encoded: $0) } == Self.plaintext)
        #expect(opened.body == (try encoderBytes(plain)))
      }
    }
  }

  /// Every outcome of a key request is the same whichever path reads the body.
  @Test func bothPathsGiveTheSameAnswers() {
    let plaintext = ("plaintext", Self.quoted(Data("Hello World!".utf8).base64EncodedString()))
    let gcm = ("encryptionAlgorithm", "\"AES_GCM\"")
    let noKeyArn =
      #"{"awsPrincipalArn":"arn:aws:iam::111122223333:user\/Alice","kmsOperation":"Encrypt","kmsRequestId":"r-1"}"#
    let cases: [(path: String, members: [(String, String)], metadata: String?)] = [
      ("encrypt", [plaintext, gcm], Self.escapedMetadata),
      ("encrypt", [plaintext, gcm], noKeyArn),
      ("encrypt", [plaintext, gcm], "{}"),
      ("encrypt", [("plaintext", "\"%%%\""), gcm], Self.escapedMetadata),
      ("encrypt", [plaintext, ("encryptionAlgorithm", "\"AES_CBC\"")], Self.escapedMetadata),
      ("encrypt", [plaintext], Self.escapedMetadata),
      ("encrypt", [plaintext, gcm, ("additionalAuthenticatedData", "\"*\"")], Self.escapedMetadata),
      (
        "encrypt", [plaintext, gcm, ("ciphertextDataIntegrityValueAlgorithm", "\"MD5\"")],
        Self.escapedMetadata
      ),
      ("encrypt", [plaintext, gcm, ("ciphertext", "\"ignored\"")], Self.escapedMetadata),
      ("decrypt", [plaintext, gcm], Self.escapedMetadata),
      (
        "decrypt",
        [
          ("ciphertext", "\"AAAA\""), ("initializationVector", "\"AAAAAAAAAAAAAAAA\""),
          ("authenticationTag", "\"AAAAAAAAAAAAAAAAAAAAAA==\""), gcm,
        ], Self.escapedMetadata
      ),
      ("metadata", [], Self.escapedMetadata),
      ("metadata", [], noKeyArn),
    ]
    for key in ["demo-aes-1", "demo-encrypt-only", "demo-decrypt-only", "demo-disabled", "no-such-key"] {
      for (operation, members, metadata) in cases {
        let path = "\(Self.base)/keys/\(key)/\(operation)"
        let plain = send(path, Self.body(members, metadata: metadata, general: false))
        let general = send(path, Self.body(members, metadata: metadata, general: true))
        let context = "\(key) \(operation) \(members.map(\.0)) \(metadata ?? "-")"
        #expect(plain.status == general.status, "\(context): \(plain.bodyText) / \(general.bodyText)")
        #expect(plain.kmsRequestId == general.kmsRequestId, "\(context)")
        if plain.status != 200 || operation == "metadata" {
          // Error bodies come from an unsorted JSONEncoder: compared member by member.
          for member in ["errorName", "errorMessage", "keySpec", "keyStatus"] {
            #expect(
              object(plain)[member] as? String == object(general)[member] as? String,
              "\(context): \(plain.bodyText) / \(general.bodyText)")
          }
        }
      }
    }
  }

  /// What the byte reader does not take is answered by the general path, as before it existed.
  @Test func unusualBodiesGoThroughTheGeneralPath() {
    let path = "\(Self.base)/keys/demo-aes-1/encrypt"
    let plaintext = Self.quoted(Data("x".utf8).base64EncodedString())
    func errorName(_ response: XKSHTTPResponse) -> String? { object(response)["errorName"] as? String }
    // Another type for a member.
    #expect(
      errorName(
        send(path, Self.body([("plaintext", "42"), ("encryptionAlgorithm", "\"AES_GCM\"")], general: false)))
        == "ValidationException")
    #expect(
      errorName(
        send(
          path, Self.body([("plaintext", "null"), ("encryptionAlgorithm", "\"AES_GCM\"")], general: false)))
        == "ValidationException")
    // An unknown member of any type is ignored, as JSONDecoder ignores it.
    #expect(
      send(
        path,
        Self.body(
          [
            ("plaintext", plaintext), ("encryptionAlgorithm", "\"AES_GCM\""), ("extra", #"[1, {"a": null}]"#),
          ], general: false)
      ).status == 200)
    // Non-ASCII and escapes in metadata are accepted values (the spec: not validated).
    let odd =
      #"{"awsPrincipalArn":"arn","kmsKeyArn":"k","kmsOperation":"Bulk\tEncrypt","kmsRequestId":"not-a-uuid ✓"}"#
    let oddResponse = send(
      path,
      Self.body(
        [("plaintext", plaintext), ("encryptionAlgorithm", "\"AES_GCM\"")], metadata: odd, general: false))
    #expect(oddResponse.status == 200)
    #expect(oddResponse.kmsRequestId == "not-a-uuid ✓")
    // Not one JSON object: bytes after it, or no metadata at all.
    let whole = Self.body([("plaintext", plaintext), ("encryptionAlgorithm", "\"AES_GCM\"")], general: false)
    #expect(errorName(send(path, whole + " x")) == "ValidationException")
    #expect(
      errorName(send(path, Self.body([("plaintext", plaintext)], metadata: nil, general: false)))
        == "ValidationException")
    #expect(
      errorName(send(path, Self.body([("plaintext", plaintext)], metadata: "\"text\"", general: false)))
        == "ValidationException")
  }

  /// One cache serves both credentials of a key store, and a wrong secret still fails after the
  /// right one was cached.
  @Test func signingKeyCacheKeepsEveryCheck() {
    let cache = SigV4SigningKeyCache()
    let health = #"{"requestMetadata":{"kmsRequestId":"r","kmsOperation":"KmsHealthCheck"}}"#
    let path = "\(Self.base)/health"
    let rotated = AWSCredentials(
      accessKeyId: Self.rotated.accessKeyId, secretAccessKey: Self.rotated.secretAccessKey)
    for _ in 0..<2 {
      #expect(send(path, health, signingKeys: cache).status == 200)
      #expect(send(path, health, credential: rotated, signingKeys: cache).status == 200)
      let wrong = AWSCredentials(accessKeyId: XKSProxyConfiguration.demoAccessKeyId, secretAccessKey: "wrong")
      #expect(
        object(send(path, health, credential: wrong, signingKeys: cache))["errorName"] as? String
          == "AuthenticationFailedException")
      #expect(
        object(send(path, health, date: now.addingTimeInterval(-301), signingKeys: cache))["errorName"]
          as? String == "AuthenticationFailedException")
    }
  }

  @Test func logFormatting() {
    let formatter = ISO8601DateFormatter()
    for seconds in [0, 951_782_400, 1_800_000_000, 1_764_676_467, 4_102_444_799] {
      let date = Date(timeIntervalSince1970: TimeInterval(seconds) + 0.25)
      #expect(XKSProxyServer.logTimestamp(date) == formatter.string(from: date))
    }
    #expect(XKSHTTPHandler.milliseconds(.zero) == "0.0")
    #expect(XKSHTTPHandler.milliseconds(.microseconds(12_345)) == "12.3")
    #expect(XKSHTTPHandler.milliseconds(.microseconds(12_350)) == "12.4")
    #expect(XKSHTTPHandler.milliseconds(.microseconds(49)) == "0.0")
    #expect(XKSHTTPHandler.milliseconds(.seconds(61) + .milliseconds(5)) == "61005.0")
    #expect(XKSHTTPHandler.printable("/demo/kms/xks/v1/keys/a b\u{7}é") == "/demo/kms/xks/v1/keys/a?b??")
    #expect(XKSHTTPHandler.printable(String(repeating: "a", count: 200)).count == 160)
  }
}
