// libFuzzer target: the raw HTTP/1.1 request reader used by `sigv4 verify`.
// Input: byte 0 = options (bare LF allowed, Host required, tight limits); the rest = the request bytes.
// Oracles: no crash, no hang; an accepted request respects every limit and its body is no larger than the input.
import LibFuzzerDriver
import Glibc
import SigV4Verifier

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let options = bytes.first else { return 0 }
    let limits: HTTPRequestReader.Limits =
        options & 4 != 0
        ? HTTPRequestReader.Limits(
            maxRequestLine: 64, maxHeaderLine: 64, maxHeaderCount: 4, maxHeaderBytes: 128, maxBodyBytes: 32,
            maxChunkLine: 16, maxTrailerCount: 2)
        : .default
    let reader = HTTPRequestReader(limits: limits, allowBareLF: options & 1 != 0, requireHost: options & 2 != 0)
    let input = Array(bytes.dropFirst())
    guard let request = try? reader.read(input) else { return 0 }
    precondition(request.fields.count <= limits.maxHeaderCount, "too many header fields accepted")
    precondition(request.trailers.count <= limits.maxTrailerCount, "too many trailer fields accepted")
    precondition(request.body.count <= limits.maxBodyBytes, "body larger than the limit accepted")
    precondition(request.body.count <= input.count, "body larger than the input")
    _ = request.verificationRequest
    return 0
}

runFuzzer(fuzzOne)
