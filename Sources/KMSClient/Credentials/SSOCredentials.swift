import AWSSigV4
import Crypto
import Foundation

/// IAM Identity Center (SSO) settings of a profile: an `sso_session` (with its
/// `[sso-session NAME]` section) or the legacy `sso_start_url` / `sso_region` in the profile.
public struct SSOSettings: Sendable, Equatable {
  public var profile: String
  /// nil for a legacy profile.
  public var sessionName: String?
  public var startURL: String
  public var ssoRegion: String
  public var accountId: String
  public var roleName: String
  /// The SSO portal (`GetRoleCredentials`) and OIDC (`CreateToken`) endpoints.
  public var portalEndpoint: URL
  public var oidcEndpoint: URL

  /// `~/.aws/sso/cache/<sha1>.json`: SHA-1 of the session name, or of the start URL for a legacy
  /// profile, as the CLI names it.
  public func cacheFile(home: String) -> String {
    let key = sessionName ?? startURL
    let digest = Insecure.SHA1.hash(data: Data(key.utf8))
    return "\(home)/.aws/sso/cache/\(SigV4.hex(digest)).json"
  }

  public var loginCommand: String {
    profile == "default" ? "aws sso login" : "aws sso login --profile \(profile)"
  }
}

/// Fetches role credentials from IAM Identity Center with the access token the CLI cached at
/// `aws sso login`, refreshing that token with its refresh token (sso-session profiles only, as
/// botocore) when it expires within 15 minutes, and writing the new token back to the cache.
struct SSOCredentialSource: Sendable {
  var settings: SSOSettings
  var homeDirectory: String
  var http: any AWSHTTPSending
  var now: @Sendable () -> Date
  var timeout: Duration = .seconds(10)
  static let refreshWindow: TimeInterval = 15 * 60

  var sourceName: String { "IAM Identity Center (SSO) for profile '\(settings.profile)'" }

  private func loginError(_ message: String) -> AWSCredentialError {
    AWSCredentialError(
      source: sourceName, message: message, fix: "run `\(settings.loginCommand)`, then start kmsdash again")
  }

  func fetch() async throws -> ExpiringCredentials {
    let token = try await accessToken()
    var components = URLComponents(
      url: settings.portalEndpoint.appendingPathComponent("federation/credentials"),
      resolvingAgainstBaseURL: false)!
    components.queryItems = [
      URLQueryItem(name: "role_name", value: settings.roleName),
      URLQueryItem(name: "account_id", value: settings.accountId),
    ]
    let response: AWSHTTPResponse
    do {
      response = try await http.send(
        AWSHTTPRequest(
          method: "GET", url: components.url!,
          headers: [(name: "x-amz-sso_bearer_token", value: token), (name: "User-Agent", value: "kmsdash")],
          timeout: timeout))
    } catch let error as KMSTransportError {
      throw AWSCredentialError(source: sourceName, message: "GetRoleCredentials: \(error)")
    }
    let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
    guard response.status == 200 else {
      let type = KMSErrorDecoder.normalizedType(
        (object?["__type"] as? String) ?? response.headers["x-amzn-errortype"] ?? "HTTP \(response.status)")
      let message = (object?["message"] as? String) ?? (object?["Message"] as? String)
      let line =
        "GetRoleCredentials for role \(settings.roleName) in account \(settings.accountId) failed: \(type)"
        + (message.map { ": \($0)" } ?? (object == nil ? " (\(AWSWire.snippet(response.body)))" : ""))
      if response.status == 401 || type == "UnauthorizedException" {
        throw loginError(line + " — the SSO login is no longer valid")
      }
      if type == "ForbiddenException" || response.status == 403 {
        throw AWSCredentialError(
          source: sourceName, message: line,
          fix:
            "check sso_account_id and sso_role_name of profile '\(settings.profile)': the user must be assigned that permission set in that account"
        )
      }
      throw AWSCredentialError(source: sourceName, message: line)
    }
    guard let role = object?["roleCredentials"] as? [String: Any],
      let keyId = role["accessKeyId"] as? String, let secret = role["secretAccessKey"] as? String
    else {
      throw AWSCredentialError(
        source: sourceName, message: "GetRoleCredentials answered without roleCredentials")
    }
    let expiration = (role["expiration"] as? NSNumber).map {
      Date(timeIntervalSince1970: $0.doubleValue / 1000)
    }
    return ExpiringCredentials(
      AWSCredentials(
        accessKeyId: keyId, secretAccessKey: secret, sessionToken: role["sessionToken"] as? String),
      expiration: expiration)
  }

  /// The cached access token, refreshed if it expires within 15 minutes and can be.
  func accessToken() async throws -> String {
    let path = settings.cacheFile(home: homeDirectory)
    guard let data = FileManager.default.contents(atPath: path) else {
      throw loginError("no cached SSO token at \(path) (not logged in)")
    }
    guard var token = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw loginError("the cached SSO token \(path) is not valid JSON")
    }
    guard let accessToken = token["accessToken"] as? String, !accessToken.isEmpty,
      let expiresText = token["expiresAt"] as? String
    else {
      throw loginError("the cached SSO token \(path) has no accessToken / expiresAt")
    }
    guard let expiresAt = AWSWire.parseDate(expiresText) else {
      throw loginError("the cached SSO token \(path) has an unreadable expiresAt")
    }
    let remaining = expiresAt.timeIntervalSince(now())
    if remaining >= Self.refreshWindow { return accessToken }
    var refreshProblem: String?
    if settings.sessionName != nil {
      do {
        if let refreshed = try await refresh(&token) {
          write(token, to: path)
          return refreshed
        }
        refreshProblem = "no refresh token in the cache"
      } catch {
        refreshProblem = "\(error)"
      }
    } else {
      refreshProblem = "a legacy sso_start_url profile cannot be refreshed (use an sso_session section)"
    }
    if remaining > 0 { return accessToken }
    throw loginError(
      "the SSO login expired at \(AWSWire.formatDate(expiresAt)) and could not be refreshed (\(refreshProblem ?? "unknown"))"
    )
  }

  /// `CreateToken` with `grantType=refresh_token` (SSO OIDC, unsigned JSON). nil when the cache
  /// lacks what a refresh needs or the registration expired.
  private func refresh(_ token: inout [String: Any]) async throws -> String? {
    guard let refreshToken = token["refreshToken"] as? String, let clientId = token["clientId"] as? String,
      let clientSecret = token["clientSecret"] as? String,
      let registrationText = token["registrationExpiresAt"] as? String
    else { return nil }
    if let registration = AWSWire.parseDate(registrationText), registration <= now() {
      throw AWSCredentialError(
        source: sourceName, message: "the client registration expired at \(registrationText)")
    }
    let body = try JSONSerialization.data(withJSONObject: [
      "grantType": "refresh_token", "clientId": clientId, "clientSecret": clientSecret,
      "refreshToken": refreshToken,
    ])
    let response: AWSHTTPResponse
    do {
      response = try await http.send(
        AWSHTTPRequest(
          method: "POST", url: settings.oidcEndpoint.appendingPathComponent("token"),
          headers: [
            (name: "Content-Type", value: "application/json"), (name: "User-Agent", value: "kmsdash"),
          ],
          body: body, timeout: timeout))
    } catch let error as KMSTransportError {
      throw AWSCredentialError(source: sourceName, message: "CreateToken: \(error)")
    }
    let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
    guard response.status == 200, let accessToken = object?["accessToken"] as? String,
      let expiresIn = object?["expiresIn"] as? NSNumber
    else {
      let type = (object?["error"] as? String) ?? (object?["__type"] as? String) ?? "HTTP \(response.status)"
      throw AWSCredentialError(source: sourceName, message: "CreateToken refused the refresh token: \(type)")
    }
    token["accessToken"] = accessToken
    token["expiresAt"] = AWSWire.formatDate(now().addingTimeInterval(expiresIn.doubleValue))
    token["startUrl"] = settings.startURL
    token["region"] = settings.ssoRegion
    if let newRefresh = object?["refreshToken"] as? String { token["refreshToken"] = newRefresh }
    return accessToken
  }

  /// Writes the token back (0600), as the CLI does; a failure only costs a refresh next time.
  private func write(_ token: [String: Any], to path: String) {
    guard let data = try? JSONSerialization.data(withJSONObject: token, options: [.sortedKeys]) else {
      return
    }
    let temporary = path + ".kmsdash-\(UUID().uuidString)"
    guard
      FileManager.default.createFile(
        atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600])
    else { return }
    if rename(temporary, path) != 0 { try? FileManager.default.removeItem(atPath: temporary) }
  }
}
