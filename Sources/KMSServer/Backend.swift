import KMSModel

/// What serves one region: the KMS API and, for a simulator, its QA controls.
public struct KMSBackend: Sendable {
  public var service: any KeyStoreService
  /// The simulator's controls (CloudHSM v2 subset and fault target); nil when not offered.
  public var control: (any SimulatorControl)?
  /// The hot reads answered on the caller's thread from committed state, when offered.
  public var immediate: (any ImmediateKeyReads)?

  public init(
    service: any KeyStoreService, control: (any SimulatorControl)?, immediate: (any ImmediateKeyReads)? = nil
  ) {
    self.service = service
    self.control = control
    self.immediate = immediate ?? (service as? any ImmediateKeyReads)
  }
}

/// Finds the backend for a request's region (the region of its SigV4 credential scope, which is
/// the region in the ARNs the backend returns).
public protocol KMSBackendProvider: Sendable {
  func backend(forRegion region: String) async throws -> KMSBackend
  /// The backend when it is ready to serve without waiting (nil: use `backend(forRegion:)`).
  func readyBackend(forRegion region: String) -> KMSBackend?
}

extension KMSBackendProvider {
  public func readyBackend(forRegion region: String) -> KMSBackend? { nil }
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
  public func readyBackend(forRegion region: String) -> KMSBackend? { backend }
}
