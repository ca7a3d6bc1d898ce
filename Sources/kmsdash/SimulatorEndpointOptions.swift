import AWSSigV4
import ArgumentParser
import Foundation
import KMSClient

/// The endpoint with the flags' credentials, else `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
/// (+ `AWS_SESSION_TOKEN`), else none (unsigned, for a `--no-auth` server); the region from the
/// flag, else `AWS_REGION`/`AWS_DEFAULT_REGION`, else us-east-1. Shared by `kmsdash fault` and
/// `kmsdash reset`.
func simulatorClientConfiguration(
  endpoint: URL, region: String?, accessKeyId: String?, secretAccessKey: String?,
  environment: [String: String]
) -> KMSHTTPClient.Configuration {
  let region = region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
  let keyId = accessKeyId ?? environment["AWS_ACCESS_KEY_ID"]
  let secret = secretAccessKey ?? environment["AWS_SECRET_ACCESS_KEY"]
  var credentials: AWSCredentials?
  if let keyId, let secret, !keyId.isEmpty, !secret.isEmpty {
    let token = accessKeyId == nil ? environment["AWS_SESSION_TOKEN"] : nil
    credentials = AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token)
  }
  return KMSHTTPClient.Configuration(endpoint: endpoint, region: region, credentials: credentials)
}

/// Where a simulator command (`kmsdash reset`) sends its request, and how it signs it.
struct SimulatorEndpointOptions: ParsableArguments {
  @Option(help: ArgumentHelp("The kmsdash serve endpoint, e.g. http://127.0.0.1:4599.", valueName: "url"))
  var endpoint: String

  @Option(
    help: ArgumentHelp(
      "Region to sign for (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1).", valueName: "region"))
  var region: String?

  @Option(help: ArgumentHelp("Access key ID (default: AWS_ACCESS_KEY_ID).", valueName: "id"))
  var accessKeyId: String?

  @Option(help: ArgumentHelp("Secret access key (default: AWS_SECRET_ACCESS_KEY).", valueName: "secret"))
  var secretAccessKey: String?

  func validate() throws {
    guard let url = URL(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme),
      url.host != nil
    else { throw ValidationError("--endpoint must be an http(s) URL such as http://127.0.0.1:4599.") }
  }

  func client(environment: [String: String] = ProcessInfo.processInfo.environment) -> KMSHTTPClient {
    KMSHTTPClient(
      configuration: simulatorClientConfiguration(
        endpoint: URL(string: endpoint)!, region: region, accessKeyId: accessKeyId,
        secretAccessKey: secretAccessKey, environment: environment))
  }
}
