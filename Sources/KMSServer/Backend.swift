import KMSModel

/// What serves one region: the KMS API and, for a simulator, its QA controls.
public struct KMSBackend: Sendable {
  public var service: any KeyStoreService
  /// The simulator's controls (CloudHSM v2 subset and fault target); nil when not offered.
  public var control: (any SimulatorControl)?

  public init(service: any KeyStoreService, control: (any SimulatorControl)?) {
    self.service = service
    self.control = control
  }
}

/// Finds the backend for a request's region (the region of its SigV4 credential scope, which is
/// the region in the ARNs the backend returns).
public protocol KMSBackendProvider: Sendable {
  func backend(forRegion region: String) async throws -> KMSBackend
}

extension KMSBackendProvider {
  /// Puts every region back to its scenario (`KmsdashSimulator.Reset`, `POST /moto-api/reset`).
  public func resetAll() async throws {
    throw KMSError(.unsupportedOperationException, "This endpoint cannot be reset.")
  }
}

/// A provider whose regions can be reset to their scenario (issue 14: fresh state per test).
public protocol ResettableBackendProvider: KMSBackendProvider {
  func resetAll() async throws
}

/// One backend for every region (its ARNs carry its own region).
public struct SingleBackendProvider: KMSBackendProvider {
  public var backend: KMSBackend

  public init(_ backend: KMSBackend) { self.backend = backend }

  public init(_ engine: some KeyStoreService & SimulatorControl) {
    self.backend = KMSBackend(service: engine, control: engine)
  }

  public func backend(forRegion region: String) async throws -> KMSBackend { backend }
}
