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
        .executable(name: "sigv4", targets: ["SigV4Tool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
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
        .executableTarget(
            name: "SigV4Tool",
            dependencies: [
                "SigV4", "SigV4Verifier", "SigV4KeyStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
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
                "SigV4", "SigV4Verifier", "_SigV4Crypto",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SigV4KeyStoreTests",
            dependencies: [
                "SigV4", "SigV4Verifier", "SigV4KeyStore", "_SigV4Crypto",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SigV4ToolTests",
            dependencies: ["SigV4", "SigV4Verifier"],
            swiftSettings: strictSettings
        ),
        // Counts heap allocations per thread in the test process (allocation regression tests).
        .target(name: "CSigV4TestMallocCounter", path: "Tests/CSigV4TestMallocCounter"),
        .testTarget(
            name: "SigV4Tests",
            dependencies: [
                "SigV4", "_SigV4Crypto", "CSigV4TestMallocCounter",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
