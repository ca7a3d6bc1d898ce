import Foundation
import KMSModel
import XKSProxy

/// `kmsdash serve`'s QA control of the XKS proxies behind its external key stores: a store's
/// endpoint goes where `--xks-route` sends it, and when the proxy there is a `kmsdash xks-proxy`
/// its control endpoint (`/kmsdash/faults`) sets the same faults as the embedded dashboard's QA
/// panel. Any other proxy (AWS's reference proxy, a vendor's) has no such endpoint: saying so is
/// the answer.
public struct RoutedXKSProxyControl: XKSProxyEndpointFaultControl {
  public let routes: [String: URL]
  public let caFile: String?
  public let clientIdentity: XKSHTTPClient.ClientIdentity?

  public init(routes: [String: URL], caFile: String?, clientIdentity: XKSHTTPClient.ClientIdentity?) {
    self.routes = routes.reduce(into: [:]) { $0[$1.key.lowercased()] = $1.value }
    self.caFile = caFile
    self.clientIdentity = clientIdentity
  }

  public func xksFaults(uriEndpoint: String) async throws -> Set<XKSQAFault> {
    try await faults(uriEndpoint).qaFaults
  }

  public func setXKSFault(_ fault: XKSQAFault, enabled: Bool, uriEndpoint: String) async throws {
    let next = try await faults(uriEndpoint).applying(fault, enabled: enabled)
    // The control endpoint merges patches: clear, then set the whole new set.
    _ = try await send(uriEndpoint, "/kmsdash/faults/clear", Data("{}".utf8))
    _ = try await send(uriEndpoint, "/kmsdash/faults", try JSONEncoder().encode(next))
  }

  private func faults(_ uriEndpoint: String) async throws -> XKSProxyFaults {
    let answer = try await send(uriEndpoint, "/kmsdash/faults", nil)
    guard let faults = try? JSONDecoder().decode(XKSProxyFaults.self, from: answer) else {
      throw KMSError(
        .unsupportedOperationException,
        "The XKS proxy of \(uriEndpoint) answered its control endpoint with something other than kmsdash faults: it is not a kmsdash xks-proxy."
      )
    }
    return faults
  }

  private func send(_ uriEndpoint: String, _ path: String, _ body: Data?) async throws -> Data {
    guard let endpoint = URL(string: uriEndpoint), let host = endpoint.host?.lowercased() else {
      throw KMSError(.unsupportedOperationException, "\(uriEndpoint) is not a URL.")
    }
    let base = routes[host]?.absoluteString ?? uriEndpoint
    let client = XKSProxyControlClient(
      baseURL: base, caFile: caFile, clientIdentity: clientIdentity, verifyCertificate: false)
    do {
      return try await client.send(path: path, body: body)
    } catch let failure as XKSProxyControlClient.Failure {
      throw KMSError(
        .unsupportedOperationException,
        "The XKS proxy of \(uriEndpoint) (at \(base)) is not a kmsdash xks-proxy, so its faults cannot be set from here (\(failure.description.prefix(120)))."
      )
    } catch {
      throw KMSError(
        .unsupportedOperationException,
        "The control endpoint of the XKS proxy of \(uriEndpoint) (at \(base)) cannot be reached: \(error)")
    }
  }
}
