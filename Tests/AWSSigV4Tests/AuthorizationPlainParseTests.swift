import Testing

@testable import AWSSigV4

/// The byte-level parser of the common case must agree with the general parser on everything it
/// accepts, and leave everything else to it.
struct AuthorizationPlainParseTests {
  static let good =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request, "
    + "SignedHeaders=Content-Type;Host;X-Amz-Date;x-amz-target, "
    + "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

  @Test(arguments: [
    good,
    good.replacingOccurrences(of: ", ", with: ","),
    "AWS4-HMAC-SHA256 Signature=abc, Credential=A/20240101/eu-west-1/cloudhsm/aws4_request, SignedHeaders=host",
    "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request,SignedHeaders=host,Signature=x=y",
    // Everything below must be left to the general parser (nil from the plain one).
    "AWS4-HMAC-SHA256  Credential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=1",
    "AWS4-HMAC-SHA256\tCredential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=1",
    " " + good, good + " ", "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host",
    "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=",
    "AWS4-HMAC-SHA256 Credential=A/2024010/r/s/aws4_request, SignedHeaders=host, Signature=1",
    "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_requests, SignedHeaders=host, Signature=1",
    "AWS4-HMAC-SHA256 Credential=A/20240101//s/aws4_request, SignedHeaders=host, Signature=1",
    "AWS4-HMAC-SHA256 Credential=/20240101/r/s/aws4_request, SignedHeaders=host, Signature=1",
    "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/x/aws4_request, SignedHeaders=host, Signature=1",
    "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host;;x, Signature=1",
    "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=, Signature=1",
    "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=1, Extra=2",
    "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=1, Signature=2",
    "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, , SignedHeaders=host, Signature=1",
    "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=1,",
    "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=hóst, Signature=1",
    "AWS4-HMAC-SHA1 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=1",
    "AWS4-HMAC-SHA256", "",
  ])
  func agreesWithTheGeneralParser(_ header: String) {
    let general = Result { () throws(SigV4Error) in try SigV4Authorization.parseGeneral(header) }
    if let plain = SigV4Authorization.parsePlain(header) {
      #expect(general == .success(plain))
    }
    #expect(Result { () throws(SigV4Error) in try SigV4Authorization.parse(header) } == general)
  }

  @Test func theCommonHeaderTakesThePlainPath() {
    #expect(SigV4Authorization.parsePlain(Self.good) != nil)
  }
}
