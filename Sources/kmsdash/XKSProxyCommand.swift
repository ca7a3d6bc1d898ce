import ArgumentParser
import Foundation
import NIOSSL
import XKSProxy

/// `kmsdash xks-proxy`: a simulated external key manager behind an XKS Proxy API v1 server.
struct XKSProxyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "xks-proxy",
    abstract: "Serve a simulated external key manager through an XKS Proxy API v1 endpoint.",
    discussion: """
      Without --config the demo configuration is used: URI path /demo/kms/xks/v1, access key ID \
      KMSDASHDEMOXKSACCESSKEY2, secret kmsdashDemoXksSecretKey0123456789abcdefghijk, external keys \
      demo-aes-1, demo-aes-2 (ENCRYPT+DECRYPT), demo-encrypt-only, demo-decrypt-only, demo-no-usage \
      (SIGN/VERIFY only) and demo-disabled (DISABLED).

      HTTPS by default (TLS 1.2+): a local CA and a server certificate are generated beside the \
      state and the CA file is printed; pass it to `kmsdash serve --xks-ca-file`. --http serves \
      plain HTTP for local work. GET /ping answers pong. QA faults are set while it runs with \
      `kmsdash fault --xks-proxy URL --set …` (the control endpoint /kmsdash/faults).
      """)

  @Option(help: ArgumentHelp("Address to listen on.", valueName: "host"))
  var host = "127.0.0.1"

  @Option(
    help: ArgumentHelp("Port to listen on (0 picks a free one; the address is printed).", valueName: "port"))
  var port = 4600

  @Flag(help: "Serve plain HTTP instead of HTTPS (local work only).")
  var http = false

  @Option(help: ArgumentHelp("Proxy configuration file (JSON; see the README).", valueName: "path"))
  var config: String?

  @Option(
    help: ArgumentHelp(
      "State file holding the external keys (default $XDG_STATE_HOME/kmsdash/xks-proxy.json).",
      valueName: "path"))
  var state: String?

  @Flag(help: "Keep the keys in memory only (new key material on every start).")
  var ephemeral = false

  @Option(
    help: ArgumentHelp("Server certificate (PEM) to use instead of the generated one.", valueName: "path"))
  var cert: String?

  @Option(help: ArgumentHelp("Private key (PEM) of --cert.", valueName: "path"))
  var key: String?

  @Option(
    name: .customLong("cert-name"),
    help: ArgumentHelp("Extra host name for the generated certificate (repeatable).", valueName: "name"))
  var certNames: [String] = []

  @Option(
    help: ArgumentHelp(
      "mTLS: require a client certificate issued by this CA (PEM), e.g. the one kmsdash serve prints.",
      valueName: "path"))
  var clientCa: String?

  @Option(
    help: ArgumentHelp(
      "mTLS: the client certificate's common name must be this (AWS: cks.kms.<region>.amazonaws.com).",
      valueName: "CN"))
  var clientSubject: String?

  @Flag(help: "Print the KMS console's proxy configuration file for a key store and exit.")
  var printKmsConfig = false

  @Option(
    help: ArgumentHelp(
      "With --print-kms-config: the key store's URI path (default the first).", valueName: "path"))
  var keyStore: String?

  func validate() throws {
    guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
    if ephemeral && state != nil {
      throw ValidationError("--ephemeral keeps no state: it cannot go with --state.")
    }
    if (cert == nil) != (key == nil) { throw ValidationError("Give both --cert and --key, or neither.") }
    if http && cert != nil { throw ValidationError("--http serves no certificate: drop --cert/--key.") }
    if http && clientCa != nil { throw ValidationError("--client-ca needs TLS: drop --http.") }
    if clientSubject != nil && clientCa == nil {
      throw ValidationError("--client-subject goes with --client-ca.")
    }
    if let clientCa, !FileManager.default.isReadableFile(atPath: clientCa) {
      throw ValidationError("--client-ca \(clientCa) cannot be read.")
    }
  }

  func run() async throws {
    // SIGTERM and SIGINT stop the proxy whatever this process inherited: a parent that ignores
    // them (as `kmsdash serve` does to handle them itself) passes SIG_IGN on to its children.
    signal(SIGTERM, SIG_DFL)
    signal(SIGINT, SIG_DFL)
    let configuration: XKSProxyConfiguration
    do {
      configuration =
        try config.map { try XKSProxyConfiguration.load(from: URL(fileURLWithPath: $0)) } ?? .demo
    } catch {
      fail("\(error)")
    }
    if printKmsConfig {
      guard let text = configuration.kmsConsoleConfiguration(uriPath: keyStore) else {
        fail("no key store with URI path \(keyStore ?? "")")
      }
      print(text)
      return
    }
    let stateFile = ephemeral ? nil : ProxyStateFile(path: state ?? ProxyStateFile.defaultPath())
    let ekm: ExternalKeyManager
    do {
      ekm = try ExternalKeyManager(configuration: configuration, state: stateFile)
    } catch {
      fail("\(error)")
    }
    let core = XKSProxyCore(configuration: configuration, ekm: ekm)

    var tls: NIOSSLContext?
    var certificates: ProxyCertificates?
    let clientAuthentication: XKSClientAuthentication?
    do {
      clientAuthentication = try clientCa.map {
        try XKSClientAuthentication(caFile: $0, subject: clientSubject)
      }
    } catch {
      fail("cannot read --client-ca: \(error)")
    }
    if !http {
      do {
        if let cert, let key {
          tls = try XKSProxyServer.tlsContext(
            certificatePEM: String(contentsOfFile: cert, encoding: .utf8),
            privateKeyPEM: String(contentsOfFile: key, encoding: .utf8),
            clientAuthentication: clientAuthentication)
        } else {
          let directory =
            stateFile.map { $0.path + ".tls" }
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("kmsdash-xks-proxy-\(getpid())")
          let made = ProxyCertificates(directory: directory)
          let leaf = try await made.ensure(
            names: certNames + (["127.0.0.1", "localhost"].contains(host) ? [] : [host]))
          tls = try XKSProxyServer.tlsContext(
            certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM,
            clientAuthentication: clientAuthentication)
          certificates = made
        }
      } catch {
        fail("cannot set up TLS: \(error)")
      }
    }
    let server = XKSProxyServer(
      core: core, tls: tls, clientAuthentication: clientAuthentication, log: XKSProxyServer.standardErrorLog)
    if let certificates {
      let names = certNames
      core.observeCertificateFault { kind in
        Task {
          do {
            let leaf: ProxyCertificates.Leaf
            if let faulty = try await certificates.faulty(kind, names: names) {
              leaf = faulty
            } else {
              leaf = try await certificates.ensure(names: names)
            }
            server.replaceTLSContext(
              try XKSProxyServer.tlsContext(
                certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM,
                clientAuthentication: clientAuthentication))
          } catch {
            FileHandle.standardError.write(Data("xks-proxy: cannot switch the certificate: \(error)\n".utf8))
          }
        }
      }
    }
    let bound: (host: String, port: Int)
    do {
      bound = try await server.start(host: host, port: port)
    } catch {
      fail("cannot listen on \(host):\(port): \(error)")
    }
    let display = bound.host.contains(":") ? "[\(bound.host)]" : bound.host
    var lines = [
      "kmsdash xks-proxy: listening on \(http ? "http" : "https")://\(display):\(bound.port)"
        + " (key stores: \(configuration.keyStores.map(\.uriPath).joined(separator: ", ")))"
    ]
    if let certificates { lines.append("kmsdash xks-proxy: CA certificate: \(certificates.caPath)") }
    if let clientCa {
      lines.append(
        "kmsdash xks-proxy: mTLS: client certificates of \(clientCa)"
          + (clientSubject.map { " with CN=\($0)" } ?? "") + " required")
    }
    if let stateFile { lines.append("kmsdash xks-proxy: keys kept in \(stateFile.path)") }
    FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    try await server.waitUntilClosed()
  }

  private func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("kmsdash xks-proxy: \(message)\n".utf8))
    Foundation.exit(1)
  }
}
