import AWSSigV4
import Foundation
import KMSModel
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// `kmsdash xks-proxy`'s listener: HTTP/1.1 on SwiftNIO, HTTPS (TLS 1.2+) unless `--http`.
/// Written on NIO directly (not Hummingbird) so the socket-level faults are real: a reset
/// before any byte, a reset in the middle of an answer, a certificate swapped while running.
public final class XKSProxyServer: Sendable {
  public let core: XKSProxyCore
  private let group: MultiThreadedEventLoopGroup
  private let tlsContext: Mutex<NIOSSLContext?>
  private let channel = Mutex<(any Channel)?>(nil)
  /// Open connections, closed when the certificate changes (as a proxy reloading its
  /// certificate does), so kept-alive connections do not outlive a certificate fault.
  private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
  private let log: @Sendable (String) -> Void
  public let usesTLS: Bool
  /// mTLS: the client certificate every connection must present (contexts are made with it).
  public let clientAuthentication: XKSClientAuthentication?

  /// `tls` nil serves plain HTTP. With `clientAuthentication`, `tls` must have been made with
  /// the same (`tlsContext(…, clientAuthentication:)`).
  public init(
    core: XKSProxyCore, tls: NIOSSLContext?, clientAuthentication: XKSClientAuthentication? = nil,
    threads: Int = 2, log: @escaping @Sendable (String) -> Void
  ) {
    self.core = core
    self.clientAuthentication = clientAuthentication
    group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    tlsContext = Mutex(tls)
    usesTLS = tls != nil
    self.log = log
  }

  /// A TLS 1.2+ server context for a PEM certificate chain and key.
  public static func tlsContext(
    certificatePEM: String, privateKeyPEM: String, clientAuthentication: XKSClientAuthentication? = nil
  ) throws -> NIOSSLContext {
    let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map {
      NIOSSLCertificateSource.certificate($0)
    }
    let key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
    var configuration = TLSConfiguration.makeServerConfiguration(
      certificateChain: chain, privateKey: .privateKey(key))
    configuration.minimumTLSVersion = .tlsv12
    clientAuthentication?.apply(to: &configuration)
    return try NIOSSLContext(configuration: configuration)
  }

  /// Replaces the certificate new connections are offered (the certificate faults) and closes
  /// the open ones, so every client shakes hands again with the new certificate.
  public func replaceTLSContext(_ context: NIOSSLContext) {
    tlsContext.withLock { $0 = context }
    for open in connections.withLock({ Array($0.values) }) { open.close(promise: nil) }
  }

  var currentTLSContext: NIOSSLContext? { tlsContext.withLock { $0 } }

  /// Binds and starts accepting; returns the bound host and port (useful with port 0).
  public func start(host: String, port: Int) async throws -> (host: String, port: Int) {
    let core = self.core
    let log = self.log
    let usesTLS = self.usesTLS
    let clientAuthentication = self.clientAuthentication
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.backlog, value: 256)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
      .childChannelInitializer { channel in
        let id = ObjectIdentifier(channel)
        self.connections.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { _ in _ = self.connections.withLock { $0.removeValue(forKey: id) } }
        return channel.eventLoop.makeCompletedFuture {
          if usesTLS, let context = self.currentTLSContext {
            if let clientAuthentication {
              try channel.pipeline.syncOperations.addHandler(
                NIOSSLServerHandler(context: context, customVerificationCallback: clientAuthentication.verify)
              )
            } else {
              try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
            }
          }
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
          try channel.pipeline.syncOperations.addHandler(XKSHTTPHandler(core: core, log: log))
        }
      }
    let bound = try await bootstrap.bind(host: host, port: port).get()
    channel.withLock { $0 = bound }
    return (bound.localAddress?.ipAddress ?? host, bound.localAddress?.port ?? port)
  }

  /// Suspends until the listener closes.
  public func waitUntilClosed() async throws {
    guard let bound = channel.withLock({ $0 }) else { return }
    try await bound.closeFuture.get()
  }

  public func shutdown() async {
    let bound = channel.withLock { value -> (any Channel)? in
      defer { value = nil }
      return value
    }
    try? await bound?.close().get()
    try? await group.shutdownGracefully()
  }
}

extension XKSProxyServer {
  /// `kmsdash xks-proxy`'s request log: each line on standard error after its UTC time
  /// (`2026-12-02T11:54:27Z xks-proxy …`, as `ISO8601DateFormatter` writes it), formatted
  /// without a formatter object: one is built per line otherwise, the dearest part of a request.
  public static let standardErrorLog: @Sendable (String) -> Void = { line in
    FileHandle.standardError.write(Data("\(logTimestamp(Date())) xks-proxy \(line)\n".utf8))
  }

  /// `yyyy-MM-dd'T'HH:mm:ss'Z'` in UTC.
  public static func logTimestamp(_ date: Date) -> String {
    let t = CivilTime(secondsSince1970: Int(date.timeIntervalSince1970.rounded(.down)))
    let pad = CivilTime.padded
    return
      "\(pad(t.year, 4))-\(pad(t.month, 2))-\(pad(t.day, 2))T\(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2))Z"
  }
}

/// One connection: collects a request, lets the core answer, delivers the answer as told.
final class XKSHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  static let maxBody = 1 << 20

  let core: XKSProxyCore
  let log: @Sendable (String) -> Void
  private var head: HTTPRequestHead?
  private var body = ByteBuffer()
  private var tooLarge = false
  /// Derived SigV4 signing keys, kept for this connection's requests (no lock, no HMAC chain).
  private let signingKeys = SigV4SigningKeyCache()

  init(core: XKSProxyCore, log: @escaping @Sendable (String) -> Void) {
    self.core = core
    self.log = log
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      self.head = head
      body.clear()
      tooLarge = false
    case .body(var chunk):
      if body.readableBytes + chunk.readableBytes > Self.maxBody {
        tooLarge = true
      } else {
        body.writeBuffer(&chunk)
      }
    case .end:
      guard let head else { return }
      self.head = nil
      respond(context: context, head: head)
    }
  }

  private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
    let started = ContinuousClock.now
    let keepAlive = head.isKeepAlive
    var response: XKSHTTPResponse
    if tooLarge {
      response = core.error(
        .unsupportedOperationException, "The request body is larger than this proxy accepts.")
    } else {
      let target = head.uri
      // Cut at the first "?" by index: `split` drops an empty query ("/health?"), and indexing
      // its second part crashed the proxy (found by scripts/proof-fuzz-xks-proxy).
      let mark = target.firstIndex(of: "?")
      let path = String(target[..<(mark ?? target.endIndex)])
      let query = mark.map { String(target[target.index(after: $0)...]) } ?? ""
      let request = XKSHTTPRequest(
        method: head.method.rawValue, path: path, query: query,
        headers: head.headers.map { (name: $0.name, value: $0.value) },
        body: Data(body.readableBytesView))
      response = core.handle(request, signingKeys: signingKeys)
    }
    let log = self.log
    let deliver = { [response] (context: ChannelHandlerContext) in
      switch response.delivery {
      case .resetBeforeResponse:
        Self.reset(context)
      case .normal, .resetMidResponse:
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        headers.replaceOrAdd(name: "Server", value: "kmsdash-xks-proxy")
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(
          NIOAny(
            HTTPServerResponsePart.head(
              HTTPResponseHead(version: head.version, status: status, headers: headers))),
          promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        if response.delivery == .resetMidResponse {
          buffer.writeBytes(response.body.prefix(response.body.count / 2))
          context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
          Self.reset(context)
        } else {
          buffer.writeBytes(response.body)
          context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
          let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
          if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
          }
        }
      }
      // One line per request; never a body, key or secret. Request IDs are made printable.
      let requestId = response.kmsRequestId.map { Self.printable($0) } ?? "-"
      let statusText = response.delivery == .resetBeforeResponse ? "reset" : String(response.status)
      log(
        "\(head.method.rawValue) \(Self.printable(head.uri)) operation=\(response.operation ?? "-") "
          + "kmsRequestId=\(requestId) status=\(statusText) latency=\(Self.milliseconds(ContinuousClock.now - started))ms"
      )
    }
    if response.delayMilliseconds > 0 {
      context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(response.delayMilliseconds))) {
        deliver(context)
      }
    } else {
      deliver(context)
    }
  }

  static func reset(_ context: ChannelHandlerContext) {
    let channel = context.channel
    // SO_LINGER 0: close() sends a TCP reset instead of a FIN.
    guard let provider = channel as? any SocketOptionProvider else {
      channel.close(promise: nil)
      return
    }
    provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
      channel.close(promise: nil)
    }
  }

  /// The first 160 characters of `text`, each outside printable ASCII (and spaces) as `?`.
  static func printable(_ text: String) -> String {
    if text.utf8.count <= 160, text.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) { return text }
    return String(
      String.UnicodeScalarView(
        text.unicodeScalars.prefix(160).map { (0x21...0x7E).contains($0.value) ? $0 : "?" }))
  }

  /// A duration in milliseconds with one decimal (`12.3`), without `String(format:)`.
  static func milliseconds(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    let tenths = seconds * 10_000 + (attoseconds + 50_000_000_000_000) / 100_000_000_000_000
    return "\(tenths / 10).\(tenths % 10)"
  }
}
