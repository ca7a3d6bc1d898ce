import Foundation
import Testing

@testable import AWSSigV4

@Suite struct SigV4UnitTests {
  let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret")
  let now = AmzDate.parse("20240102T030405Z")!

  @Test func amzDateRoundTrips() {
    #expect(AmzDate.format(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
    #expect(AmzDate.format(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
    #expect(AmzDate.parse("20150830T123600Z") == Date(timeIntervalSince1970: 1_440_938_160))
    #expect(AmzDate.format(AmzDate.parse("20240229T235959Z")!) == "20240229T235959Z")
    #expect(AmzDate.parse("2015-08-30T12:36:00Z") == nil)
    #expect(AmzDate.parse("20151330T123600Z") == nil)
    #expect(AmzDate.parse("") == nil)
  }

  @Test func canonicalHelpers() {
    #expect(SigV4.canonicalHeaderValue(["  a   b  c ", "d"]) == "a b c,d")
    #expect(SigV4.uriEncode("a b/c~") == "a%20b%2Fc~")
    #expect(SigV4.canonicalURI("") == "/")
    #expect(SigV4.canonicalURI("/a b/c") == "/a%20b/c")
    #expect(SigV4.canonicalQueryString("b=2&a=1&a=0") == "a=0&a=1&b=2")
    #expect(SigV4.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
    #expect(!SigV4.constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
    #expect(!SigV4.constantTimeEquals(Array("abc".utf8), Array("ab".utf8)))
  }

  @Test func authorizationParsing() throws {
    let parsed = try SigV4Authorization.parse(
      "AWS4-HMAC-SHA256 Credential=AK/20240102/eu-west-1/kms/aws4_request, SignedHeaders=Host;x-amz-date, Signature=abc"
    )
    #expect(parsed.accessKeyId == "AK")
    #expect(parsed.region == "eu-west-1")
    #expect(parsed.service == "kms")
    #expect(parsed.signedHeaders == ["host", "x-amz-date"])
    #expect(parsed.signature == "abc")

    let cases: [(String, String)] = [
      (
        "AWS4-HMAC-SHA256 Credential=AK/20240102/eu-west-1/kms/aws4_request, Signature=abc", "'SignedHeaders'"
      ),
      ("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc", "'Credential'"),
      ("AWS4-HMAC-SHA512 Credential=x", "Unsupported AWS 'algorithm'"),
      ("Basic dXNlcjpwYXNz", "Unsupported AWS 'algorithm'"),
      ("AWS4-HMAC-SHA256 Credential=AK/20240102/eu-west-1/kms, SignedHeaders=host, Signature=abc", "5 slash"),
      (
        "AWS4-HMAC-SHA256 Credential=AK/20240102/eu-west-1/kms/aws5, SignedHeaders=host, Signature=abc",
        "terminator"
      ),
      (
        "AWS4-HMAC-SHA256 Credential=AK/2024-01-02/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=abc",
        "yyyyMMdd"
      ),
      (
        "AWS4-HMAC-SHA256 Credential=AK/20240102/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=",
        "'Signature'"
      ),
      (
        "AWS4-HMAC-SHA256 Credential=AK/20240102/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=a, junk",
        "key=value"
      ),
    ]
    for (header, fragment) in cases {
      do {
        _ = try SigV4Authorization.parse(header)
        Issue.record("accepted \(header)")
      } catch {
        #expect(error.awsErrorType == "IncompleteSignatureException", "\(header)")
        #expect(error.message.contains(fragment), "\(header): \(error.message)")
      }
    }
  }

  func signedHeaders(
    _ creds: AWSCredentials, region: String = "eu-west-1", service: String = "kms", body: String = "{}",
    date: Date? = nil
  ) -> [(name: String, value: String)] {
    SigV4Signer(credentials: creds, region: region, service: service).sign(
      host: "localhost:4599",
      headers: [
        (name: "Content-Type", value: "application/x-amz-json-1.1"),
        (name: "X-Amz-Target", value: "TrentService.ListKeys"),
        (name: "User-Agent", value: "test"),
      ], body: Array(body.utf8), date: date ?? now
    ).headers
  }

  @Test func signerAndVerifierAgreeInAnyRegion() throws {
    let verifier = SigV4Verifier(credentials: [credentials])
    for region in ["eu-west-1", "ap-southeast-2", "us-gov-west-1"] {
      let identity = try verifier.verify(
        method: "POST", path: "/", headers: signedHeaders(credentials, region: region),
        body: Array("{}".utf8), services: ["kms"], now: now)
      #expect(identity.region == region)
    }
  }

  @Test func sessionTokens() throws {
    var withToken = credentials
    withToken.sessionToken = "token-1"
    // A verifier that knows no token accepts any token that is signed.
    let open = SigV4Verifier(credentials: [credentials])
    let identity = try open.verify(
      method: "POST", path: "/", headers: signedHeaders(withToken), body: Array("{}".utf8),
      services: ["kms"], now: now)
    #expect(identity.sessionToken == "token-1")
    // A verifier configured with a token demands exactly that token.
    let strict = SigV4Verifier(credentials: [withToken])
    _ = try strict.verify(
      method: "POST", path: "/", headers: signedHeaders(withToken), body: Array("{}".utf8),
      services: ["kms"], now: now)
    var otherToken = credentials
    otherToken.sessionToken = "token-2"
    #expect(throws: SigV4Error.unrecognizedClient) {
      _ = try strict.verify(
        method: "POST", path: "/", headers: signedHeaders(otherToken), body: Array("{}".utf8),
        services: ["kms"], now: now)
    }
    #expect(throws: SigV4Error.unrecognizedClient) {
      _ = try strict.verify(
        method: "POST", path: "/", headers: signedHeaders(credentials), body: Array("{}".utf8),
        services: ["kms"], now: now)
    }
  }

  @Test func clockSkewBoundaries() throws {
    let verifier = SigV4Verifier(credentials: [credentials])
    let headers = signedHeaders(credentials)
    for offset in [-300.0, -299, 0, 299, 300] {
      _ = try verifier.verify(
        method: "POST", path: "/", headers: headers, body: Array("{}".utf8), services: ["kms"],
        now: now.addingTimeInterval(offset))
    }
    for offset in [-301.0, 301, 86_400] {
      #expect(throws: SigV4Error.self) {
        _ = try verifier.verify(
          method: "POST", path: "/", headers: headers, body: Array("{}".utf8), services: ["kms"],
          now: now.addingTimeInterval(offset))
      }
    }
  }

  @Test func scopeAndHeaderChecks() throws {
    let verifier = SigV4Verifier(credentials: [credentials])
    // Wrong service.
    do {
      _ = try verifier.verify(
        method: "POST", path: "/", headers: signedHeaders(credentials, service: "cloudhsm"),
        body: Array("{}".utf8), services: ["kms"], now: now)
      Issue.record("accepted")
    } catch {
      #expect(error.awsErrorType == "InvalidSignatureException")
      #expect(error.message.contains("'kms'"))
    }
    // Missing X-Amz-Date.
    let noDate = signedHeaders(credentials).filter { $0.name != "X-Amz-Date" }
    do {
      _ = try verifier.verify(
        method: "POST", path: "/", headers: noDate, body: Array("{}".utf8), services: ["kms"], now: now)
      Issue.record("accepted")
    } catch {
      #expect(error.awsErrorType == "IncompleteSignatureException")
    }
    // Date in scope differs from X-Amz-Date.
    let mixed = signedHeaders(credentials).map {
      $0.name == "X-Amz-Date" ? (name: $0.name, value: "20240101T030405Z") : $0
    }
    do {
      _ = try verifier.verify(
        method: "POST", path: "/", headers: mixed, body: Array("{}".utf8), services: ["kms"],
        now: AmzDate.parse("20240101T030405Z")!)
      Issue.record("accepted")
    } catch {
      #expect(error.awsErrorType == "InvalidSignatureException")
      #expect(error.message.contains("Date in Credential scope"))
    }
    // Tampered body.
    #expect(throws: SigV4Error.invalidSignature(SigV4Error.signatureMismatchMessage)) {
      _ = try verifier.verify(
        method: "POST", path: "/", headers: signedHeaders(credentials), body: Array("{ }".utf8),
        services: ["kms"], now: now)
    }
  }
}
