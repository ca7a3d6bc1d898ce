import AWSSigV4
import Foundation

/// Credentials and a region resolved from the standard AWS chain, with where each came from.
public struct AWSResolvedConfiguration: Sendable, Equatable {
  public var credentials: AWSCredentials
  public var region: String
  /// The profile in effect (`default` unless one was named).
  public var profile: String
  /// Where the credentials came from, e.g. `environment` or `shared credentials file
  /// /home/me/.aws/credentials [prod]`. Never a secret.
  public var credentialSource: String
  /// Where the region came from, e.g. `--region`, `AWS_REGION` or `config file … [profile prod]`.
  public var regionSource: String
  /// An endpoint override for KMS from `AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL` or the profile's
  /// `endpoint_url`, if any.
  public var endpointURL: URL?

  public init(
    credentials: AWSCredentials, region: String, profile: String, credentialSource: String,
    regionSource: String, endpointURL: URL? = nil
  ) {
    self.credentials = credentials
    self.region = region
    self.profile = profile
    self.credentialSource = credentialSource
    self.regionSource = regionSource
    self.endpointURL = endpointURL
  }
}

/// Resolves credentials and region as the AWS CLI does.
///
/// Credentials, first match wins:
/// 1. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), unless a profile was
///    named explicitly (`--profile`), which, as in botocore, skips the environment;
/// 2. the profile's section in the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default
///    `~/.aws/credentials`; sections are `[NAME]`);
/// 3. the profile's section in the config file (`AWS_CONFIG_FILE`, default `~/.aws/config`;
///    sections are `[profile NAME]`, and `[default]` for the default profile).
///
/// The profile is the explicit name, else `AWS_PROFILE` (or `AWS_DEFAULT_PROFILE`), else `default`.
/// Region: the explicit value, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's
/// `region` in the config file (or, leniently, the credentials file).
///
/// The environment and home directory are injected so tests run against fixture files.
public struct AWSCredentialChain: Sendable {
  public var environment: [String: String]
  public var homeDirectory: String

  public init(
    environment: [String: String] = ProcessInfo.processInfo.environment, homeDirectory: String? = nil
  ) {
    self.environment = environment
    self.homeDirectory =
      homeDirectory ?? environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
  }

  // MARK: Files

  /// The shared credentials file's path.
  public var credentialsFilePath: String {
    expand(nonEmpty("AWS_SHARED_CREDENTIALS_FILE") ?? "~/.aws/credentials")
  }

  /// The config file's path.
  public var configFilePath: String {
    expand(nonEmpty("AWS_CONFIG_FILE") ?? "~/.aws/config")
  }

  /// The profile in effect for an explicit name (nil: from the environment, else `default`).
  public func profileName(explicit: String? = nil) -> String {
    if let explicit, !explicit.isEmpty { return explicit }
    return nonEmpty("AWS_PROFILE") ?? nonEmpty("AWS_DEFAULT_PROFILE") ?? "default"
  }

  /// Everything at once: credentials, region and endpoint override.
  ///
  /// - Parameters:
  ///   - profile: `--profile NAME`, if given.
  ///   - region: `--region R`, if given.
  public func resolve(profile explicitProfile: String? = nil, region explicitRegion: String? = nil)
    throws(AWSConfigurationError) -> AWSResolvedConfiguration
  {
    let files = try loadFiles()
    let profile = profileName(explicit: explicitProfile)
    let (credentials, credentialSource) = try resolveCredentials(
      profile: profile, explicitProfile: explicitProfile != nil && explicitProfile != "", files: files)
    let (region, regionSource) = try resolveRegion(profile: profile, explicit: explicitRegion, files: files)
    return AWSResolvedConfiguration(
      credentials: credentials, region: region, profile: profile, credentialSource: credentialSource,
      regionSource: regionSource, endpointURL: endpointURL(profile: profile, files: files))
  }

  /// Credentials only.
  public func credentials(profile explicitProfile: String? = nil) throws(AWSConfigurationError)
    -> AWSCredentials
  {
    let files = try loadFiles()
    return try resolveCredentials(
      profile: profileName(explicit: explicitProfile),
      explicitProfile: explicitProfile != nil && explicitProfile != "", files: files
    ).0
  }

  /// Region only, nil when none is configured.
  public func region(profile explicitProfile: String? = nil, explicit: String? = nil)
    throws(AWSConfigurationError) -> String?
  {
    let files = try loadFiles()
    do {
      return try resolveRegion(
        profile: profileName(explicit: explicitProfile), explicit: explicit, files: files
      )
      .0
    } catch .noRegion {
      return nil
    }
  }

  // MARK: Resolution

  struct Files {
    var credentials: INIFile?
    var config: INIFile?
    var credentialsPath: String
    var configPath: String

    func credentialsSection(_ profile: String) -> [String: String]? {
      credentials?.sections[profile]
    }

    /// `[profile NAME]`, or `[default]` (or `[profile default]`) for the default profile.
    func configSection(_ profile: String) -> [String: String]? {
      guard let config else { return nil }
      if profile == "default" {
        let bare = config.sections["default"]
        let prefixed = config.sections["profile default"]
        if bare == nil && prefixed == nil { return nil }
        return (bare ?? [:]).merging(prefixed ?? [:]) { _, new in new }
      }
      return config.sections["profile \(profile)"]
    }

    func configSectionName(_ profile: String) -> String {
      profile == "default" ? "[default]" : "[profile \(profile)]"
    }
  }

  func loadFiles() throws(AWSConfigurationError) -> Files {
    Files(
      credentials: try load(credentialsFilePath), config: try load(configFilePath),
      credentialsPath: credentialsFilePath, configPath: configFilePath)
  }

  private func load(_ path: String) throws(AWSConfigurationError) -> INIFile? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw .unreadableFile(path: path, reason: (error as NSError).localizedDescription)
    }
    return try INIFile.parse(String(decoding: data, as: UTF8.self), path: path)
  }

  func resolveCredentials(profile: String, explicitProfile: Bool, files: Files)
    throws(AWSConfigurationError) -> (AWSCredentials, String)
  {
    var searched: [String] = []

    // 1. Environment (skipped when a profile was named explicitly, as botocore does).
    if explicitProfile {
      searched.append("environment variables: skipped because a profile was named explicitly")
    } else {
      let keyId = nonEmpty("AWS_ACCESS_KEY_ID")
      let secret = nonEmpty("AWS_SECRET_ACCESS_KEY")
      switch (keyId, secret) {
      case (let keyId?, let secret?):
        let token = nonEmpty("AWS_SESSION_TOKEN") ?? nonEmpty("AWS_SECURITY_TOKEN")
        return (
          AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token), "environment"
        )
      case (.some, nil):
        throw .partialCredentials(source: "the environment", missing: "AWS_SECRET_ACCESS_KEY")
      case (nil, .some):
        throw .partialCredentials(source: "the environment", missing: "AWS_ACCESS_KEY_ID")
      case (nil, nil):
        searched.append("environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: not set")
      }
    }

    // 2. Shared credentials file, [NAME].
    let credentialsSection = files.credentialsSection(profile)
    if files.credentials == nil {
      searched.append("shared credentials file \(files.credentialsPath): not found")
    } else if let section = credentialsSection {
      let source = "shared credentials file \(files.credentialsPath) [\(profile)]"
      if let credentials = try credentials(in: section, source: source) {
        return (credentials, source)
      }
      searched.append("\(source): no aws_access_key_id / aws_secret_access_key")
    } else {
      searched.append("shared credentials file \(files.credentialsPath): no section [\(profile)]")
    }

    // 3. Config file, [profile NAME] or [default].
    let configSection = files.configSection(profile)
    let configName = files.configSectionName(profile)
    if files.config == nil {
      searched.append("config file \(files.configPath): not found")
    } else if let section = configSection {
      let source = "config file \(files.configPath) \(configName)"
      if let credentials = try credentials(in: section, source: source) {
        return (credentials, source)
      }
      for setting in [
        "role_arn", "sso_session", "sso_start_url", "credential_process", "web_identity_token_file",
      ]
      where section[setting] != nil {
        throw .unsupportedCredentialSource(profile: profile, setting: setting)
      }
      searched.append("\(source): no aws_access_key_id / aws_secret_access_key")
    } else {
      searched.append("config file \(files.configPath): no section \(configName)")
    }

    if profile != "default" && credentialsSection == nil && configSection == nil {
      throw .profileNotFound(profile: profile, searched: searched)
    }
    throw .noCredentials(profile: profile, searched: searched)
  }

  private func credentials(in section: [String: String], source: String) throws(AWSConfigurationError)
    -> AWSCredentials?
  {
    let keyId = section["aws_access_key_id"].flatMap { $0.isEmpty ? nil : $0 }
    let secret = section["aws_secret_access_key"].flatMap { $0.isEmpty ? nil : $0 }
    switch (keyId, secret) {
    case (let keyId?, let secret?):
      let token = (section["aws_session_token"] ?? section["aws_security_token"]).flatMap {
        $0.isEmpty ? nil : $0
      }
      return AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token)
    case (.some, nil):
      throw .partialCredentials(source: source, missing: "aws_secret_access_key")
    case (nil, .some):
      throw .partialCredentials(source: source, missing: "aws_access_key_id")
    case (nil, nil):
      return nil
    }
  }

  func resolveRegion(profile: String, explicit: String?, files: Files) throws(AWSConfigurationError)
    -> (String, String)
  {
    if let explicit, !explicit.isEmpty { return (explicit, "--region") }
    if let region = nonEmpty("AWS_REGION") { return (region, "AWS_REGION") }
    if let region = nonEmpty("AWS_DEFAULT_REGION") { return (region, "AWS_DEFAULT_REGION") }
    let configName = files.configSectionName(profile)
    if let region = files.configSection(profile)?["region"], !region.isEmpty {
      return (region, "config file \(files.configPath) \(configName)")
    }
    if let region = files.credentialsSection(profile)?["region"], !region.isEmpty {
      return (region, "shared credentials file \(files.credentialsPath) [\(profile)]")
    }
    throw .noRegion(
      profile: profile,
      searched: [
        "--region: not given", "AWS_REGION / AWS_DEFAULT_REGION: not set",
        files.config == nil
          ? "config file \(files.configPath): not found"
          : "config file \(files.configPath) \(configName): no region",
      ])
  }

  func endpointURL(profile: String, files: Files) -> URL? {
    let text =
      nonEmpty("AWS_ENDPOINT_URL_KMS") ?? nonEmpty("AWS_ENDPOINT_URL")
      ?? files.configSection(profile)?["endpoint_url"]
    return text.flatMap { $0.isEmpty ? nil : URL(string: $0) }
  }

  // MARK: Helpers

  private func nonEmpty(_ name: String) -> String? {
    guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
      return nil
    }
    return value
  }

  private func expand(_ path: String) -> String {
    if path == "~" { return homeDirectory }
    if path.hasPrefix("~/") { return homeDirectory + path.dropFirst(1) }
    return path
  }
}
