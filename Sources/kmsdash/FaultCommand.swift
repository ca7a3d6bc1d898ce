import AWSSigV4
import ArgumentParser
import Foundation
import KMSClient
import KMSModel

/// `kmsdash fault`: a client of the fault target (`KmsdashSimulator.*`) of a `kmsdash serve`.
struct FaultCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fault",
    abstract: "Inject, clear or list simulated CloudHSM faults on a kmsdash serve endpoint.",
    discussion: """
      Faults change what the next ConnectCustomKeyStore on a store backed by the cluster ends in \
      (for example KMSUSER_LOCKED_OUT makes it FAILED with USER_LOCKED_OUT). Fault names: \
      \(SimulatorFault.allCases.map(\.rawValue).joined(separator: ", ")).

      --vpc-endpoint-service NAME breaks a simulated VPC endpoint service instead (external key \
      stores with VPC_ENDPOINT_SERVICE connectivity): \
      \(XKSVPCEndpointServiceFault.allCases.map(\.rawValue).joined(separator: ", ")); \
      --vpc-endpoint-service all --list lists them. --xks-proxy URL sets a kmsdash xks-proxy's faults.

      Requests are signed with SigV4 using --access-key-id/--secret-access-key or \
      AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); without credentials they are \
      sent unsigned, which only a server started with --no-auth accepts.
      """)

  @Option(help: ArgumentHelp("The kmsdash serve endpoint, e.g. http://127.0.0.1:4599.", valueName: "url"))
  var endpoint: String?

  @Option(help: ArgumentHelp("CloudHSM cluster ID.", valueName: "id"))
  var cluster: String?

  @Option(
    help: ArgumentHelp(
      "A kmsdash xks-proxy, e.g. https://127.0.0.1:4600: set its faults instead (see --set).",
      valueName: "url"))
  var xksProxy: String?

  @Option(
    help: ArgumentHelp(
      "With --endpoint: a simulated VPC endpoint service to break or mend (see --set), or `all` with --list.",
      valueName: "name"))
  var vpcEndpointService: String?

  @Option(
    help: ArgumentHelp("With --xks-proxy: a PEM CA file to trust (its printed ca.pem).", valueName: "path"))
  var caFile: String?

  @Option(help: ArgumentHelp("Fault to set.", valueName: "fault"))
  var set: String?

  @Option(help: ArgumentHelp("Fault to clear.", valueName: "fault"))
  var clear: String?

  @Flag(help: "List the faults set on the cluster and every fault available.")
  var list = false

  @OptionGroup var signing: SigningOptions

  func validate() throws {
    if xksProxy != nil { return try validateXKS() }
    if vpcEndpointService != nil { try validateVPC() }
    guard let endpoint, cluster != nil || vpcEndpointService != nil else {
      throw ValidationError(
        "Give --endpoint URL and --cluster ID or --vpc-endpoint-service NAME (or --xks-proxy URL for proxy faults)."
      )
    }
    let chosen = [set != nil, clear != nil, list].filter { $0 }.count
    guard chosen == 1 else {
      throw ValidationError("Give exactly one of --set FAULT, --clear FAULT or --list.")
    }
    guard let url = URL(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme),
      url.host != nil
    else { throw ValidationError("--endpoint must be an http(s) URL such as http://127.0.0.1:4599.") }
    for name in [set, clear].compactMap({ $0 })
    where vpcEndpointService == nil && Self.fault(named: name) == nil {
      throw ValidationError(
        "Unknown fault '\(name)'. Faults: \(SimulatorFault.allCases.map(\.rawValue).joined(separator: ", "))."
      )
    }
  }

  /// Accepts `KMSUSER_LOCKED_OUT`, `kmsuser-locked-out`, ….
  static func fault(named name: String) -> SimulatorFault? {
    SimulatorFault(rawValue: name.uppercased().replacingOccurrences(of: "-", with: "_"))
  }

  func run() async throws {
    if let xksProxy { return try await runXKS(xksProxy) }
    if let vpcEndpointService, let endpoint, let url = URL(string: endpoint) {
      return try await runVPC(vpcEndpointService, endpoint: url)
    }
    guard let endpoint, let cluster, let url = URL(string: endpoint) else { throw ExitCode(2) }
    try await withFaultClient(endpoint: url) { client, _ in
      // The endpoint's own answer first (credentials, cluster), then the change.
      var faults = try await client.listFaults(clusterId: cluster)
      if let set, let fault = Self.fault(named: set) {
        try await client.setFault(fault, enabled: true, clusterId: cluster)
        print("Set \(fault.rawValue) on \(cluster).")
      } else if let clear, let fault = Self.fault(named: clear) {
        try await client.setFault(fault, enabled: false, clusterId: cluster)
        print("Cleared \(fault.rawValue) on \(cluster).")
      }
      if set != nil || clear != nil { faults = try await client.listFaults(clusterId: cluster) }
      print(Self.render(faults, full: list))
    }
  }

  /// Runs `body` with a client of the endpoint; an AWS error or an unreachable endpoint ends the
  /// command with status 1 and one readable line (the cluster and VPC modes share this).
  func withFaultClient(
    endpoint url: URL, _ body: (KMSHTTPClient, KMSHTTPClient.Configuration) async throws -> Void
  ) async throws {
    let configuration = faultClientConfiguration(endpoint: url)
    let client = KMSHTTPClient(configuration: configuration)
    defer { Task { await client.shutdown() } }
    do {
      try await body(client, configuration)
    } catch let error as KMSError {
      FileHandle.standardError.write(
        Data("kmsdash fault: An error occurred (\(error.code.rawValue)): \(error.message)\n".utf8))
      throw ExitCode(1)
    } catch {
      FileHandle.standardError.write(Data("kmsdash fault: cannot reach \(url): \(error)\n".utf8))
      throw ExitCode(1)
    }
  }

  /// The endpoint with the flags' credentials (see `SigningOptions`).
  func faultClientConfiguration(
    endpoint: URL, environment: [String: String] = ProcessInfo.processInfo.environment
  ) -> KMSHTTPClient.Configuration {
    signing.configuration(endpoint: endpoint, environment: environment)
  }

  static func render(_ response: ListFaultsResponse, full: Bool) -> String {
    var lines: [String] = []
    let summaries = Dictionary(
      response.availableFaults.map { ($0.name, $0.summary) }, uniquingKeysWith: { first, _ in first })
    if response.faults.isEmpty {
      lines.append("\(response.clusterId): no faults set")
    } else {
      lines.append("\(response.clusterId): \(response.faults.count) fault(s) set")
      for fault in response.faults {
        lines.append("  \(fault.padding(toLength: 30, withPad: " ", startingAt: 0))\(summaries[fault] ?? "")")
      }
    }
    if full {
      lines.append("Available faults:")
      for fault in response.availableFaults {
        lines.append("  \(fault.name.padding(toLength: 30, withPad: " ", startingAt: 0))\(fault.summary)")
      }
    }
    return lines.joined(separator: "\n")
  }
}
