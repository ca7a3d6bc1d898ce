import NIOCore
import NIOHTTP1
import NIOPosix

// bare-nio-bench: the ceiling kmsdash serve is measured against (scripts/bench-endpoint). A bare
// SwiftNIO HTTP/1.1 server answering every request with one fixed AWS-JSON-sized body on the event
// loop, with the same pipeline and socket options as kmsdash serve and no other work.
// usage: bare-nio-bench PORT [EVENT_LOOPS]

final class FixedAnswer: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  static let body = #"{"Plaintext":"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="}"#
  private let headers: HTTPHeaders = [
    "Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "00000000-0000-4000-8000-000000000000",
    "Content-Length": String(FixedAnswer.body.utf8.count), "Server": "bare-nio",
  ]
  private var version = HTTPVersion.http1_1

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head): version = head.version
    case .body: break
    case .end:
      context.write(
        wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers))),
        promise: nil)
      context.write(
        wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: Self.body)))), promise: nil
      )
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
  }
}

let arguments = CommandLine.arguments
let port = arguments.count > 1 ? Int(arguments[1]) ?? 8080 : 8080
let loops = arguments.count > 2 ? Int(arguments[2]) ?? System.coreCount : System.coreCount
let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
let channel = try ServerBootstrap(group: group)
  .serverChannelOption(.backlog, value: 256)
  .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
  .childChannelInitializer { channel in
    channel.eventLoop.makeCompletedFuture {
      try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
      try channel.pipeline.syncOperations.addHandler(FixedAnswer())
    }
  }
  .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
  .childChannelOption(.maxMessagesPerRead, value: 16)
  .bind(host: "127.0.0.1", port: port).wait()
print("bare-nio-bench: listening on 127.0.0.1:\(channel.localAddress?.port ?? port)")
try channel.closeFuture.wait()
