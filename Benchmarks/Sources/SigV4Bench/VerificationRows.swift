import Foundation
import HTTPTypes
import SigV4
import SigV4KeyStore
import SigV4Verifier

/// A replay guard that takes every signature as new, at once, and keeps nothing: it lets a
/// benchmark verify the same request again and again through the verifier's replay step.
struct FirstUseGuard: ReplayGuard {
    func remember(_ signature: Signature, until: AmzDate, now: AmzDate) async -> ReplayGuardResult { .firstUse }
    func rememberWithoutSuspending(_ signature: Signature, until: AmzDate, now: AmzDate) -> ReplayGuardResult? {
        .firstUse
    }
}

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
        // The same request signed for S3 (the gateway's case: `x-amz-content-sha256` sent and signed).
        let s3 = await accepted(
            Signer(credentials: Fixture.credentials, region: Fixture.region, service: "s3", keyCache: nil),
            payload: .streamed, "the S3 benchmark request")
        // The header and presigned requests signed with a 20-byte access key id (the presigned
        // `X-Amz-Credential` escapes only the `/`s).
        let realLengthSigner = Signer(
            credentials: Credentials(accessKeyID: Fixture.realLengthAccessKeyID, secretAccessKey: Fixture.secret),
            region: Fixture.region, service: Fixture.service, keyCache: nil)
        let realLength = await accepted(
            realLengthSigner, payload: .hash(.emptySHA256), "the 20-byte key benchmark request")
        let realLengthPresigned = await accepted(
            realLengthSigner, presigned: true, payload: .streamed, "the 20-byte key presigned benchmark request")
        // The S3 request verified with keys from the key store (in-memory storage: the resolver's
        // cache, clock read and last-use note, without SQLite), as `sigv4 serve` verifies.
        guard let ring = try? MasterKeyRing.generate(),
            let store = try? KeyStore(storage: InMemoryKeyStoreStorage(), masterKeys: ring),
            let issued = try? store.createKey(principal: "bench", actor: "bench")
        else { fatalError("the key store benchmark set-up failed") }
        let storeVerifier = Verifier(resolver: store)
        let storeSigned = await accepted(
            Signer(credentials: issued.credentials, region: Fixture.region, service: "s3", keyCache: nil),
            payload: .streamed, verifier: storeVerifier, "the key store benchmark request")
        // A declared checksum (`x-amz-checksum-crc32`, signed, as SDKs send on uploads), and a wrong
        // signature (the last hex digit changed), which the common form's path hands to the full
        // verification for its refusal.
        var checksumRequest = Fixture.request()
        checksumRequest.headerFields[HTTPField.Name("x-amz-checksum-crc32")!] = "AAAAAA=="
        let checksum = await accepted(
            Signer(credentials: Fixture.credentials, region: Fixture.region, service: "s3", keyCache: nil),
            request: checksumRequest, payload: .streamed, "the checksum benchmark request")
        var wrongSignature = header
        var tampered = header.request
        guard var authorization = tampered.headerFields[.authorization], let last = authorization.popLast() else {
            fatalError("the benchmark request has no Authorization field")
        }
        authorization.append(last == "0" ? "1" : "0")
        tampered.headerFields[.authorization] = authorization
        wrongSignature.request = tampered
        guard case .rejected(let refusal) = await verifier.verify(tampered, payload: .hash(.emptySHA256), now: now),
            refusal.code == .signatureDoesNotMatch
        else { fatalError("the verifier does not refuse the tampered benchmark request as SignatureDoesNotMatch") }
        return [
            row(
                "verify_header_checksum_warm", checksum, payload: .streamed, maxAllocsPerOp: 0,
                note: "verify_header_s3_warm with a signed x-amz-checksum-crc32 field (as SDKs send on uploads)"),
            row(
                "verify_header_rejected_signature", wrongSignature, payload: .hash(.emptySHA256), maxAllocsPerOp: 0,
                note: "verify_header_warm with the signature's last hex digit changed: refused (SignatureDoesNotMatch) by the common form's path (the target has no other reading)"),
            row(
                "verify_header_s3_keystore", storeSigned, payload: .streamed, maxAllocsPerOp: 0,
                verifier: storeVerifier,
                note: "verify_header_s3_warm with the key store as resolver (in-memory storage), a 20-byte id"),
            row(
                "verify_header_s3_warm", s3, payload: .streamed, maxAllocsPerOp: 0,
                note: "Verifier.verify(HTTPRequest), S3 header auth (x-amz-content-sha256 signed), streamed body"),
            row(
                "verify_header_warm", header, payload: .hash(.emptySHA256), maxAllocsPerOp: 0,
                note: "Verifier.verify(HTTPRequest), header auth, key cache hit"),
            Row(
                name: "verify_header_warm_sync",
                body: { [verifier] n in
                    let request = header.request
                    let now = Fixture.date
                    for _ in 0..<n {
                        blackHole(
                            verifier.verifyWithoutSuspending(VerificationRequest(request), payload: .hash(.emptySHA256), now: now))
                    }
                },
                floor: SignatureFloor(
                    canonical: header.canonicalRequest.bytes, stringToSign: header.stringToSign.bytes, cold: false
                ).body(),
                maxAllocsPerOp: 0,
                note: "verify_header_warm through Verifier.verifyWithoutSuspending (no async call: a NIO handler's way)"),
            row(
                "verify_header_warm_replay_step", header, payload: .hash(.emptySHA256), maxAllocsPerOp: 0,
                verifier: Verifier(resolver: verifier.resolver, replayGuard: FirstUseGuard()),
                note: "verify_header_warm with a replay guard that answers firstUse at once and stores nothing: the verifier's replay step (the in-memory guard's own work: replay_guard_insert)"),
            row(
                "verify_header_warm_20B_key", realLength, payload: .hash(.emptySHA256), maxAllocsPerOp: 0,
                note: "verify_header_warm with a 20-byte access key id (read as a slice of the request: no String of it)"),
            row(
                "verify_presign_warm", presigned, payload: .streamed, maxAllocsPerOp: 0,
                note: "Verifier.verify(HTTPRequest), presigned URL, key cache hit"),
            row(
                "verify_presign_warm_20B_key", realLengthPresigned, payload: .streamed, maxAllocsPerOp: 0,
                note: "verify_presign_warm with a 20-byte access key id (read as a slice of the target)"),
        ]
    }

    /// `request` (the benchmark request unless given) signed by `signer` (header auth, or
    /// presigned for an hour), checked to verify with `payload` by `verifier`.
    static func accepted(
        _ signer: Signer, request: HTTPRequest = Fixture.request(), presigned: Bool = false,
        payload: Verifier.Payload, verifier: Verifier = VerificationRows.verifier, _ what: String
    ) async -> SignedRequest {
        guard
            let signed = try? presigned
                ? signer.presign(request, expires: 3600, at: Fixture.date)
                : signer.sign(request, payload: .emptySHA256, at: Fixture.date),
            case .accepted = await verifier.verify(signed.request, payload: payload, now: Fixture.date)
        else { fatalError("the verifier rejects \(what)") }
        return signed
    }

    /// A row verifying `signed.request` with `payload`, again and again; its floor is the crypto of
    /// that request's canonical request and string to sign.
    static func row(
        _ name: String, _ signed: SignedRequest, payload: Verifier.Payload, maxAllocsPerOp: Double,
        verifier: Verifier = VerificationRows.verifier, note: String
    ) -> Row {
        let request = signed.request
        let now = Fixture.date
        return Row(
            name: name,
            body: { n in
                for _ in 0..<n { blackHole(await verifier.verify(request, payload: payload, now: now)) }
            },
            floor: SignatureFloor(
                canonical: signed.canonicalRequest.bytes, stringToSign: signed.stringToSign.bytes, cold: false
            ).body(),
            maxAllocsPerOp: maxAllocsPerOp, note: note)
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
