// libFuzzer target: the capture reader of `sigv4 verify --request` and `sigv4 explain --captured`
// (`CapturedRequest`): `curl -v` output, `curl --trace-ascii`/`--trace` dumps and raw requests. The input
// is the file. Oracles (in `CommandLineFuzzing.parseCapturedRequest`): no crash and no hang; deterministic;
// errors are one-line usage errors; a raw capture passes unchanged; an accepted dump's head ends in CRLF
// CRLF with no bare CR or LF; never more bytes out than in (sizes and offsets in the dump allocate nothing).
import LibFuzzerDriver
import Glibc
@_spi(Fuzzing) import SigV4CommandLine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = CommandLineFuzzing.parseCapturedRequest(bytes)
    return 0
}

runFuzzer(fuzzOne)
