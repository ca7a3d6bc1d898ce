import AWSSigV4
import Foundation

/// Credentials and a region resolved from the standard AWS chain, with where each came from.
public struct AWSResolvedConfiguration: Sendable, Equatable {
  /// How to get the credentials (fixed keys, a process, STS, IAM Identity Center, metadata).
  public var plan: CredentialPlan
  public var region: String
  /// The profile in effect (`default` unless one was named).
  public var profile: String
  /// Where the credentials came from, e.g. `environment` or `shared credentials file
  /// /home/me/.aws/credentials [prod]`. Never a secret.
  public var credentialSource: String
  /// Where the region came from, e.g. `--region`, `AWS_REGION` or `config file … [profile prod]`.
  public var regionSource: String
  /// An endpoint override for KMS from `AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL`, a services
  /// section or the profile's `endpoint_url`, if any.
  public var endpointURL: URL?
  /// Endpoints of every service (KMS, STS, SSO, CloudHSM v2) as the CLI resolves them.
  public var endpoints: AWSEndpointResolver
  /// `AWS_CA_BUNDLE`, else the profile's `ca_bundle`: a PEM file of trusted roots.
  public var caBundle: String?

  public init(
    plan: CredentialPlan, region: String, profile: String, credentialSource: String,
    regionSource: String, endpointURL: URL? = nil, endpoints: AWSEndpointResolver = AWSEndpointResolver(),
    caBundle: String? = nil
  ) {
    self.plan = plan
    self.region = region
    self.profile = profile
    self.credentialSource = credentialSource
    self.regionSource = regionSource
    self.endpointURL = endpointURL
    self.endpoints = endpoints
    self.caBundle = caBundle
  }

  /// Fixed credentials (environment, shared files), nil for the sources that fetch them.
  public var credentials: AWSCredentials? {
    if case .fixed(let credentials, _) = plan { return credentials }
    return nil
  }
}

/// Resolves credentials and region as the AWS CLI v2 (botocore) does.
///
/// Credentials, first match wins:
/// 1. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), unless a profile was
///    named explicitly (`--profile`), which, as in botocore, skips the environment;
/// 2. the profile's `role_arn` (without `web_identity_token_file`): STS `AssumeRole` with the
///    credentials of `source_profile` (which may itself assume a role) or of `credential_source`
///    (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`), with `external_id`,
///    `role_session_name`, `duration_seconds` and `mfa_serial`;
/// 3. `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (unless a profile was named explicitly), or the
///    profile's `web_identity_token_file` + `role_arn`: STS `AssumeRoleWithWebIdentity`;
/// 4. IAM Identity Center: `sso_session` (with its `[sso-session NAME]` section) or the legacy
///    `sso_start_url`, with `sso_account_id` and `sso_role_name`;
/// 5. keys in the profile's section of the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`,
///    default `~/.aws/credentials`; sections are `[NAME]`);
/// 6. `credential_process`;
/// 7. keys in the profile's section of the config file (`AWS_CONFIG_FILE`, default `~/.aws/config`;
///    sections are `[profile NAME]`, and `[default]` for the default profile);
/// 8. container credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI`);
/// 9. EC2 instance metadata (IMDSv2), unless `AWS_EC2_METADATA_DISABLED=true`.
///
/// As in botocore, a profile's settings are its config-file section with its credentials-file
/// section laid over it. The profile is the explicit name, else `AWS_PROFILE` (or
/// `AWS_DEFAULT_PROFILE`), else `default`. Region: the explicit value, else `AWS_REGION`, else
/// `AWS_DEFAULT_REGION`, else the profile's `region`.
///
/// Resolution reads files only; the plan it returns fetches (`CredentialPlan.makeProvider`).
/// The environment and home directory are injected so tests run against fixture files.
public struct AWSCredentialChain: Sendable {
  public var environment: [String: String]
  public var homeDirectory: String
  /// Replaces `http://169.254.170.2` for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (tests only).
  public var containerRelativeBase: String?

  public init(
    environment: [String: String] = ProcessInfo.processInfo.environment, homeDirectory: String? = nil,
    containerRelativeBase: String? = nil
  ) {
    self.environment = environment
    self.homeDirectory =
      homeDirectory ?? environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
    self.containerRelativeBase = containerRelativeBase
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

  /// Everything at once: how to get credentials, region and endpoints.
  ///
  /// - Parameters:
  ///   - profile: `--profile NAME`, if given.
  ///   - region: `--region R`, if given.
  public func resolve(profile explicitProfile: String? = nil, region explicitRegion: String? = nil)
    throws(AWSConfigurationError) -> AWSResolvedConfiguration
  {
    let files = try loadFiles()
    let profile = profileName(explicit: explicitProfile)
    let explicit = explicitProfile != nil && explicitProfile != ""
    // Credentials first, so a missing profile is reported as such rather than as a missing region.
    let earlyRegion = try? resolveRegion(profile: profile, explicit: explicitRegion, files: files).0
    let endpoints = try endpointResolver(profile: profile, files: files)
    let context = PlanContext(files: files, endpoints: endpoints, region: earlyRegion ?? "")
    let (plan, credentialSource) = try resolveCredentials(
      profile: profile, explicitProfile: explicit, context: context)
    let (region, regionSource) = try resolveRegion(profile: profile, explicit: explicitRegion, files: files)
    return AWSResolvedConfiguration(
      plan: plan, region: region, profile: profile, credentialSource: credentialSource,
      regionSource: regionSource, endpointURL: endpoints.configured(.kms)?.url, endpoints: endpoints,
      caBundle: nonEmpty("AWS_CA_BUNDLE")
        ?? files.profile(profile)?["ca_bundle"].flatMap { $0.isEmpty ? nil : $0 })
  }

  /// How to get credentials only.
  public func credentialPlan(profile explicitProfile: String? = nil, region explicitRegion: String? = nil)
    throws(AWSConfigurationError) -> CredentialPlan
  {
    let files = try loadFiles()
    let profile = profileName(explicit: explicitProfile)
    let region = try? resolveRegion(profile: profile, explicit: explicitRegion, files: files).0
    let context = PlanContext(
      files: files, endpoints: try endpointResolver(profile: profile, files: files), region: region ?? "")
    return try resolveCredentials(
      profile: profile, explicitProfile: explicitProfile != nil && explicitProfile != "", context: context
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

    /// The profile as botocore sees it: the config section with the credentials section over it.
    func profile(_ name: String) -> [String: String]? {
      let config = configSection(name)
      let credentials = credentialsSection(name)
      if config == nil && credentials == nil { return nil }
      return (config ?? [:]).merging(credentials ?? [:]) { _, new in new }
    }

    /// Where a setting of a profile was read, for messages.
    func origin(_ name: String, setting: String) -> String {
      if credentialsSection(name)?[setting] != nil {
        return "shared credentials file \(credentialsPath) [\(name)]"
      }
      return "config file \(configPath) \(configSectionName(name))"
    }
  }

  /// What every plan step needs besides the profile.
  struct PlanContext {
    var files: Files
    var endpoints: AWSEndpointResolver
    /// The session's region ("" when none): STS is called there.
    var region: String
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
      // FileHandle rather than Data(contentsOf:): it also reads character devices such as
      // /dev/null, a common AWS_CONFIG_FILE value meaning "no config".
      let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
      defer { try? handle.close() }
      data = try handle.readToEnd() ?? Data()
    } catch {
      throw .unreadableFile(path: path, reason: (error as NSError).localizedDescription)
    }
    return try INIFile.parse(String(decoding: data, as: UTF8.self), path: path)
  }

  func endpointResolver(profile: String, files: Files) throws(AWSConfigurationError) -> AWSEndpointResolver {
    let settings = files.profile(profile) ?? [:]
    var services: [String: String] = [:]
    if let name = settings["services"], !name.isEmpty {
      guard let section = files.config?.sections["services \(name)"] else {
        throw .invalidConfiguration(
          message: "The profile '\(profile)' is configured to use the services section but the \"\(name)\" "
            + "services configuration does not exist. Fix: add [services \(name)] to \(files.configPath), "
            + "or remove 'services = \(name)'.")
      }
      services = section
    }
    return AWSEndpointResolver(environment: environment, profileSettings: settings, servicesSection: services)
  }

  func resolveCredentials(profile: String, explicitProfile: Bool, context: PlanContext)
    throws(AWSConfigurationError) -> (CredentialPlan, String)
  {
    let files = context.files
    var searched: [String] = []

    let settings = files.profile(profile)
    if profile != "default" && settings == nil {
      // botocore raises ProfileNotFound before trying anything else, even with keys in the
      // environment.
      if files.credentials == nil {
        searched.append("shared credentials file \(files.credentialsPath): not found")
      } else {
        searched.append("shared credentials file \(files.credentialsPath): no section [\(profile)]")
      }
      if files.config == nil {
        searched.append("config file \(files.configPath): not found")
      } else {
        searched.append("config file \(files.configPath): no section \(files.configSectionName(profile))")
      }
      throw .profileNotFound(profile: profile, searched: searched)
    }

    // 1. Environment (skipped when a profile was named explicitly, as botocore does).
    if explicitProfile {
      searched.append("environment variables: skipped because a profile was named explicitly")
    } else if let credentials = try environmentCredentials() {
      return (.fixed(credentials, source: "environment"), "environment")
    } else {
      searched.append("environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: not set")
    }

    // 2. role_arn (without web_identity_token_file): AssumeRole.
    if let settings, settings["role_arn"] != nil, settings["web_identity_token_file"] == nil {
      var visited = [profile]
      let plan = try assumeRolePlan(profile: profile, context: context, visited: &visited)
      return (plan, plan.summary)
    }

    // 3-7. The profile's own providers.
    if let plan = try profilePlan(
      profile: profile, environmentAllowed: !explicitProfile, context: context, searched: &searched)
    {
      return (plan, plan.summary)
    }

    // 8. Container credentials.
    if let container = try ContainerSettings.from(
      environment: environment, relativeBase: containerRelativeBase)
    {
      let plan = CredentialPlan.container(container)
      return (plan, plan.summary)
    }
    searched.append("container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI not set")

    // 9. EC2 instance metadata.
    if let imds = instanceMetadataSettings(profile: settings ?? [:]) {
      searched.append("EC2 instance metadata at \(imds.endpoint.absoluteString)")
      return (.instanceMetadata(imds, searched: searched), "EC2 instance metadata")
    }
    searched.append("EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED")
    throw .noCredentials(profile: profile, searched: searched)
  }

  /// Environment keys, nil when neither is set.
  private func environmentCredentials() throws(AWSConfigurationError) -> AWSCredentials? {
    let keyId = nonEmpty("AWS_ACCESS_KEY_ID")
    let secret = nonEmpty("AWS_SECRET_ACCESS_KEY")
    switch (keyId, secret) {
    case (let keyId?, let secret?):
      let token = nonEmpty("AWS_SESSION_TOKEN") ?? nonEmpty("AWS_SECURITY_TOKEN")
      return AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token)
    case (.some, nil):
      throw .partialCredentials(source: "the environment", missing: "AWS_SECRET_ACCESS_KEY")
    case (nil, .some):
      throw .partialCredentials(source: "the environment", missing: "AWS_ACCESS_KEY_ID")
    case (nil, nil):
      return nil
    }
  }

  /// Web identity, SSO, credentials-file keys, credential_process, config-file keys: the
  /// providers botocore's `ProfileProviderBuilder` lists, in its order. nil when none applies.
  private func profilePlan(
    profile: String, environmentAllowed: Bool, context: PlanContext, searched: inout [String]
  ) throws(AWSConfigurationError) -> CredentialPlan? {
    let files = context.files
    let settings = files.profile(profile) ?? [:]

    // Web identity.
    let tokenFile =
      (environmentAllowed ? nonEmpty("AWS_WEB_IDENTITY_TOKEN_FILE") : nil)
      ?? settings["web_identity_token_file"]
    if let tokenFile, !tokenFile.isEmpty {
      let roleArn = (environmentAllowed ? nonEmpty("AWS_ROLE_ARN") : nil) ?? settings["role_arn"]
      guard let roleArn, !roleArn.isEmpty else {
        throw .invalidConfiguration(
          message: "A web identity token file is configured (\(tokenFile)) but no role: set AWS_ROLE_ARN or "
            + "role_arn in profile '\(profile)'.")
      }
      let sessionName =
        (environmentAllowed ? nonEmpty("AWS_ROLE_SESSION_NAME") : nil) ?? settings["role_session_name"]
      return .webIdentity(
        WebIdentitySettings(
          profile: profile, roleArn: roleArn, tokenFile: expand(tokenFile),
          roleSessionName: sessionName.flatMap { $0.isEmpty ? nil : $0 },
          durationSeconds: settings["duration_seconds"].flatMap { Int($0) },
          stsEndpoint: context.endpoints.url(.sts, region: context.region),
          stsRegion: AWSEndpointResolver.stsSigningRegion(context.region)))
    }

    // IAM Identity Center.
    if let plan = try ssoPlan(profile: profile, settings: settings, context: context) {
      return plan
    }

    // Keys in the shared credentials file.
    let credentialsSource = "shared credentials file \(files.credentialsPath) [\(profile)]"
    if files.credentials == nil {
      searched.append("shared credentials file \(files.credentialsPath): not found")
    } else if let section = files.credentialsSection(profile) {
      if let credentials = try credentials(in: section, source: credentialsSource) {
        return .fixed(credentials, source: credentialsSource)
      }
      searched.append("\(credentialsSource): no aws_access_key_id / aws_secret_access_key")
    } else {
      searched.append("shared credentials file \(files.credentialsPath): no section [\(profile)]")
    }

    // credential_process.
    if let command = settings["credential_process"], !command.isEmpty {
      return .process(command: command, profile: profile)
    }

    // Keys in the config file.
    let configName = files.configSectionName(profile)
    if files.config == nil {
      searched.append("config file \(files.configPath): not found")
    } else if let section = files.configSection(profile) {
      let source = "config file \(files.configPath) \(configName)"
      if let credentials = try credentials(in: section, source: source) {
        return .fixed(credentials, source: source)
      }
      searched.append("\(source): no aws_access_key_id / aws_secret_access_key")
    } else {
      searched.append("config file \(files.configPath): no section \(configName)")
    }
    return nil
  }

  private func ssoPlan(profile: String, settings: [String: String], context: PlanContext)
    throws(AWSConfigurationError) -> CredentialPlan?
  {
    let sessionName = settings["sso_session"].flatMap { $0.isEmpty ? nil : $0 }
    guard sessionName != nil || settings["sso_start_url"] != nil else { return nil }
    var startURL = settings["sso_start_url"]
    var ssoRegion = settings["sso_region"]
    if let sessionName {
      guard let section = context.files.config?.sections["sso-session \(sessionName)"] else {
        throw .invalidConfiguration(
          message: "The profile '\(profile)' is configured to use the SSO token provider but the "
            + "\"\(sessionName)\" sso_session configuration does not exist. Fix: add [sso-session \(sessionName)] "
            + "with sso_start_url and sso_region to \(context.files.configPath) (`aws configure sso-session`)."
        )
      }
      for key in ["sso_start_url", "sso_region"] {
        if let mine = settings[key], let theirs = section[key], mine != theirs {
          throw .invalidConfiguration(
            message:
              "The profile '\(profile)' has \(key) = \(mine), but its sso-session '\(sessionName)' has "
              + "\(theirs). Fix: remove \(key) from the profile or make them equal.")
        }
      }
      startURL = section["sso_start_url"]
      ssoRegion = section["sso_region"]
    }
    var missing: [String] = []
    if startURL?.isEmpty ?? true { missing.append("sso_start_url") }
    if ssoRegion?.isEmpty ?? true { missing.append("sso_region") }
    if settings["sso_account_id"]?.isEmpty ?? true { missing.append("sso_account_id") }
    if settings["sso_role_name"]?.isEmpty ?? true { missing.append("sso_role_name") }
    guard missing.isEmpty, let startURL, let ssoRegion else {
      throw .invalidConfiguration(
        message: "The SSO profile '\(profile)' is missing \(missing.joined(separator: ", ")). Fix: run "
          + "`aws configure sso --profile \(profile)`.")
    }
    return .sso(
      SSOSettings(
        profile: profile, sessionName: sessionName, startURL: startURL, ssoRegion: ssoRegion,
        accountId: settings["sso_account_id"]!, roleName: settings["sso_role_name"]!,
        portalEndpoint: context.endpoints.url(.sso, region: ssoRegion),
        oidcEndpoint: context.endpoints.url(.ssoOIDC, region: ssoRegion)))
  }

  /// `role_arn` with `source_profile` or `credential_source`, as botocore's `AssumeRoleProvider`.
  private func assumeRolePlan(profile: String, context: PlanContext, visited: inout [String])
    throws(AWSConfigurationError) -> CredentialPlan
  {
    let files = context.files
    let settings = files.profile(profile) ?? [:]
    let roleArn = settings["role_arn"] ?? ""
    let sourceProfile = settings["source_profile"].flatMap { $0.isEmpty ? nil : $0 }
    let credentialSource = settings["credential_source"].flatMap { $0.isEmpty ? nil : $0 }
    var durationSeconds: Int?
    if let text = settings["duration_seconds"] {
      guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
        throw .invalidConfiguration(
          message: "duration_seconds in profile '\(profile)' is not a whole number of seconds (\(text)).")
      }
      durationSeconds = value
    }
    let role = AssumeRoleSettings(
      profile: profile, roleArn: roleArn,
      roleSessionName: settings["role_session_name"].flatMap { $0.isEmpty ? nil : $0 },
      externalId: settings["external_id"].flatMap { $0.isEmpty ? nil : $0 }, durationSeconds: durationSeconds,
      mfaSerial: settings["mfa_serial"].flatMap { $0.isEmpty ? nil : $0 },
      stsEndpoint: context.endpoints.url(.sts, region: context.region),
      stsRegion: AWSEndpointResolver.stsSigningRegion(context.region))

    switch (sourceProfile, credentialSource) {
    case (.some, .some):
      throw .invalidConfiguration(
        message: "The profile '\(profile)' contains both source_profile and credential_source. Fix: keep one."
      )
    case (nil, nil):
      throw .invalidConfiguration(
        message: "The profile '\(profile)' has role_arn but neither source_profile nor credential_source, so "
          + "there are no credentials to assume the role with. Fix: add source_profile = NAME (a profile with "
          + "credentials) or credential_source = Environment | Ec2InstanceMetadata | EcsContainer.")
    case (nil, let credentialSource?):
      return .assumeRole(
        role, source: try namedSourcePlan(credentialSource, profile: profile, context: context))
    case (let source?, nil):
      guard let sourceSettings = files.profile(source) else {
        throw .invalidConfiguration(
          message: "The source_profile \"\(source)\" referenced in the profile \"\(profile)\" does not exist."
        )
      }
      let hasStatic =
        sourceSettings["aws_access_key_id"] != nil || sourceSettings["aws_secret_access_key"] != nil
      if visited.contains(source) && (source != profile || !hasStatic) {
        throw .invalidConfiguration(
          message: "Infinite loop in the profile configuration: the source_profile \"\(source)\" was already "
            + "visited (\(visited.joined(separator: " → ")) → \(source)). Fix: end the chain at a profile with "
            + "credentials.")
      }
      visited.append(source)
      let sourcePlan: CredentialPlan
      if hasStatic || sourceSettings["role_arn"] == nil {
        var ignored: [String] = []
        guard
          let plan = try profilePlan(
            profile: source, environmentAllowed: false, context: context, searched: &ignored)
        else {
          throw .invalidConfiguration(message: "The source profile \"\(source)\" must have credentials.")
        }
        sourcePlan = plan
      } else {
        sourcePlan = try assumeRolePlan(profile: source, context: context, visited: &visited)
      }
      return .assumeRole(role, source: sourcePlan)
    }
  }

  /// `credential_source` (botocore's `CanonicalNameCredentialSourcer`).
  private func namedSourcePlan(_ name: String, profile: String, context: PlanContext)
    throws(AWSConfigurationError) -> CredentialPlan
  {
    switch name {
    case "Environment":
      guard let credentials = try environmentCredentials() else {
        throw .invalidConfiguration(
          message: "No credentials found in credential_source referenced in profile \(profile): "
            + "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set.")
      }
      return .fixed(credentials, source: "environment")
    case "Ec2InstanceMetadata":
      guard let imds = instanceMetadataSettings(profile: context.files.profile(profile) ?? [:]) else {
        throw .invalidConfiguration(
          message:
            "credential_source Ec2InstanceMetadata in profile \(profile), but AWS_EC2_METADATA_DISABLED is true."
        )
      }
      return .instanceMetadata(imds, searched: [])
    case "EcsContainer":
      guard
        let container = try ContainerSettings.from(
          environment: environment, relativeBase: containerRelativeBase)
      else {
        throw .invalidConfiguration(
          message: "No credentials found in credential_source referenced in profile \(profile): "
            + "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI are not set.")
      }
      return .container(container)
    default:
      throw .invalidConfiguration(
        message: "The credential source \"\(name)\" referenced in profile \"\(profile)\" is not valid. "
          + "Valid: Environment, Ec2InstanceMetadata, EcsContainer.")
    }
  }

  /// IMDS settings, nil when `AWS_EC2_METADATA_DISABLED=true`.
  func instanceMetadataSettings(profile settings: [String: String]) -> InstanceMetadataSettings? {
    if nonEmpty("AWS_EC2_METADATA_DISABLED")?.lowercased() == "true" { return nil }
    let mode =
      (nonEmpty("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") ?? settings["ec2_metadata_service_endpoint_mode"])?
      .lowercased()
    let endpoint =
      nonEmpty("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? settings["ec2_metadata_service_endpoint"]
      ?? (mode == "ipv6" ? "http://[fd00:ec2::254]" : "http://169.254.169.254")
    let v1 = (nonEmpty("AWS_EC2_METADATA_V1_DISABLED") ?? settings["ec2_metadata_v1_disabled"])?.lowercased()
    let timeout =
      (nonEmpty("AWS_METADATA_SERVICE_TIMEOUT") ?? settings["metadata_service_timeout"])
      .flatMap { Double($0) } ?? 1
    let attempts =
      (nonEmpty("AWS_METADATA_SERVICE_NUM_ATTEMPTS") ?? settings["metadata_service_num_attempts"])
      .flatMap { Int($0) } ?? 1
    return InstanceMetadataSettings(
      endpoint: URL(string: endpoint) ?? URL(string: "http://169.254.169.254")!,
      allowV1Fallback: v1 == "false",
      timeout: .milliseconds(Int(max(0.1, timeout) * 1000)), attempts: max(1, attempts))
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

  // MARK: Helpers

  private func nonEmpty(_ name: String) -> String? {
    guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
      return nil
    }
    return value
  }

  func expand(_ path: String) -> String {
    if path == "~" { return homeDirectory }
    if path.hasPrefix("~/") { return homeDirectory + path.dropFirst(1) }
    return path
  }
}
