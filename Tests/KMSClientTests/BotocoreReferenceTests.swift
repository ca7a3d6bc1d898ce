import AWSSigV4
import Crypto
import Foundation
import TestSupport
import Testing

@testable import KMSClient

/// botocore as the reference: for each profile fixture, the credentials kmsdash resolves equal
/// what `botocore.session` resolves from the same files and environment (STS and the SSO portal
/// are loopback fakes both clients are pointed at). And moto_server as a real STS peer.
///
/// Needs Python 3 with botocore (and moto for the STS peer): without them the tests say how to
/// install them and pass, except under `CI`, where they fail.
@Suite(.serialized) struct BotocoreReferenceTests {
  static let installHint = "python3 -m pip install boto3 'moto[server]'"

  /// Whether `python3 -c CODE` succeeds.
  static func python(_ code: String) -> Bool {
    (try? run(["python3", "-c", code], environment: ProcessInfo.processInfo.environment).status) == 0
  }

  static func run(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, out: String)
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  /// True when the tools are there; otherwise records why (an issue under CI, a note elsewhere).
  /// Whether a test that needs `module` runs: always under CI (where a missing module then fails
  /// the test with the install command), otherwise only when the module is there (else skipped).
  static func runs(needing module: String) -> Bool {
    ProcessInfo.processInfo.environment["CI"] != nil || python("import \(module)")
  }

  /// Inside a test: fails, naming the install command, when `module` is missing.
  static func requireModule(_ module: String) throws {
    try #require(
      python("import \(module)"), "Python module '\(module)' is missing: install it with `\(installHint)`.")
  }

  static let botocoreScript = """
    import json, sys, botocore.session
    profile = sys.argv[1] or None
    try:
        session = botocore.session.Session(profile=profile)
        creds = session.get_credentials()
        if creds is None:
            print(json.dumps({"error": "none"}))
        else:
            f = creds.get_frozen_credentials()
            print(json.dumps({"AccessKeyId": f.access_key, "SecretAccessKey": f.secret_key, "SessionToken": f.token}))
    except Exception as e:
        print(json.dumps({"error": type(e).__name__}))
    """

  /// What botocore resolves for a profile ("" = none named).
  static func botocore(_ profile: String, environment: [String: String]) throws -> [String: String] {
    let result = try run(["python3", "-c", botocoreScript, profile], environment: environment)
    let object = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any] ?? [:]
    return object.compactMapValues { $0 as? String }
  }

  static func kmsdash(_ profile: String, chain: AWSCredentialChain, home: String) async -> [String: String] {
    do {
      let plan = try chain.credentialPlan(profile: profile.isEmpty ? nil : profile)
      let context = CredentialFetchContext(
        http: AsyncHTTPSender(), homeDirectory: home, environment: chain.environment)
      let credentials = try await plan.makeProvider(context).credentials()
      var out = ["AccessKeyId": credentials.accessKeyId, "SecretAccessKey": credentials.secretAccessKey]
      out["SessionToken"] = credentials.sessionToken
      return out
    } catch {
      return ["error": "\(type(of: error))"]
    }
  }

  @Test(
    .enabled(
      if: runs(needing: "botocore"), "Python module 'botocore' is missing: install it with `\(installHint)`.")
  )
  func everyProfileFixtureResolvesToWhatBotocoreResolves() async throws {
    try Self.requireModule("botocore")
    let dir = try ScratchDirectory()
    // A fake STS that answers deterministically per role, verifying signatures with every key it
    // issued, and a fake SSO portal.
    let known = Locked<[AWSCredentials]>([
      AWSCredentials(accessKeyId: "AKIDBASE", secretAccessKey: "baseSecret/XYZ")
    ])
    let sts = try await LoopbackServer.start { request in
      let form = request.form
      let verifier = SigV4Verifier(credentials: known.withLock { $0 }, clockSkew: 600)
      do {
        _ = try verifier.verify(
          method: request.method, path: request.path, query: request.query, headers: request.headers,
          body: request.body, services: ["sts"], now: Date())
      } catch {
        return FakeAnswer(403, STSXML.error("SignatureDoesNotMatch", "\(error)"))
      }
      let role = (form["RoleArn"] ?? "").split(separator: "/").last.map(String.init) ?? "none"
      let keys = AWSCredentials(
        accessKeyId: "ASIA\(role.uppercased())", secretAccessKey: "secret-\(role)",
        sessionToken: "token-\(role)")
      known.withLock { $0.append(keys) }
      return FakeAnswer(
        200,
        STSXML.credentials(
          form["Action"] ?? "AssumeRole", keyId: keys.accessKeyId, secret: keys.secretAccessKey,
          token: keys.sessionToken!, expiration: AWSWire.formatDate(Date().addingTimeInterval(3600))))
    }
    defer { sts.stop() }
    let portal = try await LoopbackServer.start { request in
      guard request.header("x-amz-sso_bearer_token") == "sso-access" else { return FakeAnswer(401, "{}") }
      let expiration = Int64(Date().addingTimeInterval(3600).timeIntervalSince1970 * 1000)
      return FakeAnswer(
        200,
        #"{"roleCredentials":{"accessKeyId":"ASIASSO","secretAccessKey":"ssoSecret","sessionToken":"ssoToken","expiration":\#(expiration)}}"#
      )
    }
    defer { portal.stop() }
    let process = try dir.write(
      "proc.sh",
      #"#!/bin/sh"# + "\n"
        + #"echo '{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "procSecret", "SessionToken": "procToken", "Expiration": "2099-01-01T00:00:00Z"}'"#
        + "\n",
      executable: true)
    let config = try dir.write(
      "config",
      """
      [default]
      region = us-east-1

      [profile cfg]
      aws_access_key_id = AKIDCFG
      aws_secret_access_key = cfgSecret

      [profile both]
      aws_access_key_id = AKIDBOTHCONFIG
      aws_secret_access_key = bothConfigSecret

      [profile proc]
      credential_process = \(process)

      [profile procandkeys]
      credential_process = \(process)
      aws_access_key_id = AKIDIGNORED
      aws_secret_access_key = ignored

      [profile credsfirst]
      credential_process = \(process)

      [profile base]
      aws_access_key_id = AKIDBASE
      aws_secret_access_key = baseSecret/XYZ

      [profile hop]
      role_arn = arn:aws:iam::111111111111:role/hop
      source_profile = base

      [profile target]
      role_arn = arn:aws:iam::222222222222:role/target
      source_profile = hop
      external_id = x-1
      region = eu-west-1

      [profile envsource]
      role_arn = arn:aws:iam::333333333333:role/fromenv
      credential_source = Environment
      region = us-west-2

      [profile sso]
      sso_session = corp
      sso_account_id = 123456789012
      sso_role_name = Admin

      [sso-session corp]
      sso_start_url = https://corp.awsapps.com/start
      sso_region = us-east-1
      """)
    let credentials = try dir.write(
      "credentials",
      """
      [default]
      aws_access_key_id = AKIDDEFAULT
      aws_secret_access_key = defaultSecret
      aws_session_token = defaultToken

      [both]
      aws_access_key_id = AKIDBOTHCREDS
      aws_secret_access_key = bothCredsSecret

      [credsfirst]
      aws_access_key_id = AKIDCREDSFIRST
      aws_secret_access_key = credsFirstSecret
      """)
    let expires = AWSWire.formatDate(Date().addingTimeInterval(8 * 3600))
    let hash = SigV4.hex(SHA1Digest.of("corp"))
    try dir.write(".aws/sso/cache/\(hash).json", #"{"accessToken":"sso-access","expiresAt":"\#(expires)"}"#)
    let base = [
      "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials, "HOME": dir.path,
      "AWS_EC2_METADATA_DISABLED": "true",
      "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
      "AWS_ENDPOINT_URL_STS": sts.url.absoluteString, "AWS_ENDPOINT_URL_SSO": portal.url.absoluteString,
    ]
    let envKeys = ["AWS_ACCESS_KEY_ID": "AKIDBASE", "AWS_SECRET_ACCESS_KEY": "baseSecret/XYZ"]
    let cases: [(profile: String, extra: [String: String])] = [
      ("", [:]), ("cfg", [:]), ("both", [:]), ("proc", [:]), ("procandkeys", [:]), ("credsfirst", [:]),
      ("", ["AWS_PROFILE": "cfg"]), ("", ["AWS_PROFILE": "cfg"].merging(envKeys) { $1 }),
      ("cfg", envKeys), ("", ["AWS_PROFILE": "missing"].merging(envKeys) { $1 }), ("target", [:]),
      ("envsource", envKeys), ("sso", [:]), ("missing", [:]),
    ]
    for (profile, extra) in cases {
      let environment = base.merging(extra) { $1 }
      let reference = try Self.botocore(profile, environment: environment)
      let chain = AWSCredentialChain(environment: environment, homeDirectory: dir.path)
      let mine = await Self.kmsdash(profile, chain: chain, home: dir.path)
      let label = "profile '\(profile)' with \(extra.keys.sorted())"
      if reference["error"] != nil {
        #expect(
          mine["error"] != nil,
          "\(label): botocore failed (\(reference["error"] ?? "")), kmsdash resolved \(mine["AccessKeyId"] ?? "")"
        )
      } else {
        #expect(
          mine == reference,
          "\(label): botocore \(reference["AccessKeyId"] ?? "-"), kmsdash \(mine["AccessKeyId"] ?? mine["error"] ?? "-")"
        )
      }
    }
  }

  /// moto_server as STS: AssumeRole, AssumeRoleWithWebIdentity and GetCallerIdentity answers as
  /// a real implementation writes them parse, and its request checks pass.
  @Test(
    .enabled(if: runs(needing: "moto"), "Python module 'moto' is missing: install it with `\(installHint)`."))
  func stsAgainstMotoServer() async throws {
    try Self.requireModule("moto")
    // Port 0: moto picks a free one and prints its address, which the test waits for.
    let moto = try BackgroundServer(
      "/usr/bin/env", ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"], environment: [:])
    // moto's threaded server may outlive SIGTERM: stop() kills it.
    defer { moto.stop() }
    let endpoint = try #require(URL(string: try moto.url()))
    let sts = STSClient(
      endpoint: endpoint, region: "us-east-1", http: AsyncHTTPSender(), timeout: .seconds(5))
    let keys = AWSCredentials(
      accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    let found = try await sts.getCallerIdentity(credentials: keys)
    #expect(found.account == "123456789012")
    #expect(
      found.arn.hasPrefix("arn:aws:sts::123456789012:") || found.arn.hasPrefix("arn:aws:iam::123456789012:"))

    let assumed = try await sts.assumeRole(
      .init(
        roleArn: "arn:aws:iam::123456789012:role/KMSAdmin", roleSessionName: "kmsdash-test",
        durationSeconds: 900),
      credentials: keys)
    #expect(assumed.credentials.accessKeyId.hasPrefix("ASIA"))
    #expect(assumed.credentials.sessionToken?.isEmpty == false)
    #expect(assumed.expiration != nil)
    // The assumed identity is the role's.
    let roleIdentity = try await sts.getCallerIdentity(credentials: assumed.credentials)
    #expect(roleIdentity.arn.contains("assumed-role/KMSAdmin/kmsdash-test"))

    let web = try await sts.assumeRoleWithWebIdentity(
      roleArn: "arn:aws:iam::123456789012:role/Pod", roleSessionName: "pod",
      webIdentityToken: "eyJ.test.token")
    #expect(web.credentials.accessKeyId.hasPrefix("ASIA"))
  }
}

enum SHA1Digest {
  static func of(_ text: String) -> [UInt8] {
    Array(Insecure.SHA1.hash(data: Data(text.utf8)))
  }
}
