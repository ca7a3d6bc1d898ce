/// A dictionary that remembers which keys were written or removed since the last `drain()`, so
/// the engine can persist exactly what an operation changed without hunting for every write.
public struct TrackedDictionary<Value: Sendable>: Sendable {
  public private(set) var storage: [String: Value] = [:]
  public private(set) var touched: Set<String> = []
  /// Changes whenever a key is added or removed (not when a value is replaced), so callers can
  /// cache an ordering of the keys.
  public private(set) var membership: UInt64 = 0

  public init() {}

  public subscript(key: String) -> Value? {
    get { storage[key] }
    set {
      if (storage[key] == nil) != (newValue == nil) { membership &+= 1 }
      storage[key] = newValue
      touched.insert(key)
    }
  }

  @discardableResult
  public mutating func removeValue(forKey key: String) -> Value? {
    touched.insert(key)
    let removed = storage.removeValue(forKey: key)
    if removed != nil { membership &+= 1 }
    return removed
  }

  /// The keys changed since the last drain; clears the record.
  public mutating func drain() -> Set<String> {
    defer { touched = [] }
    return touched
  }

  /// Replaces the contents without marking anything touched (restoring saved state).
  public mutating func restore(_ contents: [String: Value]) {
    storage = contents
    touched = []
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
