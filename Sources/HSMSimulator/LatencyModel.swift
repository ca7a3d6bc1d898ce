import Foundation

/// How long simulated work takes, in seconds before `timeScale` is applied (kms-spec §3.3).
public struct LatencyModel: Sendable, Equatable, Codable {
  public var connect: ClosedRange<Double>
  public var disconnect: ClosedRange<Double>
  public var hsmCreate: ClosedRange<Double>
  public var xksConnect: ClosedRange<Double>

  public init(
    connect: ClosedRange<Double>, disconnect: ClosedRange<Double>, hsmCreate: ClosedRange<Double>,
    xksConnect: ClosedRange<Double>
  ) {
    self.connect = connect
    self.disconnect = disconnect
    self.hsmCreate = hsmCreate
    self.xksConnect = xksConnect
  }

  /// Short enough to watch on a dashboard during a demo.
  public static let demo = LatencyModel(
    connect: 2.5...5, disconnect: 1...2, hsmCreate: 4...7, xksConnect: 2...4)
  /// AWS's documented durations: a CloudHSM connect can take up to 20 minutes, XKS about five.
  public static let realistic = LatencyModel(
    connect: 240...1200, disconnect: 20...90, hsmCreate: 480...900, xksConnect: 240...330)

  public static func named(_ name: String) -> LatencyModel? {
    switch name {
    case "demo": .demo
    case "realistic": .realistic
    default: nil
    }
  }
}

/// SplitMix64: small, fast, and the same sequence for the same seed on every platform, so a run
/// with `--seed N` replays.
public struct SeededRandom: RandomNumberGenerator, Sendable, Codable, Equatable {
  private var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  public mutating func duration(in range: ClosedRange<Double>, timeScale: Double) -> TimeInterval {
    let raw =
      range.lowerBound == range.upperBound
      ? range.lowerBound : Double.random(in: range, using: &self)
    return raw / max(timeScale, 0.000_001)
  }

  /// `count` characters drawn from `alphabet`.
  public mutating func string(_ count: Int, from alphabet: String) -> String {
    let characters = Array(alphabet)
    return String((0..<count).map { _ in characters[Int(next() % UInt64(characters.count))] })
  }

  public mutating func hex(_ count: Int) -> String { string(count, from: "0123456789abcdef") }

  public mutating func uuid() -> String {
    let h = hex(32)
    let c = Array(h)
    return
      "\(String(c[0..<8]))-\(String(c[8..<12]))-4\(String(c[13..<16]))-\(["8", "9", "a", "b"][Int(next() % 4)])\(String(c[17..<20]))-\(String(c[20..<32]))"
  }
}

/// AWS-shaped identifiers (kms-spec §1).
public enum SimulatedIDs {
  public static let base32Alphabet = "234567abcdefghijklmnopqrstuvwxyz"
  public static func cluster(_ random: inout SeededRandom) -> String {
    "cluster-" + random.string(11, from: base32Alphabet)
  }
  public static func hsm(_ random: inout SeededRandom) -> String {
    "hsm-" + random.string(11, from: base32Alphabet)
  }
  public static func eni(_ random: inout SeededRandom) -> String { "eni-" + random.hex(17) }
  public static func subnet(_ random: inout SeededRandom) -> String { "subnet-" + random.hex(17) }
  public static func vpc(_ random: inout SeededRandom) -> String { "vpc-" + random.hex(17) }
  public static func securityGroup(_ random: inout SeededRandom) -> String { "sg-" + random.hex(17) }
  public static func customKeyStore(_ random: inout SeededRandom) -> String { "cks-" + random.hex(17) }
}
