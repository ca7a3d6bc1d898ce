import KMSModel

/// The dashboard's QA toggles (`XKSQAFault`) over a proxy's faults: the embedded proxy and
/// `kmsdash serve`'s control of a `kmsdash xks-proxy` read and set them the same way.
extension XKSProxyFaults {
  /// The QA toggles that describe a proxy's faults.
  public var qaFaults: Set<XKSQAFault> {
    let f = self
    var set: Set<XKSQAFault> = []
    if (f.latencyMilliseconds ?? 0) >= 300 { set.insert(.latency300ms) }
    if f.refuseConnections == true { set.insert(.refuseConnections) }
    if f.resetMidResponse == true { set.insert(.resetMidResponse) }
    if let name = f.errorName, let fault = XKSQAFault(rawValue: name) { set.insert(fault) }
    if f.malformed == .html { set.insert(.malformedHTML) }
    if f.malformed == .wrongTagLength { set.insert(.wrongTagLength) }
    if f.ekmHealth == .unavailable { set.insert(.ekmUnavailable) }
    if f.ekmHealth == .someDegraded { set.insert(.ekmDegraded) }
    if !(f.deniedPrincipals ?? []).isEmpty { set.insert(.denyKMS) }
    if (f.disabledKeys ?? []).contains("demo-aes-1") { set.insert(.disableDemoKey) }
    if f.certificate == .expired { set.insert(.expiredCertificate) }
    if f.certificate == .wrongName { set.insert(.wrongNameCertificate) }
    return set
  }

  /// The faults with one toggle changed (an errorName, a malformed answer, an EKM health or a
  /// certificate replaces another of its kind).
  public func applying(_ fault: XKSQAFault, enabled: Bool) -> XKSProxyFaults {
    var f = self
    switch fault {
    case .latency300ms: f.latencyMilliseconds = enabled ? 300 : nil
    case .refuseConnections: f.refuseConnections = enabled ? true : nil
    case .resetMidResponse: f.resetMidResponse = enabled ? true : nil
    case .authenticationFailed, .accessDenied, .invalidUriPath, .throttling, .internalError:
      f.errorName = enabled ? fault.rawValue : (f.errorName == fault.rawValue ? nil : f.errorName)
    case .malformedHTML, .wrongTagLength:
      let value: XKSProxyFaults.Malformed = fault == .malformedHTML ? .html : .wrongTagLength
      f.malformed = enabled ? value : (f.malformed == value ? nil : f.malformed)
    case .ekmUnavailable, .ekmDegraded:
      let value: XKSProxyFaults.EkmHealth = fault == .ekmUnavailable ? .unavailable : .someDegraded
      f.ekmHealth = enabled ? value : (f.ekmHealth == value ? nil : f.ekmHealth)
    case .denyKMS: f.deniedPrincipals = enabled ? ["*"] : nil
    case .disableDemoKey:
      var keys = Set(f.disabledKeys ?? [])
      if enabled { keys.insert("demo-aes-1") } else { keys.remove("demo-aes-1") }
      f.disabledKeys = keys.isEmpty ? nil : keys.sorted()
    case .expiredCertificate, .wrongNameCertificate:
      let value: XKSProxyFaults.Certificate = fault == .expiredCertificate ? .expired : .wrongName
      f.certificate = enabled ? value : (f.certificate == value ? nil : f.certificate)
    }
    return f
  }
}
