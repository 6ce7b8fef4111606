// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-sigv4",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SigV4", targets: ["SigV4"]),
        .library(name: "SigV4Verifier", targets: ["SigV4Verifier"]),
        .library(name: "SigV4KeyStore", targets: ["SigV4KeyStore"]),
        .library(name: "SigV4AsyncHTTPClient", targets: ["SigV4AsyncHTTPClient"]),
        .library(name: "SigV4Foundation", targets: ["SigV4Foundation"]),
        .library(name: "HummingbirdSigV4", targets: ["HummingbirdSigV4"]),
        .library(name: "HummingbirdSigV4HTTP2", targets: ["HummingbirdSigV4HTTP2"]),
        .library(name: "HummingbirdSigV4Testing", targets: ["HummingbirdSigV4Testing"]),
        .executable(name: "sigv4", targets: ["SigV4Tool"]),
        // The CLI's pure parsers (package API; a product only so that the fuzz package can link them).
        .library(name: "SigV4CommandLine", targets: ["SigV4CommandLine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        // Its WSCore SPI (`WebSocketHandler`) runs the relay's upstream connection: pinned to the version it was
        // written for.
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", exact: "1.6.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // (In the graph through Hummingbird; named for `sigv4 serve --shutdown-timeout`.)
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // Already in the graph through AsyncHTTPClient and HummingbirdTLS; named for `sigv4 serve --tls-*`.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Already in the graph through AsyncHTTPClient and HummingbirdHTTP2; named for `sigv4 serve`'s h2 connections.
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSigV4OpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "_SigV4Crypto",
            dependencies: ["CSigV4OpenSSL"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SigV4",
            dependencies: [
                "_SigV4Crypto",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SigV4Verifier",
            dependencies: ["SigV4", "_SigV4Crypto"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SigV4KeyStore",
            dependencies: [
                "SigV4", "SigV4Verifier", "_SigV4Crypto",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SigV4AsyncHTTPClient",
            dependencies: [
                "SigV4",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SigV4Foundation",
            dependencies: ["SigV4", .product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HummingbirdSigV4",
            dependencies: [
                "SigV4", "SigV4Verifier", "SigV4KeyStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            // HTTP/2 for a Hummingbird service with the middleware: the server builder and the guards
            // `sigv4 serve` runs it with.
            name: "HummingbirdSigV4HTTP2",
            dependencies: [
                "HummingbirdSigV4",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHTTPTypesHTTP2", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HummingbirdSigV4Testing",
            dependencies: [
                "SigV4", "HummingbirdSigV4",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SigV4CommandLine",
            // libcrypto directly only for the X.509 subject of a mutual-TLS client (ClientCertificate).
            dependencies: ["SigV4", "_SigV4Crypto", "CSigV4OpenSSL"],
            swiftSettings: strictSettings),
        .executableTarget(
            name: "SigV4Tool",
            dependencies: [
                "SigV4", "SigV4Verifier", "SigV4KeyStore", "HummingbirdSigV4", "HummingbirdSigV4HTTP2",
                "SigV4AsyncHTTPClient",
                "SigV4Foundation", "_SigV4Crypto", "SigV4CommandLine",
                // libcrypto directly only to check that a TLS certificate and key go together.
                "CSigV4OpenSSL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                // `sigv4 serve` over TLS offers h2 by ALPN (swift-nio-http2 is in the graph through AsyncHTTPClient).
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                // `sigv4 serve --websockets`: verified upgrades relayed to the upstream.
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "WSCore", package: "swift-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP2", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "SigV4DiffDriver",
            dependencies: [
                "SigV4", "SigV4Verifier",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SigV4CryptoTests",
            dependencies: ["_SigV4Crypto"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SigV4VerifierTests",
            dependencies: [
                "SigV4", "SigV4Verifier", "_SigV4Crypto", "CSigV4TestMallocCounter", "SigV4TestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SigV4KeyStoreTests",
            dependencies: [
                "SigV4", "SigV4Verifier", "SigV4KeyStore", "_SigV4Crypto", "SigV4TestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SigV4ToolTests",
            dependencies: ["SigV4", "SigV4Verifier", "SigV4CommandLine", "SigV4TestSupport"],
            swiftSettings: strictSettings
        ),
        // Counts heap allocations per thread in the test process (allocation regression tests).
        .target(name: "CSigV4TestMallocCounter", path: "Tests/CSigV4TestMallocCounter"),
        // Test vector loading shared by the test targets (TestVectors/ and the suites' request.txt format).
        .target(
            name: "SigV4TestSupport",
            dependencies: ["SigV4", .product(name: "HTTPTypes", package: "swift-http-types")],
            path: "Tests/SigV4TestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SigV4GatewayTests",
            dependencies: [
                "SigV4", "SigV4Verifier", "SigV4KeyStore", "SigV4AsyncHTTPClient", "SigV4Foundation",
                "HummingbirdSigV4", "HummingbirdSigV4HTTP2", "HummingbirdSigV4Testing", "_SigV4Crypto",
                "SigV4TestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SigV4Tests",
            dependencies: [
                "SigV4", "_SigV4Crypto", "CSigV4TestMallocCounter", "SigV4TestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
