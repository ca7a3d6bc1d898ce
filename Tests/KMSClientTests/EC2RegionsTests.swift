import AWSSigV4
import Foundation
import Testing

@testable import KMSClient

/// `--all-regions`: EC2 `DescribeRegions` over the Query protocol, against a loopback server that
/// verifies the signature as EC2 would.
@Suite struct EC2RegionsTests {
  static let keys = AWSCredentials(accessKeyId: "AKIDREGIONS", secretAccessKey: "regionsSecret")

  static let answer = """
    <DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
      <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
      <regionInfo>
        <item><regionName>us-east-1</regionName><regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>
        <item><regionName>eu-west-1</regionName><regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>
        <item><regionName>ap-east-1</regionName><regionEndpoint>ec2.ap-east-1.amazonaws.com</regionEndpoint><optInStatus>opted-in</optInStatus></item>
        <item><regionName>&lt;bad&gt;</regionName></item>
      </regionInfo>
    </DescribeRegionsResponse>
    """

  static func server(_ answer: FakeAnswer, clock: ManualClock) async throws -> LoopbackServer {
    try await LoopbackServer.start { request in
      let verifier = SigV4Verifier(credentials: [Self.keys], clockSkew: 300)
      do {
        _ = try verifier.verify(
          method: request.method, path: request.path, query: request.query, headers: request.headers,
          body: request.body, services: ["ec2"], now: clock.now)
      } catch {
        return FakeAnswer(
          401,
          "<Response><Errors><Error><Code>AuthFailure</Code><Message>\(error)</Message></Error></Errors></Response>"
        )
      }
      return answer
    }
  }

  @Test func theEnabledRegionsSortedFromASignedQueryRequest() async throws {
    let clock = ManualClock()
    let ec2 = try await Self.server(FakeAnswer(200, Self.answer), clock: clock)
    defer { ec2.stop() }
    let client = EC2RegionsClient(
      endpoint: ec2.url, region: "us-east-1", http: AsyncHTTPSender(), now: clock.function)
    #expect(
      try await client.describeRegions(credentials: Self.keys) == ["ap-east-1", "eu-west-1", "us-east-1"])
    #expect(ec2.requests.first?.form == ["Action": "DescribeRegions", "Version": "2016-11-15"])
    #expect(ec2.requests.first?.header("authorization")?.contains("/us-east-1/ec2/aws4_request") == true)
  }

  @Test func refusalsAndOtherAnswersSayWhatToDo() async throws {
    let clock = ManualClock()
    let denied = try await Self.server(
      FakeAnswer(
        403,
        "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors></Response>"
      ), clock: clock)
    defer { denied.stop() }
    let client = EC2RegionsClient(
      endpoint: denied.url, region: "us-east-1", http: AsyncHTTPSender(), now: clock.function)
    let error = await #expect(throws: AWSCredentialError.self) {
      try await client.describeRegions(credentials: Self.keys)
    }
    #expect(error?.message == "UnauthorizedOperation: You are not authorized to perform this operation.")
    #expect(error?.fix == "allow ec2:DescribeRegions, or name the Regions with --region")
    #expect(error?.source.hasSuffix("(for --all-regions)") == true)

    let html = try await Self.server(FakeAnswer(500, "<!doctype html><title>oops</title>"), clock: clock)
    defer { html.stop() }
    let other = EC2RegionsClient(
      endpoint: html.url, region: "us-east-1", http: AsyncHTTPSender(), now: clock.function)
    let unreadable = await #expect(throws: AWSCredentialError.self) {
      try await other.describeRegions(credentials: Self.keys)
    }
    #expect(unreadable?.message.hasPrefix("HTTP 500, not an EC2 answer") == true)

    let empty = try await Self.server(
      FakeAnswer(200, "<DescribeRegionsResponse><regionInfo/></DescribeRegionsResponse>"), clock: clock)
    defer { empty.stop() }
    let none = EC2RegionsClient(
      endpoint: empty.url, region: "us-east-1", http: AsyncHTTPSender(), now: clock.function)
    let nothing = await #expect(throws: AWSCredentialError.self) {
      try await none.describeRegions(credentials: Self.keys)
    }
    #expect(nothing != nil)
  }
}
