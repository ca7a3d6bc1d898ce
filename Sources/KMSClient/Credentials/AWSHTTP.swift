import AWSSigV4
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One plain HTTP exchange for the credential sources (STS, IAM Identity Center, instance and
/// container metadata): no AWS JSON framing, any method, any path.
public struct AWSHTTPRequest: Sendable {
  public var method: String
  public var url: URL
  public var headers: [(name: String, value: String)]
  public var body: Data
  public var timeout: Duration

  public init(
    method: String, url: URL, headers: [(name: String, value: String)] = [], body: Data = Data(),
    timeout: Duration = .seconds(10)
  ) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.timeout = timeout
  }
}

/// Status, headers (names lowercased) and body.
public struct AWSHTTPResponse: Sendable, Equatable {
  public var status: Int
  public var headers: [String: String]
  public var body: Data

  public init(status: Int, headers: [String: String] = [:], body: Data) {
    self.status = status
    self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }) { _, last in last }
    self.body = body
  }

  public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Sends one request; throws only when no answer came (refused, timed out, TLS).
public protocol AWSHTTPSending: Sendable {
  func send(_ request: AWSHTTPRequest) async throws -> AWSHTTPResponse
}

/// `AWSHTTPSending` over AsyncHTTPClient.
public struct AsyncHTTPSender: AWSHTTPSending {
  private let client: HTTPClient
  public var maxResponseBytes: Int

  public init(client: HTTPClient = .shared, maxResponseBytes: Int = 1024 * 1024) {
    self.client = client
    self.maxResponseBytes = maxResponseBytes
  }

  public func send(_ request: AWSHTTPRequest) async throws -> AWSHTTPResponse {
    var http = HTTPClientRequest(url: request.url.absoluteString)
    http.method = HTTPMethod(rawValue: request.method)
    for header in request.headers { http.headers.add(name: header.name, value: header.value) }
    if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
      http.body = .bytes(ByteBuffer(bytes: request.body))
    }
    let (seconds, attoseconds) = request.timeout.components
    let amount = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    do {
      let response = try await client.execute(http, timeout: amount)
      let body = try await response.body.collect(upTo: maxResponseBytes)
      var headers: [String: String] = [:]
      for header in response.headers { headers[header.name.lowercased()] = header.value }
      return AWSHTTPResponse(
        status: Int(response.status.code), headers: headers,
        body: body.withUnsafeReadableBytes { Data($0) })
    } catch is CancellationError {
      throw CancellationError()
    } catch {
      throw HTTPTransport.classify(error, endpoint: Self.display(request.url))
    }
  }

  /// The URL without its query (which may carry an account or role name, never a secret, but
  /// stays short in messages).
  static func display(_ url: URL) -> String {
    var components = URLComponents(url: url, resolvingAgainstBaseURL: false)
    components?.query = nil
    return components?.string ?? url.absoluteString
  }
}

// MARK: Small codecs shared by the credential sources

enum AWSWire {
  /// One Query-protocol request (STS, EC2): the form POSTed to `endpoint`, SigV4-signed for
  /// `service` when `credentials` are given. Any HTTP answer is returned; no answer throws
  /// `KMSTransportError`.
  static func postQuery(
    _ form: [(String, String)], to endpoint: URL, service: String, region: String,
    credentials: AWSCredentials?,
    http: any AWSHTTPSending, timeout: Duration, date: Date
  ) async throws -> AWSHTTPResponse {
    let body = Data(formEncode(form).utf8)
    let host = HTTPTransport.hostHeader(endpoint)
    let path = endpoint.path.isEmpty ? "/" : endpoint.path
    var headers: [(name: String, value: String)] = [
      (name: "Host", value: host),
      (name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8"),
    ]
    if let credentials {
      headers =
        SigV4Signer(credentials: credentials, region: region, service: service)
        .sign(method: "POST", host: host, path: path, headers: headers, body: body, date: date).headers
    }
    headers.append((name: "User-Agent", value: "kmsdash"))
    return try await http.send(
      AWSHTTPRequest(method: "POST", url: endpoint, headers: headers, body: body, timeout: timeout))
  }

  /// `application/x-www-form-urlencoded` as botocore writes the Query protocol: RFC 3986
  /// unreserved characters kept, everything else percent-encoded, in the given order.
  static func formEncode(_ parameters: [(String, String)]) -> String {
    parameters.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
  }

  static func percentEncode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-_.~")
    // alphanumerics includes non-ASCII letters: restrict to ASCII.
    var out = ""
    for scalar in text.unicodeScalars {
      if scalar.isASCII, allowed.contains(scalar) {
        out.unicodeScalars.append(scalar)
      } else {
        for byte in String(scalar).utf8 { out += String(format: "%%%02X", byte) }
      }
    }
    return out
  }

  /// The text of the first `<name>…</name>` element (entities decoded), nil if absent. Enough for
  /// STS's flat Query-protocol answers; not a general XML parser.
  static func xmlText(_ name: String, in xml: String) -> String? {
    guard let open = xml.range(of: "<\(name)>") else { return nil }
    guard let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else {
      return nil
    }
    return decodeEntities(String(xml[open.upperBound..<close.lowerBound]))
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// The `<name>…</name>` element's inner XML, for scoping a search.
  static func xmlElement(_ name: String, in xml: String) -> String? {
    guard let open = xml.range(of: "<\(name)>"),
      let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
    else { return nil }
    return String(xml[open.upperBound..<close.lowerBound])
  }

  static func decodeEntities(_ text: String) -> String {
    guard text.contains("&") else { return text }
    var out = ""
    var rest = Substring(text)
    while let amp = rest.firstIndex(of: "&") {
      out += rest[..<amp]
      guard let semi = rest[amp...].firstIndex(of: ";"), rest.distance(from: amp, to: semi) <= 10 else {
        out += "&"
        rest = rest[rest.index(after: amp)...]
        continue
      }
      let entity = rest[rest.index(after: amp)..<semi]
      switch entity {
      case "amp": out += "&"
      case "lt": out += "<"
      case "gt": out += ">"
      case "quot": out += "\""
      case "apos": out += "'"
      default:
        if entity.hasPrefix("#x"), let code = UInt32(entity.dropFirst(2), radix: 16),
          let scalar = Unicode.Scalar(code)
        {
          out.unicodeScalars.append(scalar)
        } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()),
          let scalar = Unicode.Scalar(code)
        {
          out.unicodeScalars.append(scalar)
        } else {
          out += "&\(entity);"
        }
      }
      rest = rest[rest.index(after: semi)...]
    }
    out += rest
    return out
  }

  /// ISO 8601 / RFC 3339 dates as AWS writes them: `2026-01-02T03:04:05Z`, with fractional
  /// seconds, or with an offset (`+00:00`).
  static func parseDate(_ text: String) -> Date? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let plain = ISO8601DateFormatter()
    plain.formatOptions = [.withInternetDateTime]
    if let date = plain.date(from: trimmed) { return date }
    let fractional = ISO8601DateFormatter()
    fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = fractional.date(from: trimmed) { return date }
    // `2026-01-02T03:04:05UTC` (the CLI's SSO cache once wrote this form).
    if trimmed.hasSuffix("UTC") { return parseDate(String(trimmed.dropLast(3)) + "Z") }
    return nil
  }

  static func formatDate(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
  }

  /// A body for an error message: short, one line, never HTML markup.
  static func snippet(_ data: Data, limit: Int = 200) -> String {
    let text = String(decoding: data.prefix(4096), as: UTF8.self)
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.hasPrefix("<") && trimmed.lowercased().contains("<html") {
      if let title = htmlTitle(trimmed) { return "an HTML page titled \"\(title)\"" }
      return "an HTML page"
    }
    let oneLine = trimmed.split(whereSeparator: \.isNewline).joined(separator: " ")
    return oneLine.count > limit ? String(oneLine.prefix(limit)) + "…" : oneLine
  }

  static func htmlTitle(_ html: String) -> String? {
    guard let open = html.range(of: "<title>", options: .caseInsensitive),
      let close = html.range(
        of: "</title>", options: .caseInsensitive, range: open.upperBound..<html.endIndex)
    else { return nil }
    let title = decodeEntities(String(html[open.upperBound..<close.lowerBound]))
      .trimmingCharacters(in: .whitespacesAndNewlines)
    return title.isEmpty ? nil : String(title.prefix(120))
  }
}
