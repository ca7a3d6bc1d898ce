import Foundation

/// Percentiles of a set of durations, in milliseconds.
struct Distribution {
  private(set) var samples: [Double] = []

  mutating func add(milliseconds: Double) { samples.append(milliseconds) }

  mutating func add(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    add(milliseconds: Double(seconds) * 1000 + Double(attoseconds) / 1e15)
  }

  var count: Int { samples.count }

  func percentile(_ p: Double) -> Double {
    guard !samples.isEmpty else { return .nan }
    let sorted = samples.sorted()
    let rank = Int((p / 100 * Double(sorted.count - 1)).rounded(.up))
    return sorted[Swift.min(Swift.max(rank, 0), sorted.count - 1)]
  }

  var max: Double { samples.max() ?? .nan }
  var mean: Double { samples.isEmpty ? .nan : samples.reduce(0, +) / Double(samples.count) }

  /// `p50 0.412 ms  p99 0.981 ms  max 1.204 ms  (n=200)`
  var summary: String {
    "p50 \(fixed(percentile(50), 3)) ms  p99 \(fixed(percentile(99), 3)) ms  max \(fixed(max, 3)) ms  (n=\(count))"
  }
}

/// Times `body` and adds the result to `distribution`.
@discardableResult
func timed<T>(_ distribution: inout Distribution, _ body: () throws -> T) rethrows -> T {
  let started = ContinuousClock.now
  let result = try body()
  distribution.add(ContinuousClock.now - started)
  return result
}

func fixed(_ value: Double, _ digits: Int) -> String {
  value.isNaN ? "n/a" : String(format: "%.\(digits)f", value)
}

func milliseconds(_ duration: Duration) -> Double {
  let (seconds, attoseconds) = duration.components
  return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}

/// Resident set size now and at its peak, in MiB, from /proc/self/status.
func residentMemory() -> (current: Double, peak: Double) {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
    return (.nan, .nan)
  }
  func field(_ name: String) -> Double {
    for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
      let kilobytes = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
      return (kilobytes.flatMap { Double($0) } ?? .nan) / 1024
    }
    return .nan
  }
  return (field("VmRSS"), field("VmHWM"))
}

/// User plus system CPU time of this process, in seconds.
func processCPUSeconds() -> Double {
  var usage = rusage()
  getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
  func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
  return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Prints a result line; `--json` collects the same figures for scripts.
final class Report: @unchecked Sendable {
  private var figures: [(String, Double)] = []
  private let lock = NSLock()
  let output: FileHandle

  init(output: FileHandle) { self.output = output }

  func line(_ text: String) {
    output.write(Data((text + "\n").utf8))
  }

  func figure(_ name: String, _ value: Double) {
    lock.withLock { figures.append((name, value)) }
  }

  func json() -> String {
    let body = lock.withLock { figures }.map { "  \"\($0.0)\": \($0.1.isFinite ? fixed($0.1, 4) : "null")" }
    return "{\n" + body.joined(separator: ",\n") + "\n}\n"
  }
}
