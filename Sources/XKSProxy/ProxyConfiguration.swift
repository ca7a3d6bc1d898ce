import Foundation
import KMSModel

/// What `kmsdash xks-proxy --config FILE` reads (JSON), and the demo used without one.
///
/// ```json
/// {"keyStores": [{"uriPath": "/demo/kms/xks/v1",
///                 "credentials": [{"accessKeyId": "…", "secretAccessKey": "…"}]}],
///  "keys": [{"id": "demo-aes-1", "usage": ["ENCRYPT", "DECRYPT"], "status": "ENABLED"}],
///  "ekmFleet": [{"id": "ekm-1", "model": "…"}], "throttlePerSecond": null}
/// ```
public struct XKSProxyConfiguration: Codable, Sendable, Equatable {
  public struct Credential: Codable, Sendable, Equatable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public init(accessKeyId: String, secretAccessKey: String) {
      self.accessKeyId = accessKeyId
      self.secretAccessKey = secretAccessKey
    }
  }

  /// One logical key store: a URI path (`[/prefix]/kms/xks/v1`) and up to two credentials.
  public struct KeyStore: Codable, Sendable, Equatable {
    public var uriPath: String
    public var credentials: [Credential]
    public init(uriPath: String, credentials: [Credential]) {
      self.uriPath = uriPath
      self.credentials = credentials
    }
  }

  public struct Key: Codable, Sendable, Equatable {
    public var id: String
    /// `AES_256` (the default); anything else is reported as is and refused by KMS.
    public var spec: String?
    public var usage: [String]
    public var status: String?
    public init(id: String, spec: String? = nil, usage: [String], status: String? = nil) {
      self.id = id
      self.spec = spec
      self.usage = usage
      self.status = status
    }
  }

  public struct EkmMember: Codable, Sendable, Equatable {
    public var id: String
    public var model: String
    public init(id: String, model: String) {
      self.id = id
      self.model = model
    }
  }

  public var keyStores: [KeyStore]
  public var keys: [Key]
  public var ekmFleet: [EkmMember]?
  /// Regions accepted in the SigV4 scope; nil accepts any (KMS signs with its own Region).
  public var regions: [String]?

  public init(keyStores: [KeyStore], keys: [Key], ekmFleet: [EkmMember]? = nil, regions: [String]? = nil) {
    self.keyStores = keyStores
    self.keys = keys
    self.ekmFleet = ekmFleet
    self.regions = regions
  }

  public static let demoAccessKeyId = "KMSDASHDEMOXKSACCESSKEY2"
  public static let demoSecretAccessKey = "kmsdashDemoXksSecretKey0123456789abcdefghijk"
  public static let demoUriPath = "/demo/kms/xks/v1"

  /// The demo configuration (issue 10, documented in the README).
  public static let demo = XKSProxyConfiguration(
    keyStores: [
      KeyStore(
        uriPath: demoUriPath,
        credentials: [Credential(accessKeyId: demoAccessKeyId, secretAccessKey: demoSecretAccessKey)])
    ],
    keys: [
      Key(id: "demo-aes-1", usage: ["ENCRYPT", "DECRYPT"]),
      Key(id: "demo-aes-2", usage: ["ENCRYPT", "DECRYPT"]),
      Key(id: "demo-encrypt-only", usage: ["ENCRYPT"]),
      Key(id: "demo-decrypt-only", usage: ["DECRYPT"]),
      Key(id: "demo-no-usage", usage: ["SIGN", "VERIFY"]),
      Key(id: "demo-disabled", usage: ["ENCRYPT", "DECRYPT"], status: "DISABLED"),
    ],
    ekmFleet: [
      EkmMember(id: "ekm-1", model: "kmsdash simulated HSM 1.0"),
      EkmMember(id: "ekm-2", model: "kmsdash simulated HSM 1.0"),
    ])

  public static func load(from url: URL) throws -> XKSProxyConfiguration {
    let data = try Data(contentsOf: url)
    let configuration: XKSProxyConfiguration
    do {
      configuration = try JSONDecoder().decode(XKSProxyConfiguration.self, from: data)
    } catch {
      throw ConfigurationError("\(url.path) is not a valid proxy configuration: \(error)")
    }
    try configuration.validate()
    return configuration
  }

  public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
  }

  /// The rules of the spec: path shape, credential shapes, key IDs, fleet size.
  public func validate() throws {
    guard !keyStores.isEmpty else { throw ConfigurationError("keyStores must name at least one key store.") }
    var seenPaths: Set<String> = []
    var seenKeys: Set<String> = []
    for store in keyStores {
      guard store.uriPath.count <= 128,
        store.uriPath.wholeMatch(of: /(\/[A-Za-z0-9\/_-]+)?\/kms\/xks\/v1/) != nil
      else {
        throw ConfigurationError(
          "uriPath '\(store.uriPath)' must be [/prefix]/kms/xks/v1 (at most 128 of A-Z a-z 0-9 / _ -).")
      }
      guard seenPaths.insert(store.uriPath).inserted else {
        throw ConfigurationError("uriPath '\(store.uriPath)' appears twice.")
      }
      guard (1...2).contains(store.credentials.count) else {
        throw ConfigurationError(
          "Key store \(store.uriPath) needs one or two credentials (two for rotation).")
      }
      for credential in store.credentials {
        guard credential.accessKeyId.wholeMatch(of: /[A-Z2-7]{20,30}/) != nil else {
          throw ConfigurationError(
            "Access key ID of \(store.uriPath) must be 20-30 characters of A-Z and 2-7.")
        }
        guard credential.secretAccessKey.wholeMatch(of: /[A-Za-z0-9\/+=]{43,64}/) != nil else {
          throw ConfigurationError(
            "Secret access key of \(store.uriPath) must be 43-64 characters of A-Z a-z 0-9 / + =.")
        }
        guard seenKeys.insert(credential.accessKeyId).inserted else {
          throw ConfigurationError("Access key ID \(credential.accessKeyId) is used twice.")
        }
      }
    }
    var ids: Set<String> = []
    for key in keys {
      guard key.id.wholeMatch(of: /[A-Za-z0-9._-]{1,128}/) != nil else {
        throw ConfigurationError("External key ID '\(key.id)' must be 1-128 characters of A-Z a-z 0-9 . _ -.")
      }
      guard ids.insert(key.id).inserted else { throw ConfigurationError("Key \(key.id) appears twice.") }
      guard key.usage.count <= 10 else { throw ConfigurationError("Key \(key.id) has more than ten usages.") }
      if let status = key.status, !["ENABLED", "DISABLED"].contains(status) {
        throw ConfigurationError("Key \(key.id): status must be ENABLED or DISABLED.")
      }
    }
    if let fleet = ekmFleet, !(1...10).contains(fleet.count) {
      throw ConfigurationError("ekmFleet must have 1 to 10 members.")
    }
  }

  /// The KMS console's proxy configuration file for one key store.
  public func kmsConsoleConfiguration(uriPath: String? = nil) -> String? {
    guard let store = keyStores.first(where: { uriPath == nil || $0.uriPath == uriPath }),
      let credential = store.credentials.last
    else { return nil }
    struct File: Encodable {
      struct Credential: Encodable {
        var accessKeyId: String
        var rawSecretAccessKey: String
        enum CodingKeys: String, CodingKey {
          case accessKeyId = "AccessKeyId"
          case rawSecretAccessKey = "RawSecretAccessKey"
        }
      }
      var uriPath: String
      var credential: Credential
      enum CodingKeys: String, CodingKey {
        case uriPath = "XksProxyUriPath"
        case credential = "XksProxyAuthenticationCredential"
      }
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let file = File(
      uriPath: store.uriPath,
      credential: .init(accessKeyId: credential.accessKeyId, rawSecretAccessKey: credential.secretAccessKey))
    return (try? encoder.encode(file)).map { String(decoding: $0, as: UTF8.self) }
  }
}
