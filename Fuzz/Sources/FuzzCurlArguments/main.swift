// libFuzzer target: the curl argument parser of `sigv4 curl` (`CurlArguments.parse`) and the URL splitter
// (`RawURL`). The input is the argument vector, arguments separated by NUL bytes (as in /proc/PID/cmdline).
// Oracles (in `CommandLineFuzzing.parseCurlArguments`): no crash and no hang; deterministic; errors are one
// line; every parsed value was (part of) an argument; passthrough options are long curl options with their
// values; an accepted URL prints and parses back to the same URL.
import LibFuzzerDriver
import Glibc
@_spi(Fuzzing) import SigV4CommandLine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    _ = CommandLineFuzzing.parseCurlArguments(arguments)
    if let first = arguments.first { _ = CommandLineFuzzing.parseURL(first) }
    return 0
}

runFuzzer(fuzzOne)
