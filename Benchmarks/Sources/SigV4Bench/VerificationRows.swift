import Foundation
import HTTPTypes
import SigV4
import SigV4Verifier

/// Header and presigned verification of the benchmark request (warm key cache, no replay guard,
/// so the same request can be verified again and again).
enum VerificationRows {
    static let verifier = Verifier(
        resolver: InMemoryCredentialResolver([
            ResolvedCredential(
                accessKeyID: Fixture.accessKeyID, secretAccessKey: SecretAccessKey(Fixture.secret), principal: "bench"),
            ResolvedCredential(
                accessKeyID: Fixture.realLengthAccessKeyID, secretAccessKey: SecretAccessKey(Fixture.secret),
                principal: "bench"),
        ]))

    static func signedRequests() -> (header: SignedRequest, presigned: SignedRequest) {
        let signer = Fixture.signer(cache: nil)
        guard let header = try? signer.sign(Fixture.request(), payload: .emptySHA256, at: Fixture.date),
            let presigned = try? signer.presign(Fixture.request(), expires: 3600, at: Fixture.date)
        else { fatalError("benchmark request does not sign") }
        return (header, presigned)
    }

    static func make() async -> [Row] {
        let (header, presigned) = signedRequests()
        let now = Fixture.date
        let verifier = self.verifier
        for (what, request, payload) in [
            ("header", header.request, Verifier.Payload.hash(.emptySHA256)),
            ("presigned", presigned.request, Verifier.Payload.streamed),
        ] {
            if case .rejected(let failure) = await verifier.verify(request, payload: payload, now: now) {
                fatalError("the verifier rejects the \(what) benchmark request: \(failure)")
            }
        }
        let headerRequest = header.request
        let presignedRequest = presigned.request
        // The same request signed for S3 (the gateway's case: `x-amz-content-sha256` sent and signed).
        let s3Signer = Signer(
            credentials: Fixture.credentials, region: Fixture.region, service: "s3", keyCache: nil)
        guard let s3 = try? s3Signer.sign(Fixture.request(), payload: .emptySHA256, at: Fixture.date),
            case .accepted = await verifier.verify(s3.request, payload: .streamed, now: now)
        else { fatalError("the verifier rejects the S3 benchmark request") }
        let s3Request = s3.request
        // The header request signed with a 20-byte access key id.
        let realLengthSigner = Signer(
            credentials: Credentials(accessKeyID: Fixture.realLengthAccessKeyID, secretAccessKey: Fixture.secret),
            region: Fixture.region, service: Fixture.service, keyCache: nil)
        guard let realLength = try? realLengthSigner.sign(Fixture.request(), payload: .emptySHA256, at: Fixture.date),
            case .accepted = await verifier.verify(realLength.request, payload: .hash(.emptySHA256), now: now)
        else { fatalError("the verifier rejects the 20-byte key benchmark request") }
        let realLengthRequest = realLength.request
        return [
            Row(
                name: "verify_header_warm_20B_key",
                body: { n in
                    for _ in 0..<n {
                        blackHole(await verifier.verify(realLengthRequest, payload: .hash(.emptySHA256), now: now))
                    }
                },
                floor: SignatureFloor(
                    canonical: realLength.canonicalRequest.bytes, stringToSign: realLength.stringToSign.bytes,
                    cold: false
                ).body(),
                maxAllocsPerOp: 1,
                note: "verify_header_warm with a 20-byte access key id (its String is a heap allocation)"),
            Row(
                name: "verify_header_s3_warm",
                body: { n in
                    for _ in 0..<n {
                        blackHole(await verifier.verify(s3Request, payload: .streamed, now: now))
                    }
                },
                floor: SignatureFloor(
                    canonical: s3.canonicalRequest.bytes, stringToSign: s3.stringToSign.bytes, cold: false
                ).body(),
                maxAllocsPerOp: 0,
                note: "Verifier.verify(HTTPRequest), S3 header auth (x-amz-content-sha256 signed), streamed body"),
            Row(
                name: "verify_header_warm",
                body: { n in
                    for _ in 0..<n {
                        blackHole(await verifier.verify(headerRequest, payload: .hash(.emptySHA256), now: now))
                    }
                },
                floor: SignatureFloor(
                    canonical: header.canonicalRequest.bytes, stringToSign: header.stringToSign.bytes, cold: false
                ).body(),
                maxAllocsPerOp: 0,
                note: "Verifier.verify(HTTPRequest), header auth, key cache hit"),
            Row(
                name: "verify_presign_warm",
                body: { n in
                    for _ in 0..<n {
                        blackHole(await verifier.verify(presignedRequest, payload: .streamed, now: now))
                    }
                },
                floor: SignatureFloor(
                    canonical: presigned.canonicalRequest.bytes, stringToSign: presigned.stringToSign.bytes,
                    cold: false
                ).body(),
                maxAllocsPerOp: 0,
                note: "Verifier.verify(HTTPRequest), presigned URL, key cache hit"),
        ]
    }

    /// Header verifications per second on 1 and on 2 concurrent tasks (wall clock), printed
    /// after the table.
    static func printScaling(_ config: MeasureConfig) async {
        let (header, _) = signedRequests()
        let request = header.request
        let now = Fixture.date
        let verifier = self.verifier
        let perTask = 20_000
        func run(tasks: Int) async -> Double {
            let t0 = wallNanoseconds()
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        for _ in 0..<perTask {
                            blackHole(await verifier.verify(request, payload: .hash(.emptySHA256), now: now))
                        }
                    }
                }
            }
            return Double(tasks * perTask) / (Double(wallNanoseconds() - t0) / 1e9)
        }
        await printTaskScaling("verify_header throughput") { await run(tasks: $0) }
    }
}
