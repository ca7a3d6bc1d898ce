import Foundation

// kmsdash-bench: the dashboard and scale benchmarks behind scripts/bench-dashboard and
// scripts/bench-scale. Prints figures; `--json PATH` also writes them for scripts.

let usage = """
  usage: kmsdash-bench pty [--cycles N] [--time-scale F] [--json PATH]
         kmsdash-bench scale [--stores N] [--keys-per-store N] [--width W] [--height H] [--json PATH]
         kmsdash-bench writes [--mutations N] [--reads N] [--phase writes|reads|all] [--json PATH]
  """

func parse(_ arguments: [String]) throws -> (String, [String: String]) {
  guard let mode = arguments.first, ["pty", "scale", "writes"].contains(mode) else {
    throw BenchError.usage(usage)
  }
  var options: [String: String] = [:]
  var rest = arguments.dropFirst()
  while let flag = rest.popFirst() {
    guard flag.hasPrefix("--"), let value = rest.popFirst() else { throw BenchError.usage(usage) }
    options[String(flag.dropFirst(2))] = value
  }
  return (mode, options)
}

func number<T: LosslessStringConvertible>(_ options: [String: String], _ name: String, _ fallback: T) throws
  -> T
{
  guard let text = options[name] else { return fallback }
  guard let value = T(text) else { throw BenchError.usage("--\(name): '\(text)' is not a number\n\(usage)") }
  return value
}

let report = Report(output: FileHandle(fileDescriptor: dup(1), closeOnDealloc: true))
do {
  let (mode, options) = try parse(Array(CommandLine.arguments.dropFirst()))
  let known: Set<String> =
    switch mode {
    case "pty": ["cycles", "time-scale", "json"]
    case "writes": ["mutations", "reads", "phase", "json"]
    default: ["stores", "keys-per-store", "width", "height", "json"]
    }
  if let unknown = options.keys.first(where: { !known.contains($0) }) {
    throw BenchError.usage("unknown option --\(unknown)\n\(usage)")
  }
  if mode == "writes" {
    let phase = options["phase"] ?? "all"
    guard ["writes", "reads", "all"].contains(phase) else { throw BenchError.usage(usage) }
    try await WritesBench(
      mutations: try number(options, "mutations", 500), reads: try number(options, "reads", 20_000),
      phase: phase
    ).run(report)
  } else if mode == "pty" {
    try await PtyBench(
      cycles: try number(options, "cycles", 25), timeScale: try number(options, "time-scale", 10.0)
    ).run(report)
  } else {
    try await ScaleBench(
      stores: try number(options, "stores", 10_000), keysPerStore: try number(options, "keys-per-store", 10),
      width: try number(options, "width", 200), height: try number(options, "height", 60)
    ).run(report)
  }
  if let path = options["json"] { try report.json().write(toFile: path, atomically: true, encoding: .utf8) }
} catch {
  FileHandle.standardError.write(Data("kmsdash-bench: \(error)\n".utf8))
  exit(1)
}
