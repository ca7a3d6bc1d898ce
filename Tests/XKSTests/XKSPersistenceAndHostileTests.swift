import Foundation
import KMSModel
import KeyStoreEngine
import NIOCore
import NIOPosix
import Synchronization
import Testing
import XKSClient
import XKSProxy

/// A state store in memory, to restart an engine on the same records; it can be told to refuse
/// the next save.
final class RecordingStateStore: StateStore, Sendable {
  let records = Mutex<[StateRecordKind: [String: Data]]>([:])
  let failNext = Mutex(false)
  struct Injected: Error {}
  func loadAll() throws -> [StateRecordKind: [String: Data]] { records.withLock { $0 } }
  func apply(_ change: StateChange) throws {
    if failNext.withLock({ flag in
      defer { flag = false }
      return flag
    }) {
      throw Injected()
    }
    records.withLock { records in
      for deletion in change.deletions { records[deletion.kind]?[deletion.id] = nil }
      for upsert in change.upserts { records[upsert.kind, default: [:]][upsert.id] = upsert.payload }
    }
  }
}

@Suite(.serialized) struct XKSPersistenceAndHostileTests {
  /// The secret is saved sealed (never in clear in a store record), and a restarted engine can
  /// still sign with it.
  @Test func theSecretSurvivesARestartSealed() async throws {
    let core = XKSProxyCore(
      configuration: .demo, ekm: try ExternalKeyManager(configuration: .demo, state: nil))
    let proxy = XKSProxyServer(core: core, tls: nil, threads: 1) { _ in }
    let bound = try await proxy.start(host: "127.0.0.1", port: 0)
    defer { Task { await proxy.shutdown() } }
    let client = try XKSHTTPClient(routes: [
      "xks.kmsdash.test": URL(string: "http://127.0.0.1:\(bound.port)")!
    ])
    let saved = RecordingStateStore()
    let clock = ManualClock()
    let engine = try await KeyStoreEngine(clock: clock, stateStore: saved)
    await engine.useXKSProxy(client)
    let id = try #require(
      try await engine.createCustomKeyStore(
        CreateCustomKeyStoreRequest(
          customKeyStoreName: "persisted", customKeyStoreType: "EXTERNAL_KEY_STORE",
          xksProxyUriEndpoint: "https://xks.kmsdash.test", xksProxyUriPath: XKSProxyConfiguration.demoUriPath,
          xksProxyAuthenticationCredential: .init(
            accessKeyId: XKSProxyConfiguration.demoAccessKeyId,
            rawSecretAccessKey: XKSProxyConfiguration.demoSecretAccessKey),
          xksProxyConnectivity: "PUBLIC_ENDPOINT")
      ).customKeyStoreId)
    let storeRecord = try #require(saved.records.withLock { $0[.store]?[id] })
    #expect(!String(decoding: storeRecord, as: UTF8.self).contains(XKSProxyConfiguration.demoSecretAccessKey))
    #expect(String(decoding: storeRecord, as: UTF8.self).contains("sealedSecret"))

    let restarted = try await KeyStoreEngine(clock: clock, stateStore: saved)
    await restarted.useXKSProxy(client)
    _ = try await restarted.connectCustomKeyStore(ConnectCustomKeyStoreRequest(customKeyStoreId: id))
    clock.advance(by: 3600)
    try await restarted.runDueWork()
    await restarted.xksCallsSettled()
    let entry = try await restarted.describeCustomKeyStores(
      DescribeCustomKeyStoresRequest(customKeyStoreId: id))
    #expect(entry.customKeyStores?.first?.connectionState == .connected)
    try await client.shutdown()
  }

  /// A hostile "proxy" on a raw socket: each answer shape must end in a typed failure within
  /// the 250 ms bound, never a crash or a hang.
  @Test(arguments: HostileAnswer.allCases)
  func hostileAnswersAreBounded(_ answer: HostileAnswer) async throws {
    let group = MultiThreadedEventLoopGroup.singleton
    let channel = try await ServerBootstrap(group: group)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(HostileHandler(answer: answer))
        }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    defer { channel.close(promise: nil) }
    let client = try XKSHTTPClient(
      routes: ["xks.kmsdash.test": URL(string: "http://127.0.0.1:\(channel.localAddress!.port!)")!])
    let target = XKSProxyTarget(
      uriEndpoint: "https://xks.kmsdash.test", uriPath: "/demo/kms/xks/v1", accessKeyId: "A",
      secretAccessKey: "B",
      region: "us-east-1")
    let started = ContinuousClock.now
    do {
      _ = try await client.getHealthStatus(target, metadata: .init())
      Issue.record("\(answer) was accepted")
    } catch {
      switch answer {
      case .slowLoris, .silence: #expect(error == .timedOut, "\(answer): \(error)")
      case .huge, .invalidUTF8, .wrongTypes, .notHTTP, .emptyFleet:
        #expect(error != .timedOut, "\(answer): \(error)")
      }
    }
    // Without the bound silence never ends, and the trickle ends in 3 s with a full answer (the
    // `.timedOut` above tells); the limit is generous for a loaded 2-core machine running the
    // whole suite.
    #expect(ContinuousClock.now - started < .seconds(10), "\(answer)")
    try await client.shutdown()
  }

  enum HostileAnswer: String, CaseIterable, Sendable {
    case slowLoris, silence, huge, invalidUTF8, wrongTypes, notHTTP, emptyFleet
  }

  final class HostileHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let answer: HostileAnswer
    init(answer: HostileAnswer) { self.answer = answer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      let channel = context.channel
      func send(_ text: String) { channel.writeAndFlush(ByteBuffer(string: text), promise: nil) }
      func send(_ bytes: [UInt8]) { channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil) }
      func ok(_ body: [UInt8]) {
        send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n")
        send(body)
      }
      switch answer {
      case .slowLoris:
        send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{")
        for index in 1...150 {
          channel.eventLoop.scheduleTask(in: .milliseconds(Int64(index * 20))) {
            channel.writeAndFlush(ByteBuffer(string: " "), promise: nil)
          }
        }
      case .silence: break
      case .huge: ok(Array(repeating: UInt8(ascii: " "), count: 200_000) + Array("{}".utf8))
      case .invalidUTF8: ok([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D])
      case .wrongTypes:
        ok(Array(#"{"xksProxyFleetSize":"two","xksProxyVendor":1,"ekmFleetDetails":{}}"#.utf8))
      case .notHTTP: send("SSH-2.0-OpenSSH\r\n\r\n")
      case .emptyFleet:
        ok(
          Array(
            #"{"xksProxyFleetSize":1,"xksProxyVendor":"v","xksProxyModel":"m","ekmVendor":"e","ekmFleetDetails":[]}"#
              .utf8))
      }
    }
  }
}
