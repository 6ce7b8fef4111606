// `SigV4DiffDriver bounds CASE`: feeds one hostile input to the reader, decoder or verifier and prints the
// typed error it ends with. scripts/faults/resource-bounds runs each case in its own process under
// `/usr/bin/time -v` to record peak RSS against the `none` baseline.
import Foundation
import HTTPTypes
import SigV4
import SigV4Verifier

enum Bounds {
    static let cases = ["none", "headers-10k", "authorization-1mib", "chunk-4gib", "endless-trailer", "slowloris"]
    static let date = AmzDate(secondsSince1970: 1_440_938_160)
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    static func read(_ text: String, body: [UInt8] = []) -> String {
        do {
            let r = try HTTPRequestReader().read(Array(text.utf8) + body)
            return "reader accepted (\(r.fields.count) fields)"
        } catch {
            return "reader: \(error.code.name): \(error.reason)"
        }
    }

    static func verify(_ fields: [(String, String)]) async -> String {
        let credential = ResolvedCredential(accessKeyID: "AKIDEXAMPLE", secretAccessKey: SecretAccessKey(secret), principal: "p")
        let verifier = Verifier(resolver: InMemoryCredentialResolver([credential]))
        let result = await verifier.verify(VerificationRequest(method: "GET", target: "/", headers: fields), now: date)
        return result.failure.map { "verifier: \($0.code.name) \($0.code.httpStatus)" } ?? "verifier accepted"
    }

    static func decoder(_ encoding: AWSChunkedEncoding, length: Int = 1 << 30) -> AWSChunkedDecoder {
        let scope = try! CredentialScope(date: date, region: "us-east-1", service: "s3")
        return AWSChunkedDecoder(
            encoding: encoding, decodedContentLength: length,
            signingKey: SigningKey(secretAccessKey: SecretAccessKey(secret), scope: scope), date: date,
            seedSignature: Signature(hex: String(repeating: "ab", count: 32))!)
    }

    /// Feeds `next()` until the decoder fails or `limit` bytes went in; reports the bytes fed and the error.
    static func drip(_ d: inout AWSChunkedDecoder, limit: Int, _ next: (Int) -> [UInt8]) -> String {
        var fed = 0
        while fed < limit {
            let piece = next(fed)
            do { _ = try d.feed(piece) } catch { return "decoder: \(error.code.name) \(error.code.httpStatus) after \(fed + piece.count) bytes" }
            fed += piece.count
        }
        return "decoder still reading after \(fed) bytes"
    }

    static func run(_ name: String) async -> String {
        switch name {
        case "none":
            return read("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        case "headers-10k":
            var text = "GET / HTTP/1.1\r\nHost: h\r\n"
            var fields = [("Host", "h"), ("X-Amz-Date", date.iso8601Basic)]
            for i in 0..<10_000 {
                text += "x-amz-meta-h\(i): v\r\n"
                fields.append(("x-amz-meta-h\(i)", "v"))
            }
            fields.append(("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\(date.dateStamp)/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=\(String(repeating: "0", count: 64))"))
            return read(text + "\r\n") + "; " + (await verify(fields))
        case "authorization-1mib":
            let value = "AWS4-HMAC-SHA256 Credential=" + String(repeating: "A", count: 1 << 20)
            return read("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: \(value)\r\n\r\n") + "; "
                + (await verify([("Host", "h"), ("X-Amz-Date", date.iso8601Basic), ("Authorization", value)]))
        case "chunk-4gib":
            var d = decoder(.signed)
            let line = Array("100000000;chunk-signature=\(String(repeating: "ab", count: 32))\r\n".utf8)
            let filler = [UInt8](repeating: 0x61, count: 65_536)
            return drip(&d, limit: 64 << 20) { $0 == 0 ? line : filler }
                + "; " + read("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n100000000\r\n", body: filler)
        case "endless-trailer":
            var d = decoder(.unsignedWithTrailer(.crc32), length: 0)
            let line = Array("x-amz-meta-more: \(String(repeating: "a", count: 100))\r\n".utf8)
            return drip(&d, limit: 64 << 20) { $0 == 0 ? Array("0\r\n".utf8) : line }
        case "slowloris":
            var d = decoder(.signed)
            return drip(&d, limit: 64 << 20) { _ in [UInt8(ascii: "1")] }
        default:
            return "unknown case; one of \(cases.joined(separator: ", "))"
        }
    }
}
