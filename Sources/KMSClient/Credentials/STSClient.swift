import AWSSigV4
import Foundation

/// The identity behind a set of credentials (`sts:GetCallerIdentity`).
public struct AWSCallerIdentity: Sendable, Equatable {
  public var account: String
  public var arn: String
  public var userId: String

  public init(account: String, arn: String, userId: String) {
    self.account = account
    self.arn = arn
    self.userId = userId
  }
}

/// STS over the Query protocol (`Action=…&Version=2011-06-15`, form-encoded POST, XML answers),
/// signed with SigV4 as service `sts` (`AssumeRoleWithWebIdentity` is sent unsigned, as botocore
/// does).
public struct STSClient: Sendable {
  public static let apiVersion = "2011-06-15"

  public var endpoint: URL
  /// The signing region (`us-east-1` for the global endpoint).
  public var region: String
  public var http: any AWSHTTPSending
  public var now: @Sendable () -> Date
  public var timeout: Duration

  public init(
    endpoint: URL, region: String, http: any AWSHTTPSending, timeout: Duration = .seconds(10),
    now: @escaping @Sendable () -> Date = { Date() }
  ) {
    self.endpoint = endpoint
    self.region = region
    self.http = http
    self.timeout = timeout
    self.now = now
  }

  public struct AssumeRoleParameters: Sendable, Equatable {
    public var roleArn: String
    public var roleSessionName: String
    public var externalId: String?
    public var durationSeconds: Int?
    public var serialNumber: String?
    public var tokenCode: String?

    public init(
      roleArn: String, roleSessionName: String, externalId: String? = nil, durationSeconds: Int? = nil,
      serialNumber: String? = nil, tokenCode: String? = nil
    ) {
      self.roleArn = roleArn
      self.roleSessionName = roleSessionName
      self.externalId = externalId
      self.durationSeconds = durationSeconds
      self.serialNumber = serialNumber
      self.tokenCode = tokenCode
    }
  }

  public func assumeRole(_ parameters: AssumeRoleParameters, credentials: AWSCredentials) async throws
    -> ExpiringCredentials
  {
    var form: [(String, String)] = [
      ("Action", "AssumeRole"), ("Version", Self.apiVersion), ("RoleArn", parameters.roleArn),
      ("RoleSessionName", parameters.roleSessionName),
    ]
    if let duration = parameters.durationSeconds { form.append(("DurationSeconds", String(duration))) }
    if let externalId = parameters.externalId { form.append(("ExternalId", externalId)) }
    if let serial = parameters.serialNumber { form.append(("SerialNumber", serial)) }
    if let code = parameters.tokenCode { form.append(("TokenCode", code)) }
    let xml = try await call("AssumeRole", form: form, credentials: credentials, subject: parameters.roleArn)
    return try Self.credentials(from: xml, operation: "AssumeRole", subject: parameters.roleArn)
  }

  public func assumeRoleWithWebIdentity(
    roleArn: String, roleSessionName: String, webIdentityToken: String, durationSeconds: Int? = nil
  ) async throws -> ExpiringCredentials {
    var form: [(String, String)] = [
      ("Action", "AssumeRoleWithWebIdentity"), ("Version", Self.apiVersion), ("RoleArn", roleArn),
      ("RoleSessionName", roleSessionName), ("WebIdentityToken", webIdentityToken),
    ]
    if let durationSeconds { form.append(("DurationSeconds", String(durationSeconds))) }
    let xml = try await call("AssumeRoleWithWebIdentity", form: form, credentials: nil, subject: roleArn)
    return try Self.credentials(from: xml, operation: "AssumeRoleWithWebIdentity", subject: roleArn)
  }

  public func getCallerIdentity(credentials: AWSCredentials) async throws -> AWSCallerIdentity {
    let xml = try await call(
      "GetCallerIdentity", form: [("Action", "GetCallerIdentity"), ("Version", Self.apiVersion)],
      credentials: credentials, subject: nil)
    guard let result = AWSWire.xmlElement("GetCallerIdentityResult", in: xml),
      let account = AWSWire.xmlText("Account", in: result), let arn = AWSWire.xmlText("Arn", in: result)
    else {
      throw AWSCredentialError(
        source: "STS GetCallerIdentity at \(endpoint.absoluteString)",
        message: "the answer has no Account and Arn (\(AWSWire.snippet(Data(xml.utf8))))")
    }
    return AWSCallerIdentity(account: account, arn: arn, userId: AWSWire.xmlText("UserId", in: result) ?? "")
  }

  // MARK: Wire

  private func call(
    _ action: String, form: [(String, String)], credentials: AWSCredentials?, subject: String?
  )
    async throws -> String
  {
    let source = "STS \(action)" + (subject.map { " for \($0)" } ?? "") + " at \(endpoint.absoluteString)"
    let response: AWSHTTPResponse
    do {
      response = try await AWSWire.postQuery(
        form, to: endpoint, service: "sts", region: region, credentials: credentials, http: http,
        timeout: timeout, date: now())
    } catch let error as KMSTransportError {
      throw AWSCredentialError(source: source, message: error.description)
    }
    let text = response.text
    guard response.status == 200 else {
      throw Self.error(response, source: source)
    }
    return text
  }

  static func error(_ response: AWSHTTPResponse, source: String) -> AWSCredentialError {
    let text = response.text
    let code = AWSWire.xmlText("Code", in: text)
    let message = AWSWire.xmlText("Message", in: text)
    let requestId = AWSWire.xmlText("RequestId", in: text) ?? response.headers["x-amzn-requestid"]
    guard let code else {
      return AWSCredentialError(
        source: source,
        message: "HTTP \(response.status), not an STS answer (\(AWSWire.snippet(response.body)))",
        fix: "check the STS endpoint (AWS_ENDPOINT_URL_STS, endpoint_url, a services section)")
    }
    var line = "\(code)"
    if let message, !message.isEmpty { line += ": \(message)" }
    if let requestId { line += " (Request ID: \(requestId))" }
    var fix: String?
    switch code {
    case "SignatureDoesNotMatch", "InvalidClientTokenId", "IncompleteSignature":
      fix = "the source credentials are wrong or revoked"
    case "RequestExpired":
      fix = "this machine's clock is off; correct it (AWS rejects signatures more than 5 minutes away)"
    case "ExpiredToken", "ExpiredTokenException":
      fix = "the source credentials expired; renew them"
    case "AccessDenied":
      fix = "the source identity may not assume this role; check the role's trust policy and ExternalId / MFA"
    default: break
    }
    return AWSCredentialError(source: source, message: line, fix: fix)
  }

  static func credentials(from xml: String, operation: String, subject: String) throws -> ExpiringCredentials
  {
    guard let block = AWSWire.xmlElement("Credentials", in: xml),
      let keyId = AWSWire.xmlText("AccessKeyId", in: block),
      let secret = AWSWire.xmlText("SecretAccessKey", in: block)
    else {
      throw AWSCredentialError(
        source: "STS \(operation) for \(subject)",
        message:
          "the answer has no Credentials (\(AWSWire.snippet(Data(xml.utf8)).count) characters of something else)"
      )
    }
    let token = AWSWire.xmlText("SessionToken", in: block)
    let expiration = AWSWire.xmlText("Expiration", in: block).flatMap(AWSWire.parseDate)
    return ExpiringCredentials(
      AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token), expiration: expiration
    )
  }
}
