import ArgumentParser
import Foundation
import KMSModel
import KMSServer

/// `kmsdash fault`: a client of the fault target (`KmsdashSimulator.*`) of a `kmsdash serve`.
struct FaultCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fault",
    abstract: "Inject, clear or list simulated CloudHSM faults on a kmsdash serve endpoint.",
    discussion: """
      Faults change what the next ConnectCustomKeyStore on a store backed by the cluster ends in \
      (for example KMSUSER_LOCKED_OUT makes it FAILED with USER_LOCKED_OUT). Fault names: \
      \(SimulatorFault.allCases.map(\.rawValue).joined(separator: ", ")).

      Requests are signed with SigV4 using --access-key-id/--secret-access-key or \
      AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); without credentials they are \
      sent unsigned, which only a server started with --no-auth accepts.
      """)

  @OptionGroup var options: SimulatorEndpointOptions

  @Option(help: ArgumentHelp("CloudHSM cluster ID.", valueName: "id"))
  var cluster: String

  @Option(help: ArgumentHelp("Fault to set.", valueName: "fault"))
  var set: String?

  @Option(help: ArgumentHelp("Fault to clear.", valueName: "fault"))
  var clear: String?

  @Flag(help: "List the faults set on the cluster and every fault available.")
  var list = false

  var endpoint: String { options.endpoint }

  func validate() throws {
    let chosen = [set != nil, clear != nil, list].filter { $0 }.count
    guard chosen == 1 else {
      throw ValidationError("Give exactly one of --set FAULT, --clear FAULT or --list.")
    }
    for name in [set, clear].compactMap({ $0 }) where Self.fault(named: name) == nil {
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
    let client = options.client()
    let target = "\(WireService.simulator.rawValue)."
    do {
      let response: ListFaultsResponse
      if let set, let fault = Self.fault(named: set) {
        response = try await client.call(
          target + SimulatorOperation.setFault.rawValue,
          SetFaultRequest(clusterId: cluster, fault: fault.rawValue, enabled: true),
          as: ListFaultsResponse.self)
        print("Set \(fault.rawValue) on \(cluster).")
      } else if let clear, let fault = Self.fault(named: clear) {
        response = try await client.call(
          target + SimulatorOperation.clearFault.rawValue,
          SetFaultRequest(clusterId: cluster, fault: fault.rawValue), as: ListFaultsResponse.self)
        print("Cleared \(fault.rawValue) on \(cluster).")
      } else {
        response = try await client.call(
          target + SimulatorOperation.listFaults.rawValue, ListFaultsRequest(clusterId: cluster),
          as: ListFaultsResponse.self)
      }
      print(Self.render(response, full: list))
    } catch let failure as FaultClient.Failure {
      FileHandle.standardError.write(Data("kmsdash fault: \(failure)\n".utf8))
      throw ExitCode(1)
    } catch let error as URLError {
      FileHandle.standardError.write(
        Data("kmsdash fault: cannot reach \(endpoint): \(error.localizedDescription)\n".utf8))
      throw ExitCode(1)
    }
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
