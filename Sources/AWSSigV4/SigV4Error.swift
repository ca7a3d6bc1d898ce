/// Why a request failed Signature V4 verification.
///
/// Each case maps to the AWS JSON-protocol exception name that AWS front ends return
/// (`awsErrorType`) and to the HTTP status this product answers with (`httpStatus`, 400 for all:
/// botocore retries none of them).
public enum SigV4Error: Error, Sendable, Equatable {
  /// No `Authorization` header (and no presigned query).
  case missingAuthenticationToken
  /// The `Authorization` header or a required companion header is malformed or incomplete.
  case incompleteSignature(String)
  /// The signature does not match, or the scope, date or signed headers are not acceptable.
  case invalidSignature(String)
  /// The access key ID (or session token) is not one this verifier trusts.
  case unrecognizedClient

  /// The AWS exception name, used as `__type` in a JSON error body.
  public var awsErrorType: String {
    switch self {
    case .missingAuthenticationToken: return "MissingAuthenticationTokenException"
    case .incompleteSignature: return "IncompleteSignatureException"
    case .invalidSignature: return "InvalidSignatureException"
    case .unrecognizedClient: return "UnrecognizedClientException"
    }
  }

  /// The HTTP status to answer with.
  public var httpStatus: Int { 400 }

  /// A human-readable message in AWS's wording.
  public var message: String {
    switch self {
    case .missingAuthenticationToken: return "Request is missing Authentication Token"
    case .incompleteSignature(let text): return text
    case .invalidSignature(let text): return text
    case .unrecognizedClient: return "The security token included in the request is invalid."
    }
  }

  /// The message AWS gives when the computed signature differs from the one sent.
  public static let signatureMismatchMessage =
    "The request signature we calculated does not match the signature you provided. "
    + "Check your AWS Secret Access Key and signing method. "
    + "Consult the service documentation for details."
}
