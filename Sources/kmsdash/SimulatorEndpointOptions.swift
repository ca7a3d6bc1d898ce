import AWSSigV4
import ArgumentParser
import Foundation
import KMSClient

/// How `kmsdash fault` and `kmsdash reset` sign their requests to a `kmsdash serve`.
struct SigningOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Region to sign for (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1).", valueName: "region"))
  var region: String?

  @Option(help: ArgumentHelp("Access key ID (default: AWS_ACCESS_KEY_ID).", valueName: "id"))
  var accessKeyId: String?

  @Option(help: ArgumentHelp("Secret access key (default: AWS_SECRET_ACCESS_KEY).", valueName: "secret"))
  var secretAccessKey: String?

  /// The endpoint with the flags' credentials, else `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
  /// (+ `AWS_SESSION_TOKEN`), else none (unsigned, for a `--no-auth` server); the region from the
  /// flag, else `AWS_REGION`/`AWS_DEFAULT_REGION`, else us-east-1.
  func configuration(endpoint: URL, environment: [String: String]) -> KMSHTTPClient.Configuration {
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
}

/// Where `kmsdash reset` sends its request, and how it signs it.
struct SimulatorEndpointOptions: ParsableArguments {
  @Option(help: ArgumentHelp("The kmsdash serve endpoint, e.g. http://127.0.0.1:4599.", valueName: "url"))
  var endpoint: String

  @OptionGroup var signing: SigningOptions

  func validate() throws {
    guard let url = URL(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme),
      url.host != nil
    else { throw ValidationError("--endpoint must be an http(s) URL such as http://127.0.0.1:4599.") }
  }

  func client(environment: [String: String] = ProcessInfo.processInfo.environment) -> KMSHTTPClient {
    KMSHTTPClient(
      configuration: signing.configuration(endpoint: URL(string: endpoint)!, environment: environment))
  }
}
