import Foundation

/// Who is calling, for key policy and grant evaluation (issue 14). The HTTP front door sets it
/// from the SigV4 access key (mapped to a principal by `kmsdash serve --principals`) around each
/// request; without a mapping, and in-process, the caller is the account root.
public enum CallerIdentity {
  /// The caller's principal ARN, e.g. `arn:aws:iam::111122223333:user/alice`; nil is the account root.
  @TaskLocal public static var principal: String?
}
