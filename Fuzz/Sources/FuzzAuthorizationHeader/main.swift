// libFuzzer target: the Authorization header parser (AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…).
// Input: the raw header value. Oracle: no crash, no hang; a parsed header has no presign part.
import LibFuzzerDriver
import Glibc
@_spi(Fuzzing) import SigV4Verifier

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = FuzzingEntryPoints.parseAuthorizationHeader(bytes)
    return 0
}

runFuzzer(fuzzOne)
