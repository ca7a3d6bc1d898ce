// The request-path fuzz harness: one input is a raw HTTP/1.1 request (request line, headers, body)
// that goes through `KMSRequestHandler` exactly as `kmsdash serve` would hand it over: target
// routing, AWS JSON 1.1 decoding, validation, SigV4 header parsing and verification, and the engine.
//
// Two ways to build it:
// - a normal `swift build` gives `kmsfuzz FILE|DIR…`, a replayer that runs inputs (e.g.
//   Fuzz/corpus/) through the harness and fails on a broken invariant;
// - `scripts/proof-fuzz-libfuzzer` builds it with `-DKMSFUZZ -sanitize=fuzzer,address` (its own
//   scratch path), which makes `main` hand over to libFuzzer's driver.
//
// Invariants checked for every input (a failure traps, so libFuzzer records a crash):
// - the response body is a JSON object;
// - a non-200 response has a non-empty `__type` and a 4xx/5xx status;
// - no `KMSInternalException` (500): malformed input must never reach an unexpected error.
// The same input also goes through the XKS proxy (`XKSProxyCore`, demo configuration, its clock
// at the request's X-Amz-Date): every answer is 200 with a JSON object, 405, or an error of the
// spec's table with its status, and never InternalException.

import AWSSigV4
import Foundation
import HTTPTypes
import KMSModel
import KMSServer
import KeyStoreEngine
import Logging
import NIOCore
import XKSProxy

/// A raw HTTP/1.1 request split into its parts (lenient: anything goes, like a fuzzer's bytes).
struct RawRequest {
  var method = "POST"
  var path = "/"
  var query = ""
  var headers: [(name: String, value: String)] = []
  var body: [UInt8] = []

  init(_ bytes: UnsafeRawBufferPointer) {
    let all = Array(bytes)
    // Head ends at the first blank line ("\r\n\r\n" or "\n\n"); no blank line: everything is head.
    var headEnd = all.count
    var bodyStart = all.count
    var index = 0
    while index < all.count {
      if all[index] == 0x0A {
        if index + 1 < all.count, all[index + 1] == 0x0A {
          headEnd = index
          bodyStart = index + 2
          break
        }
        if index + 2 < all.count, all[index + 1] == 0x0D, all[index + 2] == 0x0A {
          headEnd = index
          bodyStart = index + 3
          break
        }
      }
      index += 1
    }
    body = Array(all[bodyStart...])
    let head = String(decoding: all[..<headEnd], as: UTF8.self)
    var lines = head.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
      .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
    guard !lines.isEmpty else { return }
    let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: true)
    if requestLine.count >= 1 { method = String(requestLine[0]) }
    if requestLine.count >= 2 {
      let target = requestLine[1]
      if let mark = target.firstIndex(of: "?") {
        path = String(target[..<mark])
        query = String(target[target.index(after: mark)...])
      } else {
        path = String(target)
      }
    }
    for line in lines {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let name = String(line[..<colon])
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      headers.append((name: name, value: value))
    }
  }
}

/// A result from an async call made on a thread outside Swift concurrency.
private final class ResultBox<T>: @unchecked Sendable {
  var value: T?
}

/// Runs `body` to completion from synchronous code (libFuzzer's callback thread).
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
  let box = ResultBox<T>()
  let done = DispatchSemaphore(value: 0)
  Task {
    box.value = await body()
    done.signal()
  }
  done.wait()
  return box.value!
}

/// What one input produced (for the replayer's summary).
struct FuzzOutcome {
  var status: Int
  var type: String?
  var violation: String?
}

enum FuzzHarness {
  /// The credentials of the captured AWS CLI requests in Fuzz/corpus/ (`aws configure` values of
  /// the capture): their signatures verify, so mutations start from a request that gets through.
  static let credentials = AWSCredentials(
    accessKeyId: "AKIDFUZZEXAMPLE", secretAccessKey: "fuzzSecretKey/K7MDENG+bPxRfiCYEXAMPLEKEY")
  static let fallbackNow = AmzDate.parse("20260101T000000Z")!
  static let maxBodyBytes = 64 * 1024
  /// Inputs per engine: a fresh demo engine now and then keeps memory bounded.
  static let inputsPerEngine = 20_000

  nonisolated(unsafe) static var engine: KeyStoreEngine?
  nonisolated(unsafe) static var inputsOnEngine = 0

  static let logger: Logger = {
    var logger = Logger(label: "kmsfuzz", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
  }()

  static func currentEngine() -> KeyStoreEngine {
    if let engine, inputsOnEngine < inputsPerEngine {
      inputsOnEngine += 1
      return engine
    }
    let fresh = runBlocking { () -> KeyStoreEngine in
      let engine = KeyStoreEngine(configuration: EngineConfiguration(timeScale: 1000, seed: 7))
      try! await engine.load(.demo)
      return engine
    }
    engine = fresh
    inputsOnEngine = 1
    return fresh
  }

  /// Runs one input through a SigV4-checking handler (its clock set to the request's X-Amz-Date,
  /// so captured requests verify) and through a `--no-auth` handler. Returns both outcomes.
  static func run(_ bytes: UnsafeRawBufferPointer) -> [FuzzOutcome] {
    let request = RawRequest(bytes)
    let engine = currentEngine()
    var fields = HTTPFields()
    var authority: String?
    var amzDate: Date?
    for header in request.headers {
      guard let name = HTTPField.Name(header.name) else { continue }
      fields.append(HTTPField(name: name, value: header.value))
      let lower = header.name.lowercased()
      if lower == "host" { authority = header.value }
      if lower == "x-amz-date" { amzDate = AmzDate.parse(header.value) }
    }
    // Parsers reached directly too, whatever the handler does first.
    if let authorization = fields[.authorization] { _ = try? SigV4Authorization.parse(authorization) }

    let body: ByteBuffer? = request.body.count > maxBodyBytes ? nil : ByteBuffer(bytes: request.body)
    let now = amzDate ?? fallbackNow
    let provider = SingleBackendProvider(engine)
    let signed = KMSRequestHandler(
      options: KMSServerOptions(
        authentication: .sigV4(SigV4Verifier(credentials: [credentials])), maxBodyBytes: maxBodyBytes,
        now: { now }),
      backends: provider, logger: logger)
    let open = KMSRequestHandler(
      options: KMSServerOptions(authentication: .disabled, maxBodyBytes: maxBodyBytes),
      backends: provider, logger: logger)
    let method = request.method
    let path = request.path
    let query = request.query
    let headers = fields
    let host = authority
    let responses = runBlocking { () -> [WireResponse] in
      let first = await signed.handle(
        method: method, path: path, query: query, authority: host, headers: headers, body: body)
      let second = await open.handle(
        method: method, path: path, query: query, authority: host, headers: headers, body: body)
      return [first, second]
    }
    return responses.map(check) + [checkProxy(request, now: now)]
  }

  /// The simulated external key manager, made once (its keys are new on every run).
  static let ekm = try! ExternalKeyManager(configuration: .demo, state: nil)

  /// The XKS proxy's request path against the spec's error table.
  static func checkProxy(_ request: RawRequest, now: Date) -> FuzzOutcome {
    let core = XKSProxyCore(configuration: .demo, ekm: ekm, now: { now })
    let response = core.handle(
      XKSHTTPRequest(
        method: request.method, path: request.path, query: request.query, headers: request.headers,
        body: Data(request.body)))
    if response.status == 405 || response.path(isControl: request.path) {
      return FuzzOutcome(status: response.status)
    }
    let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
    if response.status == 200 {
      if request.path == "/ping" { return FuzzOutcome(status: 200) }
      return object == nil
        ? FuzzOutcome(status: 200, violation: "xks: 200 without a JSON object") : FuzzOutcome(status: 200)
    }
    guard let name = (object?["errorName"] as? String).flatMap(XKSErrorName.init(rawValue:)) else {
      return FuzzOutcome(
        status: response.status, violation: "xks: \(response.status) without a known errorName")
    }
    guard name.httpStatus == response.status else {
      return FuzzOutcome(
        status: response.status, type: name.rawValue,
        violation: "xks: \(name.rawValue) with \(response.status)")
    }
    if name == .internalException {
      return FuzzOutcome(status: response.status, type: name.rawValue, violation: "xks: InternalException")
    }
    return FuzzOutcome(status: response.status, type: "xks " + name.rawValue)
  }

  /// Checks a response against the wire contract (kms-spec §6.3, §6.4).
  static func check(_ response: WireResponse) -> FuzzOutcome {
    let data = Data(response.body.readableBytesView)
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      return FuzzOutcome(
        status: response.status, type: nil,
        violation: "body is not a JSON object: \(String(decoding: data.prefix(200), as: UTF8.self))")
    }
    if response.status == 200 { return FuzzOutcome(status: 200, type: nil) }
    let type = object["__type"] as? String
    guard let type, !type.isEmpty else {
      return FuzzOutcome(status: response.status, type: nil, violation: "error without __type")
    }
    guard (400...599).contains(response.status) else {
      return FuzzOutcome(
        status: response.status, type: type, violation: "error with status \(response.status)")
    }
    if type == "KMSInternalException" {
      return FuzzOutcome(
        status: response.status, type: type,
        violation: "KMSInternalException for \(response.operation): \(object["message"] ?? "")")
    }
    return FuzzOutcome(status: response.status, type: type)
  }
}

/// libFuzzer's entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
  for outcome in FuzzHarness.run(bytes) {
    if let violation = outcome.violation {
      fatalError("kmsfuzz invariant broken: \(violation)")
    }
  }
  return 0
}

#if KMSFUZZ
  @_silgen_name("LLVMFuzzerRunDriver")
  func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
  ) -> Int32
#endif

@main
struct KMSFuzzMain {
  static func main() {
    #if KMSFUZZ
      var argc = CommandLine.argc
      var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
      exit(runFuzzerDriver(&argc, &argv, fuzzTestOneInput))
    #else
      exit(replay(Array(CommandLine.arguments.dropFirst())))
    #endif
  }

  /// `kmsfuzz FILE|DIR…`: runs every input through the harness and prints what came back.
  static func replay(_ arguments: [String]) -> Int32 {
    guard !arguments.isEmpty else {
      print("usage: kmsfuzz FILE|DIR…  (replays raw HTTP requests through the request path)")
      print("Built with -DKMSFUZZ -sanitize=fuzzer,address it is a libFuzzer target instead.")
      return 2
    }
    var files: [String] = []
    for argument in arguments {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
        print("kmsfuzz: no such file: \(argument)")
        return 2
      }
      if isDirectory.boolValue {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []
        files += names.sorted().map { argument + "/" + $0 }
      } else {
        files.append(argument)
      }
    }
    var counts: [String: Int] = [:]
    var violations = 0
    for file in files {
      guard let data = FileManager.default.contents(atPath: file) else { continue }
      let outcomes = data.withUnsafeBytes { FuzzHarness.run($0) }
      for (index, outcome) in outcomes.enumerated() {
        let mode = index == 0 ? "sigv4" : index == 1 ? "no-auth" : "xks-proxy"
        counts["\(mode) \(outcome.status) \(outcome.type ?? "-")", default: 0] += 1
        if let violation = outcome.violation {
          violations += 1
          print("VIOLATION \(file) [\(mode)]: \(violation)")
        }
      }
    }
    for (key, count) in counts.sorted(by: { $0.key < $1.key }) {
      print(String(repeating: " ", count: max(0, 6 - String(count).count)) + "\(count)  \(key)")
    }
    print("kmsfuzz replay: \(files.count) inputs, \(violations) violations")
    return violations == 0 ? 0 : 1
  }
}

extension XKSHTTPResponse {
  /// The proxy's QA control endpoint answers its own JSON (not the XKS error table).
  func path(isControl path: String) -> Bool { path.hasPrefix(XKSProxyCore.controlPrefix) }
}
