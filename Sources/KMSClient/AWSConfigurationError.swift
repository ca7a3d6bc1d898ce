import Foundation

/// Why credentials, a region or a profile could not be resolved. Every message says what was
/// searched and how to fix it, and never contains a secret.
public enum AWSConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
  /// No credentials anywhere in the chain. `searched` lists each place and what was found there.
  case noCredentials(profile: String, searched: [String])
  /// An access key without its secret (or the reverse) in one source.
  case partialCredentials(source: String, missing: String)
  /// `--profile NAME` / `AWS_PROFILE` names a profile that neither file defines.
  case profileNotFound(profile: String, searched: [String])
  /// The configuration contradicts itself or lacks a setting (a `source_profile` that does not
  /// exist, a loop of profiles, an unknown `credential_source`, a missing `[sso-session]`, …).
  /// The message names the profile and the fix.
  case invalidConfiguration(message: String)
  /// No region from the flag, the environment or the profile.
  case noRegion(profile: String, searched: [String])
  /// A shared file has a line that is not INI.
  case malformedFile(path: String, line: Int, problem: String)
  /// A shared file exists but cannot be read.
  case unreadableFile(path: String, reason: String)

  public var description: String {
    switch self {
    case .noCredentials(let profile, let searched):
      return "No AWS credentials found for profile '\(profile)'. Searched:\n"
        + searched.map { "  - \($0)" }.joined(separator: "\n")
        + "\nFix: run `aws configure` (or `aws configure --profile \(profile)`), "
        + "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary "
        + "credentials), or pass --profile NAME for a profile that has them."
    case .partialCredentials(let source, let missing):
      return "Partial AWS credentials in \(source): \(missing) is missing. "
        + "Set both the access key ID and the secret access key, or neither."
    case .profileNotFound(let profile, let searched):
      return "The AWS profile '\(profile)' could not be found. Searched:\n"
        + searched.map { "  - \($0)" }.joined(separator: "\n")
        + "\nFix: create it with `aws configure --profile \(profile)`, or choose another with --profile "
        + "or AWS_PROFILE."
    case .invalidConfiguration(let message):
      return message
    case .noRegion(let profile, let searched):
      return "No AWS region configured for profile '\(profile)'. Searched:\n"
        + searched.map { "  - \($0)" }.joined(separator: "\n")
        + "\nFix: pass --region (e.g. --region us-east-1), export AWS_REGION, or run "
        + "`aws configure set region us-east-1 --profile \(profile)`."
    case .malformedFile(let path, let line, let problem):
      return "\(path), line \(line): \(problem). Fix the line (the file is INI: [section] headers and "
        + "'name = value' settings; '#' or ';' start a comment)."
    case .unreadableFile(let path, let reason):
      return "Cannot read \(path): \(reason)."
    }
  }
}
