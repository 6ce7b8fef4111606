import HTTPTypes
import SigV4
import SigV4Verifier

/// SigV4a (`AWS4-ECDSA-P256-SHA256`) on the benchmark request: signing (the key pair derived
/// once), verifying (the pair cached by the verifier), and deriving a key pair. No floor row:
/// the ECDSA signing or verification in libcrypto is most of each, and the table reports the
/// time against awscrt's SigV4a signer in the same run.
enum SigV4aRows {
    static func make() async -> [Row] {
        guard
            let signer = try? SigV4aSigner(
                credentials: Fixture.credentials, regionSet: [Fixture.region], service: Fixture.service),
            let sample = try? signer.sign(Fixture.request(), payload: .emptySHA256, at: Fixture.date)
        else { fatalError("the SigV4a benchmark request does not sign") }
        let request = Fixture.request()
        let date = Fixture.date
        let verifier = VerificationRows.verifier
        let signed = sample.request
        if case .rejected(let failure) = await verifier.verify(signed, payload: .hash(.emptySHA256), now: date) {
            fatalError("the verifier rejects the SigV4a benchmark request: \(failure)")
        }
        return [
            Row(
                name: "sign_header_sigv4a",
                body: { n in
                    for _ in 0..<n { blackHole(try? signer.sign(request, payload: .emptySHA256, at: date)) }
                },
                floor: nil, maxAllocsPerOp: nil, inQuick: false,
                note: "SigV4aSigner.sign: canonical request, ECDSA P-256 signature (key pair derived once)"),
            Row(
                name: "verify_header_sigv4a",
                body: { n in
                    for _ in 0..<n { blackHole(await verifier.verify(signed, payload: .hash(.emptySHA256), now: date)) }
                },
                floor: nil, maxAllocsPerOp: nil, inQuick: false,
                note: "Verifier.verify of a SigV4a header-signed request: ECDSA P-256 verification, key pair cached"),
            Row(
                name: "sigv4a_key_derivation",
                body: { n in
                    for _ in 0..<n { blackHole(try? SigV4aSigningKey(credentials: Fixture.credentials)) }
                },
                floor: nil, maxAllocsPerOp: nil, inQuick: false,
                note: "SigV4aSigningKey(credentials:): HMAC-SHA256 KDF and one P-256 scalar multiplication"),
        ]
    }
}
