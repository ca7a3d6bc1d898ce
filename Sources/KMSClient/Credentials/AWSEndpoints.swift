import Foundation

/// The AWS services kmsdash calls, with the names the CLI uses to configure their endpoints.
public enum AWSServiceID: String, Sendable, CaseIterable {
  case kms, sts, sso, ssoOIDC, cloudHSMV2, ec2

  /// `AWS_ENDPOINT_URL_<SUFFIX>`.
  public var environmentSuffix: String {
    switch self {
    case .kms: "KMS"
    case .sts: "STS"
    case .sso: "SSO"
    case .ssoOIDC: "SSO_OIDC"
    case .cloudHSMV2: "CLOUDHSM_V2"
    case .ec2: "EC2"
    }
  }

  /// The key in a `[services NAME]` section.
  public var configKey: String { environmentSuffix.lowercased() }

  /// The endpoint prefix in `https://<prefix>.<region>.amazonaws.com`.
  var hostPrefix: String {
    switch self {
    case .kms: "kms"
    case .sts: "sts"
    case .sso: "portal.sso"
    case .ssoOIDC: "oidc"
    case .cloudHSMV2: "cloudhsmv2"
    case .ec2: "ec2"
    }
  }

  /// Whether FIPS and dual-stack variants exist for it (SSO portal and OIDC have none here).
  var hasVariants: Bool { self == .kms || self == .sts || self == .cloudHSMV2 || self == .ec2 }
}

/// Endpoint URLs as the AWS CLI v2 resolves them (botocore `EndpointConfigProvider`):
/// 1. an explicit URL (`--endpoint`, for KMS only);
/// 2. `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL_STS`,
///    `AWS_ENDPOINT_URL_CLOUDHSM_V2`);
/// 3. `AWS_ENDPOINT_URL`;
/// 4. the service's `endpoint_url` in the `[services NAME]` section the profile names with
///    `services = NAME`;
/// 5. the profile's own `endpoint_url`;
/// 6. AWS's host for the region: `<service>.<region>.amazonaws.com`, `<service>-fips.…` with
///    `use_fips_endpoint` / `AWS_USE_FIPS_ENDPOINT`, `….api.aws` with `use_dualstack_endpoint` /
///    `AWS_USE_DUALSTACK_ENDPOINT` (China: `amazonaws.com.cn`, `api.amazonwebservices.com.cn`).
///
/// Steps 2–5 are skipped with `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` or
/// `ignore_configured_endpoint_urls = true`.
public struct AWSEndpointResolver: Sendable, Equatable {
  public var environment: [String: String]
  /// The profile's settings (config file, with the credentials file merged in).
  public var profileSettings: [String: String]
  /// The `[services NAME]` section the profile names, if any.
  public var servicesSection: [String: String]
  public var useFIPS: Bool
  public var useDualStack: Bool
  public var ignoreConfigured: Bool

  public init(
    environment: [String: String] = [:], profileSettings: [String: String] = [:],
    servicesSection: [String: String] = [:]
  ) {
    self.environment = environment
    self.profileSettings = profileSettings
    self.servicesSection = servicesSection
    func flag(_ variable: String, _ setting: String) -> Bool {
      let text = environment[variable] ?? profileSettings[setting] ?? "false"
      return text.trimmingCharacters(in: .whitespaces).lowercased() == "true"
    }
    useFIPS = flag("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint")
    useDualStack = flag("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint")
    ignoreConfigured = flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "ignore_configured_endpoint_urls")
  }

  /// The configured endpoint for a service and where it came from, nil when none is.
  public func configured(_ service: AWSServiceID) -> (url: URL, source: String)? {
    guard !ignoreConfigured else { return nil }
    func nonEmpty(_ text: String?) -> String? {
      guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
      return text
    }
    let candidates: [(String?, String)] = [
      (
        environment["AWS_ENDPOINT_URL_\(service.environmentSuffix)"],
        "AWS_ENDPOINT_URL_\(service.environmentSuffix)"
      ),
      (environment["AWS_ENDPOINT_URL"], "AWS_ENDPOINT_URL"),
      (
        servicesSection["\(service.configKey).endpoint_url"],
        "services section, \(service.configKey).endpoint_url"
      ),
      (profileSettings["endpoint_url"], "profile endpoint_url"),
    ]
    for (value, source) in candidates {
      if let text = nonEmpty(value), let url = URL(string: text), url.scheme != nil {
        return (url, source)
      }
    }
    return nil
  }

  /// The endpoint to call.
  public func url(_ service: AWSServiceID, region: String) -> URL {
    if let configured = configured(service) { return configured.url }
    return URL(string: "https://\(defaultHost(service, region: region))")!
  }

  /// AWS's own host for the service in the region.
  public func defaultHost(_ service: AWSServiceID, region: String) -> String {
    if service == .sts && (region.isEmpty || region == "aws-global") {
      return "sts.amazonaws.com"
    }
    let china = region.hasPrefix("cn-")
    let fips = useFIPS && service.hasVariants
    let dualStack = useDualStack && service.hasVariants
    let suffix =
      dualStack
      ? (china ? "api.amazonwebservices.com.cn" : "api.aws") : (china ? "amazonaws.com.cn" : "amazonaws.com")
    let prefix = fips ? "\(service.hostPrefix)-fips" : service.hostPrefix
    return "\(prefix).\(region).\(suffix)"
  }

  /// The signing region for STS (`us-east-1` for the global endpoint).
  public static func stsSigningRegion(_ region: String) -> String {
    region.isEmpty || region == "aws-global" ? "us-east-1" : region
  }
}
