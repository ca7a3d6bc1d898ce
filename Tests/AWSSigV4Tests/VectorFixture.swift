import Foundation
import Testing

struct VectorFile: Decodable {
  struct Credentials: Decodable {
    var accessKeyId: String
    var secretAccessKey: String
  }
  struct Request: Decodable {
    var method: String
    var url: String
    var headers: [String: String]
    var body: String
    var bodySha256: String
  }
  struct Vector: Decodable {
    var name: String
    var request: Request
    var sessionToken: String?
    var signedHeaders: String
    var credentialScope: String
    var signingKeyHex: String
    var canonicalRequest: String
    var stringToSign: String
    var signature: String
    var authorization: String
  }
  struct NegativeCase: Decodable {
    var name: String
    var authorization: String?
    var body: String?
    var serverTime: String?
    var expectType: String?
    var expectStatus: Int
    var expectMessageShape: String?
  }
  var credentials: Credentials
  var region: String
  var service: String
  var amzDate: String
  var vectors: [Vector]
  var negativeCasesBase: String
  var negativeCases: [NegativeCase]

  static func load() throws -> VectorFile {
    let url = try #require(
      Bundle.module.url(
        forResource: "sigv4-kms-vectors", withExtension: "json", subdirectory: "Fixtures"))
    // The fixture's keys are botocore's snake_case.
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(VectorFile.self, from: Data(contentsOf: url))
  }
}

extension VectorFile.Request {
  /// `host[:port]` of the URL, as botocore sends it in `Host`.
  var host: String {
    let components = URLComponents(string: url)!
    if let port = components.port { return "\(components.host!):\(port)" }
    return components.host!
  }

  var headerList: [(name: String, value: String)] {
    headers.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
  }
}
