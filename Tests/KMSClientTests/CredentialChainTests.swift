import AWSSigV4
import Foundation
import Testing

@testable import KMSClient

/// Fixture files: `Fixtures/aws/credentials` and `Fixtures/aws/config` (fake keys).
enum Fixture {
  static func path(_ name: String) throws -> String {
    let url = try #require(
      Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/aws"),
      "fixture \(name) missing")
    return url.path
  }

  /// An environment pointing at the fixture files (and a home without ~/.aws).
  static func environment(_ extra: [String: String] = [:]) throws -> [String: String] {
    var environment = [
      "AWS_SHARED_CREDENTIALS_FILE": try path("credentials"), "AWS_CONFIG_FILE": try path("config"),
      // Never reach for 169.254.169.254 from a test.
      "AWS_EC2_METADATA_DISABLED": "true",
    ]
    environment.merge(extra) { _, new in new }
    return environment
  }

  static let emptyHome = "/nonexistent-kmsdash-home"
}

@Suite struct CredentialChainTests {
  func chain(_ extra: [String: String] = [:]) throws -> AWSCredentialChain {
    AWSCredentialChain(environment: try Fixture.environment(extra), homeDirectory: Fixture.emptyHome)
  }

  @Test func defaultProfileFromFiles() throws {
    let resolved = try chain().resolve()
    #expect(resolved.profile == "default")
    #expect(resolved.credentials?.accessKeyId == "AKIDDEFAULTFILE")
    #expect(resolved.credentials?.secretAccessKey == "secretDefaultFile/K7MDENG+bPxRfiCYEXAMPLEKEY")
    #expect(resolved.credentials?.sessionToken == nil)
    #expect(resolved.region == "eu-west-1")
    #expect(resolved.credentialSource.hasPrefix("shared credentials file"))
    #expect(resolved.credentialSource.hasSuffix("[default]"))
    #expect(resolved.regionSource.hasSuffix("[default]"))
  }

  @Test func namedProfileWithSessionTokenAndWhitespace() throws {
    let resolved = try chain().resolve(profile: "prod")
    #expect(resolved.credentials?.accessKeyId == "AKIDPRODFILE")
    #expect(resolved.credentials?.secretAccessKey == "secretProdFile")
    #expect(resolved.credentials?.sessionToken == "tokenProdFile//+==")
    // Region from [profile prod] in the config file, inline comment removed.
    #expect(resolved.region == "eu-central-1")
    #expect(resolved.regionSource.hasSuffix("[profile prod]"))
  }

  @Test func awsProfileVariableSelectsTheProfile() throws {
    let resolved = try chain(["AWS_PROFILE": "prod"]).resolve()
    #expect(resolved.profile == "prod")
    #expect(resolved.credentials?.accessKeyId == "AKIDPRODFILE")
  }

  @Test func explicitProfileBeatsAwsProfile() throws {
    let resolved = try chain(["AWS_PROFILE": "prod"]).resolve(profile: "staging")
    #expect(resolved.profile == "staging")
    #expect(resolved.credentials?.accessKeyId == "AKIDSTAGINGCONFIG")
  }

  @Test func credentialsInTheConfigFileProfileSection() throws {
    let resolved = try chain().resolve(profile: "staging")
    #expect(resolved.credentials?.accessKeyId == "AKIDSTAGINGCONFIG")
    #expect(resolved.credentialSource.hasSuffix("[profile staging]"))
    #expect(resolved.region == "us-west-2")
  }

  @Test func bareSectionInConfigIsNotAProfile() throws {
    #expect {
      try chain().resolve(profile: "bare")
    } throws: { error in
      guard case .profileNotFound(let profile, _) = error as? AWSConfigurationError else { return false }
      return profile == "bare"
    }
  }

  @Test func environmentCredentialsWinWithSessionToken() throws {
    let resolved = try chain([
      "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "secretEnv", "AWS_SESSION_TOKEN": "tokenEnv",
    ]).resolve()
    #expect(
      resolved.credentials
        == AWSCredentials(accessKeyId: "AKIDENV", secretAccessKey: "secretEnv", sessionToken: "tokenEnv"))
    #expect(resolved.credentialSource == "environment")
  }

  @Test func environmentCredentialsWinOverAwsProfileButNotOverAnExplicitProfile() throws {
    let environment = [
      "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "secretEnv", "AWS_PROFILE": "prod",
    ]
    // AWS_PROFILE alone: the environment's keys are used (botocore keeps the EnvProvider).
    #expect(try chain(environment).resolve().credentials?.accessKeyId == "AKIDENV")
    // --profile: the environment's keys are skipped.
    #expect(try chain(environment).resolve(profile: "prod").credentials?.accessKeyId == "AKIDPRODFILE")
  }

  @Test func partialEnvironmentCredentialsAreAnError() throws {
    #expect(
      throws: AWSConfigurationError.partialCredentials(
        source: "the environment", missing: "AWS_SECRET_ACCESS_KEY")
    ) {
      try chain(["AWS_ACCESS_KEY_ID": "AKIDENV"]).resolve()
    }
  }

  @Test func partialFileCredentialsAreAnError() throws {
    #expect {
      try chain().resolve(profile: "partial", region: "us-east-1")
    } throws: { error in
      guard case .partialCredentials(let source, let missing) = error as? AWSConfigurationError else {
        return false
      }
      return source.hasSuffix("[partial]") && missing == "aws_secret_access_key"
    }
  }

  @Test func regionPrecedence() throws {
    let all = ["AWS_REGION": "ap-northeast-1", "AWS_DEFAULT_REGION": "sa-east-1"]
    #expect(try chain(all).resolve(region: "ca-central-1").region == "ca-central-1")
    #expect(try chain(all).resolve(region: "ca-central-1").regionSource == "--region")
    #expect(try chain(all).resolve().region == "ap-northeast-1")
    #expect(try chain(all).resolve().regionSource == "AWS_REGION")
    #expect(try chain(["AWS_DEFAULT_REGION": "sa-east-1"]).resolve().region == "sa-east-1")
    #expect(try chain().resolve().region == "eu-west-1")
    #expect(try chain().resolve(profile: "prod").region == "eu-central-1")
  }

  @Test func missingRegionIsAClearError() throws {
    let error = #expect(throws: AWSConfigurationError.self) {
      try chain().resolve(profile: "noregion")
    }
    let text = try #require(error).description
    #expect(text.contains("No AWS region configured for profile 'noregion'"))
    #expect(text.contains("--region"))
    #expect(text.contains("AWS_REGION"))
    #expect(try chain().region(profile: "noregion") == nil)
  }

  @Test func missingCredentialsNameEverythingSearchedAndTheFix() throws {
    let home = try TemporaryDirectory()
    let chain = AWSCredentialChain(
      environment: ["AWS_EC2_METADATA_DISABLED": "true"], homeDirectory: home.path)
    let error = #expect(throws: AWSConfigurationError.self) { try chain.resolve(region: "us-east-1") }
    let text = try #require(error).description
    #expect(text.contains("No AWS credentials found for profile 'default'"))
    #expect(text.contains("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: not set"))
    #expect(text.contains("\(home.path)/.aws/credentials: not found"))
    #expect(text.contains("\(home.path)/.aws/config: not found"))
    #expect(text.contains("aws configure"))
  }

  @Test func unknownProfileIsNamed() throws {
    let error = #expect(throws: AWSConfigurationError.self) { try chain().resolve(profile: "nope") }
    let text = try #require(error).description
    #expect(text.contains("The AWS profile 'nope' could not be found"))
    #expect(text.contains("no section [nope]"))
    #expect(text.contains("no section [profile nope]"))
  }

  @Test func ssoProfileWithoutItsSessionSectionSaysWhatIsMissing() throws {
    let error = #expect(throws: AWSConfigurationError.self) { try chain().resolve(profile: "sso") }
    let text = try #require(error).description
    #expect(text.contains("\"my-sso\" sso_session configuration does not exist"))
    #expect(text.contains("[sso-session my-sso]"))
  }

  @Test func defaultFilesUnderTheHomeDirectory() throws {
    let home = try TemporaryDirectory()
    try home.write(
      ".aws/credentials", "[work]\naws_access_key_id=AKIDHOME\naws_secret_access_key=secretHome\n")
    try home.write(".aws/config", "[profile work]\nregion=us-east-2\n")
    let chain = AWSCredentialChain(
      environment: ["AWS_PROFILE": "work", "AWS_EC2_METADATA_DISABLED": "true"], homeDirectory: home.path)
    let resolved = try chain.resolve()
    #expect(resolved.credentials?.accessKeyId == "AKIDHOME")
    #expect(resolved.region == "us-east-2")
    #expect(chain.credentialsFilePath == home.path + "/.aws/credentials")
  }

  @Test func tildeInFileVariablesExpandsToHome() throws {
    let home = try TemporaryDirectory()
    try home.write("creds", "[default]\naws_access_key_id=AKIDTILDE\naws_secret_access_key=s\n")
    let chain = AWSCredentialChain(
      environment: [
        "AWS_SHARED_CREDENTIALS_FILE": "~/creds", "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
      ],
      homeDirectory: home.path)
    #expect(try chain.resolve().credentials?.accessKeyId == "AKIDTILDE")
  }

  @Test func endpointOverrides() throws {
    #expect(try chain().resolve(profile: "local").endpointURL?.absoluteString == "http://127.0.0.1:4599")
    #expect(
      try chain(["AWS_ENDPOINT_URL_KMS": "http://localhost:1"]).resolve(profile: "local").endpointURL?
        .absoluteString
        == "http://localhost:1")
    #expect(try chain().resolve().endpointURL == nil)
  }

  @Test func malformedFileNamesFileAndLineButNotTheContent() throws {
    let chain = AWSCredentialChain(
      environment: [
        "AWS_CONFIG_FILE": try Fixture.path("malformed-config"), "AWS_SHARED_CREDENTIALS_FILE": "/none",
        "AWS_EC2_METADATA_DISABLED": "true",
      ],
      homeDirectory: Fixture.emptyHome)
    let error = #expect(throws: AWSConfigurationError.self) { try chain.resolve() }
    let text = try #require(error).description
    #expect(text.contains("malformed-config, line 3"))
    #expect(!text.contains("wJalrXUtnFEMI"))
  }

  @Test func errorMessagesNeverContainSecrets() throws {
    let cases: [() throws -> Void] = [
      { _ = try chain(["AWS_ACCESS_KEY_ID": "AKIDENV"]).resolve() },
      { _ = try chain().resolve(profile: "partial") },
      { _ = try chain().resolve(profile: "noregion") },
    ]
    for run in cases {
      do {
        try run()
        Issue.record("expected an error")
      } catch {
        let text = "\(error)"
        for secret in ["secretDefaultFile", "secretProdFile", "tokenProdFile", "secretNoRegion"] {
          #expect(!text.contains(secret))
        }
      }
    }
  }
}

@Suite struct INIFileTests {
  @Test func parsesCommentsWhitespaceAndNestedBlocks() throws {
    let text = """
      \u{FEFF}# comment
      ; another

      [ spaced ]\r
        key = value ; trailing
      other: colon-value
      url = http://host/#fragment
      s3 =
        max = 20
      after = 1
      """
    let file = try INIFile.parse(text, path: "test")
    #expect(file.sectionOrder == ["spaced"])
    #expect(
      file.sections["spaced"] == [
        "key": "value", "other": "colon-value", "url": "http://host/#fragment", "s3": "", "s3.max": "20",
        "after": "1",
      ])
  }

  @Test(arguments: [
    ("key = value\n", 1, "before any section"),
    ("[ok]\n[broken\n", 2, "missing its ']'"),
    ("[ok]\njust words\n", 2, "no '=' found"),
    ("[ok]\n = value\n", 2, "no name"),
    ("[]\n", 1, "empty name"),
    ("[ok] trailing\n", 1, "after a section header"),
  ])
  func malformedLines(text: String, line: Int, problem: String) throws {
    #expect {
      try INIFile.parse(text, path: "/x/config")
    } throws: { error in
      guard case .malformedFile(let path, let errorLine, let message) = error as? AWSConfigurationError else {
        return false
      }
      return path == "/x/config" && errorLine == line && message.contains(problem)
    }
  }
}

/// A temporary directory removed when the value is released.
final class TemporaryDirectory: Sendable {
  let path: String

  init() throws {
    path =
      FileManager.default.temporaryDirectory.appendingPathComponent("kmsclient-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  func write(_ relative: String, _ text: String) throws {
    let url = URL(fileURLWithPath: path).appendingPathComponent(relative)
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}
