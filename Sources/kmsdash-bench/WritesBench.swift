import EngineStorage
import Foundation
import KeyStoreEngine

/// Durable write throughput of the engine on a real SQLite state file (WAL, synchronous=FULL):
/// small mutations (connect, disconnect, create alias, delete alias) one after another, each
/// saved before it is answered; then reads (DescribeKey, Encrypt) that must do no storage work.
/// The saves per operation come from the engine; scripts/bench-writes counts the fsyncs with
/// strace around the same run.
struct WritesBench {
  var mutations: Int
  var reads: Int
  var phase: String

  func run(_ report: Report) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "kmsdash-bench-writes-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let storage = try SQLiteStateStore(path: directory.appendingPathComponent("state.sqlite").path)
    let engine = try await KeyStoreEngine(
      configuration: EngineConfiguration(timeScale: 1000), stateStore: storage)
    try await engine.load(.demo)
    try await engine.completePendingTransitions()
    let store = "cks-0de30000000000003"
    let key = try await engine.fleetSnapshot().keys(inStore: store).first!.keyId

    if phase == "writes" || phase == "all" {
      let savesBefore = await engine.savesCommitted
      var latency = Distribution()
      let started = ContinuousClock.now
      for index in 0..<mutations {
        let began = ContinuousClock.now
        do {
          switch index % 4 {
          case 0: _ = try await engine.disconnectCustomKeyStore(.init(customKeyStoreId: store))
          case 1: try await engine.completePendingTransitions()
          case 2: _ = try await engine.connectCustomKeyStore(.init(customKeyStoreId: store))
          default: try await engine.completePendingTransitions()
          }
        }
        latency.add(ContinuousClock.now - began)
        _ = try await engine.createAlias(.init(aliasName: "alias/bench-\(index)", targetKeyId: key))
        _ = try await engine.deleteAlias(.init(aliasName: "alias/bench-\(index)"))
      }
      let elapsed = milliseconds(ContinuousClock.now - started) / 1000
      let operations = mutations * 3
      let saves = await engine.savesCommitted - savesBefore
      report.line(
        "writes: \(operations) small mutations in \(fixed(elapsed, 2)) s = \(fixed(Double(operations) / elapsed, 0)) mutations/s, \(fixed(Double(saves) / Double(operations), 2)) durable saves per mutation"
      )
      report.line("  connect/disconnect/transition latency \(latency.summary)")
      report.figure("write_mutations_per_second", Double(operations) / elapsed)
      report.figure("write_saves_per_mutation", Double(saves) / Double(operations))
    }
    if phase == "reads" || phase == "all" {
      try await engine.completePendingTransitions()
      let current = try await engine.describeCustomKeyStores(.init(customKeyStoreId: store))
      if current.customKeyStores?.first?.connectionState != .connected {
        _ = try await engine.connectCustomKeyStore(.init(customKeyStoreId: store))
        try await engine.completePendingTransitions()
      }
      let savesBefore = await engine.savesCommitted
      let plaintext = Data("benchmark".utf8)
      let started = ContinuousClock.now
      for _ in 0..<reads {
        _ = try await engine.describeKey(.init(keyId: key))
        _ = try await engine.encrypt(.init(keyId: key, plaintext: plaintext))
      }
      let elapsed = milliseconds(ContinuousClock.now - started) / 1000
      let saves = await engine.savesCommitted - savesBefore
      report.line(
        "reads: \(reads * 2) DescribeKey/Encrypt in \(fixed(elapsed, 2)) s = \(fixed(Double(reads * 2) / elapsed, 0)) reads/s, \(saves) durable saves"
      )
      report.figure("read_saves", Double(saves))
    }
    try storage.close()
  }
}
