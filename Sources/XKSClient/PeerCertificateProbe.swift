import Foundation
import KMSModel
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Reads the certificate a proxy presents: a TLS handshake of its own, verified exactly as the
/// engine's calls are (the same trust roots, host name and client certificate), whose peer
/// certificate's `notAfter` becomes `XksProxyCertificateDaysToExpire`. AsyncHTTPClient does not
/// hand out the peer certificate of its pooled connections, so the handshake is made here, on
/// NIO, by a handler that sees it complete. A handshake that fails verification records nothing:
/// KMS only sees the certificates it accepts.
enum PeerCertificateProbe {
  static func notAfter(
    host: String, port: Int, context: NIOSSLContext, timeout: Duration
  ) async -> Date? {
    let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Date?.self)
    // SNI and the name check use the host name; an IP literal is checked against the address.
    let serverHostname = isIPAddress(host) ? nil : host
    let bootstrap = ClientBootstrap(group: promise.futureResult.eventLoop)
      .connectTimeout(.nanoseconds(timeout.nanoseconds))
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(
            NIOSSLClientHandler(context: context, serverHostname: serverHostname))
          try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: promise))
        }
      }
    let deadline = promise.futureResult.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
      promise.succeed(nil)
    }
    let connected = bootstrap.connect(host: host, port: port)
    connected.whenFailure { _ in promise.succeed(nil) }
    let answer = (try? await promise.futureResult.get()) ?? nil
    deadline.cancel()
    if let channel = try? await connected.get() { try? await channel.close().get() }
    return answer
  }

  static func isIPAddress(_ host: String) -> Bool {
    (try? SocketAddress(ipAddress: host, port: 0)) != nil
  }

  /// Completes the promise with the peer certificate's `notAfter` once the handshake is done,
  /// or with nil when the connection fails or closes first.
  final class HandshakeWatcher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<Date?>
    init(promise: EventLoopPromise<Date?>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
      if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
        let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
          .peerCertificate
        promise.succeed(certificate.map { Date(timeIntervalSince1970: TimeInterval($0.notValidAfter)) })
        context.close(promise: nil)
      }
      context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
      promise.succeed(nil)
      context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
      promise.succeed(nil)
      context.fireChannelInactive()
    }
  }
}
