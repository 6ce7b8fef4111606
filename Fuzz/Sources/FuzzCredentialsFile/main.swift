// libFuzzer target: the awscli shared credentials and config file parser of the `sigv4` command line
// (`ProfileFiles`: INI sections, `key = value`, comments, `[profile name]`, nested blocks skipped) and the
// profile lookup that merges both files. The input is `credentials NUL config NUL profile`; a missing part is
// empty (the profile defaults to `default`).
// Oracles (in `CommandLineFuzzing.resolveProfile`): no crash and no hang; deterministic; names, keys and
// values trimmed; keys lowercase without their separator; no line feed inside a value; the credentials file
// wins over the config file.
import LibFuzzerDriver
import Glibc
@_spi(Fuzzing) import SigV4CommandLine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let parts = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    let credentials = parts.count > 0 ? parts[0] : ""
    let config = parts.count > 1 ? parts[1] : ""
    let profile = parts.count > 2 ? parts[2] : "default"
    _ = CommandLineFuzzing.resolveProfile(credentials: credentials, config: config, profile: profile)
    return 0
}

runFuzzer(fuzzOne)
