import AWSSigV4
import Foundation
import HTTPTypes
import NIOCore

/// The STS subset `kmsdash serve` answers over the Query protocol (form-encoded POST, XML answers),
/// so a profile whose `endpoint_url` points at it resolves an identity as on AWS:
/// `GetCallerIdentity` answers this endpoint's account and the caller's principal.
enum STSQuery {
  static let namespace = "https://sts.amazonaws.com/doc/2011-06-15/"
  static let version = "2011-06-15"

  /// A Query-protocol request: POST / with a form body (AWS JSON requests carry another type;
  /// other paths, such as moto's `/moto-api/reset` which clients send form-typed, are not STS).
  static func isQueryRequest(method: String, path: String, headers: HTTPFields) -> Bool {
    guard method == "POST", path == "/" || path.isEmpty, let type = headers[.contentType] else {
      return false
    }
    let media = type.split(separator: ";", maxSplits: 1).first.map {
      $0.trimmingCharacters(in: .whitespaces).lowercased()
    }
    return media == "application/x-www-form-urlencoded"
  }

  /// `a=1&b=x%20y` → `["a": "1", "b": "x y"]` (`+` is a space; the first of repeated names wins).
  static func form(_ text: String) -> [String: String] {
    var fields: [String: String] = [:]
    for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      func decode(_ part: Substring) -> String {
        String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
      }
      let name = decode(parts[0])
      if fields[name] == nil { fields[name] = parts.count > 1 ? decode(parts[1]) : "" }
    }
    return fields
  }

  /// Text from a request made safe for a log line or an XML body: printable ASCII only, bounded.
  static func printable(_ text: String) -> String {
    String(text.unicodeScalars.prefix(128).map { (0x21...0x7E).contains($0.value) ? Character($0) : "?" })
  }

  static func escapeXML(_ text: String) -> String {
    var out = ""
    for character in text {
      switch character {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      default: out.append(character)
      }
    }
    return out
  }

  static func callerIdentityXML(account: String, arn: String, userId: String, requestId: String) -> String {
    """
    <GetCallerIdentityResponse xmlns="\(namespace)">
      <GetCallerIdentityResult>
        <Arn>\(escapeXML(arn))</Arn>
        <UserId>\(escapeXML(userId))</UserId>
        <Account>\(escapeXML(account))</Account>
      </GetCallerIdentityResult>
      <ResponseMetadata>
        <RequestId>\(requestId)</RequestId>
      </ResponseMetadata>
    </GetCallerIdentityResponse>

    """
  }

  /// STS's error document: `Sender` faults for 4xx, `Receiver` for 5xx.
  static func errorXML(code: String, message: String, status: Int, requestId: String) -> String {
    """
    <ErrorResponse xmlns="\(namespace)">
      <Error>
        <Type>\(status >= 500 ? "Receiver" : "Sender")</Type>
        <Code>\(escapeXML(code))</Code>
        <Message>\(escapeXML(message))</Message>
      </Error>
      <RequestId>\(requestId)</RequestId>
    </ErrorResponse>

    """
  }
}

extension KMSRequestHandler {
  /// Answers an STS Query request (`Action=GetCallerIdentity&Version=2011-06-15`), signed as `sts`
  /// when signatures are checked. Other actions answer `InvalidAction`, as STS does.
  func handleSTS(
    path: String, query: String, authority: String?, headers: HTTPFields, body: ByteBuffer?,
    requestId: String,
    accessKeyId: String?, started: ContinuousClock.Instant
  ) -> WireResponse {
    var operation = "STS"
    let answer: (status: Int, xml: String)
    do {
      guard let body else {
        throw WireError(
          "RequestEntityTooLarge",
          "The request body is larger than the maximum of \(options.maxBodyBytes) bytes.",
          status: 413)
      }
      let fields = STSQuery.form(String(buffer: body))
      let action = STSQuery.printable(fields["Action"] ?? "")
      operation = "STS.\(action.isEmpty ? "-" : action)"
      _ = try authenticate(
        method: "POST", path: path, query: query, header: Self.headerLookup(headers, authority: authority),
        body: body, signingNames: ["sts"], signingKeys: nil)
      guard action == "GetCallerIdentity" else {
        throw WireError(
          "InvalidAction",
          action.isEmpty
            ? "The request has no Action parameter."
            : "Could not find operation \(action) for version \(fields["Version"].map(STSQuery.printable) ?? "NO_VERSION_SPECIFIED").",
          status: 400)
      }
      answer = (200, callerIdentityXML(accessKeyId: accessKeyId, requestId: requestId))
    } catch {
      let wire: WireError
      switch error {
      case let error as WireError: wire = error
      case let error as SigV4Error:
        wire = WireError(error.awsErrorType, error.message, status: error.httpStatus)
      default: wire = .internalFailure
      }
      answer = (
        wire.status,
        STSQuery.errorXML(code: wire.type, message: wire.message, status: wire.status, requestId: requestId)
      )
    }
    let responseBody = ByteBuffer(string: answer.xml)
    var fields = HTTPFields()
    fields[.contentType] = "text/xml"
    fields[Self.requestIdField] = requestId
    fields[.contentLength] = String(responseBody.readableBytes)
    logRequest(
      operation: operation, status: answer.status, requestId: requestId, accessKeyId: accessKeyId,
      started: started)
    return WireResponse(
      status: answer.status, headers: fields, body: responseBody, operation: operation, requestId: requestId)
  }

  /// The caller: the principal mapped to its access key (`--principals`), else the account root.
  /// `UserId` is the account ID for the root (as AWS answers) and the access key ID otherwise.
  private func callerIdentityXML(accessKeyId: String?, requestId: String) -> String {
    if let accessKeyId, let principal = options.principals[accessKeyId] {
      let parts = principal.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
      let account = parts.count > 4 && !parts[4].isEmpty ? String(parts[4]) : options.accountId
      return STSQuery.callerIdentityXML(
        account: account, arn: principal, userId: accessKeyId, requestId: requestId)
    }
    return STSQuery.callerIdentityXML(
      account: options.accountId, arn: "arn:aws:iam::\(options.accountId):root", userId: options.accountId,
      requestId: requestId)
  }
}
