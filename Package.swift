// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "kmsdash",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "kmsdash", targets: ["kmsdash"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.0"),
    .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
  ],
  targets: [
    // Foundation-only vocabulary shared by every layer: AWS shapes, errors, validation, protocols.
    .target(name: "KMSModel"),
    .target(name: "AWSSigV4", dependencies: ["KMSModel", .product(name: "Crypto", package: "swift-crypto")]),
    .target(
      name: "HSMSimulator",
      dependencies: ["KMSModel", .product(name: "Crypto", package: "swift-crypto")]
    ),
    .target(
      name: "KeyStoreEngine",
      dependencies: [
        "KMSModel", "HSMSimulator", .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "_CryptoExtras", package: "swift-crypto"),
      ]
    ),
    .target(
      name: "EngineStorage",
      dependencies: [
        "KeyStoreEngine",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),
    .target(
      name: "KMSServer",
      dependencies: [
        "KMSModel", "KeyStoreEngine", "AWSSigV4",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOExtras", package: "swift-nio-extras"),
      ]
    ),
    .target(
      name: "KMSClient",
      dependencies: [
        "KMSModel", "AWSSigV4", .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "TOMLKit", package: "TOMLKit"),
      ]
    ),
    // The simulated external key manager behind an XKS Proxy API v1 server (`kmsdash xks-proxy`).
    .target(
      name: "XKSProxy",
      dependencies: [
        "KMSModel", "AWSSigV4",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
      ]
    ),
    // The engine's side of XKS: a proxy over real HTTP(S) with KMS's 250 ms bound.
    .target(
      name: "XKSClient",
      dependencies: [
        "KMSModel", "AWSSigV4", "XKSProxy",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOTLS", package: "swift-nio"),
      ]
    ),
    .systemLibrary(name: "CNcursesw", path: "Sources/CNcursesw", providers: [.apt(["libncurses-dev"])]),
    .target(name: "TerminalUI", dependencies: ["CNcursesw"]),
    .target(name: "Dashboard", dependencies: ["KMSModel", "TerminalUI"]),
    .executableTarget(
      name: "kmsdash",
      dependencies: [
        "KMSModel", "KeyStoreEngine", "EngineStorage", "KMSServer", "KMSClient", "AWSSigV4", "Dashboard",
        "TerminalUI", "XKSProxy", "XKSClient", .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // Request-path fuzz harness: a corpus replayer in a normal build; built by
    // scripts/proof-fuzz-libfuzzer with -DKMSFUZZ -sanitize=fuzzer,address it is a libFuzzer target.
    .executableTarget(
      name: "kmsfuzz",
      dependencies: [
        "KMSModel", "KeyStoreEngine", "KMSServer", "AWSSigV4", "XKSProxy",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Sources/KMSFuzz"
    ),
    // Dashboard and scale benchmarks (scripts/bench-dashboard, scripts/bench-scale).
    .executableTarget(
      name: "kmsdash-bench",
      dependencies: [
        "KMSModel", "KeyStoreEngine", "EngineStorage", "KMSServer", "Dashboard", "TerminalUI",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // The bare SwiftNIO baseline of scripts/bench-endpoint ("distance to the limit").
    .executableTarget(
      name: "bare-nio-bench",
      dependencies: [
        .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]
    ),
    // What several test targets share (one test clock, background servers); not part of the product.
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    .testTarget(name: "KMSModelTests", dependencies: ["KMSModel"]),
    .testTarget(name: "AWSSigV4Tests", dependencies: ["AWSSigV4"], resources: [.copy("Fixtures")]),
    .testTarget(
      name: "KeyStoreEngineTests",
      dependencies: [
        "KeyStoreEngine", "HSMSimulator", "KMSModel", "TestSupport",
        .product(name: "PropertyBased", package: "swift-property-based"),
        .product(name: "_CryptoExtras", package: "swift-crypto"),
      ]
    ),
    .testTarget(
      name: "EngineStorageTests",
      dependencies: ["EngineStorage", "KeyStoreEngine", .product(name: "GRDB", package: "GRDB.swift")]
    ),
    .testTarget(
      name: "KMSServerTests", dependencies: ["KMSServer", "KeyStoreEngine", "KMSModel", "AWSSigV4"]),
    .testTarget(
      name: "KMSClientTests",
      dependencies: [
        "KMSClient", "KMSModel", "AWSSigV4", "KMSServer", "KeyStoreEngine", "TestSupport",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Hummingbird", package: "hummingbird"),
      ],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI"]),
    .testTarget(
      name: "DashboardTests",
      dependencies: [
        "Dashboard", "TerminalUI", "KMSModel", "TestSupport",
        .product(name: "PropertyBased", package: "swift-property-based"),
      ],
      // Text snapshots of the screens, read from the source tree (ViewSnapshotTests).
      exclude: ["Snapshots"]
    ),
    .testTarget(name: "EndToEndTests", dependencies: ["KMSModel", "TestSupport"]),
    .testTarget(
      name: "XKSTests",
      dependencies: [
        "XKSProxy", "XKSClient", "KMSModel", "AWSSigV4", "KeyStoreEngine", "KMSServer", "KMSClient",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ]
    ),
  ]
)
