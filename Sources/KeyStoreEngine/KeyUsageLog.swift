import Foundation
import KMSModel
import Synchronization

/// The last successful cryptographic operation of each key, for `GetKeyLastUsage` (issue 14).
///
/// Kept in memory on purpose: cryptographic operations are reads, and reads never write to
/// storage (one durable save per Encrypt would cost more than the Encrypt). So usage is tracked
/// from the moment this engine started, or was last reset, which is what `TrackingStartDate`
/// says; a restart begins a new tracking period, as when KMS began tracking. Readable and
/// writable from any thread: the hot read path records on the event loop.
final class KeyUsageLog: Sendable {
  private struct State {
    var trackingStart: Date
    var last: [String: KeyLastUsageData] = [:]
  }
  private let state: Mutex<State>

  init(trackingStart: Date) {
    state = Mutex(State(trackingStart: trackingStart))
  }

  /// Records a successful operation on a key (by key ID, or the key ARN an answer carries).
  func record(_ keyIdOrArn: String, _ operation: KeyLastUsageTrackingOperation, at date: Date) {
    let keyId = keyIdOrArn.split(separator: "/").last.map(String.init) ?? keyIdOrArn
    state.withLock { $0.last[keyId] = KeyLastUsageData(operation: operation, timestamp: date) }
  }

  func lastUsage(of keyId: String) -> (trackingStart: Date, last: KeyLastUsageData?) {
    state.withLock { ($0.trackingStart, $0.last[keyId]) }
  }

  /// Forgets every use and starts a new tracking period (a reset).
  func restart(at date: Date) {
    state.withLock { $0 = State(trackingStart: date) }
  }
}
