import AWSSigV4
import Foundation

/// EC2 `DescribeRegions` over the Query protocol (form-encoded POST, XML answer), signed as `ec2`:
/// without `AllRegions` it lists exactly the Regions enabled for the account (those enabled by
/// default and those opted in), which is what `--all-regions` watches. `account:ListRegions`
/// would say the same but needs a permission few roles have; `ec2:DescribeRegions` is in the
/// read-only policies most administrators hold.
public struct EC2RegionsClient: Sendable {
  public static let apiVersion = "2016-11-15"

  public var endpoint: URL
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

  /// The enabled Regions' names, sorted.
  public func describeRegions(credentials: AWSCredentials) async throws -> [String] {
    let source = "EC2 DescribeRegions at \(endpoint.absoluteString) (for --all-regions)"
    let response: AWSHTTPResponse
    do {
      response = try await AWSWire.postQuery(
        [("Action", "DescribeRegions"), ("Version", Self.apiVersion)], to: endpoint, service: "ec2",
        region: region,
        credentials: credentials, http: http, timeout: timeout, date: now())
    } catch let error as KMSTransportError {
      throw AWSCredentialError(source: source, message: error.description)
    }
    let text = response.text
    guard response.status == 200 else {
      let code = AWSWire.xmlText("Code", in: text)
      let message = AWSWire.xmlText("Message", in: text)
      throw AWSCredentialError(
        source: source,
        message: code.map { "\($0)" + (message.map { ": \($0)" } ?? "") }
          ?? "HTTP \(response.status), not an EC2 answer (\(AWSWire.snippet(response.body)))",
        fix: code == "UnauthorizedOperation" || code == "AuthFailure"
          ? "allow ec2:DescribeRegions, or name the Regions with --region" : "name the Regions with --region")
    }
    guard let info = AWSWire.xmlElement("regionInfo", in: text) else {
      throw AWSCredentialError(
        source: source, message: "the answer has no regionInfo (\(AWSWire.snippet(response.body)))",
        fix: "name the Regions with --region")
    }
    var names: [String] = []
    var rest = Substring(info)
    while let open = rest.range(of: "<regionName>"),
      let close = rest.range(of: "</regionName>", range: open.upperBound..<rest.endIndex)
    {
      let name = String(rest[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespaces)
      if AWSRegionName.isValid(name) { names.append(name) }
      rest = rest[close.upperBound...]
    }
    guard !names.isEmpty else {
      throw AWSCredentialError(
        source: source, message: "the answer lists no Region", fix: "name the Regions with --region")
    }
    return Array(Set(names)).sorted()
  }
}
