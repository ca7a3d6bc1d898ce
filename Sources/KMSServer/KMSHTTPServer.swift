import Foundation
import HTTPTypes
import KMSModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix

/// `kmsdash serve`'s HTTP server: SwiftNIO HTTP/1.1 on `eventLoops` threads, graceful shutdown on
/// SIGINT/SIGTERM. The hot operations are answered on the connection's event loop from the
/// engine's read view (`KMSRequestHandler.respondImmediately`); everything else goes through
/// `KMSRequestHandler.handle` on Swift concurrency and is written back on the event loop.
public struct KMSHTTPServer: Sendable {
  public var host: String
  public var port: Int
  public var handler: KMSRequestHandler
  public var logger: Logger
  /// Event loops (threads) serving connections: one per core by default.
  public var eventLoops: Int

  public init(
    host: String, port: Int, handler: KMSRequestHandler, logger: Logger, eventLoops: Int = System.coreCount
  ) {
    self.host = host
    self.port = port
    self.handler = handler
    self.logger = logger
    self.eventLoops = max(1, eventLoops)
  }

  /// Runs until SIGINT or SIGTERM (or cancellation). `onListening` receives the bound address
  /// (useful with port 0). In-flight requests are answered before it returns.
  public func run(onListening: @escaping @Sendable (String, Int) async -> Void = { _, _ in }) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: eventLoops)
    let quiesce = ServerQuiescingHelper(group: group)
    let handler = self.handler
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(.backlog, value: 256)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .serverChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
        }
      }
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
          try channel.pipeline.syncOperations.addHandler(KMSChannelHandler(handler: handler))
        }
      }
      .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      .childChannelOption(.maxMessagesPerRead, value: 16)
    let channel: any Channel
    do {
      channel = try await bootstrap.bind(host: host, port: port).get()
    } catch {
      try? await group.shutdownGracefully()
      throw error
    }
    let address = channel.localAddress
    await onListening(address?.ipAddress ?? host, address?.port ?? port)

    let stopped = group.next().makePromise(of: Void.self)
    let stopping = NIOLockedValueBox(false)
    let stop: @Sendable () -> Void = {
      guard
        stopping.withLockedValue({ before in
          defer { before = true }
          return !before
        })
      else { return }
      quiesce.initiateShutdown(promise: stopped)
    }
    let signalQueue = DispatchQueue(label: "kmsdash.serve.signals")
    let sources = [SIGTERM, SIGINT].map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
      source.setEventHandler(handler: stop)
      source.resume()
      return source
    }
    defer { for source in sources { source.cancel() } }
    try await withTaskCancellationHandler {
      try await stopped.futureResult.get()
    } onCancel: {
      stop()
    }
    try await group.shutdownGracefully()
  }
}

/// One connection: collects each request (head and body up to `maxBodyBytes`), answers it at once
/// when it is a hot operation, else through the general handler, and writes the answer with the
/// headers Hummingbird used to add (`Date`, `Server: kmsdash`).
final class KMSChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let handler: KMSRequestHandler
  private var head: HTTPRequestHead?
  private var body: ByteBuffer?
  private var tooLarge = false
  private var inFlight = false
  private var quiescing = false
  private var requestIds = RequestIdGenerator()
  private var immediate = ImmediateConnectionState()
  private var date = DateHeader()

  init(handler: KMSRequestHandler) { self.handler = handler }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      self.head = head
      let declared = head.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
      tooLarge = declared > handler.options.maxBodyBytes
      body = tooLarge ? nil : context.channel.allocator.buffer(capacity: max(0, declared))
    case .body(var chunk):
      guard !tooLarge else { return }
      if (body?.readableBytes ?? 0) + chunk.readableBytes > handler.options.maxBodyBytes {
        tooLarge = true
        body = nil
      } else {
        body?.writeBuffer(&chunk)
      }
    case .end:
      guard let head else { return }
      self.head = nil
      let body = tooLarge ? nil : (self.body ?? ByteBuffer())
      self.body = nil
      respond(context: context, head: head, body: body)
    }
  }

  private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, body: ByteBuffer?) {
    let requestId = requestIds.next()
    let close = head.headers.first(name: "connection")?.lowercased() == "close" || head.method == .CONNECT
    if let wire = handler.respondImmediately(
      head: head, body: body, requestId: requestId, connection: &immediate)
    {
      write(context: context, wire, version: head.version, close: close)
      return
    }
    inFlight = true
    let handler = self.handler
    let (path, query) = Self.split(head.uri)
    var fields = HTTPFields()
    fields.reserveCapacity(head.headers.count)
    for (name, value) in head.headers {
      if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
    }
    let authority = head.headers.first(name: "host")
    let method = head.method.rawValue
    let headerFields = fields
    context.eventLoop.makeFutureWithTask {
      await handler.handle(
        method: method, path: path, query: query, authority: authority, headers: headerFields, body: body,
        requestId: requestId)
    }.assumeIsolated().whenSuccess { wire in
      self.inFlight = false
      self.write(context: context, wire, version: head.version, close: close || self.quiescing)
    }
  }

  private static func split(_ uri: String) -> (path: String, query: String) {
    guard let mark = uri.firstIndex(of: "?") else { return (uri, "") }
    return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
  }

  private func write(context: ChannelHandlerContext, _ wire: WireResponse, version: HTTPVersion, close: Bool)
  {
    var headers = HTTPHeaders()
    headers.reserveCapacity(wire.headers.count + 3)
    for field in wire.headers { headers.add(name: field.name.rawName, value: field.value) }
    headers.add(name: "Date", value: date.current())
    headers.add(name: "Server", value: "kmsdash")
    let head = HTTPResponseHead(version: version, status: .init(statusCode: wire.status), headers: headers)
    context.write(wrapOutboundOut(.head(head)), promise: nil)
    context.write(wrapOutboundOut(.body(.byteBuffer(wire.body))), promise: nil)
    if close || quiescing {
      context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
        context.close(promise: nil)
      }
    } else {
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if event is ChannelShouldQuiesceEvent {
      quiescing = true
      // Idle: close now; mid-request: after its answer is written.
      if head == nil, !inFlight { context.close(promise: nil) }
      return
    }
    context.fireUserInboundEventTriggered(event)
  }
}

/// The `Date` header (RFC 9110 IMF-fixdate), formatted once per second per connection.
struct DateHeader {
  private var second = -1
  private var text = ""

  mutating func current() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    let seconds = Int(now.tv_sec)
    if seconds != second {
      second = seconds
      text = Self.format(seconds)
    }
    return text
  }

  static func format(_ seconds: Int) -> String {
    let t = CivilTime(secondsSince1970: seconds)
    let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((days % 7) + 7) % 7]
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][
      t.month - 1]
    let pad = CivilTime.padded
    return
      "\(weekday), \(pad(t.day, 2)) \(month) \(pad(t.year, 4)) \(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2)) GMT"
  }
}
