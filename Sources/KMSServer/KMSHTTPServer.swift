import Foundation
import Hummingbird
import Logging
import NIOCore

/// Hummingbird responder that feeds every request, whatever its method or path, to the handler.
struct KMSResponder: HTTPResponder {
  typealias Context = BasicRequestContext
  let handler: KMSRequestHandler

  func respond(to request: Request, context: Context) async throws -> Response {
    var request = request
    var body: ByteBuffer?
    let declared = request.headers[.contentLength].flatMap { Int($0) } ?? 0
    if declared <= handler.options.maxBodyBytes {
      body = try? await request.collectBody(upTo: handler.options.maxBodyBytes)
    }
    let wire = await handler.handle(
      method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
      authority: request.head.authority, headers: request.headers, body: body)
    return Response(
      status: HTTPResponse.Status(code: wire.status), headers: wire.headers,
      body: ResponseBody(byteBuffer: wire.body))
  }
}

/// `kmsdash serve`'s HTTP server: Hummingbird 2, HTTP/1.1, graceful shutdown on SIGINT/SIGTERM.
public struct KMSHTTPServer: Sendable {
  public var host: String
  public var port: Int
  public var handler: KMSRequestHandler
  public var logger: Logger

  public init(host: String, port: Int, handler: KMSRequestHandler, logger: Logger) {
    self.host = host
    self.port = port
    self.handler = handler
    self.logger = logger
  }

  /// Runs until SIGINT or SIGTERM. `onListening` receives the bound address (useful with port 0).
  public func run(onListening: @escaping @Sendable (String, Int) async -> Void = { _, _ in }) async throws {
    var serverLogger = logger
    serverLogger.logLevel = max(logger.logLevel, .notice)
    let app = Application(
      responder: KMSResponder(handler: handler),
      configuration: ApplicationConfiguration(
        address: .hostname(host, port: port), serverName: "kmsdash"),
      onServerRunning: { channel in
        let address = channel.localAddress
        await onListening(address?.ipAddress ?? host, address?.port ?? port)
      },
      logger: serverLogger)
    try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
  }
}
