/// A dictionary that remembers which keys were written or removed since the last `drain()`, so
/// the engine can persist exactly what an operation changed without hunting for every write, and
/// what each of them held before, so a change whose save failed can be undone in O(changed).
public struct TrackedDictionary<Value: Sendable>: Sendable {
  public private(set) var storage: [String: Value] = [:]
  public private(set) var touched: Set<String> = []
  /// The value each touched key had at the last drain (nil: absent then).
  private var originals: [String: Value?] = [:]
  /// Changes whenever a key is added or removed (not when a value is replaced), so callers can
  /// cache an ordering of the keys.
  public private(set) var membership: UInt64 = 0

  public init() {}

  public subscript(key: String) -> Value? {
    get { storage[key] }
    set {
      if (storage[key] == nil) != (newValue == nil) { membership &+= 1 }
      remember(key)
      storage[key] = newValue
    }
  }

  @discardableResult
  public mutating func removeValue(forKey key: String) -> Value? {
    remember(key)
    let removed = storage.removeValue(forKey: key)
    if removed != nil { membership &+= 1 }
    return removed
  }

  private mutating func remember(_ key: String) {
    if touched.insert(key).inserted { originals[key] = storage[key] }
  }

  /// The value `key` had at the last drain, when it was touched since (`.some(nil)`: absent).
  public func original(_ key: String) -> Value?? { originals[key] }

  /// The keys changed since the last drain; clears the record.
  public mutating func drain() -> Set<String> {
    defer {
      touched = []
      originals = [:]
    }
    return touched
  }

  /// Puts back what every touched key held at the last drain, and forgets the changes.
  public mutating func rollback() {
    guard !touched.isEmpty else { return }
    for (key, value) in originals { storage[key] = value }
    touched = []
    originals = [:]
    membership &+= 1
  }

  /// Replaces the contents without marking anything touched (restoring saved state).
  public mutating func restore(_ contents: [String: Value]) {
    storage = contents
    touched = []
    originals = [:]
    membership &+= 1
  }

  public var values: Dictionary<String, Value>.Values { storage.values }
  public var keys: Dictionary<String, Value>.Keys { storage.keys }
  public var count: Int { storage.count }
  public var isEmpty: Bool { storage.isEmpty }
  public func mapValues<T>(_ transform: (Value) throws -> T) rethrows -> [String: T] {
    try storage.mapValues(transform)
  }
}
