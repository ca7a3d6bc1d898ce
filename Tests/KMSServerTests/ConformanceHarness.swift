import Foundation
import Testing

/// Runs the built `kmsdash serve` and the real AWS clients (AWS CLI v1, boto3) against it.
enum Conformance {
  static let accessKeyId = "AKIDKMSDASHTEST00001"
  static let secretAccessKey = "kmsdash/conformance+secret/0000000000000"
  static let installHint = "the conformance tests need the AWS CLI and boto3: pip install awscli boto3"

  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  static var isCI: Bool { ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false }

  /// Whether `aws` and boto3 can be run (checked once).
  static let toolsAvailable: Bool = {
    let aws = try? runSync(
      "/usr/bin/env", ["aws", "--version"], environment: clientEnvironment(region: "us-east-1"))
    let boto = try? runSync(
      "/usr/bin/env", ["python3", "-c", "import boto3, botocore"],
      environment: clientEnvironment(region: "us-east-1"))
    return aws?.status == 0 && boto?.status == 0
  }()

  /// Tests run when the tools are there, and also on CI (where they then fail, naming the fix).
  static var enabled: Bool { toolsAvailable || isCI }

  /// Call first in every conformance test: without the tools the test fails here, naming the
  /// install command (it cannot return early and pass).
  static func requireTools(sourceLocation: SourceLocation = #_sourceLocation) throws {
    try #require(toolsAvailable, Comment(rawValue: installHint), sourceLocation: sourceLocation)
  }

  /// The `kmsdash` binary next to the test bundle (`.build/debug/kmsdash`).
  static func kmsdashBinary() throws -> URL {
    var candidates: [URL] = []
    if let executable = Bundle.main.executableURL {
      candidates.append(executable.deletingLastPathComponent().appendingPathComponent("kmsdash"))
      candidates.append(
        executable.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("kmsdash"))
    }
    candidates.append(Bundle.main.bundleURL.appendingPathComponent("kmsdash"))
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("kmsdash"))
    candidates.append(packageRoot.appendingPathComponent(".build/debug/kmsdash"))
    for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.path) {
      return candidate
    }
    throw HarnessError(
      "kmsdash binary not found next to the tests (run `swift build --build-tests`): \(candidates.map(\.path))"
    )
  }

  /// An environment for the clients: our credentials and region, no user configuration, no retries.
  static func clientEnvironment(region: String, secret: String? = nil) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment.filter {
      !$0.key.hasPrefix("AWS_")
    }
    environment["AWS_ACCESS_KEY_ID"] = accessKeyId
    environment["AWS_SECRET_ACCESS_KEY"] = secret ?? secretAccessKey
    environment["AWS_DEFAULT_REGION"] = region
    environment["AWS_CONFIG_FILE"] = "/nonexistent/kmsdash-conformance/config"
    environment["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/kmsdash-conformance/credentials"
    environment["AWS_RETRY_MODE"] = "standard"
    environment["AWS_MAX_ATTEMPTS"] = "1"
    environment["AWS_EC2_METADATA_DISABLED"] = "true"
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return environment
  }

  struct Output: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
  }

  static func runSync(_ executable: String, _ arguments: [String], environment: [String: String]) throws
    -> Output
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = environment
    let outPipe = Pipe()
    let errPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = errPipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read stderr on another thread so neither pipe can fill up and block the child.
    let errData = LockedData()
    let errThread = Thread { errData.set(errPipe.fileHandleForReading.readDataToEndOfFile()) }
    errThread.start()
    let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errData.isSet { usleep(1000) }
    return Output(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData.value, as: UTF8.self))
  }

  /// Runs a process off the cooperative pool.
  static func run(_ executable: String, _ arguments: [String], environment: [String: String]) async throws
    -> Output
  {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async {
        continuation.resume(with: Result { try runSync(executable, arguments, environment: environment) })
      }
    }
  }
}

final class LockedData: @unchecked Sendable {
  private let lock = NSLock()
  private var data: Data?
  func set(_ value: Data) { lock.withLock { data = value } }
  var isSet: Bool { lock.withLock { data != nil } }
  var value: Data { lock.withLock { data ?? Data() } }
}

/// A running `kmsdash serve` on a free port; terminated (SIGTERM) by `stop()`.
final class ServerProcess: @unchecked Sendable {
  let process = Process()
  let endpoint: String
  let logURL: URL
  let directory: URL

  /// Starts the server and waits (with a deadline) until it prints its address.
  init(arguments extra: [String] = [], environment: [String: String]? = nil, credentialFlags: Bool = true)
    async throws
  {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kmsdash-conformance-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    logURL = directory.appendingPathComponent("server.log")
    _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
    process.executableURL = try Conformance.kmsdashBinary()
    process.arguments =
      ["serve", "--host", "127.0.0.1", "--port", "0", "--time-scale", "4", "--ephemeral"]
      + (credentialFlags
        ? ["--access-key-id", Conformance.accessKeyId, "--secret-access-key", Conformance.secretAccessKey]
        : [])
      + extra
    if let environment { process.environment = environment }
    let outPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = try FileHandle(forWritingTo: logURL)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let reader = outPipe.fileHandleForReading
    let endpoint: String? = await withCheckedContinuation { continuation in
      DispatchQueue.global().async {
        var buffer = Data()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
          let chunk = reader.availableData
          if chunk.isEmpty { break }  // EOF: the server exited
          buffer.append(chunk)
          let text = String(decoding: buffer, as: UTF8.self)
          if let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
            continuation.resume(returning: String(text[range]))
            // Keep draining stdout so the server never blocks on it.
            DispatchQueue.global().async { while !reader.availableData.isEmpty {} }
            return
          }
        }
        continuation.resume(returning: nil)
      }
    }
    guard let endpoint else {
      process.terminate()
      let log = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
      throw Conformance.HarnessError("kmsdash serve did not start: \(log.suffix(2000))")
    }
    self.endpoint = endpoint
  }

  var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

  func stop() {
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
    }
    try? FileManager.default.removeItem(at: directory)
  }

  /// `aws <args> --endpoint-url <endpoint> --output json` in `region`.
  func aws(_ arguments: [String], region: String = "us-east-1", secret: String? = nil) async throws
    -> Conformance.Output
  {
    try await Conformance.run(
      "/usr/bin/env", ["aws"] + arguments + ["--endpoint-url", endpoint, "--output", "json"],
      environment: Conformance.clientEnvironment(region: region, secret: secret))
  }

  /// Runs a boto3 script (written to the temp dir). The script gets `ENDPOINT`, `REGION`,
  /// `kms`, `hsm` (clients), `ClientError` and `expect_error(code, fn, **kwargs)` predefined.
  func python(_ script: String, region: String = "us-east-1", name: String = "script") async throws
    -> Conformance.Output
  {
    let url = directory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(6)).py")
    try (Self.prelude + script).write(to: url, atomically: true, encoding: .utf8)
    var environment = Conformance.clientEnvironment(region: region)
    environment["KMSDASH_ENDPOINT"] = endpoint
    environment["KMSDASH_CA_PATH"] =
      Conformance.packageRoot.appendingPathComponent("assets/certs/customerCA.crt").path
    environment["KMSDASH_BINARY"] = try Conformance.kmsdashBinary().path
    return try await Conformance.run("/usr/bin/env", ["python3", url.path], environment: environment)
  }

  static let prelude = #"""
    import json, os, subprocess, sys, time
    import boto3, botocore
    from botocore.config import Config
    from botocore.exceptions import ClientError

    ENDPOINT = os.environ["KMSDASH_ENDPOINT"]
    REGION = os.environ["AWS_DEFAULT_REGION"]
    CA = open(os.environ["KMSDASH_CA_PATH"]).read()
    CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"})
    kms = boto3.client("kms", endpoint_url=ENDPOINT, region_name=REGION, config=CONFIG)
    hsm = boto3.client("cloudhsmv2", endpoint_url=ENDPOINT, region_name=REGION, config=CONFIG)

    def expect_error(code, fn, **kwargs):
        try:
            fn(**kwargs)
        except ClientError as error:
            got = error.response["Error"]["Code"]
            assert got == code, f"{fn.__name__}: expected {code}, got {got}: {error}"
            assert error.response["ResponseMetadata"]["RequestId"], "no request id"
            return error
        raise AssertionError(f"{fn.__name__}({kwargs}) succeeded; expected {code}")

    def store(store_id):
        return kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"][0]

    def wait_state(store_id, wanted, timeout=30):
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            entry = store(store_id)
            state = entry["ConnectionState"]
            if not seen or seen[-1] != state:
                seen.append(state)
            if state == wanted:
                return entry, seen
            time.sleep(0.05)
        raise AssertionError(f"{store_id} did not reach {wanted} within {timeout}s; saw {seen}")

    def fault(*args):
        result = subprocess.run(
            [os.environ["KMSDASH_BINARY"], "fault", "--endpoint", ENDPOINT, *args],
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"kmsdash fault {args}: {result.returncode} {result.stderr}"
        return result.stdout

    """#
}
