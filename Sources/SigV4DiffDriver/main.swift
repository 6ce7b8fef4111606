// A test driver for differential runs (scripts/differential/): reads one JSON request per line on
// stdin, signs it with swift-sigv4, and writes one JSON result per line on stdout.
//
// Input fields: mode ("header"|"query"), method, authority, target, headers [[n,v]], payload_hash,
// region, service, timestamp (YYYYMMDDTHHMMSSZ), access_key_id, secret_access_key, session_token?,
// expires?, normalize? (bool), double_encode? (bool), content_sha256? (bool), plus? ("literal"|"space"|"verbatim").
// Output fields: canonical_request, string_to_sign, signature, authorization?, target (the signed
// target), added_headers [[n,v]], or error {code, reason}.
//
// With "op": "verify" a line is a request some peer signed, verified by swift-sigv4's verifier at `now`:
// method, target (the wire target), headers [[n,v]] (every header sent, Host included), body_b64,
// access_key_id, secret_access_key, session_token?, now (YYYYMMDDTHHMMSSZ).
// Output: {ok: true, signed_headers, canonical_form, plus_policy} or {ok: false, code, http_status, message}.
import Foundation
import HTTPTypes
import SigV4
import SigV4Verifier

func sign(_ input: [String: Any]) -> [String: Any] {
    do {
        let service = input["service"] as? String ?? "service"
        var rules = ServiceRules.forService(service)
        if let v = input["normalize"] as? Bool { rules.normalizePath = v }
        if let v = input["double_encode"] as? Bool { rules.doubleEncodePath = v }
        if let v = input["content_sha256"] as? Bool { rules.sendContentSHA256 = v }
        if let v = input["presign_unsigned_payload"] as? Bool { rules.presignUnsignedPayload = v }
        var options = Signer.Options()
        switch input["plus"] as? String {
        case "space": options.plusPolicy = .space
        case "verbatim": options.plusPolicy = .verbatim
        default: options.plusPolicy = .literal
        }
        let credentials = Credentials(
            accessKeyID: input["access_key_id"] as? String ?? "",
            secretAccessKey: input["secret_access_key"] as? String ?? "",
            sessionToken: input["session_token"] as? String)
        let signer = Signer(
            credentials: credentials, region: input["region"] as? String ?? "", service: service, rules: rules,
            options: options)
        var fields = HTTPFields()
        for pair in input["headers"] as? [[String]] ?? [] {
            guard pair.count == 2, let name = HTTPField.Name(pair[0]) else {
                return ["error": ["code": "invalidHeader", "reason": "bad header name"]]
            }
            fields.append(HTTPField(name: name, value: pair[1]))
        }
        let request = HTTPRequest(
            method: HTTPRequest.Method(input["method"] as? String ?? "GET") ?? .get, scheme: "https",
            authority: input["authority"] as? String, path: input["target"] as? String ?? "/", headerFields: fields)
        let date = try AmzDate(iso8601Basic: input["timestamp"] as? String ?? "")
        let payload = try (input["payload_hash"] as? String).map { try PayloadHash($0) }
        let signed: SignedRequest
        if input["mode"] as? String == "query" {
            signed = try signer.presign(request, payload: payload, expires: input["expires"] as? Int ?? 3600, at: date)
        } else {
            signed = try signer.sign(request, payload: payload ?? .emptySHA256, at: date)
        }
        var out: [String: Any] = [
            "canonical_request": signed.canonicalRequest.text, "string_to_sign": signed.stringToSign.text,
            "signature": signed.signature.hex, "target": signed.request.path ?? "/",
            "added_headers": signed.addedHeaders.map { [$0.name.rawName, $0.value] },
        ]
        if let a = signed.authorization { out["authorization"] = a }
        return out
    } catch let error as SigV4Error {
        return ["error": ["code": error.code.name, "reason": error.reason]]
    } catch {
        return ["error": ["code": "unexpected", "reason": "\(error)"]]
    }
}

func verify(_ input: [String: Any]) async -> [String: Any] {
    let akid = input["access_key_id"] as? String ?? ""
    let credential = ResolvedCredential(
        accessKeyID: akid, secretAccessKey: SecretAccessKey(input["secret_access_key"] as? String ?? ""),
        principal: "peer", sessionToken: input["session_token"] as? String)
    let verifier = Verifier(resolver: InMemoryCredentialResolver([credential]), keyCache: SigningKeyCache(capacity: 4))
    let headers = (input["headers"] as? [[String]] ?? []).compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
    let request = VerificationRequest(
        method: input["method"] as? String ?? "GET", target: input["target"] as? String ?? "/", headers: headers)
    let body = (input["body_b64"] as? String).flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } ?? []
    guard let now = try? AmzDate(iso8601Basic: input["now"] as? String ?? "") else {
        return ["ok": false, "code": "badNow", "http_status": 0, "message": "now is not YYYYMMDDTHHMMSSZ"]
    }
    switch await verifier.verify(request, payload: .body(body), now: now) {
    case .accepted(let verified):
        return [
            "ok": true, "signed_headers": verified.signedHeaders, "canonical_form": verified.canonicalForm.rawValue,
            "plus_policy": "\(verified.plusPolicy)",
        ]
    case .rejected(let failure):
        return ["ok": false, "code": failure.code.name, "http_status": failure.code.httpStatus, "message": failure.message]
    }
}

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "bounds" {
    print(await Bounds.run(CommandLine.arguments[2]))
    exit(0)
}

while let line = readLine(strippingNewline: true) {
    guard !line.isEmpty else { continue }
    let result: [String: Any]
    if let data = line.data(using: .utf8), let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
        result = obj["op"] as? String == "verify" ? await verify(obj) : sign(obj)
    } else {
        result = ["error": ["code": "badJSON", "reason": "input line is not a JSON object"]]
    }
    let data = (try? JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])) ?? Data("{}".utf8)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}
