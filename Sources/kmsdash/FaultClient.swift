import AWSSigV4
import ArgumentParser
import Foundation
import KMSServer

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// A minimal AWS JSON 1.1 client for one target of a kmsdash endpoint, signed with SigV4 when
/// credentials are known (unsigned otherwise, which a `--no-auth` server accepts).
struct FaultClient: Sendable {
  struct Failure: Error, CustomStringConvertible {
    var type: String
    var message: String
    var status: Int
    var description: String { "An error occurred (\(type)): \(message)" }
  }

  var endpoint: URL
  var signer: SigV4Signer?

  /// Resolves credentials from the flags, else `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
  /// (+ `AWS_SESSION_TOKEN`) and the region from the flag, else `AWS_REGION`/`AWS_DEFAULT_REGION`.
  init(
    endpoint: URL, region: String?, accessKeyId: String?, secretAccessKey: String?,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) {
    self.endpoint = endpoint
    let region = region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
    let keyId = accessKeyId ?? environment["AWS_ACCESS_KEY_ID"]
    let secret = secretAccessKey ?? environment["AWS_SECRET_ACCESS_KEY"]
    if let keyId, let secret, !keyId.isEmpty, !secret.isEmpty {
      let token = accessKeyId == nil ? environment["AWS_SESSION_TOKEN"] : nil
      signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token),
        region: region, service: "kms")
    } else {
      signer = nil
    }
  }

  /// POSTs `request` to `target` and decodes the answer, or throws `Failure` with the AWS error.
  func call<Response: Decodable>(_ target: String, _ request: some Encodable, as: Response.Type) async throws
    -> Response
  {
    let body = try JSONEncoder().encode(request)
    var urlRequest = URLRequest(url: endpoint)
    urlRequest.httpMethod = "POST"
    urlRequest.httpBody = body
    urlRequest.timeoutInterval = 30
    var headers: [(name: String, value: String)] = [
      (name: "Content-Type", value: KMSRequestHandler.contentType), (name: "X-Amz-Target", value: target),
    ]
    if let signer {
      var host = endpoint.host ?? "localhost"
      if let port = endpoint.port { host += ":\(port)" }
      headers =
        signer.sign(
          method: "POST", host: host, path: endpoint.path.isEmpty ? "/" : endpoint.path, headers: headers,
          body: body, date: Date()
        ).headers
    }
    for header in headers { urlRequest.setValue(header.value, forHTTPHeaderField: header.name) }
    let (data, response) = try await URLSession.shared.data(for: urlRequest)
    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
    guard status == 200 else {
      let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
      let type = (object?["__type"] as? String).map { String($0.split(separator: "#").last ?? "") }
      let message = object?["message"] as? String ?? object?["Message"] as? String
      throw Failure(
        type: type ?? "HTTP \(status)", message: message ?? String(decoding: data.prefix(300), as: UTF8.self),
        status: status)
    }
    return try JSONDecoder().decode(Response.self, from: data)
  }
}

/// The endpoint and signing options of the commands that call a `kmsdash serve`'s simulator
/// target (`kmsdash fault`, `kmsdash reset`).
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

  func client() -> FaultClient {
    FaultClient(
      endpoint: URL(string: endpoint)!, region: region, accessKeyId: accessKeyId,
      secretAccessKey: secretAccessKey)
  }
}
