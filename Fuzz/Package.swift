// swift-tools-version: 6.1
// libFuzzer targets for swift-sigv4. A separate package so that a normal `swift build` of the
// library never links them. Build and run with `scripts/fuzz` (see Docs/Assurance.md):
//   swift build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
import Foundation
import PackageDescription

// A path dependency's identity is the last component of its directory (`main`, `wt-assurance`, …).
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let sigv4 = root.lastPathComponent

func fuzzTarget(_ name: String, _ products: [String], other: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["LibFuzzerDriver"] + products.map { .product(name: $0, package: sigv4) } + other,
        path: "Sources/\(name)")
}

let package = Package(
    name: "swift-sigv4-fuzz",
    dependencies: [
        .package(path: root.path),
        // The version the library resolves (its Package.swift): ByteBuffer for FuzzBrowserForm.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // The libFuzzer driver call every target shares (not itself a target of scripts/fuzz: no `Fuzz` prefix).
        .target(name: "LibFuzzerDriver", path: "Sources/LibFuzzerDriver"),
        fuzzTarget("FuzzAuthorizationHeader", ["SigV4Verifier"]),
        fuzzTarget("FuzzPresignedQuery", ["SigV4Verifier"]),
        fuzzTarget("FuzzCanonicalRequest", ["SigV4"]),
        fuzzTarget("FuzzAWSChunked", ["SigV4", "SigV4Verifier"]),
        fuzzTarget("FuzzHTTPRequestReader", ["SigV4Verifier"]),
        fuzzTarget("FuzzMasterKeyFile", ["SigV4KeyStore"]),
        fuzzTarget("FuzzCurlArguments", ["SigV4CommandLine"]),
        fuzzTarget("FuzzCredentialsFile", ["SigV4CommandLine"]),
        fuzzTarget("FuzzCapturedRequest", ["SigV4CommandLine"]),
        fuzzTarget("FuzzForwarding", ["SigV4CommandLine"]),
        fuzzTarget("FuzzSignVerify", ["SigV4", "SigV4Verifier"]),
        fuzzTarget("FuzzPostPolicy", ["SigV4"]),
        fuzzTarget("FuzzEventStream", ["SigV4", "SigV4Verifier"]),
        fuzzTarget(
            "FuzzBrowserForm", ["HummingbirdSigV4", "SigV4Verifier", "SigV4"],
            other: [.product(name: "NIOCore", package: "swift-nio")]),
    ]
)
