import AWSSigV4
import Foundation

/// Container credentials (ECS task roles, EKS Pod Identity): `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`
/// on `http://169.254.170.2`, or `AWS_CONTAINER_CREDENTIALS_FULL_URI` (https, a loopback address,
/// or one of the ECS/EKS link-local hosts), with `Authorization` from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read at every fetch) or
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`. 2 s per attempt, 3 attempts, as botocore.
public struct ContainerSettings: Sendable, Equatable {
  public var url: URL
  public var authorizationToken: String?
  public var authorizationTokenFile: String?

  static let defaultHost = "http://169.254.170.2"
  static let allowedHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"]

  /// From the environment; nil when neither URI variable is set. `relativeBase` replaces
  /// `http://169.254.170.2` (tests only).
  static func from(environment: [String: String], relativeBase: String? = nil) throws(AWSConfigurationError)
    -> ContainerSettings?
  {
    func value(_ name: String) -> String? {
      guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
        return nil
      }
      return text
    }
    let url: URL
    if let relative = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
      guard let parsed = URL(string: (relativeBase ?? defaultHost) + relative) else {
        throw .invalidConfiguration(
          message: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a valid path (it must start with '/').")
      }
      url = parsed
    } else if let full = value("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
      guard let parsed = URL(string: full), let host = parsed.host, let scheme = parsed.scheme?.lowercased(),
        scheme == "http" || scheme == "https"
      else {
        throw .invalidConfiguration(message: "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL.")
      }
      let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
      guard scheme == "https" || isLoopback(bare) || allowedHosts.contains(bare) else {
        throw .invalidConfiguration(
          message:
            "AWS_CONTAINER_CREDENTIALS_FULL_URI names the host '\(bare)'. Over plain http, container credentials are "
            + "fetched only from a loopback address or one of these hosts: "
            + allowedHosts.sorted().joined(separator: ", ")
            + " (as the AWS CLI). Use https for any other host.")
      }
      url = parsed
    } else {
      return nil
    }
    return ContainerSettings(
      url: url, authorizationToken: value("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
      authorizationTokenFile: value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
  }

  static func isLoopback(_ host: String) -> Bool {
    if host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
    let parts = host.split(separator: ".")
    return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
  }
}

struct ContainerCredentialSource: Sendable {
  var settings: ContainerSettings
  var http: any AWSHTTPSending
  var attempts = 3
  var timeout: Duration = .seconds(2)

  var sourceName: String { "container credentials at \(AsyncHTTPSender.display(settings.url))" }

  func fetch() async throws -> ExpiringCredentials {
    var headers: [(name: String, value: String)] = [(name: "Accept", value: "application/json")]
    if let file = settings.authorizationTokenFile {
      guard let data = FileManager.default.contents(atPath: file) else {
        throw AWSCredentialError(
          source: sourceName, message: "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (\(file))")
      }
      let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      guard !token.contains("\r"), !token.contains("\n") else {
        throw AWSCredentialError(
          source: sourceName, message: "the authorization token file has several lines")
      }
      headers.append((name: "Authorization", value: token))
    } else if let token = settings.authorizationToken {
      headers.append((name: "Authorization", value: token))
    }
    var lastProblem = ""
    for _ in 0..<max(1, attempts) {
      let response: AWSHTTPResponse
      do {
        response = try await http.send(
          AWSHTTPRequest(method: "GET", url: settings.url, headers: headers, timeout: timeout))
      } catch let error as KMSTransportError {
        lastProblem = error.description
        continue
      }
      let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
      guard response.status == 200 else {
        let message = (object?["message"] as? String) ?? (object?["Message"] as? String)
        lastProblem = "HTTP \(response.status)" + (message.map { ": \($0)" } ?? "")
        if (400..<500).contains(response.status) { break }  // the token is wrong: retrying will not help
        continue
      }
      guard let object, let keyId = object["AccessKeyId"] as? String,
        let secret = object["SecretAccessKey"] as? String
      else {
        lastProblem = "the answer is not credentials JSON (AccessKeyId, SecretAccessKey, Token, Expiration)"
        continue
      }
      return ExpiringCredentials(
        AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: object["Token"] as? String),
        expiration: (object["Expiration"] as? String).flatMap(AWSWire.parseDate))
    }
    throw AWSCredentialError(source: sourceName, message: lastProblem)
  }
}

/// EC2 instance metadata (IMDS): an IMDSv2 session token first (`PUT /latest/api/token` with
/// `X-aws-ec2-metadata-token-ttl-seconds: 21600`), then the role name and its credentials with
/// `X-aws-ec2-metadata-token`. Falling back to IMDSv1 (no token) when the token request is
/// refused is off unless `ec2_metadata_v1_disabled = false` / `AWS_EC2_METADATA_V1_DISABLED=false`
/// says otherwise (botocore falls back by default; kmsdash does not). Endpoint:
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` / `ec2_metadata_service_endpoint`, else
/// `http://169.254.169.254` (`http://[fd00:ec2::254]` in IPv6 mode). 1 s per request and 1
/// attempt by default (`metadata_service_timeout`, `metadata_service_num_attempts`).
public struct InstanceMetadataSettings: Sendable, Equatable {
  public var endpoint: URL
  public var allowV1Fallback: Bool
  public var timeout: Duration
  public var attempts: Int

  public init(
    endpoint: URL, allowV1Fallback: Bool = false, timeout: Duration = .seconds(1), attempts: Int = 1
  ) {
    self.endpoint = endpoint
    self.allowV1Fallback = allowV1Fallback
    self.timeout = timeout
    self.attempts = attempts
  }
}

struct InstanceMetadataCredentialSource: Sendable {
  static let tokenTTL = "21600"
  var settings: InstanceMetadataSettings
  var http: any AWSHTTPSending

  var sourceName: String { "EC2 instance metadata at \(settings.endpoint.absoluteString)" }

  private func url(_ path: String) -> URL {
    var base = settings.endpoint.absoluteString
    if base.hasSuffix("/") { base.removeLast() }
    return URL(string: base + path)!
  }

  /// One request with `attempts` tries on transport errors and 5xx answers.
  private func request(_ method: String, _ path: String, headers: [(name: String, value: String)])
    async throws
    -> AWSHTTPResponse
  {
    var last: (any Error)?
    for _ in 0..<max(1, settings.attempts) {
      do {
        let response = try await http.send(
          AWSHTTPRequest(
            method: method, url: url(path), headers: headers + [(name: "User-Agent", value: "kmsdash")],
            timeout: settings.timeout))
        if response.status >= 500 {
          last = AWSCredentialError(source: sourceName, message: "HTTP \(response.status) for \(path)")
          continue
        }
        return response
      } catch let error as KMSTransportError {
        last = error
      }
    }
    if let error = last as? AWSCredentialError { throw error }
    throw AWSCredentialError(
      source: sourceName,
      message: "no answer (\(last.map { "\($0)" } ?? "unknown")); this does not look like an EC2 instance")
  }

  func fetch() async throws -> ExpiringCredentials {
    let tokenResponse = try await request(
      "PUT", "/latest/api/token",
      headers: [(name: "x-aws-ec2-metadata-token-ttl-seconds", value: Self.tokenTTL)])
    var tokenHeader: [(name: String, value: String)] = []
    switch tokenResponse.status {
    case 200 where !tokenResponse.body.isEmpty:
      tokenHeader = [(name: "x-aws-ec2-metadata-token", value: tokenResponse.text)]
    case 400:
      throw AWSCredentialError(
        source: sourceName, message: "the IMDSv2 token request was rejected as bad (HTTP 400)")
    case 403, 404, 405:
      guard settings.allowV1Fallback else {
        throw AWSCredentialError(
          source: sourceName,
          message:
            "the IMDSv2 token request was refused (HTTP \(tokenResponse.status)) and IMDSv1 fallback is off",
          fix: "require IMDSv2 on the instance, or allow IMDSv1 with AWS_EC2_METADATA_V1_DISABLED=false")
      }
    default:
      throw AWSCredentialError(
        source: sourceName, message: "the IMDSv2 token request answered HTTP \(tokenResponse.status)")
    }
    let roleResponse = try await request(
      "GET", "/latest/meta-data/iam/security-credentials/", headers: tokenHeader)
    let role = roleResponse.text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    guard roleResponse.status == 200, !role.isEmpty else {
      throw AWSCredentialError(
        source: sourceName,
        message: roleResponse.status == 404
          ? "the instance has no IAM role (instance profile)"
          : "HTTP \(roleResponse.status) listing the role",
        fix: roleResponse.status == 404 ? "attach an instance profile to the instance" : nil)
    }
    let credentialsResponse = try await request(
      "GET", "/latest/meta-data/iam/security-credentials/\(role)", headers: tokenHeader)
    let object = (try? JSONSerialization.jsonObject(with: credentialsResponse.body)) as? [String: Any]
    guard credentialsResponse.status == 200, let object else {
      throw AWSCredentialError(
        source: sourceName,
        message: "HTTP \(credentialsResponse.status) reading the credentials of role \(role)")
    }
    if let code = object["Code"] as? String, code != "Success" {
      throw AWSCredentialError(
        source: sourceName, message: "role \(role): \(code): \(object["Message"] as? String ?? "")")
    }
    guard let keyId = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String,
      let token = object["Token"] as? String,
      let expiration = (object["Expiration"] as? String).flatMap(AWSWire.parseDate)
    else {
      throw AWSCredentialError(source: sourceName, message: "the credentials of role \(role) lack a field")
    }
    return ExpiringCredentials(
      AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token), expiration: expiration
    )
  }
}
