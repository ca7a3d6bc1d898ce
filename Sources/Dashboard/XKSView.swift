import Foundation
import KMSModel
import TerminalUI

/// The XKS part of a store's detail pane (issue 10 §3): what KMS last saw of the store's proxy —
/// vendor, the external key manager fleet, the last health check and its latency against KMS's
/// 250 ms, proxy errors by name, the credential's age and the TLS certificate's days to expiry.
/// Only a kmsdash engine reports it; other backends show the proxy configuration alone.
func xksDetailLines(_ s: CustomKeyStoresListEntry, _ state: DashboardState) -> [(String, String, Style)] {
  guard s.customKeyStoreType == .externalKeyStore, let id = s.customKeyStoreId else { return [] }
  guard let health = state.snapshot?.xksHealth[id] else {
    // AWS KMS publishes these only as CloudWatch metrics, which the KMS API does not return.
    return [
      state.config.simulator
        ? ("XKS proxy health", "no proxy call recorded yet", .dim)
        : ("XKS proxy health", "not available from AWS KMS (CloudWatch metrics XksProxy*)", .dim)
    ]
  }
  let tz = state.config.timeZone
  let good = stateStyle(.connected, state.config)
  let warn = stateStyle(.connecting, state.config)
  let bad = stateStyle(.failed, state.config)
  var lines: [(String, String, Style)] = []
  if let vpc = health.vpcEndpointService {
    lines += vpcEndpointServiceLines(vpc, store: s, good: good, bad: bad)
  }
  if health.proxyVendor != nil || health.proxyModel != nil {
    let text = [health.proxyVendor, health.proxyModel].compactMap { $0 }.joined(separator: " ")
    lines.append(("XKS proxy", text, .plain))
  }
  if !health.ekmFleet.isEmpty {
    let members = health.ekmFleet.map { "\($0.id) \($0.healthStatus)" }.joined(separator: ", ")
    let states = Set(health.ekmFleet.map(\.healthStatus))
    let style =
      states == ["ACTIVE"] ? good : states.contains("ACTIVE") || states.contains("DEGRADED") ? warn : bad
    let vendor = health.ekmVendor.map { "\($0): " } ?? ""
    lines.append(("EKM fleet", "\(vendor)\(health.ekmFleet.count) · \(members)", style))
  }
  if let checked = health.checkedAt {
    var text = "\(Fmt.time(checked, tz)) \(health.checkOperation ?? "GetHealthStatus")"
    var style = Style.plain
    if let ms = health.latencyMilliseconds {
      text += ", \(Int(ms.rounded())) ms of \(Int(XKSStoreHealth.timeoutMilliseconds)) ms"
      // AWS recommends a round trip of at most 35 ms; KMS gives up at 250 ms.
      style = ms >= XKSStoreHealth.timeoutMilliseconds ? bad : ms > 35 ? warn : good
    }
    if health.failure != nil { style = bad }
    lines.append(("Last health check", text, style))
    if let failure = health.failure { lines.append(("  Failure", failure, bad)) }
    let outcome = health.connectOutcome
    lines.append(("  Next connect would be", outcome?.rawValue ?? "CONNECTED", outcome == nil ? good : bad))
    if let outcome, outcome != s.connectionErrorCode { lines.append(("  Remedy", outcome.remedy, .bold)) }
  } else {
    lines.append(("Last health check", "none yet (the store has not been connected)", .dim))
  }
  let errors = health.errorCounts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
  lines.append(
    (
      "Proxy errors",
      errors.isEmpty ? "none" : errors.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
      errors.isEmpty ? .plain : warn
    ))
  if let set = health.credentialSetAt {
    let days = Int(max(0, state.now.timeIntervalSince(set)) / 86_400)
    lines.append(("Credential age", "\(days) d (set \(Fmt.dateTime(set, tz)))", days >= 90 ? warn : .plain))
  }
  if let notAfter = health.certificateNotAfter {
    let days = Int((notAfter.timeIntervalSince(state.now) / 86_400).rounded(.down))
    let text =
      days < 0
      ? "expired \(-days) d ago (\(Fmt.date(notAfter, tz)))"
      : "\(days) d to expiry (\(Fmt.date(notAfter, tz)))"
    lines.append(("TLS certificate", text, days < 0 ? bad : days < 30 ? warn : .plain))
  } else {
    lines.append(("TLS certificate", "not seen (plain HTTP or no TLS call yet)", .dim))
  }
  return lines
}

/// A `VPC_ENDPOINT_SERVICE` store's endpoint service as the account has it (as the CloudHSM
/// detail shows the cluster): its private DNS name and Availability Zones, the QA faults set on
/// it, and what KMS's check would make of the next connect, with the remedy.
func vpcEndpointServiceLines(
  _ vpc: XKSVPCEndpointServiceStatus, store s: CustomKeyStoresListEntry, good: Style, bad: Style
) -> [(String, String, Style)] {
  var lines: [(String, String, Style)] = []
  if let service = vpc.service {
    var text = "\(service.privateDnsName), \(service.availabilityZones) AZ"
    text += service.availabilityZones == 1 ? "" : "s"
    if !service.faults.isEmpty {
      text += "; faults: " + service.faults.sorted().map(\.rawValue).joined(separator: ", ")
    }
    lines.append(("VPC endpoint service", text, vpc.connectOutcome == nil ? good : bad))
  } else {
    lines.append(("VPC endpoint service", "\(vpc.serviceName) is not in the account", bad))
  }
  if let outcome = vpc.connectOutcome {
    lines.append(("  KMS check", outcome.rawValue + (vpc.problem.map { ": \($0)" } ?? ""), bad))
    if outcome != s.connectionErrorCode { lines.append(("  Remedy", outcome.remedy, .bold)) }
  } else {
    lines.append(
      ("  KMS check", "passes (found, KMS allowed, private DNS verified, no acceptance, 2+ AZs)", good))
  }
  return lines
}
