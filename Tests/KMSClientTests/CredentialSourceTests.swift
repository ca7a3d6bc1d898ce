import AWSSigV4
import Crypto
import Foundation
import Testing

@testable import KMSClient

/// Every credential source against loopback fakes of STS, IAM Identity Center, IMDS and the
/// container endpoint: the exact requests, the answers' parsing, refresh and error messages.
@Suite struct CredentialSourceTests {
  static let baseKeys = AWSCredentials(accessKeyId: "AKIDBASE", secretAccessKey: "baseSecret/XYZ")

  /// A chain over files written to `dir`, with the fakes' endpoints in the environment.
  func chain(
    _ dir: ScratchDirectory, config: String, credentials: String = "", env: [String: String] = [:]
  ) throws -> AWSCredentialChain {
    var environment = [
      "AWS_CONFIG_FILE": try dir.write("config", config),
      "AWS_SHARED_CREDENTIALS_FILE": try dir.write("credentials", credentials),
      "AWS_EC2_METADATA_DISABLED": "true",
      "PATH": "/usr/bin:/bin",
    ]
    environment.merge(env) { _, new in new }
    return AWSCredentialChain(environment: environment, homeDirectory: dir.path)
  }

  func context(
    _ dir: ScratchDirectory, _ chain: AWSCredentialChain, clock: ManualClock = ManualClock(),
    mfa: (@Sendable (String) async throws -> String)? = nil
  ) -> CredentialFetchContext {
    CredentialFetchContext(
      http: AsyncHTTPSender(), now: clock.function, homeDirectory: dir.path, environment: chain.environment,
      mfaCode: mfa, processTimeout: .seconds(3))
  }

  /// A fake STS that checks each signature against the keys it knows and hands out numbered keys.
  static func sts(known: [AWSCredentials], clock: ManualClock, lifetime: TimeInterval = 3600) async throws
    -> LoopbackServer
  {
    let issued = Locked<[AWSCredentials]>(known)
    let counter = Locked(0)
    return try await LoopbackServer.start { request in
      let form = request.form
      let action = form["Action"] ?? ""
      if action != "AssumeRoleWithWebIdentity" {
        let verifier = SigV4Verifier(credentials: issued.withLock { $0 }, clockSkew: 1e9)
        do {
          _ = try verifier.verify(
            method: request.method, path: request.path, query: request.query, headers: request.headers,
            body: request.body, services: ["sts"], now: clock.now)
        } catch {
          return FakeAnswer(403, STSXML.error("SignatureDoesNotMatch", "bad signature: \(error)"))
        }
      }
      if action == "GetCallerIdentity" { return FakeAnswer(200, STSXML.callerIdentity) }
      let number = counter.withLock { value -> Int in
        value += 1
        return value
      }
      let keys = AWSCredentials(
        accessKeyId: "ASIASTS\(number)", secretAccessKey: "stsSecret\(number)",
        sessionToken: "stsToken\(number)")
      issued.withLock { $0.append(keys) }
      return FakeAnswer(
        200,
        STSXML.credentials(
          action, keyId: keys.accessKeyId, secret: keys.secretAccessKey, token: keys.sessionToken!,
          expiration: AWSWire.formatDate(clock.now.addingTimeInterval(lifetime))))
    }
  }

  // MARK: AssumeRole

  @Test func assumeRoleFromASourceProfileSendsTheQueryRequestSignedForSTS() async throws {
    let dir = try ScratchDirectory()
    let clock = ManualClock()
    let sts = try await Self.sts(known: [Self.baseKeys], clock: clock)
    defer { sts.stop() }
    let chain = try chain(
      dir,
      config: """
        [profile admin]
        role_arn = arn:aws:iam::222233334444:role/KMSAdmin
        source_profile = base
        external_id = ext-123
        role_session_name = alice
        duration_seconds = 1800
        region = eu-west-1
        """,
      credentials: "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = baseSecret/XYZ\n",
      env: ["AWS_ENDPOINT_URL_STS": sts.url.absoluteString])
    let resolved = try chain.resolve(profile: "admin")
    guard case .assumeRole(let role, let source) = resolved.plan else {
      Issue.record("expected assumeRole, got \(resolved.plan)")
      return
    }
    #expect(role.roleArn == "arn:aws:iam::222233334444:role/KMSAdmin")
    #expect(role.stsRegion == "eu-west-1")
    #expect(source.summary.contains("[base]"))

    let provider = resolved.plan.makeProvider(context(dir, chain, clock: clock))
    let credentials = try await provider.credentials()
    #expect(
      credentials
        == AWSCredentials(accessKeyId: "ASIASTS1", secretAccessKey: "stsSecret1", sessionToken: "stsToken1"))

    let request = try #require(sts.requests.first)
    #expect(request.method == "POST")
    #expect(request.path == "/")
    #expect(request.header("content-type") == "application/x-www-form-urlencoded; charset=utf-8")
    #expect(
      request.form == [
        "Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": "arn:aws:iam::222233334444:role/KMSAdmin",
        "RoleSessionName": "alice", "ExternalId": "ext-123", "DurationSeconds": "1800",
      ])
    let authorization = try #require(request.header("authorization"))
    #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDBASE/"))
    #expect(authorization.contains("/eu-west-1/sts/aws4_request"))
    // Cached: no second call while valid.
    _ = try await provider.credentials()
    #expect(sts.requests.count == 1)
  }

  @Test func roleChainsAssumeEachRoleWithThePreviousRolesCredentials() async throws {
    let dir = try ScratchDirectory()
    let clock = ManualClock()
    let sts = try await Self.sts(known: [Self.baseKeys], clock: clock)
    defer { sts.stop() }
    let chain = try chain(
      dir,
      config: """
        [profile base]
        aws_access_key_id = AKIDBASE
        aws_secret_access_key = baseSecret/XYZ
        [profile hop]
        role_arn = arn:aws:iam::111111111111:role/Hop
        source_profile = base
        [profile target]
        role_arn = arn:aws:iam::222222222222:role/Target
        source_profile = hop
        """,
      env: ["AWS_ENDPOINT_URL_STS": sts.url.absoluteString, "AWS_REGION": "us-east-2"])
    let plan = try chain.credentialPlan(profile: "target")
    let credentials = try await plan.makeProvider(context(dir, chain, clock: clock)).credentials()
    #expect(credentials.accessKeyId == "ASIASTS2")
    #expect(
      sts.requests.map { $0.form["RoleArn"] } == [
        "arn:aws:iam::111111111111:role/Hop", "arn:aws:iam::222222222222:role/Target",
      ])
    #expect(sts.requests[0].header("authorization")?.contains("Credential=AKIDBASE/") == true)
    #expect(sts.requests[1].header("authorization")?.contains("Credential=ASIASTS1/") == true)
    #expect(sts.requests[1].header("x-amz-security-token") == "stsToken1")
    // The default session name, as the CLI: botocore-session-<unix time>.
    #expect(
      sts.requests[0].form["RoleSessionName"] == "botocore-session-\(Int(clock.now.timeIntervalSince1970))")
  }

  @Test func profileLoopsAndBadRoleSettingsAreClearErrors() throws {
    let dir = try ScratchDirectory()
    let chain = try chain(
      dir,
      config: """
        [profile a]
        role_arn = arn:aws:iam::1:role/A
        source_profile = b
        [profile b]
        role_arn = arn:aws:iam::1:role/B
        source_profile = a
        [profile both]
        role_arn = arn:aws:iam::1:role/X
        source_profile = a
        credential_source = Environment
        [profile neither]
        role_arn = arn:aws:iam::1:role/X
        [profile badsource]
        role_arn = arn:aws:iam::1:role/X
        credential_source = Laptop
        [profile missing]
        role_arn = arn:aws:iam::1:role/X
        source_profile = ghost
        [profile self]
        role_arn = arn:aws:iam::1:role/X
        source_profile = self
        aws_access_key_id = AKIDSELF
        aws_secret_access_key = selfSecret
        """, env: ["AWS_REGION": "us-east-1"])
    func message(_ profile: String) -> String {
      do {
        _ = try chain.resolve(profile: profile)
        return "no error"
      } catch {
        return error.description
      }
    }
    #expect(message("a").contains("Infinite loop"))
    #expect(message("both").contains("contains both source_profile and credential_source"))
    #expect(message("neither").contains("neither source_profile nor credential_source"))
    #expect(
      message("badsource").contains(
        "The credential source \"Laptop\" referenced in profile \"badsource\" is not valid"))
    #expect(
      message("missing").contains(
        "The source_profile \"ghost\" referenced in the profile \"missing\" does not exist"))
    // A profile may name itself as source when it has keys (botocore allows it).
    guard case .assumeRole(_, .fixed(let keys, _)) = try chain.credentialPlan(profile: "self") else {
      Issue.record("self-sourced profile")
      return
    }
    #expect(keys.accessKeyId == "AKIDSELF")
  }

  @Test func credentialSourceEnvironmentUsesTheEnvironmentKeys() async throws {
    let dir = try ScratchDirectory()
    let clock = ManualClock()
    let sts = try await Self.sts(known: [Self.baseKeys], clock: clock)
    defer { sts.stop() }
    let chain = try chain(
      dir, config: "[profile ci]\nrole_arn = arn:aws:iam::1:role/CI\ncredential_source = Environment\n",
      env: [
        "AWS_ENDPOINT_URL_STS": sts.url.absoluteString, "AWS_ACCESS_KEY_ID": "AKIDBASE",
        "AWS_SECRET_ACCESS_KEY": "baseSecret/XYZ", "AWS_REGION": "us-east-1",
      ])
    let credentials = try await chain.credentialPlan(profile: "ci").makeProvider(
      context(dir, chain, clock: clock)
    )
    .credentials()
    #expect(credentials.accessKeyId == "ASIASTS1")
    #expect(sts.requests.first?.header("authorization")?.contains("Credential=AKIDBASE/") == true)
  }

  @Test func mfaIsAskedOnceAndTheCodeSent() async throws {
    let dir = try ScratchDirectory()
    let clock = ManualClock()
    let sts = try await Self.sts(known: [Self.baseKeys], clock: clock, lifetime: 3600)
    defer { sts.stop() }
    let chain = try chain(
      dir,
      config: """
        [profile mfa]
        role_arn = arn:aws:iam::1:role/Secure
        source_profile = base
        mfa_serial = arn:aws:iam::1:mfa/alice
        [profile base]
        aws_access_key_id = AKIDBASE
        aws_secret_access_key = baseSecret/XYZ
        """, env: ["AWS_ENDPOINT_URL_STS": sts.url.absoluteString, "AWS_REGION": "us-east-1"])
    let asked = Locked<[String]>([])
    let provider = try chain.credentialPlan(profile: "mfa").makeProvider(
      context(dir, chain, clock: clock) { serial in
        asked.withLock { $0.append(serial) }
        return "123456"
      })
    _ = try await provider.credentials()
    #expect(asked.withLock { $0 } == ["arn:aws:iam::1:mfa/alice"])
    #expect(sts.requests.first?.form["SerialNumber"] == "arn:aws:iam::1:mfa/alice")
    #expect(sts.requests.first?.form["TokenCode"] == "123456")
    // After expiry the session cannot be renewed without a new code: a clear error, no prompt.
    clock.advance(3600 + 1)
    let error = await #expect(throws: AWSCredentialError.self) { _ = try await provider.credentials() }
    #expect(error?.description.contains("restart kmsdash") == true)
    #expect(asked.withLock { $0.count } == 1)
  }

  @Test func stsErrorsAreReadableAndNeverQuoteSecrets() async throws {
    let dir = try ScratchDirectory()
    let sts = try await LoopbackServer.start { _ in
      FakeAnswer(
        403,
        STSXML.error(
          "AccessDenied", "User: arn:aws:iam::1:user/bob is not authorized to perform: sts:AssumeRole"))
    }
    defer { sts.stop() }
    let chain = try chain(
      dir,
      config:
        "[profile x]\nrole_arn = arn:aws:iam::1:role/X\nsource_profile = base\n[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = baseSecret/XYZ\n",
      env: ["AWS_ENDPOINT_URL_STS": sts.url.absoluteString, "AWS_REGION": "us-east-1"])
    let error = await #expect(throws: AWSCredentialError.self) {
      _ = try await chain.credentialPlan(profile: "x").makeProvider(context(dir, chain)).credentials()
    }
    let text = try #require(error).description
    #expect(text.contains("STS AssumeRole for arn:aws:iam::1:role/X"))
    #expect(text.contains("AccessDenied: User: arn:aws:iam::1:user/bob is not authorized"))
    #expect(text.contains("(Request ID: req-err)"))
    #expect(text.contains("trust policy"))
    #expect(!text.contains("baseSecret"))

    // Clock skew: RequestExpired says to fix the clock.
    let skew = STSClient.error(
      AWSHTTPResponse(status: 400, body: Data(STSXML.error("RequestExpired", "Request has expired.").utf8)),
      source: "STS")
    #expect(skew.description.contains("clock"))
    // An HTML page from a wrong endpoint is named as such, not dumped.
    let html = STSClient.error(
      AWSHTTPResponse(
        status: 500, body: Data("<!doctype html><html><title>Oops</title><body>x</body></html>".utf8)),
      source: "STS")
    #expect(html.description.contains("HTTP 500, not an STS answer (an HTML page titled \"Oops\")"))
  }

  // MARK: Web identity

  @Test func webIdentityFromTheEnvironmentIsUnsignedAndRereadsTheTokenFile() async throws {
    let dir = try ScratchDirectory()
    let clock = ManualClock()
    let sts = try await Self.sts(known: [], clock: clock, lifetime: 3600)
    defer { sts.stop() }
    let tokenFile = try dir.write("token", "eyJhbGciOi.first.token\n")
    let chain = try chain(
      dir, config: "",
      env: [
        "AWS_ENDPOINT_URL_STS": sts.url.absoluteString, "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
        "AWS_ROLE_ARN": "arn:aws:iam::1:role/Pod", "AWS_ROLE_SESSION_NAME": "pod-1",
        "AWS_REGION": "ap-south-1",
      ])
    let resolved = try chain.resolve()
    guard case .webIdentity(let settings) = resolved.plan else {
      Issue.record("expected webIdentity, got \(resolved.plan)")
      return
    }
    #expect(settings.roleArn == "arn:aws:iam::1:role/Pod")
    let provider = resolved.plan.makeProvider(context(dir, chain, clock: clock))
    #expect(try await provider.credentials().accessKeyId == "ASIASTS1")
    let request = try #require(sts.requests.first)
    #expect(request.header("authorization") == nil)
    #expect(
      request.form == [
        "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": "arn:aws:iam::1:role/Pod",
        "RoleSessionName": "pod-1", "WebIdentityToken": "eyJhbGciOi.first.token",
      ])
    // Refresh after expiry reads the rotated token.
    try dir.write("token", "eyJhbGciOi.second.token")
    clock.advance(3600 - 60)
    #expect(try await provider.credentials().accessKeyId == "ASIASTS2")
    #expect(sts.requests.last?.form["WebIdentityToken"] == "eyJhbGciOi.second.token")
  }

  // MARK: credential_process

  @Test func credentialProcessJSONWithExpiryIsRefreshed() async throws {
    let dir = try ScratchDirectory()
    let clock = ManualClock()
    let counter = try dir.write("count", "0")
    let script = try dir.write(
      "creds.sh",
      """
      #!/bin/sh
      n=$(($(cat '\(counter)') + 1)); echo $n > '\(counter)'
      echo "{\\"Version\\": 1, \\"AccessKeyId\\": \\"AKIDPROC$n\\", \\"SecretAccessKey\\": \\"procSecret\\", \\"SessionToken\\": \\"procToken\\", \\"Expiration\\": \\"$1\\"}"
      """, executable: true)
    let expiry = AWSWire.formatDate(clock.now.addingTimeInterval(3600))
    let chain = try chain(dir, config: "[profile proc]\ncredential_process = \"\(script)\" '\(expiry)'\n")
    let plan = try chain.credentialPlan(profile: "proc")
    #expect(plan == .process(command: "\"\(script)\" '\(expiry)'", profile: "proc"))
    let provider = plan.makeProvider(context(dir, chain, clock: clock))
    #expect(
      try await provider.credentials()
        == AWSCredentials(accessKeyId: "AKIDPROC1", secretAccessKey: "procSecret", sessionToken: "procToken"))
    #expect(try await provider.credentials().accessKeyId == "AKIDPROC1")
    // 9 minutes before expiry (inside the mandatory window): the process runs again.
    clock.advance(3600 - 9 * 60)
    #expect(try await provider.credentials().accessKeyId == "AKIDPROC2")
  }

  @Test func credentialProcessFailuresSayWhatHappened() async throws {
    let dir = try ScratchDirectory()
    let failing = try dir.write(
      "fail.sh", "#!/bin/sh\necho 'token for alice expired, run login-tool' >&2\nexit 3\n", executable: true)
    let garbage = try dir.write("garbage.sh", "#!/bin/sh\necho 'Password: hunter2'\n", executable: true)
    let version = try dir.write(
      "version.sh",
      "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}'\n",
      executable: true)
    let hangs = try dir.write("hang.sh", "#!/bin/sh\necho waiting >&2\nsleep 30\n", executable: true)
    let expired = try dir.write(
      "expired.sh",
      "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", \"Expiration\": \"2001-01-01T00:00:00Z\"}'\n",
      executable: true)
    let chain = try chain(
      dir,
      config: """
        [profile fail]
        credential_process = \(failing)
        [profile garbage]
        credential_process = \(garbage)
        [profile version]
        credential_process = \(version)
        [profile hang]
        credential_process = \(hangs)
        [profile expired]
        credential_process = \(expired)
        [profile missing]
        credential_process = /nonexistent/tool --flag
        [profile unbalanced]
        credential_process = tool "unterminated
        """)
    func message(_ profile: String) async -> String {
      do {
        _ = try await chain.credentialPlan(profile: profile).makeProvider(context(dir, chain)).credentials()
        return "no error"
      } catch {
        return "\(error)"
      }
    }
    let fail = await message("fail")
    #expect(fail.contains("exited with status 3"))
    #expect(fail.contains("token for alice expired, run login-tool"))
    let garbageText = await message("garbage")
    #expect(garbageText.contains("did not print a JSON object"))
    #expect(!garbageText.contains("hunter2"))
    #expect(await message("version").contains("unsupported version '2'"))
    // The message says the process was stopped at its timeout (no wall-clock assertion: a loaded
    // machine may take longer to reap it, which is not what this test is about).
    let hang = await message("hang")
    #expect(hang.contains("did not finish within 3 s and was stopped"))
    #expect(hang.contains("waiting"))
    #expect(await message("expired").contains("expired at 2001-01-01T00:00:00Z"))
    #expect(await message("missing").contains("'/nonexistent/tool' does not exist"))
    #expect(await message("unbalanced").contains("no closing \" quotation"))
  }

  @Test func shellWordsSplitLikeShlex() throws {
    #expect(try ShellWords.split(#"a 'b c' "d \"e\" \$f" g\ h"#) == ["a", "b c", #"d "e" $f"#, "g h"])
    #expect(try ShellWords.split("  ") == [])
    #expect(try ShellWords.split(#"x "a\nb""#) == ["x", #"a\nb"#])
  }

  // MARK: IAM Identity Center

  static func ssoPortal(expectToken: String, clock: ManualClock) async throws -> LoopbackServer {
    try await LoopbackServer.start { request in
      switch request.path {
      case "/federation/credentials":
        guard request.header("x-amz-sso_bearer_token") == expectToken else {
          return FakeAnswer(
            401, #"{"message":"Session token not found or invalid"}"#,
            headers: ["x-amzn-ErrorType": "UnauthorizedException"])
        }
        let expiration = Int64(clock.now.addingTimeInterval(3600).timeIntervalSince1970 * 1000)
        return FakeAnswer(
          200,
          #"{"roleCredentials":{"accessKeyId":"ASIASSO","secretAccessKey":"ssoSecret","sessionToken":"ssoToken","expiration":\#(expiration)}}"#
        )
      case "/token":
        let body = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: String] ?? [:]
        guard body["grantType"] == "refresh_token", body["refreshToken"] == "refresh-1",
          body["clientId"] == "client-1", body["clientSecret"] == "client-secret-1"
        else { return FakeAnswer(400, #"{"error":"invalid_grant"}"#) }
        return FakeAnswer(
          200,
          #"{"accessToken":"\#(expectToken)","expiresIn":28800,"refreshToken":"refresh-2","tokenType":"Bearer"}"#
        )
      default:
        return FakeAnswer(404, "{}")
      }
    }
  }

  func ssoConfig(_ portal: LoopbackServer) -> String {
    """
    [profile dev]
    sso_session = corp
    sso_account_id = 123456789012
    sso_role_name = KMSAdmin
    region = us-west-2
    services = fakes

    [profile legacy]
    sso_start_url = https://legacy.awsapps.com/start
    sso_region = eu-west-1
    sso_account_id = 123456789012
    sso_role_name = ReadOnly
    services = fakes

    [sso-session corp]
    sso_start_url = https://corp.awsapps.com/start
    sso_region = us-east-1
    sso_registration_scopes = sso:account:access

    [services fakes]
    sso =
      endpoint_url = \(portal.url.absoluteString)
    sso_oidc =
      endpoint_url = \(portal.url.absoluteString)
    """
  }

  static func sha1(_ text: String) -> String { SigV4.hex(Insecure.SHA1.hash(data: Data(text.utf8))) }

  @Test func ssoSessionUsesTheCachedTokenNamedBySHA1OfTheSessionName() async throws {
    let dir = try ScratchDirectory()
    let clock = ManualClock()
    let portal = try await Self.ssoPortal(expectToken: "access-1", clock: clock)
    defer { portal.stop() }
    let chain = try chain(dir, config: ssoConfig(portal))
    let resolved = try chain.resolve(profile: "dev")
    guard case .sso(let settings) = resolved.plan else {
      Issue.record("expected sso, got \(resolved.plan)")
      return
    }
    #expect(settings.cacheFile(home: dir.path) == "\(dir.path)/.aws/sso/cache/\(Self.sha1("corp")).json")
    #expect(settings.ssoRegion == "us-east-1")
    try dir.write(
      ".aws/sso/cache/\(Self.sha1("corp")).json",
      #"{"startUrl":"https://corp.awsapps.com/start","region":"us-east-1","accessToken":"access-1","expiresAt":"\#(AWSWire.formatDate(clock.now.addingTimeInterval(8 * 3600)))"}"#
    )
    let credentials = try await resolved.plan.makeProvider(context(dir, chain, clock: clock)).credentials()
    #expect(
      credentials
        == AWSCredentials(accessKeyId: "ASIASSO", secretAccessKey: "ssoSecret", sessionToken: "ssoToken"))
    let request = try #require(portal.requests.first)
    #expect(request.method == "GET")
    #expect(request.path == "/federation/credentials")
    #expect(request.queryItems == ["role_name": "KMSAdmin", "account_id": "123456789012"])
    #expect(request.header("x-amz-sso_bearer_token") == "access-1")
    #expect(request.header("authorization") == nil)
  }

  @Test func anExpiredSSOTokenIsRefreshedWithTheCachedRefreshTokenAndWrittenBack() async throws {
    let dir = try ScratchDirectory()
    let clock = ManualClock()
    let portal = try await Self.ssoPortal(expectToken: "access-2", clock: clock)
    defer { portal.stop() }
    let chain = try chain(dir, config: ssoConfig(portal))
    let cache = try dir.write(
      ".aws/sso/cache/\(Self.sha1("corp")).json",
      """
      {"startUrl":"https://corp.awsapps.com/start","region":"us-east-1","accessToken":"access-1",
       "expiresAt":"\(AWSWire.formatDate(clock.now.addingTimeInterval(-60)))","refreshToken":"refresh-1",
       "clientId":"client-1","clientSecret":"client-secret-1",
       "registrationExpiresAt":"\(AWSWire.formatDate(clock.now.addingTimeInterval(86400 * 30)))"}
      """)
    let credentials = try await chain.credentialPlan(profile: "dev").makeProvider(
      context(dir, chain, clock: clock)
    )
    .credentials()
    #expect(credentials.accessKeyId == "ASIASSO")
    #expect(portal.requests.map(\.path) == ["/token", "/federation/credentials"])
    #expect(portal.requests[0].method == "POST")
    #expect(portal.requests[0].header("content-type") == "application/json")
    let written = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cache))) as? [String: Any])
    #expect(written["accessToken"] as? String == "access-2")
    #expect(written["refreshToken"] as? String == "refresh-2")
    #expect(written["expiresAt"] as? String == AWSWire.formatDate(clock.now.addingTimeInterval(28800)))
    #expect(written["clientSecret"] as? String == "client-secret-1")
  }

  @Test func expiredOrMissingSSOLoginsSayWhichLoginToRun() async throws {
    let dir = try ScratchDirectory()
    let clock = ManualClock()
    let portal = try await Self.ssoPortal(expectToken: "access-1", clock: clock)
    defer { portal.stop() }
    let chain = try chain(dir, config: ssoConfig(portal))
    func message(_ profile: String) async -> String {
      do {
        _ = try await chain.credentialPlan(profile: profile).makeProvider(context(dir, chain, clock: clock))
          .credentials()
        return "no error"
      } catch {
        return "\(error)"
      }
    }
    // Not logged in.
    var text = await message("legacy")
    #expect(text.contains("no cached SSO token"))
    #expect(text.contains("run `aws sso login --profile legacy`"))
    // Legacy profile: the cache is named by the start URL; expired, and cannot be refreshed.
    try dir.write(
      ".aws/sso/cache/\(Self.sha1("https://legacy.awsapps.com/start")).json",
      #"{"accessToken":"access-1","expiresAt":"2001-01-01T00:00:00Z"}"#)
    text = await message("legacy")
    #expect(text.contains("the SSO login expired at 2001-01-01T00:00:00Z"))
    #expect(text.contains("run `aws sso login --profile legacy`"))
    #expect(!text.contains("access-1"))
    // Corrupt cache.
    try dir.write(".aws/sso/cache/\(Self.sha1("corp")).json", "{not json")
    text = await message("dev")
    #expect(text.contains("is not valid JSON"))
    #expect(text.contains("aws sso login --profile dev"))
    // The portal rejects the token (revoked): the same advice.
    try dir.write(
      ".aws/sso/cache/\(Self.sha1("corp")).json",
      #"{"accessToken":"revoked","expiresAt":"\#(AWSWire.formatDate(clock.now.addingTimeInterval(3600)))"}"#)
    text = await message("dev")
    #expect(text.contains("UnauthorizedException: Session token not found or invalid"))
    #expect(text.contains("aws sso login --profile dev"))
    #expect(!text.contains("revoked"))
  }

  // MARK: Container

  @Test func containerCredentialsSendTheAuthorizationTokenFromItsFile() async throws {
    let dir = try ScratchDirectory()
    let server = try await LoopbackServer.start { request in
      guard request.header("authorization") == "Bearer pod-token" else {
        return FakeAnswer(401, #"{"message":"denied"}"#)
      }
      return FakeAnswer(
        200,
        #"{"AccessKeyId":"ASIACONT","SecretAccessKey":"contSecret","Token":"contToken","Expiration":"2099-01-01T00:00:00Z"}"#
      )
    }
    defer { server.stop() }
    let tokenFile = try dir.write("token", "Bearer pod-token\n")
    let full = try chain(
      dir, config: "",
      env: [
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url.absoluteString + "/v1/credentials?a=1",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile, "AWS_REGION": "us-east-1",
      ])
    let plan = try full.credentialPlan()
    guard case .container = plan else {
      Issue.record("expected container, got \(plan)")
      return
    }
    let credentials = try await plan.makeProvider(context(dir, full)).credentials()
    #expect(
      credentials
        == AWSCredentials(accessKeyId: "ASIACONT", secretAccessKey: "contSecret", sessionToken: "contToken"))
    #expect(server.requests.first?.path == "/v1/credentials")
    #expect(server.requests.first?.query == "a=1")

    // The relative URI goes to the ECS host (here the fake) with the token variable.
    var relative = try chain(
      dir, config: "",
      env: [
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer pod-token",
      ])
    relative.containerRelativeBase = server.url.absoluteString
    _ = try await relative.credentialPlan().makeProvider(context(dir, relative)).credentials()
    #expect(server.requests.last?.path == "/v2/credentials/abc")

    // A wrong token: the status and message, once (4xx is not retried).
    let before = server.requests.count
    let wrong = try chain(
      dir, config: "",
      env: [
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url.absoluteString,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer nope",
      ])
    let error = await #expect(throws: AWSCredentialError.self) {
      _ = try await wrong.credentialPlan().makeProvider(context(dir, wrong)).credentials()
    }
    #expect(error?.message == "HTTP 401: denied")
    #expect(server.requests.count == before + 1)
  }

  @Test func containerFullURIMustBeLoopbackOrAnAllowedHostOverHTTP() throws {
    let dir = try ScratchDirectory()
    let chain = try chain(
      dir, config: "", env: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://10.1.2.3/creds"])
    let error = #expect(throws: AWSConfigurationError.self) { _ = try chain.credentialPlan() }
    #expect(error?.description.contains("names the host '10.1.2.3'") == true)
    for ok in [
      "https://creds.example.com/x", "http://169.254.170.23/v1", "http://localhost:9/x", "http://127.0.0.5/x",
    ] {
      let allowed = try self.chain(dir, config: "", env: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": ok])
      guard case .container = try allowed.credentialPlan() else {
        Issue.record("\(ok) should be allowed")
        continue
      }
    }
  }

  // MARK: IMDS

  static func imds(v2: Bool) async throws -> LoopbackServer {
    try await LoopbackServer.start { request in
      switch (request.method, request.path) {
      case ("PUT", "/latest/api/token"):
        guard v2 else { return FakeAnswer(403, "") }
        guard request.header("x-aws-ec2-metadata-token-ttl-seconds") == "21600" else {
          return FakeAnswer(400, "")
        }
        return FakeAnswer(200, "imds-session-token")
      case ("GET", "/latest/meta-data/iam/security-credentials/"):
        if v2 && request.header("x-aws-ec2-metadata-token") != "imds-session-token" {
          return FakeAnswer(401, "")
        }
        return FakeAnswer(200, "InstanceRole")
      case ("GET", "/latest/meta-data/iam/security-credentials/InstanceRole"):
        if v2 && request.header("x-aws-ec2-metadata-token") != "imds-session-token" {
          return FakeAnswer(401, "")
        }
        return FakeAnswer(
          200,
          #"{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imdsSecret","Token":"imdsToken","Expiration":"2099-01-01T00:00:00Z"}"#
        )
      default:
        return FakeAnswer(404, "")
      }
    }
  }

  @Test func instanceMetadataUsesAnIMDSv2TokenFirst() async throws {
    let dir = try ScratchDirectory()
    let imds = try await Self.imds(v2: true)
    defer { imds.stop() }
    let chain = try chain(
      dir, config: "",
      env: [
        "AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url.absoluteString,
        "AWS_METADATA_SERVICE_TIMEOUT": "5",
      ])
    let plan = try chain.credentialPlan()
    guard case .instanceMetadata(let settings, _) = plan else {
      Issue.record("expected IMDS, got \(plan)")
      return
    }
    #expect(settings.allowV1Fallback == false)
    let credentials = try await plan.makeProvider(context(dir, chain)).credentials()
    #expect(
      credentials
        == AWSCredentials(accessKeyId: "ASIAIMDS", secretAccessKey: "imdsSecret", sessionToken: "imdsToken"))
    #expect(
      imds.requests.map { "\($0.method) \($0.path)" } == [
        "PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/",
        "GET /latest/meta-data/iam/security-credentials/InstanceRole",
      ])
    #expect(imds.requests[1].header("x-aws-ec2-metadata-token") == "imds-session-token")
    #expect(imds.requests[2].header("x-aws-ec2-metadata-token") == "imds-session-token")
  }

  @Test func imdsV1FallbackIsOffByDefaultAndOptIn() async throws {
    let dir = try ScratchDirectory()
    let imds = try await Self.imds(v2: false)
    defer { imds.stop() }
    let env = [
      "AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url.absoluteString,
      "AWS_METADATA_SERVICE_TIMEOUT": "5",
    ]
    let strict = try chain(dir, config: "", env: env)
    let error = await #expect(throws: AWSCredentialError.self) {
      _ = try await strict.credentialPlan().makeProvider(context(dir, strict)).credentials()
    }
    #expect(error?.description.contains("IMDSv1 fallback is off") == true)
    #expect(error?.description.contains("Searched:") == true)
    #expect(imds.requests.count == 1)

    let lenient = try chain(
      dir, config: "", env: env.merging(["AWS_EC2_METADATA_V1_DISABLED": "false"]) { $1 })
    let credentials = try await lenient.credentialPlan().makeProvider(context(dir, lenient)).credentials()
    #expect(credentials.accessKeyId == "ASIAIMDS")
    #expect(imds.requests.last?.header("x-aws-ec2-metadata-token") == nil)
  }

  // MARK: Identity

  @Test func getCallerIdentityIsSignedForSTSAndParsed() async throws {
    let clock = ManualClock()
    let sts = try await Self.sts(known: [Self.baseKeys], clock: clock)
    defer { sts.stop() }
    let client = STSClient(
      endpoint: sts.url, region: "us-east-1", http: AsyncHTTPSender(), now: clock.function)
    let identity = try await client.getCallerIdentity(credentials: Self.baseKeys)
    #expect(
      identity
        == AWSCallerIdentity(
          account: "111122223333", arn: "arn:aws:sts::111122223333:assumed-role/Admin/me",
          userId: "AROAEXAMPLE:me"))
    #expect(sts.requests.first?.form == ["Action": "GetCallerIdentity", "Version": "2011-06-15"])
    #expect(sts.requests.first?.header("authorization")?.contains("/us-east-1/sts/aws4_request") == true)
  }
}

@Suite struct CredentialRefreshTests {
  static func keys(_ n: Int) -> AWSCredentials {
    AWSCredentials(accessKeyId: "ASIA\(n)", secretAccessKey: "s\(n)", sessionToken: "t\(n)")
  }

  /// A provider whose fetches hand out numbered keys valid for an hour; `fail` makes them throw.
  final class Source: @unchecked Sendable {
    let clock: ManualClock
    let state = Locked((count: 0, fail: false, gate: false, held: [CheckedContinuation<Void, Never>]()))
    init(_ clock: ManualClock) { self.clock = clock }

    func fetch() async throws -> ExpiringCredentials {
      // While the gate is closed a fetch waits until it opens (`setGate(false)` resumes it).
      await withCheckedContinuation { (waiting: CheckedContinuation<Void, Never>) in
        let hold = state.withLock { value -> Bool in
          if value.gate { value.held.append(waiting) }
          return value.gate
        }
        if !hold { waiting.resume() }
      }
      let (n, fail) = state.withLock { value -> (Int, Bool) in
        value.count += 1
        return (value.count, value.fail)
      }
      if fail { throw AWSCredentialError(source: "test", message: "STS unreachable") }
      return ExpiringCredentials(keys(n), expiration: clock.now.addingTimeInterval(3600))
    }

    func setGate(_ closed: Bool) {
      let released = state.withLock { value -> [CheckedContinuation<Void, Never>] in
        value.gate = closed
        defer { if !closed { value.held = [] } }
        return closed ? [] : value.held
      }
      for waiting in released { waiting.resume() }
    }
  }

  @Test func advisoryWindowRefreshesInTheBackgroundWithoutWaiting() async throws {
    let clock = ManualClock()
    let source = Source(clock)
    let provider = RefreshingCredentialProvider(source: "test", now: clock.function) {
      try await source.fetch()
    }
    #expect(try await provider.credentials() == Self.keys(1))
    clock.advance(3600 - 14 * 60)  // 14 minutes left: advisory
    source.setGate(true)  // the refresh hangs…
    #expect(try await provider.credentials() == Self.keys(1))  // …and the caller does not wait
    source.setGate(false)
    await provider.backgroundRefreshSettled()
    #expect(try await provider.credentials() == Self.keys(2))
    #expect(await provider.fetchCount == 2)
  }

  @Test func failedRefreshKeepsValidCredentialsAndThrowsOnlyOnceExpired() async throws {
    let clock = ManualClock()
    let source = Source(clock)
    let provider = RefreshingCredentialProvider(source: "test", now: clock.function) {
      try await source.fetch()
    }
    _ = try await provider.credentials()
    source.state.withLock { $0.fail = true }
    clock.advance(3600 - 5 * 60)  // 5 minutes left: mandatory, but still valid
    #expect(try await provider.credentials() == Self.keys(1))
    #expect(await provider.lastRefreshError?.contains("STS unreachable") == true)
    clock.advance(6 * 60)  // expired
    await #expect(throws: AWSCredentialError.self) { _ = try await provider.credentials() }
    source.state.withLock { $0.fail = false }
    #expect(try await provider.credentials().accessKeyId.hasPrefix("ASIA"))
  }

  @Test func shortLivedCredentialsScaleTheWindows() async throws {
    let clock = ManualClock()
    let counter = Locked(0)
    let provider = RefreshingCredentialProvider(source: "test", now: clock.function) {
      let n = counter.withLock { value -> Int in
        value += 1
        return value
      }
      return ExpiringCredentials(Self.keys(n), expiration: clock.now.addingTimeInterval(900))
    }
    _ = try await provider.credentials()
    clock.advance(60)
    _ = try await provider.credentials()
    _ = try await provider.credentials()
    #expect(counter.withLock { $0 } == 1)  // a 15-minute session is not refreshed on every call
  }

  /// The KMS transport signs each request with the provider's current keys: after a refresh the
  /// next request carries the new key and session token.
  @Test func kmsRequestsAreSignedWithRefreshedCredentials() async throws {
    let clock = ManualClock()
    let source = Source(clock)
    let provider = RefreshingCredentialProvider(source: "test", now: clock.function) {
      try await source.fetch()
    }
    let kms = try await LoopbackServer.start { _ in FakeAnswer(200, #"{"Keys":[],"Truncated":false}"#) }
    defer { kms.stop() }
    let transport = HTTPTransport(
      endpoints: [.kms: kms.url], signer: KMSRequestSigner(credentials: nil, region: "us-east-1"),
      now: clock.function, credentialProvider: provider)
    let request = KMSWireRequest(service: .kms, operation: "ListKeys", body: Data("{}".utf8))
    _ = try await transport.send(request)
    clock.advance(3600 - 60)
    _ = try await transport.send(request)
    #expect(kms.requests.count == 2)
    #expect(kms.requests[0].header("authorization")?.contains("Credential=ASIA1/") == true)
    #expect(kms.requests[0].header("x-amz-security-token") == "t1")
    #expect(kms.requests[1].header("authorization")?.contains("Credential=ASIA2/") == true)
    #expect(kms.requests[1].header("x-amz-security-token") == "t2")
  }
}

@Suite struct EndpointResolutionTests {
  @Test func precedenceAsTheCLI() {
    let services = ["kms.endpoint_url": "http://services-kms", "sts.endpoint_url": "http://services-sts"]
    let profile = ["endpoint_url": "http://profile-global"]
    var resolver = AWSEndpointResolver(
      environment: ["AWS_ENDPOINT_URL_KMS": "http://env-kms", "AWS_ENDPOINT_URL": "http://env-global"],
      profileSettings: profile, servicesSection: services)
    #expect(resolver.configured(.kms)?.url.absoluteString == "http://env-kms")
    #expect(resolver.configured(.sts)?.url.absoluteString == "http://env-global")
    resolver.environment = [:]
    #expect(resolver.configured(.kms)?.url.absoluteString == "http://services-kms")
    #expect(resolver.configured(.cloudHSMV2)?.url.absoluteString == "http://profile-global")
    resolver.ignoreConfigured = true
    #expect(resolver.configured(.kms) == nil)
    #expect(resolver.url(.kms, region: "eu-west-1").absoluteString == "https://kms.eu-west-1.amazonaws.com")
  }

  @Test func defaultHostsWithFIPSAndDualStack() {
    let plain = AWSEndpointResolver()
    #expect(plain.defaultHost(.kms, region: "us-east-1") == "kms.us-east-1.amazonaws.com")
    #expect(plain.defaultHost(.cloudHSMV2, region: "eu-west-1") == "cloudhsmv2.eu-west-1.amazonaws.com")
    #expect(plain.defaultHost(.sts, region: "") == "sts.amazonaws.com")
    #expect(plain.defaultHost(.sso, region: "eu-west-1") == "portal.sso.eu-west-1.amazonaws.com")
    #expect(plain.defaultHost(.ssoOIDC, region: "eu-west-1") == "oidc.eu-west-1.amazonaws.com")
    #expect(plain.defaultHost(.kms, region: "cn-north-1") == "kms.cn-north-1.amazonaws.com.cn")
    let fips = AWSEndpointResolver(environment: ["AWS_USE_FIPS_ENDPOINT": "true"])
    #expect(fips.defaultHost(.kms, region: "us-east-1") == "kms-fips.us-east-1.amazonaws.com")
    #expect(fips.defaultHost(.sts, region: "us-west-2") == "sts-fips.us-west-2.amazonaws.com")
    let dual = AWSEndpointResolver(profileSettings: ["use_dualstack_endpoint": "true"])
    #expect(dual.defaultHost(.kms, region: "eu-west-1") == "kms.eu-west-1.api.aws")
    #expect(dual.defaultHost(.cloudHSMV2, region: "us-east-1") == "cloudhsmv2.us-east-1.api.aws")
    let both = AWSEndpointResolver(
      environment: ["AWS_USE_FIPS_ENDPOINT": "true"], profileSettings: ["use_dualstack_endpoint": "true"])
    #expect(both.defaultHost(.kms, region: "us-east-1") == "kms-fips.us-east-1.api.aws")
  }

  @Test func servicesSectionFromTheConfigFileAndAMissingOneIsAnError() throws {
    let dir = try ScratchDirectory()
    let config = try dir.write(
      "config",
      """
      [profile local]
      region = us-east-1
      aws_access_key_id = AKIDLOCAL
      aws_secret_access_key = secretLocal
      services = local-stack
      ca_bundle = /etc/ssl/local.pem

      [profile broken]
      services = nowhere
      aws_access_key_id = A
      aws_secret_access_key = S

      [services local-stack]
      kms =
        endpoint_url = http://127.0.0.1:4599
      cloudhsm_v2 =
        endpoint_url = http://127.0.0.1:4600
      """)
    let chain = AWSCredentialChain(
      environment: [
        "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": "/none",
        "AWS_EC2_METADATA_DISABLED": "true",
      ],
      homeDirectory: dir.path)
    let resolved = try chain.resolve(profile: "local")
    #expect(resolved.endpointURL?.absoluteString == "http://127.0.0.1:4599")
    #expect(resolved.endpoints.configured(.cloudHSMV2)?.url.absoluteString == "http://127.0.0.1:4600")
    #expect(resolved.endpoints.configured(.sts) == nil)
    #expect(resolved.caBundle == "/etc/ssl/local.pem")
    var withEnv = chain
    withEnv.environment["AWS_CA_BUNDLE"] = "/env.pem"
    #expect(try withEnv.resolve(profile: "local").caBundle == "/env.pem")
    let error = #expect(throws: AWSConfigurationError.self) {
      _ = try chain.resolve(profile: "broken", region: "us-east-1")
    }
    #expect(error?.description.contains("\"nowhere\" services configuration does not exist") == true)
  }

  @Test func aMissingCABundleIsAClearError() {
    let error = #expect(throws: AWSConfigurationError.self) {
      _ = try HTTPClients.client(caBundle: "/nonexistent/ca.pem")
    }
    #expect(error?.description.contains("The CA bundle /nonexistent/ca.pem") == true)
  }
}

@Suite struct RemoteConfigurationTests {
  /// `kmsdash --endpoint URL --profile P`: the plan is fetched once up front, the identity looked up
  /// on the configured STS, and the client signs with the provider.
  @Test func resolveFetchesCredentialsAndTheIdentityBeforeTheDashboard() async throws {
    let dir = try ScratchDirectory()
    let clock = ManualClock()
    let sts = try await CredentialSourceTests.sts(known: [CredentialSourceTests.baseKeys], clock: clock)
    defer { sts.stop() }
    let config = try dir.write(
      "config",
      """
      [profile admin]
      role_arn = arn:aws:iam::222233334444:role/KMSAdmin
      source_profile = base
      region = eu-west-1
      [profile base]
      aws_access_key_id = AKIDBASE
      aws_secret_access_key = baseSecret/XYZ
      """)
    let chain = AWSCredentialChain(
      environment: [
        "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": "/none",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_STS": sts.url.absoluteString,
      ],
      homeDirectory: dir.path)
    let configuration = try await KMSHTTPClient.Configuration.resolve(
      endpoint: URL(string: "http://127.0.0.1:4599"), profile: "admin", region: nil, chain: chain,
      fetch: CredentialFetchContext(
        http: AsyncHTTPSender(), now: clock.function, homeDirectory: dir.path, environment: chain.environment)
    )
    #expect(configuration.credentials?.accessKeyId == "ASIASTS1")
    #expect(configuration.credentialProvider != nil)
    #expect(configuration.region == "eu-west-1")
    #expect(configuration.profile == "admin")
    #expect(configuration.identity?.account == "111122223333")
    #expect(configuration.credentialSource?.contains("role arn:aws:iam::222233334444:role/KMSAdmin") == true)
    // AssumeRole once, then GetCallerIdentity signed with the role's keys.
    #expect(sts.requests.map { $0.form["Action"] } == ["AssumeRole", "GetCallerIdentity"])
    #expect(sts.requests[1].header("authorization")?.contains("Credential=ASIASTS1/") == true)
  }
}
