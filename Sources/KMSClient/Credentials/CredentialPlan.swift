import AWSSigV4
import Foundation

/// `role_arn` settings of a profile, with the STS endpoint to call.
public struct AssumeRoleSettings: Sendable, Equatable {
  public var profile: String
  public var roleArn: String
  /// nil: `botocore-session-<unix time>`, as the CLI names it.
  public var roleSessionName: String?
  public var externalId: String?
  public var durationSeconds: Int?
  public var mfaSerial: String?
  public var stsEndpoint: URL
  public var stsRegion: String
}

/// `web_identity_token_file` + `role_arn` (or `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`).
public struct WebIdentitySettings: Sendable, Equatable {
  public var profile: String
  public var roleArn: String
  public var tokenFile: String
  public var roleSessionName: String?
  public var durationSeconds: Int?
  public var stsEndpoint: URL
  public var stsRegion: String
}

/// How credentials are obtained, as resolved from the environment and the shared files. A value:
/// tests compare it; `makeProvider` turns it into something that fetches.
public indirect enum CredentialPlan: Sendable, Equatable {
  /// Keys from the environment or a shared file.
  case fixed(AWSCredentials, source: String)
  /// `credential_process`.
  case process(command: String, profile: String)
  /// STS `AssumeRole` with the credentials of `source`.
  case assumeRole(AssumeRoleSettings, source: CredentialPlan)
  /// STS `AssumeRoleWithWebIdentity`.
  case webIdentity(WebIdentitySettings)
  /// IAM Identity Center `GetRoleCredentials`.
  case sso(SSOSettings)
  /// ECS / EKS container credentials endpoint.
  case container(ContainerSettings)
  /// EC2 instance metadata; `searched` lists what was tried before (for the error if it fails).
  case instanceMetadata(InstanceMetadataSettings, searched: [String])

  /// A one-line description for the header and messages. Never a secret.
  public var summary: String {
    switch self {
    case .fixed(_, let source): source
    case .process(_, let profile): "credential_process of profile '\(profile)'"
    case .assumeRole(let role, let source):
      "role \(role.roleArn) (profile '\(role.profile)') via \(source.summary)"
    case .webIdentity(let settings): "role \(settings.roleArn) via web identity token \(settings.tokenFile)"
    case .sso(let settings):
      "IAM Identity Center role \(settings.roleName) in \(settings.accountId) (profile '\(settings.profile)')"
    case .container(let settings): "container credentials at \(AsyncHTTPSender.display(settings.url))"
    case .instanceMetadata(let settings, _): "EC2 instance metadata at \(settings.endpoint.absoluteString)"
    }
  }

  /// Whether fetching may ask for an MFA code.
  public var needsMFA: Bool {
    if case .assumeRole(let role, let source) = self { return role.mfaSerial != nil || source.needsMFA }
    return false
  }
}

/// What providers need to fetch: HTTP, time, the home directory (SSO cache), the environment
/// (for `credential_process`), and a way to ask for an MFA code.
public struct CredentialFetchContext: Sendable {
  public var http: any AWSHTTPSending
  public var now: @Sendable () -> Date
  public var homeDirectory: String
  public var environment: [String: String]
  /// Asked for the MFA code of a device (its serial or ARN). nil: MFA profiles fail with a message.
  public var mfaCode: (@Sendable (_ serial: String) async throws -> String)?
  public var processTimeout: Duration

  public init(
    http: any AWSHTTPSending = AsyncHTTPSender(), now: @escaping @Sendable () -> Date = { Date() },
    homeDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment,
    mfaCode: (@Sendable (_ serial: String) async throws -> String)? = nil,
    processTimeout: Duration = .seconds(60)
  ) {
    self.http = http
    self.now = now
    self.homeDirectory = homeDirectory
    self.environment = environment
    self.mfaCode = mfaCode
    self.processTimeout = processTimeout
  }
}

extension CredentialPlan {
  /// A provider that fetches as planned, caching temporary credentials and refreshing them before
  /// they expire.
  public func makeProvider(_ context: CredentialFetchContext) -> any AWSCredentialProvider {
    let summary = self.summary
    switch self {
    case .fixed(let credentials, let source):
      return StaticCredentialProvider(credentials, source: source)
    case .process(let command, let profile):
      let source = ProcessCredentialSource(
        command: command, profile: profile, environment: context.environment, timeout: context.processTimeout,
        now: context.now)
      return RefreshingCredentialProvider(source: summary, now: context.now) { try await source.fetch() }
    case .assumeRole(let role, let sourcePlan):
      let sourceProvider = sourcePlan.makeProvider(context)
      let sts = STSClient(
        endpoint: role.stsEndpoint, region: role.stsRegion, http: context.http, now: context.now)
      let now = context.now
      let prompt = context.mfaCode
      let prompted = OnceFlag()
      return RefreshingCredentialProvider(source: summary, now: context.now) {
        let sourceCredentials = try await sourceProvider.credentials()
        var tokenCode: String?
        if let serial = role.mfaSerial {
          // As botocore: the code is asked for once; the session cannot be renewed without a new one.
          guard prompted.set() else {
            throw AWSCredentialError(
              source: "STS AssumeRole for \(role.roleArn)",
              message:
                "the MFA session of profile '\(role.profile)' expired and cannot be renewed without a new code",
              fix:
                "restart kmsdash and enter a fresh MFA code (duration_seconds sets how long a session lasts)")
          }
          guard let prompt else {
            throw AWSCredentialError(
              source: "STS AssumeRole for \(role.roleArn)",
              message:
                "profile '\(role.profile)' needs an MFA code (mfa_serial \(serial)) and none can be asked for here",
              fix: "start kmsdash from a terminal so it can prompt for the code")
          }
          tokenCode = try await prompt(serial)
        }
        let sessionName = role.roleSessionName ?? "botocore-session-\(Int(now().timeIntervalSince1970))"
        return try await sts.assumeRole(
          .init(
            roleArn: role.roleArn, roleSessionName: sessionName, externalId: role.externalId,
            durationSeconds: role.durationSeconds, serialNumber: role.mfaSerial, tokenCode: tokenCode),
          credentials: sourceCredentials)
      }
    case .webIdentity(let settings):
      let sts = STSClient(
        endpoint: settings.stsEndpoint, region: settings.stsRegion, http: context.http, now: context.now)
      let now = context.now
      return RefreshingCredentialProvider(source: summary, now: context.now) {
        // Read at every fetch: the orchestrator rotates the token file.
        guard let data = FileManager.default.contents(atPath: settings.tokenFile) else {
          throw AWSCredentialError(
            source: "STS AssumeRoleWithWebIdentity for \(settings.roleArn)",
            message: "cannot read the web identity token file \(settings.tokenFile)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
          throw AWSCredentialError(
            source: "STS AssumeRoleWithWebIdentity for \(settings.roleArn)",
            message: "the web identity token file \(settings.tokenFile) is empty")
        }
        return try await sts.assumeRoleWithWebIdentity(
          roleArn: settings.roleArn,
          roleSessionName: settings.roleSessionName ?? "botocore-session-\(Int(now().timeIntervalSince1970))",
          webIdentityToken: token, durationSeconds: settings.durationSeconds)
      }
    case .sso(let settings):
      let source = SSOCredentialSource(
        settings: settings, homeDirectory: context.homeDirectory, http: context.http, now: context.now)
      return RefreshingCredentialProvider(source: summary, now: context.now) { try await source.fetch() }
    case .container(let settings):
      let source = ContainerCredentialSource(settings: settings, http: context.http)
      return RefreshingCredentialProvider(source: summary, now: context.now) { try await source.fetch() }
    case .instanceMetadata(let settings, let searched):
      let source = InstanceMetadataCredentialSource(settings: settings, http: context.http)
      return RefreshingCredentialProvider(source: summary, now: context.now) {
        do {
          return try await source.fetch()
        } catch let error as AWSCredentialError where !searched.isEmpty {
          // The last resort of the default chain: say everything that was searched.
          throw AWSCredentialError(
            source: "the default credential chain",
            message: "no credentials found. Searched:\n"
              + (searched.dropLast() + ["\(error.source): \(error.message)"]).map { "  - \($0)" }.joined(
                separator: "\n"),
            fix:
              "run `aws configure` (or `aws configure --profile NAME`), or `aws sso login --profile NAME`, "
              + "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile NAME for a profile that "
              + "has credentials. Set AWS_EC2_METADATA_DISABLED=true to skip instance metadata off EC2.")
        }
      }
    }
  }
}

/// True the first time `set()` is called, false after.
final class OnceFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var done = false

  func set() -> Bool {
    lock.lock()
    defer { lock.unlock() }
    if done { return false }
    done = true
    return true
  }
}
