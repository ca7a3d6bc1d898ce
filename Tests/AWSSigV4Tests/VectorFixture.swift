import Foundation
import Testing

struct VectorFile: Decodable {
  struct Credentials: Decodable {
    var access_key_id: String
    var secret_access_key: String
  }
  struct Request: Decodable {
    var method: String
    var url: String
    var headers: [String: String]
    var body: String
    var body_sha256: String
  }
  struct Vector: Decodable {
    var name: String
    var request: Request
    var session_token: String?
    var signed_headers: String
    var credential_scope: String
    var signing_key_hex: String
    var canonical_request: String
    var string_to_sign: String
    var signature: String
    var authorization: String
  }
  struct NegativeCase: Decodable {
    var name: String
    var authorization: String?
    var body: String?
    var server_time: String?
    var expect_type: String?
    var expect_status: Int
    var expect_message_shape: String?
  }
  var credentials: Credentials
  var region: String
  var service: String
  var amz_date: String
  var vectors: [Vector]
  var negative_cases_base: String
  var negative_cases: [NegativeCase]

  static func load() throws -> VectorFile {
    let url = try #require(
      Bundle.module.url(
        forResource: "sigv4-kms-vectors", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: url))
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
