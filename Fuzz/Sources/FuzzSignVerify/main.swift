// libFuzzer target: our signer against our verifier, on arbitrary requests.
// Input: byte 0 = flags (bit 0: presign instead of the Authorization header; bit 1: S3 rules;
// bit 2: a session token; bit 3: verify from (name, value) fields instead of the HTTPRequest;
// bit 4: SigV4a (`SigV4aSigner`, region set us-east-1) instead of SigV4; bit 5: sign the same
// request three more ways and require the same bytes; bits 6-7: the SigV4 region, one of four of
// different lengths, so that the credential scope runs from 13 to 38 bytes);
// then NUL-separated fields: method, target, then header name/value pairs.
// Oracles: no crash, no hang; a request the signer signs is never refused with SignatureDoesNotMatch
// by the verifier with the same key (any such refusal is a canonicalization the two sides disagree on:
// other refusals are policy, for example an unsigned x-amz-* header the caller marked unsigned); and
// once the signature's last hex digit is changed, the request is never accepted; and the verifier's
// short path for the common header form agrees with its full verification on both requests (it never
// accepts what the full one refuses, and what it accepts it accepts with an equal result); with bit 5,
// the signer with the shared key cache (what one key's signatures in one second share, kept across
// inputs: every input is signed in the same second), a signer without a key cache, and a
// `SigningContext` kept across inputs (its per-second MAC state) sign every request to the same bytes.
import Dispatch
import Glibc
import HTTPTypes
import LibFuzzerDriver
import SigV4
@_spi(Fuzzing) import SigV4Verifier

let accessKeyID = "AKIDEXAMPLE"
let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
let token = "IQoJb3JpZ2luX2VjEDoaCXVzLWVhc3QtMSJHMEUCIQ=="
let signedAt = try! AmzDate(iso8601Basic: "20261129T120000Z")
let now = signedAt.adding(seconds: 30)

func verifier(token: String?) -> Verifier {
    Verifier(
        resolver: InMemoryCredentialResolver([
            ResolvedCredential(
                accessKeyID: accessKeyID, secretAccessKey: SecretAccessKey(secret), principal: "fuzz", sessionToken: token)
        ]))
}
let verifiers = [verifier(token: nil), verifier(token: token)]

/// One verification handed to a task: owned by the calling thread, which frees it.
final class Pending: @unchecked Sendable {
    let verifier: Verifier
    let request: VerificationRequest
    var result: VerificationResult?
    let done = DispatchSemaphore(value: 0)
    init(_ verifier: Verifier, _ request: VerificationRequest) {
        self.verifier = verifier
        self.request = request
    }
}

/// The verification itself; its strong reference to `Pending` ends when it returns.
func run(_ handle: Unmanaged<Pending>) async {
    let p = handle.takeUnretainedValue()
    p.result = await p.verifier.verify(p.request, payload: .body([]), now: now)
}

/// Runs the async verification to completion on this thread's behalf.
///
/// The task holds no strong reference to anything made for this input once it signals (unretained
/// pointers to `Pending` and its semaphore, which this thread owns and frees): the task's teardown
/// on the executor's thread must not release such objects after the signal, or libFuzzer's per-input
/// leak check can see them as leaked (session 8 saw one such report, not reproducible).
func verify(_ verifier: Verifier, _ request: VerificationRequest) -> VerificationResult {
    let pending = Pending(verifier, request)
    let handle = Unmanaged.passUnretained(pending)
    let done = Unmanaged.passUnretained(pending.done)
    Task {
        await run(handle)
        done._withUnsafeGuaranteedRef { $0.signal() }
    }
    pending.done.wait()
    return pending.result!
}

/// The request as (name, value) fields, `Host` from the authority as a server reads it.
func fields(_ request: HTTPRequest) -> VerificationRequest {
    var headers = [(String, String)]()
    if request.headerFields[HTTPField.Name("Host")!] == nil, let authority = request.authority { headers.append(("Host", authority)) }
    for field in request.headerFields { headers.append((field.name.rawName, field.value)) }
    return VerificationRequest(method: request.method.rawValue, target: request.path ?? "/", headers: headers)
}

/// `text` with its last character (a hex digit of the signature) replaced by another hex digit.
/// SigV4a signers by (S3 rules, session token): the key pair is derived once.
let sigV4aSigners: [SigV4aSigner] = [(false, false), (false, true), (true, false), (true, true)].map { s3, withToken in
    try! SigV4aSigner(
        credentials: Credentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: withToken ? token : nil),
        regionSet: ["us-east-1"], service: s3 ? "s3" : "service", rules: s3 ? .s3 : .standard)
}

/// The SigV4 regions bits 6-7 choose: scopes (`<date>/<region>/<service>/aws4_request`) of 13 to
/// 38 bytes, on both sides of the 30-byte length at which the string to sign's fixed text stops
/// filling SHA-256's first 64-byte block (session 25's wrong signatures for short scopes).
let regions = ["us-east-1", "eu", "x", "ap-southeast-2-local-zone-la"]

/// One `SigningContext` per (region, rules, session token), kept across inputs like a server's.
nonisolated(unsafe) var contexts: [Int: SigningContext] = [:]

/// `signer`'s settings without a key cache (the key derived per signature, on the stack).
func uncached(_ signer: Signer) -> Signer {
    var plain = signer
    plain.keyCache = nil
    return plain
}

func tampered(_ text: String) -> String {
    guard let last = text.last else { return text }
    return String(text.dropLast()) + (last == "0" ? "1" : "0")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let flags = bytes.first, bytes.count <= 4096 else { return 0 }
    let parts = bytes.dropFirst().split(separator: 0, omittingEmptySubsequences: false).map {
        String(decoding: $0, as: UTF8.self)
    }
    guard let method = HTTPRequest.Method(parts[0].isEmpty ? "GET" : parts[0]) else { return 0 }
    let target = parts.count > 1 && !parts[1].isEmpty ? parts[1] : "/"
    var request = HTTPRequest(method: method, scheme: "https", authority: "example.amazonaws.com", path: target)
    var i = 2
    while i + 1 < parts.count {
        if let name = HTTPField.Name(parts[i]) { request.headerFields.append(HTTPField(name: name, value: parts[i + 1])) }
        i += 2
    }
    let presign = flags & 1 != 0
    let withToken = flags & 4 != 0
    let regionIndex = Int(flags >> 6)
    let signer = Signer(
        credentials: Credentials(
            accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: withToken ? token : nil),
        region: regions[regionIndex], service: flags & 2 != 0 ? "s3" : "service",
        rules: flags & 2 != 0 ? .s3 : .standard)
    // What was signed: the request, its canonical request (for the failure message) and the
    // signature as it appears at the end of the target or the Authorization value.
    let signedRequest: HTTPRequest
    let canonicalText: String
    let signatureHex: String
    do {
        if flags & 16 != 0 {
            let v4a = sigV4aSigners[(flags & 2 != 0 ? 2 : 0) + (withToken ? 1 : 0)]
            // A SigV4a URL is presigned over its default payload line (`UNSIGNED-PAYLOAD` under S3
            // rules, the empty body's hash otherwise): the verifier tries only that one for SigV4a
            // (each try is an ECDSA verification; cf53a64).
            let signed = try presign
                ? v4a.presign(request, expires: 300, at: signedAt)
                : v4a.sign(request, payload: .emptySHA256, at: signedAt)
            (signedRequest, canonicalText, signatureHex) = (signed.request, signed.canonicalRequest.text, signed.signatureHex)
        } else {
            let signed = try presign
                ? signer.presign(request, payload: .emptySHA256, expires: 300, at: signedAt)
                : signer.sign(request, payload: .emptySHA256, at: signedAt)
            (signedRequest, canonicalText, signatureHex) = (signed.request, signed.canonicalRequest.text, signed.signature.hex)
        }
    } catch {
        return 0
    }
    if flags & 32 != 0 && flags & 16 == 0 {
        crossCheck(request, signer: signer, signedRequest: signedRequest, signatureHex: signatureHex, presign: presign,
                   contextKey: regionIndex << 2 | Int(flags & 6) >> 1)
    }
    let verifier = verifiers[withToken ? 1 : 0]
    func check(_ r: HTTPRequest) -> VerificationResult {
        let request = flags & 8 != 0 ? fields(r) : VerificationRequest(r)
        if let disagreement = FuzzingEntryPoints.commonFormDisagreement(verifier, request, payload: .body([]), now: now) {
            fatalError("the common path and the full verification disagree: \(disagreement)")
        }
        return verify(verifier, request)
    }
    let result = check(signedRequest)
    if let failure = result.failure, failure.code == .signatureDoesNotMatch {
        fatalError("the verifier refuses a request our signer signed: \(failure.message)\n\(canonicalText)")
    }

    var forged = signedRequest
    if presign {
        guard let path = forged.path, path.hasSuffix(signatureHex) else {
            fatalError("a presigned target does not end with its signature")
        }
        forged.path = tampered(path)
    } else {
        guard let authorization = forged.headerFields[.authorization] else {
            fatalError("a signed request without Authorization")
        }
        forged.headerFields[.authorization] = tampered(authorization)
    }
    precondition(!check(forged).isAccepted, "a request with a changed signature was accepted")
    return 0
}

/// Signs `request` again without a key cache and (header signing) with the `SigningContext` kept for
/// `contextKey`, and stops if any of them differs from `signedRequest` (the shared cache's).
func crossCheck(
    _ request: HTTPRequest, signer: Signer, signedRequest: HTTPRequest, signatureHex: String, presign: Bool, contextKey: Int
) {
    let plain: HTTPRequest
    do {
        plain = try presign
            ? uncached(signer).presign(request, payload: .emptySHA256, expires: 300, at: signedAt).request
            : uncached(signer).sign(request, payload: .emptySHA256, at: signedAt).request
    } catch {
        fatalError("a signer without a key cache refuses what the cached one signed: \(error)")
    }
    guard plain == signedRequest else {
        fatalError("with and without a key cache the signed requests differ:\n\(signedRequest)\n\(plain)")
    }
    guard !presign else { return }
    let context = contexts[contextKey] ?? SigningContext(signer: signer)
    contexts[contextKey] = context
    let signature: Signature
    do {
        signature = try context.sign(request, payload: .emptySHA256, at: signedAt)
    } catch {
        fatalError("a SigningContext refuses what the signer signed: \(error)")
    }
    var fields = request.headerFields
    context.addHeaders(to: &fields)
    guard signature.hex == signatureHex, fields == signedRequest.headerFields else {
        fatalError("a SigningContext signs differently from the signer: \(signature.hex) against \(signatureHex)")
    }
}

runFuzzer(fuzzOne)
