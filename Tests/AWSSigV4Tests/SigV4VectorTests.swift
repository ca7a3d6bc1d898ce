import Crypto
import Foundation
import Testing

@testable import AWSSigV4

@Suite struct SigV4VectorTests {
  let file: VectorFile

  init() throws { file = try VectorFile.load() }

  var credentials: AWSCredentials {
    AWSCredentials(
      accessKeyId: file.credentials.accessKeyId,
      secretAccessKey: file.credentials.secretAccessKey)
  }

  var fixtureDate: Date { AmzDate.parse(file.amzDate)! }

  @Test func everyVectorReproducesCanonicalRequestKeyAndSignature() throws {
    #expect(file.vectors.count == 5)
    for vector in file.vectors {
      var creds = credentials
      creds.sessionToken = vector.sessionToken
      let signer = SigV4Signer(credentials: creds, region: file.region, service: file.service)
      let signed = signer.sign(
        method: vector.request.method, host: vector.request.host, path: "/",
        headers: vector.request.headerList, body: Array(vector.request.body.utf8), date: fixtureDate)
      #expect(
        SigV4.sha256Hex(Array(vector.request.body.utf8)) == vector.request.bodySha256, "\(vector.name)")
      #expect(signed.canonicalRequest == vector.canonicalRequest, "\(vector.name)")
      #expect(signed.stringToSign == vector.stringToSign, "\(vector.name)")
      #expect(signed.signedHeaders.joined(separator: ";") == vector.signedHeaders, "\(vector.name)")
      #expect(signed.signature == vector.signature, "\(vector.name)")
      #expect(signed.authorization == vector.authorization, "\(vector.name)")
      #expect(signed.header("x-amz-date") == file.amzDate)
      #expect(signed.header("x-amz-security-token") == vector.sessionToken)

      let scope = vector.credentialScope.split(separator: "/").map(String.init)
      let key = SigV4.signingKey(
        secretAccessKey: creds.secretAccessKey, date: scope[0], region: scope[1], service: scope[2])
      let keyHex = key.withUnsafeBytes { SigV4.hex($0) }
      #expect(keyHex == vector.signingKeyHex, "\(vector.name)")
    }
  }

  @Test func everyVectorVerifies() throws {
    let verifier = SigV4Verifier(credentials: [credentials], allowedRegions: [file.region])
    for vector in file.vectors {
      var headers = vector.request.headerList
      headers.append((name: "Host", value: vector.request.host))
      headers.append((name: "Authorization", value: vector.authorization))
      let identity = try verifier.verify(
        method: "POST", path: "/", headers: headers, body: Array(vector.request.body.utf8),
        services: ["kms"], now: fixtureDate)
      #expect(identity.accessKeyId == "AKIDEXAMPLE")
      #expect(identity.region == "us-east-1")
      #expect(identity.service == "kms")
      #expect(identity.sessionToken == vector.sessionToken)
    }
  }

  /// Applies a negative case's mutation to the base vector and returns the request to verify.
  func mutatedRequest(_ negative: VectorFile.NegativeCase) throws
    -> (headers: [(name: String, value: String)], body: String, now: Date)
  {
    let base = try #require(file.vectors.first { $0.name == file.negativeCasesBase })
    var headers = base.request.headerList
    headers.append((name: "Host", value: base.request.host))
    var body = base.request.body
    var authorization: String? = negative.authorization ?? base.authorization
    switch negative.name {
    case "no-authorization-header":
      authorization = nil
    case "tampered-target":
      headers = headers.map {
        $0.name == "X-Amz-Target" ? (name: $0.name, value: "TrentService.DisconnectCustomKeyStore") : $0
      }
    case "unknown-access-key", "wrong-region-in-scope", "wrong-service-in-scope":
      // Re-sign properly with the mutated scope, so only the scope check can reject it.
      var creds = credentials
      var region = file.region
      var service = file.service
      if negative.name == "unknown-access-key" { creds.accessKeyId = "AKIDUNKNOWN0000000000" }
      if negative.name == "wrong-region-in-scope" { region = "us-west-2" }
      if negative.name == "wrong-service-in-scope" { service = "s3" }
      let signed = SigV4Signer(credentials: creds, region: region, service: service).sign(
        host: base.request.host, headers: base.request.headerList, body: Array(body.utf8),
        date: fixtureDate)
      authorization = signed.authorization
    default:
      break
    }
    if let newBody = negative.body { body = newBody }
    if let authorization { headers.append((name: "Authorization", value: authorization)) }
    let now = negative.serverTime.flatMap(AmzDate.parse) ?? fixtureDate
    return (headers, body, now)
  }

  @Test func everyNegativeCaseIsRejectedWithTheNamedError() throws {
    #expect(file.negativeCases.count == 13)
    let verifier = SigV4Verifier(credentials: [credentials], allowedRegions: [file.region])
    for negative in file.negativeCases {
      let request = try mutatedRequest(negative)
      do {
        _ = try verifier.verify(
          method: "POST", path: "/", headers: request.headers, body: Array(request.body.utf8),
          services: ["kms"], now: request.now)
        #expect(negative.expectType == nil, "\(negative.name) was accepted")
        #expect(negative.expectStatus == 200, "\(negative.name)")
      } catch {
        #expect(error.awsErrorType == negative.expectType, "\(negative.name): \(error)")
        #expect(error.httpStatus == negative.expectStatus, "\(negative.name)")
        if let shape = negative.expectMessageShape {
          #expect(error.message == shape, "\(negative.name)")
        }
      }
    }
  }

  @Test func onlySignedHeadersMatter() throws {
    let base = try #require(
      file.vectors.first { $0.name == "kms-boto3-create-custom-key-store-local-endpoint" })
    let verifier = SigV4Verifier(credentials: [credentials])
    var headers = base.request.headerList.map {
      // Unsigned headers may change in transit.
      $0.name == "User-Agent" ? (name: $0.name, value: "something-else/2.0") : $0
    }
    headers.append((name: "Host", value: base.request.host))
    headers.append((name: "X-Forwarded-For", value: "10.0.0.1"))
    headers.append((name: "Authorization", value: base.authorization))
    _ = try verifier.verify(
      method: "POST", path: "/", headers: headers, body: Array(base.request.body.utf8),
      services: ["kms"], now: fixtureDate)

    // A signed header that is missing breaks the signature.
    let withoutTarget = headers.filter { $0.name != "X-Amz-Target" }
    #expect(throws: SigV4Error.invalidSignature(SigV4Error.signatureMismatchMessage)) {
      _ = try verifier.verify(
        method: "POST", path: "/", headers: withoutTarget, body: Array(base.request.body.utf8),
        services: ["kms"], now: fixtureDate)
    }
  }
}
