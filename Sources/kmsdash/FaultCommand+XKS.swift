import ArgumentParser
import Foundation
import XKSClient
import XKSProxy

/// `kmsdash fault --xks-proxy URL …`: the faults of a running `kmsdash xks-proxy`.
extension FaultCommand {
  /// `--set NAME[=VALUE]` names, with what they patch.
  static let xksFaultNames: [(name: String, summary: String)] = [
    ("latency=MS", "add MS milliseconds before every answer (300 makes KMS time out)"),
    ("refuse-connections", "reset XKS connections before answering"),
    ("reset-mid-response", "send half an answer, then reset"),
    ("error=NAME", "answer every XKS request with this errorName (e.g. KeyNotFoundException)"),
    (
      "malformed=KIND",
      "spoil answers: \(XKSProxyFaults.Malformed.allCases.map(\.rawValue).joined(separator: ", "))"
    ),
    ("ekm=STATE", "EKM fleet health: ACTIVE, SOME_DEGRADED, UNAVAILABLE"),
    ("throttle=N", "ThrottlingException above N requests/s per key store"),
    ("deny-principal=ARN", "secondary authorization denies ARN (or *)"),
    ("disable-key=ID", "the external key answers DISABLED"),
    ("certificate=KIND", "serve an EXPIRED or WRONG_NAME certificate (HTTPS only)"),
    ("operations=A,B", "limit error/malformed/latency to these operations (Encrypt, Decrypt, …)"),
  ]

  func validateXKS() throws {
    guard endpoint == nil, cluster == nil, vpcEndpointService == nil else {
      throw ValidationError("--xks-proxy does not go with --endpoint, --cluster or --vpc-endpoint-service.")
    }
    let chosen = [set != nil, clear != nil, list].filter { $0 }.count
    guard chosen == 1 else {
      throw ValidationError("Give exactly one of --set NAME[=VALUE], --clear NAME|all or --list.")
    }
    if let set { _ = try Self.xksPatch(set, clearing: false) }
    if let clear, clear != "all" { _ = try Self.xksPatch(clear, clearing: true) }
  }

  /// The fault patch for one `--set`/`--clear` argument.
  static func xksPatch(_ argument: String, clearing: Bool) throws -> XKSProxyFaults {
    let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
    let name = parts[0].lowercased()
    let value = parts.count > 1 ? parts[1] : nil
    func need() throws -> String {
      if clearing { return "" }
      guard let value, !value.isEmpty else { throw ValidationError("\(name) needs a value: \(name)=VALUE.") }
      return value
    }
    var patch = XKSProxyFaults()
    switch name {
    case "latency":
      guard let ms = Int(clearing ? "0" : try need()) else {
        throw ValidationError("latency=MS takes a number.")
      }
      patch.latencyMilliseconds = ms
    case "refuse-connections": patch.refuseConnections = !clearing
    case "reset-mid-response": patch.resetMidResponse = !clearing
    case "error": patch.errorName = try need()
    case "malformed":
      if clearing {
        throw ValidationError("Clear malformed answers with --clear all.")
      }
      guard let kind = XKSProxyFaults.Malformed(rawValue: try need().uppercased()) else {
        throw ValidationError(
          "malformed= takes \(XKSProxyFaults.Malformed.allCases.map(\.rawValue).joined(separator: ", ")).")
      }
      patch.malformed = kind
    case "ekm":
      guard let state = XKSProxyFaults.EkmHealth(rawValue: clearing ? "ACTIVE" : try need().uppercased())
      else {
        throw ValidationError("ekm= takes ACTIVE, SOME_DEGRADED or UNAVAILABLE.")
      }
      patch.ekmHealth = state
    case "throttle":
      guard let n = Int(clearing ? "0" : try need()) else {
        throw ValidationError("throttle=N takes a number.")
      }
      patch.throttlePerSecond = n
    case "deny-principal": patch.deniedPrincipals = clearing ? [] : [try need()]
    case "disable-key": patch.disabledKeys = clearing ? [] : [try need()]
    case "certificate":
      guard let kind = XKSProxyFaults.Certificate(rawValue: clearing ? "VALID" : try need().uppercased())
      else {
        throw ValidationError("certificate= takes VALID, EXPIRED or WRONG_NAME.")
      }
      patch.certificate = kind
    case "operations": patch.operations = clearing ? [] : try need().split(separator: ",").map(String.init)
    default:
      throw ValidationError(
        "Unknown proxy fault '\(name)'. Faults:\n"
          + xksFaultNames.map {
            "  \($0.name.padding(toLength: 22, withPad: " ", startingAt: 0))\($0.summary)"
          }
          .joined(separator: "\n"))
    }
    try patch.validate()
    return patch
  }

  func runXKS(_ url: String) async throws {
    let client = XKSProxyControlClient(baseURL: url, caFile: caFile)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    do {
      let answer: Data
      if let set {
        answer = try await client.send(
          path: "/kmsdash/faults", body: try encoder.encode(Self.xksPatch(set, clearing: false)))
      } else if let clear {
        answer =
          clear == "all"
          ? try await client.send(path: "/kmsdash/faults/clear", body: Data("{}".utf8))
          : try await client.send(
            path: "/kmsdash/faults", body: try encoder.encode(Self.xksPatch(clear, clearing: true)))
      } else {
        answer = try await client.send(path: "/kmsdash/faults", body: nil)
      }
      let text = String(decoding: answer, as: UTF8.self)
      print(text == "{}" ? "\(url): no proxy faults set" : "\(url): faults in force: \(text)")
      if list {
        print("Available proxy faults (--set NAME[=VALUE], --clear NAME|all):")
        for fault in Self.xksFaultNames {
          print("  \(fault.name.padding(toLength: 22, withPad: " ", startingAt: 0))\(fault.summary)")
        }
      }
    } catch {
      FileHandle.standardError.write(Data("kmsdash fault: \(url): \(error)\n".utf8))
      throw ExitCode(1)
    }
  }
}
