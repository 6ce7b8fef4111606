// libFuzzer target: the key store's master key file parser (`MasterKeyRing.parse`, the format of the 0600 key
// file and of SIGV4_KEYSTORE_MASTER_KEY). Oracles: no crash; a parsed ring has at least one version and its
// description never shows key material.
import LibFuzzerDriver
import Glibc
import SigV4KeyStore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let ring = try? MasterKeyRing.parse(String(decoding: bytes, as: UTF8.self)) else { return 0 }
    precondition(!ring.versions.isEmpty, "a parsed master key ring has no key")
    precondition(ring.contains(version: ring.currentVersion))
    precondition(ring.description.contains("<redacted>"))
    return 0
}

runFuzzer(fuzzOne)
