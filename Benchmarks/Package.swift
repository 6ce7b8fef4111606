// swift-tools-version: 6.1
// Benchmarks for swift-sigv4. Run with `scripts/bench` from the repository root.
import PackageDescription

let package = Package(
    name: "swift-sigv4-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "swift-sigv4", path: ".."),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // Counts malloc/calloc/realloc/aligned allocations per thread by interposing the
        // allocator symbols in the benchmark executable (Linux/glibc).
        .target(name: "CMallocCounter"),
        // The libcrypto floor, called directly (fetched EVP_MD, reused contexts).
        .target(name: "CBenchFloor", linkerSettings: [.linkedLibrary("crypto")]),
        .executableTarget(
            name: "SigV4Bench",
            dependencies: [
                "CMallocCounter", "CBenchFloor",
                .product(name: "SigV4", package: "swift-sigv4"),
                .product(name: "SigV4Verifier", package: "swift-sigv4"),
                .product(name: "SigV4KeyStore", package: "swift-sigv4"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
    ]
)
