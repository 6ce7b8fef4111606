// libFuzzer target: the presigned query parser (X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders,
// -Signature, -Security-Token). Input: byte 0 = slice offset, the rest = the query after '?'.
// Oracle: no crash; a parsed query looks presigned; parameter ranges stay inside the query slice.
import LibFuzzerDriver
import Glibc
@_spi(Fuzzing) import SigV4Verifier

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let first = bytes.first else { return 0 }
    _ = FuzzingEntryPoints.parsePresignedQuery(Array(bytes.dropFirst()), offset: Int(first % 4))
    return 0
}

runFuzzer(fuzzOne)
