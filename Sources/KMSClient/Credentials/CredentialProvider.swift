import AWSSigV4
import Foundation

/// Something that hands out valid credentials, fetching or refreshing them as needed.
public protocol AWSCredentialProvider: Sendable {
  /// Credentials valid now. Temporary ones are refreshed before they expire.
  func credentials() async throws -> AWSCredentials
  /// Where the credentials come from, for the header and messages. Never a secret.
  var sourceDescription: String { get }
}

/// Credentials with the time they stop working (nil: they do not expire).
public struct ExpiringCredentials: Sendable, Equatable {
  public var credentials: AWSCredentials
  public var expiration: Date?

  public init(_ credentials: AWSCredentials, expiration: Date? = nil) {
    self.credentials = credentials
    self.expiration = expiration
  }
}

/// Credentials could not be fetched from a source (a process, STS, IAM Identity Center, instance
/// or container metadata). The message says what failed and how to fix it; it never contains a
/// secret (tokens, secret keys and session tokens are never quoted).
public struct AWSCredentialError: Error, Sendable, Equatable, CustomStringConvertible {
  /// e.g. `credential_process of profile 'ci'`, `STS AssumeRole for arn:aws:iam::…`.
  public var source: String
  public var message: String
  /// What to run or change, when there is something.
  public var fix: String?

  public init(source: String, message: String, fix: String? = nil) {
    self.source = source
    self.message = message
    self.fix = fix
  }

  public var description: String {
    var text = "Cannot get AWS credentials from \(source): \(message)"
    if let fix { text += "\nFix: \(fix)" }
    return text
  }
}

/// Fixed credentials (environment, shared files).
public struct StaticCredentialProvider: AWSCredentialProvider {
  public let value: AWSCredentials
  public let sourceDescription: String

  public init(_ credentials: AWSCredentials, source: String) {
    value = credentials
    sourceDescription = source
  }

  public func credentials() async throws -> AWSCredentials { value }
}

/// Caches temporary credentials and refreshes them before they expire, as botocore does: within
/// the advisory window (15 minutes before expiry) a refresh starts in the background and callers
/// keep the current credentials meanwhile, so a long session never waits on STS; within the
/// mandatory window (10 minutes) callers wait for the refresh. A failed refresh keeps the
/// current credentials while they are still valid (botocore raises in the mandatory window;
/// kmsdash prefers to keep polling and retry on the next call). Credentials that live shorter
/// than twice the advisory window scale both windows down (a 15-minute session refreshes after
/// about 7.5 minutes, not on every call).
///
/// The clock is injected so tests can step through expiry.
public actor RefreshingCredentialProvider: AWSCredentialProvider {
  public nonisolated let sourceDescription: String
  private let fetch: @Sendable () async throws -> ExpiringCredentials
  private let now: @Sendable () -> Date
  private let advisory: TimeInterval
  private let mandatory: TimeInterval

  private var current: ExpiringCredentials?
  private var fetchedAt: Date?
  private var refreshing: Task<ExpiringCredentials, any Error>?
  /// The background refresh's bookkeeping (stored or failed), for tests that wait for it.
  private var backgroundRefresh: Task<Void, Never>?
  /// Fetches started (for tests and diagnostics).
  public private(set) var fetchCount = 0
  /// The last background refresh failure, if the current credentials outlived it.
  public private(set) var lastRefreshError: String?

  public init(
    source: String, advisoryWindow: TimeInterval = 15 * 60, mandatoryWindow: TimeInterval = 10 * 60,
    now: @escaping @Sendable () -> Date = { Date() },
    fetch: @escaping @Sendable () async throws -> ExpiringCredentials
  ) {
    sourceDescription = source
    self.fetch = fetch
    self.now = now
    advisory = advisoryWindow
    mandatory = mandatoryWindow
  }

  /// Starts with credentials already in hand (e.g. fetched at startup).
  public func prime(_ credentials: ExpiringCredentials) {
    current = credentials
    fetchedAt = now()
  }

  public func credentials() async throws -> AWSCredentials {
    try await expiringCredentials().credentials
  }

  /// The credentials with their expiry.
  public func expiringCredentials() async throws -> ExpiringCredentials {
    let date = now()
    guard let current, let expiration = current.expiration else {
      if let current { return current }  // never expires
      return try await refresh()
    }
    let remaining = expiration.timeIntervalSince(date)
    let (advisory, mandatory) = windows(for: current)
    if remaining > advisory { return current }
    if remaining > mandatory {
      if refreshing == nil { startRefresh() }
      return current
    }
    do {
      return try await refresh()
    } catch {
      if remaining > 0 {
        lastRefreshError = "\(error)"
        return current
      }
      throw error
    }
  }

  /// Forces a new fetch now (after the endpoint rejected the credentials as expired).
  public func invalidate() {
    current = nil
  }

  private func windows(for credentials: ExpiringCredentials) -> (TimeInterval, TimeInterval) {
    guard let expiration = credentials.expiration, let fetchedAt else { return (advisory, mandatory) }
    let lifetime = expiration.timeIntervalSince(fetchedAt)
    guard lifetime > 0, lifetime < 2 * advisory else { return (advisory, mandatory) }
    return (lifetime / 2, min(mandatory, lifetime / 4))
  }

  private func startRefresh() {
    let fetch = self.fetch
    let task = Task { try await fetch() }
    refreshing = task
    fetchCount += 1
    backgroundRefresh = Task { await self.finishBackground(task) }
  }

  /// Returns once the background refresh started last has been stored or has failed.
  func backgroundRefreshSettled() async { await backgroundRefresh?.value }

  private func finishBackground(_ task: Task<ExpiringCredentials, any Error>) async {
    do {
      let value = try await task.value
      if refreshing == task { store(value) }
    } catch {
      lastRefreshError = "\(error)"
    }
    if refreshing == task { refreshing = nil }
  }

  private func refresh() async throws -> ExpiringCredentials {
    if let refreshing {
      let value = try await refreshing.value
      store(value)
      return value
    }
    let fetch = self.fetch
    let task = Task { try await fetch() }
    refreshing = task
    fetchCount += 1
    defer { if refreshing == task { refreshing = nil } }
    let value = try await task.value
    store(value)
    return value
  }

  private func store(_ value: ExpiringCredentials) {
    current = value
    fetchedAt = now()
    lastRefreshError = nil
  }
}
